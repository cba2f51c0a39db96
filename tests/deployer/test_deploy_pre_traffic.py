"""Pre-traffic verification: the published version answers the manifest's golden requests through
its own handler before any traffic moves, so a model the function cannot set up never goes live."""
from __future__ import annotations

import pytest
from deploy_support import context, provisioned
from deployer.handler import lambda_handler as deployer
from eventfiles import load_event

import family_models as fm

FUNCTION = "lepton-test-recommender"


@pytest.fixture
def stack(monkeypatch, tmp_path):
    with provisioned(monkeypatch, tmp_path, "recommender", FUNCTION) as made:
        yield made


def deploy(stack, manifest) -> dict:
    stack.upload(fm.recommender_model(), manifest)
    event = load_event("deployer/s3-put.json")
    event["Records"][0]["s3"]["bucket"]["name"] = "lepton-models-test"
    event["Records"][0]["s3"]["object"]["key"] = manifest.manifest_key
    return deployer(event, context())["results"][0]


def alias_version(stack) -> str:
    return stack.lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"]


def good_manifest(version: int):
    manifest = fm.recommender_manifest(version=version)
    manifest.metrics = {"ndcg_at_10": 0.4}
    return manifest


def test_a_version_the_function_cannot_set_up_is_refused_before_any_traffic_moves(stack):
    # GIVEN version 1 is live and answering
    assert deploy(stack, good_manifest(1))["outcome"] == "promoted"
    alias_before = alias_version(stack)
    # WHEN version 2 arrives with a graph and goldens the gate accepts, but preprocessing the
    # function's code cannot use
    bad = good_manifest(2)
    bad.preprocessing = {**bad.preprocessing, "num_users": "fifty"}
    result = deploy(stack, bad)
    # THEN the published version's own answer refused it, naming the failing setup
    assert result["outcome"] == "rejected", result
    attempt = stack.registry.list_deployments("recommender")[0]
    assert attempt.check == "pre_traffic"
    assert "answered golden request 0 with 503" in attempt.reason
    assert "preprocessing needs integer num_users and num_items" in attempt.reason
    assert "pre_traffic" in attempt.timings_ms
    # AND no traffic moved: the alias and the live pointer still name version 1
    assert alias_version(stack) == alias_before
    assert stack.registry.get_live("recommender").live.version == 1


def test_a_good_version_passes_the_check_and_goes_live(stack):
    result = deploy(stack, good_manifest(1))
    assert result["outcome"] == "promoted", result
    attempt = stack.registry.list_deployments("recommender")[0]
    assert "through the published function version" in attempt.reason
    assert attempt.timings_ms["pre_traffic"] > 0
