"""Calling a published function version directly, as the deployer does before traffic moves.

The pre-traffic check and the replay of captured requests send a version V2 infer requests
through Lambda's Invoke API (by qualifier), each event built as API Gateway's HTTP API builds
one and marked with its origin, so the function answers it like any request but neither counts
it for a canary nor captures it (lepton_serving/origin.py). Where Lambda cannot run code (moto,
the local stack), its stand-in for the Invoke API answers (lepton/local/lambda_api.py).
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from lepton_serving.clients import error_message
from lepton_serving.errors import UpstreamFailure

from .measure import Meter

#: (function name, qualifier, API Gateway event) -> the handler's response, as Lambda returns it.
Invoker = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class InvokeFailed(UpstreamFailure):
    """Lambda refused the call (throttled, not permitted, unavailable): worth retrying later."""


class LambdaInvoker:
    """Invoke a published version through the Lambda API (RequestResponse).

    ``lambda_client`` is boto3's, or the local stack's stand-in with the same ``invoke``
    (lepton/local/lambda_api.py). With a ``meter``, every call asks for the log's tail
    (``LogType=Tail``) and the meter keeps its REPORT line (measure.py): what a version's
    receipt is made of, whichever check made the call.
    """

    def __init__(self, lambda_client: Any, meter: Meter | None = None):
        self.client = lambda_client
        self.meter = meter

    def __call__(self, function_name: str, qualifier: str, event: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        tail = {"LogType": "Tail"} if self.meter is not None else {}
        try:
            answer = self.client.invoke(FunctionName=function_name, Qualifier=qualifier,
                                        InvocationType="RequestResponse", Payload=json.dumps(event).encode(), **tail)
        except (ClientError, BotoCoreError) as exc:
            raise InvokeFailed(f"cannot invoke {function_name}:{qualifier}: {error_message(exc)}") from exc
        if self.meter is not None:
            self.meter.record(function_name, qualifier, answer.get("LogResult"))
        payload = answer["Payload"].read()
        if answer.get("FunctionError"):  # the version crashed: a 502, as API Gateway would answer it
            detail = payload.decode("utf-8", "replace")[:300]
            return {"statusCode": 502, "body": json.dumps({"error": f"the function failed instead of answering: "
                                                                    f"{detail}"})}
        return json.loads(payload)


def infer_event(model: str, body: dict[str, Any], origin: str) -> dict[str, Any]:
    """`POST /v2/models/<model>/infer`, marked as the deployer's own call (``origin``: pre-traffic or replay)."""
    return request_event(f"/v2/models/{model}/infer", body, origin)


def request_event(path: str, body: dict[str, Any], origin: str) -> dict[str, Any]:
    """`POST <path>` as API Gateway's HTTP API (payload 2.0) delivers it, marked as the deployer's
    own call (``origin``), so a canary is not judged on it and it is not captured."""
    from lepton_serving.origin import mark

    agent = f"lepton-deployer/{origin}"
    event = {
        "version": "2.0", "routeKey": f"POST {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "user-agent": agent},
        "requestContext": {"http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": agent},
                           "requestId": origin, "routeKey": f"POST {path}", "stage": "$default"},
        "body": json.dumps(body), "isBase64Encoded": False,
    }
    return mark(event, origin)


def answer_of(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A handler's response as (status, JSON body); a body that is not a JSON object becomes {"error": text}."""
    status = int(response.get("statusCode", 0))
    raw = response.get("body") or ""
    text = base64.b64decode(raw).decode("utf-8", "replace") if response.get("isBase64Encoded") else raw
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        body = {"error": text[:200]}
    return status, body if isinstance(body, dict) else {"error": str(body)[:200]}
