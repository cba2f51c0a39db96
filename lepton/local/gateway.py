"""The local API Gateway: match a route, build the v2 event, call the function in-process.

`LocalGateway.handle` is plain and synchronous (testable alone); `asgi_app` adapts it to a
server. One code path for local and cloud: the same handler gets the same event shape.
"""
from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from .http_events import http_event, http_response
from .route_table import Match, RouteTable
from .template import OPEN, Route

log = logging.getLogger("lepton.local.gateway")



@dataclass(frozen=True)
class Incoming:
    """A request as the gateway received it: what an authorizer may look at."""

    method: str
    path: str  # decoded, as routes match it
    raw_path: str  # as sent, percent-encoding kept: what a SigV4 signature covers
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class AuthDecision:
    """An authorizer's answer: allowed (with what the event's requestContext.authorizer says of
    the caller), or refused with API Gateway's status, message and headers."""

    status: int = 200
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.status < 400


#: (function logical id, event) -> the handler's raw return value
Dispatch = Callable[[str, dict[str, Any]], Any]
#: (route, request) -> whether it may pass
Authorizer = Callable[[Route, Incoming], AuthDecision]

LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024


def _message(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, orjson.dumps({"message": text})


class LocalGateway:
    def __init__(self, routes: list[Route], dispatch: Dispatch, authorize: Authorizer | None = None,
                 threaded: set[str] | frozenset[str] = frozenset()):
        """`threaded`: functions to call off the server's event loop, as Lambda calls every
        handler (ASGI adapters such as Mangum drive a loop of their own). The others run on the
        loop itself: no thread hand-off on the inference path."""
        self.table = RouteTable(routes)
        self.dispatch = dispatch
        self.authorize = authorize
        self.threaded = frozenset(threaded)

    def set_routes(self, routes: list[Route], threaded: set[str] | frozenset[str]) -> None:
        """New routes at once (the template changed): each request sees the old table or the new."""
        self.table = RouteTable(routes)
        self.threaded = frozenset(threaded)

    def needs_thread(self, match: Match | None) -> bool:
        return match is not None and match.route.function in self.threaded

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
               source_ip: str = "127.0.0.1", raw_path: str | None = None) -> tuple[int, dict[str, str], bytes]:
        return self.serve(self.table.match(method, path), method, path, query, headers, body, source_ip, raw_path)

    def serve(self, match: Match | None, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
              source_ip: str = "127.0.0.1", raw_path: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """`handle` for a request whose route the caller has matched already."""
        if match is None:
            return _message(404, "Not Found")
        caller = None
        if match.route.auth != OPEN and self.authorize is not None:
            verdict = self.authorize(match.route, Incoming(method, path, raw_path or path, query,
                                                           {k.lower(): v for k, v in headers.items()}, body))
            if not verdict.allowed:
                status, out_headers, text = _message(verdict.status, verdict.message)
                return status, {**out_headers, **verdict.headers}, text
            caller = verdict.context
        event = http_event(method, path, match.route_key, query=query, headers=headers, body=body,
                           path_parameters=match.path_parameters or None, source_ip=source_ip, authorizer=caller)
        if len(event.get("body") or "") > LAMBDA_PAYLOAD_LIMIT:
            return _message(413, "Request Entity Too Large")
        try:
            result = self.dispatch(match.route.function, event)
        except Exception:  # what API Gateway does when the function itself fails
            log.exception("function %s failed", match.route.function)
            return _message(500, "Internal Server Error")
        try:
            return http_response(result)
        except (TypeError, ValueError, base64.binascii.Error):
            log.exception("function %s returned a malformed response", match.route.function)
            return _message(502, "Internal Server Error")


def _own_loop() -> None:
    # A worker thread gets an event loop of its own, like the thread Lambda runs a handler in.
    asyncio.set_event_loop(asyncio.new_event_loop())


def asgi_app(gateway: LocalGateway) -> Callable[..., Any]:
    workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lepton-fn", initializer=_own_loop)

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        client = scope.get("client") or ("127.0.0.1", 0)
        raw_path = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
        match = gateway.table.match(scope["method"], scope["path"])  # once: the route decides the thread too
        request = (match, scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
                   headers, b"".join(chunks), client[0], raw_path)
        if gateway.needs_thread(match):
            status, out_headers, body = await asyncio.get_running_loop().run_in_executor(
                workers, gateway.serve, *request)
        else:
            status, out_headers, body = gateway.serve(*request)
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers.items()],
        })
        await send({"type": "http.response.body", "body": body})

    return app
