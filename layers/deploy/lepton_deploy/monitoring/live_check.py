"""One model version's drift, end to end: its reference, its live window, the comparison.

The reference is the profile the version's manifest pins (training wrote it, or `lepton add
--reference`). A version without one is one of two cases, and the report says which:

- a trained family's version made before profiles existed: ``no_reference``; retraining writes
  one, and nothing else is honest (its training data is not what callers send);
- a model added without reference data: its first captured window becomes its baseline
  (baseline.py), and the live window starts after it.

The drift function and `lepton drift` both call `check_version`; only what they do with the
report differs (metrics and a record, or a printout).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lepton_drift.check import DriftReport, Level, Thresholds, compare
from lepton_drift.errors import ProfileError
from lepton_drift.features import extractor_for
from lepton_drift.profile import FIRST_WINDOW
from lepton_drift.reference import read_reference
from lepton_serving.errors import ObjectMissing

from .baselines import BASELINE_ROWS, Baselines, first_window
from .window import LiveWindow, read_window

if TYPE_CHECKING:
    from lepton_serving.bucket import ModelBucket
    from lepton_serving.manifest import Manifest

    from ..captures import CaptureStore


@dataclass(frozen=True)
class Sources:
    """Where a check reads: the model bucket (manifests, pinned profiles), the captured requests,
    and the first-window baselines (None: never make one, e.g. a read-only caller)."""

    models: ModelBucket
    captures: CaptureStore
    baselines: Baselines | None = None


@dataclass(frozen=True)
class Span:
    """The live window: captured between ``start`` and ``end``; at most ``max_records`` read."""

    start: datetime
    end: datetime
    max_records: int | None = None
    seed: int = 0


def check_version(sources: Sources, manifest: Manifest, span: Span, thresholds: Thresholds,
                  baseline_rows: int = BASELINE_ROWS, now: str = "") -> DriftReport:
    model, version = manifest.name, str(manifest.version)
    try:
        pinned = read_reference(sources.models, manifest)
    except ObjectMissing:
        return _no_reference(model, version, thresholds, f"v{version}'s manifest pins {manifest.reference_key}, "
                             "which is not in the model bucket")
    except ProfileError as exc:
        return _no_reference(model, version, thresholds, f"v{version}'s reference profile is unusable: {exc.message}")
    start = span.start
    if pinned is not None:
        profile, extractor = pinned
    elif manifest.training_data_sha256:
        return _no_reference(model, version, thresholds,
                             f"v{version} was trained before reference profiles existed: retrain it "
                             f"(`lepton train {manifest.family or model}`) and publish the new version to "
                             "measure drift from its training data")
    else:
        try:
            extractor = extractor_for(manifest)
        except ProfileError as exc:  # a recommender's features need its training users: no baseline without them
            return _no_reference(model, version, thresholds, f"v{version} has no reference profile, and its captured "
                                 f"rows cannot be its baseline: {exc.message}")
        found = sources.baselines.get(model, version) if sources.baselines is not None else None
        if found is None:
            found = first_window(sources.captures, model, version, extractor, span.end, baseline_rows, created_at=now)
            if found is not None and sources.baselines is not None:
                sources.baselines.put(found, version)
        if found is None:
            report = DriftReport(model, version, Level.NOT_ENOUGH_DATA, thresholds=thresholds,
                                 reference_source=FIRST_WINDOW)
            report.message = (f"not enough data: no reference profile, so the first {baseline_rows:,} captured "
                              "rows become the baseline, and fewer have been captured so far")
            return report
        profile = found
        if profile.window.get("end"):  # the live window starts after the baseline
            start = max(start, datetime.fromisoformat(profile.window["end"].replace("Z", "+00:00"))
                        + timedelta(milliseconds=1))
    window = read_window(sources.captures, model, version, start, span.end, LiveWindow(extractor),
                         span.max_records, span.seed)
    report = compare(profile, window.columns(), thresholds, model, version)
    stats = window.stats
    report.window_start, report.window_end = _iso(start), _iso(span.end)
    report.records, report.rows, report.errors, report.skipped = stats.records, stats.rows, stats.errors, stats.skipped
    report.sampled = stats.sampled
    if profile.source == FIRST_WINDOW:
        report.message += " (against its first captured window, not training data)"
    return report


def _no_reference(model: str, version: str, thresholds: Thresholds, message: str) -> DriftReport:
    return DriftReport(model, version, Level.NO_REFERENCE, message, thresholds=thresholds)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
