"""The drift check's settings, read from an environment the one way every function reads its own
(lepton_serving/environment.py) and validated once per configuration: the
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

from collections.abc import Mapping
from dataclasses import dataclass

from lepton_drift.check import DEFAULT_ALARM, DEFAULT_MIN_ROWS, DEFAULT_WARNING, Thresholds
from lepton_serving.environment import EnvReader

from ..settings import read_functions, read_table
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
        """The settings, or a ConfigError that names every variable with a bad value
        (lepton_serving/environment.py: the one way every function reads its environment)."""
        read = EnvReader(env, "the drift function")
        warning = read.number("LEPTON_DRIFT_WARNING", DEFAULT_WARNING, low=0.0)
        alarm = read.number("LEPTON_DRIFT_ALARM", DEFAULT_ALARM, low=0.0)
        if not 0 < warning <= alarm:
            read.add([f"LEPTON_DRIFT_WARNING ({warning:g}) must be above 0 and at most LEPTON_DRIFT_ALARM ({alarm:g})"])
            warning, alarm = DEFAULT_WARNING, DEFAULT_ALARM  # only so the rest is read too: `done` refuses them
        settings = cls(
            functions=read_functions(read),
            table=read_table(read),
            # the drift function reads profiles and captures there
            model_bucket=read.text("LEPTON_MODEL_BUCKET", required=True),
            capture_bucket=read.text("LEPTON_CAPTURE_BUCKET", required=True),
            window_hours=read.whole("LEPTON_DRIFT_WINDOW_HOURS", 24, low=1, high=14 * 24),
            thresholds=Thresholds(warning, alarm, read.whole("LEPTON_DRIFT_MIN_ROWS", DEFAULT_MIN_ROWS, low=1)),
            max_records=read.whole("LEPTON_DRIFT_MAX_RECORDS", DEFAULT_MAX_RECORDS, low=1),
            baseline_rows=read.whole("LEPTON_DRIFT_BASELINE_ROWS", BASELINE_ROWS, low=1),
        )
        read.done()
        return settings
