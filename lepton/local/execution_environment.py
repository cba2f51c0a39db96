"""A function version's execution environment: a process of its own (bootstrap.py), as Lambda
gives each version environments of their own.

The local stack serves the API from its own process, where a version's handler, once
configured, stays warm and shares the process (its threads, its memory, its log writes) with
everything else the stack runs. The deployer's calls of a published version go to an
environment instead (lambda_api.py): a process started for that version with its code and
layers, its environment and its model layer mounted, that imports the handler (its init) and
answers one call at a time. Its init, each call's duration and its peak memory are what the
REPORT lines say, as Lambda measures them in its environments.

Durations are CPU time (user + system), the wall time kept beside them. This machine is shared:
a fresh process's wall-clock init measured 515 to 3,213 ms for the same version as other
processes came and went, its CPU time 199 to 228 ms. A Lambda environment has its CPU share to
itself, so CPU time is the closer model of what Lambda would report, and the only one two
versions measured a few seconds apart can be compared on.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .template import FunctionSpec

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
#: What the process gets of this one's environment besides the version's own (Lambda sets its own).
RUNTIME_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "LD_LIBRARY_PATH")
#: What Lambda's runtime sets in every environment. The runtime API address is a placeholder
#: (nothing here calls it); its presence is how a handler knows it runs in Lambda and loads its
#: model during init, as lepton_serving's serve() does.
LAMBDA_RUNTIME = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                  "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}
#: Lambda's limit on an on-demand init phase.
INIT_LIMIT_S = 10.0


class EnvironmentFailed(Exception):
    """The environment could not start (an init error) or stopped answering."""


@dataclass(frozen=True)
class Init:
    pid: int
    cpu_ms: float
    wall_ms: float
    max_memory_mb: int


@dataclass(frozen=True)
class Call:
    response: Any  # the handler's return value (or Lambda's error payload when ``error``)
    error: bool
    cpu_ms: float
    wall_ms: float
    max_memory_mb: int


class ExecutionEnvironment:
    """One version's process; `start` runs its init, `call` one invocation at a time."""

    def __init__(self, spec: FunctionSpec, function_name: str, version: str, env: dict[str, str],
                 log: IO[str] | None = None, python: str = sys.executable):
        """``log``: where the function's own output goes (the stack's function log), line by line."""
        self.spec, self.function_name, self.version = spec, function_name, version
        self.used_at = time.monotonic()
        self._lock = threading.Lock()
        runtime = {k: os.environ[k] for k in RUNTIME_KEYS if k in os.environ}
        spawned = time.monotonic_ns()
        # -I: no user site, no PYTHON* variables, no script folder on sys.path (bootstrap.py's
        # neighbours are this package's modules, not the function's).
        self.process = subprocess.Popen([python, "-I", str(BOOTSTRAP)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env={**runtime, **env, **LAMBDA_RUNTIME}, text=True, bufsize=1)
        self._forward = threading.Thread(target=_forward, args=(self.process.stderr, log), daemon=True)
        self._forward.start()
        self._send({"paths": [str(spec.code_uri), *map(str, spec.layers)], "handler": spec.handler,
                    "function_name": function_name, "version": version, "memory_mb": spec.memory_mb,
                    "timeout_s": spec.timeout_s, "region": env.get("AWS_REGION", "us-east-1"),
                    "spawned_ns": spawned})
        self.init: Init | None = None

    def start(self) -> Init:
        """Wait for the init phase; EnvironmentFailed (and the process ended) if it fails."""
        ready = self._receive(INIT_LIMIT_S, "its init")
        if not ready.get("ready"):
            self.close()
            raise EnvironmentFailed(f"init failed in a fresh process: {ready.get('error')}")
        self.init = Init(int(ready["pid"]), float(ready["init_cpu_ms"]), float(ready["init_wall_ms"]),
                         int(ready["max_memory_mb"]))
        return self.init

    def call(self, event: dict[str, Any]) -> Call:
        with self._lock:  # an environment answers one invocation at a time, as in Lambda
            self.used_at = time.monotonic()
            self._send({"event": event, "request_id": str(uuid.uuid4())})
            answer = self._receive(float(self.spec.timeout_s), "a call")
            self.used_at = time.monotonic()
        error = "error" in answer
        return Call(answer["error"] if error else answer.get("response"), error, float(answer["cpu_ms"]),
                    float(answer["wall_ms"]), int(answer["max_memory_mb"]))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()  # the loop ends at EOF
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise EnvironmentFailed(f"the environment of version {self.version} (pid {self.process.pid}) "
                                    f"has ended: {exc}") from exc

    def _receive(self, timeout_s: float, what: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s + 5.0)
        if not found or not found[0]:
            self.process.kill()
            why = "timed out" if not found else f"exited ({self.process.wait()})"
            raise EnvironmentFailed(f"the environment of version {self.version} {why} during {what}")
        return json.loads(found[0])


def _forward(stream: IO[str] | None, log: IO[str] | None) -> None:
    """The function's output, line by line, to the stack's function log (or nowhere)."""
    if stream is None:
        return
    for line in stream:
        if log is None:
            continue
        try:
            log.write(line if line.endswith("\n") else line + "\n")
        except ValueError:  # the log was closed (the stack is stopping): the rest goes nowhere
            log = None
