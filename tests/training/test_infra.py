"""The nested training stack and the training image definition."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TRAINING = Path(__file__).resolve().parents[2] / "training"


class CfnLoader(yaml.SafeLoader):
    pass


for tag in ("!Ref", "!Sub", "!GetAtt", "!Join", "!If", "!Equals", "!Select", "!Split"):
    CfnLoader.add_constructor(tag, lambda loader, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node))


def template() -> dict:
    return yaml.load((TRAINING / "template.yaml").read_text(), Loader=CfnLoader)


def test_nested_stack_declares_batch_fargate_and_its_interface() -> None:
    doc = template()
    assert set(doc["Parameters"]) >= {"ModelBucketName", "ImageUri", "SubnetIds", "SecurityGroupIds"}
    assert set(doc["Outputs"]) >= {"JobQueueArn", "JobDefinitionArn", "SageMakerRoleArn", "TrainingOutputS3Uri"}
    types = {name: res["Type"] for name, res in doc["Resources"].items()}
    assert sorted(t for t in types.values() if t.startswith("AWS::Batch::")) == [
        "AWS::Batch::ComputeEnvironment", "AWS::Batch::JobDefinition", "AWS::Batch::JobQueue"]
    compute = doc["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]
    assert compute["Type"] == "FARGATE"
    job = doc["Resources"]["JobDefinition"]["Properties"]
    assert job["PlatformCapabilities"] == ["FARGATE"] and job["ContainerProperties"]["Image"] == "ImageUri"
    env = {e["Name"]: e["Value"] for e in job["ContainerProperties"]["Environment"]}
    assert env["LEPTON_MODEL_BUCKET"] == "ModelBucketName"


@pytest.mark.skipif(shutil.which("cfn-lint") is None and not (Path(sys.executable).parent / "cfn-lint").exists(),
                    reason="cfn-lint not installed")
def test_nested_stack_passes_cfn_lint() -> None:
    exe = shutil.which("cfn-lint") or str(Path(sys.executable).parent / "cfn-lint")
    result = subprocess.run([exe, str(TRAINING / "template.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_the_training_cli_with_publish() -> None:
    text = (TRAINING / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "FROM python:3.12-slim"
    entry = next(line for line in lines if line.startswith("ENTRYPOINT"))
    assert '"-m", "lepton_training", "train", "--publish"' in entry
    repo = TRAINING.parent
    for line in lines:
        if line.startswith("COPY"):
            source = line.split()[1]
            assert (repo / source).exists(), source
    pins = (TRAINING / "requirements.txt").read_text()
    assert "tensorflow-cpu==2.21.0" in pins and "onnxruntime==1.32.0" in pins
