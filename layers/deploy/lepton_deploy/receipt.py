"""A version's receipt: what it measured when it was published, before any traffic reached it.

The deployer measures every published version through its real handler (measure.py) and
stores the receipt with the version's deployment attempt and its release in the live pointer
(registry.py), so `lepton models`, the control API, the model card, the playground and the
model function's own V2 metadata all show the same figures. Each figure says where it came
from (``sources``): Lambda's REPORT lines in AWS, the local stack's own measurements locally.

Stored as a flat map of plain numbers and strings, a few hundred bytes: the live pointer keeps
one per release it remembers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: The figures a receipt's ``sources`` names.
FIGURES = ("init", "warm", "memory", "requests", "model", "cost")


@dataclass(frozen=True)
class Receipt:
    model: str
    version: int
    function_version: str
    measured_at: str  # lepton_deploy.clock format
    # the cold start: the first invocation of the published version
    init_ms: float | None  # None: not measured (the sources say why)
    cold_ms: float | None  # that first invocation's own duration, after init
    # warm: the same requests, again and again, interleaved with the live version's
    requests: int
    p50_ms: float
    p99_ms: float
    billed_ms: float  # mean billed duration of a warm request (Lambda bills whole ms each)
    # memory
    max_memory_mb: int | None
    memory_mb: int  # configured
    # the model
    model_bytes: int
    sha256: str
    opset: int | None
    onnxruntime: str
    # the price of a million predictions at the function's architecture and memory
    arch: str
    usd_per_million: float
    cost_parts: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # figure -> where it came from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        missing = sorted(known - set(values) - {"cost_parts", "sources"})
        if missing:
            raise ValueError(f"a receipt needs {', '.join(missing)}")
        values["version"] = int(values["version"])
        return cls(**values)

    @property
    def memory_share(self) -> float | None:
        return self.max_memory_mb / self.memory_mb if self.max_memory_mb is not None and self.memory_mb else None

    def short(self) -> str:
        """For a table cell: "p99 0.40 ms · init 241 ms · 112 MB · $0.2318/M"."""
        init = f"init {self.init_ms:,.0f} ms" if self.init_ms is not None else "init -"
        memory = f"{self.max_memory_mb} MB" if self.max_memory_mb is not None else "- MB"
        return f"p99 {self.p99_ms:.2f} ms · {init} · {memory} · ${self.usd_per_million:.4f}/M"

    def line(self) -> str:
        """One line: "init 241 ms · warm p50 0.21 ms, p99 0.40 ms · 112 of 1024 MB · $0.2318 per million"."""
        init = f"init {self.init_ms:,.0f} ms" if self.init_ms is not None else "init not measured"
        memory = (f"{self.max_memory_mb} of {self.memory_mb} MB" if self.max_memory_mb is not None
                  else f"memory not measured ({self.memory_mb} MB configured)")
        return (f"{init} · warm p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms · {memory} · "
                f"${self.usd_per_million:.4f} per million")


def receipt_of(data: Any) -> Receipt | None:
    """A stored receipt map (from the table, an API answer) as a Receipt; None if absent or not one."""
    if not isinstance(data, dict) or not data:
        return None
    try:
        return Receipt.from_dict(data)
    except (TypeError, ValueError):
        return None
