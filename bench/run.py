"""Run the suite: every section in one process run, results to JSON, docs/benchmarks.md and a PNG."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from . import report
from .common import Settings, machine, versions
from .digest import digest


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(settings: Settings, command: str = "lepton bench") -> dict[str, Any]:
    from . import models as model_mod
    from .aws import LocalS3

    settings.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"meta": {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": command, "quick": settings.quick,
        "machine": machine(), "load_start": _load(),
        "versions": versions(["onnxruntime", "numpy", "orjson", "aws-lambda-powertools", "uvicorn", "tensorflow-cpu",
                              "keras", "moto", "fastapi"]),
    }}
    settings.say("preparing models")
    models = model_mod.discover(settings)
    # The added text models run in the cold-start section, side by side with the families.
    added = []
    if settings.text and "cold" in settings.sections:
        from .text import text_models

        settings.say("preparing the added text models")
        added = text_models(settings)
    if not models and not added:
        raise SystemExit("no model to benchmark: train one (lepton train tabular) or check template.yaml")
    results["meta"]["models"] = [m.name for m in models]
    results["meta"]["added_models"] = [m.name for m in added]
    with LocalS3() as s3:
        for model in models + added:
            s3.publish(model)
        if "cold" in settings.sections:
            results["meta"].setdefault("load_at", {})["cold"] = _load()
            settings.say("1. cold start")
            from . import coldstart

            results["cold"] = coldstart.run(settings, s3, models + added)
        if "overhead" in settings.sections:
            results["meta"].setdefault("load_at", {})["overhead"] = _load()
            settings.say("2. warm serving overhead")
            from . import overhead

            results["overhead"] = overhead.run(settings, s3, models)
        if "http" in settings.sections:
            results["meta"].setdefault("load_at", {})["http"] = _load()
            settings.say("3. HTTP throughput")
            from . import http

            results["http"] = http.run(settings, s3, models)
        if "capture" in settings.sections:
            results["meta"].setdefault("load_at", {})["capture"] = _load()
            settings.say("7. payload capture")
            from . import capture

            results["capture"] = capture.run(settings, s3, models)
    if "package" in settings.sections:
        settings.say("4. package size")
        from . import package

        results["package"] = package.run(settings, models)
    if "redeploy" in settings.sections:
        settings.say("5. redeploy latency")
        from . import redeploy

        results["redeploy"] = redeploy.run(settings, models)
    if "soak" in settings.sections:
        results["meta"].setdefault("load_at", {})["soak"] = _load()
        settings.say("6. soak")
        from . import soak

        results["soak"] = soak.run(settings, models)
    if "batch" in settings.sections:
        results["meta"].setdefault("load_at", {})["batch"] = _load()
        settings.say("7. batch scoring")
        from . import batch
        from .aws import LocalS3 as _S3

        with _S3() as s3:
            for model in models:
                s3.publish(model)
            results["batch"] = batch.run(settings, s3, models)
    results["meta"]["load_end"] = _load()
    write(settings, results)
    return results


def rewrite(settings: Settings) -> Path:
    """The report again from the last run's raw results (no measuring): `lepton bench --report-only`."""
    raw = settings.work / ("quick.json" if settings.quick else "latest.json")
    return write(settings, json.loads(raw.read_text()))


def write(settings: Settings, results: dict[str, Any]) -> Path:
    settings.work.mkdir(parents=True, exist_ok=True)
    (settings.work / ("quick.json" if settings.quick else "latest.json")).write_text(json.dumps(results, indent=1))
    png = settings.out.with_suffix(".png")
    has_chart = report.chart(results, png)
    settings.out.parent.mkdir(parents=True, exist_ok=True)
    settings.out.write_text(report.markdown(results, png.name if has_chart else None))
    # the committed numbers `lepton cost` reads on a fresh clone (the raw file is git-ignored)
    summary = settings.out.with_suffix(".json")
    summary.write_text(json.dumps(digest(results), indent=1) + "\n")
    settings.say(f"wrote {settings.out}, {summary.name}" + (f" and {png.name}" if has_chart else ""))
    return settings.out
