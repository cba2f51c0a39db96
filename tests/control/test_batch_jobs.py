"""Batch jobs through the control API: the live version pinned at the start, watched and stopped.

Step Functions is moto's (its plain backend: executions are recorded, not run); the state machine
is the template's own definition. What a job does once running is the batch state machine's.
"""
from __future__ import annotations

import json

import boto3
import pytest

from control_names import FUNCTIONS
from lepton.local.deploy_setup import ROOT
from lepton.local.template import Template

BATCH_BUCKET = "lepton-batch-control"


@pytest.fixture
def batch(world, monkeypatch):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BATCH_BUCKET)
    definition = Template(ROOT / "template.yaml").resources["BatchStateMachine"]["Properties"]["Definition"]
    arn = sfn.create_state_machine(name="lepton-test-batch", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/lepton-test-batch")["stateMachineArn"]
    for key, value in {"LEPTON_BATCH_STATE_MACHINE": arn, "LEPTON_BATCH_BUCKET": BATCH_BUCKET,
                       "LEPTON_BATCH_MAX_CONCURRENCY": "8", "LEPTON_BATCH_TOLERATED_FAILURE_PERCENTAGE": "0"}.items():
        monkeypatch.setenv(key, value)
    s3.put_object(Bucket=BATCH_BUCKET, Key="in/rows.jsonl", Body=b'{"features": [1, 2, 3]}\n')
    return sfn


def execution_input(sfn, job: dict) -> dict:
    return json.loads(sfn.describe_execution(executionArn=job["execution_arn"])["input"])


def test_a_job_pins_the_live_function_version_and_a_later_promotion_changes_nothing_for_it(world, api, batch):
    # GIVEN tabular v1 live
    world.publish(1)
    pinned = world.alias()["FunctionVersion"]
    # WHEN a job starts
    response = api.post("/models/tabular/batch-jobs", json={"input": f"s3://{BATCH_BUCKET}/in/rows.jsonl"})
    assert response.status_code == 202, response.text
    job = response.json()
    # THEN it names that version, as a qualified ARN the state machine invokes for every batch
    started = execution_input(batch, job)
    assert (job["function_version"], job["model_version"], job["status"]) == (pinned, "1", "RUNNING")
    assert started["function"].endswith(f":function:{FUNCTIONS['tabular']}:{pinned}")
    assert started["input"] == {"bucket": BATCH_BUCKET, "key": "in/rows.jsonl", "format": "jsonl"}
    assert started["output"]["prefix"] == f"jobs/{job['job']}/" and started["output"]["rows"] == f"jobs/{job['job']}/rows/"
    assert started["batch_size"] == 64 and started["limits"] == {"max_concurrency": 8, "tolerated_failure_percentage": 0.0}
    # WHEN v2 is promoted while the job runs
    world.publish(2)
    assert world.alias()["FunctionVersion"] != pinned
    # THEN the job still names the version it started with; a new job gets the new one
    assert api.get(f"/batch-jobs/{job['job']}").json()["function_version"] == pinned
    assert execution_input(batch, job)["function"].endswith(f":{pinned}")
    second = api.post("/models/tabular/batch-jobs", json={"input": f"s3://{BATCH_BUCKET}/in/rows.jsonl"}).json()
    assert (second["function_version"], second["model_version"]) == (world.alias()["FunctionVersion"], "2")


def test_jobs_are_listed_read_and_cancelled(world, api, batch):
    world.publish(1)
    job = api.post("/models/tabular/batch-jobs", json={"input": f"s3://{BATCH_BUCKET}/in/rows.jsonl",
                                                       "max_concurrency": 100, "batch_size": 5000}).json()
    # capped by the stack's BatchMaxConcurrency, and at 16 times the model's batch limit
    assert (job["max_concurrency"], job["batch_size"]) == (8, 1024)
    assert [j["job"] for j in api.get("/batch-jobs").json()["jobs"]] == [job["job"]]
    cancelled = api.post(f"/batch-jobs/{job['job']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "ABORTED"
    assert api.get("/batch-jobs/tabular-nope").status_code == 404


@pytest.mark.parametrize("body, status, words", [
    ({"input": "s3://somewhere-else/rows.jsonl"}, 400, "batch bucket"),
    ({"input": f"s3://{BATCH_BUCKET}/in/rows.parquet"}, 400, "format"),
    ({"input": f"s3://{BATCH_BUCKET}/in/rows.jsonl", "max_concurrency": 0}, 422, "max_concurrency"),
    ({"input": "rows.jsonl"}, 422, "input"),
])
def test_a_job_the_stack_cannot_run_is_refused_with_what_to_do(world, api, batch, body, status, words):
    world.publish(1)
    response = api.post("/models/tabular/batch-jobs", json=body)
    assert response.status_code == status and words in response.json()["error"]


def test_a_stack_that_cannot_run_batch_jobs_says_why(world, api, batch, monkeypatch):
    monkeypatch.setenv("LEPTON_BATCH_UNAVAILABLE", "no interpreter for ItemBatcher")
    response = api.post("/models/tabular/batch-jobs", json={"input": f"s3://{BATCH_BUCKET}/in/rows.jsonl"})
    assert response.status_code == 503 and "ItemBatcher" in response.json()["error"]


def test_a_local_file_is_staged_by_a_presigned_post_into_the_batch_bucket(world, api, batch):
    response = api.post("/batch-inputs", json={"filename": "rows.jsonl"})
    assert response.status_code == 200, response.text
    staged = response.json()
    assert staged["input"].startswith(f"s3://{BATCH_BUCKET}/staged/") and staged["input"].endswith("/rows.jsonl")
    assert staged["upload"]["key"] in staged["input"] and staged["upload"]["fields"]["key"] == staged["upload"]["key"]
