"""The control API and the CLI against a running local stack.

One stack for the module: a moto server process, S3 -> SQS -> deployer -> alias, the HTTP API on loopback
with the gateway's SigV4 check, small real ONNX models of every family.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import requests

from lepton.cli import main
from onnx_models import manifest_for, mlp_model, nudged_mlp, run, swapped_mlp
from local_stack import aws_environment, free_port, moto_server, stack, stack_models  # noqa: F401 - fixtures
from stack_models import write_artifact
from v2_cases import TABULAR_ROWS



def lepton(stack, capsys, *args: str) -> tuple[int, str, str]:
    """Run the `lepton` CLI in-process against the stack; (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([*args, "--endpoint", stack.base_url])
    out, err = capsys.readouterr()
    return code, out, err


def lepton_json(stack, capsys, *args: str) -> dict:
    code, out, err = lepton(stack, capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def infer_tabular(stack) -> dict:
    body = {"inputs": [{"name": "features", "shape": [2, 3], "datatype": "FP32", "data": TABULAR_ROWS}]}
    return requests.post(f"{stack.base_url}/v2/models/tabular/infer", json=body, timeout=10).json()


def served(stack, version: str, timeout: float = 10.0) -> dict:
    """The first inference answered by ``version`` (the gateway re-reads aliases every 0.5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        body = infer_tabular(stack)
        if body["model_version"] == version or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def assert_tabular_matches(stack, body: dict) -> None:
    expected = run(stack.tabular[body["model_version"]], {"features": np.array(TABULAR_ROWS, np.float32)})
    np.testing.assert_allclose(body["outputs"][0]["data"], expected["probabilities"].ravel(), rtol=1e-6)


# -------------------------------------------------------------------------------------- auth and routing
def test_control_routes_need_sigv4_while_docs_and_inference_stay_open(stack):
    assert stack.live_at_start == {name: "1" for name in stack.models}
    unsigned = requests.get(f"{stack.base_url}/models", timeout=10)
    assert unsigned.status_code == 403 and "Missing Authentication Token" in unsigned.json()["message"]
    forged = requests.post(f"{stack.base_url}/models/tabular/rollback", timeout=10, headers={
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIASOMEONEELSE/20261126/us-east-1/execute-api/aws4_request, "
                         "SignedHeaders=host, Signature=00"})
    assert forged.status_code == 403
    # the open routes: the API's description, and inference served by the model functions
    assert requests.get(f"{stack.base_url}/openapi.json", timeout=10).json()["info"]["title"] == "Lepton API"
    assert "swagger-ui" in requests.get(f"{stack.base_url}/docs", timeout=10).text
    predict = requests.post(f"{stack.base_url}/models/tabular/predict", json={"instances": TABULAR_ROWS}, timeout=10)
    assert predict.status_code == 200 and len(predict.json()["predictions"]) == 2


# -------------------------------------------------------------------------------------- the CLI
def test_cli_models_versions_and_deployments_show_what_the_stack_serves(stack, capsys):
    models = {m["name"]: m for m in lepton_json(stack, capsys, "models")["models"]}
    assert {n: m["live_version"] for n, m in models.items()} == {name: 1 for name in stack.models}
    assert models["sentiment"]["function_name"] == "lepton-local-SentimentFunction"
    assert models["digits"]["last_deployment"]["outcome"] == "promoted"

    code, table, _ = lepton(stack, capsys, "models")
    assert code == 0 and "lepton-local-RecommenderFunction" in table and "promoted" in table

    detail = lepton_json(stack, capsys, "versions", "sentiment")
    assert detail["versions"][0]["state"] == "live"
    assert detail["manifest"]["inputs"] == [{"name": "tokens", "datatype": "INT64", "shape": [-1, 12]}]
    code, table, _ = lepton(stack, capsys, "versions", "recommender")
    assert code == 0 and "live" in table and "ndcg_at_10 0.4" in table

    deployments = lepton_json(stack, capsys, "deployments", "--model", "digits", "--limit", "5")["deployments"]
    assert [(d["model"], d["version"], d["outcome"]) for d in deployments] == [("digits", 1, "promoted")]
    code, table, _ = lepton(stack, capsys, "deployments", "--limit", "10")
    assert code == 0 and all(name in table for name in stack.models)


def test_push_then_rollback_changes_what_inference_serves(stack, capsys, tmp_path):
    # GIVEN a new tabular model in a training output folder (its manifest says version 1)
    data = mlp_model(21).SerializeToString()
    write_artifact(tmp_path / "tabular-next", data, manifest_for(data, metrics={"accuracy": 0.93}))
    stack.tabular["2"] = data
    # WHEN it is pushed through presigned URLs (model first, manifest last)
    code, out, err = lepton(stack, capsys, "push", "tabular", str(tmp_path / "tabular-next"))
    # THEN the deployer promoted it as version 2, and inference answers with it
    assert code == 0, err
    assert "uploaded tabular v2" in out and "tabular v2: promoted" in out
    models = {m["name"]: m for m in lepton_json(stack, capsys, "models")["models"]}
    assert models["tabular"]["live_version"] == 2
    body = served(stack, "2")
    assert body["model_version"] == "2"
    assert_tabular_matches(stack, body)
    stored = lepton_json(stack, capsys, "versions", "tabular")["versions"][0]
    assert (stored["version"], stored["metrics"], stored["size"]) == (2, {"accuracy": 0.93}, len(data))

    # WHEN it is rolled back
    code, out, err = lepton(stack, capsys, "rollback", "tabular")
    # THEN version 1 is live again and answers again
    assert code == 0, err
    assert "tabular: rolled_back v1" in out and "rolled back from version 2 to 1" in out
    assert {m["name"]: m["live_version"] for m in lepton_json(stack, capsys, "models")["models"]}["tabular"] == 1
    body = served(stack, "1")
    assert body["model_version"] == "1"
    assert_tabular_matches(stack, body)
    newest = lepton_json(stack, capsys, "deployments", "tabular", "--limit", "1")["deployments"][0]
    assert (newest["outcome"], newest["version"]) == ("rolled_back", 1)


def test_a_presigned_post_writes_its_key_and_the_cli_refuses_a_file_over_its_cap_before_sending(stack, capsys):
    from lepton.client import ControlError, ControlClient, resolve_target

    client = ControlClient(resolve_target(stack.base_url))
    grant = client.uploads("digits")
    model = grant["uploads"][0]
    # a form POST with the signed fields, the file last, as S3 (here the local S3) takes it
    response = requests.post(model["url"], data=model["fields"], files={"file": ("model.onnx", b"partial upload")},
                             timeout=10)
    assert response.status_code == 204, response.text
    s3 = stack.client("s3")
    assert s3.get_object(Bucket=grant["bucket"], Key=model["key"])["Body"].read() == b"partial upload"
    versions = lepton_json(stack, capsys, "versions", "digits")["versions"]
    assert (versions[0]["version"], versions[0]["state"]) == (grant["version"], "incomplete")
    # the CLI never sends more than the policy lets S3 take
    with pytest.raises(ControlError, match=f"model.onnx is {model['max_bytes'] + 1:,} bytes; an upload takes at most"):
        client.upload(model, b"x" * (model["max_bytes"] + 1))
    assert s3.get_object(Bucket=grant["bucket"], Key=model["key"])["Body"].read() == b"partial upload"
    # a version once written is never granted again
    code, _, err = lepton(stack, capsys, "push", "digits", str(stack.settings.artifacts / "digits"),
                          "--version", str(grant["version"]))
    assert code == 1 and f"version {grant['version']} of 'digits' already exists" in err


def test_cli_failures_are_one_line_messages_with_a_nonzero_exit(stack, capsys, tmp_path):
    code, _, err = lepton(stack, capsys, "versions", "nope")
    assert code == 1 and "404 unknown model 'nope'" in err and "Traceback" not in err
    code, _, err = lepton(stack, capsys, "rollback", "sentiment", "99")
    assert code == 1 and "409 version 99 of 'sentiment' was never published" in err
    code, _, err = lepton(stack, capsys, "promote", "recommender")
    assert code == 1 and "no canary of 'recommender' is running" in err
    code, _, err = lepton(stack, capsys, "push", "tabular", str(tmp_path))
    assert code == 1 and "has no manifest.json" in err
    code, _, err = lepton(stack, capsys, "push", "tabular", str(stack.settings.artifacts / "digits"))
    assert code == 1 and "is for model 'digits', not 'tabular'" in err
    port = free_port()
    capsys.readouterr()
    assert main(["models", "--endpoint", f"http://127.0.0.1:{port}"]) == 1
    assert f"no local stack on 127.0.0.1:{port} — run `make up`" in capsys.readouterr().err


# -------------------------------------------------------------------------------------- capture and replay
def captured(stack, model: str, version: int, at_least: int, timeout: float = 20.0) -> list:
    """The stack's captured requests of one version, read back from the local S3 as the deployer reads them."""
    from lepton_deploy.captures import CaptureStore

    store = CaptureStore(stack.client("s3"), stack.names["CaptureBucket"])
    deadline = time.monotonic() + timeout
    while True:
        found = store.latest(model, version, 1000)
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_captured_traffic_refuses_a_version_with_swapped_outputs_and_passes_a_retrain(stack, capsys, tmp_path):
    rows = np.random.default_rng(5).normal(size=(200, 3)).round(3).tolist()
    live = lepton_json(stack, capsys, "models")["models"]
    live_version = {m["name"]: m["live_version"] for m in live}["tabular"]
    # GIVEN callers' requests to the live tabular version, captured to the local S3
    for i in range(0, 200, 5):
        body = {"inputs": [{"name": "features", "shape": [5, 3], "datatype": "FP32", "data": rows[i:i + 5]}]}
        assert requests.post(f"{stack.base_url}/v2/models/tabular/infer", json=body, timeout=10).status_code == 200
    records = captured(stack, "tabular", live_version, 40)
    assert len(records) >= 40 and all(r.function == "lepton-local-TabularFunction" for r in records)
    keys = [o["Key"] for o in stack.client("s3").list_objects_v2(Bucket=stack.names["CaptureBucket"],
                                                                  Prefix="captures/tabular/")["Contents"]]
    assert keys and all(k.count("/") == 6 for k in keys)  # captures/tabular/YYYY/MM/DD/HH/<object>
    # WHEN a version with its outputs swapped (and golden examples computed from it) is pushed
    seed = 11  # stack_models' tabular
    swapped = swapped_mlp(seed)
    write_artifact(tmp_path / "swapped", swapped, manifest_for(swapped, metrics={"accuracy": 0.93}))
    code, out, err = lepton(stack, capsys, "push", "tabular", str(tmp_path / "swapped"))
    # THEN the replay gate refuses it with the agreement figure and where the disagreeing cases are
    assert code == 1, err
    refused = int(out.split("uploaded tabular v", 1)[1].split(" ", 1)[0])
    assert f"tabular v{refused}: rejected — agreement 0.00 on " in out and "(check: replay)" in out
    attempt = lepton_json(stack, capsys, "deployments", "tabular", "--limit", "1")["deployments"][0]
    replay = attempt["checks"][1]
    cases = stack.client("s3").get_object(Bucket=stack.names["CaptureBucket"], Key=replay["figures"]["cases_key"])
    assert json.loads(cases["Body"].read())["cases"][0]["live"]
    code, table, _ = lepton(stack, capsys, "deployments", "tabular", "--limit", "1")
    assert all(word in table for word in ("pre-traffic", "passed", "replay", "0.00"))
    # AND `lepton replay` shows the same comparison on demand, as a table
    code, table, err = lepton(stack, capsys, "replay", "tabular", "--version", str(refused))
    assert code == 1 and "agreement" in table and "classifier" in table and "disagreeing cases" in table, err
    # AND a retrain that learnt nearly the same function goes live
    retrain = nudged_mlp(seed)
    write_artifact(tmp_path / "retrain", retrain, manifest_for(retrain, metrics={"accuracy": 0.93}))
    stack.tabular[str(refused + 1)] = retrain
    code, out, err = lepton(stack, capsys, "push", "tabular", str(tmp_path / "retrain"))
    assert code == 0, out + err
    assert f"tabular v{refused + 1}: promoted" in out and "replay: agreement" in out
    assert served(stack, str(refused + 1))["model_version"] == str(refused + 1)
    status = requests.get(f"{stack.base_url}/status", timeout=10).json()["deployments"]
    assert [c["name"] for c in status[0]["checks"]] == ["pre_traffic", "replay", "receipt"]
    assert "s3://<bucket>/replays/" in next(a for a in status if a["version"] == refused)["checks"][1]["summary"]
