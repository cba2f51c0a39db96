"""The local stack for real: moto server, S3 -> SQS -> deployer -> alias, and HTTP on loopback.

One stack per module (it takes a second or two to start); models are small real ONNX graphs.
"""
from __future__ import annotations

import time

import numpy as np
import requests

from cli_json import document_with
from stack_models import write_tabular
from onnx_models import manifest_for, mlp_model, run


FEATURES = [[13.0, 0.12, 22.0], [25.0, 0.16, 36.0]]


def infer(stack, rows=FEATURES) -> requests.Response:
    body = {"inputs": [{"name": "features", "shape": [len(rows), 3], "datatype": "FP32", "data": rows}]}
    return requests.post(f"{stack.base_url}/v2/models/tabular/infer", json=body, timeout=10)


def wait_for_version(stack, version: str, timeout: float = 15.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = infer(stack)
        if response.json().get("model_version") == version or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_every_uploaded_model_is_promoted_through_the_real_notification_path(stack):
    assert stack.live_at_start == {name: "1" for name in stack.models}


def test_v2_infer_over_http_returns_what_onnxruntime_computes(stack):
    response = infer(stack)
    expected = run(stack.models["tabular"], {"features": np.array(FEATURES, np.float32)})["probabilities"]
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["model_name"] == "tabular" and body["model_version"] == "1"
    np.testing.assert_allclose(body["outputs"][0]["data"], expected.ravel(), rtol=1e-6)


def test_friendly_predict_metadata_and_readiness_over_http(stack):
    predict = requests.post(f"{stack.base_url}/models/tabular/predict", json={"instances": FEATURES}, timeout=10)
    assert predict.status_code == 200 and len(predict.json()["predictions"]) == 2
    metadata = requests.get(f"{stack.base_url}/v2/models/tabular", timeout=10).json()
    assert metadata["platform"] == "onnxruntime_onnx" and metadata["inputs"][0]["shape"] == [-1, 3]
    assert requests.get(f"{stack.base_url}/v2/models/tabular/ready", timeout=10).status_code == 200


def test_bad_requests_and_unknown_routes_over_http(stack):
    bad = requests.post(f"{stack.base_url}/v2/models/tabular/infer", data=b"{oops", timeout=10)
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    missing = requests.get(f"{stack.base_url}/v2/models/nothing-here", timeout=10)
    assert missing.status_code == 404


def test_a_new_upload_changes_what_the_api_returns_within_seconds(stack):
    from lepton_training.publish import publish

    folder = stack.settings.state / "v2"
    model_v2 = write_tabular(folder, seed=12)
    started = time.monotonic()
    manifest = publish(folder, stack.settings.bucket, s3_client=stack.client("s3"))
    response = wait_for_version(stack, str(manifest.version))
    assert manifest.version == 2
    assert response.json()["model_version"] == "2", "the new version was not served within 15 s"
    expected = run(model_v2, {"features": np.array(FEATURES, np.float32)})["probabilities"]
    np.testing.assert_allclose(response.json()["outputs"][0]["data"], expected.ravel(), rtol=1e-6)
    assert time.monotonic() - started < 15


def test_a_corrupt_upload_is_rejected_and_the_live_model_keeps_answering(stack):
    before = infer(stack).json()
    s3 = stack.client("s3")
    good = manifest_for(mlp_model(13).SerializeToString(), version=9, metrics={"accuracy": 0.9})
    s3.put_object(Bucket=stack.settings.bucket, Key=good.model_key, Body=b"\x08\x07 truncated model bytes")
    s3.put_object(Bucket=stack.settings.bucket, Key=good.manifest_key, Body=good.to_json().encode())
    deadline = time.monotonic() + 15
    attempt = None
    while attempt is None and time.monotonic() < deadline:
        attempt = next((a for a in stack.registry.list_deployments("tabular", limit=10) if a.version == 9), None)
        time.sleep(0.1)
    assert attempt is not None and attempt.outcome == "rejected"
    assert "sha256" in attempt.reason
    time.sleep(1.0)  # longer than the alias refresh: nothing changed
    after = infer(stack).json()
    assert after["model_version"] == before["model_version"]
    assert after["outputs"] == before["outputs"]


def test_every_promoted_version_has_a_receipt_in_the_api_the_metadata_and_lepton_cost(stack, capsys):
    from lepton.cli import main

    # GIVEN the stack's live versions, each measured by the deployer in an environment of its own
    # WHEN GET /models is read as the CLI reads it (SigV4)
    capsys.readouterr()
    assert main(["models", "--endpoint", stack.base_url, "--json"]) == 0
    listed = document_with(capsys.readouterr().out, "models")["models"]
    # THEN every live version has a receipt with a cold start, warm figures and memory, measured locally
    for model in listed:
        receipt = model["live_receipt"]
        assert receipt is not None and receipt["version"] == model["live_version"], model["name"]
        assert receipt["init_ms"] > 0 and 0 < receipt["p50_ms"] <= receipt["p99_ms"]
        assert 0 < receipt["max_memory_mb"] < receipt["memory_mb"] and receipt["arch"] == "arm64"
        assert "a fresh process" in receipt["sources"]["init"]
    # AND a version's own V2 metadata carries it, without its sha256
    metadata = requests.get(f"{stack.base_url}/v2/models/digits", timeout=10).json()
    shown = metadata["parameters"]["receipt"]
    assert shown["p99_ms"] == next(m for m in listed if m["name"] == "digits")["live_receipt"]["p99_ms"]
    assert "sha256" not in shown and "function_version" not in shown
    # AND lepton cost prices the deployed versions from their receipts, saying so
    capsys.readouterr()
    assert main(["cost", "--endpoint", stack.base_url, "--json"]) == 0
    priced = document_with(capsys.readouterr().out, "source")
    assert priced["source"] == "receipts" and {r["model"] for r in priced["rows"]} == set(stack.models)
    assert all(r["usd_per_million_predictions"]["total"] > 1.2 for r in priced["rows"])
