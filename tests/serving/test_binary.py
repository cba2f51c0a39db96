"""The binary tensor data extension, against bytes worked out by hand from the specification:
little-endian, row-major, BOOL one byte, BYTES a 4-byte little-endian length then the bytes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lepton_serving.errors import InvalidRequest, InvalidTensor, status_for
from lepton_serving.manifest import TensorSpec
from lepton_serving.protocol import InferRequest, RequestedOutput, encode_infer_response, parse_infer_request

SPECS = [TensorSpec("x", "FP32", [-1, 3]), TensorSpec("h", "FP16", [-1, 3]), TensorSpec("s", "BYTES", [-1]),
         TensorSpec("mask", "BOOL", [-1, 2]), TensorSpec("n", "INT64", [-1])]
# 1.0, 2.0, -0.5 as IEEE-754 binary32: 0x3F800000, 0x40000000, 0xBF000000, bytes reversed.
X_BYTES = bytes.fromhex("0000803f" "00000040" "000000bf")
# 1.0, -2.0, 0.5 as binary16: 0x3C00, 0xC000, 0x3800.
H_BYTES = bytes.fromhex("003c" "00c0" "0038")
# "été" in UTF-8 is c3 a9 74 c3 a9: five bytes, so the length prefix is 05 00 00 00.
S_BYTES = bytes.fromhex("05000000" "c3a974c3a9")
MASK_BYTES = bytes.fromhex("0100")


def request(inputs: list[dict], binary: bytes = b"", **extra) -> tuple[bytes, int | None]:
    header = json.dumps({"inputs": inputs, **extra}).encode()
    return (header + binary, len(header)) if binary else (header, None)


def tensor(name: str, datatype: str, shape: list[int], size: int | None = None, data=None) -> dict:
    out = {"name": name, "datatype": datatype, "shape": shape}
    if size is not None:
        out["parameters"] = {"binary_data_size": size}
    if data is not None:
        out["data"] = data
    return out


def test_mixed_binary_and_json_inputs_decode_in_request_order():
    # GIVEN x, s and mask as binary data (in that order after the JSON) and h, n as JSON
    body, length = request(
        [tensor("x", "FP32", [1, 3], 12), tensor("h", "FP16", [1, 3], data=[1.0, -2.0, 0.5]),
         tensor("s", "BYTES", [1], 9), tensor("mask", "BOOL", [1, 2], 2), tensor("n", "INT64", [1], data=[7])],
        X_BYTES + S_BYTES + MASK_BYTES)
    # WHEN it is parsed
    parsed = parse_infer_request(body, SPECS, 8, length).inputs
    # THEN every tensor has the values the bytes spell
    assert parsed["x"].dtype == np.float32 and parsed["x"].tolist() == [[1.0, 2.0, -0.5]]
    assert parsed["h"].dtype == np.float16 and parsed["h"].tolist() == [[1.0, -2.0, 0.5]]
    assert parsed["s"].tolist() == ["été"]
    assert parsed["mask"].dtype == np.bool_ and parsed["mask"].tolist() == [[True, False]]
    assert parsed["n"].tolist() == [7]


def test_fp16_binary_input_is_the_half_precision_bytes():
    specs = [TensorSpec("h", "FP16", [-1, 3])]
    body, length = request([tensor("h", "FP16", [1, 3], 6)], H_BYTES)
    assert parse_infer_request(body, specs, 8, length).inputs["h"].tolist() == [[1.0, -2.0, 0.5]]


def test_binary_response_lays_outputs_out_after_the_json_header():
    outputs = {"x": np.array([[1.0, 2.0, -0.5]], np.float32), "s": np.array(["hi", "été"], dtype=object),
               "mask": np.array([True, False])}
    # the request asks for all outputs as binary data, but x as JSON
    req = InferRequest({}, id="r1", outputs=[RequestedOutput("x", binary=False), RequestedOutput("s"),
                                             RequestedOutput("mask")], parameters={"binary_data_output": True})
    encoded = encode_infer_response("m", "2", outputs, req)
    header = json.loads(encoded.body[:encoded.header_length])
    assert encoded.content_type == "application/octet-stream"
    assert header["outputs"][0] == {"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1.0, 2.0, -0.5]}
    assert header["outputs"][1] == {"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 15}}
    assert header["outputs"][2] == {"name": "mask", "datatype": "BOOL", "shape": [2], "parameters": {"binary_data_size": 2}}
    assert encoded.body[encoded.header_length:] == bytes.fromhex("02000000" "6869") + S_BYTES + MASK_BYTES


def test_fp16_output_as_binary_data_is_its_half_precision_bytes():
    req = InferRequest({}, outputs=[RequestedOutput("h", binary=True)])
    encoded = encode_infer_response("m", "1", {"h": np.array([1.0, -2.0, 0.5], np.float16)}, req)
    assert encoded.body[encoded.header_length:] == H_BYTES


def test_json_is_the_default_and_no_header_length_is_set():
    encoded = encode_infer_response("m", "1", {"x": np.array([1.0], np.float32)}, InferRequest({}))
    assert encoded.header_length is None and json.loads(encoded.body)["outputs"][0]["data"] == [1.0]


def test_classification_returns_the_top_k_as_value_index_label():
    specs = [TensorSpec("x", "FP32", [-1, 3])]
    body, length = request([tensor("x", "FP32", [1, 3], data=[1, 2, 3])],
                           outputs=[{"name": "p", "parameters": {"classification": 2}}])
    parsed = parse_infer_request(body, specs, 8, length)
    from lepton_serving.protocol import select_outputs

    scores = {"p": np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]], np.float32)}
    out = select_outputs(scores, parsed.outputs, ["cat", "dog", "eel"])["p"]
    assert out.tolist() == [["0.7:1:dog", "0.2:2:eel"], ["0.6:0:cat", "0.3:1:dog"]]


BAD = {
    "header length past the end": (lambda: request([tensor("x", "FP32", [1, 3], 12)], X_BYTES), 10_000,
                                   InvalidRequest, "past the end"),
    "bytes shorter than shape x size": (lambda: request([tensor("x", "FP32", [1, 3], 8)], X_BYTES[:8]), None,
                                        InvalidTensor, "needs 12 bytes, binary_data_size is 8"),
    "binary_data_size past the data": (lambda: request([tensor("x", "FP32", [1, 3], 12)], X_BYTES[:10]), None,
                                       InvalidTensor, "only 10 byte(s) of binary data are left"),
    "bytes left over": (lambda: request([tensor("x", "FP32", [1, 3], 12)], X_BYTES + b"\x00\x01"), None,
                        InvalidRequest, "2 byte(s) of binary data follow the last binary input"),
    "BYTES length running past the end": (lambda: request([tensor("s", "BYTES", [1], 6)], bytes.fromhex("09000000c3a9")),
                                          None, InvalidTensor, "says 9 bytes, only 2 are left"),
    "BYTES length truncated": (lambda: request([tensor("s", "BYTES", [2], 11)], S_BYTES + b"\x01\x00"), None,
                               InvalidTensor, "truncated 4-byte length"),
    "BYTES count differs from shape": (lambda: request([tensor("s", "BYTES", [2], 9)], S_BYTES), None,
                                       InvalidTensor, "needs 2 BYTES element(s), the binary data has 1"),
    "BYTES not UTF-8": (lambda: request([tensor("s", "BYTES", [1], 6)], bytes.fromhex("02000000ff fe".replace(" ", ""))),
                        None, InvalidTensor, "not UTF-8"),
    "binary_data_size and data": (lambda: request([tensor("x", "FP32", [1, 3], 12, data=[1, 2, 3])], X_BYTES), None,
                                  InvalidTensor, "both 'data' and binary_data_size"),
    "binary_data_size not an integer": (lambda: request([tensor("x", "FP32", [1, 3], "12")], X_BYTES), None,
                                        InvalidRequest, "'binary_data_size' of input 'x' must be a whole number"),
    "binary_data_size negative": (lambda: request([tensor("x", "FP32", [1, 3], -4)], X_BYTES), None,
                                  InvalidRequest, "must be a whole number, 0 or more"),
    "binary_data_output not a boolean": (lambda: request([tensor("x", "FP32", [1, 3], data=[1, 2, 3])],
                                                         parameters={"binary_data_output": "yes"}), None,
                                         InvalidRequest, "'binary_data_output' of the request must be true or false"),
    "binary_data not a boolean": (lambda: request([tensor("x", "FP32", [1, 3], data=[1, 2, 3])],
                                                  outputs=[{"name": "x", "parameters": {"binary_data": 1}}]), None,
                                  InvalidRequest, "'binary_data' of output 'x' must be true or false"),
    "classification zero": (lambda: request([tensor("x", "FP32", [1, 3], data=[1, 2, 3])],
                                            outputs=[{"name": "x", "parameters": {"classification": 0}}]), None,
                            InvalidRequest, "must be 1 or more"),
    "BOOL byte not 0 or 1": (lambda: request([tensor("mask", "BOOL", [1, 2], 2)], b"\x01\x02"), None,
                             InvalidTensor, "0 or 1"),
    "NaN in FP32 bytes": (lambda: request([tensor("x", "FP32", [1, 3], 12)], bytes.fromhex("0000c07f") + X_BYTES[4:]),
                          None, InvalidTensor, "finite"),
    "binary sizes but no header length": (lambda: (json.dumps({"inputs": [tensor("x", "FP32", [1, 3], 12)]}).encode(),
                                                    None), None, InvalidTensor, "only 0 byte(s)"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_every_malformed_binary_request_is_a_400_with_a_reason(case):
    build, header_length, error, words = BAD[case]
    body, length = build()
    # the model takes exactly the inputs the request names (so no other check fires first)
    named = {t["name"] for t in json.loads(body[:length] if length else body)["inputs"]}
    with pytest.raises(error) as raised:
        parse_infer_request(body, [s for s in SPECS if s.name in named], 8,
                            header_length if header_length is not None else length)
    assert words in raised.value.message
    assert status_for(raised.value) == 400


@pytest.mark.parametrize("raw", ["-1", "ten", "1.5", "", " ", "+5", "--5", "²", "٣", "1_0", "0x10", "1" * 13,
                                 "9" * 5000])
def test_a_header_length_that_is_not_ascii_digits_is_refused_with_a_400(raw):
    # "²" and "٣" pass str.isdigit, "--5" passes isdigit after lstrip("-"), "1_0" and 5,000 digits
    # pass int() or make it raise: each is read as the server reads it, ASCII digits only.
    from lepton_serving.binary import header_length

    with pytest.raises(InvalidRequest, match="ASCII digits") as raised:
        header_length(raw)
    assert status_for(raised.value) == 400


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("17", 17), (" 42\t", 42), ("000123456789", 123456789)])
def test_a_header_length_of_ascii_digits_is_read_as_a_number(raw, value):
    from lepton_serving.binary import header_length

    assert header_length(raw) == value
