"""Lambda's Invoke API on the local AWS, answered by running the function version in this process.

moto stores functions but runs no code without Docker. The local stack's moto server runs in the
`lepton up` process, so its Invoke route (POST /2015-03-31/functions/{name}/invocations) is answered
here instead, for every function the stack hosts: by whatever calls the local AWS, the aws CLI, a
boto3 client, or moto's own Step Functions interpreter, whose Lambda tasks call Invoke on this
server (step_functions.py). The qualifier picks the version (a number, an alias such as `live`, or
$LATEST) and the version's own configuration (lambda_api.LocalLambda.run). A function the stack
does not host, and a DryRun, go on to moto.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote


class Runner(Protocol):
    def hosts(self, function_name: str) -> bool: ...

    def run(self, function_name: str, qualifier: str, event: Any) -> tuple[str, Any]:
        """Run the version ``qualifier`` names; returns (that version, its answer)."""

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


def split_name(name: str, qualifier: str | None) -> tuple[str, str]:
    """A function name, partial or full ARN, with or without `:qualifier` -> (name, qualifier)."""
    parts = name.split(":")
    if name.startswith("arn:"):  # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        return parts[6], qualifier or (parts[7] if len(parts) > 7 else "$LATEST")
    if len(parts) == 2:  # name:qualifier
        return parts[0], qualifier or parts[1]
    if len(parts) >= 3 and parts[1] == "function":  # <account>:function:<name>[:<qualifier>]
        return parts[2], qualifier or (parts[3] if len(parts) > 3 else "$LATEST")
    return name, qualifier or "$LATEST"


class InvokeRoute:
    """WSGI middleware: Invoke calls for hosted functions run in-process, the rest go to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], runner: Callable[[], Runner | None]):
        self.app = app
        self.runner = runner  # read per request: the stack sets it once its functions exist

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = _INVOKE.match(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "POST" else None
        runner = self.runner()
        kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        if found is None or runner is None or kind == "DryRun":
            return self.app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        name, qualifier = split_name(unquote(found["name"]), (query.get("Qualifier") or [None])[0])
        if not runner.hosts(name):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            event = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError:
            return _answer(start_response, "400 Bad Request",
                           {"Type": "User", "message": "Could not parse request body into json"},
                           [("X-Amzn-ErrorType", "InvalidRequestContentException")])
        if kind == "Event":  # asynchronous: accepted now, run on a thread of its own, as Lambda queues it
            threading.Thread(target=_quietly, args=(runner, name, qualifier, event), name="lepton-invoke-event",
                             daemon=True).start()
            return _answer(start_response, "202 Accepted", None, [])
        try:
            version, result = runner.run(name, qualifier, event)
        except Exception as exc:  # noqa: BLE001 - the function's own failure, reported as Lambda reports it
            return _answer(start_response, "200 OK", {"errorMessage": str(exc), "errorType": type(exc).__name__},
                           [("X-Amz-Function-Error", "Unhandled"), ("X-Amz-Executed-Version", qualifier)])
        return _answer(start_response, "200 OK", result, [("X-Amz-Executed-Version", version)])


def _quietly(runner: Runner, name: str, qualifier: str, event: Any) -> None:
    try:
        runner.run(name, qualifier, event)
    except Exception:  # noqa: BLE001 - an asynchronous invocation's failure is in the function's log
        pass


def _answer(start_response: Callable[..., Any], status: str, payload: Any, headers: list[tuple[str, str]]
            ) -> list[bytes]:
    body = b"" if payload is None else json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]
