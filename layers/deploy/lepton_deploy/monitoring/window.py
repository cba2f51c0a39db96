"""Captured requests -> the live window's feature columns.

`LiveWindow` takes capture records one at a time (lepton_deploy.captures reads them) and keeps
only what the check needs: one column per feature. A successful record whose tensors the
extractor needs were all recorded in full contributes its rows; a failed request is counted as
an error, and a success recorded without its data (redacted, or over the size cap) as skipped.

Records are gathered into chunks and each chunk's tensors are concatenated, so the extractor runs
once per few thousand rows rather than once per request: reading, not computing, is the cost.

`read_window` reads one model version's records over a time span. With ``max_records`` it reads
the span's capture objects in a random (seeded) order until that many records are in: objects
from across the whole span, so a long busy day is bounded in time and memory and still sampled
evenly (report.sampled says how many objects of how many were read).
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from lepton_drift.features import Columns, Extractor

if TYPE_CHECKING:
    from ..captures import CaptureRecord, CaptureStore

#: Rows gathered before the extractor runs over them.
CHUNK_ROWS = 8192
#: Firehose files a record by its arrival, shortly after the request: look one hour past the end.
ARRIVAL_SLACK = timedelta(hours=1)


@dataclass
class WindowStats:
    """What a window held."""

    records: int = 0  # successful requests whose rows were measured
    rows: int = 0
    errors: int = 0  # failed requests (no tensors)
    skipped: int = 0  # successes recorded without the data the features need
    first: str = ""
    last: str = ""
    objects_read: int = 0
    objects_total: int = 0

    @property
    def sampled(self) -> str:
        if self.objects_read >= self.objects_total:
            return ""
        return f"read {self.objects_read:,} of {self.objects_total:,} capture objects (a random sample)"


@dataclass
class LiveWindow:
    """The live feature columns of a stream of capture records."""

    extractor: Extractor
    chunk_rows: int = CHUNK_ROWS
    stats: WindowStats = field(default_factory=WindowStats)
    _parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _pending: dict[tuple[Any, ...], list[dict[str, np.ndarray]]] = field(default_factory=dict)
    _pending_rows: int = 0

    def add(self, record: CaptureRecord) -> None:
        stats = self.stats
        if record.status != 200:
            stats.errors += 1
            return
        arrays = tensors_of(record, self.extractor.needs)
        if arrays is None:
            stats.skipped += 1
            return
        rows = {len(a) for a in arrays.values()}
        if len(rows) != 1:  # inputs and outputs disagree on the batch: not a record to trust
            stats.skipped += 1
            return
        key = tuple((name, a.shape[1:], a.dtype.str) for name, a in arrays.items())
        self._pending.setdefault(key, []).append(arrays)
        count = rows.pop()
        stats.records += 1
        stats.rows += count
        stats.first = min(stats.first, record.time) if stats.first else record.time
        stats.last = max(stats.last, record.time)
        self._pending_rows += count
        if self._pending_rows >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        for group in self._pending.values():
            names = group[0].keys()
            batch = {name: np.concatenate([g[name] for g in group]) for name in names}
            for feature, values in self.extractor.columns(batch, batch).items():
                self._parts.setdefault(feature, []).append(np.asarray(values))
        self._pending.clear()
        self._pending_rows = 0

    def columns(self) -> Columns:
        self.flush()
        found: Columns = {}
        for feature in self.extractor.features:
            parts = self._parts.get(feature.name, [])
            found[feature.name] = np.concatenate(parts) if parts else np.empty(0)
        return found


def tensors_of(record: CaptureRecord, needs: Iterable[str]) -> dict[str, np.ndarray] | None:
    """The arrays of the tensors ``needs`` names (inputs, then outputs), or None when one is
    missing or was recorded without its data."""
    by_name = {t.name: t for t in record.outputs}
    by_name.update({t.name: t for t in record.inputs})
    found = {}
    for name in needs:
        tensor = by_name.get(name)
        if tensor is None or not tensor.complete:
            return None
        found[name] = tensor.array()
    return found


def read_window(store: CaptureStore, model: str, version: str, start: datetime, end: datetime,
                window: LiveWindow, max_records: int | None = None, seed: int = 0) -> LiveWindow:
    """Add the records of ``model`` v``version`` captured in [start, end] to ``window``; with
    ``max_records``, stop after that many, reading objects in a seeded random order."""
    keys = list(store.keys(model, start, end + ARRIVAL_SLACK))
    window.stats.objects_total = len(keys)
    if max_records is not None:
        random.Random(seed).shuffle(keys)
    for record in _records(store, keys, model, version, start, end, window.stats):
        window.add(record)
        if max_records is not None and window.stats.records + window.stats.errors + window.stats.skipped >= max_records:
            break
    return window


def _records(store: CaptureStore, keys: list[str], model: str, version: str, start: datetime, end: datetime,
             stats: WindowStats) -> Iterator[CaptureRecord]:
    for key in keys:
        stats.objects_read += 1
        for record in store.read(key):
            if record.model == model and record.version == version and start <= record.at <= end:
                yield record
