"""boto3 clients created once per execution environment, and what an AWS failure was.

boto3 honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, which is how the local stack
points everything at its moto server without any code here knowing about it. Library code
never calls `client()` itself: entry points (handlers, the CLI) create clients and pass them in.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def client(service: str, region: str | None = None) -> Any:
    import boto3  # deferred: model functions that are configured locally never pay for it
    from botocore.config import Config

    # Standard retry mode: throttling and transient errors are retried with backoff, 5 tries.
    return boto3.session.Session().client(service, region_name=region,
                                          config=Config(retries={"mode": "standard", "max_attempts": 5}))


def reset() -> None:
    """Forget cached clients (tests switch moto contexts between cases)."""
    client.cache_clear()


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("NoSuchKey", "ThrottlingException", ...), else ""."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code", "") or "")
    return ""


def error_message(exc: BaseException) -> str:
    """The code and message AWS gave, or the exception's own text for a non-AWS failure."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        return ": ".join(p for p in (str(error.get("Code", "")), str(error.get("Message", ""))) if p) or str(exc)
    return str(exc)
