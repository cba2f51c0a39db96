"""Powertools logger, metrics and tracer for one function, created once per environment.

Logs are structured JSON carrying the request id, model name and model version, never a
payload. Metrics are CloudWatch EMF lines. Tracing is X-Ray, off with POWERTOOLS_TRACE_DISABLED.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Lepton"


class Telemetry:
    def __init__(self, service: str):
        self.service = service
        self.logger = Logger(service=service)
        self.metrics = Metrics(namespace=NAMESPACE, service=service)
        self._tracer: Any = None
        self._cold = True
        if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in ("1", "true") and os.environ.get(
            "AWS_LAMBDA_FUNCTION_NAME"
        ):
            from aws_lambda_powertools import Tracer  # pulls in the X-Ray SDK: only where it is used

            self._tracer = Tracer(service=service)

    def bind(self, **keys: Any) -> None:
        self.logger.append_keys(**keys)

    def start_invocation(self, request_id: str | None) -> bool:
        """Returns True on the first invocation of this environment (a cold start)."""
        self.logger.append_keys(request_id=request_id)
        cold, self._cold = self._cold, False
        if cold:
            self.metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
        return cold

    def latency(self, stage: str, seconds: float) -> None:
        self.metrics.add_metric(name=f"{stage}Latency", unit=MetricUnit.Milliseconds, value=seconds * 1000.0)

    def count(self, name: str, value: float = 1) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def error(self, kind: str, status: int) -> None:
        with single_metric(name="Errors", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="service", value=self.service)
            metric.add_dimension(name="kind", value=kind)
            metric.add_dimension(name="status", value=str(status))

    def flush(self) -> None:
        self.metrics.flush_metrics(raise_on_empty_metrics=False)

    @contextlib.contextmanager
    def segment(self, name: str) -> Iterator[None]:
        if self._tracer is None:
            yield
            return
        with self._tracer.provider.in_subsegment(name):
            yield
