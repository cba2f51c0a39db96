"""The drift check's settings, read from an environment and validated once per configuration: the
drift function's own, which `lepton drift` also reads from the local stack's copy of that function.

LEPTON_FUNCTIONS            {"tabular": "<function name>", ...}: the models checked
LEPTON_DEPLOYMENTS_TABLE    live pointers (which version), baselines, and where each check is recorded
LEPTON_MODEL_BUCKET         manifests and their pinned reference profiles
LEPTON_CAPTURE_BUCKET       captured requests (captures/<model>/YYYY/MM/DD/HH/)
LEPTON_DRIFT_WINDOW_HOURS   the live window: the last this many hours (default 24, 1..336)
LEPTON_DRIFT_WARNING        PSI at or above which a feature is moving (default 0.1)
LEPTON_DRIFT_ALARM          PSI at or above which a feature has drifted (default 0.25)
LEPTON_DRIFT_MIN_ROWS       live rows below which a feature is never judged (default 100)
LEPTON_DRIFT_MAX_RECORDS    records read per model and window at most, a random sample of the
                            window's capture objects beyond it (default 200000; docs/monitoring.md)
LEPTON_DRIFT_BASELINE_ROWS  a model with no profile: rows of its first captured window (default 1000)
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from lepton_drift.check import DEFAULT_ALARM, DEFAULT_MIN_ROWS, DEFAULT_WARNING, Thresholds
from lepton_serving.errors import ConfigError

from ..settings import functions_from, table_from
from .baselines import BASELINE_ROWS

DEFAULT_MAX_RECORDS = 200_000


@dataclass(frozen=True)
class DriftSettings:
    functions: dict[str, str]
    table: str
    model_bucket: str
    capture_bucket: str
    window_hours: int = 24
    thresholds: Thresholds = Thresholds()
    max_records: int = DEFAULT_MAX_RECORDS
    baseline_rows: int = BASELINE_ROWS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DriftSettings:
        buckets = {name: env.get(name, "").strip() for name in ("LEPTON_MODEL_BUCKET", "LEPTON_CAPTURE_BUCKET")}
        missing = [name for name, value in buckets.items() if not value]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set: the drift function reads profiles and captures there")
        warning = _number(env, "LEPTON_DRIFT_WARNING", DEFAULT_WARNING, 0.0, math.inf)
        alarm = _number(env, "LEPTON_DRIFT_ALARM", DEFAULT_ALARM, 0.0, math.inf)
        if not 0 < warning <= alarm:
            raise ConfigError(f"LEPTON_DRIFT_WARNING ({warning:g}) must be above 0 and at most LEPTON_DRIFT_ALARM ({alarm:g})")
        return cls(
            functions=functions_from(env),
            table=table_from(env, "the drift function"),
            model_bucket=buckets["LEPTON_MODEL_BUCKET"],
            capture_bucket=buckets["LEPTON_CAPTURE_BUCKET"],
            window_hours=int(_number(env, "LEPTON_DRIFT_WINDOW_HOURS", 24, 1, 14 * 24, whole=True)),
            thresholds=Thresholds(warning, alarm, int(_number(env, "LEPTON_DRIFT_MIN_ROWS", DEFAULT_MIN_ROWS, 1,
                                                             math.inf, whole=True))),
            max_records=int(_number(env, "LEPTON_DRIFT_MAX_RECORDS", DEFAULT_MAX_RECORDS, 1, math.inf, whole=True)),
            baseline_rows=int(_number(env, "LEPTON_DRIFT_BASELINE_ROWS", BASELINE_ROWS, 1, math.inf, whole=True)),
        )


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float, whole: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high or (whole and not value.is_integer()):
        kind = "a whole number" if whole else "a number"
        span = f"from {low:g}" + (f" to {high:g}" if math.isfinite(high) else " up")
        raise ConfigError(f"{name} must be {kind} {span}, got {raw!r}")
    return value
