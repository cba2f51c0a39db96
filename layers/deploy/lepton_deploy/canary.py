"""The canary check: what users of the canary version saw, from the functions' own metrics.

Lambda's `AWS/Lambda Errors` metric counts crashed invocations, and a model function answers
every failure with a status, so it never crashes: that metric stays at 0 however badly a
canary does. What counts is the answers: each model function counts its `Invocations` and its
`ServerErrors` (5xx answers) by function version in EMF (lepton_serving/observability.py,
namespace Lepton, dimensions service + function_version). The canary is judged on those.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lepton_serving.observability import NAMESPACE

from .clock import parse_iso


@dataclass(frozen=True)
class Health:
    requests: int
    server_errors: int

    @property
    def error_rate(self) -> float:
        return self.server_errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        return f"{self.server_errors} 5xx answer(s) in {self.requests} request(s) ({self.error_rate:.1%})"


def canary_health(cloudwatch: Any, model: str, function_version: str, since: str) -> Health:
    """Requests and 5xx answers of ``model``'s function version ``function_version`` since ``since``."""
    start = parse_iso(since) - timedelta(minutes=1)
    end = datetime.now(UTC) + timedelta(minutes=1)
    dimensions = [{"Name": "service", "Value": model}, {"Name": "function_version", "Value": function_version}]
    period = max(60, int((end - start).total_seconds()) // 60 * 60)

    def total(metric: str) -> int:
        points = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=metric, Dimensions=dimensions, StartTime=start, EndTime=end,
            Period=period, Statistics=["Sum"])["Datapoints"]
        return int(sum(p["Sum"] for p in points))

    return Health(requests=total("Invocations"), server_errors=total("ServerErrors"))
