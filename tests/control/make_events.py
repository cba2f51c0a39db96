"""Regenerate events/control with lepton.local.http_events.http_event, as API Gateway sends them.

    PYTHONPATH=. .venv/bin/python tests/control/make_events.py

IAM-authenticated routes carry requestContext.authorizer.iam, as API Gateway adds it after
checking the SigV4 signature; ids and times are fixed so files only change with a request.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from lepton.local.http_events import http_event

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "lepton-cli"}
CALLER = "arn:aws:iam::123456789012:user/ops"
IAM = {"iam": {"accessKey": "AKIAEXAMPLEOPS000000", "accountId": "123456789012", "callerId": "AIDAEXAMPLEOPS",
               "cognitoIdentity": None, "principalOrgId": None, "userArn": CALLER, "userId": "AIDAEXAMPLEOPS"}}


def event(name: str, method: str, route: str, path: str, *, body: object = None, query: dict | None = None,
          params: dict | None = None, iam: bool = True) -> None:
    headers = dict(HEADERS)
    raw = b""
    if body is not None:
        headers = {"content-type": "application/json", **HEADERS}
        raw = json.dumps(body).encode()
    built = http_event(method, path, f"{method} {route}", query=urlencode(query or {}), headers=headers, body=raw,
                       path_parameters=params, source_ip="203.0.113.7", api_id="abc123")
    built["requestContext"]["requestId"] = f"evt-{name}"
    built["requestContext"]["time"] = "26/Nov/2026:12:00:00 +0000"
    built["requestContext"]["timeEpoch"] = 1795694400000
    if iam:
        built["requestContext"]["authorizer"] = IAM
    out = ROOT / "events" / "control" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(built, indent=2) + "\n")


def main() -> None:
    tabular = {"name": "tabular"}
    event("list-models", "GET", "/models", "/models")
    event("get-model", "GET", "/models/{name}", "/models/tabular", params=tabular)
    event("get-model-unknown", "GET", "/models/{name}", "/models/nope", params={"name": "nope"})
    event("deployments", "GET", "/deployments", "/deployments", query={"model": "tabular", "limit": 5})
    event("rollback-unknown-version", "POST", "/models/{name}/rollback", "/models/tabular/rollback",
          params=tabular, body={"version": 99, "reason": "outputs drifted"})
    event("promote-wrong-version", "POST", "/models/{name}/promote", "/models/tabular/promote",
          params=tabular, body={"version": 99})
    event("uploads", "POST", "/models/{name}/uploads", "/models/tabular/uploads", params=tabular, body={})
    event("uploads-bad-version", "POST", "/models/{name}/uploads", "/models/tabular/uploads", params=tabular,
          body={"version": 0})
    event("openapi", "GET", "/openapi.json", "/openapi.json", iam=False)
    event("model-card", "GET", "/models/{name}/card", "/models/tabular/card", params=tabular, iam=False)
    event("status", "GET", "/status", "/status", query={"limit": 5}, iam=False)


if __name__ == "__main__":
    main()
