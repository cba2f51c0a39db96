"""The data plane: load the configured model once, then answer V2 and friendly requests.

Routes are thin and call these methods; each stage is timed into the function's metrics. The
batch limit of both routes is held here (through the protocol's one rule), once per request.
Every step that reads the caller's values runs inside the boundary (boundary.py): parsing and
the model's own forms here, preprocessing and onnxruntime's run in the model's lifecycle.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import capture
from .boundary import reading
from .config import ServingConfig
from .errors import LeptonError, ModelNotReady, NotFound
from .layer_model import read_layer_model
from .model import Model
from .observability import Telemetry
from .pins import ModelPins
from .protocol import (EncodedResponse, check_rows, encode_infer_response, loads, model_metadata,
                       parse_infer_request, select_outputs)
from .receipts import public_view
from .store import ModelStore

#: Finds the live version when the function's environment names none (the deployments table).
LiveResolver = Callable[[ServingConfig], ModelPins | None]
#: (model, version) -> that version's receipt as the deployer stored it, or None (not yet measured).
ReceiptLookup = Callable[[str, str], "dict[str, Any] | None"]
#: How long a version with no receipt yet waits before the metadata route looks again (the
#: deployer writes it when the version goes live, moments after its first calls).
RECEIPT_RETRY_SECONDS = 60.0


#: After a failed load, the next try waits 1 s, then 2, 4, ... up to this: a model that cannot
#: load (S3 down, a bad file) is not fetched again on every request.
MAX_BACKOFF_SECONDS = 30.0


class DataPlane:
    def __init__(self, model: Model, config: ServingConfig, telemetry: Telemetry, store: ModelStore,
                 resolve_live: LiveResolver | None = None, clock: Callable[[], float] = time.monotonic,
                 receipts: ReceiptLookup | None = None):
        self.model = model
        self.config = config
        self.telemetry = telemetry
        self.store = store
        self.resolve_live = resolve_live
        self.max_batch = min(model.max_batch, config.max_batch)
        self.clock = clock
        self.source = ""  # where the loaded model came from: "layer" or "s3"
        self._failures = 0
        self._retry_at = 0.0
        self._last_failure: LeptonError | None = None
        self.receipts = receipts
        self._receipt: dict[str, Any] | None = None  # once found, a version's receipt never changes
        self._receipt_checked = -RECEIPT_RETRY_SECONDS

    # -- lifecycle ---------------------------------------------------------------------------
    def load(self) -> Model:
        """Fetch, verify and load the configured version. After a failure, every request gets the
        failure (503, with Retry-After) until the backoff has passed; then the next one tries again."""
        if self.model.ready:
            return self.model
        wait = self._retry_at - self.clock()
        if self._last_failure is not None and wait > 0:
            raise type(self._last_failure)(self._last_failure.message, retry_after=wait)
        try:
            return self._load()
        except LeptonError as exc:
            self._failures += 1
            delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (self._failures - 1))
            self._retry_at, self._last_failure = self.clock() + delay, exc
            exc.retry_after = delay
            raise

    def _load(self) -> Model:
        pins = self.config.pins
        ref = pins if pins.pinned else (self.resolve_live(self.config) if self.resolve_live else None)
        if ref is None:
            raise ModelNotReady(
                f"no version of model '{self.config.model_name}' is deployed yet; publish one under "
                f"models/{self.config.model_name}/<version>/ in the model bucket"
            )
        started = time.perf_counter()
        try:
            # The version's own model layer when the deployer shipped one, else the bucket.
            local = read_layer_model(self.config.model_dir, ref) or self.store.fetch(ref)
            if local.manifest.name != self.config.model_name:
                where = local.path.parent if local.source == "layer" else f"s3://{ref.bucket}/{ref.key}"
                raise ModelNotReady(
                    f"{where} holds model '{local.manifest.name}', this function serves '{self.config.model_name}'"
                )
            self.model.load(local, threads=self.config.threads)
        except LeptonError as exc:
            self.telemetry.logger.error("model load failed", extra={"reason": exc.message})
            raise
        self._failures, self._last_failure = 0, None
        self.source = local.source
        self.telemetry.bind(model_version=self.model.version)
        self.telemetry.latency("Load", time.perf_counter() - started)
        self.telemetry.logger.info("model loaded", extra={"key": ref.key, "sha256": local.manifest.sha256,
                                                          "source": local.source})
        return self.model

    def forget_failures(self) -> None:
        """Let the next request try to load at once (a SnapStart restore: the backoff's clock was frozen)."""
        self._failures, self._retry_at, self._last_failure = 0, 0.0, None

    def ready(self) -> bool:
        try:
            return self.load().ready
        except LeptonError:
            return False

    # -- requests ------------------------------------------------------------------------------
    def check_target(self, name: str, version: str | None = None) -> Model:
        if name != self.config.model_name:
            raise NotFound(f"model '{name}' is not served here; this endpoint serves '{self.config.model_name}'")
        model = self.load()
        if version is not None and version != model.version:
            raise NotFound(f"version '{version}' of model '{name}' is not loaded; the live version is {model.version}")
        return model

    def metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        """V2 model metadata; ``parameters.receipt`` is what the version measured when it was published."""
        model = self.check_target(name, version)
        metadata = model_metadata(model.name, model.version, model.inputs, model.outputs)
        receipt = self._version_receipt(model)
        if receipt is not None:
            metadata["parameters"] = {"receipt": public_view(receipt)}
        return metadata

    def _version_receipt(self, model: Model) -> dict[str, Any] | None:
        if self._receipt is not None or self.receipts is None:
            return self._receipt
        if self.clock() - self._receipt_checked < RECEIPT_RETRY_SECONDS:
            return None
        self._receipt_checked = self.clock()
        try:
            self._receipt = self.receipts(model.name, model.version)
        except LeptonError as exc:  # metadata answers without it: the receipt is extra, never a reason to fail
            self.telemetry.logger.warning("receipt not read", extra={"reason": exc.message})
        return self._receipt

    def infer(self, name: str, body: bytes, header_length: int | None = None,
              version: str | None = None) -> EncodedResponse:
        """A V2 request (JSON, or JSON then binary tensors) -> its encoded response."""
        model = self.check_target(name, version)
        t0 = time.perf_counter()
        with reading("the request"):
            request = parse_infer_request(body, model.inputs, self.max_batch, header_length, model.text_inputs)
            inputs, notes = model.decode_infer(request.inputs)
        t1 = time.perf_counter()
        with self.telemetry.segment("inference"):
            answered = model(inputs)
        capture.seen(request.inputs, answered, model.version)
        outputs = select_outputs(answered, request.outputs, model.labels_of)
        t2 = time.perf_counter()
        self.telemetry.latency("Decode", t1 - t0)
        self.telemetry.latency("Inference", t2 - t1)
        return encode_infer_response(model.name, model.version, outputs, request, notes)

    def predict(self, name: str, body: bytes) -> dict[str, Any]:
        model = self.check_target(name)
        t0 = time.perf_counter()
        with reading("the request"):
            request = model.read_predict(loads(body))
            check_rows(len(request.rows), self.max_batch, model.row_noun)
            request.inputs = model.decode_predict(request)
        t1 = time.perf_counter()
        with self.telemetry.segment("inference"):
            outputs = model(request.inputs)
        capture.seen(request.inputs, outputs, model.version)
        t2 = time.perf_counter()
        self.telemetry.latency("Decode", t1 - t0)
        self.telemetry.latency("Inference", t2 - t1)
        result = model.encode_predict(outputs, request)
        result.setdefault("model_name", model.name)
        result.setdefault("model_version", model.version)
        return result
