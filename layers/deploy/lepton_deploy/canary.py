"""The canary's judge: what callers saw from the canary version, beside what they saw from the
live version over the same window, from the functions' own metrics.

Lambda's `AWS/Lambda Errors` metric counts crashed invocations, and a model function answers
every failure with a status, so it never crashes: that metric stays at 0 however badly a
canary does. What counts is the answers. Each model function counts, by function version, only
its callers' inference requests (lepton_serving/observability.py, namespace Lepton, dimensions
service + function_version): `Requests`, `ServerErrors` (5xx), `ClientErrors` (4xx) and of those
`InputErrors` (values onnxruntime refused). The deployer's own pre-traffic and replay calls
(marked in the event, lepton_serving/origin.py), readiness and metadata calls and 404s for a
version the alias did not send there are not counted, so neither the deployer nor a flood of
`GET .../ready` can make up or dilute a canary's numbers.

A canary is rolled back when its 5xx rate is above the limit, or when it refuses callers' requests
(4xx) more often than the live version did over the same window, by more than the allowed
increase and by more than chance explains (a one-sided test on the two proportions at 99 %).
Alias routing splits traffic at random, so a caller sending bad requests raises both versions'
rates alike; a version that rejects what the live one accepted is a regression.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from lepton_serving.errors import ConfigError
from lepton_serving.observability import NAMESPACE

from .clock import parse_iso

#: z of a one-sided 99 % test: a rejection rate this many standard errors above the live
#: version's (plus the allowed increase) is not chance.
Z_99 = 2.326


@dataclass(frozen=True)
class Health:
    """One function version's answers to callers' inference requests over a window."""

    requests: int
    server_errors: int = 0
    client_errors: int = 0  # 4xx answers, input errors included
    input_errors: int = 0  # of the 4xx: values onnxruntime refused (422)

    @property
    def error_rate(self) -> float:
        return self.server_errors / self.requests if self.requests else 0.0

    @property
    def rejection_rate(self) -> float:
        return self.client_errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        inputs = f", {self.input_errors} of them input errors" if self.input_errors else ""
        return (f"{self.server_errors} 5xx answer(s) in {self.requests} request(s) ({self.error_rate:.1%}), "
                f"{self.client_errors} 4xx ({self.rejection_rate:.1%}{inputs})")


@dataclass(frozen=True)
class CanaryPolicy:
    """How a canary is judged; every value checked when the deployer's settings are read."""

    max_error_rate: float = 0.05  # LEPTON_CANARY_MAX_ERROR_RATE: 5xx / requests above this: roll back
    min_requests: int = 50  # LEPTON_CANARY_MIN_REQUESTS: fewer callers' requests: hold, never judge
    max_rejection_increase: float = 0.05  # LEPTON_CANARY_MAX_REJECTION_INCREASE: 4xx rate above live's by more

    def __post_init__(self) -> None:
        _rate("LEPTON_CANARY_MAX_ERROR_RATE", self.max_error_rate)
        _rate("LEPTON_CANARY_MAX_REJECTION_INCREASE", self.max_rejection_increase)
        if type(self.min_requests) is not int or self.min_requests < 1:
            raise ConfigError(f"LEPTON_CANARY_MIN_REQUESTS must be a whole number, 1 or more, got {self.min_requests!r}")


@dataclass(frozen=True)
class Judgement:
    verdict: Literal["promote", "roll_back", "hold"]
    reason: str


def judge(canary: Health, live: Health, policy: CanaryPolicy) -> Judgement:
    """The canary's fate from its callers' answers and the live version's over the same window."""
    seen = f"canary: {canary.describe()}; live: {live.describe()}"
    if canary.requests < policy.min_requests:
        return Judgement("hold", f"{seen}; fewer than the {policy.min_requests} requests needed to judge it")
    if canary.error_rate > policy.max_error_rate:
        return Judgement("roll_back", f"{seen}; 5xx rate above the {policy.max_error_rate:.1%} limit")
    if rejects_more(canary, live, policy.max_rejection_increase):
        return Judgement("roll_back", f"{seen}; it refuses callers' requests the live version answers: 4xx rate "
                                      f"{canary.rejection_rate:.1%} against {live.rejection_rate:.1%}, more than "
                                      f"{policy.max_rejection_increase:.1%} above it")
    return Judgement("promote", seen)


def rejects_more(canary: Health, live: Health, allowed: float) -> bool:
    """The canary's 4xx rate is above the live version's by more than ``allowed``, beyond chance.
    Without live traffic in the window there is nothing to compare with: not a regression."""
    if not canary.requests or not live.requests:
        return False
    excess = canary.rejection_rate - live.rejection_rate - allowed
    pc, pl = canary.rejection_rate, live.rejection_rate
    spread = math.sqrt(pc * (1 - pc) / canary.requests + pl * (1 - pl) / live.requests)
    return excess > Z_99 * spread


def window(started_at: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The canary's window, for both versions: from the minute it started to a minute from now."""
    start = parse_iso(started_at).replace(second=0, microsecond=0)
    return start, (now or datetime.now(UTC)) + timedelta(minutes=1)


def version_health(cloudwatch: Any, model: str, function_version: str, start: datetime, end: datetime) -> Health:
    """Callers' inference requests to ``model``'s function version ``function_version`` and their answers."""
    dimensions = [{"Name": "service", "Value": model}, {"Name": "function_version", "Value": function_version}]
    period = max(60, int((end - start).total_seconds()) // 60 * 60)

    def total(metric: str) -> int:
        points = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=metric, Dimensions=dimensions, StartTime=start, EndTime=end,
            Period=period, Statistics=["Sum"])["Datapoints"]
        return int(sum(p["Sum"] for p in points))

    return Health(requests=total("Requests"), server_errors=total("ServerErrors"),
                  client_errors=total("ClientErrors"), input_errors=total("InputErrors"))


def _rate(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError(f"{name} must be a share from 0 to 1 (0.05 = 5 %), got {value!r}")
