"""Take a published version's receipt and judge it against the live version, side by side.

Runs after the checks that prove the version answers right (the golden requests, the replay of
captured traffic), on the same published version, before any traffic moves:

1. the cold start: the first invocation the deployer made of the new version (the meter kept
   its REPORT line: init duration, that call's duration, memory);
2. warm: the golden examples and captured requests, sent to the live version and the new one
   in turn (measure.py), rounds repeated while the new one's p99 is over the limit;
3. the receipt: those figures, the model's size, sha256, opset and onnxruntime, and the price
   of a million predictions at the function's architecture and memory (pricing.py);
4. the verdict (regression.py): refused when much slower, slower to start or hungrier.

The live version's init is the one measured in this run when its first call here was cold
(locally, when it had been idle), else the one its own receipt recorded at its publish.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import now_iso
from .functions import FunctionConfig
from .measure import MeasureError, Meter, Send, Side, Workload, measure
from .prices import Prices
from .pricing import DEFAULT_COLD_FRACTION, billed_ms, per_million
from .receipt import Receipt, receipt_of
from .report_line import InvokeReport
from .regression import Figures, Thresholds, Verdict, judge, p99_exceeds
from .registry import Release

DEFAULT_ARCH = "x86_64"  # what Lambda uses when a function names no architecture


@dataclass(frozen=True)
class ReceiptSettings:
    """How the receipt is measured and judged (deployer/config.py reads them from the template)."""

    requests: int = 100  # per version and round
    rounds: int = 3  # a round over the p99 limit is measured again, up to this many in all
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class ModelFacts:
    """What the gate learnt of the model file."""

    size: int
    sha256: str
    opset: int | None
    onnxruntime: str


@dataclass(frozen=True)
class Taken:
    receipt: Receipt
    verdict: Verdict
    live: Figures | None
    rounds: int

    def figures(self) -> dict[str, Any]:
        """What the deployment attempt records of this check, beside the receipt itself."""
        out: dict[str, Any] = {"rounds": self.rounds, "requests_per_round": self.receipt.requests // max(1, self.rounds)}
        if self.live is not None:
            out["live"] = {"version": self.live.version, "p99_ms": self.live.p99_ms,
                           "round_p99_ms": list(self.live.round_p99_ms), "init_ms": self.live.init_ms,
                           "init_from": self.live.init_from, "max_memory_mb": self.live.max_memory_mb}
        return out


def take_receipt(send: Send, meter: Meter, *, model: str, version: int, function: FunctionConfig, qualifier: str,
                 live: Release | None, workload: Workload, event_for: Callable[[dict[str, Any], int], dict[str, Any]],
                 facts: ModelFacts, settings: ReceiptSettings, prices: Prices,
                 time_left: Callable[[], float] | None = None) -> Taken:
    """Measure, write the receipt, judge it. MeasureError when the version cannot be measured."""
    name = function.name
    if meter.cold(name, qualifier) is None:  # no earlier call (or none with a REPORT line): this one is cold
        send(name, qualifier, event_for(workload.bodies[0], 0))
    candidate = Side(version, qualifier)
    sides = [candidate] if live is None else [Side(live.version, live.function_version), candidate]
    t = settings.thresholds

    def again(measured: Any) -> bool:
        return p99_exceeds(_figures(candidate, meter, name, function), _live_figures(sides, live, meter, name), t)

    rounds = measure(send, meter, name, event_for, workload, sides, settings.requests, settings.rounds, again,
                     time_left)
    mine = _figures(candidate, meter, name, function)
    theirs = _live_figures(sides, live, meter, name)
    receipt = _receipt(model, candidate, meter.cold(name, qualifier), mine, function, workload, facts, prices)
    return Taken(receipt, judge(mine, theirs, t), theirs, rounds)


def _figures(side: Side, meter: Meter, name: str, function: FunctionConfig) -> Figures:
    cold = meter.cold(name, side.qualifier)
    peak = max([m for m in (side.peak_memory, meter.peak_memory(name, side.qualifier)) if m is not None], default=None)
    memory = cold.memory_mb if cold else (side.rounds[0][0].memory_mb if side.requests else function.memory_mb)
    return Figures(side.version, side.p(99) if side.requests else None,
                   tuple(side.p(99, i) for i in range(len(side.rounds)) if side.rounds[i]),
                   _init(cold), "this run", peak, memory)


def _live_figures(sides: list[Side], live: Release | None, meter: Meter, name: str) -> Figures | None:
    if live is None:
        return None
    side = sides[0]
    cold = meter.cold(name, side.qualifier)
    init, init_from = (_init(cold), "this run") if cold else (None, "")
    if init is None:
        stored = receipt_of(live.receipt)
        if stored is not None and stored.init_ms is not None:
            init, init_from = stored.init_ms, f"its receipt of {stored.measured_at[:19]}"
    memory = side.rounds[0][0].memory_mb if side.requests else 0
    return Figures(side.version, side.p(99) if side.requests else None,
                   tuple(side.p(99, i) for i in range(len(side.rounds)) if side.rounds[i]),
                   init, init_from, side.peak_memory, memory)


def _receipt(model: str, side: Side, cold: InvokeReport | None, mine: Figures, function: FunctionConfig, workload: Workload,
             facts: ModelFacts, prices: Prices) -> Receipt:
    arch = function.architectures[0] if function.architectures else DEFAULT_ARCH
    memory_mb = mine.memory_mb or function.memory_mb
    billed = side.billed_mean
    init = _init(cold)
    parts = per_million(prices, arch, memory_mb, billed, billed_ms(init) if init else 0.0, DEFAULT_COLD_FRACTION)
    warm_source = side.rounds[0][0].source("duration") if side.requests else "not measured"
    sources = {
        "init": _init_source(cold),
        "warm": f"Duration of {side.requests} REPORT lines, interleaved with the live version's; {warm_source}",
        "memory": cold.source("memory") if cold is not None else side.rounds[0][0].source("memory"),
        "requests": workload.describe(),
        "model": "the manifest and the deployer's onnxruntime, which loaded the file",
        "cost": (f"lepton_deploy/prices.json ({prices.region}, read {_read_date(prices, arch)}): "
                 f"{arch}, {memory_mb} MB, {billed:.2f} ms billed per request on average, init billed at a "
                 f"{DEFAULT_COLD_FRACTION:.0%} cold share; Lambda and HTTP API requests included"),
    }
    return Receipt(
        model=model, version=side.version, function_version=side.qualifier, measured_at=now_iso(),
        init_ms=_round(init), cold_ms=_round(cold.duration_ms if cold is not None else None),
        requests=side.requests, p50_ms=_round(side.p(50)), p99_ms=_round(side.p(99)), billed_ms=round(billed, 3),
        max_memory_mb=mine.max_memory_mb, memory_mb=memory_mb, model_bytes=facts.size, sha256=facts.sha256,
        opset=facts.opset, onnxruntime=facts.onnxruntime, arch=arch, usd_per_million=round(sum(parts.values()), 6),
        cost_parts={k: round(v, 6) for k, v in parts.items()}, sources=sources)


def _init(cold: InvokeReport | None) -> float | None:
    """The cold start's init: Init Duration, or under SnapStart the snapshot's Restore Duration."""
    if cold is None:
        return None
    return cold.init_ms if cold.init_ms is not None else cold.restore_ms


def _init_source(cold: InvokeReport | None) -> str:
    if cold is None:
        return "not measured: no call of this version was cold"
    if cold.init_ms is None and cold.restore_ms is not None:
        return f"Restore Duration of the first call (SnapStart restored a snapshot); {cold.source('init')}"
    return cold.source("init")


def _read_date(prices: Prices, arch: str) -> str:
    return prices[f"lambda.duration.{arch}"].read


def _round(value: float | None) -> Any:
    return None if value is None else round(value, 3)


__all__ = ["MeasureError", "ModelFacts", "ReceiptSettings", "Taken", "take_receipt"]
