"""tabular: the seed network, 3 features -> Normalization -> Dense(5, relu) -> Dense(2, softmax)."""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.manifest import TensorSpec

from ..data import tabular as data
from ..train import Trained
from .classifier import ClassifierFamily


class TabularFamily(ClassifierFamily):
    name = "tabular"
    input_name = "features"
    output_name = "probabilities"
    labels = data.LABELS
    defaults = {"epochs": 40, "batch_size": 32, "learning_rate": 0.02}
    quick = {"epochs": 2, "folds": 2}
    search_grid = {"learning_rate": [0.005, 0.02], "epochs": [20, 40]}
    quick_sizes = (96, 48)

    def load_data(self, hp: dict[str, Any]) -> data.ClassificationData:
        return data.load(seed=int(hp["seed"]), test_size=float(hp["test_size"]))

    def fit_state(self, hp: dict[str, Any], x_raw: np.ndarray) -> dict[str, Any]:
        # Learned on the fitting data only, then baked into the graph by the Standardize layer.
        x = np.asarray(x_raw, dtype=np.float64)
        return {"mean": x.mean(axis=0), "std": x.std(axis=0)}

    def build(self, hp: dict[str, Any], state: dict[str, Any]) -> tuple[Any, Any]:
        import keras

        from .standardize import Standardize

        inputs = keras.Input(shape=(3,), dtype="float32", name=self.input_name)
        x = Standardize(state["mean"], state["std"], name="normalization")(inputs)
        x = keras.layers.Dense(5, activation="relu", name="hidden")(x)
        outputs = keras.layers.Dense(2, activation="softmax", name=self.output_name)(x)
        model = keras.Model(inputs, outputs, name="tabular")
        return model, model

    def preprocessing(self, trained: Trained, hp: dict[str, Any], data_: Any) -> dict[str, Any]:
        # Read back from the layer, so the manifest states exactly what the graph computes.
        norm = trained.model.get_layer("normalization")
        mean = np.asarray(norm.mean, dtype=np.float64)
        std = np.asarray(norm.std, dtype=np.float64)
        return {
            "feature_names": list(data.FEATURES),
            "mean": [float(v) for v in mean],
            "std": [float(v) for v in std],
            "normalization": "in-graph",
        }

    def contract(self, hp: dict[str, Any], trained: Trained | None = None) -> tuple[list[TensorSpec], list[TensorSpec]]:
        return [TensorSpec("features", "FP32", [-1, 3])], [TensorSpec("probabilities", "FP32", [-1, 2])]
