"""The replay gate's core: judge a published version on the requests callers sent the live one.

`tasks` says what a model's outputs mean and the thresholds that apply, `agreement` compares
answers row by row per task, `replayer` sends captured requests to the version and decides,
`cases` stores the disagreeing cases. The deployer runs it before the alias moves
(deployer/checks.py); the control API runs it on demand (`lepton replay`).
"""
from __future__ import annotations

from .cases import cases_key, write_cases
from .replayer import FAILED, PASSED, SKIPPED, Replay, ReplayResult, ReplaySettings
from .tasks import DEFAULTS, infer_task, task_of, thresholds

__all__ = ["DEFAULTS", "FAILED", "PASSED", "SKIPPED", "Replay", "ReplayResult", "ReplaySettings", "cases_key",
           "infer_task", "task_of", "thresholds", "write_cases"]
