"""The V2 codec: what it accepts, what it refuses, and with which message."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lepton_serving.errors import InvalidRequest, InvalidTensor, LimitExceeded, status_for
from lepton_serving.manifest import TensorSpec
from lepton_serving.protocol import InferRequest, RequestedOutput, encode_infer_response, encode_tensor, parse_infer_request

FEATURES = [TensorSpec("features", "FP32", [-1, 3])]
TOKENS = [TensorSpec("tokens", "INT64", [-1, 4])]


def body(*inputs: dict, **extra) -> bytes:
    return json.dumps({"inputs": list(inputs), **extra}).encode()


def features(shape, data, datatype="FP32", name="features") -> dict:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_nested_and_flat_data_decode_to_the_same_row_major_tensor():
    nested = parse_infer_request(body(features([2, 3], [[1, 2, 3], [4, 5, 6]])), FEATURES, 8)
    flat = parse_infer_request(body(features([2, 3], [1, 2, 3, 4, 5, 6])), FEATURES, 8)
    expected = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    assert nested.inputs["features"].dtype == np.float32
    np.testing.assert_array_equal(nested.inputs["features"], expected)
    np.testing.assert_array_equal(flat.inputs["features"], expected)


def test_id_and_requested_outputs_are_kept():
    request = parse_infer_request(body(features([1, 3], [1, 2, 3]), id="abc", outputs=[{"name": "probabilities"}]),
                                  FEATURES, 8)
    assert request.id == "abc"
    assert request.outputs == [RequestedOutput("probabilities")]


@pytest.mark.parametrize(
    ("payload", "error", "fragment"),
    [
        (b"{not json", InvalidRequest, "not valid JSON"),
        (b"", InvalidRequest, "body is empty"),
        (b"[1, 2]", InvalidRequest, "JSON object"),
        (json.dumps({"inputs": []}).encode(), InvalidRequest, "non-empty list"),
        (body(features([1, 3], [1, 2, 3], name="x")), InvalidTensor, "unknown input 'x'"),
        (body(features([1, 3], [1, 2, 3]), features([1, 3], [1, 2, 3])), InvalidTensor, "given twice"),
        (body(features([1, 3], [1, 2, 3], datatype="INT64")), InvalidTensor, "datatype FP32"),
        (body(features([1, 4], [1, 2, 3, 4])), InvalidTensor, "must have shape [-1, 3]"),
        (body(features([3], [1, 2, 3])), InvalidTensor, "must have shape"),
        (body(features([2, 3], [1, 2, 3])), InvalidTensor, "needs 6 elements, 'data' has 3"),
        (body(features([1, 3], [1, "a", 3])), InvalidTensor, "only numbers"),
        (body(features([2, 3], [[1, 2, 3], [4, 5]])), InvalidTensor, "ragged"),
        (body(features([1, 3], [1, 2, 3])).replace(b"3]}", b"NaN]}"), InvalidRequest, "not valid JSON"),
        (body(features([1, -3], [1, 2, 3])), InvalidTensor, "non-negative integers"),
        (body(features([1, 3], "1,2,3")), InvalidTensor, "'data' must be a list"),
        (body(features([0, 3], [])), InvalidTensor, "batch is empty"),
    ],
)
def test_bad_requests_are_refused_with_a_message_naming_the_problem(payload, error, fragment):
    with pytest.raises(error) as raised:
        parse_infer_request(payload, FEATURES, 8)
    assert fragment in raised.value.message
    assert 400 <= status_for(raised.value) < 500


def test_values_that_overflow_the_datatype_are_refused_as_non_finite():
    # 1e39 is a valid JSON double but infinite as FP32.
    with pytest.raises(InvalidTensor, match="finite"):
        parse_infer_request(b'{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,1e39]}]}',
                            FEATURES, 8)


def test_batch_above_the_maximum_is_a_422_telling_the_limit():
    rows = [[1.0, 2.0, 3.0]] * 9
    with pytest.raises(LimitExceeded) as raised:
        parse_infer_request(body(features([9, 3], rows)), FEATURES, 8)
    assert "maximum of 8" in raised.value.message
    assert status_for(raised.value) == 422


def test_integer_inputs_refuse_fractions_and_out_of_range_values():
    ok = parse_infer_request(body(features([1, 4], [1, 2, 3, 4], "INT64", "tokens")), TOKENS, 8)
    assert ok.inputs["tokens"].dtype == np.int64
    with pytest.raises(InvalidTensor, match="whole numbers"):
        parse_infer_request(body(features([1, 4], [1, 2.5, 3, 4], "INT64", "tokens")), TOKENS, 8)
    with pytest.raises(InvalidTensor, match="out of range"):
        parse_infer_request(body(features([1, 4], [1, 2, 3, 2**70], "INT64", "tokens")), TOKENS, 8)


def test_response_is_flat_row_major_with_v2_datatypes():
    out = np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32)
    encoded = encode_infer_response("tabular", "3", {"probabilities": out}, InferRequest({}, id="req-9"))
    assert encoded.header_length is None and encoded.content_type == "application/json"
    response = json.loads(encoded.body)
    assert response == {
        "model_name": "tabular",
        "model_version": "3",
        "id": "req-9",
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [2, 2], "data": [0.25, 0.75, 0.5, 0.5]}],
    }
    assert encode_tensor("labels", np.array(["a", "b"], dtype=object))["datatype"] == "BYTES"
    assert encode_tensor("ids", np.array([1, 2], dtype=np.int64))["datatype"] == "INT64"


@pytest.mark.parametrize("value", [9223372036854775808.0, 1e19, 2.0**64])
def test_an_int64_written_as_a_float_past_its_range_is_refused_not_wrapped(value):
    with pytest.raises(InvalidTensor, match="out of range for INT64"):
        parse_infer_request(body(features([1, 4], [1, 2, 3, value], "INT64", "tokens")), TOKENS, 8)


def test_the_largest_int64_written_exactly_still_decodes():
    parsed = parse_infer_request(body(features([1, 4], [1, 2, 3, 9223372036854775807], "INT64", "tokens")), TOKENS, 8)
    assert parsed.inputs["tokens"].tolist() == [[1, 2, 3, 9223372036854775807]]


@pytest.mark.parametrize("data", [[True, False, True], [1.0, True, 0.5], [[13.0, 0.12, False]]])
def test_json_booleans_are_not_numbers(data):
    with pytest.raises(InvalidTensor, match="only numbers for FP32, not true/false"):
        parse_infer_request(body(features([1, 3], data)), FEATURES, 8)


@pytest.mark.parametrize("name", [["features"], {"n": 1}, 7, None])
def test_an_input_name_that_is_not_a_string_is_a_400(name):
    raw = json.dumps({"inputs": [{"name": name, "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})
    with pytest.raises(InvalidTensor, match="needs a 'name' string") as raised:
        parse_infer_request(raw, FEATURES, 8)
    assert status_for(raised.value) == 400


@pytest.mark.parametrize("data", [["not a number"] * 65 * 3, "not a list", [[1.0, 2.0]] * 65])
def test_the_batch_limit_is_judged_from_shape_before_any_data_is_converted(data):
    # A request over the batch limit is refused for that alone, whatever its data: converting
    # 65 rows first would answer the data's own problem instead (and spend the work).
    body = json.dumps({"inputs": [{"name": "x", "shape": [65, 3], "datatype": "FP32", "data": data}]})
    with pytest.raises(LimitExceeded, match="batch size 65 is above this model's maximum of 64"):
        parse_infer_request(body, [TensorSpec("x", "FP32", [-1, 3])], 64)


def test_the_friendly_route_counts_its_rows_before_converting_any(tabular):
    from lepton.local.context import LambdaContext

    from eventfiles import load_event

    event = load_event("tabular/predict.json")
    event["body"] = json.dumps({"instances": [["not", "numbers", "at all"]] * 65})
    answer = tabular(event, LambdaContext("tabular"))
    assert answer["statusCode"] == 422 and "65 instances is above" in json.loads(answer["body"])["error"]
