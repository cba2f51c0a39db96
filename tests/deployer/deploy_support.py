"""The redeploy path in moto, as template.yaml declares it, and models that must be refused.

`DeployStack` holds one test's boto3 clients (created once) and the names provision() made.
Good models come from tests/onnx_models.py; the bad ones here are built the same real way.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
import onnx
import pytest
from deployer.config import DeployerConfig
from deployer import handler as deployer_handler
from deployer.pipeline import Deployer, Services
from eventfiles import load_event
from in_process import local_lambda
from lepton.local.context import LambdaContext
from lepton.local.deploy_setup import provision
from lepton.local.layer_mounts import LayerMounts
from lepton.local.provisioning import placeholder_zip
from lepton.local.stack_settings import LOCAL_PARAMETERS
from lepton.local.worker import DeployWorker
from lepton_deploy.functions import LambdaFunctions
from lepton_deploy.registry import Registry
from lepton_deploy.rollout import Rollout
from lepton_serving import clients
from lepton_serving.manifest import Manifest
from lepton_serving.table import DeploymentsTable
from moto import mock_aws
import numpy as np
from onnx import helper, numpy_helper
from onnx_models import manifest_for, mlp_model
from template_env import template_environment

BUCKET = "lepton-models-test"
FUNCTION = "lepton-test-tabular"
ROWS = [[0.5, -1.0, 0.2], [1.5, 0.3, -0.7]]


@dataclass
class DeployStack:
    s3: Any
    sqs: Any
    lam: Any
    dynamodb: Any
    cloudwatch: Any
    queue_url: str
    dlq_url: str
    table: str
    deployer_env: dict[str, str]
    function_env: dict[str, str]
    cache_dir: Path
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def registry(self) -> Registry:
        """The deployments table as the deployer reads it."""
        return Registry(DeploymentsTable(self.dynamodb, self.table))

    def deployer(self, wait: Any = None) -> Deployer:
        """The deployer's pipeline, configured from the environment as its handler configures it."""
        config = DeployerConfig.from_env(os.environ)
        services = Services(self.s3, self.lam, self.dynamodb, self.sqs, self.cloudwatch)
        deployer = Deployer(config, services, lambda_api=deployer_handler.lambda_handler.lambda_api)
        if wait is not None:
            deployer.rollout = Rollout(deployer.registry, deployer.functions, wait=wait, layers=deployer.layers)
        return deployer

    @property
    def rollout(self) -> Rollout:
        """Alias moves as the CLI and the control API make them."""
        return Rollout(self.registry, LambdaFunctions(self.lam))

    # -- uploads --------------------------------------------------------------------------------
    def upload(self, model_bytes: bytes, manifest: Manifest) -> None:
        """Model first, manifest last: the manifest's arrival is what triggers a deployment."""
        self.s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=model_bytes)
        self.s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())

    def worker(self, handler: Any) -> DeployWorker:
        return DeployWorker(self.queue_url, handler, self.sqs, poll_seconds=0, retry_delay_seconds=0)

    def receive(self, expected: int = 1) -> list[dict[str, Any]]:
        """Peek at the S3 notifications in the queue (s3:TestEvent skipped): they stay there."""
        found: list[dict[str, Any]] = []
        for _ in range(5):
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                             AttributeNames=["All"]).get("Messages", [])
            for message in batch:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            found += [m for m in batch if "s3:TestEvent" not in m["Body"]]
            if len(found) >= expected:
                break
        return found

    # -- the model function -----------------------------------------------------------------------
    def alias(self) -> dict[str, Any]:
        return self.lam.get_alias(FunctionName=FUNCTION, Name="live")

    def env_of(self, qualifier: str) -> dict[str, str]:
        config = self.lam.get_function_configuration(FunctionName=FUNCTION, Qualifier=qualifier)
        return dict((config.get("Environment") or {}).get("Variables") or {})

    def live_env(self) -> dict[str, str]:
        return self.env_of(self.alias()["FunctionVersion"])

    def versions(self) -> list[str]:
        return [v["Version"] for v in self.lam.list_versions_by_function(FunctionName=FUNCTION)["Versions"]]

    def layers_of(self, qualifier: str) -> list[str]:
        config = self.lam.get_function_configuration(FunctionName=FUNCTION, Qualifier=qualifier)
        return [layer["Arn"] for layer in config.get("Layers") or []]

    @property
    def model_layer(self) -> str:
        """The tabular model's layer: <the deployer's LEPTON_MODEL_LAYER_PREFIX>-tabular."""
        return f"{self.deployer_env['LEPTON_MODEL_LAYER_PREFIX']}-tabular"

    def model_layer_versions(self) -> list[int]:
        """The versions the model's layer has (deleted ones are not listed), oldest first."""
        found = self.lam.list_layer_versions(LayerName=self.model_layer)["LayerVersions"]
        return sorted(v["Version"] for v in found)

    def cold_handler(self, qualifier: str) -> Any:
        """A fresh tabular handler configured as one published version, its layers mounted the
        way the local stack mounts them (each layer version extracted once, shared with the
        deployer's pre-traffic calls)."""
        from tabular.handler import lambda_handler

        mounts = LayerMounts(LambdaFunctions(self.lam), self.s3, self.cache_dir.parent / "layers")
        return lambda_handler.with_environment({
            **self.env_of(qualifier), **mounts.environment(FUNCTION, qualifier),
            "LEPTON_CACHE_DIR": str(self.cache_dir), "AWS_LAMBDA_FUNCTION_VERSION": qualifier})

    def infer(self, env: dict[str, str], rows: list[list[float]] = ROWS) -> tuple[int, dict[str, Any]]:
        """A V2 infer request through the tabular handler configured as that function version."""
        from tabular.handler import lambda_handler

        return self.ask(lambda_handler.with_environment({**env, "LEPTON_CACHE_DIR": str(self.cache_dir)}), rows)

    def ask(self, handler: Any, rows: list[list[float]] = ROWS) -> tuple[int, dict[str, Any]]:
        """A V2 infer request through ``handler``."""
        event = load_event("tabular/infer.json")
        event["body"] = json.dumps({"inputs": [{"name": "features", "shape": [len(rows), 3], "datatype": "FP32",
                                                "data": rows}]})
        response = handler(event, LambdaContext(FUNCTION, 1024, 15))
        return response["statusCode"], json.loads(response["body"])

    def traffic(self, function_version: str, batches: list[list[list[float]]], path: str = "") -> list[int]:
        """Real requests to one published version through its handler, as users' traffic reaches
        it; the EMF lines the handler prints go to CloudWatch (moto) as they do in Lambda.
        ``path``: another route of the version (a readiness probe: GET, no body)."""
        from tabular.handler import lambda_handler

        env = {**self.env_of(function_version), "LEPTON_CACHE_DIR": str(self.cache_dir),
               "AWS_LAMBDA_FUNCTION_VERSION": function_version}
        handler = lambda_handler.with_environment(env)
        statuses = []
        with emf_to_cloudwatch(self.cloudwatch):
            for rows in batches:
                event = load_event("tabular/infer.json")
                event["body"] = json.dumps({"inputs": [{"name": "features", "shape": [len(rows), 3],
                                                        "datatype": "FP32", "data": rows}]})
                if path:
                    event["rawPath"] = event["requestContext"]["http"]["path"] = path
                    event["requestContext"]["http"]["method"] = "GET"
                    event["body"] = None
                statuses.append(handler(event, LambdaContext(FUNCTION, 1024, 15, function_version))["statusCode"])
        return statuses

    def sam_deploy(self) -> str:
        """What a later `sam deploy` does: template env and layers on $LATEST, a new version, the alias on it."""
        self.lam.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": self.function_env},
                                               Layers=[], Description="sam deploy")
        version = self.lam.publish_version(FunctionName=FUNCTION)["Version"]
        self.lam.update_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=version,
                              RoutingConfig={"AdditionalVersionWeights": {}})
        return version


@contextmanager
def emf_to_cloudwatch(cloudwatch: Any) -> Iterator[None]:
    """What Lambda does with a function's stdout: its EMF lines become CloudWatch metrics (moto)."""
    from lepton.local.emf import EmfForwarder

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        yield
    forwarder = EmfForwarder(cloudwatch)
    for line in printed.getvalue().splitlines():
        forwarder.feed(line)
    forwarder.flush()


class MetricsForwardingLambda:
    """The deployer's Lambda API, with the invoked version's EMF lines forwarded to CloudWatch as
    in Lambda: the deployer's own calls reach the same metrics users' traffic does."""

    def __init__(self, api: Any, cloudwatch: Any):
        self.api = api
        self.cloudwatch = cloudwatch

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        with emf_to_cloudwatch(self.cloudwatch):
            return self.api.invoke(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)


ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
               '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


@contextmanager
def provisioned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: str = "tabular",
                function: str = FUNCTION, fresh_processes: bool = False) -> Iterator[DeployStack]:
    """moto with the redeploy path and one model function (``model``'s, from template.yaml).
    ``fresh_processes``: cold starts measured in processes of their own (tests/in_process.py)."""
    logical_id = f"{model.capitalize()}Function"
    with mock_aws():
        clients.reset()
        made = {s: boto3.client(s, region_name="us-east-1")
                for s in ("s3", "sqs", "lambda", "dynamodb", "iam", "cloudwatch", "logs", "firehose")}
        made["s3"].create_bucket(Bucket=BUCKET)
        made["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        env = provision(made, BUCKET, {model: function}, prefix="lepton-test")
        names = {**env.pop("_names"), "ModelBucket": BUCKET, logical_id: function}

        function_env = template_environment(logical_id, names)
        role = made["iam"].create_role(RoleName="lepton-test", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        made["lambda"].create_function(FunctionName=function, Runtime="python3.12", Role=role,
                                       Handler=f"{model}.handler.lambda_handler", Code={"ZipFile": placeholder_zip()},
                                       Environment={"Variables": function_env}, MemorySize=1024, Timeout=15)
        version = made["lambda"].publish_version(FunctionName=function)["Version"]
        made["lambda"].create_alias(FunctionName=function, Name="live", FunctionVersion=version)

        # The template's deployer, with the parameters the local stack sets (every version promoted at once).
        deployer_env = {**template_environment("DeployerFunction", names, parameters=LOCAL_PARAMETERS), **env}
        for key, value in deployer_env.items():
            monkeypatch.setenv(key, value)
        # The deployer's calls of the published version run it in-process, as the local stack does,
        # its EMF lines forwarded to CloudWatch as in Lambda.
        api = local_lambda(made["lambda"], names, {logical_id: function}, tmp_path / "cache", made["s3"],
                           fresh_processes=fresh_processes)
        monkeypatch.setattr(deployer_handler.lambda_handler, "lambda_api",
                            MetricsForwardingLambda(api, made["cloudwatch"]))
        yield DeployStack(made["s3"], made["sqs"], made["lambda"], made["dynamodb"], made["cloudwatch"],
                          env["LEPTON_DEPLOY_QUEUE_URL"], names["DeployDeadLetterQueueUrl"],
                          env["LEPTON_DEPLOYMENTS_TABLE"], deployer_env, function_env, tmp_path / "cache")
        api.close()
        clients.reset()


def context() -> LambdaContext:
    return LambdaContext("lepton-test-deployer", 2048, 120)


# -- models ----------------------------------------------------------------------------------------
def good(version: int, seed: int | None = None, **fields: Any) -> tuple[bytes, Manifest]:
    """A valid version (weights from ``seed``, default the version); a fresh Manifest each call."""
    data, text = _good(version, version if seed is None else seed, json.dumps(fields, sort_keys=True))
    return data, Manifest.from_json(text)


@lru_cache(maxsize=32)
def _good(version: int, seed: int, fields: str) -> tuple[bytes, str]:
    # Golden outputs come from onnxruntime: computed once per model, not once per test.
    data = mlp_model(seed).SerializeToString()
    extra = json.loads(fields)
    rows = extra.pop("golden_rows", ROWS)
    return data, manifest_for(data, "tabular", version, golden_rows=rows, **extra).to_json()


def with_external_data(version: int) -> tuple[bytes, Manifest]:
    """The MLP saved with its weights in a side file: the .onnx alone cannot load."""
    model = mlp_model(version)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="weights.bin", size_threshold=0)
        data = path.read_bytes()
    _, manifest = good(version)
    return data, rehash(manifest, data)


def with_custom_domain(version: int) -> tuple[bytes, Manifest]:
    """The MLP followed by an operator from a vendor domain onnxruntime does not ship."""
    model = mlp_model(version)
    graph = model.graph
    out = graph.output[0].name
    graph.node[-1].output[0] = "softmax_out"
    graph.node.append(helper.make_node("Calibrate", ["softmax_out"], [out], domain="com.example.ops"))
    model.opset_import.append(helper.make_opsetid("com.example.ops", 1))
    data = model.SerializeToString()
    _, manifest = good(version)
    return data, rehash(manifest, data)


def with_renamed_input(version: int) -> tuple[bytes, Manifest]:
    data = mlp_model(version, input_name="x").SerializeToString()
    manifest = manifest_for(data, "tabular", version, golden_rows=ROWS)
    return data, manifest


def failing_checker(version: int) -> tuple[bytes, Manifest]:
    """Parses, standard domain, but a node the checker refuses (Relu with two inputs)."""
    model = mlp_model(version)
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.input.append("b1")
    data = model.SerializeToString()
    _, manifest = good(version)
    return data, rehash(manifest, data)


def fails_on_batches(version: int) -> tuple[bytes, Manifest]:
    """A model that works one row at a time (its golden example) and fails on two or more: a
    Reshape to one row before the MLP. The gate and the pre-traffic check pass it; traffic does not."""
    model = mlp_model(version)
    graph = model.graph
    first = graph.node[0]
    first.input[0] = "one_row"
    graph.initializer.append(numpy_helper.from_array(np.array([1, 3], np.int64), "one_row_shape"))
    graph.node.insert(0, helper.make_node("Reshape", ["features", "one_row_shape"], ["one_row"]))
    data = model.SerializeToString()
    return data, manifest_for(data, "tabular", version, golden_rows=ROWS[:1])


def corrupt(version: int) -> tuple[bytes, Manifest]:
    """Truncated bytes, honestly hashed: the file is what the uploader meant to publish."""
    data = mlp_model(version).SerializeToString()[:-37]
    _, manifest = good(version)
    return data, rehash(manifest, data)


def rehash(manifest: Manifest, data: bytes) -> Manifest:
    manifest.sha256 = hashlib.sha256(data).hexdigest()
    manifest.size = len(data)
    return manifest
