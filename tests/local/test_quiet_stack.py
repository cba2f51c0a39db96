"""The local stack at rest makes (almost) no calls, yet follows changes made by anyone; its
function log stays under its cap while every metric line still reaches the local CloudWatch.

One stack for the module with its OWN local AWS (the moto server on a thread of this process,
as `lepton up` runs it), so the local AWS marks the writes it serves (lepton/local/changes.py).
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from eventfiles import ROOT
from lepton.local.aliases import LiveAliases
from lepton.local.emf import EmfForwarder
from lepton.local.emf_agent import EmfAgent
from lepton.local.function_log import FunctionLog
from lepton.local.local_aws import LOCAL_CREDENTIALS, REGION
from lepton.local.stack import LocalStack, StackSettings, boot
from lepton_deploy.functions import LambdaFunctions
from local_stack import free_port
from stack_models import write_tabular

IDLE_SECONDS = 3.0


@pytest.fixture(scope="module")
def quiet_stack(tmp_path_factory) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("quiet")
    write_tabular(state / "artifacts" / "tabular", seed=3)
    settings = StackSettings(root=ROOT, api_port=free_port(), aws_port=free_port(), state_dir=state,
                             train_missing=False, models=["tabular"])
    stack = boot(settings, feed=True, watch=True)  # what `lepton up` starts, but the API server
    try:
        stack.gateway()  # the alias follower
        stack.emf = EmfForwarder(stack.client("cloudwatch"))
        stack.emf.start()
        yield stack
    finally:
        stack.stop()


def outside_lambda(stack: LocalStack):
    """A Lambda client of its own, as another process (`lepton rollback`, the aws CLI) has."""
    return boto3.client("lambda", region_name=REGION, endpoint_url=stack.aws.endpoint,
                        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def test_an_alias_moved_by_another_client_is_served_within_a_second_with_no_polling(quiet_stack):
    # GIVEN a follower that never polls (every=None): only the local AWS's marks wake it
    name = quiet_stack.names["TabularFunction"]
    aliases = LiveAliases(LambdaFunctions(quiet_stack.client("lambda")), {"TabularFunction": name},
                          changes=quiet_stack.aws.changes, every=None)
    aliases.start()
    try:
        live = aliases.pick("TabularFunction")[0]
        other = next(v["Version"] for v in outside_lambda(quiet_stack).list_versions_by_function(
            FunctionName=name)["Versions"] if v["Version"] not in ("$LATEST", live))
        # WHEN another client moves the alias, and back
        for target in (other, live):
            moved = time.monotonic()
            outside_lambda(quiet_stack).update_alias(FunctionName=name, Name="live", FunctionVersion=target)
            while aliases.pick("TabularFunction")[0] != target and time.monotonic() - moved < 5:
                time.sleep(0.01)
            # THEN the requests are served by the version it names within the documented bound
            assert aliases.pick("TabularFunction")[0] == target
            assert time.monotonic() - moved < 1.0
    finally:
        aliases.stop()


def test_the_idle_stack_makes_at_most_one_aws_call_in_three_seconds(quiet_stack):
    # GIVEN every follower of the stack running (aliases, feed, deploy worker, EMF, template watch)
    assert quiet_stack.aliases is not None and quiet_stack.feed is not None and quiet_stack.watch is not None
    calls: list[str] = []
    lock = threading.Lock()

    def count(request, **_):
        with lock:
            calls.append(request.url)

    time.sleep(1.0)  # what the previous test's moves set off has settled
    clients = [quiet_stack.client(service) for service in ("lambda", "dynamodb", "sqs", "cloudwatch")]
    for client in clients:
        client.meta.events.register("before-send", count)
    try:
        time.sleep(IDLE_SECONDS)  # WHEN nothing happens
    finally:
        for client in clients:
            client.meta.events.unregister("before-send", count)
    # THEN the only call that may fall in the window is the deploy worker's next 20 s long poll
    # (polling at 2 Hz per function, as before, made about 40 here)
    assert len(calls) <= 1, calls


def emf_line(service: str, version: str) -> str:
    """One request's metric line as the serving library prints it (Embedded Metric Format)."""
    return json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
        {"Namespace": "Lepton", "Dimensions": [["service", "function_version"]],
         "Metrics": [{"Name": "Invocations", "Unit": "Count"}, {"Name": "RequestLatency", "Unit": "Milliseconds"}]}]},
        "service": service, "function_version": version, "Invocations": [1.0], "RequestLatency": [0.25]})


def test_the_function_log_rotates_at_its_cap_keeping_whole_lines_and_the_newest_last(tmp_path):
    # GIVEN a 20 kB cap with 2 older files kept
    log = FunctionLog(tmp_path / "functions.log", max_bytes=20_000, backups=2)
    # WHEN 5 times the whole allowance of warnings is written, some of it in pieces
    for i in range(3000):
        text = json.dumps({"level": "WARNING", "message": f"warning {i}", "service": "tabular"}) + "\n"
        log.write(text[:17])
        log.write(text[17:])
    log.flush()
    # THEN three files, none over the cap, every line whole, the last warning last
    sizes = {f.name: f.stat().st_size for f in tmp_path.iterdir()}
    assert sorted(sizes) == ["functions.log", "functions.log.1", "functions.log.2"]
    assert all(size <= 20_000 for size in sizes.values()), sizes
    lines = [json.loads(line) for name in ("functions.log.2", "functions.log.1", "functions.log")
             for line in (tmp_path / name).read_text().splitlines()]
    numbers = [int(line["message"].split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], 3000)) and numbers[0] > 0


def test_the_function_log_keeps_one_metric_line_a_function_every_10_s_and_cloudwatch_gets_them_all(
        quiet_stack, tmp_path):
    # GIVEN the function log with the EMF agent (its own process) and the local CloudWatch behind
    # it, as `lepton up` runs them, and a clock the test moves
    now = [1000.0]
    log = FunctionLog(tmp_path / "functions.log", metrics_every=10.0, clock=lambda: now[0])
    agent = EmfAgent(quiet_stack.aws.endpoint)
    agent.start()
    log.forward_to(agent.feed)
    # WHEN 500 requests' metric lines come in within the same 10 s, then one more 10 s later
    for _ in range(500):
        log.write(emf_line("quiet-fn", "7") + "\n")
    now[0] += 10.0
    log.write(emf_line("quiet-fn", "7") + "\n")
    log.flush()
    agent.stop()  # hands the last lines over and waits for the agent to put them
    # THEN the file holds two of them and says how many it left out
    written = [json.loads(line) for line in (tmp_path / "functions.log").read_text().splitlines()]
    assert [w.get("Invocations") for w in written] == [[1.0], None, [1.0]]
    assert written[1]["left_out"] == 499 and written[1]["service"] == "quiet-fn"
    # AND the local CloudWatch counted every request, as the canary check reads it
    points = quiet_stack.client("cloudwatch").get_metric_statistics(
        Namespace="Lepton", MetricName="Invocations", Statistics=["Sum", "SampleCount"], Period=600,
        Dimensions=[{"Name": "service", "Value": "quiet-fn"}, {"Name": "function_version", "Value": "7"}],
        StartTime=datetime.now(UTC) - timedelta(minutes=5), EndTime=datetime.now(UTC) + timedelta(minutes=5))
    assert sum(p["Sum"] for p in points["Datapoints"]) == 501
