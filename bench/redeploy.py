"""Section 5: redeploy latency, from a manifest landing in the bucket to the first response served
by the new version through the local stack (S3 -> SQS -> deployer -> alias -> gateway).

Measured only when the local redeploy path is there (lepton/local/worker.py and functions/deployer's
handler); otherwise the section says "not measured yet".
"""
from __future__ import annotations

import importlib.util
import time
from typing import Any

from .common import ROOT, Settings, free_port
from .models import BenchModel


def available() -> tuple[bool, str]:
    if importlib.util.find_spec("lepton.local.worker") is None:
        return False, "lepton/local/worker.py (the local deploy worker) is not in the repo yet"
    if not (ROOT / "functions" / "deployer" / "deployer" / "handler.py").is_file():
        return False, "functions/deployer has no handler.py yet"
    return True, ""


def run(settings: Settings, models: list[BenchModel]) -> dict[str, Any]:
    ok, why = available()
    if not ok:
        return {"measured": False, "reason": why}
    model = next((m for m in models if m.name == "tabular"), models[0])
    try:
        return _measure(settings, model)
    except Exception as exc:  # noqa: BLE001 - the deploy path is young: report, don't crash the suite
        return {"measured": False, "reason": f"the local redeploy path failed: {type(exc).__name__}: {exc}"}


def _measure(settings: Settings, model: BenchModel) -> dict[str, Any]:
    import contextlib
    import io

    import orjson

    from lepton.local.artifacts import publish_models
    from lepton.local.stack import StackSettings, boot

    repeats = settings.n(5, 1)
    stack_settings = StackSettings(root=ROOT, aws_port=free_port(), api_port=free_port(),
                                   state_dir=settings.work / "redeploy-state", bucket="lepton-bench-redeploy")
    samples = []
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        stack = boot(stack_settings, models=False)
    try:
        with contextlib.redirect_stdout(sink):
            artifacts = {model.name: model.artifact_dir}
            publish_models(artifacts, stack_settings.bucket, stack.client("s3"))
            gateway = stack.gateway()
            body = model.body(1)
            path = f"/v2/models/{model.name}/infer"
            headers = {"content-type": "application/json"}
            deadline = time.perf_counter() + 120  # only this model is published: wait for it alone
            while gateway.handle("POST", path, "", headers, body)[0] != 200:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{model.name} was not live within 120 s of its first upload")
                time.sleep(0.1)
            for _ in range(repeats):
                status, _, raw = gateway.handle("POST", path, "", headers, body)
                before = orjson.loads(raw).get("model_version") if status == 200 else None
                started = time.perf_counter()
                publish_models(artifacts, stack_settings.bucket, stack.client("s3"))  # manifest written last
                deadline = started + 120
                while time.perf_counter() < deadline:
                    status, _, raw = gateway.handle("POST", path, "", headers, body)
                    if status == 200 and orjson.loads(raw).get("model_version") != before:
                        samples.append((time.perf_counter() - started) * 1000.0)
                        break
                    time.sleep(0.02)
                else:
                    raise TimeoutError("the new version was not served within 120 s")
    finally:
        stack.stop()
    from .common import summary

    return {"measured": True, "model": model.name, "ms": summary(samples), "repeats": repeats}
