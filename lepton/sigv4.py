"""IAM auth for the local API: what API Gateway demands of routes with ``Auth: AWS_IAM``.

The local gateway asks this before calling a control route. It checks that the request is
SigV4-signed with the local stack's access key; API Gateway, in the cloud, also recomputes
the signature.
"""
from __future__ import annotations

from typing import Any

LOCAL_ACCESS_KEY = "testing"


def sigv4_present(route: Any, headers: dict[str, str]) -> str | None:
    """None when the request may pass, else API Gateway's reason for a 403."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 Credential="):
        return "Missing Authentication Token: sign the request with SigV4 (IAM auth)"
    if not auth.split("Credential=", 1)[1].startswith(LOCAL_ACCESS_KEY + "/"):
        return "The security token included in the request is invalid"
    return None
