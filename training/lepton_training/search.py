"""--search: a tiny grid over each family's key hyperparameters, scored by cross-validation."""
from __future__ import annotations

import itertools
import logging
from typing import Any

from .crossval import cross_validate
from .families.base import Family

log = logging.getLogger("lepton_training")


def grid(family: Family, quick: bool) -> list[dict[str, Any]]:
    axes = dict(family.search_grid)
    if quick:
        # Quick runs keep their tiny epoch counts etc.; only search what they leave alone.
        axes = {k: v for k, v in axes.items() if k not in family.quick}
    keys = sorted(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def search(family: Family, hp: dict[str, Any], data: Any, strategy: Any) -> dict[str, Any]:
    """Cross-validate every grid point; return the best point and all results."""
    results = []
    for point in grid(family, bool(hp.get("quick"))):
        cv = cross_validate(family, dict(hp, **point), data, strategy)
        score = cv["mean"][family.primary_metric]
        results.append({"params": point, "cv_mean": cv["mean"], "score": score, "cv": cv})
        log.info("%s search %s: cv %s=%.4f", family.name, point, family.primary_metric, score)
    best = max(results, key=lambda r: r["score"])
    summary = [{k: v for k, v in r.items() if k != "cv"} for r in results]
    return {"metric": family.primary_metric, "best": best["params"], "results": summary, "best_cv": best["cv"]}
