"""The local stack mounts each function version's model layer the way Lambda mounts /opt, so a
version whose model travels in its layer is served from disk, and one over the layer budget
from S3, both behind the real HTTP API."""
from __future__ import annotations

import time

import numpy as np
import requests

from onnx_models import run
from stack_models import write_tabular

FEATURES = [[13.0, 0.12, 22.0], [25.0, 0.16, 36.0]]
TABULAR = "TabularFunction"


def infer(stack) -> requests.Response:
    body = {"inputs": [{"name": "features", "shape": [len(FEATURES), 3], "datatype": "FP32", "data": FEATURES}]}
    return requests.post(f"{stack.base_url}/v2/models/tabular/infer", json=body, timeout=10)


def deployer_id(stack) -> str:
    return next(lid for lid, spec in stack.host.specs.items() if spec.handler.startswith("deployer."))


def model_layer(stack, model: str) -> str:
    """<the deployer's LEPTON_MODEL_LAYER_PREFIX, from the template>-<model>."""
    return f"{stack.host.environment(deployer_id(stack))['LEPTON_MODEL_LAYER_PREFIX']}-{model}"


def served_by(stack, logical_id: str):
    """The handler the API calls for the version the `live` alias names (once it has answered)."""
    stack.api.aliases.refresh()
    version, env = stack.api.aliases.pick(logical_id)
    return version, stack.host.handler(logical_id, env, version)


def publish_tabular(stack, seed: int) -> tuple[int, bytes]:
    from lepton_training.publish import publish

    folder = stack.settings.state / f"tabular-seed-{seed}"
    model = write_tabular(folder, seed=seed)
    manifest = publish(folder, stack.settings.bucket, s3_client=stack.client("s3"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = infer(stack)
        if response.json().get("model_version") == str(manifest.version):
            return manifest.version, model
        time.sleep(0.1)
    raise AssertionError(f"version {manifest.version} was not served within 20 s")


def test_every_model_published_at_start_is_served_from_its_mounted_layer(stack):
    for logical_id, spec in stack.host.specs.items():
        if not spec.model_name:
            continue
        mounted = stack.settings.state / "layers" / model_layer(stack, spec.model_name) / "1" / "lepton-model"
        assert (mounted / "model.onnx").read_bytes() == stack.models[spec.model_name], spec.model_name
        _, handler = served_by(stack, logical_id)
        assert handler.plane.config.model_dir == str(mounted)
        assert handler.plane.load().version == "1" and handler.plane.source == "layer", spec.model_name


def test_a_newly_uploaded_version_is_served_from_its_own_mounted_layer(stack):
    version, model = publish_tabular(stack, seed=21)
    function_version, handler = served_by(stack, TABULAR)
    # The version the alias names carries the new layer version, extracted under the state dir
    config = stack.client("lambda").get_function_configuration(FunctionName=stack.names[TABULAR],
                                                               Qualifier=function_version)
    assert [layer["Arn"].split(":")[-2:] for layer in config["Layers"]] == [[model_layer(stack, "tabular"), "2"]]
    mounted = stack.settings.state / "layers" / model_layer(stack, "tabular") / "2" / "lepton-model"
    assert (mounted / "model.onnx").read_bytes() == model
    assert handler.plane.source == "layer" and handler.plane.model.version == str(version)
    expected = run(model, {"features": np.array(FEATURES, np.float32)})["probabilities"]
    np.testing.assert_allclose(infer(stack).json()["outputs"][0]["data"], expected.ravel(), rtol=1e-6)


def test_a_version_over_the_layer_budget_is_served_from_s3(stack):
    deployer = deployer_id(stack)
    usual = stack.worker.handler
    # GIVEN a deployer whose layer budget no model fits (and no replay gate: this version is another
    # random network, which the live version's captured requests would rightly refuse; and an init
    # allowance: a cold start that reads S3 imports boto3, slower than reading a mounted layer)
    stack.worker.handler = stack.host.handler(deployer, {"LEPTON_MODEL_LAYER_MAX_BYTES": "1",
                                                         "LEPTON_CAPTURE_BUCKET": "",
                                                         "LEPTON_RECEIPT_INIT_RATIO": "20"})
    try:
        version, model = publish_tabular(stack, seed=22)
    finally:
        stack.worker.handler = usual
    # THEN its function version has no model layer, the attempt says S3, and the API answers from S3
    function_version, handler = served_by(stack, TABULAR)
    config = stack.client("lambda").get_function_configuration(FunctionName=stack.names[TABULAR],
                                                               Qualifier=function_version)
    assert config.get("Layers", []) == []
    attempt = next(a for a in stack.registry.list_deployments("tabular", limit=5) if a.version == version)
    assert (attempt.outcome, attempt.model_source) == ("promoted", "s3")
    assert handler.plane.config.model_dir == "" and handler.plane.source == "s3"
    expected = run(model, {"features": np.array(FEATURES, np.float32)})["probabilities"]
    np.testing.assert_allclose(infer(stack).json()["outputs"][0]["data"], expected.ravel(), rtol=1e-6)
