"""Build, compile and fit a Keras model under the active tf.distribute strategy."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import progress
from .inputs import Inputs, rows, take
from .tf_env import import_tensorflow


@dataclass
class Trained:
    """A fitted model: ``model`` is the inference graph that gets exported (no augmentation)."""

    model: Any
    history: dict[str, list[float]]
    state: dict[str, Any] = field(default_factory=dict)  # fitted preprocessing (stats, vectoriser)


def fit(
    build: Callable[[], tuple[Any, Any]],
    x: np.ndarray,
    y: np.ndarray,
    hp: dict[str, Any],
    strategy: Any,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    verbose: int = 0,
    from_logits: bool = False,
    metrics: list[str] | None = None,
    seed: int | None = None,
) -> tuple[Any, dict[str, list[float]]]:
    """Fit ``train_model`` from ``build()``; return (inference_model, history).

    ``build`` returns (train_model, inference_model); they share layers, and the train model may
    add training-only layers such as augmentation in front.
    """
    import_tensorflow()
    import keras

    # Earlier fits (CV folds) leave global Keras/TF state behind that slows every later fit
    # several-fold; their models are no longer needed when a new one is built.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(int(hp["seed"] if seed is None else seed))
    with strategy.scope():
        train_model, inference_model = build()
        train_model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=float(hp["learning_rate"])),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            metrics=metrics if metrics is not None else ["accuracy"],
            # Several batches per graph call: these models are so small that per-step Python
            # overhead, not arithmetic, dominates the training time.
            steps_per_execution=int(hp.get("steps_per_execution", 1)),
        )
    callbacks = []
    if validation is not None:
        callbacks.append(validation_curve(inference_model, *validation, from_logits=from_logits, accuracy=metrics is None))
    history = train_model.fit(
        x,
        y,
        batch_size=int(hp["batch_size"]),
        epochs=int(hp["epochs"]),
        shuffle=True,
        verbose=verbose,
        callbacks=[*callbacks, epoch_reports()],
    )
    result = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    for callback in callbacks:
        result.update(callback.curves)
    return inference_model, result


def epoch_reports() -> Any:
    """A callback telling the run's progress (progress.py) that an epoch is done."""
    import keras

    class EpochReports(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            progress.current().epoch()

    return EpochReports()


def validation_curve(model: Any, x: np.ndarray, y: np.ndarray, from_logits: bool, accuracy: bool) -> Any:
    """A callback recording val_loss (and val_accuracy) per epoch from a direct inference call.

    Keras' own validation_data builds a dataset iterator per epoch, which costs several times
    more than the tiny forward pass; the numbers are the same sparse cross-entropy.
    """
    import keras

    class ValidationCurve(keras.callbacks.Callback):
        def __init__(self, model: Any, x: np.ndarray, y: np.ndarray, from_logits: bool, accuracy: bool) -> None:
            super().__init__()
            self.inference, self.x, self.y = model, x, np.asarray(y)
            self.from_logits, self.accuracy = from_logits, accuracy
            self.curves: dict[str, list[float]] = {"val_loss": []}
            if accuracy:
                self.curves["val_accuracy"] = []

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            out = predict(self.inference, self.x).astype(np.float64)
            if self.from_logits:
                out = out - out.max(axis=1, keepdims=True)
                log_p = out - np.log(np.exp(out).sum(axis=1, keepdims=True))
            else:
                log_p = np.log(np.clip(out, 1e-7, 1.0))
            self.curves["val_loss"].append(float(-log_p[np.arange(len(self.y)), self.y].mean()))
            if self.accuracy:
                self.curves["val_accuracy"].append(float(np.mean(out.argmax(axis=1) == self.y)))

    return ValidationCurve(model, x, y, from_logits, accuracy)


def predict(model: Any, x: Inputs, batch_size: int = 1024) -> np.ndarray:
    """Inference-mode outputs as numpy, in batches (a direct call: no fit-time randomness)."""
    outputs = [np.asarray(model(take(x, slice(i, i + batch_size)), training=False))
               for i in range(0, rows(x), batch_size)]
    return np.concatenate(outputs, axis=0)
