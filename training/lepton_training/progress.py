"""How far a training run is, for whoever watches it: the epochs it plans, each epoch done, then
the shipped model's headline metric.

The run reports to the `Progress` in effect (`reporting`); by default nobody listens. `lepton
up` trains a missing family in a subprocess that reports as `ProgressLines` on its stdout and
draws one bar per family from them (lepton/local/training_display.py). Keras' own epoch lines and
the metrics report (report.md, metrics.json) are untouched by this.
"""
from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, TextIO

#: The first word of a progress line, so a reader can tell it from anything else on the stream.
MARKER = "lepton-progress"


class Progress:
    """Reports nowhere: what a run outside any display uses."""

    def planned(self, epochs: int) -> None:
        """``epochs`` more to come (a run adds its final fit's when a search has picked them)."""

    def epoch(self) -> None:
        """One epoch of any fit (a cross-validation fold's or the final one) is done."""

    def finished(self, metric: str, value: float) -> None:
        """The shipped model's headline metric on the held-out test split."""


class ProgressLines(Progress):
    """Each report as one line, ``lepton-progress {json}``, flushed at once."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def planned(self, epochs: int) -> None:
        self._write({"planned": int(epochs)})

    def epoch(self) -> None:
        self._write({"epoch": 1})

    def finished(self, metric: str, value: float) -> None:
        self._write({"metric": metric, "value": float(value)})

    def _write(self, report: dict[str, Any]) -> None:
        self.stream.write(f"{MARKER} {json.dumps(report)}\n")
        self.stream.flush()


def read_line(line: str) -> dict[str, Any] | None:
    """A progress report from one line of a run's output; None for any other line."""
    head, _, body = line.strip().partition(" ")
    if head != MARKER:
        return None
    try:
        report = json.loads(body)
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


_current: ContextVar[Progress] = ContextVar("lepton_training_progress", default=Progress())


def current() -> Progress:
    return _current.get()


@contextlib.contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    """Send the reports of the runs inside the block to ``progress``."""
    token = _current.set(progress)
    try:
        yield progress
    finally:
        _current.reset(token)
