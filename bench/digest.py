"""The committed summary of a run: docs/benchmarks.json, next to docs/benchmarks.md.

The raw results (.lepton/bench/latest.json) are git-ignored, so a fresh clone would have no
numbers for `lepton cost`. The digest keeps the raw file's shape, so one reader serves both, and
only the statistics a reader quotes (median, p99, min, max), which keeps it small.
"""
from __future__ import annotations

from typing import Any

KEPT_STATS = ("median", "p99", "min", "max")


def digest(results: dict[str, Any]) -> dict[str, Any]:
    """`results` with every summary (a dict with "median" and "n") cut to KEPT_STATS."""
    def prune(value: Any) -> Any:
        if isinstance(value, dict):
            if "median" in value and "n" in value:
                return {k: value[k] for k in KEPT_STATS if k in value}
            return {k: prune(v) for k, v in value.items()}
        if isinstance(value, list):
            return [prune(v) for v in value]
        return value

    return prune(results)
