"""Lambda Invoke on the local AWS runs the stack's function versions in-process, for any caller:
boto3 (as the aws CLI), and moto's own Step Functions interpreter, whose Lambda tasks call it. And
the batch routes of a stack whose moto cannot run the batch state machine say exactly why.

The stack here runs its moto server in this process, as `make up` does (the module's other
fixtures use an external one, whose Invoke runs no code). The state machine is a small one moto
can parse (the batch definition it cannot, tests/local/test_batch_local.py): two Lambda tasks on the
qualified ARN of the version live at the start, a Wait between them while a new version is
promoted. Both tasks are answered by the pinned version; the alias answers with the new one.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from lepton.client import ControlError, ControlClient, resolve_target
from lepton.local.deploy_setup import ROOT
from lepton.local.stack import StackSettings, boot
from local_stack import free_port, serving
from stack_models import write_all, write_tabular

MOTO_LACKS = ["JSONL", "ItemBatcher", "MaxItemsPerBatchPath", "BatchInput", "EXPRESS"]  # as test_batch_local.py
HOLD_SECONDS = 15  # the Wait between the tasks: long enough for a promotion through the deployer


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory) -> Iterator[object]:
    state = tmp_path_factory.mktemp("own-stack")
    write_all(state / "artifacts")
    settings = StackSettings(root=ROOT, api_port=free_port(), aws_port=free_port(), state_dir=state,
                             train_missing=False, models=["tabular"])
    stack = boot(settings)  # its own moto server on a thread of this process, as `make up`
    try:
        with serving(stack) as base_url:
            stack.base_url = base_url
            yield stack
    finally:
        stack.stop()


def invoke_batch(lam, function: str, qualifier: str | None = None) -> tuple[dict, dict]:
    event = {"lepton_batch": {"format": "jsonl", "items": [{"index": 0, "row": {"features": [13.0, 0.12, 22.0]}}]}}
    extra = {"Qualifier": qualifier} if qualifier else {}
    response = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode(), **extra)
    assert "FunctionError" not in response, response["Payload"].read()
    payload = json.loads(response["Payload"].read())
    return response, json.loads(payload["body"])


def test_invoke_on_the_local_aws_runs_the_version_the_qualifier_names(own_stack):
    lam = own_stack.client("lambda")
    name = own_stack.names["TabularFunction"]
    live = lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    response, line = invoke_batch(lam, name, "live")
    assert response["ExecutedVersion"] == live and line["function_version"] == live
    assert line["model"] == "tabular" and len(line["outputs"][0]["data"]) == 2


def test_moto_runs_a_state_machine_whose_lambda_tasks_keep_their_pinned_version_through_a_promotion(own_stack):
    from lepton_training.publish import publish

    lam, sfn = own_stack.client("lambda"), own_stack.client("stepfunctions")
    name = own_stack.names["TabularFunction"]
    pinned = lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] + f":{pinned}"
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName.$": "$.function", "Payload": {"lepton_batch": {"format": "jsonl", "items": [
                {"index": 0, "row": {"features": [13.0, 0.12, 22.0]}}]}}},
            "ResultSelector": {"body.$": "$.Payload.body"}}
    definition = {"StartAt": "First", "States": {
        "First": {**task, "ResultPath": "$.first", "Next": "Hold"},
        "Hold": {"Type": "Wait", "SecondsPath": "$.hold", "Next": "Second"},
        "Second": {**task, "ResultPath": "$.second", "End": True}}}
    machine = sfn.create_state_machine(name="pinned-tasks", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/pinned-tasks")["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine,
                                    input=json.dumps({"function": arn, "hold": HOLD_SECONDS}))["executionArn"]
    # WHEN a new version is promoted while the execution waits between its tasks
    deadline = time.monotonic() + HOLD_SECONDS
    while not any(e["type"] == "WaitStateEntered" for e in sfn.get_execution_history(executionArn=execution)["events"]):
        assert time.monotonic() < deadline, "the first task did not finish"
        time.sleep(0.2)
    folder = own_stack.settings.state / "v2"
    write_tabular(folder, seed=21)
    publish(folder, own_stack.settings.bucket, s3_client=own_stack.client("s3"))
    while lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == pinned:
        assert time.monotonic() < deadline + 5, "v2 was not promoted in time"
        time.sleep(0.2)
    # THEN both tasks were answered by the pinned version, v1, and the alias now answers with v2
    while (done := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline + HOLD_SECONDS + 10, "the execution did not end"
        time.sleep(0.2)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    answers = [json.loads(output[step]["body"]) for step in ("first", "second")]
    assert [(a["function_version"], a["model_version"]) for a in answers] == [(pinned, "1"), (pinned, "1")]
    _, now = invoke_batch(lam, name, "live")
    assert now["function_version"] != pinned and now["model_version"] == "2"


def test_a_function_the_stack_does_not_host_is_left_to_moto(own_stack):
    lam = own_stack.client("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="not-a-lepton-function", Payload=b"{}")


def test_the_stack_points_moto_s_interpreter_at_its_own_server(own_stack):
    import os

    from moto.core.config import default_user_config

    assert default_user_config["stepfunctions"]["execute_state_machine"] is True
    assert os.environ["MOTO_PORT"] == str(own_stack.settings.aws_port)  # where its tasks' clients go


def test_the_local_stack_has_the_batch_bucket_and_its_api_says_what_moto_cannot_run(own_stack):
    own_stack.client("s3").head_bucket(Bucket="lepton-local-batch")
    client = ControlClient(resolve_target(own_stack.base_url))
    with pytest.raises(ControlError) as refused:
        client.call("POST", "/models/tabular/batch-jobs", body={"input": "s3://lepton-local-batch/rows.jsonl"})
    assert refused.value.status == 503
    assert all(word in refused.value.message for word in MOTO_LACKS), refused.value.message


def test_lepton_batch_prints_its_estimate_then_the_reason_the_local_stack_gives(own_stack, tmp_path, capsys):
    from lepton.cli import main

    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"features": [13.0, 0.12, 22.0]}\n' * 1000)
    code = main(["batch", "tabular", "--input", str(rows), "--wait", "--endpoint", own_stack.base_url,
                 "--aws-port", str(own_stack.settings.aws_port)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 1
    assert "estimate in AWS (1,000 rows, 64 a batch" in err and "ItemBatcher" in err, err
