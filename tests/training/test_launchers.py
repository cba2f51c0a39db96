"""SageMaker and Batch launchers against moto: the requests moto recorded, and the publish step."""
from __future__ import annotations

import json

import boto3
import pytest
from lepton_serving.manifest import Manifest, manifest_key, model_key
from moto import mock_aws

from lepton_training import FAMILY_NAMES, batch, sagemaker

BUCKET = "lepton-models-test"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lepton-training:latest"


@pytest.fixture
def aws(aws_env):
    with mock_aws(config={"batch": {"use_docker": False}}):
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        role = boto3.client("iam").create_role(RoleName="lepton-training", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        yield {"s3": s3, "role": role}


def test_sagemaker_entry_point_trains_from_string_hyperparameters(sagemaker_model_dir) -> None:
    names = sorted(p.name for p in sagemaker_model_dir.iterdir())
    assert {"model.onnx", "manifest.json", "metrics.json", "report.md", "learning_curves.png"} <= set(names)
    metrics = json.loads((sagemaker_model_dir / "metrics.json").read_text())
    hp = metrics["hyperparameters"]
    assert hp["epochs"] == 2 and hp["learning_rate"] == 0.02 and hp["quick"] is True  # coerced from strings
    assert len(metrics["history"]["loss"]) == 2
    assert Manifest.from_json((sagemaker_model_dir / "manifest.json").read_text()).family == "tabular"


def test_sagemaker_launcher_creates_the_job_and_publishes_its_model(aws, model_tarball) -> None:
    sm = boto3.client("sagemaker")
    name = sagemaker.start_training_job(
        "tabular", sagemaker=sm, job_name="lepton-tabular-test",
        image_uri=IMAGE, role_arn=aws["role"], output_s3_uri=f"s3://{BUCKET}/training-output/",
        instance_type="ml.c5.xlarge", instance_count=2, hyperparameters={"epochs": 40, "search": True},
    )
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["AlgorithmSpecification"]["ContainerEntrypoint"] == ["python", "-m", "lepton_training.sagemaker_entry"]
    assert job["RoleArn"] == aws["role"]
    assert job["HyperParameters"] == {"family": "tabular", "epochs": "40", "search": "true"}
    assert job["ResourceConfig"]["InstanceType"] == "ml.c5.xlarge" and job["ResourceConfig"]["InstanceCount"] == 2
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/training-output"
    # moto completes at once and writes nothing: put the real archive where the job's output goes.
    artifact_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact_uri == f"s3://{BUCKET}/training-output/{name}/output/model.tar.gz"
    bucket, key = sagemaker.split_s3_uri(artifact_uri)
    aws["s3"].upload_file(str(model_tarball), bucket, key)

    manifest = sagemaker.finish_training_job(name, BUCKET, sagemaker=sm, s3=aws["s3"], poll_seconds=0)
    assert (manifest.name, manifest.version) == ("tabular", 1)
    stored = Manifest.from_json(aws["s3"].get_object(Bucket=BUCKET, Key=manifest_key("tabular", 1))["Body"].read())
    assert stored == manifest
    body = aws["s3"].get_object(Bucket=BUCKET, Key=model_key("tabular", 1))["Body"].read()
    assert len(body) == manifest.size


def test_sagemaker_launcher_reports_a_missing_artifact(aws) -> None:
    sm = boto3.client("sagemaker")
    name = sagemaker.start_training_job("digits", sagemaker=sm, image_uri=IMAGE, role_arn=aws["role"],
                                        output_s3_uri=f"s3://{BUCKET}/out")
    assert name.startswith("lepton-digits-")
    with pytest.raises(Exception, match="404|Not Found|NoSuchKey"):
        sagemaker.finish_training_job(name, BUCKET, sagemaker=sm, s3=aws["s3"], poll_seconds=0)
    assert aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="models/").get("KeyCount", 0) == 0


def test_sagemaker_data_channel_is_optional() -> None:
    request = sagemaker.training_job_request(
        "sentiment", job_name="j", image_uri=IMAGE, role_arn="arn:aws:iam::1:role/r",
        output_s3_uri="s3://b/o", data_s3_uri="s3://b/data/sentiment/",
    )
    (channel,) = request["InputDataConfig"]
    assert channel["ChannelName"] == "training"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://b/data/sentiment/"
    assert "InputDataConfig" not in sagemaker.training_job_request(
        "tabular", job_name="j", image_uri=IMAGE, role_arn="r", output_s3_uri="s3://b/o")


def test_batch_launcher_submits_one_job_per_family(aws) -> None:
    ec2, client = boto3.client("ec2"), boto3.client("batch")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="lepton", Description="training", VpcId=vpc)["GroupId"]
    env = client.create_compute_environment(
        computeEnvironmentName="lepton-training", type="MANAGED", state="ENABLED", serviceRole=aws["role"],
        computeResources={"type": "FARGATE", "maxvCpus": 8, "subnets": [subnet], "securityGroupIds": [group]},
    )
    queue = client.create_job_queue(jobQueueName="lepton-training", state="ENABLED", priority=1,
                                    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}])
    definition = client.register_job_definition(
        jobDefinitionName="lepton-training", type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": IMAGE, "command": ["all"], "jobRoleArn": aws["role"], "executionRoleArn": aws["role"],
                             "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "8192"}]},
    )
    jobs = batch.submit_training_jobs(
        FAMILY_NAMES, job_queue=queue["jobQueueArn"], job_definition=definition["jobDefinitionArn"],
        bucket=BUCKET, batch=client, train_args=["--quantize"],
    )
    assert list(jobs) == list(FAMILY_NAMES) and len(set(jobs.values())) == len(FAMILY_NAMES)
    described = {j["jobId"]: j for j in client.describe_jobs(jobs=list(jobs.values()))["jobs"]}
    for family, job_id in jobs.items():
        job = described[job_id]
        assert job["jobName"].startswith(f"lepton-train-{family}-")
        assert job["jobQueue"] == queue["jobQueueArn"]
        assert job["jobDefinition"] == definition["jobDefinitionArn"]
        assert job["container"]["command"] == [family, "--bucket", BUCKET, "--quantize"]
        env_vars = {e["name"]: e["value"] for e in job["container"]["environment"]}
        assert env_vars["LEPTON_MODEL_BUCKET"] == BUCKET and env_vars["LEPTON_FAMILY"] == family
    finished = batch.wait_for_jobs(jobs.values(), client, poll_seconds=0.2, timeout_seconds=60)
    assert {j["status"] for j in finished.values()} == {"SUCCEEDED"}

