"""Top-k items from one user's scores: highest first, ties by lower item id, excluded items skipped."""
from __future__ import annotations

import numpy as np


def top_k_items(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> list[tuple[int, float]]:
    order = np.argsort(-scores, kind="stable")  # stable: equal scores keep item-id order
    if exclude is not None and exclude.size:
        order = order[~np.isin(order, exclude)]
    return [(int(i), float(scores[i])) for i in order[:k]]
