"""Top-k items for every user at once: highest first, ties by lower item id, excluded items skipped.

The order is exactly a stable sort of each row by descending score. A value sort (numpy's
vectorised one, far quicker than an argsort) gives each row's k-th best score; the k items at or
above it are then ordered among themselves. A row where more than k items reach that score (a
tie across the k-th place) or fewer do (NaN) is sorted in full instead, so the tie still goes to
the lower item id.
"""
from __future__ import annotations

import numpy as np


def top_k_items(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """[users, items] scores -> ([users, k] item ids, [users, k] their scores). Fewer than k
    columns when fewer items are left once ``exclude`` is taken out."""
    items = np.arange(scores.shape[1])
    if exclude is not None and exclude.size:
        keep = np.ones(scores.shape[1], dtype=bool)
        keep[exclude] = False
        items = items[keep]
        scores = scores[:, items]  # columns stay in item-id order: ties still go to the lower id
    k = min(k, items.size)
    negated = -scores
    rows = np.arange(scores.shape[0])[:, None]
    if k < items.size:
        columns = _best_columns(negated, k, rows)
    else:
        columns = np.argsort(negated, axis=1, kind="stable")
    return items[columns], scores[rows, columns]


def _best_columns(negated: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    """The columns of each row's k smallest values, ascending, ties by column (0 < k < width)."""
    chosen = negated <= np.sort(negated, axis=1)[:, k - 1:k]  # NaN as the k-th: nothing is chosen
    unclear = np.flatnonzero(chosen.sum(axis=1) != k)
    if unclear.size:  # a tie across the k-th place, or NaN: the full stable sort picks the k
        chosen[unclear] = False
        chosen[unclear[:, None], np.argsort(negated[unclear], axis=1, kind="stable")[:, :k]] = True
    picked = (np.flatnonzero(chosen) % negated.shape[1]).reshape(-1, k)  # ascending columns in each row
    return picked[rows, np.argsort(negated[rows, picked], axis=1, kind="stable")]
