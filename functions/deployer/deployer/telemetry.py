"""Structured logs and EMF metrics for every deployer decision (Powertools)."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Lepton"
SERVICE = "deployer"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def decision(outcome: str, model: str, check: str = "") -> None:
    """One count per decision, by outcome and model (and failed check): what alarms watch."""
    with single_metric(name="Deployments", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name="model", value=model or "unknown")
        metric.add_dimension(name="outcome", value=outcome)
        if check:
            metric.add_dimension(name="check", value=check)


def stage_latencies(timings_ms: dict[str, float]) -> None:
    for stage, ms in timings_ms.items():
        metrics.add_metric(name=f"{stage.title().replace('_', '')}Latency", unit=MetricUnit.Milliseconds, value=ms)
