"""Lambda's Invoke API for published function versions, answered by the local stack.

The deployer calls versions the one way it does in AWS: ``invoke(FunctionName=, Qualifier=,
Payload=, LogType="Tail")`` through lepton_deploy's invoker, and reads the REPORT line in the
``LogResult`` (lepton_deploy/report_line.py). moto cannot run code, so this object answers those
calls instead, in Invoke's shape: StatusCode, ExecutedVersion, Payload, FunctionError when the
handler raised, and with ``LogType="Tail"`` a log tail ending in a REPORT line built from real
measurements.

Each version is called in an execution environment of its own (execution_environment.py), a
process started for it with its code and layers, its configuration and its model layer mounted:

- the first call of a version, and the first after it was idle ``idle_seconds`` (as Lambda
  reclaims idle environments), starts one: a cold start, whose line carries the init;
- later calls are warm; every line carries that process's peak memory, as Lambda's does.

A ``LEPTON-LOCAL`` line before the REPORT line says which figure was measured how (durations
are CPU time: execution_environment.py says why), so a receipt says where each of its figures came from.
The function's own output goes to the stack's function log, as its API calls' output does.

With ``fresh_processes`` off (test harnesses that deploy many versions and read none of their
cold starts) a version is called in this process, through the host that serves the API,
and its REPORT line says init and memory were not measured.
"""
from __future__ import annotations

import base64
import io
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from lepton_deploy.functions import LambdaFunctions
from lepton_deploy.pricing import billed_ms
from lepton_deploy.report_line import InvokeReport, local_line

from .execution_environment import EnvironmentFailed, ExecutionEnvironment
from .template import FunctionSpec

#: A version not called for this long gets a new environment (a cold start) on its next call.
#: Lambda keeps an idle environment for minutes; locally a minute, so a deployment a minute after
#: the last one measures the live version's cold start beside the new one's.
IDLE_SECONDS = 60.0
#: Environments kept at most (each is a Python process with onnxruntime, a few hundred MB).
MAX_ENVIRONMENTS = 4
TAIL_BYTES = 4096


class Host(Protocol):
    """What runs the template's functions in this process (function_host.FunctionHost, which
    builds its LocalLambda: the host is named by its shape, so neither module imports the other)."""

    physical_names: dict[str, str]

    def spec(self, logical_id: str) -> FunctionSpec: ...

    def logical_id(self, function_name: str) -> str: ...

    def version_environment(self, logical_id: str, env: Mapping[str, str] | None,
                            version: str | None) -> dict[str, str]: ...

    def invoke(self, logical_id: str, event: dict[str, Any], env: Mapping[str, str] | None = None,
               version: str = "$LATEST") -> Any: ...


class LocalLambda:
    def __init__(self, host: Host, functions: LambdaFunctions, idle_seconds: float = IDLE_SECONDS,
                 fresh_processes: bool = True):
        self.host = host
        self.functions = functions
        self.idle_seconds = idle_seconds
        self.fresh_processes = fresh_processes
        self._configs: dict[tuple[str, str], dict[str, Any]] = {}
        self._environments: dict[tuple[str, str], ExecutionEnvironment] = {}
        self._lock = threading.Lock()

    def invoke(self, *, FunctionName: str, Qualifier: str = "$LATEST",  # noqa: N803 - boto3's names
               InvocationType: str = "RequestResponse", Payload: bytes | str = b"{}",
               LogType: str = "None", **_: Any) -> dict[str, Any]:
        if InvocationType != "RequestResponse":
            raise ValueError(f"the local stack answers RequestResponse invocations only, not {InvocationType}")
        event = json.loads(Payload or b"{}")
        config = self._config(FunctionName, Qualifier)
        if self.fresh_processes:
            payload, error, report = self._in_environment(FunctionName, Qualifier, config, event)
        else:
            payload, error, report = self._in_process(FunctionName, Qualifier, config, event)
        answer: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": Qualifier,
                                  "Payload": io.BytesIO(json.dumps(payload).encode())}
        if error:
            answer["FunctionError"] = "Unhandled"
        if LogType == "Tail":
            answer["LogResult"] = base64.b64encode(report.encode()[-TAIL_BYTES:]).decode()
        return answer

    # -- as the local AWS's Invoke route runs it (lambda_invoke.py: the aws CLI, moto's Step Functions)
    def hosts(self, function_name: str) -> bool:
        return function_name in self.host.physical_names.values()

    def run(self, function_name: str, qualifier: str, event: dict[str, Any]) -> tuple[str, Any]:
        """The version ``qualifier`` names (a number, an alias, or $LATEST) run on ``event`` in this
        process, as the API serves it: callers' work, not the deployer's measurements."""
        if qualifier != "$LATEST" and not qualifier.isdigit():
            qualifier = self.functions.alias(function_name, qualifier).version
        config = self._config(function_name, qualifier)
        return qualifier, self.host.invoke(self.host.logical_id(function_name), event, env=config["environment"],
                                           version=qualifier)

    def close(self) -> None:
        """End every environment (the stack stops)."""
        with self._lock:
            environments, self._environments = list(self._environments.values()), {}
        for environment in environments:
            environment.close()

    # -- where a call runs --------------------------------------------------------------------------
    def _in_environment(self, function_name: str, qualifier: str, config: dict[str, Any],
                        event: dict[str, Any]) -> tuple[Any, bool, str]:
        try:
            environment, cold = self._environment(function_name, qualifier, config)
            call = environment.call(event)
        except EnvironmentFailed as exc:
            self._drop(function_name, qualifier)
            # the version cannot run in a fresh process (its init failed): answered as Lambda does
            error = {"errorMessage": str(exc), "errorType": "Runtime.InitError"}
            return error, True, self._lines(qualifier, InvokeReport(
                str(uuid.uuid4()), 0.0, 1, self._memory(function_name, config), None),
                {"init": f"not measured: {exc}", "memory": f"not measured: {exc}"})
        assert environment.init is not None
        where = f"the environment of function version {qualifier} (pid {environment.init.pid})"
        sources = {"duration": f"{where}: CPU time of the call (wall {call.wall_ms:.2f} ms)",
                   "memory": f"{where}: peak resident memory so far"}
        init = None
        if cold:
            init = environment.init.cpu_ms
            sources["init"] = (f"{where}, a fresh process: CPU time from spawn to handler imported "
                               f"(wall {environment.init.wall_ms:.0f} ms)")
        billed = billed_ms(call.cpu_ms + (init or 0.0))  # INIT is billed with the first call (zip, since 2025-08)
        report = InvokeReport(str(uuid.uuid4()), call.cpu_ms, billed, self._memory(function_name, config),
                              call.max_memory_mb, init_ms=init)
        return call.response, call.error, self._lines(qualifier, report, sources)

    def _in_process(self, function_name: str, qualifier: str, config: dict[str, Any],
                    event: dict[str, Any]) -> tuple[Any, bool, str]:
        logical_id = self.host.logical_id(function_name)
        started, started_cpu = time.perf_counter(), time.thread_time()
        error = False
        try:
            payload = self.host.invoke(logical_id, event, env=config["environment"], version=qualifier)
        except Exception as exc:  # noqa: BLE001 - Lambda answers a handler's exception as FunctionError
            payload, error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                              "stackTrace": traceback.format_exc(limit=5).splitlines()}, True
        cpu_ms, wall_ms = (time.thread_time() - started_cpu) * 1000.0, (time.perf_counter() - started) * 1000.0
        unmeasured = "not measured: this stand-in starts no process per version"
        report = InvokeReport(str(uuid.uuid4()), cpu_ms, billed_ms(cpu_ms), self._memory(function_name, config), None)
        return payload, error, self._lines(qualifier, report, {
            "duration": f"CPU time of the call in the local stack's process (wall {wall_ms:.2f} ms)",
            "init": unmeasured, "memory": unmeasured})

    # -- environments ---------------------------------------------------------------------------------
    def _environment(self, function_name: str, qualifier: str,
                     config: dict[str, Any]) -> tuple[ExecutionEnvironment, bool]:
        """The version's environment, and whether it was started for this call (a cold start)."""
        key = (function_name, qualifier)
        now = time.monotonic()
        with self._lock:
            stale = [k for k, e in self._environments.items() if now - e.used_at >= self.idle_seconds or not e.alive]
            retired = [self._environments.pop(k) for k in stale]
            known = self._environments.get(key)
        for environment in retired:
            environment.close()
        if known is not None:
            return known, False
        logical_id = self.host.logical_id(function_name)
        environment = ExecutionEnvironment(self.host.spec(logical_id), function_name, qualifier,
                                           self.host.version_environment(logical_id, config["environment"], qualifier),
                                           log=sys.stdout)
        environment.start()
        with self._lock:
            self._environments[key] = environment
            oldest = sorted(self._environments.items(), key=lambda kv: kv[1].used_at)
            evicted = [self._environments.pop(k) for k, _ in oldest[:max(0, len(oldest) - MAX_ENVIRONMENTS)]]
        for old in evicted:
            old.close()
        return environment, True

    def _drop(self, function_name: str, qualifier: str) -> None:
        with self._lock:
            environment = self._environments.pop((function_name, qualifier), None)
        if environment is not None:
            environment.close()

    # -- pieces ---------------------------------------------------------------------------------------
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

    def _memory(self, function_name: str, config: dict[str, Any]) -> int:
        return int(config.get("memory_mb") or self.host.spec(self.host.logical_id(function_name)).memory_mb)

    @staticmethod
    def _lines(qualifier: str, report: InvokeReport, sources: dict[str, str]) -> str:
        return "\n".join([f"START RequestId: {report.request_id} Version: {qualifier}", local_line(sources),
                          f"END RequestId: {report.request_id}", report.line(), ""])
