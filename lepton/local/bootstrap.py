"""One function version in a process of its own, as a Lambda execution environment runs it: run by
path (``python -I lepton/local/bootstrap.py``) by execution_environment.py, never imported.

Lambda starts an environment, runs the runtime, imports the handler (the init phase), then
invokes it once per request, one at a time, until it is reclaimed. This does the same, with the
version's environment (os.environ, set by the parent) and its code and layers on sys.path as
/var/task and /opt/python are. It talks to the parent in JSON lines: the first line on stdin
says what to load; each later line is one event. The answers go to the stdout it started with;
whatever the function prints (its log) goes to stderr, which the parent keeps as the function's
log. Figures it reports:

    init_cpu_ms    CPU time (user + system, every thread) from the start of the process to the
                   end of the handler's import: interpreter, imports, model load, session
    init_wall_ms   the same in wall time, from the parent's clock reading at spawn
                   (CLOCK_MONOTONIC is system-wide)
    cpu_ms, wall_ms  each invocation
    max_memory_mb  this process's peak resident memory so far (VmHWM), what Lambda reports

Only the standard library is imported before the handler, so nothing here inflates the init
or the memory it measures.
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback

READY = "ready"


class Context:
    """What a handler reads of Lambda's context object."""

    def __init__(self, setup: dict, request_id: str) -> None:
        self.function_name = setup["function_name"]
        self.function_version = setup["version"]
        self.memory_limit_in_mb = int(setup["memory_mb"])
        self.aws_request_id = request_id
        self.invoked_function_arn = f"arn:aws:lambda:{setup['region']}:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{request_id}"
        self._deadline = time.monotonic() + float(setup["timeout_s"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def _memory_mb() -> int:
    """This process's peak resident memory, MiB rounded up: VmHWM. Not ru_maxrss, which Linux
    carries over an exec from the process that forked this one (here the whole local stack)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return -(-int(line.split()[1]) // 1024)  # kB -> MiB
    except OSError:
        pass
    return -(-resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # elsewhere (KiB on Linux)


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the function's prints (its log) go to stderr from here on
    setup = json.loads(sys.stdin.readline())
    sys.path[:0] = setup["paths"]
    ready: dict = {READY: True, "pid": os.getpid()}
    try:
        module_name, _, attr = setup["handler"].rpartition(".")
        handler = getattr(importlib.import_module(module_name), attr)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, as Lambda reports an init error
        answers.write(json.dumps({READY: False, "pid": os.getpid(), "error": f"{type(exc).__name__}: {exc}",
                                  "trace": traceback.format_exc(limit=5)[-2000:]}) + "\n")
        return 1
    ready["init_wall_ms"] = (time.monotonic_ns() - int(setup["spawned_ns"])) / 1e6
    ready["init_cpu_ms"] = _cpu_ms()
    ready["max_memory_mb"] = _memory_mb()
    answers.write(json.dumps(ready) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        answer: dict = {}
        started, started_cpu = time.perf_counter(), _cpu_ms()
        try:
            answer["response"] = handler(job["event"], Context(setup, job["request_id"]))
        except Exception as exc:  # noqa: BLE001 - Lambda answers a handler's exception as a function error
            answer["error"] = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                               "stackTrace": traceback.format_exc(limit=5).splitlines()}
        answer["cpu_ms"] = _cpu_ms() - started_cpu
        answer["wall_ms"] = (time.perf_counter() - started) * 1000.0
        answer["max_memory_mb"] = _memory_mb()
        sys.stdout.flush()
        answers.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
