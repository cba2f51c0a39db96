"""Part of section 1: what each import of a model function's cold start costs (`-X importtime`).

children/cold_imports.py imports, step by step, what a cold start imports; each step's cost is
the sum of the cumulative times importtime reports for the modules it imported first (its
top-level lines). Medians over fresh processes, alternating the runs that add one import a
cold start does not make (boto3 and an S3 client, the X-Ray SDK, Pillow, Powertools' resolver).
"""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .common import SITE_PACKAGES, VENV_PYTHON, Settings, child_env, summary
from .models import BenchModel

CHILD = Path(__file__).resolve().parent / "children" / "cold_imports.py"
AT_INIT = ("numpy", "orjson", "powertools", "lepton_serving", "function", "onnxruntime")
NOT_AT_INIT = ("boto3", "xray", "pillow", "resolver", "tokenizers")
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse(stderr: str) -> dict[str, dict[str, Any]]:
    """importtime's stderr -> per step: its µs (top-level cumulative times summed) and heaviest modules."""
    steps: dict[str, dict[str, Any]] = {}
    current = None
    for line in stderr.splitlines():
        if line.startswith("BENCH_STEP "):
            current = line.split(" ", 1)[1].strip()
            steps.setdefault(current, {"us": 0, "modules": {}})
            continue
        found = _LINE.match(line)
        if found and current and current != "end" and len(found.group(3)) == 1:  # top level: one space
            steps[current]["us"] += int(found.group(2))
            steps[current]["modules"][found.group(4)] = int(found.group(2))
    return steps


def _child(model: BenchModel, extra: str | None) -> dict[str, dict[str, Any]]:
    cfg = {"code_uri": str(model.code_uri), "layers": [str(p) for p in model.layers], "handler": model.handler,
           "site_packages": SITE_PACKAGES, "extra": extra}
    done = subprocess.run([str(VENV_PYTHON), "-I", "-S", "-X", "importtime", str(CHILD), json.dumps(cfg)],
                          env=child_env(), capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
    if "BENCH_RESULT " not in done.stdout:
        raise RuntimeError(f"cold_imports.py failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    steps = parse(done.stderr)
    wall = json.loads(done.stdout.split("BENCH_RESULT ", 1)[1])
    for name, entry in steps.items():
        entry["wall_ms"] = wall.get(name, 0.0) * 1000.0
    return steps


def run(settings: Settings, model: BenchModel) -> dict[str, Any]:
    """``model``'s function: each step's import time and wall time (ms, with a client or tracer
    created where the step does) over fresh processes, with its heaviest top-level modules."""
    repeats = settings.n(7, 1)
    samples: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}
    heaviest: dict[str, dict[str, list[int]]] = {}
    for _ in range(repeats):
        for extra in (None, *NOT_AT_INIT):
            for name, entry in _child(model, extra).items():
                if extra is not None and name in AT_INIT:
                    continue  # counted by the run without an extra
                samples.setdefault(name, []).append(entry["us"] / 1000.0)
                walls.setdefault(name, []).append(entry["wall_ms"])
                for module, us in entry["modules"].items():
                    heaviest.setdefault(name, {}).setdefault(module, []).append(us)
    steps = {}
    for name in (*AT_INIT, *NOT_AT_INIT):
        if name not in samples:
            continue
        modules = {m: sorted(v)[len(v) // 2] / 1000.0 for m, v in heaviest.get(name, {}).items()}
        steps[name] = {"ms": summary(samples[name]), "wall_ms": summary(walls[name]),
                       "modules": dict(sorted(modules.items(), key=lambda kv: -kv[1])[:4])}
    settings.say("  imports " + ", ".join(f"{k} {v['ms']['median']:.0f} ms" for k, v in steps.items()))
    return {"model": model.name, "repeats": repeats, "steps": steps}
