"""Seeded train/test splits and k-fold indices."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split


def stratified_split(
    n: int, strata: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train/test index arrays preserving the strata proportions."""
    train, test = train_test_split(
        np.arange(n), test_size=test_size, random_state=seed, shuffle=True, stratify=strata
    )
    return np.asarray(train), np.asarray(test)


def kfold(y: np.ndarray | None, n: int, k: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(fit, validation) index pairs; stratified by ``y`` when given."""
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {k}")
    if y is not None:
        yield from StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(n), y)
    else:
        yield from KFold(k, shuffle=True, random_state=seed).split(np.zeros(n))


def dedupe(keys: list[bytes] | list[str], y: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Indices to keep: first copy of each duplicate input; inputs seen with two labels are dropped.

    Duplicates would otherwise land on both sides of a split and inflate test scores.
    """
    labels_by_key: dict[object, set[int]] = {}
    for key, label in zip(keys, y.tolist()):
        labels_by_key.setdefault(key, set()).add(int(label))
    seen: set[object] = set()
    keep: list[int] = []
    conflicting = 0
    for i, key in enumerate(keys):
        if len(labels_by_key[key]) > 1:
            conflicting += 1
            continue
        if key in seen:
            continue
        seen.add(key)
        keep.append(i)
    stats = {"duplicates_dropped": len(keys) - len(keep) - conflicting, "conflicting_dropped": conflicting}
    return np.array(keep, dtype=np.int64), stats
