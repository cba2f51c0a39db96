"""A model function's routes: a table of (method, path pattern) -> route, for API Gateway HTTP
API events (payload format 2.0).

A model function serves nine routes. Powertools' APIGatewayHttpResolver matched them before,
but importing its event_handler package (every resolver it ships, asyncio, the event data
classes) took about 55 ms of each cold start, more than the rest of lepton_serving together
(docs/coldstart.md). This table matches as the resolver did: the method compared in upper
case, the stage stripped from rawPath unless it is `$default`, `<name>` matching one path
segment of the same characters (left URL-encoded, as API Gateway delivers it), static routes
before dynamic ones. Its responses are the same payload-2.0 dicts.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: One path segment: RFC 3986's unreserved and sub-delimiter characters, plus those API Gateway
#: passes through decoded (Powertools' resolver accepts the same set).
_SEGMENT = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"
_PARAMETER = re.compile(r"<(\w+)>")


class Request:
    """The parts of an API Gateway HTTP API event a route reads."""

    __slots__ = ("event", "method", "path")

    def __init__(self, event: dict[str, Any]):
        self.event = event
        context = event.get("requestContext") or {}
        self.method: str = (context.get("http") or {}).get("method") or ""
        path = event.get("rawPath") or ""
        stage = context.get("stage")
        if stage and stage != "$default":  # a named stage prefixes rawPath with /<stage>
            path = path[len(stage) + 1:]
        self.path: str = path

    @property
    def headers(self) -> dict[str, str]:
        return self.event.get("headers") or {}

    @property
    def request_id(self) -> str:
        return str((self.event.get("requestContext") or {}).get("requestId", ""))


@dataclass
class Response:
    """An answer: a text body (JSON) or bytes (base64-encoded for API Gateway, which decodes them)."""

    status: int
    body: str | bytes
    content_type: str = "application/json"
    headers: dict[str, str] | None = None

    def to_event(self) -> dict[str, Any]:
        headers = {**self.headers, "Content-Type": self.content_type} if self.headers else {
            "Content-Type": self.content_type}
        if isinstance(self.body, bytes):
            return {"statusCode": self.status, "body": base64.b64encode(self.body).decode(), "isBase64Encoded": True,
                    "headers": headers, "cookies": []}
        return {"statusCode": self.status, "body": self.body, "isBase64Encoded": False, "headers": headers,
                "cookies": []}


#: A route: called with the request and the path's parameters by name.
Route = Callable[..., Response]


class Routes:
    def __init__(self) -> None:
        self._static: dict[tuple[str, str], Route] = {}
        self._dynamic: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
        self._judged: set[Route] = set()

    def add(self, method: str, rule: str, route: Route, judged: bool = False) -> None:
        """``rule``: a path, with ``<name>`` for each parameter segment. ``judged``: a caller's
        request to this route counts in what a canary is judged on (an inference route)."""
        method = method.upper()
        if judged:
            self._judged.add(route)
        if "<" not in rule:
            self._static[(method, rule)] = route
            return
        pattern = re.compile(_PARAMETER.sub(lambda m: f"(?P<{m.group(1)}>{_SEGMENT})", rule))
        self._dynamic.setdefault(method, []).append((pattern, route))

    def get(self, rule: str, judged: bool = False) -> Callable[[Route], Route]:
        return self._decorator("GET", rule, judged)

    def post(self, rule: str, judged: bool = False) -> Callable[[Route], Route]:
        return self._decorator("POST", rule, judged)

    def judges(self, route: Route) -> bool:
        return route in self._judged

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for this method and path, with its parameters; None when no route fits."""
        method = method.upper()
        route = self._static.get((method, path))
        if route is not None:
            return route, {}
        for pattern, route in self._dynamic.get(method, ()):
            found = pattern.fullmatch(path)
            if found is not None:
                return route, found.groupdict()
        return None

    def _decorator(self, method: str, rule: str, judged: bool) -> Callable[[Route], Route]:
        def register(route: Route) -> Route:
            self.add(method, rule, route, judged)
            return route

        return register
