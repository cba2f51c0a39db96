"""Families whose data is labelled examples, split and folded by label: the classifiers, and
the generator (which learns images per digit class)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..data.splits import kfold
from ..data.types import ClassificationData
from .base import Family


class Part:
    """Raw inputs and labels of one side of a split."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)


class LabelledFamily(Family):
    quick_sizes = (120, 60)  # train / test examples in --quick runs

    def load_data(self, hp: dict[str, Any]) -> ClassificationData:
        raise NotImplementedError

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
