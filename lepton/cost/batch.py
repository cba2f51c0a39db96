"""What a batch-scoring job costs and how long it takes in AWS, from measured durations.

A job of N rows in batches of B is N/B invocations of the pinned function version, each one
EXPRESS child workflow of the Distributed Map that also writes one answer file to S3, at most C
of them at once (MaxConcurrency). Per job:

- Lambda: N/B requests, each billed its measured duration (rounded up to 1 ms) x memory, plus one
  init phase per execution environment (C of them, each cold once);
- Step Functions: N/B Express executions (per request, and per 100 ms x 64 MB of duration), plus
  the parent's state transitions, counted as one per child execution started and ten for the job;
- S3: one PUT per batch (its answers) and a few for the map run's results.

Wall time is the batches' child-workflow duration x N/B / C, plus one cold start. The child's
duration is the invocation's plus CHILD_OVERHEAD_MS (the S3 write and Step Functions' own
steps), an assumption; so is the count of transitions. Both are printed with every estimate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .measured import ModelTimes
from .model import billed_ms, cpu_scale, lambda_cost
from .prices import Prices

CHILD_OVERHEAD_MS = 100.0  # the S3 PUT and the child workflow's three states, not measured
PARENT_TRANSITIONS = 10  # Choice, Map, Count, Choice, Succeed and the map run's own
EXPRESS_MEMORY_GB = 64 / 1024  # Express bills memory in 64 MB steps; a child's state is tiny
EXPRESS_STEP_S = 0.1  # ... and duration in 100 ms steps
RESULT_FILES = 3  # ResultWriter's manifest and result files, per job

ASSUMPTIONS = (
    f"A child workflow lasts its invocation plus {CHILD_OVERHEAD_MS:.0f} ms (the S3 write and Step Functions' "
    "own steps; not measured), billed by Express in 100 ms steps at 64 MB.",
    "The parent is charged one state transition per child execution started, plus ten for the job.",
    "Each of the MaxConcurrency execution environments starts cold once; the rest of the job runs warm.",
    "Step Functions starts children as fast as MaxConcurrency allows (its own start rate is not modelled).",
)


@dataclass(frozen=True)
class BatchEstimate:
    model: str
    rows: int
    batch_size: int
    concurrency: int
    arch: str
    memory_mb: int
    batch_ms: float  # one invocation's duration (a batch of batch_size rows), at this memory size
    measured: str  # where batch_ms comes from
    parts: dict[str, float] = field(default_factory=dict)  # USD for the whole job

    @property
    def invocations(self) -> int:
        return math.ceil(self.rows / self.batch_size)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    @property
    def per_million(self) -> float:
        return self.total / self.rows * 1e6 if self.rows else 0.0

    @property
    def child_ms(self) -> float:
        return self.batch_ms + CHILD_OVERHEAD_MS

    def wall_seconds(self, init_ms: float) -> float:
        waves = math.ceil(self.invocations / self.concurrency)
        return waves * self.child_ms / 1000.0 + init_ms / 1000.0

    @property
    def rows_per_second(self) -> float:
        return self.concurrency * self.batch_size / (self.child_ms / 1000.0)


def batch_duration_ms(times: ModelTimes, batch_size: int, memory_mb: int,
                      measured: dict[str, dict[int, float]] | None = None) -> tuple[float, str]:
    """One invocation's duration for ``batch_size`` rows at ``memory_mb``: the benchmark's batch
    section where it measured this model, else its V2 handler time at its largest measured batch,
    per row (a lower bound: the batch path also writes one answer line per row)."""
    scale = cpu_scale(memory_mb)
    by_size = (measured or {}).get(times.name) or {}
    if by_size:
        size = min(by_size, key=lambda s: abs(s - batch_size))
        return by_size[size] / size * batch_size * scale, f"batch invocation of {size} rows, measured"
    largest = max(times.warm_ms)
    per_row = times.warm_ms[largest][0] / largest
    return per_row * batch_size * scale, f"V2 handler at batch {largest}, per row (no batch measurement)"


def estimate(times: ModelTimes, prices: Prices, rows: int, *, batch_size: int = 64, concurrency: int = 10,
             arch: str = "arm64", memory_mb: int = 1024,
             measured: dict[str, dict[int, float]] | None = None) -> BatchEstimate:
    if rows < 0 or batch_size < 1 or concurrency < 1:
        raise ValueError("rows must be 0 or more, batch size and concurrency 1 or more")
    duration, source = batch_duration_ms(times, batch_size, memory_mb, measured)
    gb = memory_mb / 1024
    invocations = math.ceil(rows / batch_size)
    rate = prices.unit(f"lambda.duration.{arch}")
    environments = min(concurrency, invocations)
    init = times.init_ms * cpu_scale(memory_mb)
    express_steps = math.ceil(round((duration + CHILD_OVERHEAD_MS) / 1000.0 / EXPRESS_STEP_S, 6))
    parts = {
        "lambda_requests": invocations * prices.unit("lambda.requests"),
        "lambda_compute": invocations * billed_ms(duration) / 1000.0 * gb * rate
        + environments * billed_ms(init) / 1000.0 * gb * rate,
        "express_requests": invocations * prices.unit("sfn.express_requests"),
        "express_duration": invocations * express_steps * EXPRESS_STEP_S * EXPRESS_MEMORY_GB
        * prices.unit("sfn.express_duration"),
        "standard_transitions": (invocations + PARENT_TRANSITIONS) * prices.unit("sfn.standard_transitions"),
        "s3_requests": (invocations + RESULT_FILES) * prices.unit("s3.put"),
    }
    return BatchEstimate(model=times.name, rows=rows, batch_size=batch_size, concurrency=concurrency, arch=arch,
                         memory_mb=memory_mb, batch_ms=duration, measured=source, parts=parts)


def http_cost(times: ModelTimes, prices: Prices, rows: int, arch: str = "arm64", memory_mb: int = 1024,
              batch: int = 1) -> float:
    """The same rows sent as HTTP API requests of ``batch`` rows each (lepton cost's model)."""
    return lambda_cost(times, prices, arch, memory_mb, batch).total * rows / 1e6


def batch_transform_cost(prices: Prices, rows: int, rps_per_vcpu: float,
                         instance: str = "ml.c5.xlarge") -> tuple[float, float]:
    """SageMaker Batch Transform on one instance: (USD, hours), the model server answering at
    ``rps_per_vcpu`` rows a second on each vCPU (a measured single-row rate: batching would help it)."""
    price = prices[f"sagemaker.batch.{instance}"]
    hours = rows / (rps_per_vcpu * int(price.get("vcpus", 1))) / 3600.0
    return hours * price.unit_price, hours
