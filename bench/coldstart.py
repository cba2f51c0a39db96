"""Section 1: cold start per model function, against a bare onnxruntime process and TensorFlow.

Every run is a fresh interpreter (`python -I -S`, sys.path set as Lambda sets it) with a fresh
model cache dir (a new execution environment has an empty /tmp). The child times its stages
and the whole, from just before the parent spawned it to the first response. Lepton runs twice
per round: with the model in a LEPTON_MODEL_DIR laid out as the model layer puts it in /opt
(how a deployed version holds it), and reading it from the bucket (moto S3), the path models too
large for a layer keep. Rounds interleave every process, so drift hits all of them alike.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from . import imports
from .aws import BUCKET, CREDENTIALS, LocalS3
from .common import SITE_PACKAGES, VENV_PYTHON, Settings, child_env, summary
from .models import BenchModel

CHILDREN = Path(__file__).resolve().parent / "children"
STAGES = ("interpreter", "imports", "model", "session", "first_inference", "total")
#: Lepton's two rows: the model layer's directory, and the bucket.
LEPTON = ("lepton", "lepton_s3")


def _run_child(script: str, cfg: dict[str, Any], env: dict[str, str], timeout: float = 120.0) -> dict[str, Any]:
    import time

    cfg = {**cfg, "site_packages": SITE_PACKAGES, "spawned": time.time()}
    done = subprocess.run([str(VENV_PYTHON), "-I", "-S", str(CHILDREN / script), json.dumps(cfg)],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=tempfile.gettempdir())
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT "):])
    raise RuntimeError(f"{script} failed ({done.returncode}): {done.stderr.strip()[-600:]}")


def _event_file(model: BenchModel, work: Path) -> Path:
    if model.event_path is not None:
        return model.event_path
    path = work / "events" / f"{model.name}-infer.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model.event()))
    return path


def model_dir(model: BenchModel, work: Path) -> Path:
    """The model layer's contents for the published version: what /opt/lepton-model holds in Lambda."""
    folder = work / "model-layers" / model.name / str(model.manifest["version"]) / "opt" / "lepton-model"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model.model_path, folder / "model.onnx")
    shutil.copyfile(model.artifact_dir / "manifest.json", folder / "manifest.json")
    if model.tokenizer_path is not None:
        shutil.copyfile(model.tokenizer_path, folder / "tokenizer.json")
    return folder


def run(settings: Settings, s3: LocalS3, models: list[BenchModel]) -> dict[str, Any]:
    repeats = settings.n(7, 2)
    tf_repeats = settings.n(5, 1)
    results: dict[str, Any] = {"repeats": repeats, "tf_repeats": tf_repeats, "models": {}, "errors": {}}
    for model in models:
        try:
            results["models"][model.name] = _one(settings, s3, model, repeats, tf_repeats)
        except Exception as exc:  # noqa: BLE001 - one model's failure is reported, the run goes on
            results["errors"][model.name] = f"{type(exc).__name__}: {str(exc)[-300:]}"
            settings.say(f"  cold start {model.name} failed: {results['errors'][model.name]}")
    if models:
        try:
            results["imports"] = imports.run(settings, models[0])
        except Exception as exc:  # noqa: BLE001
            results["errors"]["imports"] = f"{type(exc).__name__}: {str(exc)[-300:]}"
    return results


def _one(settings: Settings, s3: LocalS3, model: BenchModel, repeats: int, tf_repeats: int) -> dict[str, Any]:
    event = _event_file(model, settings.work)
    layer = model_dir(model, settings.work)
    samples: dict[str, list[dict[str, Any]]] = {"lepton": [], "lepton_s3": [], "onnxruntime": [], "tensorflow": []}
    ort_body = (json.loads(event.read_text())["body"] if model.public_is_graph()
                else model.graph_body(1).decode())
    cfg = {"code_uri": str(model.code_uri), "layers": [str(p) for p in model.layers], "handler": model.handler,
           "event": str(event)}
    for i in range(repeats):
        for variant in LEPTON:
            with tempfile.TemporaryDirectory(prefix="lepton-cold-") as tmp:
                env = child_env(s3.function_env(model, cache_dir=tmp,
                                                model_dir=str(layer) if variant == "lepton" else ""))
                result = _run_child("cold_lepton.py", cfg, env)
            if result.get("status") != 200:
                raise RuntimeError(f"{model.name}: cold start answered {result.get('status')}")
            samples[variant].append(result)
        samples["onnxruntime"].append(_run_child(
            "cold_ort.py", {"model_path": str(model.model_path), "body": ort_body}, child_env()))
        if model.keras_path is not None and i < tf_repeats:
            with tempfile.TemporaryDirectory(prefix="lepton-cold-tf-") as tmp:
                env = child_env({**CREDENTIALS, "AWS_ENDPOINT_URL": s3.endpoint, "TF_CPP_MIN_LOG_LEVEL": "2"})
                samples["tensorflow"].append(_run_child(
                    "cold_tf.py", {"bucket": BUCKET, "keras_key": f"keras/{model.name}/model.keras",
                                   "event": str(event), "tmp": tmp}, env, timeout=300))
        settings.say(f"  cold start {model.name}: run {i + 1}/{repeats} "
                     f"lepton {samples['lepton'][-1]['total'] * 1000:.0f} ms "
                     f"(S3 {samples['lepton_s3'][-1]['total'] * 1000:.0f} ms), "
                     f"onnxruntime {samples['onnxruntime'][-1]['total'] * 1000:.0f} ms"
                     + (f", tensorflow {samples['tensorflow'][-1]['total'] * 1000:.0f} ms"
                        if samples["tensorflow"] and i < tf_repeats else ""))
    out: dict[str, Any] = {
        variant: {stage: summary([s.get(stage, 0.0) * 1000.0 for s in runs]) for stage in STAGES}
        for variant, runs in samples.items() if runs
    }
    for variant in LEPTON:
        # Which path the runs took: no boto3 and no download means the model came from the directory.
        runs = samples[variant]
        out[variant]["boto3_imported"] = sum(bool(s.get("boto3")) for s in runs)
        out[variant]["s3_downloads"] = sum(s.get("s3_downloads") or 0 for s in runs)
    return out
