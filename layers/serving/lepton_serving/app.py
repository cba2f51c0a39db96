"""The Lambda handler object of a model function: config, model, data plane, routes.

A model function's handler module is two lines:

    from lepton_serving import serve
    lambda_handler = serve(TabularModel)

Nothing here imports boto3 or onnxruntime: the S3 client is created only when the model is read
from the bucket, onnxruntime when the session is created (docs/coldstart.md lists what is).
"""
from __future__ import annotations

import base64
import binascii
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import binary, clients
from .config import ServingConfig
from .dataplane import DataPlane, LiveResolver
from .errors import (InvalidRequest, LeptonError, ModelNotReady, PayloadTooLarge, UnsupportedMediaType, kind_of,
                     status_for)
from .model import Model
from .observability import Telemetry, tracing_on
from .pins import ModelPins
from .protocol import EncodedResponse, dumps
from .routes import Request, Response, Routes
from .store import ModelStore
from .table import DeploymentsTable, TableError

#: service name -> boto3 client (clients.client: created once per execution environment)
ClientFactory = Callable[[str], Any]


def json_response(status: int, payload: Any) -> Response:
    return Response(status, dumps(payload).decode())


def error_response(status: int, message: str, retry_after: float | None = None) -> Response:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
    return Response(status, dumps({"error": message}).decode(), headers=headers)


def infer_response(encoded: EncodedResponse) -> Response:
    """A V2 answer: JSON text, or JSON then binary tensors (bytes: base64 to API Gateway, which
    decodes them for the caller) with the header length the binary extension requires."""
    if encoded.header_length is None:
        return Response(200, encoded.body.decode())
    return Response(200, encoded.body, encoded.content_type,
                    {"Inference-Header-Content-Length": str(encoded.header_length)})


def request_body(request: Request) -> bytes:
    """The request's bytes as the caller sent them: API Gateway base64-encodes binary bodies."""
    body = request.event.get("body") or ""
    if not request.event.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("the request body is marked base64-encoded but is not valid base64") from exc


def _header_length(request: Request) -> int | None:
    return binary.header_length(request.headers.get(binary.HEADER))


def build_routes(plane: DataPlane) -> Routes:
    routes = Routes()

    @routes.get("/v2/health/live")
    def live(request: Request) -> Response:
        return json_response(200, {"live": True})

    @routes.get("/v2/health/ready")
    def ready(request: Request) -> Response:
        ok = plane.ready()
        return json_response(200 if ok else 503, {"ready": ok})

    @routes.get("/v2/models/<name>")
    def metadata(request: Request, name: str) -> Response:
        return json_response(200, plane.metadata(name))

    @routes.get("/v2/models/<name>/versions/<version>")
    def version_metadata(request: Request, name: str, version: str) -> Response:
        return json_response(200, plane.metadata(name, version))

    @routes.get("/v2/models/<name>/ready")
    def model_ready(request: Request, name: str) -> Response:
        plane.check_target(name)
        return json_response(200, {"name": name, "ready": True})

    @routes.get("/v2/models/<name>/versions/<version>/ready")
    def version_ready(request: Request, name: str, version: str) -> Response:
        plane.check_target(name, version)
        return json_response(200, {"name": name, "ready": True})

    @routes.post("/v2/models/<name>/infer")
    def infer(request: Request, name: str) -> Response:
        return infer_response(plane.infer(name, request_body(request), _header_length(request)))

    @routes.post("/v2/models/<name>/versions/<version>/infer")
    def version_infer(request: Request, name: str, version: str) -> Response:
        return infer_response(plane.infer(name, request_body(request), _header_length(request), version))

    @routes.post("/models/<name>/predict")
    def predict(request: Request, name: str) -> Response:
        return json_response(200, plane.predict(name, request_body(request)))

    return routes


class Handler:
    """The Lambda entry point for one model function: config, model, data plane, routes."""

    def __init__(self, model_factory: Callable[[str], Model], env: Mapping[str, str],
                 resolve_live: LiveResolver | None = None, aws: ClientFactory = clients.client):
        """``env``: the function's environment (`serve` passes the process's); ``aws``: where
        boto3 clients come from, created only when the model is read from S3 or the table."""
        self.model_factory = model_factory
        self.aws = aws
        self.config = ServingConfig.from_env(env)
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "")
        self.telemetry = Telemetry(service=self.config.model_name or "lepton-model",
                                   function_version=self.function_version,
                                   tracing=tracing_on(env))
        self.telemetry.bind(model_name=self.config.model_name)
        if resolve_live is None and self.config.deployments_table:
            resolve_live = self._live_from_table
        store = ModelStore(self.config.cache_dir, open_bucket=self._open_bucket)
        self.plane = DataPlane(model_factory(self.config.model_name), self.config, self.telemetry, store,
                               resolve_live=resolve_live)
        self.routes = build_routes(self.plane)

    def warm(self) -> None:
        """Load the model now, in Lambda's init phase; a failure is reported per request instead."""
        try:
            self.plane.load()
        except LeptonError:
            pass

    def with_environment(self, env: Mapping[str, str]) -> Handler:
        """The same function under another configuration: how the local API serves each version."""
        return Handler(self.model_factory, env, aws=self.aws)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.telemetry.start_invocation(getattr(context, "aws_request_id", None))
        started = time.perf_counter()
        batch = isinstance(event, dict) and "lepton_batch" in event  # a direct invocation, not API Gateway
        try:
            return self.score_batch(event, context) if batch else self.answer(event).to_event()
        finally:
            self.telemetry.count("Invocations")
            self.telemetry.latency("Batch" if batch else "Request", time.perf_counter() - started)
            self.telemetry.flush()

    def score_batch(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """A batch of rows (batch.py): each row judged by `answer`, the same boundary as a request."""
        from . import batch

        try:
            model = self.plane.load()
        except LeptonError as exc:
            raise batch.BatchFailed(f"model '{self.config.model_name}' cannot load: {exc.message}") from exc
        signature = batch.Signature(
            model=model.name, version=model.version, max_batch=self.plane.max_batch,
            inputs={s.name: (s.datatype, list(s.shape)) for s in model.inputs},
            feature_names=[str(f) for f in (model.manifest.preprocessing.get("feature_names") or [])]
            if model.manifest else [])
        request_id = str(getattr(context, "aws_request_id", "") or "batch")

        def answer(method: str, path: str, body: bytes) -> Response:
            return self.answer({"version": "2.0", "rawPath": path, "body": body.decode(), "isBase64Encoded": False,
                                "headers": {"content-type": "application/json"},
                                "requestContext": {"http": {"method": method}, "requestId": request_id,
                                                   "stage": "$default"}})

        version = str(getattr(context, "function_version", "") or self.function_version or "$LATEST")
        return batch.score(event, signature, answer, version)

    def answer(self, event: dict[str, Any]) -> Response:
        """The route's answer to one event; every failure becomes its status from the one table."""
        try:
            check_envelope(event, self.config.max_body_bytes)
        except LeptonError as exc:
            return error_response(refusal(exc, self.telemetry), exc.message)  # 413/415: nothing to retry
        request = Request(event)
        found = self.routes.match(request.method, request.path)
        if found is None:
            self.telemetry.error("RouteNotFound", 404)
            return error_response(404, f"no route for {request.method} {request.path}")
        route, parameters = found
        try:
            return route(request, **parameters)
        except LeptonError as exc:
            return error_response(refusal(exc, self.telemetry), exc.message, exc.retry_after)
        except Exception as exc:  # noqa: BLE001 - a bug, not bad input: logged with its trace
            self.telemetry.logger.exception("unhandled error")
            self.telemetry.error(kind_of(exc), 500)
            return error_response(500, f"internal error; quote request id {request.request_id}")

    def _open_bucket(self, name: str) -> Any:
        from .bucket import ModelBucket  # the S3 path only

        return ModelBucket(self.aws("s3"), name)

    def _live_from_table(self, config: ServingConfig) -> ModelPins | None:
        table = DeploymentsTable(self.aws("dynamodb"), config.deployments_table)
        try:
            return table.live_model_ref(config.model_name, config.pins.bucket)
        except TableError as exc:
            raise ModelNotReady(f"cannot read which version of '{config.model_name}' is live: {exc.message}") from exc


#: Content types a body may declare: JSON, the binary tensor extension's octet stream, and what
#: `curl -d` sends when told nothing (form-urlencoded), read as JSON all the same.
ACCEPTED_TYPES = ("application/json", "application/octet-stream", "application/x-www-form-urlencoded")


def check_envelope(event: dict[str, Any], max_body_bytes: int) -> None:
    """What must hold before a route runs: a body within the size limit, of a type we read."""
    body = event.get("body") or ""
    if len(body) > max_body_bytes:
        raise PayloadTooLarge(f"request body is {len(body)} bytes; the limit is {max_body_bytes} bytes")
    if body:
        declared = (event.get("headers") or {}).get("content-type", "")
        media = declared.split(";", 1)[0].strip().lower()
        if media and media not in ACCEPTED_TYPES and not media.endswith("+json"):
            raise UnsupportedMediaType(f"content type '{media}' is not accepted; send JSON "
                                       "(Content-Type: application/json)")


def refusal(exc: LeptonError, telemetry: Telemetry) -> int:
    """A domain error's status (from the one table), counted and, for a 5xx, logged."""
    status = status_for(exc)
    telemetry.error(kind_of(exc), status)
    if status >= 500:
        telemetry.logger.warning("request refused", extra={"status": status, "reason": exc.message})
    return status


def serve(model_factory: Callable[[str], Model], resolve_live: LiveResolver | None = None) -> Handler:
    """The function's handler, configured from the process environment (Lambda's, at init)."""
    handler = Handler(model_factory, os.environ, resolve_live=resolve_live)
    # Real Lambda (and `sam local`) set the runtime API address: load during the init phase there.
    if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        handler.warm()
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        from . import snapstart  # only under SnapStart (template parameter SnapStart=PublishedVersions)

        snapstart.register(handler)
    return handler
