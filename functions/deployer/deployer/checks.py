"""The checks on a published version, in order, before any traffic moves to it.

The gate judged the uploaded files; the rollout then published them as a function version.
These run on that version, each through its real handler, and each is recorded on the
deployment attempt with its figures (`CheckResult`), whatever it decided:

1. ``pre_traffic``: the manifest's golden requests, answered within its tolerance (verify.py);
2. ``replay``: the requests callers sent the live version, captured, answered as the live
   version answered them, within the task's thresholds (lepton_deploy.replay).

A check that fails refuses the version (`Rejected` with its name) and nothing moves; a check
that cannot judge (nothing live yet, too few captured requests) is recorded as skipped with
its reason, never passed in silence. A new check is one more class with a ``name`` and a
``__call__`` in `checks_for`'s list.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from lepton_deploy.captures import CaptureStore
from lepton_deploy.errors import Rejected, RolloutError
from lepton_deploy.functions import FunctionConfig
from lepton_deploy.invoke import Invoker
from lepton_deploy.registry import Release
from lepton_deploy.replay import Replay, ReplaySettings, write_cases
from lepton_serving.errors import LeptonError
from lepton_serving.manifest import Manifest

from deployer.verify import verify

#: Seconds kept back from the deployer's own timeout for what follows the checks (the alias
#: move, the pointer, the layer clean-up, the record).
RESERVE_SECONDS = 20.0
#: Less time than this for a replay is the deployer's problem, not the version's: retried.
MIN_REPLAY_SECONDS = 5.0


class NoTimeLeft(RolloutError):
    """This invocation has too little time left to replay: the upload fails and SQS delivers it
    again, with a whole timeout ahead of it. Nothing moved."""


class CheckOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class CheckResult:
    """One check's decision on a published version, as the attempt records it."""

    name: str
    outcome: CheckOutcome
    summary: str  # the figure and its limit, or why it was skipped or failed
    figures: dict[str, Any] = field(default_factory=dict)
    ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": str(self.outcome)}


@dataclass(frozen=True)
class Published:
    """A function version just published for an upload, before any traffic moves to it."""

    manifest: Manifest
    function: FunctionConfig  # $LATEST's configuration as read for this upload
    qualifier: str  # the published function version
    live: Release | None  # what serves now (None before the first version)


class Check(Protocol):
    name: str

    def __call__(self, published: Published) -> CheckResult: ...


class PreTraffic:
    name = "pre_traffic"

    def __init__(self, invoke: Invoker):
        self.invoke = invoke

    def __call__(self, published: Published) -> CheckResult:
        try:
            report = verify(self.invoke, published.function.name, published.qualifier, published.manifest)
        except Rejected as exc:
            return CheckResult(self.name, CheckOutcome.FAILED, exc.message)
        return CheckResult(self.name, CheckOutcome.PASSED,
                           f"{report.requests} golden request(s) answered, max error {report.max_error:.2g}",
                           {"requests": report.requests, "max_error": report.max_error})


class ReplayCheck:
    """Captured requests of the live version, answered by the published one (lepton_deploy.replay)."""

    name = "replay"

    def __init__(self, invoke: Invoker, captures: CaptureStore | None, settings: ReplaySettings,
                 time_left: Callable[[], float], clock: Callable[[], float] = time.monotonic):
        """``captures`` None: capture is not configured (no capture bucket); ``time_left``: seconds
        this invocation may still run (the Lambda context's remaining time)."""
        self.invoke = invoke
        self.captures = captures
        self.settings = settings
        self.time_left = time_left
        self.clock = clock

    def __call__(self, published: Published) -> CheckResult:
        manifest, live = published.manifest, published.live
        if live is None:
            return CheckResult(self.name, CheckOutcome.SKIPPED, "no version is live yet: nothing to compare with")
        if self.captures is None:
            return CheckResult(self.name, CheckOutcome.SKIPPED, "payload capture is not configured "
                                                                "(LEPTON_CAPTURE_BUCKET): no captured requests")
        budget = min(self.settings.max_seconds, self.time_left() - RESERVE_SECONDS)
        if budget < MIN_REPLAY_SECONDS:
            raise NoTimeLeft(f"only {max(0.0, budget):.1f} s left for the replay of captured requests (the deployer "
                             f"keeps {RESERVE_SECONDS:g} s for the alias move); retried with a fresh timeout")
        records = self.captures.latest(manifest.name, live.version, self.settings.requests)
        settings = ReplaySettings(self.settings.requests, self.settings.min_requests, budget,
                                  _batch_rows(published.function, self.settings.batch_rows))
        replay = Replay(self.invoke, manifest, published.function.name, published.qualifier, settings, self.clock)
        result = replay.judge(records, live.version, self.clock() + budget)
        figures = {**result.figures, "budget_seconds": round(budget, 1)}
        if result.outcome == "failed":
            if result.cases:
                figures["cases_key"] = write_cases(self.captures.s3, self.captures.bucket, manifest.name,
                                                   manifest.version, published.qualifier, result)
            where = f"; disagreeing cases in s3://{self.captures.bucket}/{figures['cases_key']}" \
                if "cases_key" in figures else ""
            return CheckResult(self.name, CheckOutcome.FAILED, result.reason + where, figures)
        return CheckResult(self.name, CheckOutcome(result.outcome), result.reason, figures)


def run_checks(checks: Sequence[Check], published: Published, results: list[CheckResult]) -> None:
    """Each check in order, each result appended to ``results``; the first failure raises Rejected."""
    for check in checks:
        started = time.perf_counter()
        try:
            result = check(published)
        except LeptonError as exc:  # a transient failure (S3, Lambda) is recorded, then retried
            results.append(CheckResult(check.name, CheckOutcome.FAILED, exc.message,
                                       ms=round((time.perf_counter() - started) * 1000.0, 3)))
            raise
        result.ms = round((time.perf_counter() - started) * 1000.0, 3)
        results.append(result)
        if result.outcome is CheckOutcome.FAILED:
            raise Rejected(check.name, result.summary)


def summary(results: Sequence[CheckResult]) -> str:
    """The checks as the promotion's reason reads them: "pre-traffic: ...; replay: ..."."""
    return "; ".join(f"{_label(r.name)}{'' if r.outcome is CheckOutcome.PASSED else ' ' + str(r.outcome)}: "
                     f"{r.summary}" for r in results)


def _label(name: str) -> str:
    return name.replace("_", "-")


def _batch_rows(function: FunctionConfig, default: int) -> int:
    raw = function.environment.get("LEPTON_MAX_BATCH", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default
