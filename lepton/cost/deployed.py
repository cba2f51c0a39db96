"""The deployed versions' receipts, priced: what `lepton cost` answers when a stack is reachable.

Each live version's receipt (measured by the deployer when it published the version, on Lambda
from its REPORT lines, locally from the local stack's own measurements) holds its mean billed
duration per request, its init, its memory and architecture. Priced with the same formula as
the benchmark's figures (lepton_deploy/pricing.py) and today's price file, at the cold-start
share asked for. A model whose live version has no receipt is priced from the benchmark run
instead, and the table says which source each row came from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lepton_deploy.pricing import billed_ms, per_million
from lepton_deploy.prices import Prices
from lepton_deploy.receipt import Receipt, receipt_of


@dataclass(frozen=True)
class Priced:
    receipt: Receipt
    cold_fraction: float
    parts: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def as_dict(self) -> dict[str, Any]:
        r = self.receipt
        return {"model": r.model, "version": r.version, "source": "receipt", "measured_at": r.measured_at,
                "arch": r.arch, "memory_mb": r.memory_mb, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                "billed_ms": r.billed_ms, "init_ms": r.init_ms, "cold_fraction": self.cold_fraction,
                "usd_per_million_predictions": {**{k: round(v, 6) for k, v in self.parts.items()},
                                                "total": round(self.total, 6)},
                "measured_by": r.sources}


def live_receipts(models: dict[str, Any]) -> tuple[dict[str, Receipt], list[str]]:
    """GET /models's answer -> each model's live receipt, and the models that have none."""
    found, without = {}, []
    for model in models.get("models") or []:
        receipt = receipt_of(model.get("live_receipt"))
        if receipt is not None:
            found[model["name"]] = receipt
        elif model.get("live_version") is not None:
            without.append(model["name"])
    return found, without


def price(receipt: Receipt, prices: Prices, cold_fraction: float) -> Priced:
    init = billed_ms(receipt.init_ms) if receipt.init_ms is not None else 0
    return Priced(receipt, cold_fraction,
                  per_million(prices, receipt.arch, receipt.memory_mb, receipt.billed_ms, init, cold_fraction))


def read_from(endpoint: str | None, stack: str | None, region: str | None) -> tuple[dict[str, Any] | None, str]:
    """GET /models from the stack, or None and why it could not be read."""
    from ..client import ControlClient, ControlError, resolve_target

    try:
        target = resolve_target(endpoint, stack, region)
        return ControlClient(target, timeout=10.0).models(), target.where
    except ControlError as exc:
        return None, exc.message
