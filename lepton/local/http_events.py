"""API Gateway HTTP API (payload format 2.0) events and responses, as API Gateway builds them."""
from __future__ import annotations

import base64
import os
import time
from typing import Any

import orjson

_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")


def http_event(method: str, path: str, route_key: str, *, query: str = "",
               headers: dict[str, str] | None = None, body: bytes = b"",
               path_parameters: dict[str, str] | None = None, source_ip: str = "127.0.0.1",
               api_id: str = "local", stage: str = "$default",
               authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """``authorizer``: what API Gateway tells the function of an authorized caller
    (requestContext.authorizer: {"iam": {...}} or {"jwt": {"claims": ..., "scopes": ...}})."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": os.urandom(10).hex(),
            "routeKey": route_key,
            "stage": stage,
            "time": _clock_text(int(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if authorizer:
        event["requestContext"]["authorizer"] = authorizer
    if query:
        event["queryStringParameters"] = _query_parameters(query)
    if path_parameters:
        event["pathParameters"] = path_parameters
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
    if body:
        content_type = headers.get("content-type", "application/json")
        if content_type.startswith(_TEXT_TYPES):
            try:
                event["body"] = body.decode("utf-8")
                return event
            except UnicodeDecodeError:
                pass
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True
    return event


_last_second: list = [0, ""]


def _clock_text(second: int) -> str:
    """API Gateway's request time, formatted once per second rather than once per request."""
    if _last_second[0] != second:
        _last_second[:] = [second, time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))]
    return _last_second[1]


def http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """What API Gateway makes of a handler's return value (payload format 2.0 rules)."""
    if isinstance(result, dict) and "statusCode" in result:
        status = int(result["statusCode"])
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = ", ".join(map(str, values))
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        if result.get("cookies"):
            headers["set-cookie"] = "; ".join(result["cookies"])
        return status, headers, raw
    # A bare value: API Gateway answers 200 with it as JSON.
    return 200, {"content-type": "application/json"}, orjson.dumps(result)


def _query_parameters(query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params
