"""The cost arithmetic for the benchmark's figures: what one prediction costs on Lambda behind an
HTTP API, part by part, at any memory size.

The formula is the one Lambda bills by (lepton_deploy/pricing.py, which the deployer also prices
each version's receipt with): billed duration (rounded up to 1 ms) x memory (GB) x the price per
GB-second, plus a price per request, plus API Gateway's price per request. Cold starts add the
init phase at the same rate (billed for zip packages on managed runtimes since 1 August 2025).
The init measured is the model-layer path (the model read from /opt, no AWS call);
the S3 path's requests (two GETs and one DynamoDB read of the live pointer) are still charged to each
cold start, an upper bound of under a cent per million requests at a 1 % cold share.

CPU follows memory: Lambda gives one full vCPU at 1,769 MB and a proportional share below it. The
benchmark ran each handler on one full core with one onnxruntime thread, so a duration measured
there is taken to grow by 1,769 / memory below 1,769 MB and to stay the same above it (a
single-threaded request does not use a second vCPU). That rule is an assumption, printed with
every result.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from lepton_deploy.pricing import (DEFAULT_COLD_FRACTION, DYNAMODB_READS_PER_COLD_START, MB_PER_GB,
                                   S3_GETS_PER_COLD_START, billed_ms, per_million)

from .measured import ModelTimes
from .prices import Prices

__all__ = ["DEFAULT_COLD_FRACTION", "DYNAMODB_READS_PER_COLD_START", "MB_PER_GB", "S3_GETS_PER_COLD_START",
           "VCPU_MB", "DEFAULT_MEMORIES", "ASSUMPTIONS", "Breakdown", "Timing", "billed_ms", "cpu_scale",
           "lambda_cost", "timing"]

VCPU_MB = 1769  # Lambda allocates one full vCPU at 1,769 MB
DEFAULT_MEMORIES = (128, 512, 1024, 1769, 3008)

ASSUMPTIONS = (
    "CPU grows with memory: one full vCPU at 1,769 MB (Lambda's rule). Durations were measured on one "
    "core of the benchmark machine and are scaled by 1,769 / memory below 1,769 MB, unchanged above it "
    "(one request runs on one thread).",
    "The benchmark machine's core is taken to be as fast as a Lambda vCPU of either architecture; "
    "arm64 and x86_64 differ here only in price.",
    "Durations are the whole handler call in-process (API Gateway event in, response out); the Lambda "
    "runtime's own per-invocation overhead and the network are not measured and not included.",
    "An execution environment is busy for the billed duration of each invocation (at least 1 ms), "
    "plus the init phase when it starts cold.",
    "The init phase is the measured cold start minus the first inference: interpreter, imports, the "
    "model read from the version's model layer and the onnxruntime session. Lambda's own sandbox start "
    "is not measured. Each cold start is still charged the S3 path's two GETs and one DynamoDB read "
    "(an upper bound: a model in its layer makes neither).",
    "List prices, us-east-1, first pricing tier, no free tier, no Savings Plans.",
)


def cpu_scale(memory_mb: int) -> float:
    """How much longer CPU-bound work takes at this memory size than on one full vCPU."""
    if memory_mb < 128 or memory_mb > 10240:
        raise ValueError(f"Lambda memory must be 128 to 10,240 MB, got {memory_mb}")
    return max(1.0, VCPU_MB / memory_mb)


@dataclass(frozen=True)
class Timing:
    """A model's durations at one memory size (scaled from the measurement)."""

    warm_ms: float
    warm_p99_ms: float
    init_ms: float
    memory_mb: int

    @property
    def gb(self) -> float:
        return self.memory_mb / MB_PER_GB

    @property
    def billed_ms(self) -> int:
        return billed_ms(self.warm_ms)

    @property
    def init_billed_ms(self) -> int:
        return billed_ms(self.init_ms)


def timing(times: ModelTimes, memory_mb: int, batch: int = 1) -> Timing:
    if batch not in times.warm_ms:
        raise ValueError(f"{times.name}: no warm measurement at batch {batch}; "
                         f"measured batches: {', '.join(map(str, sorted(times.warm_ms)))}")
    scale = cpu_scale(memory_mb)
    median, p99 = times.warm_ms[batch]
    return Timing(warm_ms=median * scale, warm_p99_ms=p99 * scale, init_ms=times.init_ms * scale,
                  memory_mb=memory_mb)


@dataclass(frozen=True)
class Breakdown:
    """USD per million predictions, part by part, for one model, architecture and memory size."""

    model: str
    arch: str
    memory_mb: int
    batch: int
    cold_fraction: float
    timing: Timing
    parts: dict[str, float] = field(default_factory=dict)  # compute, requests, api_gateway, init, s3_dynamodb
    formula: str = ""

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def concurrency(self, rps: float) -> int:
        """Execution environments busy at `rps` requests a second (Little's law)."""
        busy_s = self.timing.billed_ms / 1000.0 + self.cold_fraction * self.timing.init_ms / 1000.0
        return math.ceil(round(rps * busy_s, 9))

    def as_dict(self, rps: float) -> dict:
        return {"model": self.model, "arch": self.arch, "memory_mb": self.memory_mb, "batch": self.batch,
                "cold_fraction": self.cold_fraction,
                "warm_ms": round(self.timing.warm_ms, 4), "billed_ms": self.timing.billed_ms,
                "init_ms": round(self.timing.init_ms, 1),
                "usd_per_million_predictions": {**{k: round(v, 6) for k, v in self.parts.items()},
                                                "total": round(self.total, 6)},
                "rps": rps, "concurrency": self.concurrency(rps), "formula": self.formula}


def lambda_cost(times: ModelTimes, prices: Prices, arch: str, memory_mb: int, batch: int = 1,
                cold_fraction: float = DEFAULT_COLD_FRACTION) -> Breakdown:
    """Cost per million predictions of `times`'s model on Lambda + HTTP API."""
    t = timing(times, memory_mb, batch)
    parts = per_million(prices, arch, memory_mb, t.billed_ms, t.init_billed_ms, cold_fraction, batch)
    rate = prices.unit(f"lambda.duration.{arch}")
    formula = (f"compute = {t.billed_ms} ms billed ({t.warm_ms:.3f} ms) x {t.gb:g} GB x ${rate:.10f}/GB-s "
               f"x 1e6 / batch {batch} = ${parts['compute']:.4f}")
    return Breakdown(model=times.name, arch=arch, memory_mb=memory_mb, batch=batch, cold_fraction=cold_fraction,
                     timing=t, parts=parts, formula=formula)
