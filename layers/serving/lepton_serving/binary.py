"""The binary tensor data extension of the V2 protocol: tensors as raw bytes after the JSON.

A request or response body is a JSON object of ``Inference-Header-Content-Length`` bytes,
followed by the tensors that carry a ``binary_data_size`` parameter, back to back, in the
order they are listed. Elements are little-endian, row-major, unpadded; a BOOL is one byte
(0 or 1); a BYTES element is a 4-byte little-endian unsigned length followed by its bytes.
Every malformed body is an InvalidTensor/InvalidRequest (400) naming what is wrong.
"""
from __future__ import annotations

import math
import re
import struct

import numpy as np

from .errors import InvalidRequest, InvalidTensor

HEADER = "inference-header-content-length"
#: How the header is read (and how the OpenAPI document describes it): ASCII digits, nothing
#: else. Not `str.isdigit`/`int`, which also take "²", "٣", "+5" and "1_0"; twelve digits are
#: far above any body Lambda accepts.
HEADER_PATTERN = "^[0-9]{1,12}$"
_HEADER_VALUE = re.compile(HEADER_PATTERN)
_LENGTH = struct.Struct("<I")
# Little-endian dtypes for every fixed-size V2 datatype (BYTES is length-prefixed, below).
_DTYPE = {
    "BOOL": np.dtype("u1"), "UINT8": np.dtype("<u1"), "UINT16": np.dtype("<u2"), "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"), "INT8": np.dtype("<i1"), "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"), "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
}


def header_length(raw: str | None) -> int | None:
    """The Inference-Header-Content-Length header, checked: None when absent."""
    if raw is None:
        return None
    text = raw.strip(" \t")
    if not _HEADER_VALUE.fullmatch(text):
        raise InvalidRequest(f"{HEADER} must be the JSON header's length in bytes: ASCII digits 0-9, "
                             f"at most 12 of them, got {raw[:40]!r}")
    return int(text)


def split(body: bytes, length: int | None) -> tuple[bytes, bytes]:
    """(JSON header, binary tensor data) of a body; the whole body is JSON without the header."""
    if length is None:
        return body, b""
    if length > len(body):
        raise InvalidRequest(f"{HEADER} is {length}, past the end of the {len(body)}-byte body")
    return body[:length], body[length:]


class TensorBytes:
    """The binary part of a request, handed out tensor by tensor in request order."""

    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.offset = 0

    def take(self, name: str, size: int) -> memoryview:
        end = self.offset + size
        if end > len(self.data):
            left = len(self.data) - self.offset
            raise InvalidTensor(f"input '{name}': binary_data_size is {size} bytes but only {left} byte(s) "
                                "of binary data are left after the JSON header")
        chunk = self.data[self.offset:end]
        self.offset = end
        return chunk

    def finish(self) -> None:
        left = len(self.data) - self.offset
        if left:
            raise InvalidRequest(f"{left} byte(s) of binary data follow the last binary input; the "
                                 "binary_data_size parameters must add up to the bytes after the JSON header")


def decode(name: str, chunk: memoryview, datatype: str, shape: list[int]) -> np.ndarray:
    """One input's raw bytes -> an array of ``shape``."""
    count = math.prod(shape)
    if datatype == "BYTES":
        return _decode_bytes(name, bytes(chunk), count).reshape(shape)
    dtype = _DTYPE[datatype]
    if len(chunk) != count * dtype.itemsize:
        raise InvalidTensor(f"input '{name}': shape {shape} of {datatype} needs {count * dtype.itemsize} bytes, "
                            f"binary_data_size is {len(chunk)}")
    array = np.frombuffer(chunk, dtype=dtype).reshape(shape)
    if datatype == "BOOL":
        if array.size and array.max() > 1:
            raise InvalidTensor(f"input '{name}': BOOL elements are one byte each, 0 or 1")
        return array.astype(np.bool_)
    if datatype in ("FP16", "FP32", "FP64") and not np.isfinite(array).all():
        raise InvalidTensor(f"input '{name}': values must be finite (no NaN or Infinity)")
    return array.astype(dtype.newbyteorder("="), copy=False)


def _decode_bytes(name: str, data: bytes, count: int) -> np.ndarray:
    items: list[str] = []
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise InvalidTensor(f"input '{name}': BYTES element {len(items)} has a truncated 4-byte length")
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += 4
        if offset + length > len(data):
            raise InvalidTensor(f"input '{name}': BYTES element {len(items)} says {length} bytes, "
                                f"only {len(data) - offset} are left")
        try:
            items.append(data[offset:offset + length].decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InvalidTensor(f"input '{name}': BYTES element {len(items)} is not UTF-8 text") from exc
        offset += length
    if len(items) != count:
        raise InvalidTensor(f"input '{name}': the shape needs {count} BYTES element(s), the binary data has {len(items)}")
    return np.array(items, dtype=object)


def encode(array: np.ndarray, datatype: str) -> bytes:
    """An output tensor's raw bytes, as the extension lays them out."""
    if datatype == "BYTES":
        parts = []
        for value in array.ravel():
            raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=_DTYPE[datatype]).tobytes()
