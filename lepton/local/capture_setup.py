"""Create the capture path in moto exactly as template.yaml declares it.

The capture bucket (with its lifecycle rule), the two roles, and for each model function its
log group, its Firehose delivery stream and the subscription filter between them, all from the
template's own properties. moto then runs that path for real: events put into a function's log
group go to the stream (gzip'ed CloudWatch Logs envelopes, as in AWS), and the stream writes
them to the bucket under its prefix and Firehose's YYYY/MM/DD/HH/. What moto does not do: apply
the filter pattern (every event put reaches the stream; the local delivery, log_delivery.py,
puts only capture records), buffer (each put is one object at once) and expire objects.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .template import Template

BUCKET, DELIVERY_ROLE, LOGS_ROLE = "CaptureBucket", "CaptureDeliveryRole", "CaptureLogsRole"
FILTER_TYPE, STREAM_TYPE = "AWS::Logs::SubscriptionFilter", "AWS::KinesisFirehose::DeliveryStream"


def capture_bucket_name(prefix: str) -> str:
    return f"{prefix}-captures"


def provision_captures(client: Callable[[str], Any], template: Template, functions: Mapping[str, str], prefix: str,
                       account: str, region: str) -> dict[str, str]:
    """Bucket, roles and each function's log group, stream and filter (what exists is kept).
    ``functions``: template logical id -> physical function name, for the functions to wire.
    Returns the names made, by logical id (and ``<id>.Arn``), for resolving the template."""
    resources = template.resources
    if BUCKET not in resources:
        return {}
    s3, iam = client("s3"), client("iam")
    bucket = capture_bucket_name(prefix)
    _ensure_bucket(s3, bucket, template.evaluate(resources[BUCKET].get("Properties", {})))
    names = {BUCKET: bucket, f"{BUCKET}.Arn": f"arn:aws:s3:::{bucket}"}
    for role in (DELIVERY_ROLE, LOGS_ROLE):
        names[f"{role}.Arn"] = _ensure_role(iam, f"{prefix}-{role}", resources[role]["Properties"], account, region)
    for filter_id, wired in _filters(template).items():
        function_id, stream_id = wired
        if function_id not in functions:
            continue
        names.update(provision_function_captures(client, template, functions[function_id], filter_id, stream_id,
                                                 prefix, names))
    return names


def provision_function_captures(client: Callable[[str], Any], template: Template, function_name: str,
                                filter_id: str, stream_id: str, prefix: str, names: Mapping[str, str]
                                ) -> dict[str, str]:
    """One model function's log group, delivery stream and subscription filter."""
    firehose, logs = client("firehose"), client("logs")
    props = template.evaluate(template.resources[stream_id]["Properties"])
    destination = props["ExtendedS3DestinationConfiguration"]
    stream_name = f"{prefix}-{stream_id}"[:64]
    config = {"RoleARN": names[f"{DELIVERY_ROLE}.Arn"], "BucketARN": names[f"{BUCKET}.Arn"],
              **{k: v for k, v in destination.items() if k in ("Prefix", "ErrorOutputPrefix", "CompressionFormat",
                                                              "BufferingHints")}}
    try:
        stream_arn = firehose.describe_delivery_stream(DeliveryStreamName=stream_name)[
            "DeliveryStreamDescription"]["DeliveryStreamARN"]
    except firehose.exceptions.ResourceNotFoundException:
        stream_arn = firehose.create_delivery_stream(
            DeliveryStreamName=stream_name, DeliveryStreamType=props.get("DeliveryStreamType", "DirectPut"),
            ExtendedS3DestinationConfiguration=config)["DeliveryStreamARN"]
    group = f"/aws/lambda/{function_name}"
    if not logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups"):
        logs.create_log_group(logGroupName=group)
        retention = _log_retention(template, filter_id)
        if retention:
            logs.put_retention_policy(logGroupName=group, retentionInDays=retention)
    filter_props = template.resources[filter_id]["Properties"]
    logs.put_subscription_filter(logGroupName=group, filterName=filter_id, filterPattern=filter_props["FilterPattern"],
                                 destinationArn=stream_arn, roleArn=names[f"{LOGS_ROLE}.Arn"])
    return {stream_id: stream_name, f"{stream_id}.Arn": stream_arn}


def _filters(template: Template) -> dict[str, tuple[str, str]]:
    """Each subscription filter's logical id -> (its log group's function, its stream)."""
    found = {}
    for filter_id, resource in template.of_type(FILTER_TYPE).items():
        props = resource["Properties"]
        group_id = props["LogGroupName"].get("Ref", "")
        stream_id = props["DestinationArn"]["Fn::GetAtt"][0]
        group_name = (template.resources.get(group_id, {}).get("Properties") or {}).get("LogGroupName", {})
        text = group_name.get("Fn::Sub", "") if isinstance(group_name, dict) else ""
        if text.startswith("/aws/lambda/${") and template.resources.get(stream_id, {}).get("Type") == STREAM_TYPE:
            found[filter_id] = (text.removeprefix("/aws/lambda/${").removesuffix("}"), stream_id)
    return found


def _log_retention(template: Template, filter_id: str) -> int:
    group_id = template.resources[filter_id]["Properties"]["LogGroupName"]["Ref"]
    days = template.evaluate(template.resources[group_id]["Properties"]).get("RetentionInDays")
    return int(days) if days else 0


def _ensure_bucket(s3: Any, bucket: str, props: dict[str, Any]) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError:
        s3.create_bucket(Bucket=bucket)
    rules = (props.get("LifecycleConfiguration") or {}).get("Rules") or []
    if rules:  # kept, as S3 keeps it; moto never runs it
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": r["Id"], "Status": r["Status"], "Filter": {"Prefix": r.get("Prefix", "")},
             "Expiration": {"Days": int(r["ExpirationInDays"])}} for r in rules if "ExpirationInDays" in r]})


def _ensure_role(iam: Any, name: str, props: dict[str, Any], account: str, region: str) -> str:
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = _substitute(props["AssumeRolePolicyDocument"], account, region)
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _substitute(value: Any, account: str, region: str) -> Any:
    """A trust policy's pseudo parameters (the only intrinsics it has) as CloudFormation fills them in."""
    if isinstance(value, list):
        return [_substitute(v, account, region) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}.get(value["Ref"], "")
    if "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for key, val in {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}.items():
            text = text.replace("${" + key + "}", val)
        return text
    return {k: _substitute(v, account, region) for k, v in value.items()}
