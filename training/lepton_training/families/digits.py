"""digits: a small CNN on 8x8 images; scaling and channel reshape live inside the graph.

Augmentation (random shifts and rotations) sits in a training-only wrapper model in front of
the inference model, so the exported graph holds no random ops.
"""
from __future__ import annotations

from typing import Any

from lepton_serving.manifest import TensorSpec

from ..data import digits as data
from ..train import Trained
from .classifier import ClassifierFamily


class DigitsFamily(ClassifierFamily):
    name = "digits"
    input_name = "image"
    output_name = "probabilities"
    labels = data.LABELS
    defaults = {
        "epochs": 30,
        "batch_size": 32,
        "learning_rate": 0.003,
        "filters": 16,
        "dense_units": 64,
        "dropout": 0.25,
        "shift": 0.125,  # fraction of the side: one pixel on 8x8
        "rotation": 0.04,  # fraction of a full turn: about 15 degrees
    }
    quick = {"epochs": 2, "folds": 2}
    search_grid = {"filters": [8, 16], "learning_rate": [0.001, 0.003]}
    quick_sizes = (200, 80)

    def load_data(self, hp: dict[str, Any]) -> data.ClassificationData:
        return data.load(seed=int(hp["seed"]), test_size=float(hp["test_size"]))

    def build(self, hp: dict[str, Any], state: dict[str, Any]) -> tuple[Any, Any]:
        import keras
        from keras import layers

        filters = int(hp["filters"])
        image = keras.Input(shape=(8, 8), dtype="float32", name=self.input_name)
        x = layers.Rescaling(1.0 / data.MAX_VALUE, name="scale")(image)
        x = layers.Reshape((8, 8, 1), name="to_channels")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(filters * 2, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(int(hp["dense_units"]), activation="relu")(x)
        x = layers.Dropout(float(hp["dropout"]))(x)
        outputs = layers.Dense(10, activation="softmax", name=self.output_name)(x)
        inference = keras.Model(image, outputs, name="digits")

        raw = keras.Input(shape=(8, 8), dtype="float32", name="raw_image")
        y = layers.Reshape((8, 8, 1))(raw)
        shift = float(hp["shift"])
        y = layers.RandomTranslation(shift, shift, fill_mode="constant", fill_value=0.0)(y)
        y = layers.RandomRotation(float(hp["rotation"]), fill_mode="constant", fill_value=0.0)(y)
        y = layers.Reshape((8, 8))(y)
        train_model = keras.Model(raw, inference(y), name="digits_augmented")
        return train_model, inference

    def preprocessing(self, trained: Trained, hp: dict[str, Any], data_: Any) -> dict[str, Any]:
        return {"height": 8, "width": 8, "max_value": data.MAX_VALUE, "ink": "high"}

    def contract(self, hp: dict[str, Any], trained: Trained | None = None) -> tuple[list[TensorSpec], list[TensorSpec]]:
        return [TensorSpec("image", "FP32", [-1, 8, 8])], [TensorSpec("probabilities", "FP32", [-1, 10])]
