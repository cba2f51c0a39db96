"""Who sent a request: a caller through API Gateway, or the deployer invoking a version itself.

API Gateway builds an HTTP API event's requestContext from a fixed set of keys (a Lambda or JWT
authorizer's answer goes under requestContext.authorizer), and the local gateway does the same
(lepton/events.py), so nothing an HTTP caller sends can put a key of its own there. The
deployer's own calls (the pre-traffic check, the replay of captured traffic, the measurement
of a version's receipt, `lepton tune`) go through Lambda's Invoke API, which needs
lambda:InvokeFunction on the function, and carry ``requestContext.lepton = {"origin":
"pre-traffic"}`` (or "replay", "receipt"). The function answers them
like any request and leaves them out of the counts a canary is judged on (observability.py).
"""
from __future__ import annotations

from typing import Any

KEY = "lepton"
PRE_TRAFFIC = "pre-traffic"
REPLAY = "replay"
RECEIPT = "receipt"
DEPLOYER_ORIGINS = frozenset({PRE_TRAFFIC, REPLAY, RECEIPT})


def deployer_origin(event: dict[str, Any]) -> str | None:
    """The deployer's mark on ``event`` (pre-traffic, replay), or None for a caller's request."""
    context = event.get("requestContext")
    marker = context.get(KEY) if isinstance(context, dict) else None
    origin = marker.get("origin") if isinstance(marker, dict) else None
    return origin if origin in DEPLOYER_ORIGINS else None


def mark(event: dict[str, Any], origin: str) -> dict[str, Any]:
    """``event`` as the deployer sends it with a direct invoke: marked with ``origin``."""
    if origin not in DEPLOYER_ORIGINS:
        raise ValueError(f"unknown deployer origin {origin!r}; one of {sorted(DEPLOYER_ORIGINS)}")
    context = dict(event.get("requestContext") or {})
    context[KEY] = {"origin": origin}
    return {**event, "requestContext": context}
