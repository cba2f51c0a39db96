"""Domain errors, and the one table that maps them to HTTP statuses.

Every error a caller or an operator should see as a message (never a trace) is a LeptonError.
The deployment core (lepton_deploy.errors) subclasses these, so its errors get their statuses
from this same table.
"""
from __future__ import annotations


class LeptonError(Exception):
    """Base for every error a client or operator should see as a message, never a trace.
    ``retry_after``: seconds after which the same request may succeed (the Retry-After header)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class InvalidRequest(LeptonError):
    """The request cannot be understood: bad JSON, missing fields, wrong types."""


class InvalidTensor(InvalidRequest):
    """A tensor's name, datatype, shape or values do not fit the model."""


class LimitExceeded(InvalidRequest):
    """Batch size, item count or text length above the configured maximum."""


class UnreadableInput(InvalidRequest):
    """Reading the request failed in a way no check names (a parser or an image library raised):
    the caller's bytes, by construction (boundary.py). The message carries the library's reason."""


class InputError(InvalidRequest):
    """onnxruntime refused to run the model on the caller's values (an id outside an embedding
    table, ...): well-typed, checked, and still not something this model can compute."""


class SchemaViolation(InvalidRequest):
    """Well-formed JSON that breaks the route's declared schema (the control API's validation).
    ``detail`` lists each problem: where, what, which rule."""

    def __init__(self, message: str, detail: list[dict[str, object]] | None = None):
        super().__init__(message)
        self.detail = detail or []


class PayloadTooLarge(LeptonError):
    """Body above Lambda's 6 MB synchronous payload limit."""


class UnsupportedMediaType(LeptonError):
    """A Content-Type the route does not accept."""


class NotFound(LeptonError):
    """Unknown route, model, version or id."""


class MethodNotAllowed(LeptonError):
    """A known route asked with another HTTP method."""


class Conflict(LeptonError):
    """Valid, but the model's current state refuses it: nothing to roll back to, another
    deployment in progress, a version that already exists."""


class UpstreamFailure(LeptonError):
    """An AWS service the request depends on (Lambda, DynamoDB, S3) refused or failed."""


class ModelNotReady(LeptonError):
    """No model is configured or it failed to load; readiness probes report this."""


class ObjectMissing(ModelNotReady):
    """An object the caller needs is not in the model bucket (an incomplete upload, a typo)."""


class StorageUnavailable(ModelNotReady):
    """The model bucket refused or failed a read (throttled, no permission, S3 down)."""


class ModelIntegrityError(LeptonError):
    """A model file that must not be loaded: checksum mismatch, external data, not ONNX."""


class ConfigError(LeptonError):
    """A function's environment is missing or wrong: every request fails until it is fixed."""


# The only place errors become statuses. Order matters: first match wins, subclasses first.
_STATUS: tuple[tuple[type[LeptonError], int], ...] = (
    (LimitExceeded, 422),
    (SchemaViolation, 422),
    (InputError, 422),
    (InvalidTensor, 400),
    (InvalidRequest, 400),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (NotFound, 404),
    (MethodNotAllowed, 405),
    (Conflict, 409),
    (UpstreamFailure, 502),
    (ModelIntegrityError, 503),
    (ModelNotReady, 503),
    (ConfigError, 500),
)


def status_for(error: BaseException) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def kind_of(error: BaseException) -> str:
    """A stable, low-cardinality name for metrics."""
    return type(error).__name__
