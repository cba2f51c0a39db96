"""Metrics: accuracy and macro F1 for classifiers, recall@k and NDCG@k for the recommender,
and the baselines every number is compared with (majority class, popularity)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

K = 10


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0


def f1_macro(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Unweighted mean of per-class F1 over all classes (a class never predicted nor present counts 0)."""
    scores = []
    for c in range(num_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> list[list[int]]:
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix.tolist()


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray, num_classes: int) -> dict[str, float]:
    y_pred = np.argmax(probabilities, axis=1)
    return {"accuracy": accuracy(y_true, y_pred), "f1_macro": f1_macro(y_true, y_pred, num_classes)}


def majority_baseline(y_train: np.ndarray, y_eval: np.ndarray, num_classes: int) -> dict[str, float]:
    """Always predict the most frequent training label."""
    majority = int(np.bincount(y_train, minlength=num_classes).argmax())
    y_pred = np.full_like(y_eval, majority)
    return {
        "baseline_accuracy": accuracy(y_eval, y_pred),
        "baseline_f1_macro": f1_macro(y_eval, y_pred, num_classes),
    }


def _group(pairs: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(pairs[:, 0], kind="stable")
    users, starts = np.unique(pairs[order, 0], return_index=True)
    return {int(u): items for u, items in zip(users, np.split(pairs[order, 1], starts[1:]))}


def ranking_metrics(
    scores_for: Callable[[np.ndarray], np.ndarray],
    held_out: np.ndarray,
    seen: np.ndarray,
    k: int = K,
) -> dict[str, float]:
    """Mean recall@k and NDCG@k over users with held-out items.

    ``scores_for(user_ids)`` returns [len(users), num_items]. Items the user interacted with in
    ``seen`` (training) are removed from the ranking. Recall@k is hits / min(k, #held-out), so a
    perfect ranking scores 1 even for users with more than k held-out items.
    """
    truth = _group(held_out)
    users = np.array(sorted(truth), dtype=np.int64)
    if len(users) == 0:
        return {f"recall_at_{k}": 0.0, f"ndcg_at_{k}": 0.0}
    scores = np.array(scores_for(users), dtype=np.float64)
    known = _group(seen)
    for row, user in enumerate(users):
        if user in known:
            scores[row, known[user]] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recalls, ndcgs = [], []
    for row, user in enumerate(users):
        relevant = truth[user]
        hits = np.isin(top[row], relevant)
        ideal = min(k, len(relevant))
        recalls.append(hits.sum() / ideal)
        ndcgs.append(float((hits * discounts).sum() / discounts[:ideal].sum()))
    return {f"recall_at_{k}": float(np.mean(recalls)), f"ndcg_at_{k}": float(np.mean(ndcgs))}


def popularity_baseline(train: np.ndarray, held_out: np.ndarray, num_items: int, k: int = K) -> dict[str, float]:
    """Rank every item by its training interaction count (same exclusion rule as the model)."""
    counts = np.bincount(train[:, 1], minlength=num_items).astype(np.float64)
    metrics = ranking_metrics(lambda users: np.tile(counts, (len(users), 1)), held_out, train, k)
    return {f"baseline_{name}": value for name, value in metrics.items()}
