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


def test_a_version_that_answers_200_with_wrong_values_is_refused_by_the_tolerance(stack, monkeypatch):
    # GIVEN version 1 live, then a function whose post-processing is wrong: it answers 200, with
    # every score off by 0.5 (the gate ran the graph under onnxruntime alone, so it passed)
    from recommender.model import RecommenderModel

    assert deploy(stack, good_manifest(1))["outcome"] == "promoted"
    monkeypatch.setattr(RecommenderModel, "postprocess",
                        lambda self, outputs, inputs: {k: v + 0.5 for k, v in outputs.items()})
    # WHEN version 2 is uploaded
    result = deploy(stack, good_manifest(2))
    # THEN the published version's answer is compared with the manifest's, and refused
    assert result["outcome"] == "rejected", result
    attempt = stack.registry.list_deployments("recommender")[0]
    assert attempt.check == "pre_traffic"
    assert "output 'scores', with a max abs difference of 0.5, above the tolerance" in attempt.reason
    assert stack.registry.get_live("recommender").live.version == 1


def test_a_version_whose_friendly_route_fails_is_refused_before_any_traffic_moves(stack, monkeypatch):
    # GIVEN a function whose V2 answers are right but whose friendly route fails (a bug in its
    # encoding of the friendly answer)
    from recommender.model import RecommenderModel

    def broken(self, outputs, request):
        raise KeyError("items")

    assert deploy(stack, good_manifest(1))["outcome"] == "promoted"
    monkeypatch.setattr(RecommenderModel, "encode_predict", broken)
    # WHEN version 2 is uploaded THEN the friendly route's 500 refuses it
    result = deploy(stack, good_manifest(2))
    assert result["outcome"] == "rejected", result
    attempt = stack.registry.list_deployments("recommender")[0]
    assert attempt.check == "pre_traffic"
    assert "on its friendly route (/models/recommender/predict) with 500" in attempt.reason
    assert stack.registry.get_live("recommender").live.version == 1


@pytest.mark.parametrize(("family", "change"), [
    ("tabular", {"preprocessing": {"feature_names": 5}}),
    ("digits", {"labels": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "²"]}),
])
def test_a_manifest_that_only_the_friendly_route_reads_is_checked_before_traffic(monkeypatch, tmp_path, family,
                                                                                 change):
    # GIVEN a manifest whose only problem (or oddity) is in what the friendly route reads
    import hostile

    with provisioned(monkeypatch, tmp_path, family, f"lepton-test-{family}") as made:
        manifest, data = hostile.family_version(family, version=1)
        for field, value in change.items():
            setattr(manifest, field, value)
        manifest.metrics = {"accuracy": 0.99}
        made.upload(data, manifest)
        event = load_event("deployer/s3-put.json")
        event["Records"][0]["s3"]["bucket"]["name"] = "lepton-models-test"
        event["Records"][0]["s3"]["object"]["key"] = manifest.manifest_key
        result = deployer(event, context())["results"][0]
        attempt = made.registry.list_deployments(family)[0]
        if family == "tabular":
            # THEN feature names that are not strings never go live: the function cannot set up
            assert (result["outcome"], attempt.check) == ("rejected", "pre_traffic"), attempt.reason
            assert "feature_names must be 3 strings" in attempt.reason
        else:
            # THEN a label that only looks like a digit is served as a label, on both routes
            assert result["outcome"] == "promoted", attempt.reason
