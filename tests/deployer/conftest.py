"""One moto account per test with the redeploy path built from template.yaml.

The model function is created as `sam deploy` creates it (the template's environment, a
published version 1, the `live` alias on it); the deployer's environment is the template's,
with the names provision() created.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from deploy_support import BUCKET, FUNCTION, DeployStack
from lepton.stack import placeholder_zip
from lepton.deploy_setup import provision, template_environment
from lepton_serving import clients
from moto import mock_aws

ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
               '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[DeployStack]:
    with mock_aws():
        clients.reset()
        made = {s: boto3.client(s, region_name="us-east-1")
                for s in ("s3", "sqs", "lambda", "dynamodb", "iam", "cloudwatch")}
        made["s3"].create_bucket(Bucket=BUCKET)
        made["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        env = provision(made, BUCKET, {"tabular": FUNCTION}, prefix="lepton-test")
        names = {**env.pop("_names"), "ModelBucket": BUCKET, "TabularFunction": FUNCTION}

        function_env = template_environment("TabularFunction", names)
        role = made["iam"].create_role(RoleName="lepton-test", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        made["lambda"].create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role,
                                       Handler="tabular.handler.lambda_handler", Code={"ZipFile": placeholder_zip()},
                                       Environment={"Variables": function_env}, MemorySize=1024, Timeout=15)
        version = made["lambda"].publish_version(FunctionName=FUNCTION)["Version"]
        made["lambda"].create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=version)

        deployer_env = {**template_environment("DeployerFunction", names), **env}
        for key, value in deployer_env.items():
            monkeypatch.setenv(key, value)
        yield DeployStack(made["s3"], made["sqs"], made["lambda"], made["dynamodb"], made["cloudwatch"],
                          env["LEPTON_DEPLOY_QUEUE_URL"], names["DeployDeadLetterQueueUrl"],
                          env["LEPTON_DEPLOYMENTS_TABLE"], deployer_env, function_env, tmp_path / "cache")
        clients.reset()
