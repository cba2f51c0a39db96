"""HTTP routes (Powertools' API Gateway HTTP API resolver) and the Lambda handler object.

A model function's handler module is two lines:

    from lepton_serving import serve
    lambda_handler = serve(TabularModel)
"""
from __future__ import annotations

import base64
import binascii
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from . import binary, clients
from .bucket import ModelBucket
from .config import ModelRef, ServingConfig
from .dataplane import DataPlane, LiveResolver
from .errors import (InvalidRequest, LeptonError, ModelNotReady, PayloadTooLarge, UnsupportedMediaType, kind_of,
                     status_for)
from .model import Model
from .observability import Telemetry
from .protocol import EncodedResponse, dumps
from .store import ModelStore
from .table import DeploymentsTable, TableError

#: service name -> boto3 client (clients.client: created once per execution environment)
ClientFactory = Callable[[str], Any]

JSON = "application/json"


def json_response(status: int, payload: Any) -> Response:
    return Response(status_code=status, content_type=JSON, body=dumps(payload).decode())


def error_response(status: int, message: str, retry_after: float | None = None) -> Response:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
    return Response(status_code=status, content_type=JSON, body=dumps({"error": message}).decode(), headers=headers)


def infer_response(encoded: EncodedResponse) -> Response:
    """A V2 answer: JSON text, or JSON then binary tensors (bytes: base64 to API Gateway, which
    decodes them for the caller) with the header length the binary extension requires."""
    if encoded.header_length is None:
        return Response(status_code=200, content_type=JSON, body=encoded.body.decode())
    return Response(status_code=200, content_type=encoded.content_type, body=encoded.body,
                    headers={"Inference-Header-Content-Length": str(encoded.header_length)})


def request_body(event: Any) -> bytes:
    """The request's bytes as the caller sent them: API Gateway base64-encodes binary bodies."""
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("the request body is marked base64-encoded but is not valid base64") from exc


def _header_length(event: Any) -> int | None:
    return binary.header_length((event.headers or {}).get(binary.HEADER))


def build_resolver(plane: DataPlane) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    telemetry = plane.telemetry

    @app.get("/v2/health/live")
    def live() -> Response:
        return json_response(200, {"live": True})

    @app.get("/v2/health/ready")
    def ready() -> Response:
        ok = plane.ready()
        return json_response(200 if ok else 503, {"ready": ok})

    @app.get("/v2/models/<name>")
    def metadata(name: str) -> Response:
        return json_response(200, plane.metadata(name))

    @app.get("/v2/models/<name>/versions/<version>")
    def version_metadata(name: str, version: str) -> Response:
        return json_response(200, plane.metadata(name, version))

    @app.get("/v2/models/<name>/ready")
    def model_ready(name: str) -> Response:
        plane.check_target(name)
        return json_response(200, {"name": name, "ready": True})

    @app.get("/v2/models/<name>/versions/<version>/ready")
    def version_ready(name: str, version: str) -> Response:
        plane.check_target(name, version)
        return json_response(200, {"name": name, "ready": True})

    @app.post("/v2/models/<name>/infer")
    def infer(name: str) -> Response:
        event = app.current_event
        return infer_response(plane.infer(name, request_body(event), _header_length(event)))

    @app.post("/v2/models/<name>/versions/<version>/infer")
    def version_infer(name: str, version: str) -> Response:
        event = app.current_event
        return infer_response(plane.infer(name, request_body(event), _header_length(event), version))

    @app.post("/models/<name>/predict")
    def predict(name: str) -> Response:
        return json_response(200, plane.predict(name, request_body(app.current_event)))

    @app.exception_handler(LeptonError)
    def lepton_error(exc: LeptonError) -> Response:
        return error_response(refusal(exc, telemetry), exc.message, exc.retry_after)

    @app.not_found
    def not_found(exc: NotFoundError) -> Response:
        event = app.current_event
        telemetry.error("RouteNotFound", 404)
        return error_response(404, f"no route for {event.http_method} {event.path}")

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        # A bug, not bad input: log the trace for us, give the caller an id to quote.
        telemetry.logger.exception("unhandled error")
        telemetry.error(kind_of(exc), 500)
        return error_response(500, f"internal error; quote request id {app.current_event.request_context.request_id}")

    return app


class Handler:
    """The Lambda entry point for one model function: config, model, data plane, routes."""

    def __init__(self, model_factory: Callable[[str], Model], env: Mapping[str, str],
                 resolve_live: LiveResolver | None = None, aws: ClientFactory = clients.client):
        """``env``: the function's environment (`serve` passes the process's); ``aws``: where
        boto3 clients come from, created only when the model is read from S3 or the table."""
        self.model_factory = model_factory
        self.aws = aws
        self.config = ServingConfig.from_env(env)
        self.telemetry = Telemetry(service=self.config.model_name or "lepton-model",
                                   function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", ""))
        self.telemetry.bind(model_name=self.config.model_name)
        if resolve_live is None and self.config.deployments_table:
            resolve_live = self._live_from_table
        store = ModelStore(self.config.cache_dir, open_bucket=lambda name: ModelBucket(aws("s3"), name))
        self.plane = DataPlane(model_factory(self.config.model_name), self.config, self.telemetry, store,
                               resolve_live=resolve_live)
        self.app = build_resolver(self.plane)

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
        try:
            try:
                check_envelope(event, self.config.max_body_bytes)
            except LeptonError as exc:
                return _plain(refusal(exc, self.telemetry), exc.message)  # 413/415: nothing to retry
            return self.app.resolve(event, context)
        finally:
            self.telemetry.count("Invocations")
            self.telemetry.latency("Request", time.perf_counter() - started)
            self.telemetry.flush()

    def _live_from_table(self, config: ServingConfig) -> ModelRef | None:
        table = DeploymentsTable(self.aws("dynamodb"), config.deployments_table)
        try:
            return table.live_model_ref(config.model_name, config.bucket)
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


def _plain(status: int, message: str) -> dict[str, Any]:
    """An error answer built without the resolver (the request never reached a route)."""
    return {"statusCode": status, "headers": {"Content-Type": JSON}, "body": dumps({"error": message}).decode(),
            "isBase64Encoded": False}


def serve(model_factory: Callable[[str], Model], resolve_live: LiveResolver | None = None) -> Handler:
    """The function's handler, configured from the process environment (Lambda's, at init)."""
    handler = Handler(model_factory, os.environ, resolve_live=resolve_live)
    # Real Lambda (and `sam local`) set the runtime API address: load during the init phase there.
    if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        handler.warm()
    return handler
