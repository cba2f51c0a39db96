"""Containers for the data of one training run, and the fingerprint recorded in the manifest."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def fingerprint(*parts: Any) -> str:
    """sha256 over arrays/strings in order; dtype and shape are included so a reshape changes it."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            if part.dtype == object:
                for item in part.ravel():
                    encoded = str(item).encode("utf-8")
                    digest.update(len(encoded).to_bytes(8, "little") + encoded)
            else:
                digest.update(f"{part.dtype.str}{part.shape}".encode())
                digest.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, bytes):
            digest.update(part)
        else:
            digest.update(str(part).encode("utf-8"))
    return digest.hexdigest()


@dataclass
class ClassificationData:
    """Raw (un-normalised, un-tokenised) inputs and integer labels, already split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return fingerprint(self.x_train, self.y_train, self.x_test, self.y_test)

    def subset(self, train: int, test: int, seed: int) -> ClassificationData:
        """A small stratified subset for quick runs (class proportions kept)."""
        from sklearn.model_selection import train_test_split

        def pick(y: np.ndarray, n: int) -> np.ndarray:
            if n >= len(y):
                return np.arange(len(y))
            chosen, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
            return np.sort(chosen)

        tr, te = pick(self.y_train, train), pick(self.y_test, test)
        info = dict(self.info, subset={"train": len(tr), "test": len(te)})
        return ClassificationData(
            self.x_train[tr], self.y_train[tr], self.x_test[te], self.y_test[te], self.labels, info
        )


@dataclass
class InteractionData:
    """Implicit feedback as (user, item) pairs, with each user's held-out pairs in ``test``."""

    num_users: int
    num_items: int
    train: np.ndarray  # int64 [n, 2]
    test: np.ndarray  # int64 [m, 2]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return fingerprint(self.num_users, self.num_items, self.train, self.test)
