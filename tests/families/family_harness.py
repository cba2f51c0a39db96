"""Call a handler with an events/ file (optionally with another body) and read its JSON answer."""
from __future__ import annotations

import json
from typing import Any

from eventfiles import load_event
from lepton.local.context import LambdaContext


def call(handler, event: dict) -> tuple[int, dict]:
    response = handler(event, LambdaContext("test"))
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def with_body(relative: str, payload: Any) -> dict:
    event = load_event(relative)
    event["body"] = payload if isinstance(payload, str) else json.dumps(payload)
    return event


def body_of(relative: str) -> Any:
    return json.loads(load_event(relative)["body"])


def assert_refused(code: int, body: dict, status: int, fragment: str) -> None:
    """A bad request: the expected 4xx, a message naming the problem, and no stack trace."""
    assert code == status, body
    assert fragment in body["error"]
    assert "Traceback" not in body["error"]
