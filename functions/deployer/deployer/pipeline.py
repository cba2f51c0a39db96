"""One upload from manifest to live alias: ordering, gate, promotion, and the record of it.

Outcomes: promoted / canary (it serves), rejected (a gate check failed: never retried),
skipped (older than live, or superseded), failed (transient: recorded, then raised so SQS
retries and, after maxReceiveCount, moves the message to the DLQ). Every attempt is recorded.
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from lepton_serving import clients, registry, rollout
from lepton_serving.errors import LeptonError, ModelIntegrityError, ModelNotReady
from lepton_serving.manifest import Manifest, ManifestError, TensorSpec, parse_manifest_key
from lepton_serving.registry import Attempt, LivePointer
from lepton_serving.store import ModelStore

from deployer import gate
from deployer.canary import canary_health
from deployer.config import MAX_SQS_DELAY, DeployerConfig
from deployer.errors import Rejected, Retry, Skipped
from deployer.events import CanaryCheck, Message, Upload
from deployer.idempotency import run_once
from deployer.telemetry import decision, logger, stage_latencies

EXPECTED_SIGNATURE_ENV = "LEPTON_EXPECTED_SIGNATURE"


class Deployer:
    def __init__(self, config: DeployerConfig, wait: rollout.UpdateWaiter | None = None):
        self.config = config
        self.wait = wait  # None: Lambda's function_updated_v2 waiter
        self.store = ModelStore()

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
            return {"outcome": "ignored", "key": upload.key}
        result = run_once(self.config.table, self.config.idempotency_ttl_seconds, context, upload.identity(),
                          lambda: self.deploy(upload, model, version))
        if result.get("duplicate"):
            logger.info("duplicate delivery: already processed", extra={**upload.identity(), **result})
        return result

    # -- one upload --------------------------------------------------------------------------
    def deploy(self, upload: Upload, model: str, version: int) -> dict[str, Any]:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        attempt = Attempt(model, version, "failed", "", actor="upload", source=upload.source())
        try:
            attempt.function_name = self._check_target(upload, model)
            manifest = self._timed(timings, "manifest", self._read_manifest, upload)
            gate.check_identity(manifest, model, version)
            pointer = registry.get_live(model)
            if pointer and version <= pointer.newest_version:
                raise Skipped(f"version {version} is not newer than version {pointer.newest_version} "
                              f"({'in canary' if pointer.canary else 'live'}); an upload never moves a model "
                              "backwards, use rollback")
            limits = gate.Limits(self.config.max_model_bytes, self.config.max_load_ms,
                                 self.config.minimums_for(model))
            gate.check_metrics(manifest, limits.min_metrics)
            gate.check_declared_size(manifest, limits)
            function_env = self._function_env(attempt.function_name)
            self._check_bucket(upload, function_env, attempt.function_name)
            gate.check_expected_signature(manifest, self._expectation(pointer, function_env, attempt.function_name))
            data = self._timed(timings, "download", self._read_model, upload.bucket, manifest)
            report = gate.validate(manifest, data, limits)
            timings.update(report.timings_ms)
            candidate = rollout.Candidate(model, version, upload.bucket, manifest.model_key, manifest.sha256)
            move = self._timed(timings, "promote", rollout.promote, candidate, attempt.function_name,
                               canary_weight=self.config.canary_weight,
                               bake_seconds=self.config.canary_bake_seconds, wait=self.wait)
            attempt.outcome, attempt.function_version = move.outcome, move.release.function_version
            attempt.reason = self._promotion_reason(move, report)
            if move.outcome == "canary":
                self._schedule_canary_check(CanaryCheck(model, version))
        except Rejected as exc:
            attempt.outcome, attempt.reason, attempt.check = "rejected", exc.message, exc.check
        except Skipped as exc:
            attempt.outcome, attempt.reason = "skipped", exc.message
        except rollout.RolloutError as exc:
            attempt.outcome, attempt.reason = exc.outcome, exc.message
        except (LeptonError, ClientError, BotoCoreError) as exc:
            attempt.outcome, attempt.reason = "failed", getattr(exc, "message", None) or str(exc)
        timings["total"] = round((time.perf_counter() - started) * 1000.0, 3)
        attempt.timings_ms = timings
        return self._finish(attempt)

    def _finish(self, attempt: Attempt) -> dict[str, Any]:
        decision(attempt.outcome, attempt.model, attempt.check)
        stage_latencies(attempt.timings_ms)
        log = logger.warning if attempt.outcome in ("rejected", "failed") else logger.info
        log(f"{attempt.model} v{attempt.version}: {attempt.outcome}", extra={"deployment": attempt.to_dict()})
        registry.record_attempt(attempt, self.config.table)
        if attempt.outcome == "failed":
            raise Retry(f"{attempt.model} v{attempt.version}: {attempt.reason}")
        return {"outcome": attempt.outcome, "reason": attempt.reason, "model": attempt.model,
                "version": attempt.version, "function_version": attempt.function_version,
                "attempt_id": attempt.attempt_id}

    # -- canary ----------------------------------------------------------------------------------
    def check_canary(self, check: CanaryCheck) -> dict[str, Any]:
        pointer = registry.get_live(check.model)
        canary = pointer.canary if pointer else None
        if canary is None or canary.release.version != check.version:
            logger.info("canary check: nothing to do", extra={"model": check.model, "version": check.version})
            return {"outcome": "ignored", "model": check.model, "version": check.version}
        remaining = _seconds_until(canary.promote_after)
        if remaining > 0:  # bake time longer than one SQS delay: wait again
            self._schedule_canary_check(check, delay=remaining)
            return {"outcome": "waiting", "model": check.model, "version": check.version}
        health = canary_health(pointer.function_name, canary.release.function_version, canary.started_at)
        try:
            if health.error_rate > self.config.canary_max_error_rate:
                attempt = rollout.abort_canary(
                    check.model, f"canary check failed: {health.describe()}, above the "
                                 f"{self.config.canary_max_error_rate:.1%} limit", check.version)
            else:
                attempt = rollout.promote_canary(
                    check.model, check.version,
                    reason=f"canary check passed: {health.describe()}; version {check.version} now serves all traffic")
        except rollout.NothingToDo as exc:
            logger.info("canary check: nothing to do", extra={"model": check.model, "reason": exc.message})
            return {"outcome": "ignored", "model": check.model, "reason": exc.message}
        decision(attempt.outcome, attempt.model)
        logger.info(f"{attempt.model} v{attempt.version}: {attempt.outcome}", extra={"deployment": attempt.to_dict()})
        return {"outcome": attempt.outcome, "reason": attempt.reason, "model": attempt.model,
                "version": attempt.version, "function_version": attempt.function_version}

    def _schedule_canary_check(self, check: CanaryCheck, delay: float | None = None) -> None:
        """A delayed message to our own queue; losing it only means promoting by hand."""
        if not self.config.queue_url:
            logger.info("canary started; promote it with `lepton promote`", extra={"model": check.model})
            return
        seconds = int(min(MAX_SQS_DELAY, max(0, delay if delay is not None else self.config.canary_bake_seconds)))
        try:
            sqs = clients.client("sqs")
            url = self.config.queue_url
            if "://" not in url:  # a queue name (what a local template resolver may give for !Ref)
                url = sqs.get_queue_url(QueueName=url)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=check.to_body(), DelaySeconds=seconds)
        except (ClientError, BotoCoreError) as exc:
            logger.error("canary check not scheduled; promote or roll back by hand",
                         extra={"model": check.model, "version": check.version, "reason": str(exc)})

    # -- steps --------------------------------------------------------------------------------------
    def _check_target(self, upload: Upload, model: str) -> str:
        if self.config.bucket and upload.bucket != self.config.bucket:
            raise Rejected("bucket", f"uploads are accepted from bucket {self.config.bucket}, not {upload.bucket}")
        return self.config.function_for(model)

    def _read_manifest(self, upload: Upload) -> Manifest:
        try:
            return self.store.read_manifest(upload.bucket, upload.key)
        except ModelIntegrityError as exc:
            raise Rejected("manifest", exc.message) from exc
        except ModelNotReady as exc:
            raise Rejected("manifest", f"the manifest cannot be read: {exc.message}") from exc

    def _read_model(self, bucket: str, manifest: Manifest) -> bytes:
        try:
            obj = clients.client("s3").get_object(Bucket=bucket, Key=manifest.model_key)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise Rejected("model_file", f"s3://{bucket}/{manifest.model_key} does not exist; upload the model "
                                             "before its manifest") from exc
            raise
        if int(obj.get("ContentLength", 0)) > self.config.max_model_bytes:
            raise Rejected("size", f"the model is {obj['ContentLength']:,} bytes; the budget is "
                                   f"{self.config.max_model_bytes:,} bytes")
        return obj["Body"].read()

    def _function_env(self, function_name: str) -> dict[str, str]:
        config = clients.client("lambda").get_function_configuration(FunctionName=function_name)
        return dict((config.get("Environment") or {}).get("Variables") or {})

    @staticmethod
    def _check_bucket(upload: Upload, env: dict[str, str], function_name: str) -> None:
        served = env.get("LEPTON_MODEL_BUCKET")
        if served and served != upload.bucket:
            raise Rejected("bucket", f"{function_name} serves models from bucket {served}, not {upload.bucket}")

    def _expectation(self, pointer: LivePointer | None, env: dict[str, str],
                     function_name: str) -> gate.Expectation | None:
        if pointer is not None:
            live = pointer.live
            manifest_key = live.model_key.rsplit("/", 1)[0] + "/manifest.json"
            try:
                live_manifest = self.store.read_manifest(live.bucket, manifest_key)
            except (ModelIntegrityError, ModelNotReady) as exc:
                raise Retry(f"cannot read the live version's manifest to compare signatures: {exc.message}") from exc
            return gate.Expectation(live_manifest.inputs, live_manifest.outputs,
                                    f"the live version {live.version}")
        raw = env.get(EXPECTED_SIGNATURE_ENV, "")
        if not raw:
            return None  # a model's first version: only its own consistency is checked
        try:
            parsed = json.loads(raw)
            return gate.Expectation([TensorSpec.from_dict(t) for t in parsed["inputs"]],
                                    [TensorSpec.from_dict(t) for t in parsed["outputs"]],
                                    f"{EXPECTED_SIGNATURE_ENV} of {function_name}")
        except (ValueError, KeyError, TypeError, ManifestError) as exc:
            raise Rejected("signature", f"{EXPECTED_SIGNATURE_ENV} of {function_name} is not "
                                        '{"inputs": [...], "outputs": [...]}: ' + str(exc)) from exc

    @staticmethod
    def _promotion_reason(move: rollout.Move, report: gate.GateReport) -> str:
        checks = (f"all checks passed (load {report.load_ms:.0f} ms, {report.golden_examples} golden example(s), "
                  f"max error {report.golden_max_error:.2g})")
        was = f" (was version {move.previous.version})" if move.previous else ""
        if move.outcome == "canary":
            return f"{checks}; canary at {move.weight:.0%} of traffic beside version {move.previous.version}" \
                if move.previous else checks
        return f"{checks}; live as function version {move.release.function_version}{was}"

    @staticmethod
    def _timed(timings: dict[str, float], stage: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[stage] = round((time.perf_counter() - started) * 1000.0, 3)


def _seconds_until(iso: str) -> float:
    moment = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()
