"""Shared behaviour of the three classifier families (tabular, digits, sentiment)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..data.splits import kfold
from ..data.types import ClassificationData
from ..evaluate import classification_metrics, confusion_matrix, majority_baseline
from ..train import Trained, fit
from .base import Family, Predict


class Part:
    """Raw inputs and labels of one side of a split."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)


class ClassifierFamily(Family):
    primary_metric = "accuracy"
    quick_sizes = (120, 60)  # train / test examples in --quick runs

    # -- to implement per family -------------------------------------------------------------
    def load_data(self, hp: dict[str, Any]) -> ClassificationData:
        raise NotImplementedError

    def fit_state(self, hp: dict[str, Any], x_raw: np.ndarray) -> dict[str, Any]:
        """Preprocessing learned from the fitting data only (normalisation stats, vocabulary)."""
        return {}

    def transform(self, state: dict[str, Any], x_raw: np.ndarray) -> np.ndarray:
        return x_raw

    def build(self, hp: dict[str, Any], state: dict[str, Any]) -> tuple[Any, Any]:
        """(train_model, inference_model)."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    def load(self, hp: dict[str, Any]) -> ClassificationData:
        data = self.load_data(hp)
        if hp.get("quick"):
            data = data.subset(*self.quick_sizes, seed=int(hp["seed"]))
        return data

    def sha256(self, data: ClassificationData) -> str:
        return data.sha256

    def info(self, data: ClassificationData) -> dict[str, Any]:
        counts = lambda y: {self.labels[c]: int(n) for c, n in enumerate(np.bincount(y, minlength=len(self.labels)))}  # noqa: E731
        return dict(data.info, train_size=len(data.y_train), test_size=len(data.y_test),
                    train_class_counts=counts(data.y_train), test_class_counts=counts(data.y_test))

    def train_part(self, data: ClassificationData) -> Part:
        return Part(data.x_train, data.y_train)

    def test_part(self, data: ClassificationData) -> Part:
        return Part(data.x_test, data.y_test)

    def folds(self, data: ClassificationData, k: int, seed: int) -> Iterator[tuple[Part, Part]]:
        for fit_idx, val_idx in kfold(data.y_train, len(data.y_train), k, seed):
            yield Part(data.x_train[fit_idx], data.y_train[fit_idx]), Part(data.x_train[val_idx], data.y_train[val_idx])

    def fit(self, hp: dict[str, Any], part: Part, strategy: Any, validation: Part | None = None, verbose: int = 0) -> Trained:
        state = self.fit_state(hp, part.x)
        x = self.transform(state, part.x)
        val = (self.transform(state, validation.x), validation.y) if validation is not None else None
        model, history = fit(lambda: self.build(hp, state), x, part.y, hp, strategy, val, verbose)
        return Trained(model, history, state)

    def inputs(self, trained: Trained, part: Part) -> np.ndarray:
        return self.transform(trained.state, part.x)

    def score(self, predict: Predict, trained: Trained, part: Part, seen: Part) -> dict[str, float]:
        return classification_metrics(part.y, predict(self.inputs(trained, part)), len(self.labels))

    def baseline(self, seen: Part, part: Part) -> dict[str, float]:
        return majority_baseline(seen.y, part.y, len(self.labels))

    def extra_report(self, trained: Trained, part: Part, predict: Predict) -> dict[str, Any]:
        y_pred = np.argmax(predict(self.inputs(trained, part)), axis=1)
        return {"confusion_matrix": confusion_matrix(part.y, y_pred, len(self.labels)), "labels": self.labels}
