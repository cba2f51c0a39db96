"""A drift check: live features against the reference profile, feature by feature.

Each feature gets its PSI over the reference's bins (or categories), a test suited to its kind
with the p-value (stats.py), and a level:

- ``alarm``: PSI at or above the alarm threshold (default 0.25);
- ``warning``: at or above the warning threshold (default 0.1);
- ``ok``: below both;
- ``not_enough_data``: fewer live rows than ``min_rows``, or so few that sampling noise alone
  would reach half the warning threshold (stats.noise_floor): never read as drift.

The report's level is its worst feature's: input features and prediction features are kept
apart (``role``), so a shifted prediction is seen as the consequence it may be.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import stats
from .errors import ProfileError
from .features import NUMERIC
from .levels import Level
from .profile import FeatureProfile, ReferenceProfile

DEFAULT_WARNING = 0.1
DEFAULT_ALARM = 0.25
#: Fewer live rows than this is never enough, whatever the noise floor says.
DEFAULT_MIN_ROWS = 100


@dataclass(frozen=True)
class Thresholds:
    """What counts as drift. ``warning`` <= ``alarm``; both PSI values."""

    warning: float = DEFAULT_WARNING
    alarm: float = DEFAULT_ALARM
    min_rows: int = DEFAULT_MIN_ROWS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.warning) and math.isfinite(self.alarm) and 0 < self.warning <= self.alarm):
            raise ValueError(f"thresholds must be numbers with 0 < warning <= alarm, got warning {self.warning}, "
                             f"alarm {self.alarm}")
        if self.min_rows < 1:
            raise ValueError(f"min_rows must be at least 1, got {self.min_rows}")

    def level(self, psi: float) -> Level:
        return Level.ALARM if psi >= self.alarm else Level.WARNING if psi >= self.warning else Level.OK

    def rows_needed(self, bins: int, reference_rows: int) -> int:
        """The fewest live rows whose noise floor stays under half the warning threshold."""
        room = self.warning / 2 - max(bins - 1, 1) / max(reference_rows, 1)
        if room <= 0:
            return -1  # the reference alone is too small: no number of live rows is enough
        return max(self.min_rows, math.ceil(max(bins - 1, 1) / room))


@dataclass
class FeatureDrift:
    """One feature's result, with what a plot needs (the two distributions over the same bins)."""

    name: str
    kind: str
    role: str
    level: Level
    live_rows: int
    reference_rows: int
    psi: float | None = None
    test: str = ""
    statistic: float | None = None
    p_value: float | None = None
    rows_needed: int = 0
    labels: list[str] = field(default_factory=list)  # bins ("<= 12.3", ...) or categories
    reference: list[float] = field(default_factory=list)  # proportions
    live: list[float] = field(default_factory=list)
    live_summary: dict[str, float] = field(default_factory=dict)
    reference_summary: dict[str, float] = field(default_factory=dict)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "role": self.role, "level": self.level.value,
                "psi": _finite(self.psi), "test": self.test, "statistic": _finite(self.statistic),
                "p_value": _finite(self.p_value), "live_rows": self.live_rows, "reference_rows": self.reference_rows,
                "rows_needed": self.rows_needed, "bins": self.labels, "reference": self.reference, "live": self.live,
                "live_summary": self.live_summary, "reference_summary": self.reference_summary,
                "description": self.description}


def compare_feature(reference: FeatureProfile, live_values: np.ndarray, thresholds: Thresholds) -> FeatureDrift:
    """One feature of the live window against its reference."""
    if reference.kind == NUMERIC:
        values = np.asarray(live_values, dtype=np.float64)
        values = values[np.isfinite(values)]
        edges = np.asarray(reference.edges, dtype=np.float64)
        live_counts = stats.bin_counts(values, edges)
        labels = bin_labels(reference.edges)
        summary = ({"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
                    "max": float(values.max())} if values.size else {})
    else:
        values = np.asarray([str(v) for v in np.asarray(live_values, dtype=object).reshape(-1).tolist()
                             if v is not None], dtype=object)
        labels = list(reference.categories)
        extra = sorted(set(values.tolist()) - set(labels))  # a category training never saw
        labels += extra
        index = {c: i for i, c in enumerate(labels)}
        live_counts = np.bincount([index[v] for v in values.tolist()], minlength=len(labels))
        summary = {}
    ref_counts = np.asarray(reference.counts + [0] * (len(labels) - len(reference.counts)), dtype=np.float64)
    rows = int(values.size)
    drift = FeatureDrift(reference.name, reference.kind, reference.role, Level.NOT_ENOUGH_DATA, rows, reference.count,
                         labels=labels, reference=_rounded(stats.proportions(ref_counts)),
                         live=_rounded(stats.proportions(live_counts.astype(np.float64))), live_summary=summary,
                         reference_summary=dict(reference.summary), description=reference.description)
    bins = max(len(labels), 2)
    drift.rows_needed = thresholds.rows_needed(bins, reference.count)
    if drift.rows_needed < 0 or rows < drift.rows_needed:
        return drift
    drift.psi = stats.psi(stats.proportions(ref_counts), stats.proportions(live_counts.astype(np.float64)))
    if reference.kind == NUMERIC and reference.sample:
        result = stats.ks_test(np.asarray(reference.sample), values)
    else:
        result = stats.chi_square_test(ref_counts, live_counts)
    drift.test, drift.statistic, drift.p_value = result.name, result.statistic, result.p_value
    drift.level = thresholds.level(drift.psi)
    return drift


@dataclass
class DriftReport:
    """A model version's live window against its reference."""

    model: str
    version: str
    level: Level
    message: str = ""
    reference_source: str = ""
    reference_rows: int = 0
    reference_description: str = ""
    window_start: str = ""
    window_end: str = ""
    records: int = 0
    rows: int = 0
    skipped: int = 0
    errors: int = 0
    sampled: str = ""
    thresholds: Thresholds = field(default_factory=Thresholds)
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def worst(self) -> FeatureDrift | None:
        measured = [f for f in self.features if f.psi is not None]
        return max(measured, key=lambda f: f.psi or 0.0) if measured else None

    def flagged(self, level: Level = Level.ALARM) -> list[FeatureDrift]:
        return [f for f in self.features if f.level == level]

    def to_dict(self) -> dict[str, Any]:
        worst = self.worst
        return {
            "model": self.model, "version": self.version, "level": self.level.value, "message": self.message,
            "reference": {"source": self.reference_source, "rows": self.reference_rows,
                          "description": self.reference_description},
            "window": {"start": self.window_start, "end": self.window_end, "records": self.records,
                       "rows": self.rows, "skipped": self.skipped, "errors": self.errors, "sampled": self.sampled},
            "thresholds": {"warning": self.thresholds.warning, "alarm": self.thresholds.alarm,
                           "min_rows": self.thresholds.min_rows},
            "worst": {"feature": worst.name, "psi": _finite(worst.psi)} if worst else None,
            "features": [f.to_dict() for f in self.features],
        }


def compare(profile: ReferenceProfile, live: Mapping[str, np.ndarray], thresholds: Thresholds,
            model: str, version: str) -> DriftReport:
    """Every feature of ``profile`` that the live columns carry, and the report's level."""
    features = []
    for reference in profile.features:
        if reference.name not in live:
            raise ProfileError(f"the profile's feature '{reference.name}' is not one this model's features "
                               f"({', '.join(sorted(live))}): the profile was made for another model")
        features.append(compare_feature(reference, live[reference.name], thresholds))
    measured = [f.level for f in features if f.level != Level.NOT_ENOUGH_DATA]
    level = max(measured, key=lambda x: x.rank) if measured else Level.NOT_ENOUGH_DATA
    report = DriftReport(model, version, level, reference_source=profile.source, reference_rows=profile.rows,
                         reference_description=profile.description, thresholds=thresholds, features=features)
    report.message = summarise(report)
    return report


def summarise(report: DriftReport) -> str:
    """One line: what the check found."""
    if report.level == Level.NOT_ENOUGH_DATA:
        needed = max((f.rows_needed for f in report.features), default=0)
        if needed < 0:
            return "not enough data: the reference profile is too small to resolve the warning threshold"
        rows = max((f.live_rows for f in report.features), default=0)
        return f"not enough data: {rows:,} live rows, at least {needed:,} needed to tell drift from noise"
    alarms, warnings = report.flagged(Level.ALARM), report.flagged(Level.WARNING)
    if alarms:
        return "drift: " + ", ".join(f"{f.name} (PSI {f.psi:.2f})" for f in alarms)
    if warnings:
        return "moving: " + ", ".join(f"{f.name} (PSI {f.psi:.2f})" for f in warnings)
    return "no drift"


def bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all"]
    labels = [f"< {edges[0]:.4g}"]
    labels += [f"{a:.4g} .. {b:.4g}" for a, b in zip(edges, edges[1:])]
    return labels + [f">= {edges[-1]:.4g}"]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
