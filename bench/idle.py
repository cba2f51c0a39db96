"""The local stack at rest: how much CPU `lepton up` (its whole process tree: the API, the moto
server on its thread, the deploy worker, every follower) uses while nobody calls it.

Sampled with psutil from outside the process, after `lepton up` has served a first request
per model and settled, over a fixed window; the result is % of one core.
"""
from __future__ import annotations

import time
from typing import Any

import psutil

SETTLE_SECONDS = 5.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children, in seconds."""
    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(pid: int, seconds: float, samples: int = 6, settle: float = SETTLE_SECONDS) -> dict[str, Any]:
    """CPU % of one core over ``seconds``, with the same split into ``samples`` windows."""
    time.sleep(settle)
    step = seconds / samples
    windows = []
    started, used_at_start = time.monotonic(), cpu_seconds(pid)
    last_time, last_used = started, used_at_start
    for _ in range(samples):
        time.sleep(step)
        now, used = time.monotonic(), cpu_seconds(pid)
        windows.append(100.0 * (used - last_used) / (now - last_time))
        last_time, last_used = now, used
    elapsed = last_time - started
    return {"seconds": elapsed, "cpu_seconds": last_used - used_at_start,
            "cpu_percent": 100.0 * (last_used - used_at_start) / elapsed,
            "windows_percent": windows, "threads": psutil.Process(pid).num_threads()}
