"""The disagreement file: what an operator reads when the replay gate refuses a version.

One JSON object at ``replays/<model>/<version>/<UTC time>-disagreements.json`` in the capture
bucket: the decision's reason and figures, and up to 100 disagreeing cases, each the captured
request's id and time, its inputs (that row), the live version's answer and the candidate's
(or the error it gave). It expires with the captures it was made from.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lepton_serving.clients import error_message
from lepton_serving.errors import StorageUnavailable

from .replayer import ReplayResult

PREFIX = "replays/"


def cases_key(model: str, version: int | str, at: datetime | None = None) -> str:
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return f"{PREFIX}{model}/{version}/{moment:%Y%m%dT%H%M%SZ}-disagreements.json"


def cases_document(model: str, version: int | str, function_version: str, result: ReplayResult) -> dict[str, Any]:
    return {"model": model, "version": str(version), "function_version": function_version,
            "outcome": result.outcome, "reason": result.reason, "figures": result.figures, "cases": result.cases}


def write_cases(s3: Any, bucket: str, model: str, version: int | str, function_version: str,
                result: ReplayResult) -> str:
    """Store the disagreeing cases; returns the key. StorageUnavailable when S3 refuses."""
    from botocore.exceptions import BotoCoreError, ClientError

    key = cases_key(model, version)
    body = json.dumps(cases_document(model, version, function_version, result), indent=1).encode()
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable(f"cannot write s3://{bucket}/{key}: {error_message(exc)}") from exc
    return key
