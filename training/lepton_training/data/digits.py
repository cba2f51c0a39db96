"""sklearn's bundled 8x8 handwritten digits, pixel values 0..16 (ink high, background 0)."""
from __future__ import annotations

import numpy as np

from .splits import dedupe, stratified_split
from .types import ClassificationData

LABELS = [str(d) for d in range(10)]
MAX_VALUE = 16.0


def load(seed: int = 42, test_size: float = 0.2) -> ClassificationData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype(np.float32)
    y = bunch.target.astype(np.int64)
    keep, stats = dedupe([img.tobytes() for img in x], y)
    x, y = x[keep], y[keep]
    train, test = stratified_split(len(y), y, test_size, seed)
    info = {"source": "sklearn.datasets.load_digits (UCI optical digits, 8x8)", "rows": int(len(y)), **stats}
    return ClassificationData(x[train], y[train], x[test], y[test], list(LABELS), info)
