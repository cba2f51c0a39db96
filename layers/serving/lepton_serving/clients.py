"""boto3 clients created once per execution environment and reused across warm invocations.

boto3 honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, which is how the local stack
points everything at its moto server without any code here knowing about it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def client(service: str, region: str | None = None) -> Any:
    import boto3  # deferred: model functions that are configured locally never pay for it

    return boto3.session.Session().client(service, region_name=region)


def reset() -> None:
    """Forget cached clients (tests switch moto contexts between cases)."""
    client.cache_clear()
