"""generator: a conditional GAN that draws 8x8 digits of a requested class.

Generator: latent vector z ++ Embedding(label) -> Dense(4x4xF) -> LeakyReLU
  -> Conv2DTranspose(F/2, 4, stride 2) -> LeakyReLU -> Conv2D(1, 3, sigmoid) x 16 -> image.
Discriminator: image -> two stride-2 Conv2D + LeakyReLU -> h; real/fake logit = Dense(1)(h) +
  <h, Embedding(label)> (a projection discriminator), and an auxiliary Dense(classes)(h).

The data is the digits family's split (same seed and test size), so the held-out images that
judge the generator are ones neither it nor the digits classifier was trained on. The judge is
the trained digits model (``classifier``: its artifact directory; empty = ``<out>/digits``,
trained first when missing), read through its ONNX file as it is served.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from lepton_serving.manifest import Task, TensorSpec

from .. import report
from ..data import digits as data
from ..gan import fit_gan
from ..generative_metrics import conditional_accuracy, diversity, generation_metrics, reference_metrics
from ..inputs import Inputs
from ..judge import Judge
from ..train import Trained, predict
from .base import Predict
from .labelled import LabelledFamily, Part

CLASSES = 10
#: How served requests and the evaluation draw latent vectors from a seed; the function's
#: friendly route does exactly this, so {"digit": d, "count": n, "seed": s} is reproducible.
SAMPLER = "numpy.random.default_rng(seed).standard_normal((count, latent_dim), dtype=float32)"
CURVE_SAMPLES = 10  # per class, for the per-epoch validation curve of a CV fold


def latent_vectors(seed: int, count: int, latent_dim: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, latent_dim), dtype=np.float32)


def evaluation_inputs(latent_dim: int, per_class: int, seed: int) -> dict[str, np.ndarray]:
    """``per_class`` latent vectors for each digit d from seed ``seed + d``, interleaved (row r
    asks for digit r % 10), so any leading rows (parity, goldens) cover every class."""
    z = np.stack([latent_vectors(seed + d, per_class, latent_dim) for d in range(CLASSES)], axis=1)
    return {"z": z.reshape(per_class * CLASSES, latent_dim),
            "label": np.tile(np.arange(CLASSES, dtype=np.int64), per_class)}


class GeneratorFamily(LabelledFamily):
    name = "generator"
    input_name = "z"
    output_name = "image"
    labels = data.LABELS
    primary_metric = "conditional_accuracy"
    task = Task.GENERATOR
    defaults = {
        "epochs": 180,
        "batch_size": 64,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "latent_dim": 32,
        "label_dim": 16,
        "generator_filters": 64,
        "discriminator_filters": 32,
        "aux_weight": 2.0,
        "ema": 0.999,
        "num_classes": CLASSES,
        "eval_per_class": 64,
        "eval_seed": 7000,
        "golden_count": 10,
        "classifier": "",
    }
    quick = {"epochs": 20, "folds": 2, "eval_per_class": 16}
    quick_sizes = (200, 80)
    search_grid = {"aux_weight": [1.0, 2.0], "ema": [0.99, 0.999]}
    requires = {"classifier": "digits"}
    curves = ("loss", "discriminator_loss", "conditional_accuracy", "diversity")

    def __init__(self) -> None:
        self.judge: Judge | None = None
        self.eval_per_class, self.eval_seed = 0, 0

    def load_data(self, hp: dict[str, Any]) -> data.ClassificationData:
        # Kept for baseline(), which sees no hyperparameters: the references are scored on as
        # many images per class as the model, from the same seed.
        self.judge = Judge(Path(hp["classifier"]))
        self.eval_per_class, self.eval_seed = int(hp["eval_per_class"]), int(hp["eval_seed"])
        return data.load(seed=int(hp["seed"]), test_size=float(hp["test_size"]))

    def info(self, data_: data.ClassificationData) -> dict[str, Any]:
        return dict(super().info(data_), judge=self._judge().describe())

    # -- networks --------------------------------------------------------------------------------
    def build(self, hp: dict[str, Any]) -> tuple[Any, Any]:
        import keras
        from keras import layers

        latent, filters = int(hp["latent_dim"]), int(hp["generator_filters"])
        z = keras.Input(shape=(latent,), dtype="float32", name="z")
        label = keras.Input(shape=(), dtype="int64", name="label")
        h = layers.Concatenate()([z, layers.Embedding(CLASSES, int(hp["label_dim"]))(label)])
        h = layers.LeakyReLU(0.2)(layers.Dense(4 * 4 * filters)(h))
        h = layers.Reshape((4, 4, filters))(h)
        h = layers.LeakyReLU(0.2)(layers.Conv2DTranspose(filters // 2, 4, strides=2, padding="same")(h))
        h = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
        h = layers.Rescaling(data.MAX_VALUE)(h)
        image = layers.Reshape((8, 8), name=self.output_name)(h)
        generator = keras.Model([z, label], image, name="generator")

        filters = int(hp["discriminator_filters"])
        picture = keras.Input(shape=(8, 8), dtype="float32")
        given = keras.Input(shape=(), dtype="int64")
        h = layers.Rescaling(2.0 / data.MAX_VALUE, offset=-1.0)(picture)
        h = layers.Reshape((8, 8, 1))(h)
        h = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 3, strides=2, padding="same")(h))
        h = layers.LeakyReLU(0.2)(layers.Conv2D(filters * 2, 3, strides=2, padding="same")(h))
        h = layers.Flatten()(h)
        projection = layers.Dot(axes=1)([h, layers.Embedding(CLASSES, h.shape[-1])(given)])
        logit = layers.Add()([layers.Dense(1)(h), projection])
        discriminator = keras.Model([picture, given], [logit, layers.Dense(CLASSES)(h)], name="discriminator")
        return generator, discriminator

    def fit(self, hp: dict[str, Any], part: Part, strategy: Any, validation: Part | None = None, verbose: int = 0) -> Trained:
        # A custom training loop on this worker; tf.distribute does not apply to it.
        on_epoch = self._curve(hp, validation) if validation is not None else None
        model, history = fit_gan(lambda: self.build(hp), part.x, part.y, hp, on_epoch, verbose)
        state = {"latent_dim": int(hp["latent_dim"]), "eval_per_class": int(hp["eval_per_class"]),
                 "eval_seed": int(hp["eval_seed"])}
        return Trained(model, history, state)

    def _curve(self, hp: dict[str, Any], validation: Part) -> Any:
        """Conditional accuracy and diversity (against the fold's validation images) after every
        epoch, on a few fixed latent vectors per class."""
        probe = evaluation_inputs(int(hp["latent_dim"]), CURVE_SAMPLES, int(hp["eval_seed"]) + 1000)
        judge = self._judge()

        def curve(model: Any) -> dict[str, float]:
            images = predict(model, probe)
            return {"val_conditional_accuracy": conditional_accuracy(judge(images)[0], probe["label"]),
                    "val_diversity": diversity(images, probe["label"], validation.x, validation.y)}

        return curve

    # -- evaluation ------------------------------------------------------------------------------
    def inputs(self, trained: Trained, part: Part) -> Inputs:
        state = trained.state
        return evaluation_inputs(state["latent_dim"], state["eval_per_class"], state["eval_seed"])

    def score(self, predict: Predict, trained: Trained, part: Part, seen: Part) -> dict[str, float]:
        asked = self.inputs(trained, part)
        return generation_metrics(self._judge(), predict(asked), asked["label"], part.x, part.y)

    def baseline(self, seen: Part, part: Part) -> dict[str, float]:
        # As many images per class as the model is scored on: Fréchet distance and diversity
        # estimates depend on the sample size.
        labels = np.tile(np.arange(CLASSES, dtype=np.int64), self.eval_per_class)
        return reference_metrics(self._judge(), seen.x, seen.y, labels, part.x, part.y, seed=self.eval_seed)

    def extra_report(self, trained: Trained, part: Part, predict: Predict) -> dict[str, Any]:
        asked = self.inputs(trained, part)
        images = predict(asked)
        predicted, _ = self._judge()(images)
        per_class = {self.labels[c]: conditional_accuracy(predicted[asked["label"] == c], asked["label"][asked["label"] == c])
                     for c in range(CLASSES)}
        order = np.argsort(asked["label"], kind="stable")
        samples = images[order].reshape(CLASSES, -1, 8, 8)[:, :10]
        return {"samples": np.round(samples.astype(np.float64), 2).tolist(),
                "conditional_accuracy_per_class": per_class, "labels": self.labels}

    def plots(self, directory: Path, extra: dict[str, Any], test_metrics: dict[str, float]) -> list[str]:
        report.plot_samples(directory / "samples.png", np.asarray(extra["samples"]), extra["labels"])
        report.plot_generation(directory / "generation.png", test_metrics)
        return ["samples.png", "generation.png"]

    def reference_inputs(self, trained: Trained, part: Part) -> dict[str, np.ndarray]:
        """The digits the generator learned, each with a latent vector from the served sampler."""
        state = trained.state
        # Any seed: the served sampler draws standard normals whatever the seed.
        return {"z": latent_vectors(0, len(part), state["latent_dim"]),
                "label": np.asarray(part.y, dtype=np.int64)}

    def golden_rows(self, total: int, count: int) -> np.ndarray:
        return np.arange(min(count, total))  # rows 0..9 ask for digits 0..9 (interleaved)

    # -- contract ------------------------------------------------------------------------------
    def preprocessing(self, trained: Trained, hp: dict[str, Any], data_: Any) -> dict[str, Any]:
        return {
            "latent_dim": int(hp["latent_dim"]),
            "num_classes": CLASSES,
            "height": 8,
            "width": 8,
            "max_value": data.MAX_VALUE,
            "ink": "high",
            "sampler": SAMPLER,
            # The test figures are for {"digit": d, "count": eval_per_class, "seed": eval_seed + d}.
            "evaluation": {"eval_seed": int(hp["eval_seed"]), "per_class": int(hp["eval_per_class"]),
                           "seed_of_digit": "eval_seed + digit"},
            "judge": self._judge().describe(),
        }

    def contract(self, hp: dict[str, Any], trained: Trained | None = None) -> tuple[list[TensorSpec], list[TensorSpec]]:
        latent = int(hp["latent_dim"])
        return ([TensorSpec("z", "FP32", [-1, latent]), TensorSpec("label", "INT64", [-1])],
                [TensorSpec("image", "FP32", [-1, 8, 8])])

    def _judge(self) -> Judge:
        if self.judge is None:
            raise RuntimeError("the generator family's data (and its judge) must be loaded first")
        return self.judge
