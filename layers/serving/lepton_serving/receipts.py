"""What the open views show of a version's receipt (lepton_deploy/receipt.py writes them).

The deployer measures each version when it publishes it and keeps the receipt with the version's
release in the live pointer. A model function shows its own version's receipt in its V2 model
metadata (``parameters.receipt``) and the control API's open routes show the live version's; all
of them through this one allow-list: the figures and where they came from, never the sha256 or
the function version.
"""
from __future__ import annotations

from typing import Any

PUBLIC_FIELDS = ("version", "measured_at", "init_ms", "cold_ms", "requests", "p50_ms", "p99_ms", "billed_ms",
                 "max_memory_mb", "memory_mb", "model_bytes", "opset", "onnxruntime", "arch", "usd_per_million",
                 "sources")


def public_view(receipt: dict[str, Any]) -> dict[str, Any]:
    return {key: receipt.get(key) for key in PUBLIC_FIELDS}
