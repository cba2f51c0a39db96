"""The dashboard and the drift alarm watch what the functions really send.

Each dashboard widget is a metric search; each must name a metric, with its dimension set, that
a model function printed as EMF while answering a good request, a bad one and one onnxruntime
refused (a fresh handler, so its cold start too), or that the drift function sends. DriftAlarm
reads the dimensionless Drift, which is each check's worst feature across the stack."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cfnlint.decode import decode

import family_models as fm
from family_harness import call
from test_boundary import v2_event

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
SEARCH = re.compile(r"SEARCH\('\{(?P<namespace>\w+),(?P<dimensions>[\w,]+)\} MetricName=\"(?P<metric>\w+)\"'")


@pytest.fixture(scope="module")
def resources() -> dict:
    parsed, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    return parsed["Resources"]


def dashboard_searches(resources: dict) -> set[tuple[str, tuple[str, ...], str]]:
    body, values = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert set(values) == {"Warning", "Alarm"}
    text = body.replace("${AWS::Region}", "us-east-1").replace("${Warning}", "0.1").replace("${Alarm}", "0.25")
    widgets = json.loads(text)["widgets"]  # the body CloudWatch gets is valid JSON
    found = set()
    for widget in widgets:
        for row in widget["properties"]["metrics"]:
            match = SEARCH.search(row[0]["expression"])
            assert match, row
            found.add((match["namespace"], tuple(sorted(match["dimensions"].split(","))), match["metric"]))
    return found


def emitted(printed: str) -> set[tuple[str, tuple[str, ...], str]]:
    """(namespace, dimension names, metric) of every EMF directive in a handler's output."""
    found = set()
    for line in printed.splitlines():
        if '"_aws"' in line:
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                for dimensions in directive["Dimensions"]:
                    for metric in directive["Metrics"]:
                        found.add((directive["Namespace"], tuple(sorted(dimensions)), metric["Name"]))
    return found


def test_every_model_widget_searches_a_metric_a_model_function_sends(resources, serve_version, capsys):
    from lepton_serving.app import configured
    from lepton_serving.model import Model

    handler = serve_version(configured(Model, {}), fm.churn_manifest(), fm.churn_model())  # a fresh one: cold
    capsys.readouterr()
    good, refused, bad = v2_event("churn"), v2_event("churn"), v2_event("churn")
    good["body"] = json.dumps({"inputs": [{"name": "customer_id", "datatype": "INT64", "shape": [1], "data": [3]},
                                          {"name": "usage", "datatype": "FP32", "shape": [1, 2], "data": [0.5, 1.0]}]})
    refused["body"] = good["body"].replace('"data": [3]', f'"data": [{fm.CUSTOMERS}]')
    bad["body"] = "{"
    assert [call(handler, e)[0] for e in (good, refused, bad)] == [200, 422, 400]
    sent = emitted(capsys.readouterr().out)
    wanted = {s for s in dashboard_searches(resources) if s[1] == ("service",)}
    assert {m for _, _, m in wanted} >= {"Requests", "RequestLatency", "ClientErrors", "InputErrors", "ColdStart"}
    assert wanted - {("Lepton", ("service",), "ServerErrors")} <= sent, wanted - sent
    # a 5xx is our own fault, so none was sent here: the widget's metric is the one the 5xx path counts
    from lepton_serving import observability
    assert "ServerErrors" in observability.PER_VERSION


def test_the_drift_widgets_and_alarm_read_the_metric_the_drift_function_sends(resources):
    from drift.metrics import NAMESPACE, metric_data
    from lepton_drift.check import DriftReport, FeatureDrift
    from lepton_drift.levels import Level

    report = DriftReport("tabular", "1", Level.ALARM, features=[
        FeatureDrift("worst texture", "numeric", "input", Level.ALARM, 342, 455, psi=7.3),
        FeatureDrift("worst radius", "numeric", "input", Level.NOT_ENOUGH_DATA, 3, 455)])
    sent = {(NAMESPACE, tuple(sorted(d["Name"] for d in item["Dimensions"])), item["MetricName"])
            for item in metric_data(report, datetime.now(UTC))}
    drift_widgets = {s for s in dashboard_searches(resources) if s[2] == "Drift"}
    assert drift_widgets == {("Lepton", ("model",), "Drift"), ("Lepton", ("feature", "model"), "Drift")}
    assert drift_widgets <= sent
    alarm = resources["DriftAlarm"]["Properties"]
    assert (alarm["Namespace"], tuple(alarm.get("Dimensions", ())), alarm["MetricName"]) in sent
    assert alarm["Statistic"] == "Maximum" and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == {"Ref": "DriftAlarmThreshold"} and alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"  # no check yet, or not enough data: no alarm
