"""A fresh process of one function version, as a Lambda execution environment starts it: run by
path (``python -I lepton/local/bootstrap.py``) by cold_start.py, never imported.

Lambda starts a new environment, runs the runtime, imports the handler (the init phase) and
then invokes it. This does the same with the version's environment (os.environ, set by the
parent) and its code and layers on sys.path, as /var/task and /opt/python are: it reads one
job from stdin, imports the handler, answers the job's event once, and writes its figures as
the last line of stdout, after whatever the function printed (its log):

    init_cpu_ms    CPU time (user + system) from the start of the process to the end of the
                   handler's import: interpreter, imports, model load, session
    init_wall_ms   the same in wall time, from the parent's clock reading at spawn
                   (CLOCK_MONOTONIC is system-wide)
    duration_cpu_ms, duration_wall_ms   the first invocation, after init
    max_memory_mb  this process's peak resident memory (ru_maxrss), what Lambda reports

CPU time is what the local stack reports (cold_start.py says why); wall time is kept beside it.

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

RESULT_TAG = "LEPTON-BOOTSTRAP-RESULT "


class Context:
    """What a handler reads of Lambda's context object."""

    def __init__(self, job: dict) -> None:
        self.function_name = job["function_name"]
        self.function_version = job["version"]
        self.memory_limit_in_mb = int(job["memory_mb"])
        self.aws_request_id = job["request_id"]
        self.invoked_function_arn = f"arn:aws:lambda:{job['region']}:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{self.aws_request_id}"
        self._deadline = time.monotonic() + float(job["timeout_s"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def main() -> int:
    job = json.loads(sys.stdin.readline())
    sys.path[:0] = job["paths"]
    result: dict = {"pid": os.getpid()}
    try:
        module_name, _, attr = job["handler"].rpartition(".")
        handler = getattr(importlib.import_module(module_name), attr)
        result["init_wall_ms"] = (time.monotonic_ns() - int(job["spawned_ns"])) / 1e6
        result["init_cpu_ms"] = _cpu_ms()
        started, started_cpu = time.perf_counter(), _cpu_ms()
        response = handler(job["event"], Context(job))
        result["duration_cpu_ms"] = _cpu_ms() - started_cpu
        result["duration_wall_ms"] = (time.perf_counter() - started) * 1000.0
        result["status"] = response.get("statusCode") if isinstance(response, dict) else None
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, as Lambda reports an init error
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["trace"] = traceback.format_exc(limit=5)[-2000:]
    result["max_memory_mb"] = -(-resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # KiB -> MiB, up
    sys.stdout.flush()
    sys.stdout.write(RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
