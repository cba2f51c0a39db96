"""Batch-scoring jobs: one Step Functions execution of the batch state machine per job.

Starting a job pins the model function's live version (the `live` alias's primary version, not a
canary) into the execution's input, as a qualified function ARN the Distributed Map invokes for
every batch: promotions and rollbacks during the job change nothing for it. The job's id is the
execution's name; its status and progress are the execution's and its map run's.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from lepton_deploy.functions import LambdaFunctions
from lepton_serving.bucket import ModelBucket
from lepton_serving.clients import error_code, error_message
from lepton_serving.errors import InvalidRequest, ModelNotReady, NotFound, UpstreamFailure

from control.schemas import (BatchCounts, BatchInputRequest, BatchInputUpload, BatchJobOut, BatchJobRequest,
                             BatchJobsResponse, PresignedUpload)
from control.settings import Settings

DEFAULT_BATCH_SIZE = 64  # lepton_serving's batch limit when the function sets no LEPTON_MAX_BATCH
#: Rows one invocation may take, in model batch limits: the function scores them a limit at a time,
#: and fewer, larger batches pay fewer per-batch charges (docs/scale.md).
MAX_LIMITS_PER_BATCH = 16
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
JOBS_PREFIX = "jobs/"
STAGED_PREFIX = "staged/"


class BatchUnavailable(ModelNotReady):
    """This stack cannot run batch jobs (503): none configured, or the local stack cannot run them."""


class BatchJobs:
    def __init__(self, settings: Settings, functions: LambdaFunctions, stepfunctions: Any, bucket: ModelBucket):
        """``bucket``: the batch bucket, for presigned uploads of inputs."""
        self.settings = settings
        self.functions = functions
        self.sfn = stepfunctions
        self.bucket = bucket

    # -- start --------------------------------------------------------------------------------
    def start(self, model: str, request: BatchJobRequest) -> BatchJobOut:
        machine = self._machine()
        function = self.settings.function_for(model)
        if function is None:
            raise NotFound(f"no model '{model}'; models: {', '.join(sorted(self.settings.functions))}")
        bucket, key = _split_uri(request.input)
        if bucket != self.settings.batch_bucket:
            raise InvalidRequest(f"the input must be in this stack's batch bucket, s3://{self.settings.batch_bucket}/ "
                                 f"(the state machine may read only there); copy {request.input} there first")
        fmt = request.format or FORMATS.get(_suffix(key))
        if fmt is None:
            raise InvalidRequest(f"cannot tell the format of {key}: name it .jsonl or .csv, or pass format")
        alias = self.functions.alias(function)  # the primary version: a canary's share is not pinned
        pinned = self.functions.config(function, alias.version)
        limit = _int(pinned.environment.get("LEPTON_MAX_BATCH"), DEFAULT_BATCH_SIZE)
        batch_size = min(request.batch_size or limit, limit * MAX_LIMITS_PER_BATCH)
        concurrency = min(request.max_concurrency or self.settings.batch_max_concurrency,
                          self.settings.batch_max_concurrency)
        job = f"{model}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        prefix = f"{JOBS_PREFIX}{job}/"
        document = {
            "job": job, "model": model, "model_version": pinned.pins.version, "function_version": alias.version,
            "function": f"{_function_arn(machine, function)}:{alias.version}",
            "input": {"bucket": bucket, "key": key, "format": fmt},
            "output": {"bucket": bucket, "prefix": prefix, "rows": f"{prefix}rows/", "results": f"{prefix}results"},
            "batch_size": batch_size,
            "limits": {"max_concurrency": concurrency,
                       "tolerated_failure_percentage": self.settings.batch_tolerated_failure_percentage},
        }
        with _aws("start the batch job"):
            started = self.sfn.start_execution(stateMachineArn=machine, name=job, input=json.dumps(document))
        return _job(document, {"status": "RUNNING", "executionArn": started["executionArn"],
                               "startDate": started.get("startDate")})

    def stage_input(self, request: BatchInputRequest) -> BatchInputUpload:
        """A presigned upload for a local file of rows, and the URI to start the job with."""
        self._machine()
        key = f"{STAGED_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}/{request.filename}"
        url, fields = self.bucket.presign_post(key, self.settings.upload_url_seconds, 5 * 1024**3)
        return BatchInputUpload(input=f"s3://{self.bucket.name}/{key}",
                                upload=PresignedUpload(file=request.filename, key=key, url=url, fields=fields,
                                                       max_bytes=5 * 1024**3))

    # -- watch ----------------------------------------------------------------------------------
    def get(self, job: str) -> BatchJobOut:
        arn = self._execution_arn(job)
        with _aws(f"read batch job {job}", missing=f"no batch job '{job}'"):
            execution = self.sfn.describe_execution(executionArn=arn)
            runs = self.sfn.list_map_runs(executionArn=arn).get("mapRuns") or []
            counts = self.sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])["itemCounts"] if runs else None
        return _job(json.loads(execution.get("input") or "{}"), execution, counts)

    def list(self, limit: int) -> BatchJobsResponse:
        machine = self._machine()
        with _aws("list batch jobs"):
            executions = self.sfn.list_executions(stateMachineArn=machine, maxResults=limit).get("executions") or []
        return BatchJobsResponse(jobs=[self.get(e["name"]) for e in executions])

    def cancel(self, job: str, caller: str) -> BatchJobOut:
        with _aws(f"cancel batch job {job}", missing=f"no batch job '{job}'"):
            self.sfn.stop_execution(executionArn=self._execution_arn(job), error="Lepton.Cancelled",
                                    cause=f"cancelled by {caller}"[:250])
        return self.get(job)

    # -- helpers --------------------------------------------------------------------------------
    def _machine(self) -> str:
        if self.settings.batch_unavailable:
            raise BatchUnavailable(f"batch jobs cannot run on this stack: {self.settings.batch_unavailable}")
        if not self.settings.batch_state_machine or not self.settings.batch_bucket:
            raise BatchUnavailable("batch jobs are not configured on this stack (LEPTON_BATCH_STATE_MACHINE, "
                                   "LEPTON_BATCH_BUCKET)")
        return self.settings.batch_state_machine

    def _execution_arn(self, job: str) -> str:
        if not job or len(job) > 80 or not all(c.isalnum() or c in "-_" for c in job):
            raise InvalidRequest(f"'{job[:90]}' is not a batch job id")
        # arn:aws:states:<region>:<account>:stateMachine:<name> -> ...:execution:<name>:<job>
        return self._machine().replace(":stateMachine:", ":execution:", 1) + f":{job}"


def _job(document: dict[str, Any], execution: dict[str, Any], counts: dict[str, Any] | None = None) -> BatchJobOut:
    output = document.get("output") or {}
    source = document.get("input") or {}
    error = " ".join(str(execution.get(k) or "") for k in ("error", "cause")).strip()
    return BatchJobOut(
        job=str(document.get("job", "")), model=str(document.get("model", "")),
        model_version=str(document.get("model_version", "")), function_version=str(document.get("function_version", "")),
        status=str(execution.get("status", "")), format=str(source.get("format", "")),
        input=f"s3://{source.get('bucket', '')}/{source.get('key', '')}",
        output=f"s3://{output.get('bucket', '')}/{output.get('prefix', '')}",
        batch_size=int(document.get("batch_size", 0)),
        max_concurrency=int((document.get("limits") or {}).get("max_concurrency", 0)),
        started_at=_when(execution.get("startDate")), stopped_at=_when(execution.get("stopDate")),
        counts=BatchCounts(read=int(counts.get("total", 0)), scored=int(counts.get("succeeded", 0)),
                           failed=int(counts.get("failed", 0)) + int(counts.get("timedOut", 0))
                           + int(counts.get("aborted", 0)),
                           pending=int(counts.get("pending", 0)), running=int(counts.get("running", 0)))
        if counts else None,
        error=error, execution_arn=str(execution.get("executionArn", "")))


def _function_arn(machine: str, function: str) -> str:
    """The function's ARN, in the state machine's partition, region and account."""
    if function.startswith("arn:"):
        return function
    partition, region, account = machine.split(":")[1], machine.split(":")[3], machine.split(":")[4]
    return f"arn:{partition}:lambda:{region}:{account}:function:{function}"


def _split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _suffix(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name[name.rfind("."):].lower() if "." in name else ""


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value or "")


@contextmanager
def _aws(what: str, missing: str = "") -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        if missing and error_code(exc) in ("ExecutionDoesNotExist", "StateMachineDoesNotExist"):
            raise NotFound(missing) from exc
        raise UpstreamFailure(f"could not {what}: {error_message(exc)}") from exc
    except BotoCoreError as exc:
        raise UpstreamFailure(f"could not {what}: {exc}") from exc
