"""k-fold cross-validation on the training split (the test split is never touched here)."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .families.base import Family
from .train import predict

log = logging.getLogger("lepton_training")


def cross_validate(family: Family, hp: dict[str, Any], data: Any, strategy: Any) -> dict[str, Any]:
    k = int(hp["folds"])
    per_fold: list[dict[str, float]] = []
    histories: list[dict[str, list[float]]] = []
    for fold, (fit_part, val_part) in enumerate(family.folds(data, k, int(hp["seed"]))):
        fold_hp = dict(hp, seed=int(hp["seed"]) + fold + 1)
        trained = family.fit(fold_hp, fit_part, strategy, validation=val_part, verbose=0)
        metrics = family.score(lambda x, m=trained.model: predict(m, x), trained, val_part, fit_part)
        per_fold.append(metrics)
        histories.append(trained.history)
        log.info("%s fold %d/%d: %s", family.name, fold + 1, k, _fmt(metrics))
    mean = {name: float(np.mean([m[name] for m in per_fold])) for name in per_fold[0]}
    std = {name: float(np.std([m[name] for m in per_fold])) for name in per_fold[0]}
    return {"folds": k, "per_fold": per_fold, "mean": mean, "std": std, "histories": histories}


def _fmt(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
