"""Captured requests, read back: the one reader of ``captures/`` in the capture bucket.

Model functions write the records (lepton_serving/capture.py, schema 1: docs/captures.md).
Firehose, fed by a CloudWatch Logs subscription filter, stores them per model, in the hour
(UTC) they arrived: ``captures/<model>/YYYY/MM/DD/HH/<stream>-<n>-<YYYY-MM-DD-HH-MM-SS>-<id>``.
What such an object holds is not the records as written: it is one or more gzip members, each
a CloudWatch Logs envelope ``{"messageType": "DATA_MESSAGE", "logGroup", "logStream",
"logEvents": [{"id", "timestamp", "message"}, ...]}`` whose messages are the record lines (a
``CONTROL_MESSAGE`` envelope, sent when a subscription starts, holds none). An object of plain
or gzip'ed newline-delimited records, what Firehose writes with its message extraction turned
on, is read the same way.

The deployer's replay gate, `lepton replay` and the drift check list and read records here, by
model, version and time window, newest first.
"""
from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from lepton_serving.capture import SCHEMA, model_prefix
from lepton_serving.clients import error_code, error_message
from lepton_serving.errors import StorageUnavailable
from lepton_serving.manifest import V2_TO_NUMPY

#: How far back a read looks when no window is given.
DEFAULT_LOOKBACK = timedelta(days=14)
#: Objects read at once: S3 answers each in a round trip, and a window may span hundreds.
_READ_THREADS = 8
_GZIP_MAGIC = b"\x1f\x8b"


class CaptureFormatError(ValueError):
    """A document that is not a capture record this reader understands."""


@dataclass(frozen=True)
class CapturedTensor:
    """One tensor of a record: its data, or why it was left out (``omitted``: size, redacted)."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: list[Any] | None = None
    omitted: str | None = None
    sha256: str | None = None

    @property
    def complete(self) -> bool:
        return self.data is not None

    @property
    def rows(self) -> int:
        return self.shape[0] if self.shape else 1

    def array(self) -> np.ndarray:
        """The tensor as numpy (only when ``complete``)."""
        if self.data is None:
            raise ValueError(f"tensor '{self.name}' was recorded without its data ({self.omitted})")
        dtype = object if self.datatype == "BYTES" else V2_TO_NUMPY.get(self.datatype, self.datatype.lower())
        values = [np.nan if v is None else v for v in self.data] if dtype != object else self.data
        return np.asarray(values, dtype=dtype).reshape(self.shape)

    @classmethod
    def from_dict(cls, doc: Any) -> CapturedTensor:
        if not (isinstance(doc, dict) and isinstance(doc.get("name"), str) and isinstance(doc.get("datatype"), str)
                and isinstance(doc.get("shape"), list) and all(type(d) is int and d >= 0 for d in doc["shape"])):
            raise CaptureFormatError(f"a tensor needs a name, a datatype and a shape: {str(doc)[:120]}")
        data = doc.get("data")
        if data is not None and (not isinstance(data, list) or len(data) != int(np.prod(doc["shape"]))):
            raise CaptureFormatError(f"tensor '{doc['name']}': data does not fill its shape {doc['shape']}")
        return cls(doc["name"], doc["datatype"], tuple(doc["shape"]), data, doc.get("omitted"), doc.get("sha256"))


@dataclass(frozen=True)
class CaptureRecord:
    """One captured request (docs/captures.md)."""

    id: str
    time: str  # ISO 8601, UTC, milliseconds: "2026-12-07T10:00:00.123Z"
    model: str
    version: str
    function: str
    function_version: str
    route: str
    status: int
    latency_ms: float
    error: str | None
    inputs: tuple[CapturedTensor, ...]
    outputs: tuple[CapturedTensor, ...]
    schema: int = SCHEMA

    @property
    def rows(self) -> int:
        return self.inputs[0].rows if self.inputs else 0

    @property
    def replayable(self) -> bool:
        """A success whose every input and output was recorded in full: it can be sent again and compared."""
        return (self.status == 200 and bool(self.inputs) and bool(self.outputs)
                and all(t.complete for t in (*self.inputs, *self.outputs)))

    @property
    def at(self) -> datetime:
        return parse_time(self.time)

    @classmethod
    def from_dict(cls, doc: Any) -> CaptureRecord:
        if not isinstance(doc, dict) or "lepton_capture" not in doc:
            raise CaptureFormatError("not a capture record")
        schema = doc["lepton_capture"]
        if schema != SCHEMA:
            raise CaptureFormatError(f"capture schema {schema!r}; this reader knows {SCHEMA}")
        try:
            return cls(str(doc["id"]), str(doc["time"]), str(doc["model"]), str(doc["version"]),
                       str(doc.get("function", "")), str(doc.get("function_version", "")), str(doc["route"]),
                       int(doc["status"]), float(doc.get("latency_ms", 0.0)), doc.get("error"),
                       tuple(CapturedTensor.from_dict(t) for t in doc.get("inputs") or []),
                       tuple(CapturedTensor.from_dict(t) for t in doc.get("outputs") or []), schema)
        except (KeyError, TypeError, ValueError) as exc:
            raise CaptureFormatError(f"capture record is missing or mistypes a field: {exc}") from exc


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def decode_object(body: bytes) -> list[dict[str, Any]]:
    """Every record document in one stored object, in the order written (see the module's doc)."""
    text = _gunzip(body) if body[:2] == _GZIP_MAGIC else body
    documents: list[dict[str, Any]] = []
    for doc in _json_documents(text.decode("utf-8", "replace")):
        if isinstance(doc, dict) and "logEvents" in doc:  # a CloudWatch Logs envelope
            if doc.get("messageType") != "DATA_MESSAGE":
                continue
            for event in doc.get("logEvents") or []:
                message = event.get("message") if isinstance(event, dict) else None
                if isinstance(message, str):
                    documents += [d for d in _json_documents(message) if isinstance(d, dict)]
        elif isinstance(doc, dict):
            documents.append(doc)
    return [d for d in documents if "lepton_capture" in d]


def records_in(body: bytes) -> tuple[list[CaptureRecord], int]:
    """The records of one object, in the order written, and how many documents were not readable."""
    found, bad = [], 0
    for doc in decode_object(body):
        try:
            found.append(CaptureRecord.from_dict(doc))
        except CaptureFormatError:
            bad += 1
    return found, bad


class CaptureStore:
    """The capture bucket's ``captures/``: list and read records of a model, newest first."""

    def __init__(self, s3: Any, bucket: str):
        self.s3 = s3
        self.bucket = bucket
        self.unreadable = 0  # documents skipped because they were not records of this schema

    def keys(self, model: str, start: datetime, end: datetime) -> Iterator[str]:
        """Objects of ``model`` written in the hours from ``start`` to ``end``, newest first."""
        first, last = _hour(start), _hour(end)
        day = last.replace(hour=0)
        while day >= first.replace(hour=0):
            prefix = f"{model_prefix(model)}{day:%Y/%m/%d}/"
            keys = [k for k in self._list(prefix) if first <= _key_hour(k, prefix, day) <= last]
            yield from sorted(keys, reverse=True)
            day -= timedelta(days=1)

    def read(self, key: str) -> list[CaptureRecord]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in ("NoSuchKey", "404"):  # expired between the listing and the read
                return []
            raise StorageUnavailable(f"cannot read capture s3://{self.bucket}/{key}: {error_message(exc)}") from exc
        found, bad = records_in(body)
        self.unreadable += bad
        return found

    def records(self, model: str, version: str | int | None = None, start: datetime | None = None,
                end: datetime | None = None) -> Iterator[CaptureRecord]:
        """Records of ``model`` (and ``version``) captured in [start, end], newest first."""
        end = end or datetime.now(UTC)
        start = start or end - DEFAULT_LOOKBACK
        # Firehose files a record by its arrival, a little after the request: look one hour later too.
        keys = self.keys(model, start, end + timedelta(hours=1))
        with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
            while chunk := list(islice(keys, _READ_THREADS)):  # a few objects at a time, newest first
                # Objects named in the same second list in any order: their records are sorted here.
                found = sorted((r for batch in pool.map(self.read, chunk) for r in reversed(batch)),
                               key=lambda r: r.time, reverse=True)  # stable: ties keep the newest first
                for record in found:
                    if record.model != model or (version is not None and record.version != str(version)):
                        continue
                    if start <= record.at <= end:
                        yield record

    def latest(self, model: str, version: str | int, count: int, *, replayable: bool = True,
               start: datetime | None = None) -> list[CaptureRecord]:
        """Up to ``count`` newest records of one version (only replayable ones by default)."""
        found: list[CaptureRecord] = []
        if count <= 0:
            return found
        for record in self.records(model, version, start=start):
            if replayable and not record.replayable:
                continue
            found.append(record)
            if len(found) >= count:
                break
        return found

    def _list(self, prefix: str) -> Iterable[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents") or []:
                    yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"cannot list captures in s3://{self.bucket}/{prefix}: "
                                     f"{error_message(exc)}") from exc


def _gunzip(body: bytes) -> bytes:
    """Every member of a gzip stream (Firehose concatenates one per record it received)."""
    try:
        return gzip.decompress(body)
    except (OSError, EOFError, zlib.error):
        # A truncated last member: keep what decompressed before it.
        out, rest = bytearray(), body
        while rest[:2] == _GZIP_MAGIC:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out += inflater.decompress(rest)
            except zlib.error:
                break
            rest = inflater.unused_data
        return bytes(out)


def _json_documents(text: str) -> Iterator[Any]:
    """JSON documents one after another, with or without whitespace between them."""
    decoder = json.JSONDecoder()
    at, end = 0, len(text)
    while at < end:
        while at < end and text[at].isspace():
            at += 1
        if at >= end:
            return
        try:
            doc, at = decoder.raw_decode(text, at)
        except ValueError:
            newline = text.find("\n", at)  # skip to the next line: one bad line costs only itself
            if newline < 0:
                return
            at = newline + 1
            continue
        yield doc


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _key_hour(key: str, prefix: str, day: datetime) -> datetime:
    hour = key[len(prefix):len(prefix) + 2]
    return day.replace(hour=int(hour)) if hour.isdigit() else day
