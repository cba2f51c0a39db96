"""One upload, start to finish: read -> gate -> rollout -> record.

The pipeline only orchestrates. It reads what the gate needs once (the serving function's
configuration, the live pointer), lets the gate decide (gate.py: every check), hands an
accepted version and that same function configuration to the rollout, and records the
attempt, whatever happened. A transient failure is recorded too, then raised as Retry so SQS
delivers the message again.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lepton_deploy.canary import Judgement, judge, version_health, window
from lepton_deploy.captures import CaptureStore
from lepton_deploy.clock import seconds_until
from lepton_deploy.errors import NothingToDo, Rejected, Retry, RolloutError
from lepton_deploy.functions import FunctionConfig, LambdaFunctions
from lepton_deploy.model_layer import ModelLayers
from lepton_deploy.invoke import LambdaInvoker
from lepton_deploy.measure import Meter
from lepton_deploy.outcomes import NoMove, Outcome
from lepton_deploy.prices import Prices
from lepton_deploy.prices import load as load_prices
from lepton_deploy.receipt_check import ModelFacts
from lepton_deploy.registry import Attempt, Registry, Release
from lepton_deploy.rollout import Candidate, Move, Rollout
from lepton_serving.bucket import ModelBucket
from lepton_serving.errors import LeptonError
from lepton_serving.manifest import Manifest, ManifestError, parse_manifest_key
from lepton_serving.table import DeploymentsTable

from deployer import gate
from deployer.checks import (Check, CheckResult, PreTraffic, Published, ReceiptCheck, ReplayCheck,
                             receipt_of_results, run_checks, summary)
from deployer.config import MAX_SQS_DELAY, DeployerConfig
from deployer.events import CanaryCheck, Message, Upload
from deployer.idempotency import run_once
from deployer.telemetry import decision, logger, stage_latencies


@dataclass(frozen=True)
class Services:
    """The AWS clients the deployer works through (created by the handler, once per environment)."""

    s3: Any
    lam: Any
    dynamodb: Any
    sqs: Any
    cloudwatch: Any


class Deployer:
    def __init__(self, config: DeployerConfig, aws: Services, rollout: Rollout | None = None,
                 lambda_api: Any = None):
        """``lambda_api``: what answers Invoke for the checks on a published version (default:
        Lambda's client; the local stack's stand-in where Lambda cannot run code). Every call
        carries ``LogType=Tail`` and the meter keeps its REPORT line, for the receipt."""
        self.config = config
        self.aws = aws
        self.functions = LambdaFunctions(aws.lam)
        self.registry = Registry(DeploymentsTable(aws.dynamodb, config.table))
        self.layers = ModelLayers(self.functions, config.model_layer_prefix, config.model_layer_max_bytes)
        self.rollout = rollout or Rollout(self.registry, self.functions, lease_seconds=config.lease_seconds,
                                          layers=self.layers)
        self.meter = Meter()
        self._prices: Prices | None = None
        self.invoker = LambdaInvoker(lambda_api if lambda_api is not None else aws.lam, self.meter)
        self.captures = CaptureStore(aws.s3, config.capture_bucket) if config.capture_bucket else None

    # -- entry points ------------------------------------------------------------------------
    def handle(self, message: Message, context: Any = None) -> dict[str, Any]:
        if isinstance(message, CanaryCheck):
            return self.check_canary(message)
        return self.handle_upload(message, context)

    def handle_upload(self, upload: Upload, context: Any = None) -> dict[str, Any]:
        try:
            model, version = parse_manifest_key(upload.key)
        except ManifestError:
            logger.info("ignored: not a manifest key", extra={"bucket": upload.bucket, "key": upload.key})
            return {"outcome": NoMove.IGNORED, "key": upload.key}
        result = run_once(self.aws.dynamodb, self.config.table, self.config.idempotency_ttl_seconds, context,
                          upload.identity(), lambda: self.deploy(upload, model, version, _time_left(context)))
        if result.get("duplicate"):
            logger.info("duplicate delivery: already processed", extra={**upload.identity(), **result})
        return result

    # -- one upload --------------------------------------------------------------------------
    def deploy(self, upload: Upload, model: str, version: int,
               time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        """``time_left``: seconds this invocation may still run (the checks on the published
        version keep within it); None: no limit."""
        started = time.perf_counter()
        attempt = Attempt(model, version, Outcome.FAILED, "", actor="upload", source=upload.source())
        timings: dict[str, float] = {}
        results: list[CheckResult] = []
        try:
            # read: once per upload, handed to the gate and the rollout
            function = self._function(model)
            attempt.function_name = function.name if function else ""
            submission = gate.Submission(upload.bucket, upload.key, model, version, function,
                                         self.registry.get_live(model))
            # gate: every check
            verdict = gate.judge(submission, self.config.policy_for(model), ModelBucket(self.aws.s3, upload.bucket))
            timings.update(verdict.report.timings_ms)
            attempt.reason, attempt.check = verdict.reason, verdict.check
            attempt.function_version = verdict.function_version
            if verdict.outcome is not None:
                attempt.outcome = verdict.outcome
            else:
                assert function is not None and verdict.manifest is not None
                # rollout
                manifest = verdict.manifest
                candidate = Candidate(model, version, upload.bucket, manifest.model_key, manifest.sha256,
                                      verdict.manifest_sha256, verdict.files)
                live = submission.pointer.live if submission.pointer else None
                checks = self._checks(time_left or _unlimited, _facts(manifest, verdict.report))
                move = self._promote(candidate, function, manifest, timings, Checks(checks, live, results))
                attempt.outcome, attempt.function_version = move.outcome, move.release.function_version
                attempt.model_source = move.release.model_source
                attempt.reason = _promotion_reason(move, verdict.report, results)
                _log_collected(model, move)
                if move.outcome is Outcome.CANARY:
                    self._schedule_canary_check(CanaryCheck(model, version))
        except Rejected as exc:  # the pre-traffic check: the published version did not answer right
            attempt.outcome, attempt.reason, attempt.check = Outcome.REJECTED, exc.message, exc.check
        except RolloutError as exc:
            attempt.outcome, attempt.reason = exc.outcome, exc.message
        except LeptonError as exc:
            attempt.outcome, attempt.reason = Outcome.FAILED, exc.message
        except Exception as exc:  # a bug: still recorded (and retried), never lost in a trace alone
            logger.exception("deployment failed unexpectedly", extra={"model": model, "version": version})
            attempt.outcome, attempt.reason = Outcome.FAILED, f"internal error ({type(exc).__name__}): {exc}"[:500]
        timings["total"] = round((time.perf_counter() - started) * 1000.0, 3)
        attempt.timings_ms = timings
        attempt.checks = [r.to_dict() for r in results]
        attempt.receipt = receipt_of_results(results) or {}
        # record
        return self._finish(attempt)

    def _function(self, model: str) -> FunctionConfig | None:
        name = self.config.functions.get(model)
        return self.functions.config(name) if name else None

    def _checks(self, time_left: Callable[[], float], facts: ModelFacts) -> list[Check]:
        """The checks on a published version, in the order they run (deployer/checks.py)."""
        return [PreTraffic(self.invoker),
                ReplayCheck(self.invoker, self.captures, self.config.replay, time_left),
                ReceiptCheck(self.invoker, self.meter, self.captures, self.config.receipt, self.prices, facts,
                             time_left)]

    @property
    def prices(self) -> Prices:
        """The price list the receipts are priced with (lepton_deploy/prices.json), read once."""
        if self._prices is None:
            self._prices = load_prices()
        return self._prices

    def _promote(self, candidate: Candidate, function: FunctionConfig, manifest: Manifest,
                 timings: dict[str, float], checks: Checks) -> Move:
        started = time.perf_counter()

        def on_published(function_version: str) -> dict[str, Any] | None:
            try:
                run_checks(checks.checks, Published(manifest, function, function_version, checks.live), checks.results)
            finally:
                timings.update({r.name: r.ms for r in checks.results})
            return receipt_of_results(checks.results)  # kept with the release in the live pointer

        try:
            return self.rollout.promote(candidate, function, canary_weight=self.config.canary_weight,
                                        bake_seconds=self.config.canary_bake_seconds, verify=on_published)
        finally:
            timings["promote"] = round((time.perf_counter() - started) * 1000.0, 3)

    def _finish(self, attempt: Attempt) -> dict[str, Any]:
        decision(attempt.outcome, attempt.model, attempt.check)
        stage_latencies(attempt.timings_ms)
        log = logger.warning if attempt.outcome in (Outcome.REJECTED, Outcome.FAILED) else logger.info
        log(f"{attempt.model} v{attempt.version}: {attempt.outcome}", extra={"deployment": attempt.to_dict()})
        self.registry.record_attempt(attempt)
        if attempt.outcome is Outcome.FAILED:
            raise Retry(f"{attempt.model} v{attempt.version}: {attempt.reason}")
        return {"outcome": attempt.outcome, "reason": attempt.reason, "model": attempt.model,
                "version": attempt.version, "function_version": attempt.function_version,
                "attempt_id": attempt.attempt_id}

    # -- canary ----------------------------------------------------------------------------------
    def check_canary(self, check: CanaryCheck) -> dict[str, Any]:
        pointer = self.registry.get_live(check.model)
        canary = pointer.canary if pointer else None
        if pointer is None or canary is None or canary.release.version != check.version:
            logger.info("canary check: nothing to do", extra={"model": check.model, "version": check.version})
            return {"outcome": NoMove.IGNORED, "model": check.model, "version": check.version}
        remaining = seconds_until(canary.promote_after)
        if remaining > 0:  # bake time longer than one SQS delay: wait again
            self._schedule_canary_check(check, delay=remaining)
            return {"outcome": NoMove.WAITING, "model": check.model, "version": check.version}
        # Both versions over the same window: the live one is what the canary is compared with.
        start, end = window(canary.started_at)
        judgement = judge(
            version_health(self.aws.cloudwatch, check.model, canary.release.function_version, start, end),
            version_health(self.aws.cloudwatch, check.model, pointer.live.function_version, start, end),
            self.config.canary)
        if judgement.verdict == "hold":
            return self._hold_canary(check, judgement)
        try:
            if judgement.verdict == "roll_back":
                attempt = self.rollout.abort_canary(check.model, f"canary check failed: {judgement.reason}",
                                                    check.version)
            else:
                attempt = self.rollout.promote_canary(
                    check.model, check.version, reason=f"canary check passed: {judgement.reason}; "
                                                       f"version {check.version} now serves all traffic")
        except NothingToDo as exc:
            logger.info("canary check: nothing to do", extra={"model": check.model, "reason": exc.message})
            return {"outcome": NoMove.IGNORED, "model": check.model, "reason": exc.message}
        decision(attempt.outcome, attempt.model)
        logger.info(f"{attempt.model} v{attempt.version}: {attempt.outcome}", extra={"deployment": attempt.to_dict()})
        return {"outcome": attempt.outcome, "reason": attempt.reason, "model": attempt.model,
                "version": attempt.version, "function_version": attempt.function_version}

    def _hold_canary(self, check: CanaryCheck, judgement: Judgement) -> dict[str, Any]:
        """Too few callers' requests to judge: the canary keeps its share and is checked again after
        another bake period. Silence is never read as health; `lepton promote` finishes it by hand."""
        pointer = self.registry.get_live(check.model)
        assert pointer is not None and pointer.canary is not None
        reason = f"canary held: {judgement.reason}; checking again in {self.config.canary_bake_seconds} s"
        attempt = self.registry.record_attempt(Attempt(
            check.model, check.version, Outcome.CANARY, reason, function_name=pointer.function_name,
            function_version=pointer.canary.release.function_version, actor="canary"))
        decision(NoMove.HELD, check.model)
        logger.info(f"{check.model} v{check.version}: canary held", extra={"deployment": attempt.to_dict()})
        self._schedule_canary_check(check)
        return {"outcome": NoMove.HELD, "reason": reason, "model": check.model, "version": check.version}

    def _schedule_canary_check(self, check: CanaryCheck, delay: float | None = None) -> None:
        """A delayed message to our own queue; losing it only means promoting by hand."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.config.queue_url:
            logger.info("canary started; promote it with `lepton promote`", extra={"model": check.model})
            return
        seconds = int(min(MAX_SQS_DELAY, max(0, delay if delay is not None else self.config.canary_bake_seconds)))
        try:
            url = self.config.queue_url
            if "://" not in url:  # a queue name (what a local template resolver may give for !Ref)
                url = self.aws.sqs.get_queue_url(QueueName=url)["QueueUrl"]
            self.aws.sqs.send_message(QueueUrl=url, MessageBody=check.to_body(), DelaySeconds=seconds)
        except (ClientError, BotoCoreError) as exc:
            logger.error("canary check not scheduled; promote or roll back by hand",
                         extra={"model": check.model, "version": check.version, "reason": str(exc)})


@dataclass(frozen=True)
class Checks:
    """What runs on the published version (in order), what it is compared with, where results go."""

    checks: list[Check]
    live: Release | None
    results: list[CheckResult]


def _facts(manifest: Manifest, report: gate.GateReport) -> ModelFacts:
    return ModelFacts(manifest.size, manifest.sha256, report.opset, report.onnxruntime)


def _unlimited() -> float:
    return float("inf")


def _time_left(context: Any) -> Callable[[], float] | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: remaining() / 1000.0) if callable(remaining) else None


def _promotion_reason(move: Move, report: gate.GateReport, results: list[CheckResult]) -> str:
    checks = (f"all checks passed (load {report.load_ms:.0f} ms, {report.golden_examples} golden example(s) "
              f"under onnxruntime and through the published function version, max error {report.golden_max_error:.2g}"
              f"{'; ' + summary(results[1:]) if len(results) > 1 else ''})")
    was = f" (was version {move.previous.version})" if move.previous else ""
    where = f"; {move.placement.describe()}" if move.placement else ""
    if move.outcome is Outcome.CANARY:
        return f"{checks}; canary at {move.weight:.0%} of traffic beside version {move.previous.version}{where}" \
            if move.previous else f"{checks}{where}"
    return f"{checks}; live as function version {move.release.function_version}{was}{where}"


def _log_collected(model: str, move: Move) -> None:
    collected = move.collected
    if collected is None or not (collected.deleted or collected.problem):
        return
    log = logger.warning if collected.problem else logger.info
    log("model layer versions no function version uses", extra={
        "model": model, "deleted": list(collected.deleted), "problem": collected.problem})
