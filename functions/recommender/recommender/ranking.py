"""Top-k items for every user at once: highest first, ties by lower item id, excluded items skipped.

The order is exactly a stable sort of each row by descending score. `argpartition` finds each
row's k best without sorting the rest; only those k are then sorted. A row where the k-th score
ties with a score left out (or with NaN among the best) is sorted in full, so the tie still goes
to the lower item id.
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
    candidates = np.argpartition(negated, k - 1, axis=1)[:, :k]
    values = negated[rows, candidates]
    columns = candidates[rows, np.lexsort((candidates, values), axis=1)]  # by value, then by column
    # The candidates are the only choice for a row when exactly k of its values are <= its k-th.
    # Without NaN among them every row has at least k such values, so one count checks all rows.
    kth = values.max(axis=1, keepdims=True)
    at_or_below = negated <= kth
    if np.isnan(kth).any() or np.count_nonzero(at_or_below) != at_or_below.shape[0] * k:
        tied = np.flatnonzero(at_or_below.sum(axis=1) != k)
        columns[tied] = np.argsort(negated[tied], axis=1, kind="stable")[:, :k]
    return columns
