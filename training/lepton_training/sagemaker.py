"""Run training as a SageMaker training job with plain boto3 (no sagemaker SDK), then publish.

The job runs the training image (training/Dockerfile) with ``lepton_training.sagemaker_entry``
as its entry point. When it completes, the model.tar.gz SageMaker wrote to
``ModelArtifacts.S3ModelArtifacts`` is downloaded, unpacked and published with publish.py.

    python -m lepton_training.sagemaker tabular --image-uri ... --role-arn ... \\
        --output-s3-uri s3://<bucket>/training-output --bucket <model bucket>
"""
from __future__ import annotations

import argparse
import json
import logging
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from . import FAMILY_NAMES
from .publish import make_s3_client, publish

log = logging.getLogger("lepton_training")
ENTRYPOINT = ["python", "-m", "lepton_training.sagemaker_entry"]
TERMINAL = {"Completed", "Failed", "Stopped"}


class TrainingJobError(RuntimeError):
    """The training job failed, stopped or produced no model artifact."""


def sagemaker_client(endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("sagemaker", endpoint_url=endpoint_url) if endpoint_url else boto3.client("sagemaker")


def job_name_for(family: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return f"lepton-{family}-{stamp}"[:63]


def hyperparameter_strings(family: str, hyperparameters: Mapping[str, Any] | None) -> dict[str, str]:
    """SageMaker only carries strings: JSON for non-strings so the entry point can coerce back."""
    values = {"family": family, **(hyperparameters or {})}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def training_job_request(
    family: str,
    *,
    job_name: str,
    image_uri: str,
    role_arn: str,
    output_s3_uri: str,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
    hyperparameters: Mapping[str, Any] | None = None,
    data_s3_uri: str | None = None,
    volume_size_gb: int = 10,
    max_runtime_seconds: int = 3600,
) -> dict[str, Any]:
    """The create_training_job arguments (also handy to inspect in tests and dry runs)."""
    if family not in FAMILY_NAMES:
        raise ValueError(f"unknown family '{family}'")
    request: dict[str, Any] = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": image_uri,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ENTRYPOINT,
        },
        "RoleArn": role_arn,
        "HyperParameters": hyperparameter_strings(family, hyperparameters),
        "OutputDataConfig": {"S3OutputPath": output_s3_uri.rstrip("/")},
        "ResourceConfig": {
            "InstanceType": instance_type,
            "InstanceCount": int(instance_count),
            "VolumeSizeInGB": int(volume_size_gb),
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": int(max_runtime_seconds)},
        "Environment": {"TF_CPP_MIN_LOG_LEVEL": "3", "LEPTON_FAMILY": family},
        "Tags": [{"Key": "lepton:family", "Value": family}],
    }
    if data_s3_uri:
        request["InputDataConfig"] = [{
            "ChannelName": "training",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data_s3_uri,
                                            "S3DataDistributionType": "FullyReplicated"}},
        }]
    return request


def start_training_job(family: str, *, sagemaker: Any = None, endpoint_url: str | None = None,
                       job_name: str | None = None, **request: Any) -> str:
    """Create the job; return its name. ``request`` takes training_job_request's keyword arguments."""
    client = sagemaker if sagemaker is not None else sagemaker_client(endpoint_url)
    name = job_name or job_name_for(family)
    client.create_training_job(**training_job_request(family, job_name=name, **request))
    log.info("started SageMaker training job %s (%s)", name, family)
    return name


def wait_for_training_job(job_name: str, sagemaker: Any, poll_seconds: float = 30.0,
                          timeout_seconds: float = 4 * 3600) -> dict[str, Any]:
    """Poll until the job ends; return its description, or raise TrainingJobError."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        job = sagemaker.describe_training_job(TrainingJobName=job_name)
        status = job["TrainingJobStatus"]
        if status in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise TrainingJobError(f"{job_name} still {status} after {timeout_seconds:.0f} s")
        log.info("%s: %s / %s", job_name, status, job.get("SecondaryStatus", ""))
        time.sleep(poll_seconds)
    if status != "Completed":
        raise TrainingJobError(f"{job_name} ended {status}: {job.get('FailureReason', 'no reason given')}")
    return job


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri}")
    return parsed.netloc, parsed.path.lstrip("/")


def download_model_artifact(s3_uri: str, dest: Path, s3: Any) -> Path:
    """Fetch and unpack model.tar.gz into ``dest``; return the directory holding manifest.json."""
    bucket, key = split_s3_uri(s3_uri)
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "model.tar.gz"
    s3.download_file(bucket, key, str(archive))
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(dest / "model", filter="data")  # 'data' refuses absolute paths and links out
    manifests = sorted((dest / "model").rglob("manifest.json"))
    if not manifests:
        raise TrainingJobError(f"{s3_uri} holds no manifest.json")
    return manifests[0].parent


def finish_training_job(job_name: str, bucket: str, *, sagemaker: Any = None, s3: Any = None,
                        endpoint_url: str | None = None, version: int | None = None,
                        poll_seconds: float = 30.0, work_dir: Path | None = None) -> Any:
    """Wait for the job, download its model.tar.gz and publish it; return the published Manifest."""
    client = sagemaker if sagemaker is not None else sagemaker_client(endpoint_url)
    s3 = s3 if s3 is not None else make_s3_client(endpoint_url)
    job = wait_for_training_job(job_name, client, poll_seconds)
    artifact = job.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if not artifact:
        raise TrainingJobError(f"{job_name} completed without ModelArtifacts")
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        artifact_dir = download_model_artifact(artifact, Path(tmp), s3)
        manifest = publish(artifact_dir, bucket, s3_client=s3, version=version)
    log.info("%s: published %s version %d", job_name, manifest.name, manifest.version)
    return manifest


def run_training_job(family: str, bucket: str, *, sagemaker: Any = None, s3: Any = None,
                     endpoint_url: str | None = None, poll_seconds: float = 30.0, **request: Any) -> Any:
    """start_training_job + finish_training_job."""
    client = sagemaker if sagemaker is not None else sagemaker_client(endpoint_url)
    name = start_training_job(family, sagemaker=client, **request)
    return finish_training_job(name, bucket, sagemaker=client, s3=s3, endpoint_url=endpoint_url, poll_seconds=poll_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lepton_training.sagemaker", description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=FAMILY_NAMES)
    parser.add_argument("--image-uri", required=True, help="the training image (training/Dockerfile) in ECR")
    parser.add_argument("--role-arn", required=True, help="SageMaker execution role (nested stack output SageMakerRoleArn)")
    parser.add_argument("--output-s3-uri", required=True, help="where SageMaker writes model.tar.gz")
    parser.add_argument("--bucket", required=True, help="model bucket to publish to")
    parser.add_argument("--instance-type", default="ml.m5.large")
    parser.add_argument("--instance-count", type=int, default=1)
    parser.add_argument("--data-s3-uri", default=None, help="optional 'training' channel (sentiment files)")
    parser.add_argument("--hyperparameters", type=Path, default=None, help="JSON file of hyperparameters")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    hyperparameters = json.loads(args.hyperparameters.read_text()) if args.hyperparameters else None
    manifest = run_training_job(
        args.family, args.bucket, endpoint_url=args.endpoint_url, poll_seconds=args.poll_seconds,
        image_uri=args.image_uri, role_arn=args.role_arn, output_s3_uri=args.output_s3_uri,
        instance_type=args.instance_type, instance_count=args.instance_count,
        hyperparameters=hyperparameters, data_s3_uri=args.data_s3_uri,
    )
    print(f"published s3://{args.bucket}/{manifest.manifest_key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
