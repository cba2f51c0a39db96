"""The boundary between what a caller sent and our own code: whose fault a failure is.

Two kinds of step touch a caller's values, and each runs inside its context here:

- `reading`: the body (base64), the binary extension's header, the JSON, the model's own forms
  (images, text, ids) and their conversion into tensors, and a model's preprocessing of them;
- `running`: onnxruntime's run of the graph on the tensors that came from them.

Whatever fails inside is the caller's, by construction rather than by listing exceptions: a
LeptonError keeps the status of the one table (errors.py); any other exception becomes
UnreadableInput (400) from `reading`, InputError (422) from `running`, with what was being done
and the library's own reason (file paths removed). Everything outside them (loading the model,
S3, DynamoDB, encoding the answer) is ours: a LeptonError keeps its status, anything else is a
500, logged with its stack and request id (app.py).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import InputError, LeptonError, UnreadableInput
from .redaction import without_paths

#: Longest library reason quoted back to the caller.
MAX_REASON = 300

_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*")
_ORT_NODE = re.compile(r"Non-zero status code returned while running (\w+) node\. Name:'([^']*)' Status Message:\s*")
_CPP_FRAME = re.compile(r"\b(?:onnxruntime|std|gsl)::[\w:<>,~ ]*(?:\([^)]*\))?(?: const)?")


@contextmanager
def reading(what: str = "the request") -> Iterator[None]:
    """Reading ``what`` the caller sent: any failure is a 4xx."""
    try:
        yield
    except LeptonError:
        raise
    except Exception as exc:  # noqa: BLE001 - the point: nothing a caller sends may become a 500
        raise UnreadableInput(f"{what} could not be read: {reason(exc)}") from exc


@contextmanager
def running(model: str) -> Iterator[None]:
    """onnxruntime running ``model`` on the caller's values: any failure is an InputError (422)."""
    try:
        yield
    except LeptonError:
        raise
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped Fail/InvalidArgument
        raise InputError(f"model '{model}' cannot compute an answer for these values; onnxruntime says: "
                         f"{onnxruntime_reason(exc)}. Check them against GET /v2/models/{model} "
                         "(ids and indices must be within the model's ranges)") from exc


def reason(exc: BaseException) -> str:
    """An exception's first line, without file paths, bounded; its type when it has no text."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = without_paths(text)
    return f"{type(exc).__name__}: {text[:MAX_REASON]}" if text else type(exc).__name__


def onnxruntime_reason(exc: BaseException) -> str:
    """onnxruntime's message made readable: the failing node and its reason, no source paths or C++ frames."""
    text = " ".join(str(exc).split())
    text = _ORT_PREFIX.sub("", text)
    text = _ORT_NODE.sub(lambda m: f"{m.group(1)} node{f' {m.group(2)!r}' if m.group(2) else ''}: ", text)
    text = _CPP_FRAME.sub("", without_paths(text))
    text = " ".join(text.split()) or type(exc).__name__
    return text[:MAX_REASON]
