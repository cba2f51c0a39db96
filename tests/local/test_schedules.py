"""Local EventBridge schedules: rate expressions, the event a rule sends, one run per period."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from lepton.local.schedules import Job, Schedules, jobs_of, rate_seconds
from lepton.local.template import FunctionSpec, Template

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("expression, seconds", [
    ("rate(1 day)", 86400), ("rate(5 minutes)", 300), ("rate( 2 hours )", 7200), ("rate(1 minute)", 60),
    ("cron(0 3 * * ? *)", None), ("rate(0 days)", None), ("rate(1 week)", None), ("", None),
])
def test_rate_expressions_are_read_as_eventbridge_writes_them(expression, seconds) -> None:
    assert rate_seconds(expression) == seconds


def test_only_schedule_events_with_a_rate_become_jobs(tmp_path) -> None:
    def spec(events: dict) -> FunctionSpec:
        return FunctionSpec("F", "f.handler", tmp_path, [], {}, properties={"Events": events})

    specs = {"Drift": spec({"Daily": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}}),
             "Cron": spec({"Nightly": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 3 * * ? *)"}}}),
             "Api": spec({"Get": {"Type": "HttpApi", "Properties": {}}})}
    assert jobs_of(specs) == [Job("Drift", "Daily", 86400)]


@pytest.mark.parametrize("overrides, seconds", [({}, 86400), ({"DriftSchedule": "rate(5 minutes)"}, 300)])
def test_the_drift_function_runs_at_the_rate_its_schedule_parameter_gives(overrides, seconds) -> None:
    # template.yaml writes the schedule as !Ref DriftSchedule; the stack reads it as sam deploy would
    template = Template(ROOT / "template.yaml", parameters=overrides)
    assert jobs_of(template.functions(), template.text) == [Job("DriftFunction", "Schedule", seconds)]


def test_each_job_runs_once_a_period_with_a_scheduled_event_and_a_failure_is_only_logged() -> None:
    calls: list[tuple[str, dict]] = []
    done = threading.Event()

    def invoke(logical_id: str, event: dict) -> dict:
        calls.append((logical_id, event))
        if len(calls) >= 3:
            done.set()
        if len(calls) == 2:
            raise RuntimeError("the function failed")
        return {"checked": [{"model": "tabular", "level": "ok"}]}

    schedules = Schedules([Job("DriftFunction", "Daily", 0.05)], invoke)  # a period this test can wait for
    started = time.monotonic()
    schedules.start()
    try:
        assert done.wait(5)
    finally:
        schedules.stop()
    # the first run came one period after start, not at once; a failed run did not stop the next
    assert time.monotonic() - started >= 0.1 and schedules.runs["DriftFunction"] >= 3
    event = calls[0][1]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/DriftFunction-Daily")
