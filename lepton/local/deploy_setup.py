"""Create the redeploy path in moto exactly as template.yaml declares it.

The deployments table, the deploy queue and its dead-letter queue, the queue policy, the
model bucket's notification and the capture path (capture_setup.py) are built from the
template's own properties, so the local stack and the tests cannot drift from what `sam
deploy` creates. Model functions and their `live` aliases are the stack's job; `provision`
returns the environment the deployer needs.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .capture_setup import provision_captures
from .template import Template

ROOT = Path(__file__).resolve().parents[2]
TABLE, QUEUE, DLQ, QUEUE_POLICY, BUCKET = (
    "DeploymentsTable", "DeployQueue", "DeployDeadLetterQueue", "DeployQueuePolicy", "ModelBucket")

ClientFactory = Callable[[str], Any]


def provision(clients: ClientFactory | Mapping[str, Any] | Any, bucket: str, functions: Mapping[str, str], *,
              template: Template | str | Path | None = None, prefix: str = "lepton-local") -> dict[str, Any]:
    """Create table, queues, queue policy and bucket notification; return the deployer's env.

    ``clients``: a function service -> boto3 client, a boto3 Session, or {service: client}.
    ``functions``: model name -> physical function name (the deployer's LEPTON_FUNCTIONS).
    The result's ``_names`` entry maps template logical ids (and ``<id>.Arn``) to what was
    created, for resolving the template's !Ref / !GetAtt; every other entry is an env var.
    """
    client = _factory(clients)
    doc = _template(template)
    resources = doc.resources

    table = f"{prefix}-deployments"
    table_arn = _create_table(client("dynamodb"), table, resources[TABLE]["Properties"])

    sqs = client("sqs")
    dlq_url, dlq_arn = _create_queue(sqs, f"{prefix}-deploy-dlq", resources[DLQ].get("Properties", {}))
    queue_props = resources[QUEUE].get("Properties", {})
    redrive = queue_props.get("RedrivePolicy")
    redrive_attr = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(redrive["maxReceiveCount"])} if redrive else None
    queue_url, queue_arn = _create_queue(sqs, f"{prefix}-deploy", queue_props, redrive_attr)

    account = queue_arn.split(":")[4]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    policy = _resolve(resources[QUEUE_POLICY]["Properties"]["PolicyDocument"],
                      {QUEUE: queue_url, f"{QUEUE}.Arn": queue_arn, "AWS::AccountId": account}, bucket_arn)
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})

    s3 = client("s3")
    _ensure_bucket(s3, bucket)
    notification = resources[BUCKET]["Properties"]["NotificationConfiguration"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [_queue_configuration(q, queue_arn) for q in notification["QueueConfigurations"]]})

    region = queue_arn.split(":")[3]
    function_ids = {lid: functions[spec.model_name] for lid, spec in doc.functions().items()
                    if spec.model_name in functions}
    captures = provision_captures(client, doc, function_ids, prefix, account, region)

    return {
        "LEPTON_DEPLOYMENTS_TABLE": table,
        "LEPTON_DEPLOY_QUEUE_URL": queue_url,
        "LEPTON_FUNCTIONS": json.dumps(dict(functions), sort_keys=True),
        "_names": {TABLE: table, f"{TABLE}.Arn": table_arn, QUEUE: f"{prefix}-deploy", f"{QUEUE}.Arn": queue_arn,
                   DLQ: f"{prefix}-deploy-dlq", f"{DLQ}.Arn": dlq_arn, "DeployQueueUrl": queue_url,
                   "DeployDeadLetterQueueUrl": dlq_url,
                   "AWS::StackId": stack_id(region, account, prefix), **captures},
    }


def stack_id(region: str, account: str, prefix: str) -> str:
    """What CloudFormation's AWS::StackId would be for a stack named ``prefix``: the template cuts
    stack-unique names out of it (the model layers' prefix)."""
    return f"arn:aws:cloudformation:{region}:{account}:stack/{prefix}/{uuid.uuid5(uuid.NAMESPACE_URL, prefix)}"


# -- pieces --------------------------------------------------------------------------------------
def _create_table(dynamodb: Any, name: str, props: dict[str, Any]) -> str:
    spec: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        spec["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in props["GlobalSecondaryIndexes"]]
    if props.get("SSESpecification", {}).get("SSEEnabled"):
        spec["SSESpecification"] = {"Enabled": True}
    try:
        arn = dynamodb.create_table(**spec)["TableDescription"]["TableArn"]
    except dynamodb.exceptions.ResourceInUseException:
        return dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": True})
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True})
    return arn


def _create_queue(sqs: Any, name: str, props: dict[str, Any], redrive: dict[str, Any] | None = None) -> tuple[str, str]:
    attributes = {key: str(props[key]) for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
                                                    "ReceiveMessageWaitTimeSeconds") if key in props}
    if props.get("SqsManagedSseEnabled"):
        attributes["SqsManagedSseEnabled"] = "true"
    if redrive:
        attributes["RedrivePolicy"] = json.dumps(redrive)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _queue_configuration(config: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    out: dict[str, Any] = {"QueueArn": queue_arn, "Events": [config["Event"]]}
    if rules:
        out["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
    return out


def _ensure_bucket(s3: Any, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _resolve(value: Any, names: dict[str, str], bucket_arn: str) -> Any:
    """The queue policy's intrinsics: !Ref / !GetAtt by name; the bucket's built ARN becomes ours."""
    if isinstance(value, list):
        return [_resolve(v, names, bucket_arn) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return names.get(value["Ref"], value["Ref"])
    if "Fn::GetAtt" in value:
        attr = value["Fn::GetAtt"]
        return names.get(".".join(attr) if isinstance(attr, list) else attr)
    if "Fn::Sub" in value:
        text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
        return bucket_arn if text.startswith("arn:${AWS::Partition}:s3:::") else text
    return {k: _resolve(v, names, bucket_arn) for k, v in value.items()}


def _template(template: Template | str | Path | None) -> Template:
    if isinstance(template, Template):
        return template
    path = Path(template) if template else ROOT / "template.yaml"
    return _parsed(str(path.resolve()), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _parsed(path: str, mtime_ns: int) -> Template:
    return Template(path)


def _factory(clients: ClientFactory | Mapping[str, Any] | Any) -> ClientFactory:
    if isinstance(clients, Mapping):
        made = dict(clients)

        def client(service: str) -> Any:
            if service not in made:  # a service the caller did not make (logs, firehose): the same region's
                import boto3

                region = next(iter(made.values())).meta.region_name if made else None
                made[service] = boto3.client(service, region_name=region)
            return made[service]

        return client
    if callable(clients):
        return clients
    return clients.client  # a boto3 Session
