"""Payload capture: a sampled share of callers' inference requests, one JSON line each on the log.

Nothing on a request's path calls the network. The record is one line on stdout, like every log
line: Lambda ships it to the function's log group, a subscription filter (``{ $.lepton_capture
= 1 }``) passes it to the model's Firehose delivery stream, and Firehose writes it to the
capture bucket under ``captures/<model>/YYYY/MM/DD/HH/``. docs/captures.md is the contract;
``lepton_deploy.captures`` is its one reader.

A record (schema 1), keys in this order::

    {"lepton_capture": 1, "model": "tabular", "function": "<function name>", "function_version": "7",
     "id": "<API Gateway request id>", "time": "2026-12-07T10:00:00.123Z", "version": "3",
     "route": "infer" | "predict", "status": 200, "latency_ms": 1.234, "error": null | "<kind>",
     "inputs": [<tensor>, ...], "outputs": [<tensor>, ...]}

A tensor is ``{"name", "datatype", "shape", "data"}`` (V2 JSON, data flat in row-major order),
or, when its data is left out, ``{"name", "datatype", "shape", "omitted": "size", "sha256"}``
(above the size cap, or not text) or ``{"name", "datatype", "shape", "omitted": "redacted"}``.
The inputs are the V2 tensors the model's lifecycle took (for images sent to the friendly
route, the 8x8 array the model read), the outputs every tensor it gave, before a request's
own selection or classification. A failed request has no tensors, only its status and error.
"""
from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from .environment import EnvReader
from .manifest import NUMPY_TO_V2

SCHEMA = 1
#: Every record's line starts with this: what a log reader looks for before parsing.
MARKER = '{"lepton_capture":'
#: Where records land in the capture bucket: captures/<model>/YYYY/MM/DD/HH/<object>.
PREFIX = "captures/"
#: The subscription filter that picks records out of a function's log (template.yaml).
FILTER_PATTERN = "{ $.lepton_capture = 1 }"

DEFAULT_MAX_TENSOR_BYTES = 64 * 1024
#: A CloudWatch Logs event holds at most 256 KB; a record above this keeps hashes only.
MAX_RECORD_BYTES = 200 * 1024

SAMPLE_RATE_ENV = "LEPTON_CAPTURE_SAMPLE_RATE"
REDACT_ENV = "LEPTON_CAPTURE_REDACT"
MAX_TENSOR_BYTES_ENV = "LEPTON_CAPTURE_MAX_TENSOR_BYTES"


def model_prefix(model: str) -> str:
    return f"{PREFIX}{model}/"


@dataclass(frozen=True)
class CaptureSettings:
    """What a model function captures, read once at cold start; a wrong value is a ConfigError."""

    sample_rate: float = 0.0  # share of callers' inference requests recorded, 0..1
    redact: frozenset[str] = field(default_factory=frozenset)  # input names recorded without their data
    max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES  # above this a tensor is recorded as shape + sha256

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CaptureSettings:
        """The settings alone, or a ConfigError that names every variable with a bad value."""
        read = EnvReader(env, "payload capture")
        settings = cls.read(read)
        read.done()
        return settings

    @classmethod
    def read(cls, read: EnvReader) -> CaptureSettings:
        """Read as part of a function's own settings (config.ServingConfig), its problems with theirs."""
        names = frozenset(n.strip() for n in read.text(REDACT_ENV).split(",") if n.strip())
        return cls(read.number(SAMPLE_RATE_ENV, 0.0, low=0.0, high=1.0), names,
                   read.whole(MAX_TENSOR_BYTES_ENV, DEFAULT_MAX_TENSOR_BYTES, low=0))


class Exchange:
    """One request being captured: what the data plane saw (`seen`) until `Capture.end` writes it."""

    __slots__ = ("route", "request_id", "started", "inputs", "outputs", "version", "_token")

    def __init__(self, route: str, request_id: str, started: float):
        self.route = route
        self.request_id = request_id
        self.started = started
        self.inputs: Mapping[str, np.ndarray] | None = None
        self.outputs: Mapping[str, np.ndarray] | None = None
        self.version = ""
        self._token: Token[Exchange | None] | None = None


_current: ContextVar[Exchange | None] = ContextVar("lepton_capture", default=None)


def seen(inputs: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray], version: str) -> None:
    """The data plane's hook: the tensors the model took and gave for the request being answered.
    Costs one context-variable read when the request is not captured."""
    exchange = _current.get()
    if exchange is not None:
        exchange.inputs, exchange.outputs, exchange.version = inputs, outputs, version


class Capture:
    """Samples requests (`begin`) and writes each sampled one as a record (`end`)."""

    def __init__(self, settings: CaptureSettings, model: str, function: str = "", function_version: str = "",
                 write: Callable[[str], Any] | None = None, clock: Callable[[], float] = time.time,
                 draw: Callable[[], float] = random.random):
        """``write``: where a record's line goes (default: this process's stdout at that moment,
        which Lambda ships to the log group)."""
        self.settings = settings
        self.model = model
        self.function = function
        self.function_version = function_version
        self.output = write
        self.clock = clock
        self.draw = draw
        # What every record of this function says the same: serialised once, the line's start.
        self._head = orjson.dumps({"lepton_capture": SCHEMA, "model": model, "function": function,
                                   "function_version": function_version})[:-1] + b","

    @property
    def on(self) -> bool:
        return self.settings.sample_rate > 0.0

    def begin(self, route: str, request_id: str) -> Exchange | None:
        """Whether this request is captured (the sample is drawn here); if so, start watching it."""
        rate = self.settings.sample_rate
        if rate <= 0.0 or (rate < 1.0 and self.draw() >= rate):
            return None
        exchange = Exchange(route, request_id, self.clock())
        exchange._token = _current.set(exchange)
        return exchange

    def end(self, exchange: Exchange, status: int, latency_s: float, error: str | None = None,
            version: str = "") -> None:
        """Stop watching and write the record (one line). ``version``: the loaded model's, for a
        request that failed before the model answered."""
        if exchange._token is not None:
            _current.reset(exchange._token)
            exchange._token = None
        exchange.version = exchange.version or version
        (self.output or sys.stdout.write)(self.record_line(exchange, status, latency_s, error))

    def record_line(self, exchange: Exchange, status: int, latency_s: float, error: str | None) -> str:
        """The record as one line, with its newline. Capturing never fails a request: tensors
        that cannot be recorded leave a record without them, naming why."""
        ok = status == 200 and exchange.inputs is not None and exchange.outputs is not None
        try:
            record = self._record(exchange, status, latency_s, error, self.settings.max_tensor_bytes, ok)
            rest = orjson.dumps(record, option=_NUMPY_LINE)
            if len(rest) > MAX_RECORD_BYTES:  # too large for one log event: keep every tensor's hash only
                rest = orjson.dumps(self._record(exchange, status, latency_s, error, 0, ok), option=_NUMPY_LINE)
        except Exception as exc:  # noqa: BLE001 - a tensor orjson or numpy cannot take
            record = self._record(exchange, status, latency_s, error, 0, False)
            record["capture_error"] = f"{type(exc).__name__}: {exc}"[:200]
            rest = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        return (self._head + rest[1:]).decode()

    def _record(self, exchange: Exchange, status: int, latency_s: float, error: str | None, max_bytes: int,
                with_tensors: bool) -> dict[str, Any]:
        """The fields that differ from record to record (the rest is ``_head``)."""
        record: dict[str, Any] = {
            "id": exchange.request_id, "time": _timestamp(exchange.started), "version": exchange.version,
            "route": exchange.route, "status": status, "latency_ms": round(latency_s * 1000.0, 3), "error": error,
            "inputs": [], "outputs": [],
        }
        if with_tensors:
            assert exchange.inputs is not None and exchange.outputs is not None
            redact = self.settings.redact
            record["inputs"] = [tensor(n, a, max_bytes, n in redact) for n, a in exchange.inputs.items()]
            record["outputs"] = [tensor(n, a, max_bytes) for n, a in exchange.outputs.items()]
        return record


def tensor(name: str, array: np.ndarray, max_bytes: int, redacted: bool = False) -> dict[str, Any]:
    """One tensor as a record holds it: its data, or (redacted, too large, not text) without it."""
    datatype = datatype_of(array)
    entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
    if redacted:
        entry["omitted"] = "redacted"
        return entry
    if datatype == "BYTES":
        texts = [_text(v) for v in array.reshape(-1).tolist()]
        size = sum(len(t.encode("utf-8")) for t in texts if t is not None)
        if None in texts or size > max_bytes:
            return {**entry, "omitted": "size", "sha256": tensor_sha256(array)}
        entry["data"] = texts
        return entry
    if array.nbytes > max_bytes:
        return {**entry, "omitted": "size", "sha256": tensor_sha256(array)}
    flat = array.reshape(-1)  # a copy only when the array is not contiguous
    entry["data"] = flat.astype(np.float32) if datatype == "FP16" else flat  # orjson has no float16
    return entry


_NUMPY_LINE = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
# dtype objects, built once: `dtype.name` formats the name on every call, microseconds a tensor.
_V2_OF = {np.dtype(name): v2 for name, v2 in NUMPY_TO_V2.items() if name != "object"}


def datatype_of(array: np.ndarray) -> str:
    found = _V2_OF.get(array.dtype)
    if found is not None:
        return found
    return "BYTES" if array.dtype.kind in "OUS" else str(array.dtype).upper()


def tensor_sha256(array: np.ndarray) -> str:
    """sha256 of a tensor's bytes as the V2 binary extension lays them out: row-major
    little-endian values; for BYTES, each element's 4-byte little-endian length, then its bytes."""
    array = np.asarray(array)
    digest = hashlib.sha256()
    if array.dtype.kind in "OUS":
        for value in array.reshape(-1).tolist():
            data = value if isinstance(value, bytes) else str(value).encode("utf-8")
            digest.update(len(data).to_bytes(4, "little"))
            digest.update(data)
    else:
        digest.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def _timestamp(moment: float) -> str:
    """ISO 8601 in UTC with milliseconds: "2026-12-07T10:00:00.123Z" (the second formatted once)."""
    whole = int(moment)
    if _second[0] != whole:
        _second[:] = [whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((moment - whole) * 1000):03d}Z"


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None  # binary data: recorded by its hash
    return str(value)
