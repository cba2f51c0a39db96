"""Lambda's Invoke API for published function versions, answered by the local stack.

The deployer calls versions the one way it does in AWS: ``invoke(FunctionName=, Qualifier=,
Payload=, LogType="Tail")`` through lepton_deploy's invoker, and reads the REPORT line in the
``LogResult`` (lepton_deploy/report_line.py). moto cannot run code, so this object answers
those calls instead: the version's handler runs in this process (FunctionHost, configured from
the version's own configuration, its model layer mounted), and the answer comes back in
Invoke's shape: StatusCode, ExecutedVersion, Payload, FunctionError when the handler raised,
and with ``LogType="Tail"`` a log tail ending in a REPORT line built from real measurements:

- the first call of a version, and the first after it was idle ``idle_seconds`` (as Lambda
  reclaims idle environments), is a cold start: the version is also started in a fresh process
  of its own (cold_start.py) with the same event, and that process's init duration, first
  duration and peak memory are the line's figures;
- later calls are warm: their duration is the in-process call's; max memory is that fresh
  process's peak, the environment's, as Lambda reports it on every line.

Durations are CPU time, the wall time beside them in the sources: on this shared machine wall
time counts other processes' work, which a Lambda environment never shares (cold_start.py has
the measurements). The in-process call's is its thread's CPU time.

A ``LEPTON-LOCAL`` line before the REPORT line says which figure was measured how, so a
receipt says where each of its figures came from. The function's own log lines are not in the
tail (they go to the stack's function log, as ever).
"""
from __future__ import annotations

import base64
import io
import json
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from lepton_deploy.functions import LambdaFunctions
from lepton_deploy.pricing import billed_ms
from lepton_deploy.report_line import InvokeReport, local_line

from .cold_start import ColdStart, FreshProcess
from .function_host import FunctionHost

#: A version not called for this long is measured cold again on its next call. Lambda keeps an
#: idle environment for minutes; the local stack re-measures sooner, so a deployment a minute
#: after the last one measures the live version's cold start beside the new one's.
IDLE_SECONDS = 60.0
TAIL_BYTES = 4096


@dataclass
class _Environment:
    cold: ColdStart
    used_at: float


class LocalLambda:
    def __init__(self, host: FunctionHost, functions: LambdaFunctions, idle_seconds: float = IDLE_SECONDS,
                 fresh_processes: bool = True):
        """``fresh_processes`` False: no cold start is measured (init and memory are reported as
        not measured, and why); for test harnesses that deploy many versions and read none."""
        self.host = host
        self.functions = functions
        self.idle_seconds = idle_seconds
        self.fresh_processes = fresh_processes
        self._configs: dict[tuple[str, str], dict[str, Any]] = {}
        self._environments: dict[tuple[str, str], _Environment] = {}
        self._lock = threading.Lock()

    def invoke(self, *, FunctionName: str, Qualifier: str = "$LATEST",  # noqa: N803 - boto3's names
               InvocationType: str = "RequestResponse", Payload: bytes | str = b"{}",
               LogType: str = "None", **_: Any) -> dict[str, Any]:
        if InvocationType != "RequestResponse":
            raise ValueError(f"the local stack answers RequestResponse invocations only, not {InvocationType}")
        logical_id = self.host.logical_id(FunctionName)
        spec = self.host.spec(logical_id)
        config = self._config(FunctionName, Qualifier)
        event = json.loads(Payload or b"{}")
        tail = LogType == "Tail"
        fresh = self._fresh_process(FunctionName, Qualifier, logical_id, config, event) \
            if tail and self.fresh_processes else None
        started, started_cpu = time.perf_counter(), time.thread_time()
        error = None
        try:
            payload = self.host.invoke(logical_id, event, env=config["environment"], version=Qualifier)
        except Exception as exc:  # noqa: BLE001 - Lambda answers a handler's exception as FunctionError
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                     "stackTrace": traceback.format_exc(limit=5).splitlines()}
            payload = error
        cpu_ms, wall_ms = (time.thread_time() - started_cpu) * 1000.0, (time.perf_counter() - started) * 1000.0
        answer: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": Qualifier,
                                  "Payload": io.BytesIO(json.dumps(payload).encode())}
        if error is not None:
            answer["FunctionError"] = "Unhandled"
        if tail:
            memory_mb = int(config.get("memory_mb") or spec.memory_mb)
            report = self._report(FunctionName, Qualifier, fresh, cpu_ms, wall_ms, memory_mb)
            answer["LogResult"] = base64.b64encode(report.encode()[-TAIL_BYTES:]).decode()
        return answer

    # -- pieces -----------------------------------------------------------------------------------
    def _config(self, function_name: str, qualifier: str) -> dict[str, Any]:
        """A published version's configuration never changes: read once (a call to the local AWS)."""
        key = (function_name, qualifier)
        found = self._configs.get(key)
        if found is None:
            config = self.functions.config(function_name, qualifier)
            found = {"environment": config.environment, "memory_mb": config.memory_mb}
            if qualifier != "$LATEST":
                self._configs[key] = found
        return found

    def _fresh_process(self, function_name: str, qualifier: str, logical_id: str, config: dict[str, Any],
                       event: dict[str, Any]) -> FreshProcess | None:
        """A fresh process of the version when its environment is new or was idle too long."""
        key = (function_name, qualifier)
        with self._lock:
            known = self._environments.get(key)
            if known is not None and time.monotonic() - known.used_at < self.idle_seconds:
                known.used_at = time.monotonic()
                return None
            self._environments.pop(key, None)
        overrides = {**config["environment"], "AWS_LAMBDA_FUNCTION_VERSION": qualifier}
        if self.host.mounts is not None and qualifier != "$LATEST":
            overrides.update(self.host.mounts(function_name, qualifier))
        env = self.host.environment(logical_id, overrides)
        return FreshProcess(self.host.spec(logical_id), function_name, qualifier, env, event)

    def _report(self, function_name: str, qualifier: str, fresh: FreshProcess | None, cpu_ms: float,
                wall_ms: float, memory_mb: int) -> str:
        key = (function_name, qualifier)
        request_id = str(uuid.uuid4())
        in_process = f"CPU time of the call in the local stack's process (wall {wall_ms:.2f} ms)"
        if fresh is not None:
            cold = fresh.result()
            with self._lock:
                self._environments[key] = _Environment(cold, time.monotonic())
            where = f"a fresh process of version {qualifier} (pid {cold.pid})"
            if cold.ok:
                assert cold.init_ms is not None and cold.duration_ms is not None
                sources = {"init": f"{where}: CPU time from spawn to handler imported (wall {cold.init_wall_ms:.0f} ms)",
                           "duration": f"{where}: CPU time of its first call (wall {cold.duration_wall_ms:.2f} ms)",
                           "memory": f"{where}: peak resident memory"}
                report = InvokeReport(request_id, cold.duration_ms, billed_ms(cold.init_ms + cold.duration_ms),
                                      memory_mb, cold.max_memory_mb, init_ms=cold.init_ms)
            else:
                why = f"not measured: {where} failed ({cold.error})"
                sources = {"init": why, "memory": why, "duration": in_process}
                report = InvokeReport(request_id, cpu_ms, billed_ms(cpu_ms), memory_mb, None)
        else:
            env = self._environments.get(key)
            peak = env.cold.max_memory_mb if env is not None and env.cold.ok else None
            unmeasured = ("not measured: this stand-in starts no fresh process" if not self.fresh_processes
                          else "not measured")
            sources = {"duration": in_process,
                       "memory": (f"the fresh process of version {qualifier} (pid {env.cold.pid}): peak resident "
                                  f"memory at its cold start") if peak is not None else unmeasured}
            if not self.fresh_processes:
                sources["init"] = unmeasured
            report = InvokeReport(request_id, cpu_ms, billed_ms(cpu_ms), memory_mb, peak)
        return "\n".join([f"START RequestId: {request_id} Version: {qualifier}", local_line(sources),
                          f"END RequestId: {request_id}", report.line(), ""])

