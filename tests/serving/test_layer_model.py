"""A cold start with the model in its function version's layer: read from LEPTON_MODEL_DIR,
checked against the pins, no S3 call and no boto3; a layer that does not match is refused.

The layer folder is what Lambda extracts from the deployer's own zip (lepton_deploy.model_layer)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from eventfiles import EVENTS, ROOT, load_event
from lepton.local.context import LambdaContext
from lepton_deploy.model_layer import ModelFiles, layer_zip
from onnx_models import manifest_for, mlp_model, run

ROWS = [[0.5, -1.0, 0.2], [1.5, 0.3, -0.7]]


def mount(folder: Path, model: bytes, manifest: bytes) -> Path:
    """Extract the layer zip as Lambda does into /opt; returns /opt/lepton-model."""
    with zipfile.ZipFile(io.BytesIO(layer_zip(ModelFiles(model, manifest)))) as archive:
        archive.extractall(folder)
    return folder / "lepton-model"


def pinned_env(published, model_dir: Path | str, cache: Path) -> dict[str, str]:
    manifest_bytes = published.manifest.to_json().encode()
    return published.env(LEPTON_MANIFEST_SHA256=hashlib.sha256(manifest_bytes).hexdigest(),
                         LEPTON_MODEL_DIR=str(model_dir), LEPTON_CACHE_DIR=str(cache))


def infer(handler) -> tuple[int, dict]:
    event = load_event("tabular/infer.json")
    event["body"] = json.dumps({"inputs": [{"name": "features", "shape": [2, 3], "datatype": "FP32", "data": ROWS}]})
    response = handler(event, LambdaContext("tabular"))
    return response["statusCode"], json.loads(response["body"])


def expected(model: bytes) -> list[float]:
    return run(model, {"features": np.asarray(ROWS, dtype=np.float32)})["probabilities"].ravel().tolist()


@pytest.fixture
def layered(publish, s3, bucket, tmp_path):
    """Version 1 published to the bucket and mounted as its layer; returns (published, layer dir)."""
    published = publish(seed=3, version=1)
    folder = mount(tmp_path / "opt", published.model_bytes, published.manifest.to_json().encode())
    return published, folder


def test_a_cold_start_reads_the_model_from_its_layer_and_answers_with_the_bucket_emptied(layered, s3, bucket, tmp_path):
    from tabular.handler import lambda_handler

    published, folder = layered
    # GIVEN the bucket no longer has the version (S3 would answer NoSuchKey)
    for key in (published.manifest.model_key, published.manifest.manifest_key):
        s3.delete_object(Bucket=bucket, Key=key)
    handler = lambda_handler.with_environment(pinned_env(published, folder, tmp_path / "cache"))
    # WHEN the first request arrives
    status, body = infer(handler)
    # THEN it is answered from the layer, with the pinned version's outputs
    assert status == 200 and body["model_version"] == "1"
    assert np.allclose(body["outputs"][0]["data"], expected(published.model_bytes), atol=1e-6)
    assert handler.plane.source == "layer" and handler.plane.store.downloads == 0
    assert not (tmp_path / "cache").exists()  # nothing was fetched into /tmp


def test_a_cold_start_from_the_layer_imports_no_boto3_and_makes_no_s3_call(layered, tmp_path):
    published, folder = layered
    event_file = tmp_path / "event.json"
    event = load_event("tabular/infer.json")
    event["body"] = json.dumps({"inputs": [{"name": "features", "shape": [2, 3], "datatype": "FP32", "data": ROWS}]})
    event_file.write_text(json.dumps(event))
    with socket.socket() as sock:  # a port nothing listens on: any AWS call would fail
        sock.bind(("127.0.0.1", 0))
        dead_endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # Lambda's sys.path for the function (its code, the serving layer; the venv stands in for the
    # onnxruntime layer and the runtime) in a fresh interpreter, as a cold start has it.
    code = (
        "import json, sys, types\n"
        f"sys.path[:0] = [{str(ROOT / 'functions' / 'tabular')!r}, {str(ROOT / 'layers' / 'serving')!r}]\n"
        "from tabular.handler import lambda_handler\n"
        "context = types.SimpleNamespace(aws_request_id='cold-1', function_name='tabular',\n"
        "                                memory_limit_in_mb=1024, invoked_function_arn='arn:aws:lambda:::tabular')\n"
        f"response = lambda_handler(json.load(open({str(event_file)!r})), context)\n"
        "print(json.dumps({'status': response['statusCode'], 'body': json.loads(response['body']),\n"
        "                  'source': lambda_handler.plane.source, 'boto3': 'boto3' in sys.modules}))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": dead_endpoint, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           **pinned_env(published, folder, tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, env=env, cwd="/",
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200 and answer["body"]["model_version"] == "1", answer
    assert answer["source"] == "layer"
    assert answer["boto3"] is False


def test_without_a_mounted_layer_the_model_is_fetched_from_the_bucket(publish, tmp_path):
    from tabular.handler import lambda_handler

    published = publish(seed=3, version=1)
    handler = lambda_handler.with_environment(pinned_env(published, tmp_path / "opt" / "lepton-model", tmp_path / "c"))
    status, body = infer(handler)
    assert status == 200 and body["model_version"] == "1"
    assert handler.plane.source == "s3" and handler.plane.store.downloads == 1


def test_a_layer_is_not_read_when_the_function_pins_no_manifest(layered, tmp_path):
    from tabular.handler import lambda_handler

    published, folder = layered
    env = {**pinned_env(published, folder, tmp_path / "cache"), "LEPTON_MANIFEST_SHA256": ""}
    handler = lambda_handler.with_environment(env)
    assert infer(handler)[0] == 200
    assert handler.plane.source == "s3"


def _replace_model(folder: Path) -> None:
    (folder / "model.onnx").write_bytes(mlp_model(4).SerializeToString())


def _edit_manifest(folder: Path) -> None:
    edited = (folder / "manifest.json").read_bytes().replace(b'"version": 1', b'"version": 1 ')
    (folder / "manifest.json").write_bytes(edited)


def _other_version(folder: Path) -> None:
    data = mlp_model(4).SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    (folder / "manifest.json").write_bytes(manifest_for(data, name="tabular", version=2).to_json().encode())


def _model_removed(folder: Path) -> None:
    (folder / "model.onnx").unlink()


@pytest.mark.parametrize(("tamper", "reason"), [
    (_replace_model, "model.onnx: sha256 is"),
    (_edit_manifest, "it changed after the deployer checked it"),
    (_other_version, "it changed after the deployer checked it"),
    (_model_removed, "has no model.onnx; refusing to load it"),
], ids=["model replaced", "manifest edited", "another version's files", "model missing"])
def test_a_layer_that_does_not_match_the_pins_is_refused_and_the_bucket_is_not_used_instead(
        layered, tmp_path, tamper, reason):
    from tabular.handler import lambda_handler

    published, folder = layered
    tamper(folder)
    handler = lambda_handler.with_environment(pinned_env(published, folder, tmp_path / "cache"))
    status, body = infer(handler)
    # The bucket still holds the right bytes: the refusal is the layer's, never worked around.
    assert status == 503 and reason in body["error"], body
    assert handler.plane.store.downloads == 0 and not handler.plane.model.ready
