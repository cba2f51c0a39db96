"""The checks on a published version, in order, before any traffic moves to it.

The gate judged the uploaded files; the rollout then published them as a function version.
These run on that version, each through its real handler, and each is recorded on the
deployment attempt with its figures (`CheckResult`), whatever it decided:

1. ``pre_traffic``: the manifest's golden requests, answered within its tolerance (verify.py);
2. ``replay``: the requests callers sent the live version, captured, answered as the live
   version answered them, within the task's thresholds (lepton_deploy.replay);
3. ``receipt``: the version measured beside the live one with the same requests (its cold start,
   warm p50/p99, memory, cost: lepton_deploy.receipt_check), and refused when much slower,
   slower to start or hungrier (lepton_deploy.regression).

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
from lepton_deploy.invoke import Invoker, infer_event
from lepton_deploy.measure import MeasureError, Meter, Workload
from lepton_deploy.prices import Prices
from lepton_deploy.receipt_check import ModelFacts, ReceiptSettings, take_receipt
from lepton_deploy.registry import Release
from lepton_deploy.replay import Replay, ReplaySettings, write_cases
from lepton_serving.errors import LeptonError
from lepton_serving.manifest import Manifest
from lepton_serving.origin import RECEIPT

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
        records = self.captures.latest(manifest.name, live.version, self.settings.requests)
        budget = min(self.settings.max_seconds, self.time_left() - RESERVE_SECONDS)
        if budget < MIN_REPLAY_SECONDS and len(records) >= self.settings.min_requests:
            raise NoTimeLeft(f"only {max(0.0, budget):.1f} s left for the replay of captured requests (the deployer "
                             f"keeps {RESERVE_SECONDS:g} s for the alias move); retried with a fresh timeout")
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


class ReceiptCheck:
    """The version's receipt, measured beside the live version's; refused on a regression."""

    name = "receipt"

    def __init__(self, invoke: Invoker, meter: Meter, captures: CaptureStore | None, settings: ReceiptSettings,
                 prices: Prices, facts: ModelFacts, time_left: Callable[[], float]):
        """``meter`` holds the REPORT lines of every call ``invoke`` made (the first of the new
        version, its cold start, came from the pre-traffic check); ``captures``: the live
        version's captured requests join the golden examples, when there are some."""
        self.invoke = invoke
        self.meter = meter
        self.captures = captures
        self.settings = settings
        self.prices = prices
        self.facts = facts
        self.time_left = time_left

    def __call__(self, published: Published) -> CheckResult:
        manifest, live = published.manifest, published.live
        captured = _captured_bodies(self.captures, manifest.name, live, self.settings.requests) if live else []
        workload = Workload.of(manifest, captured)

        def event_for(body: dict[str, Any], i: int) -> dict[str, Any]:
            return infer_event(manifest.name, {"id": f"receipt-{i}", **body}, RECEIPT)

        try:
            taken = take_receipt(self.invoke, self.meter, model=manifest.name, version=manifest.version,
                                 function=published.function, qualifier=published.qualifier, live=live,
                                 workload=workload, event_for=event_for, facts=self.facts, settings=self.settings,
                                 prices=self.prices, time_left=lambda: self.time_left() - RESERVE_SECONDS)
        except MeasureError as exc:
            return CheckResult(self.name, CheckOutcome.SKIPPED, f"not measured: {exc}")
        figures = {"receipt": taken.receipt.to_dict(), **taken.figures()}
        if taken.verdict.refused:
            was = (f"regresses against version {live.version}, which is live" if live
                   else "is over budget (a first version, nothing live to compare with)")
            return CheckResult(self.name, CheckOutcome.FAILED,
                               f"version {manifest.version} {was}: {taken.verdict.reason}", figures)
        return CheckResult(self.name, CheckOutcome.PASSED, taken.verdict.reason, figures)


def receipt_of_results(results: Sequence[CheckResult]) -> dict[str, Any] | None:
    """The receipt the receipt check took, if it ran and measured."""
    return next((r.figures["receipt"] for r in results if r.name == ReceiptCheck.name and "receipt" in r.figures),
                None)


def _captured_bodies(captures: CaptureStore | None, model: str, live: Release, count: int) -> list[dict[str, Any]]:
    """The live version's newest replayable captured requests, as V2 infer bodies."""
    if captures is None:
        return []
    return [{"inputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape), "data": t.data}
                        for t in record.inputs]}
            for record in captures.latest(model, live.version, count)]


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
