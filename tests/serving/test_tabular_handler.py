"""The tabular function end to end: every events/ file through the handler Lambda imports."""
from __future__ import annotations

import base64
import io
import json
import logging

import numpy as np
import pytest

from eventfiles import EVENTS, load_event
from lepton.local.context import LambdaContext
from onnx_models import run

CASES = {
    "infer.json": 200,
    "infer-flat.json": 200,
    "infer-bad-shape.json": 400,
    "predict.json": 200,
    "predict-named.json": 200,
    "metadata.json": 200,
    "ready.json": 200,
    "health-live.json": 200,
    "health-ready.json": 200,
}


def call(handler, event: dict) -> tuple[int, dict]:
    response = handler(event, LambdaContext("tabular"))
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def with_body(name: str, payload) -> dict:
    event = load_event(f"tabular/{name}")
    event["body"] = payload if isinstance(payload, str) else json.dumps(payload)
    return event


BINARY_CASES = {"infer-binary.json"}  # a binary answer: tested on its own below


def test_every_tabular_event_file_has_a_case():
    assert {p.name for p in (EVENTS / "tabular").glob("*.json")} == set(CASES) | BINARY_CASES


def test_a_binary_request_through_api_gateway_gets_a_binary_answer(tabular):
    # GIVEN the event API Gateway delivers for a binary V2 request: the body base64-encoded
    event = load_event("tabular/infer-binary.json")
    sent = base64.b64decode(event["body"])
    header_length = int(event["headers"]["inference-header-content-length"])
    rows = np.frombuffer(sent[header_length:], "<f4").reshape(2, 3)
    # WHEN the handler answers it
    response = tabular(event, LambdaContext("tabular"))
    # THEN the answer is binary too: base64 for API Gateway to decode, with the JSON header's length
    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "application/octet-stream"
    body = base64.b64decode(response["body"])
    length = int(response["headers"]["Inference-Header-Content-Length"])
    header = json.loads(body[:length])
    assert header["id"] == "req-binary" and header["model_version"] == "1"
    (output,) = header["outputs"]
    assert output == {"name": "probabilities", "datatype": "FP32", "shape": [2, 2], "parameters": {"binary_data_size": 16}}
    expected = run(tabular.published.model_bytes, {"features": rows})["probabilities"]
    np.testing.assert_allclose(np.frombuffer(body[length:], "<f4").reshape(2, 2), expected, rtol=1e-6)


@pytest.mark.parametrize(("name", "status"), sorted(CASES.items()))
def test_event_file_gets_its_expected_status(tabular, name, status):
    code, body = call(tabular, load_event(f"tabular/{name}"))
    assert code == status, body


def test_infer_returns_what_onnxruntime_computes_with_the_version_and_id(tabular):
    code, body = call(tabular, load_event("tabular/infer.json"))
    rows = json.loads(load_event("tabular/infer.json")["body"])["inputs"][0]["data"]
    expected = run(tabular.published.model_bytes, {"features": np.asarray(rows, dtype=np.float32)})["probabilities"]
    assert code == 200
    assert body["model_name"] == "tabular"
    assert body["model_version"] == "1"
    assert body["id"] == "req-1"
    (output,) = body["outputs"]
    assert output["name"] == "probabilities" and output["shape"] == [2, 2] and output["datatype"] == "FP32"
    np.testing.assert_allclose(output["data"], expected.ravel(), rtol=1e-6)


def test_predict_labels_rows_and_accepts_named_features(tabular):
    _, by_position = call(tabular, with_body("predict.json", {"instances": [[0.5, -1.0, 0.2]]}))
    _, by_name = call(tabular, with_body("predict.json", {"instances": [
        {"worst radius": 0.5, "worst smoothness": -1.0, "worst texture": 0.2}]}))
    expected = run(tabular.published.model_bytes, {"features": np.array([[0.5, -1.0, 0.2]], np.float32)})
    probabilities = expected["probabilities"][0]
    (prediction,) = by_position["predictions"]
    assert prediction["label"] == ["malignant", "benign"][int(probabilities.argmax())]
    assert prediction["probabilities"]["benign"] == pytest.approx(float(probabilities[1]), rel=1e-6)
    assert by_name["predictions"] == by_position["predictions"]
    assert by_position["model_version"] == "1"


def test_metadata_describes_the_model_in_v2_terms(tabular):
    _, body = call(tabular, load_event("tabular/metadata.json"))
    assert body == {
        "name": "tabular",
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 3]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
    }


@pytest.mark.parametrize(
    ("event", "payload", "status", "fragment"),
    [
        ("infer.json", "{broken", 400, "not valid JSON"),
        ("infer.json", {"inputs": [{"name": "features", "shape": [1, 3], "datatype": "FP32", "data": [1, "x", 3]}]},
         400, "only numbers"),
        ("infer.json", {"inputs": [{"name": "age", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
         400, "unknown input 'age'"),
        ("infer.json", {"inputs": [{"name": "features", "shape": [65, 3], "datatype": "FP32",
                                    "data": [[1, 2, 3]] * 65}]}, 422, "maximum of 64"),
        ("infer.json", {"inputs": [{"name": "features", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}],
                        "outputs": [{"name": "logits"}]}, 400, "unknown output(s) logits"),
        ("predict.json", {"rows": [[1, 2, 3]]}, 400, "instances"),
        ("predict.json", {"instances": [[1, 2]]}, 400, "list of 3 numbers"),
        ("predict.json", {"instances": [{"worst radius": 1}]}, 400, "missing feature"),
        ("predict.json", {"instances": []}, 400, "at least one"),
        ("predict.json", {"instances": [[1, 2, 3]] * 65}, 422, "maximum of 64"),
    ],
)
def test_bad_requests_get_a_clear_4xx(tabular, event, payload, status, fragment):
    code, body = call(tabular, with_body(event, payload))
    assert code == status
    assert fragment in body["error"]
    assert "Traceback" not in body["error"]


def test_a_body_above_lambdas_6mb_limit_is_413(tabular):
    code, body = call(tabular, with_body("infer.json", " " * (6 * 1024 * 1024 + 1)))
    assert code == 413 and "limit" in body["error"]


def test_another_models_name_is_404(tabular):
    event = load_event("tabular/metadata.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v2/models/digits"
    code, body = call(tabular, event)
    assert code == 404 and "serves 'tabular'" in body["error"]


def test_unknown_route_is_404_json(tabular):
    event = load_event("tabular/metadata.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v3/nothing"
    code, body = call(tabular, event)
    assert code == 404 and "no route" in body["error"]


def test_without_a_deployed_model_requests_are_503_and_readiness_false(s3, tmp_path):
    from tabular.handler import lambda_handler

    handler = lambda_handler.with_environment({"LEPTON_MODEL_NAME": "tabular", "LEPTON_CACHE_DIR": str(tmp_path)})
    code, body = call(handler, load_event("tabular/infer.json"))
    assert code == 503 and "no version of model 'tabular' is deployed" in body["error"]
    code, body = call(handler, load_event("tabular/health-ready.json"))
    assert (code, body) == (503, {"ready": False})


def test_logs_carry_request_id_model_and_version_but_never_the_payload(tabular):
    # Read the lines through Powertools' own JSON formatter, as CloudWatch would receive them.
    logger = tabular.telemetry.logger
    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(logger.registered_formatter)
    logger.addHandler(sink)
    logger.setLevel("INFO")
    event = with_body("infer.json", {"inputs": [{"name": "features", "shape": [1, 3], "datatype": "FP32",
                                                 "data": [123.456, 2, 3]}]})
    tabular.plane.model.ready = False  # force a load, which logs
    call(tabular, event)
    logger.removeHandler(sink)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    loaded = next(line for line in lines if line["message"] == "model loaded")
    assert loaded["model_name"] == "tabular"
    assert loaded["request_id"]
    assert all("123.456" not in json.dumps(line) for line in lines)


def test_metrics_split_latency_into_decode_and_inference(tabular, capsys):
    call(tabular, load_event("tabular/infer.json"))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for blob in emf for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"DecodeLatency", "InferenceLatency", "RequestLatency", "Invocations", "ColdStart"} <= names
