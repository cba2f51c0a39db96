"""The Open Inference Protocol (KServe / Triton "V2"): decode, validate, encode.

JSON tensors, and the binary tensor data extension (binary.py) both ways. Every check happens
here, before onnxruntime sees a tensor, so a bad request is a 4xx with a message naming the
tensor and the problem, never an onnxruntime error. The classification extension turns an
output into its top-k "value:index:label" strings.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import orjson

from . import binary
from .errors import InvalidRequest, InvalidTensor, LimitExceeded
from .manifest import NUMPY_TO_V2, V2_TO_NUMPY, TensorSpec

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"

_FLOAT = {"FP16", "FP32", "FP64"}
_INT = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
# dtype objects, built once: `astype("float32")` parses the name and `dtype.name` formats it on
# every call, a few µs each per request.
_DTYPE = {v2: np.dtype(name) for v2, name in V2_TO_NUMPY.items()}
_V2_OF = {np.dtype(name): v2 for name, v2 in NUMPY_TO_V2.items() if name != "object"}


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool | None = None  # None: the request's binary_data_output decides
    classification: int = 0  # top-k classes instead of the tensor (0: the tensor itself)


@dataclass
class InferRequest:
    inputs: dict[str, np.ndarray]
    id: str | None = None
    outputs: list[RequestedOutput] | None = None  # None: every output
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def binary_output(self) -> bool:
        """binary_data_output: every output as binary data unless one says otherwise."""
        return self.parameters.get("binary_data_output") is True


@dataclass(frozen=True)
class EncodedResponse:
    """An inference response as bytes: JSON alone, or a JSON header then binary tensors."""

    body: bytes
    header_length: int | None = None  # set when binary tensor data follows the JSON

    @property
    def content_type(self) -> str:
        return JSON if self.header_length is None else OCTET_STREAM


def loads(body: bytes | str | None) -> Any:
    if not body:
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)


# -- requests --------------------------------------------------------------------------------------
def parse_infer_request(body: bytes | str | None, specs: list[TensorSpec], max_batch: int,
                        header_length: int | None = None,
                        alternative: list[TensorSpec] | None = None) -> InferRequest:
    """A V2 inference request: the JSON object, and with ``header_length`` (the
    Inference-Header-Content-Length header) the binary tensor data after it. ``alternative``: a
    second signature the model also takes (a tokenizer model's ``text``), chosen when the request
    names its inputs and none of ``specs``."""
    raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    json_part, tensor_bytes = binary.split(raw, header_length)
    doc = loads(json_part)
    if not isinstance(doc, dict):
        raise InvalidRequest("an inference request must be a JSON object with an 'inputs' list")
    parameters = _parameters(doc.get("parameters"), "the request", {"binary_data_output": bool})
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidRequest("'inputs' must be a non-empty list of tensors {name, shape, datatype, data}")
    if alternative:
        named = {i.get("name") for i in raw_inputs if isinstance(i, dict)}
        either = named & {s.name for s in alternative}, named & {s.name for s in specs}
        if all(either):
            raise InvalidTensor(f"send either {_names(specs)} or {_names(alternative)}, not both")
        if either[0]:
            specs, alternative = alternative, specs
    takes = _names(specs) + (f", or instead {_names(alternative)}" if alternative else "")
    by_name = {s.name: s for s in specs}
    headers: list[tuple[TensorSpec, dict[str, Any], list[int], int | None]] = []
    seen: set[str] = set()
    for raw_input in raw_inputs:
        if not isinstance(raw_input, dict):
            raise InvalidRequest("each entry of 'inputs' must be an object {name, shape, datatype, data}")
        name = raw_input.get("name")
        if not isinstance(name, str):
            raise InvalidTensor(f"each input needs a 'name' string; this model takes {takes}")
        if name not in by_name:
            raise InvalidTensor(f"unknown input '{name}'; this model takes {takes}")
        if name in seen:
            raise InvalidTensor(f"input '{name}' is given twice")
        seen.add(name)
        spec = by_name[name]
        shape = check_header(raw_input, spec)
        size = _parameters(raw_input.get("parameters"), f"input '{name}'", {"binary_data_size": int}).get(
            "binary_data_size")
        if size is not None and "data" in raw_input:
            raise InvalidTensor(f"input '{name}' has both 'data' and binary_data_size; send one or the other")
        headers.append((spec, raw_input, shape, size))
    missing = [s.name for s in specs if s.name not in seen]
    if missing:
        raise InvalidTensor(f"missing input(s) {', '.join(missing)}; this model takes {_names(specs)}")
    # The batch is judged from the declared shapes, before any data is converted.
    check_batch([shape for _, _, shape, _ in headers], max_batch)
    blob = binary.TensorBytes(tensor_bytes)
    tensors: dict[str, np.ndarray] = {}
    may_hold_bools = b"true" in json_part or b"false" in json_part
    for spec, raw_input, shape, size in headers:  # binary tensors follow the JSON in input order
        if size is None:
            tensors[spec.name] = decode_data(raw_input, spec, shape, may_hold_bools)
        else:
            tensors[spec.name] = binary.decode(spec.name, blob.take(spec.name, size), spec.datatype, shape)
    blob.finish()
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidRequest("'id' must be a string")
    return InferRequest(tensors, request_id, _requested_outputs(doc.get("outputs")), parameters)


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


def decode_data(raw: dict[str, Any], spec: TensorSpec, shape: list[int], may_hold_bools: bool = True) -> np.ndarray:
    """A V2 tensor's JSON ``data`` as an array of ``shape`` (the header already checked)."""
    data = raw.get("data")
    if not isinstance(data, list):
        raise InvalidTensor(f"input '{spec.name}': 'data' must be a list (flat or nested, row-major), "
                            "or the tensor must be sent as binary data (binary_data_size)")
    return _shaped(spec.name, to_array(spec.name, data, spec.datatype, may_hold_bools), shape, "'data' has")


def decode_rows(spec: TensorSpec, rows: list) -> np.ndarray:
    """Plain rows (a friendly route's instances) -> one tensor of ``spec``: [len(rows), *row shape]."""
    shape = [len(rows), *(row_shape(rows[0]) if rows else [])]
    check_shape(spec.name, shape, spec.shape)
    return _shaped(spec.name, to_array(spec.name, rows, spec.datatype), shape, "the rows have")


def _shaped(name: str, array: np.ndarray, shape: list[int], given: str) -> np.ndarray:
    expected = math.prod(shape)
    if array.size != expected:
        raise InvalidTensor(f"input '{name}': shape {shape} needs {expected} elements, {given} {array.size}")
    return array.reshape(shape)


def to_array(name: str, data: list, datatype: str, may_hold_bools: bool = True) -> np.ndarray:
    """JSON ``data`` as an array of ``datatype``, every value checked. ``may_hold_bools`` False
    (the body has no true/false anywhere) skips the scan for booleans among numbers."""
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
    if array.size and kind not in "iuf":
        raise InvalidTensor(f"input '{name}': 'data' must contain only numbers for {datatype}"
                            + (", not true/false" if kind == "b" else ""))
    # numpy reads [1, true] as [1, 1]: a boolean among numbers is refused, not guessed at
    if may_hold_bools and array.size and bool in _leaf_types(data, array.ndim):
        raise InvalidTensor(f"input '{name}': 'data' must contain only numbers for {datatype}, not true/false")
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
        if array.size and (array.min() < info.min or _above(array.max(), info.max)):
            raise InvalidTensor(f"input '{name}': values out of range for {datatype}")
        return array.astype(target, copy=False)
    return array.astype(_DTYPE[datatype], copy=False)


def _above(value: Any, top: int) -> bool:
    """value > top, exactly: a float cannot hold 2**63 - 1, and float(2**63 - 1) rounds up to 2**63,
    which `>` would let through and int64 would wrap to its minimum."""
    if isinstance(value, np.floating):
        ceiling = float(top)
        return bool(value >= ceiling) if int(ceiling) > top else bool(value > ceiling)
    return bool(value > top)


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


def _parameters(raw: Any, where: str, known: dict[str, type]) -> dict[str, Any]:
    """A 'parameters' object; the ones the protocol defines must have their types, or be null
    (as absent: what clients that serialise unset fields send). Others pass."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidRequest(f"'parameters' of {where} must be an object")
    if any(raw.get(key, 0) is None for key in known):
        raw = {key: value for key, value in raw.items() if not (key in known and value is None)}
    for key, kind in known.items():
        if key not in raw:
            continue
        value = raw[key]
        if kind is int and (type(value) is not int or value < 0):
            raise InvalidRequest(f"parameter '{key}' of {where} must be a whole number, 0 or more, got {value!r}")
        if kind is bool and type(value) is not bool:
            raise InvalidRequest(f"parameter '{key}' of {where} must be true or false, got {value!r}")
    return raw


def _requested_outputs(raw: Any) -> list[RequestedOutput] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in raw):
        raise InvalidRequest("'outputs' must be a list of objects with a 'name'")
    requested = []
    for output in raw:
        where = f"output '{output['name']}'"
        params = _parameters(output.get("parameters"), where, {"binary_data": bool, "classification": int})
        classification = params.get("classification", 0)
        if "classification" in params and classification < 1:
            raise InvalidRequest(f"parameter 'classification' of {where} must be 1 or more, got {classification}")
        requested.append(RequestedOutput(output["name"], params.get("binary_data"), classification))
    return requested


# -- responses --------------------------------------------------------------------------------------
def select_outputs(outputs: dict[str, np.ndarray], requested: list[RequestedOutput] | None,
                   labels: list[str] | Callable[[str], list[str] | None] | None = None) -> dict[str, np.ndarray]:
    """The requested outputs (all when none are named), classified where asked. ``labels``: one
    list, or each output's (a function of its name)."""
    if not requested:
        return outputs
    unknown = [o.name for o in requested if o.name not in outputs]
    if unknown:
        raise InvalidTensor(f"unknown output(s) {', '.join(unknown)}; this model returns {', '.join(outputs)}")
    of = labels if callable(labels) else (lambda _: labels)
    return {o.name: classify(o.name, outputs[o.name], o.classification, of(o.name)) if o.classification
            else outputs[o.name] for o in requested}


def classify(name: str, array: np.ndarray, k: int, labels: list[str] | None) -> np.ndarray:
    """The classification extension: [batch, k] BYTES "value:index[:label]", highest value first."""
    if array.ndim == 0 or array.dtype.kind not in "biuf":
        raise InvalidTensor(f"output '{name}' is not a numeric tensor of class scores; it cannot be classified")
    rows = array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(1, -1)
    k = min(k, rows.shape[1])
    order = np.argsort(-rows, axis=1, kind="stable")[:, :k]
    named = labels if labels and len(labels) == rows.shape[1] else None
    out = [[f"{str(row[i])}:{i}" + (f":{named[i]}" if named else "") for i in idx] for row, idx in zip(rows, order)]
    return np.array(out, dtype=object)


def encode_infer_response(model_name: str, model_version: str, outputs: dict[str, np.ndarray],
                          request: InferRequest, parameters: dict[str, Any] | None = None) -> EncodedResponse:
    """The response JSON; outputs asked for as binary data go after it, in output order.
    ``parameters``: the response's own (V2 allows them), e.g. which texts a tokenizer cut."""
    binary_by_name = {o.name: o.binary for o in request.outputs or []}
    tensors, blobs = [], []
    for name, array in outputs.items():
        as_binary = binary_by_name.get(name)
        if as_binary is None:
            as_binary = request.binary_output
        if as_binary:
            datatype = _datatype(name, array)
            raw = binary.encode(array, datatype)
            tensors.append({"name": name, "datatype": datatype, "shape": list(array.shape),
                            "parameters": {"binary_data_size": len(raw)}})
            blobs.append(raw)
        else:
            tensors.append(encode_tensor(name, array))
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version, "outputs": tensors}
    if request.id is not None:
        response["id"] = request.id
    if parameters:
        response["parameters"] = parameters
    header = dumps(response)
    if not blobs:
        return EncodedResponse(header)
    return EncodedResponse(header + b"".join(blobs), len(header))


def encode_tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    datatype = _datatype(name, array)
    data = array.ravel()
    if datatype == "BYTES":
        data = [v.decode() if isinstance(v, bytes) else str(v) for v in data]
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


def model_metadata(name: str, version: str, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [version] if version else [],
        "platform": "onnxruntime_onnx",
        "inputs": [s.to_dict() for s in inputs],
        "outputs": [s.to_dict() for s in outputs],
    }


def _datatype(name: str, array: np.ndarray) -> str:
    datatype = "BYTES" if array.dtype.kind in "OUS" else _V2_OF.get(array.dtype)
    if datatype is None:
        raise TypeError(f"output {name} has unsupported dtype {array.dtype}")
    return datatype


def row_shape(row: Any) -> list[int]:
    """The shape of one row of nested JSON lists, read along its first elements."""
    shape: list[int] = []
    while isinstance(row, list):
        shape.append(len(row))
        row = row[0] if row else None
    return shape


def _leaf_types(data: list, depth: int) -> set[type]:
    """The types of the values of ``data``, nested lists ``depth`` deep and rectangular (numpy has
    just read them as an array of that many dimensions), gathered without a Python loop."""
    values: Any = data
    for _ in range(depth - 1):
        values = chain.from_iterable(values)
    return set(map(type, values))


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
