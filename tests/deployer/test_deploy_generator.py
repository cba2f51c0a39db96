"""The gate holds the generator to the template's minimum conditional accuracy: a generator whose
images the digits classifier does not read as the digit asked for never goes live."""
from __future__ import annotations

import pytest
from deploy_support import context, provisioned
from deployer.handler import lambda_handler as deployer
from eventfiles import load_event

import family_models as fm

FUNCTION = "lepton-test-generator"


@pytest.fixture
def stack(monkeypatch, tmp_path):
    with provisioned(monkeypatch, tmp_path, "generator", FUNCTION) as made:
        yield made


def upload(stack, version: int, metrics: dict) -> dict:
    """A real generator graph and manifest (goldens from onnxruntime) claiming ``metrics``; the deployer's answer."""
    manifest = fm.generator_manifest(version=version)
    manifest.metrics = metrics
    stack.upload(fm.generator_model(), manifest)
    event = load_event("deployer/s3-put.json")
    event["Records"][0]["s3"]["bucket"]["name"] = "lepton-models-test"
    event["Records"][0]["s3"]["object"]["key"] = manifest.manifest_key
    return deployer(event, context())["results"][0]


def live_version(stack) -> str:
    return stack.lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"]


def test_a_generator_below_the_minimum_conditional_accuracy_is_refused_and_a_good_one_promoted(stack):
    # GIVEN nothing live WHEN a version whose images are read as the asked digit 62 % of the time arrives
    before = live_version(stack)
    result = upload(stack, 1, {"conditional_accuracy": 0.62, "diversity": 0.9, "frechet_distance": 3.0})
    # THEN the gate refuses it with the template's minimum, and nothing moves
    assert result["outcome"] == "rejected"
    attempt = stack.registry.list_deployments("generator")[0]
    assert (attempt.version, attempt.check) == (1, "metrics")
    assert "conditional_accuracy 0.62 is below the minimum 0.9 for generator" in attempt.reason
    assert live_version(stack) == before and stack.registry.get_live("generator") is None

    # WHEN a version at 0.96 arrives THEN it passes every check and goes live
    result = upload(stack, 2, {"conditional_accuracy": 0.96, "diversity": 0.84, "frechet_distance": 3.8})
    assert result["outcome"] == "promoted", result
    assert stack.registry.get_live("generator").live.version == 2
    assert live_version(stack) != before
    assert stack.lam.get_function_configuration(FunctionName=FUNCTION, Qualifier=live_version(stack))[
        "Environment"]["Variables"]["LEPTON_MODEL_VERSION"] == "2"


def test_a_generator_manifest_without_the_figure_is_refused(stack):
    result = upload(stack, 1, {"diversity": 0.9})
    assert result["outcome"] == "rejected"
    assert "reports no numeric 'conditional_accuracy' metric" in stack.registry.list_deployments("generator")[0].reason
