"""Upload -> S3 notification (really delivered by moto) -> SQS -> deployer -> alias -> serving."""
from __future__ import annotations

import json

import numpy as np
from deploy_support import BUCKET, ROWS, context, good
from deployer.handler import lambda_handler as deployer
from eventfiles import load_event
from onnx_models import run


def expected(model_bytes: bytes) -> list[float]:
    return run(model_bytes, {"features": np.asarray(ROWS, dtype=np.float32)})["probabilities"].ravel().tolist()


def deploy_through_queue(stack) -> dict:
    result = stack.worker(deployer).run_once()
    assert result is not None, "no notification arrived in the deploy queue"
    return result


def test_upload_is_delivered_validated_promoted_and_served_with_its_version(stack):
    # GIVEN version 1 is live and version 2 (other weights) is uploaded, manifest last
    v1, m1 = good(1)
    stack.upload(v1, m1)
    assert deploy_through_queue(stack)["failed"] == []
    v2, m2 = good(2)
    stack.upload(v2, m2)

    # WHEN the worker hands the real S3 notification to the deployer
    messages = stack.receive()
    assert json.loads(messages[0]["Body"])["Records"][0]["s3"]["object"]["key"].endswith("manifest.json")
    assert deploy_through_queue(stack) == {"received": 1, "failed": []}

    # THEN the alias names a new published version configured with version 2
    env = stack.live_env()
    assert (env["LEPTON_MODEL_KEY"], env["LEPTON_MODEL_VERSION"]) == ("models/tabular/2/model.onnx", "2")
    assert env["LEPTON_MODEL_SHA256"] == m2.sha256
    assert stack.alias()["FunctionVersion"] == "3"  # 1 = template, 2 = model v1, 3 = model v2
    # AND the tabular handler configured as that version answers with model 2's outputs and version
    status, body = stack.infer(env)
    assert status == 200 and body["model_version"] == "2"
    assert np.allclose(body["outputs"][0]["data"], expected(v2), atol=1e-6)
    assert not np.allclose(expected(v1), expected(v2), atol=1e-3)
    # AND the registry agrees with the alias
    live = stack.registry.get_live("tabular")
    assert (live.live.version, live.live.function_version) == (2, "3")
    assert [(a.version, a.outcome) for a in stack.registry.list_deployments("tabular")] == [(2, "promoted"), (1, "promoted")]
    assert {"manifest", "download", "integrity", "checker", "load", "golden", "promote", "total"} <= set(
        stack.registry.list_deployments("tabular")[0].timings_ms)


def test_a_later_sam_deploy_keeps_serving_the_promoted_model(stack):
    # GIVEN version 2 was promoted by the deployer
    for version in (1, 2):
        stack.upload(*good(version))
        deploy_through_queue(stack)
    # WHEN `sam deploy` resets the environment to the template's and moves the alias to a new version
    template_version = stack.sam_deploy()
    env = stack.env_of(template_version)
    assert "LEPTON_MODEL_KEY" not in env and env["LEPTON_DEPLOYMENTS_TABLE"] == stack.table
    # THEN a fresh handler from that environment finds version 2 through the live pointer
    status, body = stack.infer(env)
    assert status == 200 and body["model_version"] == "2"
    assert np.allclose(body["outputs"][0]["data"], expected(good(2)[0]), atol=1e-6)


def test_the_same_notification_delivered_twice_publishes_one_version(stack):
    stack.upload(*good(1))
    message = stack.receive()[0]
    event = {"Records": [{"messageId": "m-1", "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
                          "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}]}
    # WHEN SQS delivers the same message again (at-least-once)
    first = deployer(event, context())
    second = deployer({"Records": [{**event["Records"][0], "messageId": "m-2"}]}, context())
    # THEN both succeed, but only one version was published and one attempt recorded
    assert first == {"batchItemFailures": []} and second == {"batchItemFailures": []}
    assert stack.versions() == ["$LATEST", "1", "2"]
    assert [a.outcome for a in stack.registry.list_deployments("tabular")] == ["promoted"]


def test_an_older_version_uploaded_after_a_newer_one_is_skipped(stack):
    stack.upload(*good(3))
    deploy_through_queue(stack)
    stack.upload(*good(2))
    deploy_through_queue(stack)
    assert stack.live_env()["LEPTON_MODEL_VERSION"] == "3"
    latest = stack.registry.list_deployments("tabular")[0]
    assert (latest.version, latest.outcome) == (2, "skipped")
    assert "not newer than version 3" in latest.reason
    assert stack.versions() == ["$LATEST", "1", "2"]


def test_a_bad_message_in_a_batch_fails_alone(stack):
    stack.upload(*good(1))
    good_message = stack.receive()[0]
    records = [
        {"messageId": "good", "body": good_message["Body"]},
        {"messageId": "not-json", "body": "this is not an S3 notification"},
        {"messageId": "test-event", "body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})},
    ]
    event = {"Records": [{**r, "receiptHandle": "rh", "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
                          "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                          "awsRegion": "us-east-1"} for r in records]}
    assert deployer(event, context()) == {"batchItemFailures": [{"itemIdentifier": "not-json"}]}
    assert stack.live_env()["LEPTON_MODEL_VERSION"] == "1"


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(stack):
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="garbage")
    worker = stack.worker(deployer)
    receives = 0
    while worker.run_once() is not None:  # failed messages come straight back (retry delay 0)
        receives += 1
        assert receives < 10
    assert receives == 3  # maxReceiveCount in template.yaml
    dead = stack.sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["garbage"]


def test_a_plain_s3_event_as_sam_local_invoke_sends_it(stack):
    data, manifest = good(1)
    stack.upload(data, manifest)
    event = load_event("deployer/s3-put.json")
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    event["Records"][0]["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{BUCKET}"
    result = deployer(event, context())
    assert [(r["outcome"], r["version"]) for r in result["results"]] == [("promoted", 1)]
    assert stack.live_env()["LEPTON_MODEL_VERSION"] == "1"


def test_non_manifest_keys_are_ignored(stack):
    event = load_event("deployer/s3-put.json")
    event["Records"][0]["s3"]["object"]["key"] = "models/tabular/1/model.onnx"
    assert deployer(event, context()) == {"results": [{"outcome": "ignored", "key": "models/tabular/1/model.onnx"}]}
    assert stack.registry.list_deployments("tabular") == []
