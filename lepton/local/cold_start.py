"""A version's cold start, measured in a fresh process (bootstrap.py), as Lambda measures one.

The local stack answers every call in its own process, where a version's handler, once
configured, stays warm, and where memory is the whole stack's. So the first time the deployer
calls a version (and again after it has been idle, as Lambda reclaims idle environments), the
local invoker also starts that version in a process of its own: same code and layers, the
version's environment and its model layer mounted, the same event. That process's init, first
duration and peak memory are what its REPORT line carries (lambda_api.py).

Durations are CPU time (user + system), with the wall time kept beside them. This machine is
shared: a fresh process's wall-clock init measured 515 to 3,213 ms for the same version as
other processes came and went, its CPU time 199 to 228 ms. A Lambda environment has its CPU
share to itself, so CPU time is the closer model of what Lambda would report, and the only one
two versions measured a few seconds apart can be compared on.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bootstrap import RESULT_TAG
from .template import FunctionSpec

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
#: What the process gets of this one's environment besides the version's own (Lambda sets its own).
RUNTIME_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "LD_LIBRARY_PATH")
#: What Lambda's runtime sets in every environment. The runtime API address is a placeholder
#: (nothing here calls it); its presence is how a handler knows it runs in Lambda and loads its
#: model during init, as lepton_serving's serve() does.
LAMBDA_RUNTIME = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                  "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}
#: Lambda's limit on the init phase, plus the function's own timeout for the first call.
INIT_LIMIT_S = 10.0


@dataclass(frozen=True)
class ColdStart:
    pid: int
    init_ms: float | None  # CPU time, spawn to handler imported
    duration_ms: float | None  # CPU time of the first call
    max_memory_mb: int | None
    log: str  # what the function printed
    error: str | None = None
    init_wall_ms: float | None = None
    duration_wall_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.init_ms is not None


class FreshProcess:
    """One version starting in its own process; `result` waits for its figures."""

    def __init__(self, spec: FunctionSpec, function_name: str, version: str, env: dict[str, str],
                 event: dict[str, Any], python: str = sys.executable):
        self.timeout_s = INIT_LIMIT_S + spec.timeout_s
        job = {"paths": [str(spec.code_uri), *map(str, spec.layers)], "handler": spec.handler, "event": event,
               "function_name": function_name, "version": version, "memory_mb": spec.memory_mb,
               "timeout_s": spec.timeout_s, "region": env.get("AWS_REGION", "us-east-1"),
               "request_id": str(uuid.uuid4())}
        runtime = {k: os.environ[k] for k in RUNTIME_KEYS if k in os.environ}
        job["spawned_ns"] = time.monotonic_ns()
        # -I: no user site, no PYTHON* variables, no script folder on sys.path (bootstrap.py's
        # neighbours are this package's modules, not the function's).
        self.process = subprocess.Popen([python, "-I", str(BOOTSTRAP)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env={**runtime, **env, **LAMBDA_RUNTIME}, text=True)
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.close()
        self.process.stdin = None  # communicate() must not flush a closed pipe

    def result(self) -> ColdStart:
        try:
            output, _ = self.process.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
            return ColdStart(self.process.pid, None, None, None, output[-4000:],
                             f"the fresh process did not answer within {self.timeout_s:.0f} s")
        head, _, last = output.rstrip("\n").rpartition("\n")
        if not last.startswith(RESULT_TAG):
            return ColdStart(self.process.pid, None, None, None, output[-4000:],
                             f"the fresh process exited ({self.process.returncode}) without its figures: "
                             f"{output.strip().splitlines()[-1][:300] if output.strip() else 'no output'}")
        figures = json.loads(last[len(RESULT_TAG):])
        return ColdStart(int(figures["pid"]), figures.get("init_cpu_ms"), figures.get("duration_cpu_ms"),
                         figures.get("max_memory_mb"), head, figures.get("error"),
                         figures.get("init_wall_ms"), figures.get("duration_wall_ms"))
