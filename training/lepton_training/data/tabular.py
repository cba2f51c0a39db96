"""Breast-cancer tabular data (sklearn's bundled copy): three informative columns.

The three columns were chosen by greedy forward selection on the training split (80 %, seed 42):
at each step add the column that most improves the 5-fold CV accuracy of a standardised logistic
regression. ``select_features`` re-runs that criterion; a test checks it still picks FEATURES.
Fixing the names in code keeps the serving contract stable across runs.
"""
from __future__ import annotations

import numpy as np

from .splits import dedupe, stratified_split
from .types import ClassificationData

FEATURES = ["worst radius", "worst smoothness", "worst texture"]
LABELS = ["malignant", "benign"]  # sklearn's target order: 0 = malignant, 1 = benign


def _raw() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    return bunch.data, bunch.target.astype(np.int64), [str(n) for n in bunch.feature_names]


def split_indices(x: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return stratified_split(len(y), y, test_size, seed)


def select_features(x: np.ndarray, y: np.ndarray, names: list[str], count: int = 3) -> list[str]:
    """Greedy forward selection by 5-fold CV accuracy of a standardised logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    chosen: list[int] = []
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    for _ in range(count):
        scores = {
            j: cross_val_score(
                make_pipeline(StandardScaler(), LogisticRegression()), x[:, chosen + [j]], y, cv=cv
            ).mean()
            for j in range(x.shape[1])
            if j not in chosen
        }
        chosen.append(max(scores, key=lambda j: (scores[j], -j)))
    return [names[j] for j in chosen]


def load(seed: int = 42, test_size: float = 0.2) -> ClassificationData:
    data, target, names = _raw()
    x = data[:, [names.index(f) for f in FEATURES]].astype(np.float32)
    finite = np.isfinite(x).all(axis=1)
    x, target = x[finite], target[finite]
    keep, stats = dedupe([row.tobytes() for row in x], target)
    x, target = x[keep], target[keep]
    train, test = split_indices(x, target, test_size, seed)
    info = {
        "source": "sklearn.datasets.load_breast_cancer (Wisconsin Diagnostic Breast Cancer)",
        "feature_names": list(FEATURES),
        "rows": int(len(target)),
        "non_finite_dropped": int((~finite).sum()),
        **stats,
    }
    return ClassificationData(x[train], target[train], x[test], target[test], list(LABELS), info)
