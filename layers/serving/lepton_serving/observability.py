"""Powertools logger, metrics and tracer for one function, created once per environment.

Logs are structured JSON carrying the request id, model name and model version, never a
payload. Metrics are CloudWatch EMF lines. Tracing is X-Ray, off with POWERTOOLS_TRACE_DISABLED.
"""
from __future__ import annotations

import contextlib
import sys
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.constants import MAX_METRICS

NAMESPACE = "Lepton"
#: Counted per function version too (dimensions service + function_version), for callers'
#: inference requests only: what a canary is judged on (lepton_deploy/canary.py). Each such
#: request is one of Requests; a 5xx answer a ServerError, a 4xx a ClientError, and of those the
#: values onnxruntime refused an InputError. Readiness and metadata calls, the deployer's own
#: invocations (origin.py) and 404s for a model or version not served here are left out.
PER_VERSION = ("Requests", "ServerErrors", "ClientErrors", "InputErrors")


class EMFProvider(AmazonCloudWatchEMFProvider):
    """Powertools' CloudWatch EMF provider (passed to Metrics as its `provider`), cheaper per call.

    Powertools validates every add_metric (name length, unit and resolution against its enums)
    and flushes with the standard json module; per request that was a third of the handler's
    overhead. Here each (name, unit, resolution) is validated by Powertools the first time it
    is added, later values of it go straight into the same metric set, and a flush serialises
    Powertools' own EMF document with orjson. The output is the same EMF line.
    """

    def __init__(self, *args: Any, function_version: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._checked: dict[tuple[str, Any, Any], tuple[str, int]] = {}
        self._disabled = is_metrics_disabled()  # the environment is fixed for a Lambda environment
        self.function_version = function_version
        self.judged = False  # this invocation's counts go into the version's own series too

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:
        key = (name, unit, resolution)
        checked = self._checked.get(key)
        metric = self.metric_set.get(name)
        if (checked is None or type(value) not in (int, float) or len(self.metric_set) >= MAX_METRICS - 1
                or (metric is not None and len(metric["Value"]) >= MAX_METRICS - 1)):
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)
            added = self.metric_set.get(name.strip())
            if added is not None and name == name.strip():
                self._checked[key] = (added["Unit"], added["StorageResolution"])
            return
        if metric is None:
            metric = self.metric_set[name] = defaultdict(list)
            metric["Unit"], metric["StorageResolution"] = checked
        metric["Value"].append(float(value))

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        if self._disabled or not self.metric_set:
            super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
            return
        document = self.serialize_metric_set()
        counted = [name for name in PER_VERSION if name in self.metric_set]
        judged, self.judged = self.judged, False
        if self.function_version and judged and counted:
            # A second directive over the same values: the counts by function version as well.
            document["function_version"] = self.function_version
            document["_aws"]["CloudWatchMetrics"].append({
                "Namespace": self.namespace, "Dimensions": [["service", "function_version"]],
                "Metrics": [{"Name": name, "Unit": "Count"} for name in counted]})
        sys.stdout.write(orjson.dumps(document).decode() + "\n")
        self.clear_metrics()


def tracing_on(env: Mapping[str, str]) -> bool:
    """X-Ray tracing is wanted: in Lambda (not locally) and not disabled by the template's `Tracing`."""
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true")
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


class Telemetry:
    def __init__(self, service: str, function_version: str = "", tracing: bool = False):
        """``function_version``: the Lambda version this handler serves (AWS_LAMBDA_FUNCTION_VERSION);
        ``tracing``: create the X-Ray tracer (`tracing_on` of the function's environment)."""
        self.service = service
        self.logger = Logger(service=service)
        self._provider = EMFProvider(namespace=NAMESPACE, service=service, function_version=function_version)
        self.metrics = Metrics(namespace=NAMESPACE, service=service, provider=self._provider)
        self._tracer: Any = None
        self._cold = True
        if tracing:
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

    def answered(self, status: int, error: str | None = None, judged: bool = False) -> None:
        """One answer, counted: each error by kind and status; 5xx, 4xx and onnxruntime's refusals
        (``error`` "InputError") by class. ``judged``: a caller's inference request, counted in the
        function version's own series as well (PER_VERSION)."""
        if judged:
            self.count("Requests")
            self._provider.judged = True
        if status < 400:
            return
        self.count("ServerErrors" if status >= 500 else "ClientErrors")
        if error == "InputError":
            self.count("InputErrors")
        with single_metric(name="Errors", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="service", value=self.service)
            metric.add_dimension(name="kind", value=error or "Unknown")
            metric.add_dimension(name="status", value=str(status))

    def flush(self) -> None:
        self.metrics.flush_metrics(raise_on_empty_metrics=False)

    def segment(self, name: str) -> contextlib.AbstractContextManager[Any]:
        if self._tracer is None:
            return _NO_SEGMENT
        return self._tracer.provider.in_subsegment(name)


_NO_SEGMENT = contextlib.nullcontext()
