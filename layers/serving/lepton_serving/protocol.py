"""The Open Inference Protocol (KServe / Triton "V2") over JSON: decode, validate, encode.

Every check happens here, before onnxruntime sees a tensor, so a bad request is a 4xx with a
message naming the tensor and the problem, never an onnxruntime error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from .errors import InvalidRequest, InvalidTensor, LimitExceeded
from .manifest import NUMPY_TO_V2, V2_TO_NUMPY, TensorSpec

_FLOAT = {"FP16", "FP32", "FP64"}
_INT = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
# dtype objects, built once: `astype("float32")` parses the name and `dtype.name` formats it on
# every call, a few µs each per request.
_DTYPE = {v2: np.dtype(name) for v2, name in V2_TO_NUMPY.items()}
_V2_OF = {np.dtype(name): v2 for name, v2 in NUMPY_TO_V2.items() if name != "object"}


@dataclass
class InferRequest:
    inputs: dict[str, np.ndarray]
    id: str | None = None
    outputs: list[str] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def loads(body: bytes | str | None) -> Any:
    if not body:
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)


def parse_infer_request(body: bytes | str | None, specs: list[TensorSpec], max_batch: int) -> InferRequest:
    doc = loads(body)
    if not isinstance(doc, dict):
        raise InvalidRequest("an inference request must be a JSON object with an 'inputs' list")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidRequest("'inputs' must be a non-empty list of tensors {name, shape, datatype, data}")
    by_name = {s.name: s for s in specs}
    headers: dict[str, tuple[dict[str, Any], list[int]]] = {}
    for raw in raw_inputs:
        if not isinstance(raw, dict):
            raise InvalidRequest("each entry of 'inputs' must be an object {name, shape, datatype, data}")
        name = raw.get("name")
        if name not in by_name:
            raise InvalidTensor(f"unknown input '{name}'; this model takes {_names(specs)}")
        if name in headers:
            raise InvalidTensor(f"input '{name}' is given twice")
        headers[name] = (raw, check_header(raw, by_name[name]))
    missing = [s.name for s in specs if s.name not in headers]
    if missing:
        raise InvalidTensor(f"missing input(s) {', '.join(missing)}; this model takes {_names(specs)}")
    # The batch is judged from the declared shapes, before any data is converted.
    check_batch([shape for _, shape in headers.values()], max_batch)
    tensors = {name: decode_data(raw, by_name[name], shape) for name, (raw, shape) in headers.items()}
    outputs = _requested_outputs(doc.get("outputs"))
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidRequest("'id' must be a string")
    parameters = doc.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidRequest("'parameters' must be an object")
    return InferRequest(tensors, request_id, outputs, parameters)


def check_header(raw: dict[str, Any], spec: TensorSpec) -> list[int]:
    """A V2 tensor's datatype and shape against the model's spec; returns the shape."""
    name = spec.name
    datatype, shape = raw.get("datatype"), raw.get("shape")
    if datatype != spec.datatype:
        raise InvalidTensor(f"input '{name}' must have datatype {spec.datatype}, got {datatype!r}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise InvalidTensor(f"input '{name}': 'shape' must be a list of non-negative integers")
    check_shape(name, shape, spec.shape)
    return shape


def decode_data(raw: dict[str, Any], spec: TensorSpec, shape: list[int]) -> np.ndarray:
    """A V2 tensor's ``data`` as an array of ``shape`` (the header already checked)."""
    data = raw.get("data")
    if not isinstance(data, list):
        raise InvalidTensor(f"input '{spec.name}': 'data' must be a list (flat or nested, row-major)")
    return _shaped(spec.name, to_array(spec.name, data, spec.datatype), shape, "'data' has")


def decode_rows(spec: TensorSpec, rows: list) -> np.ndarray:
    """Plain rows (a friendly route's instances) -> one tensor of ``spec``: [len(rows), *row shape]."""
    shape = [len(rows), *(_row_shape(rows[0]) if rows else [])]
    check_shape(spec.name, shape, spec.shape)
    return _shaped(spec.name, to_array(spec.name, rows, spec.datatype), shape, "the rows have")


def _shaped(name: str, array: np.ndarray, shape: list[int], given: str) -> np.ndarray:
    expected = math.prod(shape)
    if array.size != expected:
        raise InvalidTensor(f"input '{name}': shape {shape} needs {expected} elements, {given} {array.size}")
    return array.reshape(shape)


def to_array(name: str, data: list, datatype: str) -> np.ndarray:
    if datatype == "BYTES":
        flat = _flatten(data)
        if not all(isinstance(v, str) for v in flat):
            raise InvalidTensor(f"input '{name}': BYTES data must be strings")
        return np.array(flat, dtype=object)
    if datatype == "BOOL":
        return _booleans(name, data)
    try:
        array = np.asarray(data)
    except ValueError as exc:
        raise InvalidTensor(f"input '{name}': 'data' is ragged; nested lists must be rectangular") from exc
    kind = array.dtype.kind
    if array.size and kind not in "biuf":
        raise InvalidTensor(f"input '{name}': 'data' must contain only numbers for {datatype}")
    if datatype in _FLOAT:
        with np.errstate(over="ignore"):  # overflow becomes inf, refused just below
            array = array.astype(_DTYPE[datatype], copy=False)
        if not np.isfinite(array).all():
            raise InvalidTensor(f"input '{name}': values must be finite (no NaN or Infinity)")
        return array
    if datatype in _INT:
        if kind == "f":
            if array.size and not np.equal(np.mod(array, 1), 0).all():
                raise InvalidTensor(f"input '{name}': {datatype} data must be whole numbers")
        target = _DTYPE[datatype]
        info = np.iinfo(target)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise InvalidTensor(f"input '{name}': values out of range for {datatype}")
        return array.astype(target, copy=False)
    return array.astype(_DTYPE[datatype], copy=False)


def _booleans(name: str, data: list) -> np.ndarray:
    """BOOL is JSON true/false, as Triton reads it: 0/1 or "true" would be a guess."""
    flat = _flatten(data)
    if not all(type(v) is bool for v in flat):
        raise InvalidTensor(f"input '{name}': BOOL data must be true or false")
    return np.array(flat, dtype=bool)


def check_shape(name: str, shape: list[int], expected: list[int]) -> None:
    if len(shape) != len(expected) or any(e >= 0 and e != d for d, e in zip(shape, expected)):
        readable = [d if d >= 0 else -1 for d in expected]
        raise InvalidTensor(f"input '{name}' must have shape {readable} (-1 = any), got {shape}")


def check_batch(shapes: list[list[int]], max_batch: int) -> None:
    sizes = {shape[0] for shape in shapes if shape}
    if len(sizes) > 1:
        raise InvalidTensor(f"inputs disagree on the batch size: {sorted(sizes)}")
    check_rows(sizes.pop() if sizes else 1, max_batch)


def check_rows(count: int, max_batch: int, noun: str = "") -> None:
    """The one batch rule, for both routes: at least one row, at most ``max_batch``."""
    if count == 0:
        raise InvalidTensor(f"nothing to predict: send at least one {noun[:-1] if noun.endswith('s') else 'row'}"
                            if noun else "the batch is empty; send at least one row")
    if count > max_batch:
        what = f"{count} {noun}" if noun else f"batch size {count}"
        raise LimitExceeded(f"{what} is above this model's maximum of {max_batch}; split the request")


def encode_tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    datatype = "BYTES" if array.dtype.kind in "OUS" else _V2_OF.get(array.dtype)
    if datatype is None:
        raise TypeError(f"output {name} has unsupported dtype {array.dtype}")
    data = array.ravel()
    if datatype == "BYTES":
        data = [v.decode() if isinstance(v, bytes) else str(v) for v in data]
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


def infer_response(model_name: str, model_version: str, outputs: dict[str, np.ndarray],
                   request_id: str | None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "model_name": model_name,
        "model_version": model_version,
        "outputs": [encode_tensor(n, a) for n, a in outputs.items()],
    }
    if request_id is not None:
        response["id"] = request_id
    if parameters:
        response["parameters"] = parameters
    return response


def model_metadata(name: str, version: str, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [version] if version else [],
        "platform": "onnxruntime_onnx",
        "inputs": [s.to_dict() for s in inputs],
        "outputs": [s.to_dict() for s in outputs],
    }


def select_outputs(outputs: dict[str, np.ndarray], requested: list[str] | None) -> dict[str, np.ndarray]:
    if not requested:
        return outputs
    unknown = [n for n in requested if n not in outputs]
    if unknown:
        raise InvalidTensor(f"unknown output(s) {', '.join(unknown)}; this model returns {', '.join(outputs)}")
    return {n: outputs[n] for n in requested}


def _requested_outputs(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in raw):
        raise InvalidRequest("'outputs' must be a list of objects with a 'name'")
    return [o["name"] for o in raw]


def _row_shape(row: Any) -> list[int]:
    shape: list[int] = []
    while isinstance(row, list):
        shape.append(len(row))
        row = row[0] if row else None
    return shape


def _flatten(data: list) -> list:
    flat: list = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    return flat


def _names(specs: list[TensorSpec]) -> str:
    return ", ".join(f"'{s.name}' ({s.datatype} {s.shape})" for s in specs)
