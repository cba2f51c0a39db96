"""Every byte a caller sends is judged at one boundary (lepton_serving/boundary.py): each hostile
request here was answered with a 500 before, and is now a 4xx that says what to fix. A 5xx is
left for the function's own faults, and says so."""
from __future__ import annotations

import base64
import copy
import json

import numpy as np
import pytest

import family_models as fm
import hostile
from eventfiles import load_event
from family_harness import call, with_body

FAMILIES = ("tabular", "digits", "sentiment", "recommender", "generator", "churn")


def v2_event(model: str, versioned: bool = False) -> dict:
    """A V2 infer event for ``model`` (churn, an added model, borrows tabular's event's shape)."""
    event = load_event(f"{'tabular' if model == 'churn' else model}/infer.json")
    path = f"/v2/models/{model}/versions/1/infer" if versioned else f"/v2/models/{model}/infer"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {path}"
    return event


def predict_event(model: str, payload: object) -> dict:
    event = with_body("tabular/predict.json", payload)
    path = f"/models/{model}/predict"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {path}"
    return event


# -- 1. the binary extension's header ------------------------------------------------------------
@pytest.mark.parametrize("value", ["²", "--5", "٣", "1_0", "9" * 5000])
@pytest.mark.parametrize("versioned", [False, True], ids=["infer", "version-infer"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_header_length_that_passes_a_digit_test_but_not_int_is_a_400_on_every_v2_infer_route(
        request, family, versioned, value):
    handler = request.getfixturevalue(family)
    event = v2_event(family, versioned)
    event["headers"]["inference-header-content-length"] = value
    code, body = call(handler, event)
    assert code == 400, body
    assert "inference-header-content-length" in body["error"] and "ASCII digits" in body["error"]


# -- 2. image containers that fail while being opened --------------------------------------------
@pytest.mark.parametrize("name", sorted(hostile.BROKEN_IMAGES))
def test_an_image_container_that_fails_while_opening_is_a_400_naming_the_file(digits, name):
    image = base64.b64encode(hostile.BROKEN_IMAGES[name]()).decode()
    code, body = call(digits, with_body("digits/predict-image.json", {"image": image}))
    assert code == 400, body
    assert "'image' is a damaged PNG or JPEG file" in body["error"]


def test_only_png_and_jpeg_are_opened(digits):
    code, body = call(digits, with_body("digits/predict-image.json", {"image": base64.b64encode(hostile.gif()).decode()}))
    assert code == 400 and "not a PNG or JPEG image" in body["error"]


# -- 3. onnxruntime failing on well-typed values ------------------------------------------------
@pytest.mark.parametrize("customer", [fm.CUSTOMERS, -fm.CUSTOMERS - 1, 10**12])
def test_an_id_outside_an_added_models_embedding_is_a_422_input_error_in_its_own_metric(churn, capsys, customer):
    capsys.readouterr()
    event = v2_event("churn")
    event["body"] = json.dumps({"inputs": [
        {"name": "customer_id", "datatype": "INT64", "shape": [1], "data": [customer]},
        {"name": "usage", "datatype": "FP32", "shape": [1, 2], "data": [0.5, 1.0]}]})
    code, body = call(churn, event)
    assert code == 422, body
    assert "onnxruntime says: Gather node" in body["error"]
    assert "indices element out of data bounds" in body["error"]
    assert "[ONNXRuntimeError]" not in body["error"] and ".cc:" not in body["error"]
    counted = hostile.emf_counts(capsys.readouterr().out)
    assert counted["InputErrors"] == counted["ClientErrors"] == 1 and counted.get("ServerErrors", 0) == 0


def test_the_same_id_on_the_friendly_route_is_the_same_422(churn):
    code, body = call(churn, predict_event("churn", {"inputs": {
        "customer_id": [3, fm.CUSTOMERS], "usage": [[0.5, 1.0], [0.1, 0.2]]}}))
    assert code == 422 and "idx=20" in body["error"], body


def test_a_negative_id_inside_the_table_is_answered_as_onnxruntime_reads_it(churn):
    # Gather counts a negative index from the end: the answer is the last customer's, as the graph says.
    event = v2_event("churn")
    event["body"] = json.dumps({"inputs": [
        {"name": "customer_id", "datatype": "INT64", "shape": [1], "data": [-1]},
        {"name": "usage", "datatype": "FP32", "shape": [1, 2], "data": [0.5, 1.0]}]})
    code, body = call(churn, event)
    expected = fm.run(fm.churn_model(), {"customer_id": np.array([fm.CUSTOMERS - 1], np.int64),
                                         "usage": np.array([[0.5, 1.0]], np.float32)})["churn"]
    assert code == 200 and np.allclose(body["outputs"][0]["data"], expected.ravel())


# -- by construction: what no check names is still the caller's, and our faults stay ours --------
def test_an_exception_no_check_names_while_reading_is_a_400_not_a_500(churn, monkeypatch):
    def broken(doc):
        raise KeyError("a parser raising something nobody listed")

    monkeypatch.setattr(churn.plane.model, "read_predict", broken)
    code, body = call(churn, predict_event("churn", {"instances": []}))
    assert code == 400 and body["error"] == "the request could not be read: KeyError: 'a parser raising something nobody listed'"


def test_a_bug_after_the_model_ran_is_a_500_with_a_request_id_logged_with_its_stack(churn, monkeypatch, caplog):
    def broken(outputs, request):
        raise RuntimeError("our bug")

    monkeypatch.setattr(churn.plane.model, "encode_predict", broken)
    event = predict_event("churn", {"inputs": {"customer_id": [3], "usage": [[0.5, 1.0]]}})
    code, body = call(churn, event)
    assert code == 500 and body == {"error": f"internal error; quote request id {event['requestContext']['requestId']}"}
    (error,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert error.gateway_request_id == event["requestContext"]["requestId"]
    assert error.exc_info[1].args == ("our bug",)


# -- a version's manifest that cannot set the function up: 503 with backoff, never a 500 --------
@pytest.mark.parametrize(("family", "preprocessing"), [
    ("digits", {"height": "eight"}), ("generator", {"max_value": "lots"}), ("tabular", {"feature_names": 5})])
def test_a_setup_failure_is_the_integrity_error_with_retry_after_and_backoff(serve_version, family, preprocessing):
    import importlib

    manifest, data = hostile.family_version(family, version=90)
    manifest.preprocessing = {**manifest.preprocessing, **preprocessing}
    handler = serve_version(importlib.import_module(f"{family}.handler").lambda_handler, manifest, data)
    event = v2_event(family)
    first = handler(copy.deepcopy(event), None)
    assert first["statusCode"] == 503 and first["headers"]["Retry-After"] == "1", first
    assert f"{family} v90" in json.loads(first["body"])["error"]
    loads = []
    handler.plane._load = lambda: loads.append(1)  # inside the backoff nothing loads again
    second = handler(copy.deepcopy(event), None)
    assert second["statusCode"] == 503 and loads == []


def test_digit_labels_that_only_look_like_digits_are_answered_as_labels(serve_version):
    from digits.handler import lambda_handler

    manifest = fm.digits_manifest(version=91)
    manifest.labels = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "²"]
    handler = serve_version(lambda_handler, manifest, fm.digits_model())
    code, body = call(handler, load_event("digits/predict-pixels.json"))
    assert code == 200, body
    assert {entry["digit"] for entry in body["predictions"][0]["top_k"]} <= {*range(9), "²"}
