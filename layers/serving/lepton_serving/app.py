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
from .boundary import reading
from .capture import Capture
from .config import ServingConfig
from .dataplane import DataPlane, LiveResolver
from .errors import (ConfigError, InputError, InvalidRequest, LeptonError, ModelNotReady, NotFound, PayloadTooLarge,
                     UnreadableInput, UnsupportedMediaType, kind_of, status_for)
from .misconfigured import MisconfiguredHandler
from .model import Model
from .observability import Telemetry, tracing_on
from .origin import deployer_origin
from .pins import ModelPins
from .protocol import EncodedResponse, dumps
from .redaction import Redactor
from .routes import Request, Response, Route, Routes
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


def v2_body(request: Request) -> tuple[bytes, int | None]:
    """A V2 request's bytes and its binary extension header, read inside the boundary."""
    with reading("the request"):
        return request_body(request), binary.header_length(request.headers.get(binary.HEADER))


def build_routes(plane: DataPlane) -> Routes:
    """The nine routes. The three inference routes are `judged`: a caller's request to them
    counts in the version's own metrics, which a canary is judged on."""
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

    @routes.post("/v2/models/<name>/infer", judged=True)
    def infer(request: Request, name: str) -> Response:
        return infer_response(plane.infer(name, *v2_body(request)))

    @routes.post("/v2/models/<name>/versions/<version>/infer", judged=True)
    def version_infer(request: Request, name: str, version: str) -> Response:
        return infer_response(plane.infer(name, *v2_body(request), version))

    @routes.post("/models/<name>/predict", judged=True)
    def predict(request: Request, name: str) -> Response:
        with reading("the request"):
            body = request_body(request)
        return json_response(200, plane.predict(name, body))

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
                               resolve_live=resolve_live,
                               receipts=self._receipt_from_table if self.config.deployments_table else None)
        self.routes = build_routes(self.plane)
        # What an error body may say: this deployment's bucket, table and function are named in
        # S3 and DynamoDB messages (a 503's reason), and every caller may read it.
        self.redact = Redactor(self.config.pins.bucket, self.config.deployments_table,
                               [env.get("AWS_LAMBDA_FUNCTION_NAME", "")])
        self.capture = Capture(self.config.capture, self.config.model_name,
                               env.get("AWS_LAMBDA_FUNCTION_NAME", ""), env.get("AWS_LAMBDA_FUNCTION_VERSION", ""))

    def warm(self) -> None:
        """Load the model now, in Lambda's init phase; a failure is reported per request instead."""
        try:
            self.plane.load()
        except LeptonError:
            pass

    def with_environment(self, env: Mapping[str, str]) -> Handler | MisconfiguredHandler:
        """The same function under another configuration: how the local API serves each version."""
        return configured(self.model_factory, env, aws=self.aws)

    def with_capture_output(self, write: Callable[[str], Any]) -> Handler:
        """This handler writing its capture records with ``write`` instead of stdout: the local
        stack delivers them to the log group, as Lambda delivers what a function prints."""
        self.capture.output = write
        return self

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.telemetry.start_invocation(getattr(context, "aws_request_id", None))
        started = time.perf_counter()
        batch = isinstance(event, dict) and "lepton_batch" in event  # a direct invocation, not API Gateway
        status, error, judged = 500, "Unknown", False
        exchange = None
        try:
            if batch:
                status, error = 200, None
                return self.score_batch(event, context)
            request = Request(event)
            found = self.routes.match(request.method, request.path)
            judged = found is not None and self.routes.judges(found[0]) and deployer_origin(event) is None
            if self.capture.on and judged and request.path.endswith(("/infer", "/predict")):
                exchange = self.capture.begin("predict" if request.path.endswith("/predict") else "infer",
                                              request.request_id)
            response, failure = self.respond(request, found)
            status, error = response.status, kind_of(failure) if failure is not None else None
            # A 404 for a model or version this function does not serve says nothing of this version.
            judged = judged and not isinstance(failure, NotFound)
            return response.to_event()
        finally:
            if exchange is not None:
                self.capture.end(exchange, status, time.perf_counter() - started, error,
                                 version=self.plane.model.version)
            self.telemetry.count("Invocations")
            if not batch:
                self.telemetry.answered(status, error, judged)
            self.telemetry.latency("Batch" if batch else "Request", time.perf_counter() - started)
            self.telemetry.flush()

    def score_batch(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """A batch of rows (batch.py): each row judged by `answer`, the same boundary as a request.
        Its rows count as answers of this function, never in the version's own series: a batch
        is not callers' traffic to judge a canary on."""
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
        """The answer to one event (an API Gateway request, or a batch's row), counted by its
        status and kind; the route and failure are `respond`'s."""
        request = Request(event)
        response, failure = self.respond(request, self.routes.match(request.method, request.path))
        self.telemetry.answered(response.status, kind_of(failure) if failure is not None else None)
        return response

    def respond(self, request: Request, found: tuple[Route, dict[str, str]] | None
                ) -> tuple[Response, Exception | None]:
        """The answer to ``request`` by its route (None: no route matched) and, when it failed, why.
        Every failure becomes its status from the one table; what the caller sent cannot reach a
        5xx (boundary.py), so a 5xx is our fault, logged with its stack and the request id."""
        try:
            check_envelope(request.event, self.config.max_body_bytes)
            if found is None:
                raise NotFound(f"no route for {request.method} {request.path}")
            route, parameters = found
            return route(request, **parameters), None
        except LeptonError as exc:
            status = status_for(exc)
            self._log_refusal(exc, status, request)
            return error_response(status, self.redact(exc.message), exc.retry_after), exc
        except Exception as exc:  # noqa: BLE001 - a bug, not bad input: logged with its trace
            self.telemetry.logger.exception("unhandled error", extra={"gateway_request_id": request.request_id})
            return error_response(500, f"internal error; quote request id {request.request_id}"), exc

    def _log_refusal(self, exc: LeptonError, status: int, request: Request) -> None:
        if status >= 500:  # our own fault (the model is unavailable, S3 is down): with its stack
            self.telemetry.logger.warning("request refused", exc_info=exc, extra={
                "status": status, "reason": exc.message, "gateway_request_id": request.request_id})
        elif isinstance(exc, UnreadableInput | InputError):
            # The caller's, but no check named it: the library's trace says where, in case it is ours.
            self.telemetry.logger.info("request refused by the boundary", exc_info=exc, extra={
                "status": status, "reason": exc.message, "gateway_request_id": request.request_id})

    def _open_bucket(self, name: str) -> Any:
        from .bucket import ModelBucket  # the S3 path only

        return ModelBucket(self.aws("s3"), name)

    def _live_from_table(self, config: ServingConfig) -> ModelPins | None:
        table = DeploymentsTable(self.aws("dynamodb"), config.deployments_table)
        try:
            return table.live_model_ref(config.model_name, config.pins.bucket)
        except TableError as exc:
            raise ModelNotReady(f"cannot read which version of '{config.model_name}' is live: {exc.message}") from exc


    def _receipt_from_table(self, model: str, version: str) -> dict[str, Any] | None:
        return DeploymentsTable(self.aws("dynamodb"), self.config.deployments_table).release_receipt(model, version)


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


def configured(model_factory: Callable[[str], Model], env: Mapping[str, str], resolve_live: LiveResolver | None = None,
               aws: ClientFactory = clients.client) -> Handler | MisconfiguredHandler:
    """The function's handler under ``env``; when its settings are refused, one that answers
    every request with the reason."""
    try:
        return Handler(model_factory, env, resolve_live=resolve_live, aws=aws)
    except ConfigError as exc:
        return MisconfiguredHandler(exc, env, lambda fresh: configured(model_factory, fresh, aws=aws))


def serve(model_factory: Callable[[str], Model], resolve_live: LiveResolver | None = None
          ) -> Handler | MisconfiguredHandler:
    """The function's handler, configured from the process environment (Lambda's, at init)."""
    handler = configured(model_factory, os.environ, resolve_live=resolve_live)
    # Real Lambda (and `sam local`) set the runtime API address: load during the init phase there.
    if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        handler.warm()
    if isinstance(handler, Handler) and os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        from . import snapstart  # only under SnapStart (template parameter SnapStart=PublishedVersions)

        snapstart.register(handler)
    return handler
