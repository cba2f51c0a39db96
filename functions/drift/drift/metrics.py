"""The `Drift` metric: each measured feature's PSI, in namespace Lepton.

Three dimension sets over the same values, so one value can be read three ways:
``model`` + ``feature`` (the dashboard's lines), ``model`` (its worst feature, with Maximum) and
none (the stack's worst feature: what `DriftAlarm` watches, so one alarm covers every model,
those `lepton add` writes too). Features without a measurement (not enough data) send nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from lepton_drift.check import DriftReport
from lepton_serving.clients import error_message
from lepton_serving.errors import UpstreamFailure

NAMESPACE = "Lepton"
METRIC = "Drift"
#: PutMetricData takes up to 1,000 values a call; a model has a handful of features.
BATCH = 150


def metric_data(report: DriftReport, at: datetime) -> list[dict[str, Any]]:
    data = []
    for feature in report.features:
        if feature.psi is None:
            continue
        for dimensions in ([("model", report.model), ("feature", feature.name)], [("model", report.model)], []):
            data.append({"MetricName": METRIC, "Timestamp": at, "Value": round(feature.psi, 6), "Unit": "None",
                         "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions]})
    return data


def put_drift(cloudwatch: Any, report: DriftReport, at: datetime) -> int:
    """Send the report's values; returns how many."""
    from botocore.exceptions import BotoCoreError, ClientError

    data = metric_data(report, at)
    try:
        for start in range(0, len(data), BATCH):
            cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start:start + BATCH])
    except (ClientError, BotoCoreError) as exc:
        raise UpstreamFailure(f"cannot send the Drift metric for {report.model}: {error_message(exc)}") from exc
    return len(data)
