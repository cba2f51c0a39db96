"""The control API over moto, with records the real deployer made.

Two model functions are created as `sam deploy` creates them (template environment, version 1,
the `live` alias); the deployer and the control API get their environments from template.yaml
with the names provision() made. Versions reach them the real way: an upload to the bucket,
the S3 notification in SQS, the deployer handler.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from lepton.local.deploy_setup import provision
from lepton.local.provisioning import placeholder_zip
from lepton.local.stack_settings import LOCAL_PARAMETERS
from lepton.local.worker import DeployWorker
from in_process import local_lambda
from lepton_deploy.registry import Registry
from lepton_serving import clients
from lepton_serving.table import DeploymentsTable
from moto import mock_aws
from control_names import BUCKET, FUNCTIONS, LOGICAL
from onnx_models import manifest_for, mlp_model
from template_env import template_environment

ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
               '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


@dataclass
class World:
    s3: Any
    sqs: Any
    lam: Any
    queue_url: str
    control_env: dict[str, str]
    registry: Registry
    models: dict[int, bytes] = field(default_factory=dict)

    def upload(self, version: int, seed: int | None = None, manifest: bool = True) -> bytes:
        """Model first, manifest last, as a trainer would; returns the model bytes."""
        data = mlp_model(seed if seed is not None else version).SerializeToString()
        described = manifest_for(data, "tabular", version)
        self.s3.put_object(Bucket=BUCKET, Key=described.model_key, Body=data)
        if manifest:
            self.s3.put_object(Bucket=BUCKET, Key=described.manifest_key, Body=described.to_json().encode())
        self.models[version] = data
        return data

    def deploy(self) -> None:
        """Let the real deployer handle what the notifications queued."""
        from deployer.handler import lambda_handler

        DeployWorker(self.queue_url, lambda_handler, self.sqs, poll_seconds=0, retry_delay_seconds=0).run_once()

    def publish(self, version: int, seed: int | None = None) -> bytes:
        data = self.upload(version, seed)
        self.deploy()
        return data

    def alias(self, model: str = "tabular") -> dict[str, Any]:
        return self.lam.get_alias(FunctionName=FUNCTIONS[model], Name="live")

    def served_version(self, model: str = "tabular") -> str:
        """LEPTON_MODEL_VERSION of the function version the alias names: what requests get."""
        config = self.lam.get_function_configuration(FunctionName=FUNCTIONS[model],
                                                     Qualifier=self.alias(model)["FunctionVersion"])
        return (config.get("Environment") or {}).get("Variables", {}).get("LEPTON_MODEL_VERSION", "")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    with mock_aws():
        clients.reset()
        made = {s: boto3.client(s, region_name="us-east-1")
                for s in ("s3", "sqs", "lambda", "dynamodb", "iam", "logs", "firehose")}
        made["s3"].create_bucket(Bucket=BUCKET)
        made["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        env = provision(made, BUCKET, FUNCTIONS, prefix="lepton-test")
        names = {**env.pop("_names"), "ModelBucket": BUCKET, **{LOGICAL[m]: f for m, f in FUNCTIONS.items()}}
        role = made["iam"].create_role(RoleName="lepton-test", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        for model, function in FUNCTIONS.items():
            made["lambda"].create_function(
                FunctionName=function, Runtime="python3.12", Role=role, Handler=f"{model}.handler.lambda_handler",
                Code={"ZipFile": placeholder_zip()}, MemorySize=1024, Timeout=15,
                Environment={"Variables": template_environment(LOGICAL[model], names)})
            version = made["lambda"].publish_version(FunctionName=function)["Version"]
            made["lambda"].create_alias(FunctionName=function, Name="live", FunctionVersion=version)
        # The deployer's and the control API's environments as deployed; LEPTON_FUNCTIONS names
        # only the functions this account has.
        control_env = {**template_environment("ControlFunction", names), **env}
        deployer_env = template_environment("DeployerFunction", names, parameters=LOCAL_PARAMETERS)  # as `lepton up`
        for key, value in {**deployer_env, **env, **control_env}.items():
            monkeypatch.setenv(key, value)
        from deployer import handler as deployer_handler

        # The deployer's calls of published versions run them in-process, as the local stack does.
        api = local_lambda(made["lambda"], names, {LOGICAL[m]: f for m, f in FUNCTIONS.items()},
                           tmp_path / "cache", made["s3"])
        monkeypatch.setattr(deployer_handler.lambda_handler, "lambda_api", api)
        yield World(made["s3"], made["sqs"], made["lambda"], env["LEPTON_DEPLOY_QUEUE_URL"], control_env,
                    Registry(DeploymentsTable(made["dynamodb"], env["LEPTON_DEPLOYMENTS_TABLE"])))
        clients.reset()


@pytest.fixture
def api(world: World) -> Any:
    """FastAPI's TestClient on the app the Lambda handler serves, configured from the environment."""
    from control.app import create_app
    from fastapi.testclient import TestClient

    return TestClient(create_app(), raise_server_exceptions=False)
