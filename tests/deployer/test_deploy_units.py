"""The deployer's parts alone: event parsing, configuration, the worker's event, the template shape."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import BUCKET
from deployer.config import DeployerConfig
from lepton_deploy.errors import BadMessage
from lepton_serving.errors import ConfigError
from deployer.events import CanaryCheck, Upload, parse_body, parse_s3_event
from eventfiles import load_event
from lepton.local.stack_settings import LOCAL_PARAMETERS
from lepton.local.template import Template
from lepton.local.worker import lambda_sqs_event

ROOT = Path(__file__).resolve().parents[2]


def test_keys_are_url_decoded_and_test_events_yield_nothing():
    batch = load_event("deployer/sqs-batch.json")
    assert parse_body(batch["Records"][0]["body"]) == []  # s3:TestEvent
    [upload] = parse_body(batch["Records"][1]["body"])
    assert upload.key == "models/tabular/2/manifest.json"
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
                                                                  "object": {"key": "models/my+model/1/manifest.json"}}}]}
    assert parse_s3_event(event)[0].key == "models/my model/1/manifest.json"


def test_the_idempotency_identity_prefers_the_object_version_over_the_etag():
    assert Upload("b", "k", etag="e", version_id="v").identity() == {"bucket": "b", "key": "k", "object": "v"}
    assert Upload("b", "k", etag="e").identity() == {"bucket": "b", "key": "k", "object": "e"}


@pytest.mark.parametrize("body, words", [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"hello": 1}', "neither an S3 notification"),
    ('{"lepton": "canary-check", "model": "tabular"}', "integer 'version'"),
    ('{"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}', "s3.bucket.name"),
])
def test_bad_messages_are_refused_with_a_reason(body, words):
    with pytest.raises(BadMessage, match=words):
        parse_body(body)


def test_canary_checks_round_trip_through_a_message_body():
    assert parse_body(CanaryCheck("tabular", 4).to_body()) == [CanaryCheck("tabular", 4)]


@pytest.mark.parametrize("env, words", [
    ({}, "LEPTON_FUNCTIONS must map"),
    ({"LEPTON_FUNCTIONS": "{oops"}, "not valid JSON"),
    ({"LEPTON_FUNCTIONS": '{"tabular": "fn"}'}, "LEPTON_DEPLOYMENTS_TABLE is not set"),
    ({"LEPTON_FUNCTIONS": '{"tabular": "fn"}', "LEPTON_DEPLOYMENTS_TABLE": "t", "LEPTON_CANARY_WEIGHT": "1.5"},
     "LEPTON_CANARY_WEIGHT must be below 1, got '1.5'"),
    ({"LEPTON_FUNCTIONS": '{"tabular": "fn"}', "LEPTON_DEPLOYMENTS_TABLE": "t", "LEPTON_MIN_METRICS": '{"tabular": 3}'},
     "LEPTON_MIN_METRICS must be"),
])
def test_configuration_errors_say_what_to_fix(env, words):
    with pytest.raises(ConfigError, match=words):
        DeployerConfig.from_env(env)


def test_the_template_configures_a_valid_deployer_that_knows_every_model_function():
    models = {lid: spec.model_name for lid, spec in Template(ROOT / "template.yaml").functions().items()
              if spec.model_name}
    names = {lid: f"fn-{model}" for lid, model in models.items()}
    functions = Template(ROOT / "template.yaml", names={**names, "DeployQueue": "url",
                                                        "DeploymentsTable": "table"}).functions()
    config = DeployerConfig.from_env(functions["DeployerFunction"].environment)
    assert config.functions == {model: f"fn-{model}" for model in models.values()}
    control = json.loads(functions["ControlFunction"].environment["LEPTON_FUNCTIONS"])
    assert control == config.functions
    assert config.policy_for("tabular").min_metrics == {"accuracy": 0.8}
    assert config.policy_for("recommender").min_metrics == {"ndcg_at_10": 0.2}
    assert config.policy_for("generator").min_metrics == {"conditional_accuracy": 0.9}
    # A canary by default in AWS (docs/security.md); the local stack promotes at once.
    assert (config.canary_weight, config.canary_bake_seconds) == (0.1, 600)
    local = Template(ROOT / "template.yaml", names={**names, "DeployQueue": "url", "DeploymentsTable": "table"},
                     parameters=LOCAL_PARAMETERS).functions()
    assert DeployerConfig.from_env(local["DeployerFunction"].environment).canary_weight == 0.0


def test_the_worker_builds_the_event_lambdas_sqs_source_delivers():
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
               "Attributes": {"ApproximateReceiveCount": "2"},
               "MessageAttributes": {"kind": {"StringValue": "x", "DataType": "String"}}}
    [record] = lambda_sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")["Records"]
    assert record == {
        "messageId": "m1", "receiptHandle": "r1", "body": "{}", "attributes": {"ApproximateReceiveCount": "2"},
        "messageAttributes": {"kind": {"stringValue": "x", "binaryValue": None, "stringListValues": [],
                                       "binaryListValues": [], "dataType": "String"}},
        "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}


def test_moto_resources_match_template_yaml(stack):
    template = Template(ROOT / "template.yaml")
    queue = template.resources["DeployQueue"]["Properties"]
    attributes = stack.sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == str(queue["VisibilityTimeout"])
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == queue["RedrivePolicy"]["maxReceiveCount"]
    # 6 x the deployer's timeout, as Lambda asks of SQS event sources
    assert queue["VisibilityTimeout"] >= 6 * template.resources["DeployerFunction"]["Properties"]["Timeout"]
    policy = json.loads(attributes["Policy"])["Statement"][0]
    assert policy["Principal"] == {"Service": "s3.amazonaws.com"}
    assert policy["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{BUCKET}"
    [config] = stack.s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    rules = {r["Name"].lower(): r["Value"] for r in config["Filter"]["Key"]["FilterRules"]}
    assert (config["Events"], rules) == (["s3:ObjectCreated:*"], {"prefix": "models/", "suffix": "manifest.json"})
    table = stack.dynamodb.describe_table(TableName=stack.table)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-kind"


def test_the_alias_moving_code_imports_neither_onnx_nor_onnxruntime():
    code = ("import sys; import lepton_deploy.rollout, lepton_deploy.registry, lepton_deploy.canary; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": f"{ROOT / 'layers' / 'serving'}:{ROOT / 'layers' / 'deploy'}", "PATH": ""})
    assert result.stdout.strip() == "[]"
