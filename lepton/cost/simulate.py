"""A scaling simulation: a traffic profile stepped through Lambda's and API Gateway's documented rules.

The rules, each from AWS's documentation:
- API Gateway: 10,000 requests a second per account and Region, with a burst from a token bucket
  (5,000 deep); requests beyond it are throttled (429).
- Lambda scaling rate: each function gets at most 1,000 new execution environments every 10 seconds,
  refilled continuously (a token bucket 1,000 deep refilling 100 a second); unused rate does not
  accumulate beyond 1,000.
- Account concurrency: 1,000 environments by default across the Region; reserved concurrency caps
  one function (and guarantees it); provisioned concurrency keeps environments initialised.
- A synchronous request that finds no free environment gets a new one (a cold start) if the rate and
  the limits allow, else it is throttled. Lambda does not queue it.

The model is a fluid one: within a step, requests arrive evenly and are counted in fractions.
An environment is busy for the billed duration of each request (at least 1 ms), and for its init
phase (or SnapStart restore) plus its first request when it starts cold; requests that overflow
the warm environments before new ones can be ready each start one. A profile starts from its
own steady state (the warm environments its first rate keeps busy). An environment is reclaimed
after it has been idle for `keep_alive_s`; Lambda does not document that time, so it is an
assumption (five minutes by default).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .model import DYNAMODB_READS_PER_COLD_START, S3_GETS_PER_COLD_START, Timing
from .prices import Prices
from .traffic import Profile

DEFAULT_RESTORE_MS = 250.0  # assumed: a SnapStart restore cannot be measured without a real Lambda


class TokenBucket:
    """`capacity` tokens, refilled at `rate` a second; a step asks for some and gets what there is.

    Within one step the asking rate is constant, so the bucket drains or fills monotonically and
    the grant is exact: all of it while tokens last, then the refill rate.
    """

    def __init__(self, capacity: float, rate: float, tokens: float | None = None):
        self.capacity, self.rate = float(capacity), float(rate)
        self.tokens = self.capacity if tokens is None else float(tokens)

    def take(self, wanted: float, dt: float) -> float:
        available = self.tokens + self.rate * dt
        granted = min(wanted, available)
        self.tokens = min(self.capacity, available - granted)
        return granted


@dataclass(frozen=True)
class Limits:
    account_concurrency: int = 1000
    reserved: int | None = None
    provisioned: int = 0
    gateway_rate: float = 10_000.0
    gateway_burst: float = 5_000.0
    scale_burst: float = 1_000.0
    scale_per_s: float = 100.0
    snapstart: bool = False
    restore_ms: float = DEFAULT_RESTORE_MS
    keep_alive_s: float = 300.0

    def cap(self) -> int:
        return self.account_concurrency if self.reserved is None else min(self.reserved, self.account_concurrency)

    def check(self) -> None:
        if self.provisioned > self.cap():
            raise ValueError(f"provisioned concurrency {self.provisioned} exceeds the function's cap {self.cap()}")
        if self.snapstart and self.provisioned:
            raise ValueError("Lambda does not support SnapStart together with provisioned concurrency")
        if min(self.account_concurrency, self.gateway_rate, self.scale_per_s) <= 0:
            raise ValueError("limits must be positive")


@dataclass
class Run:
    profile: Profile
    limits: Limits
    timing: Timing
    t: list[float] = field(default_factory=list)
    offered: list[float] = field(default_factory=list)
    gateway_throttled: list[float] = field(default_factory=list)
    lambda_throttled: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    environments: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    cost_parts: dict[str, float] = field(default_factory=dict)

    @property
    def cold_latency_ms(self) -> float:
        start = self.limits.restore_ms if self.limits.snapstart else self.timing.init_ms
        return start + self.timing.warm_ms

    def cold_share(self) -> float:
        served = sum(self.warm) + sum(self.cold)
        return sum(self.cold) / served if served else 0.0

    def summary(self) -> dict:
        offered, warm, cold = sum(self.offered), sum(self.warm), sum(self.cold)
        throttled = sum(self.gateway_throttled) + sum(self.lambda_throttled)
        served = warm + cold
        cost = sum(self.cost)
        return {
            "profile": self.profile.name, "requests_offered": round(offered), "requests_served": round(served),
            "cold_starts": round(cold, 1), "cold_share": cold / served if served else 0.0,
            "throttled": round(throttled), "throttled_share": throttled / offered if offered else 0.0,
            "throttled_by_gateway": round(sum(self.gateway_throttled)),
            "throttled_by_lambda": round(sum(self.lambda_throttled)),
            "p99_ms": p99(warm, cold, self.timing.warm_p99_ms, self.cold_latency_ms),
            "worst_window_p99_ms": max((w["p99_ms"] for w in self.windows()), default=0.0),
            "peak_environments": round(max(self.environments, default=0.0), 1),
            "cost_usd": round(cost, 4), "usd_per_million_served": cost / served * 1e6 if served else 0.0,
            "cost_parts_usd": {k: round(v, 4) for k, v in self.cost_parts.items()},
        }

    def windows(self, window_s: float | None = None) -> list[dict]:
        """Steps grouped into windows: rates, cold share, throttling, p99 and cost over time."""
        size = max(1, int(round((window_s or self.profile.window_s) / self.profile.step_s)))
        out = []
        for start in range(0, len(self.t), size):
            sl = slice(start, start + size)
            span = len(self.t[sl]) * self.profile.step_s
            warm, cold = sum(self.warm[sl]), sum(self.cold[sl])
            throttled = sum(self.gateway_throttled[sl]) + sum(self.lambda_throttled[sl])
            out.append({"t": self.t[start], "offered_rps": sum(self.offered[sl]) / span,
                        "served_rps": (warm + cold) / span, "throttled_rps": throttled / span,
                        "cold_share": cold / (warm + cold) if warm + cold else 0.0,
                        "p99_ms": p99(warm, cold, self.timing.warm_p99_ms, self.cold_latency_ms),
                        "environments": max(self.environments[sl]), "cost_usd": sum(self.cost[sl])})
        return out


def p99(warm: float, cold: float, warm_p99_ms: float, cold_ms: float) -> float:
    """p99 of a mix of warm requests and cold starts: the cold latency once they are 1 % or more.

    Below 1 % the warm p99 is reported; it slightly understates the mix's p99.
    """
    served = warm + cold
    if not served:
        return 0.0
    return cold_ms if cold / served >= 0.01 else warm_p99_ms


class _WindowMax:
    """The maximum of the last `size` values (monotonic deque)."""

    def __init__(self, size: int):
        self.size, self.items, self.i = size, deque(), 0

    def push(self, value: float) -> float:
        while self.items and self.items[-1][1] <= value:
            self.items.pop()
        self.items.append((self.i, value))
        if self.items[0][0] <= self.i - self.size:
            self.items.popleft()
        self.i += 1
        return self.items[0][1]


class _WindowSum:
    def __init__(self, size: int):
        self.values: deque[float] = deque(maxlen=size)
        self.total = 0.0

    def push(self, value: float) -> float:
        if len(self.values) == self.values.maxlen:
            self.total -= self.values[0]
        self.values.append(value)
        self.total += value
        return self.total


def simulate(profile: Profile, timing: Timing, limits: Limits, prices: Prices, arch: str = "arm64",
             warm_start: bool = True) -> Run:
    """Step `profile` through the rules. With `warm_start` the run begins with the warm environments
    the profile's first rate keeps busy (its steady state); without it, with none but the provisioned."""
    limits.check()
    dt = profile.step_s
    occupancy = timing.billed_ms / 1000.0
    start_s = (limits.restore_ms if limits.snapstart else timing.init_ms) / 1000.0
    gateway = TokenBucket(limits.gateway_burst, limits.gateway_rate)
    scaling = TokenBucket(limits.scale_burst, limits.scale_per_s)
    cap, provisioned = limits.cap(), float(limits.provisioned)
    keep = max(1, int(round(limits.keep_alive_s / dt)))
    busy_max, created_sum = _WindowMax(keep), _WindowSum(keep)

    gb = timing.gb
    on_demand = prices.unit(f"lambda.duration.{arch}")
    pc_duration = prices.unit(f"lambda.provisioned_duration.{arch}") if provisioned else 0.0
    request_usd = prices.unit("lambda.requests")
    gateway_usd = prices.unit("apigw.http_requests")
    warm_usd = timing.billed_ms / 1000.0 * gb * on_demand
    warm_pc_usd = timing.billed_ms / 1000.0 * gb * pc_duration
    if limits.snapstart:
        start_usd = gb * prices.unit("lambda.snapstart_restore")  # init ran once, when the version was published
        fetch_usd = 0.0
        standing_usd = gb * dt * prices.unit("lambda.snapstart_cache")  # one published version cached
    else:
        start_usd = timing.init_billed_ms / 1000.0 * gb * on_demand
        fetch_usd = S3_GETS_PER_COLD_START * prices.unit("s3.get") + DYNAMODB_READS_PER_COLD_START * prices.unit(
            "dynamodb.read_on_demand")
        standing_usd = provisioned * gb * dt * prices.unit(f"lambda.provisioned.{arch}") if provisioned else 0.0
    run = Run(profile, limits, timing)
    admitted_steps: list[float] = []
    # the profile starts from its own steady state: as many warm environments as its first rate keeps busy
    steady = float(math.ceil(profile.rate(0.0) * occupancy - 1e-9)) if warm_start else 0.0
    ready = max(provisioned, steady)
    starting: deque[tuple[float, float]] = deque()
    starting_total = 0.0
    starting_share = min(1.0, (start_s + occupancy) / dt)
    spare_after_start = max(0.0, dt - start_s - occupancy) / occupancy  # requests a new one serves this step
    for i in range(profile.steps()):
        t = i * dt
        while starting and starting[0][0] <= t + 1e-9:
            ready += starting[0][1]
            starting_total -= starting.popleft()[1]
        offered = profile.rate(t) * dt
        admitted = gateway.take(offered, dt)
        warm = min(admitted, ready * dt / occupancy)
        overflow = admitted - warm
        # Overflow arriving before a new environment could be ready each starts another one; once
        # the new ones are ready (when that is within the step) they serve the rest of the step.
        room = max(0.0, cap - ready - starting_total)
        new = scaling.take(min(overflow * starting_share, room), dt)
        by_new = min(overflow * (1.0 - starting_share), new * spare_after_start)
        warm += by_new
        if new > 0:
            starting.append((t + start_s + occupancy, new))
            starting_total += new
        # environments idle for keep_alive_s are reclaimed (never the provisioned ones)
        recent_busy = busy_max.push(warm * occupancy / dt)
        recent_new = created_sum.push(new)
        ready = min(ready, max(provisioned, math.ceil(recent_busy - 1e-9), recent_new))
        run.t.append(t)
        run.offered.append(offered)
        admitted_steps.append(admitted)
        run.gateway_throttled.append(max(0.0, offered - admitted))
        run.lambda_throttled.append(max(0.0, overflow - by_new - new))
        run.warm.append(warm)
        run.cold.append(new)
        run.environments.append(ready + starting_total)

    # cost, step by step: requests, the gateway, compute (on provisioned environments first), cold starts
    pc_share = provisioned * dt / occupancy
    parts = {"requests": [(w + n) * request_usd for w, n in zip(run.warm, run.cold)],
             "api_gateway": [a * gateway_usd for a in admitted_steps],
             "compute": [(w - min(w, pc_share)) * warm_usd + min(w, pc_share) * warm_pc_usd + n * warm_usd
                         for w, n in zip(run.warm, run.cold)],
             "init_or_restore": [n * start_usd for n in run.cold],
             "s3_dynamodb": [n * fetch_usd for n in run.cold],
             "standing": [standing_usd] * len(run.t)}
    run.cost = [sum(values) for values in zip(*parts.values())]
    run.cost_parts = {key: sum(values) for key, values in parts.items()}
    return run
