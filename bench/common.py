"""Small shared pieces: paths, statistics, ports, the machine's description."""
from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = Path(sys.executable)
SITE_PACKAGES = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())


@dataclass
class Settings:
    quick: bool = False
    sections: tuple[str, ...] = ("cold", "overhead", "http", "package", "redeploy", "soak", "batch", "capture")
    peers: bool = True  # KServe / BentoML in their own venvs (section 3)
    families: tuple[str, ...] = ()  # empty: every model function in template.yaml
    train: bool = True  # train missing models (False: the seed network built without TensorFlow)
    tf_baseline: bool = True  # the TensorFlow cold-start baseline (needs TensorFlow, ~10 s a run)
    text: bool = True  # the added text models (bench/text.py) in the cold-start section
    out: Path = ROOT / "docs" / "benchmarks.md"
    work: Path = ROOT / ".lepton" / "bench"
    log: Any = field(default=None, repr=False)

    def say(self, text: str) -> None:
        (self.log or (lambda t: print(t, file=sys.stderr, flush=True)))(text)

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on :{port}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, float]:
    """Median, p99, IQR and min/max of a sample."""
    return {
        "n": len(values),
        "median": statistics.median(values) if values else float("nan"),
        "p99": percentile(values, 99),
        "q1": percentile(values, 25),
        "q3": percentile(values, 75),
        "min": min(values) if values else float("nan"),
        "max": max(values) if values else float("nan"),
    }


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                          if l.startswith("MemTotal")).split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown"
    return {
        "cores": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "arch": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions(names: list[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a benchmark child starts from: ours, minus anything that shifts timings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LEPTON_", "POWERTOOLS_"))}
    env.update(extra or {})
    return env
