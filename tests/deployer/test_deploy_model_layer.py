"""The model travels with the function version: a promotion publishes the validated bytes as a
layer of the function, the version pins code, configuration and model together, and layer
versions no function version uses are deleted. The layers are mounted the way the local stack
mounts them (lepton/local/layer_mounts.py) and served by the real tabular handler."""
from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from deploy_support import BUCKET, FUNCTION, good
from deployer.handler import lambda_handler as deployer
from lepton_deploy.errors import FunctionUpdateFailed
from lepton_deploy.functions import LambdaFunctions
from test_deploy_flow import deploy_through_queue, expected

ROLE_POLICY = '{"Version":"2012-10-17","Statement":[]}'


def promote(stack, version: int) -> dict:
    stack.upload(*good(version))
    result = deploy_through_queue(stack)
    assert result["failed"] == [], result
    return stack.registry.list_deployments("tabular", limit=1)[0]


def layer_zip_files(stack, arn: str) -> dict[str, bytes]:
    """What a layer version's zip holds, rebuilt by the test from the bucket it was published from:
    moto serves no layer bytes back, only their CodeSha256, which must match."""
    name, number = arn.split(":")[6], int(arn.split(":")[7])
    content = stack.lam.get_layer_version(LayerName=name, VersionNumber=number)["Content"]
    from lepton.local.layer_mounts import code_sha256
    from lepton_deploy.model_layer import ModelFiles, layer_zip

    env = stack.live_env()
    model = stack.s3.get_object(Bucket=BUCKET, Key=env["LEPTON_MODEL_KEY"])["Body"].read()
    manifest_key = env["LEPTON_MODEL_KEY"].rsplit("/", 1)[0] + "/manifest.json"
    manifest = stack.s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read()
    zipped = layer_zip(ModelFiles(model, manifest))
    assert code_sha256(zipped) == content["CodeSha256"], "the layer is not the bucket's validated bytes"
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_a_promoted_version_carries_its_model_layer_and_pins_the_version_in_its_environment(stack):
    data, manifest = good(1)
    attempt = promote(stack, 1)

    function_version = stack.alias()["FunctionVersion"]
    env = stack.env_of(function_version)
    # THEN the published version names the model layer, and its environment pins the same version
    (arn,) = stack.layers_of(function_version)
    assert arn.split(":")[6:] == [stack.model_layer, "1"]
    manifest_bytes = stack.s3.get_object(Bucket=BUCKET, Key=manifest.manifest_key)["Body"].read()
    assert (env["LEPTON_MODEL_KEY"], env["LEPTON_MODEL_VERSION"], env["LEPTON_MODEL_SHA256"],
            env["LEPTON_MANIFEST_SHA256"]) == ("models/tabular/1/model.onnx", "1", manifest.sha256,
                                               hashlib.sha256(manifest_bytes).hexdigest())
    # AND the layer holds exactly the validated model and manifest, under lepton-model/ (/opt/lepton-model)
    assert layer_zip_files(stack, arn) == {"lepton-model/model.onnx": data,
                                           "lepton-model/manifest.json": manifest_bytes}
    layer = stack.lam.get_layer_version(LayerName=stack.model_layer, VersionNumber=1)
    assert layer["Description"] == f"tabular v1 sha256 {manifest.sha256[:12]}"
    assert layer["CompatibleRuntimes"] == ["python3.12"] and layer["CompatibleArchitectures"] == ["x86_64"]
    # AND the attempt and the live pointer record where the model comes from
    assert (attempt.outcome, attempt.model_source) == ("promoted", "layer")
    assert "the model travels with the function version (model layer version 1)" in attempt.reason
    assert stack.registry.get_live("tabular").live.model_source == "layer"
    # AND a cold start of that version reads the mounted layer, not S3
    handler = stack.cold_handler(function_version)
    status, body = stack.ask(handler)
    assert status == 200 and body["model_version"] == "1"
    assert np.allclose(body["outputs"][0]["data"], expected(data), atol=1e-6)
    assert handler.plane.source == "layer" and handler.plane.store.downloads == 0


def test_the_function_keeps_its_other_layers_in_order_and_only_the_model_layer_is_replaced(stack):
    # GIVEN the function has two shared layers, as the template gives every model function
    shared = [stack.lam.publish_layer_version(LayerName=name, Content={"ZipFile": _zip(name)})["LayerVersionArn"]
              for name in ("OnnxRuntimeLayer", "ServingLayer")]
    stack.lam.update_function_configuration(FunctionName=FUNCTION, Layers=shared)
    # WHEN two versions are promoted
    promote(stack, 1)
    first = stack.alias()["FunctionVersion"]
    promote(stack, 2)
    second = stack.alias()["FunctionVersion"]
    # THEN each version has the shared layers first, unchanged, and its own model layer last
    model_layer = f"arn:aws:lambda:us-east-1:123456789012:layer:{stack.model_layer}"
    assert stack.layers_of(first) == [*shared, f"{model_layer}:1"]
    assert stack.layers_of(second) == [*shared, f"{model_layer}:2"]
    assert stack.layers_of("$LATEST") == [*shared, f"{model_layer}:2"]


def test_a_model_over_the_layer_budget_is_read_from_s3_and_the_attempt_says_so(stack, monkeypatch):
    promote(stack, 1)  # in a layer
    data, manifest = good(2)
    # GIVEN a layer budget smaller than version 2's model and manifest
    monkeypatch.setenv("LEPTON_MODEL_LAYER_MAX_BYTES", str(len(data)))
    attempt = promote(stack, 2)
    # THEN no layer was published for it, and its function version has no model layer at all:
    # version 1's layer would not match the new pins
    function_version = stack.alias()["FunctionVersion"]
    assert stack.layers_of(function_version) == []
    assert stack.model_layer_versions() == [1]
    assert (attempt.outcome, attempt.model_source) == ("promoted", "s3")
    assert "; cold starts read the model from S3: the model and its manifest are" in attempt.reason
    assert f"above the {len(data):,}-byte layer budget (LEPTON_MODEL_LAYER_MAX_BYTES)" in attempt.reason
    assert stack.registry.get_live("tabular").live.model_source == "s3"
    # AND a cold start of that version fetches version 2 from the bucket and serves it
    handler = stack.cold_handler(function_version)
    status, body = stack.ask(handler)
    assert status == 200 and body["model_version"] == "2"
    assert np.allclose(body["outputs"][0]["data"], expected(data), atol=1e-6)
    assert handler.plane.source == "s3"


def test_model_layers_off_keeps_every_version_on_s3(stack, monkeypatch):
    monkeypatch.setenv("LEPTON_MODEL_LAYER_MAX_BYTES", "0")
    attempt = promote(stack, 1)
    assert attempt.model_source == "s3" and "model layers are off (LEPTON_MODEL_LAYER_MAX_BYTES=0)" in attempt.reason
    assert stack.layers_of(stack.alias()["FunctionVersion"]) == []


def test_a_layer_that_cannot_be_published_leaves_the_model_on_s3_and_still_promotes(stack, monkeypatch):
    def refused(self, name, zip_bytes, description, runtimes, architectures):
        raise FunctionUpdateFailed(f"{name}: CodeStorageExceededException: Code storage limit exceeded.")

    monkeypatch.setattr(LambdaFunctions, "publish_layer", refused)
    attempt = promote(stack, 1)
    assert (attempt.outcome, attempt.model_source) == ("promoted", "s3")
    assert ("publishing its layer failed: the model layer: CodeStorageExceededException: Code storage limit "
            "exceeded.") in attempt.reason
    assert stack.model_layer not in attempt.reason  # reasons reach the public status page: no resource names
    assert stack.ask(stack.cold_handler(stack.alias()["FunctionVersion"]))[1]["model_version"] == "1"


def test_unused_layer_versions_are_deleted_and_every_published_versions_layer_is_kept(stack, monkeypatch):
    # GIVEN versions 1 and 2 were promoted, each with its layer (1 and 2)
    promote(stack, 1)
    v1_function = stack.alias()["FunctionVersion"]
    promote(stack, 2)
    # AND an upload of version 3 published layer 3, then Lambda refused the configuration update
    real = LambdaFunctions.set_environment

    def refuse_once(self, current, environment, layers=None):
        monkeypatch.setattr(LambdaFunctions, "set_environment", real)
        raise FunctionUpdateFailed(f"{current.name}: ServiceException: Lambda is having a bad day")

    monkeypatch.setattr(LambdaFunctions, "set_environment", refuse_once)
    stack.upload(*good(3))
    assert len(stack.worker(deployer).run_once()["failed"]) == 1
    assert stack.model_layer_versions() == [1, 2, 3]
    # WHEN the retry promotes version 3 (layer 4)
    assert stack.worker(deployer).run_once()["failed"] == []
    # THEN the orphaned layer 3 is gone; 1 (the rollback target's, two back), 2 and 4 stay
    assert stack.model_layer_versions() == [1, 2, 4]
    # WHEN an operator deletes version 1's function version (moto then reuses version numbers on
    # publish, so the clean-up a promotion runs is run alone here)
    stack.lam.delete_function(FunctionName=FUNCTION, Qualifier=v1_function)
    collected = stack.deployer().layers.collect(FUNCTION, "tabular")
    # THEN its layer goes; version 2 (the rollback target) and version 3 keep theirs
    assert [arn.rsplit(":", 1)[1] for arn in collected.deleted] == ["1"] and collected.problem == ""
    assert stack.model_layer_versions() == [2, 4]


def test_a_rollback_serves_the_old_version_from_its_own_layer_even_with_its_bucket_objects_gone(stack):
    v1, m1 = good(1)
    promote(stack, 1)
    promote(stack, 2)
    # WHEN the alias moves back, and version 1's objects are no longer in the bucket
    attempt = stack.rollout.rollback("tabular")
    assert (attempt.version, attempt.model_source) == (1, "layer")
    for key in (m1.model_key, m1.manifest_key):
        stack.s3.delete_object(Bucket=BUCKET, Key=key)
    # THEN a cold start of the version the alias names answers with model 1, from layer 1
    function_version = stack.alias()["FunctionVersion"]
    assert stack.layers_of(function_version)[0].endswith(f"layer:{stack.model_layer}:1")
    handler = stack.cold_handler(function_version)
    status, body = stack.ask(handler)
    assert status == 200 and body["model_version"] == "1"
    assert np.allclose(body["outputs"][0]["data"], expected(v1), atol=1e-6)
    assert handler.plane.source == "layer"


@pytest.mark.parametrize("tamper", ["model", "manifest"])
def test_a_mounted_layer_that_no_longer_matches_the_pins_is_refused_not_served_from_s3(stack, tamper):
    promote(stack, 1)
    function_version = stack.alias()["FunctionVersion"]
    handler = stack.cold_handler(function_version)
    folder = handler.plane.config.model_dir
    # WHEN the mounted layer's file is changed (the bucket still has the right bytes)
    if tamper == "model":
        with open(f"{folder}/model.onnx", "wb") as fh:
            fh.write(good(2)[0])
    else:
        with open(f"{folder}/manifest.json", "ab") as fh:
            fh.write(b"\n")
    status, body = stack.ask(handler)
    # THEN the function refuses to serve rather than trusting or working around it
    assert status == 503
    assert "sha256" in body["error"]
    assert handler.plane.store.downloads == 0


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"python/{name.lower()}.txt", name)
    return buffer.getvalue()
