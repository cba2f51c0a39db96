"""The soak: `lepton up` itself under steady load for minutes (10 by default, concurrency 8 in
all, every model at once), counting every answer that is not a 200 and sampling the process's
memory (RSS) from start to end, and the function log's growth per request (functions.log and its rotated files).

A leak, a slow climb in latency or a failure that only shows after thousands of requests is
what this looks for; it is a benchmark, not a test (it takes minutes).
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import up
from .common import ROOT, Settings, summary
from .models import BenchModel

CONCURRENCY = 8


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def log_bytes(log_file: Path) -> int:
    """Bytes of the function log, its rotated files included."""
    return sum(f.stat().st_size for f in log_file.parent.glob(log_file.name + "*")) if log_file.parent.is_dir() else 0


def run(settings: Settings, models: list[BenchModel]) -> dict[str, Any]:
    seconds = settings.n(600, 15)
    work = settings.work / "soak"
    log_file = work / "state" / "logs" / "functions.log"
    work.mkdir(parents=True, exist_ok=True)
    bodies = {}
    for model in models:
        bodies[model.name] = work / f"{model.name}-body.json"
        bodies[model.name].write_bytes(model.body(1, flat=True))
    with up.server(work / "state", models, work / "lepton-up.log") as server:
        failed = up.ready(server, models, bodies)
        if failed:
            raise RuntimeError(f"lepton up does not serve {', '.join(failed)}: {next(iter(failed.values()))}")
        port = server.port
        assert server.proc is not None
        pid = server.proc.pid
        log_start = log_bytes(log_file)
        samples: list[tuple[float, float]] = [(0.0, rss_mib(pid))]
        stop = threading.Event()
        started = time.monotonic()

        def sample() -> None:
            while not stop.wait(settings.n(15, 3)):
                samples.append((time.monotonic() - started, rss_mib(pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # CONCURRENCY connections in all, shared out over the models (each gets at least one)
        shares = [max(1, CONCURRENCY // len(models) + (i < CONCURRENCY % len(models))) for i in range(len(models))]
        loads = [subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--path", f"/v2/models/{m.name}/infer",
             "--body", str(bodies[m.name]), "--concurrency", str(share), "--requests", str(10**9),
             "--max-seconds", str(seconds), "--warmup", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for m, share in zip(models, shares)]
        results = {}
        for model, load in zip(models, loads):
            out, err = load.communicate(timeout=seconds + 120)
            if load.returncode != 0:
                raise RuntimeError(f"load generator for {model.name} failed: {err.strip()[-300:]}")
            results[model.name] = json.loads(out.strip().splitlines()[-1])
        stop.set()
        sampler.join(timeout=5)
        samples.append((time.monotonic() - started, rss_mib(pid)))
        log_end = log_bytes(log_file)
    requests = sum(r["requests"] for r in results.values())
    errors = sum(r["errors"] for r in results.values())
    rss = [value for _, value in samples]
    settings.say(f"  soak: {requests:,} requests in {seconds} s, {errors} errors, RSS {rss[0]:.0f} -> "
                 f"{rss[-1]:.0f} MiB (max {max(rss):.0f})")
    return {
        "seconds": seconds, "concurrency": sum(shares), "requests": requests, "errors": errors,
        "rps": requests / seconds if seconds else 0.0,
        "rss_mib": {"start": rss[0], "end": rss[-1], "max": max(rss), "samples": samples},
        "log_bytes_per_request": (log_end - log_start) / requests if requests else float("nan"),
        "log_bytes": log_end, "models": {name: {k: r[k] for k in ("requests", "errors", "rps", "p50_ms", "p99_ms")}
                                         for name, r in results.items()},
        "p99_ms": summary([r["p99_ms"] for r in results.values()]),
    }
