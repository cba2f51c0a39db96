"""A model with no reference profile of its own (added with `lepton add` and no ``--reference``):
its first captured window becomes its baseline.

The baseline is the version's oldest ``rows`` captured rows (default 1,000), profiled the way a
training reference is, but kept as aggregates only: each feature's bin edges and counts, no
values. Captured requests expire (CaptureRetentionDays); a baseline made of counts may outlive
them, and so every later check compares with the same one. It is stored once, in the deployments
table (lepton_deploy.registry, ``baseline#<version>``), and live windows start after it. Every
report says which kind of reference it used: a baseline shows drift since the model went live,
not drift from the data it was trained on.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lepton_drift.features import Extractor
from lepton_drift.profile import FIRST_WINDOW, ReferenceProfile, build_profile

from .window import ARRIVAL_SLACK, LiveWindow

if TYPE_CHECKING:
    from ..captures import CaptureStore
    from ..registry import Registry

#: Rows a first-window baseline is made of.
BASELINE_ROWS = 1000
#: How far back the first window is looked for (captures are kept for days, not weeks).
LOOKBACK = timedelta(days=14)


class Baselines:
    """First-window baselines, one per model version, in the deployments table."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def get(self, model: str, version: str) -> ReferenceProfile | None:
        text = self.registry.get_baseline(model, version)
        if text is None:
            return None
        return ReferenceProfile.from_bytes(text.encode("utf-8"), f"the baseline of {model} v{version}")

    def put(self, profile: ReferenceProfile, version: str) -> None:
        self.registry.put_baseline(profile.model, version, profile.to_bytes().decode("utf-8"))


def first_window(store: CaptureStore, model: str, version: str, extractor: Extractor, end: datetime,
                 rows: int = BASELINE_ROWS, created_at: str = "") -> ReferenceProfile | None:
    """A baseline from the version's oldest ``rows`` captured rows up to ``end``, or None while
    fewer have been captured."""
    start = end - LOOKBACK
    window = LiveWindow(extractor)
    for key in reversed(list(store.keys(model, start, end + ARRIVAL_SLACK))):  # oldest object first
        for record in store.read(key):
            if record.model == model and record.version == version and start <= record.at <= end:
                window.add(record)
        if window.stats.rows >= rows:
            break
    stats = window.stats
    if stats.rows < rows:
        return None
    return build_profile(extractor, window.columns(), model=model, source=FIRST_WINDOW, created_at=created_at,
                         description=(f"the first {stats.rows:,} captured rows of v{version} "
                                      f"({stats.first} to {stats.last}), not training data"),
                         window={"start": stats.first, "end": stats.last}, sample_size=0)
