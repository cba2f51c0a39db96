"""The canary check: the new version's error rate, from Lambda's own CloudWatch metrics.

Lambda publishes Errors and Invocations per alias and executed version
(dimensions FunctionName, Resource = <function>:live, ExecutedVersion).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .clock import parse_iso
from .functions import ALIAS


@dataclass(frozen=True)
class Health:
    invocations: int
    errors: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.invocations if self.invocations else 0.0

    def describe(self) -> str:
        return f"{self.errors} error(s) in {self.invocations} invocation(s) ({self.error_rate:.1%})"


def canary_health(cloudwatch: Any, function_name: str, function_version: str, since: str) -> Health:
    start = parse_iso(since) - timedelta(minutes=1)
    end = datetime.now(UTC) + timedelta(minutes=1)
    dimensions = [{"Name": "FunctionName", "Value": function_name},
                  {"Name": "Resource", "Value": f"{function_name}:{ALIAS}"},
                  {"Name": "ExecutedVersion", "Value": function_version}]

    def total(metric: str) -> int:
        period = max(60, int((end - start).total_seconds()) // 60 * 60)
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=dimensions, StartTime=start, EndTime=end,
            Period=period, Statistics=["Sum"])["Datapoints"]
        return int(sum(p["Sum"] for p in points))

    return Health(invocations=total("Invocations"), errors=total("Errors"))
