"""The replay gate in the deployer: after the pre-traffic check and before the alias moves, a new
version answers the live version's captured requests; a version that answers them differently
never goes live, and the attempt records the figure and where its disagreeing cases are."""
from __future__ import annotations

import json

import numpy as np
import pytest
from deploy_support import FUNCTION, provisioned
from deployer.checks import MIN_REPLAY_SECONDS, RESERVE_SECONDS
from deployer.handler import lambda_handler as deployer
from eventfiles import ROOT, load_event

from lepton.local.context import LambdaContext
from lepton.local.log_delivery import LogDelivery
from lepton.local.template import Template
from onnx_models import manifest_for, mlp_model, nudged_mlp, swapped_mlp

CAPTURES = "lepton-test-captures"
ROWS = np.random.default_rng(3).normal(size=(200, 3)).round(3).tolist()


@pytest.fixture
def stack(monkeypatch, tmp_path):
    with provisioned(monkeypatch, tmp_path) as made:
        made.logs = __import__("boto3").client("logs", region_name="us-east-1")
        yield made


def deploy(stack, model_bytes: bytes, version: int, remaining_s: float = 120.0) -> dict:
    """The upload's S3 event through the deployer's handler: its result, or {"error"} when it
    failed and would be delivered again."""
    manifest = manifest_for(model_bytes, version=version, golden_rows=ROWS[:2])
    stack.upload(model_bytes, manifest)
    event = load_event("deployer/s3-put.json")
    event["Records"][0]["s3"]["bucket"]["name"] = "lepton-models-test"
    event["Records"][0]["s3"]["object"]["key"] = manifest.manifest_key
    answer = deployer(event, LambdaContext("lepton-test-deployer", 2048, remaining_s))
    return answer["results"][0] if "results" in answer else answer


def callers(stack, requests: int, rows_each: int = 1) -> None:
    """Callers' V2 requests to the live version through its handler, capturing every one, and the
    records delivered to its log group as Lambda delivers what it prints (on to S3 through moto's
    subscription filter and Firehose stream)."""
    from tabular.handler import lambda_handler

    qualifier = stack.alias()["FunctionVersion"]
    env = {**stack.env_of(qualifier), "LEPTON_CACHE_DIR": str(stack.cache_dir), "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
           "AWS_LAMBDA_FUNCTION_VERSION": qualifier, "LEPTON_CAPTURE_SAMPLE_RATE": "1"}
    delivery = LogDelivery(stack.logs)
    handler = lambda_handler.with_environment(env).with_capture_output(delivery.feed)
    for i in range(requests):
        rows = [ROWS[(i * rows_each + j) % len(ROWS)] for j in range(rows_each)]
        event = load_event("tabular/infer.json")
        event["body"] = json.dumps({"inputs": [{"name": "features", "shape": [len(rows), 3], "datatype": "FP32",
                                                "data": rows}]})
        assert handler(event, LambdaContext(FUNCTION, 1024, 15, qualifier))["statusCode"] == 200
    assert delivery.flush() == requests


def replay_check(stack, version: int) -> dict:
    attempt = next(a for a in stack.registry.list_deployments("tabular") if a.version == version)
    return next(c for c in attempt.checks if c["name"] == "replay")


def test_a_version_with_swapped_outputs_passes_every_other_check_and_is_refused_by_the_replay(stack):
    # GIVEN version 1 live and 200 captured requests of callers
    assert deploy(stack, mlp_model(1).SerializeToString(), 1)["outcome"] == "promoted"
    live_alias = stack.alias()["FunctionVersion"]
    callers(stack, 200)
    # WHEN version 2 arrives: the same network with its two outputs swapped, and golden examples
    # computed from it (so the gate, the golden examples and the pre-traffic check all agree with it)
    result = deploy(stack, swapped_mlp(1), 2)
    # THEN the replay refused it, naming the figure and where the disagreeing cases are
    assert result["outcome"] == "rejected", result
    attempt = stack.registry.list_deployments("tabular")[0]
    assert attempt.check == "replay"
    assert attempt.reason.startswith("agreement 0.00 on 200 captured requests (min 0.90); disagreeing cases in "
                                     f"s3://{CAPTURES}/replays/tabular/2/"), attempt.reason
    assert [c["name"] for c in attempt.checks] == ["pre_traffic", "replay"]
    assert attempt.checks[0]["outcome"] == "passed"
    check = attempt.checks[1]
    assert check["outcome"] == "failed" and check["figures"]["agreement"] == 0.0
    assert check["figures"]["requests"] == 200 and check["figures"]["live_version"] == "1"
    # AND the file holds each disagreeing case: the request's inputs, the live and the new answer
    cases = json.loads(stack.s3.get_object(Bucket=CAPTURES, Key=check["figures"]["cases_key"])["Body"].read())
    assert cases["version"] == "2" and cases["reason"] == check["summary"].split("; disagreeing")[0]
    first = cases["cases"][0]
    assert first["inputs"]["features"] == pytest.approx(ROWS[199], abs=1e-6)
    assert first["live"]["probabilities"] == pytest.approx(first["candidate"]["probabilities"][::-1], abs=1e-6)
    # AND nothing moved
    assert stack.alias()["FunctionVersion"] == live_alias
    assert stack.registry.get_live("tabular").live.version == 1


def test_a_retrain_that_answers_the_same_goes_live_with_its_figure_recorded(stack):
    assert deploy(stack, mlp_model(1).SerializeToString(), 1)["outcome"] == "promoted"
    callers(stack, 50, rows_each=4)
    result = deploy(stack, nudged_mlp(1), 2)
    assert result["outcome"] == "promoted", result
    check = replay_check(stack, 2)
    assert check["outcome"] == "passed" and check["figures"]["agreement"] >= 0.9
    assert check["summary"].startswith("agreement ") and "on 50 captured requests, 200 rows (min 0.90)" in check["summary"]
    assert "replay: agreement" in stack.registry.list_deployments("tabular")[0].reason
    assert stack.registry.get_live("tabular").live.version == 2
    # the receipt measured both versions on the same captured requests too, beside the golden examples
    receipt = stack.registry.get_live("tabular").live.receipt
    assert receipt["sources"]["requests"] == "2 golden examples and 50 captured requests"


def test_with_too_few_captured_requests_the_replay_is_skipped_with_its_reason_never_passed_in_silence(stack):
    assert deploy(stack, mlp_model(1).SerializeToString(), 1)["outcome"] == "promoted"
    assert replay_check(stack, 1)["summary"] == "no version is live yet: nothing to compare with"
    callers(stack, 7)
    assert deploy(stack, swapped_mlp(1), 2)["outcome"] == "promoted"
    check = replay_check(stack, 2)
    assert (check["outcome"], check["summary"]) == (
        "skipped", "7 captured request(s) of live version 1, fewer than the 30 needed to judge on; not compared")
    assert "replay skipped: 7 captured request(s)" in stack.registry.list_deployments("tabular")[0].reason


# -- the deployer's time ------------------------------------------------------------------------------
def test_the_deployers_timeout_holds_the_update_wait_the_replay_budget_and_the_reserve():
    # Lambda's update waiter may take 90 s (functions.py); then the replay (at most
    # LEPTON_REPLAY_MAX_SECONDS) and the reserve for the alias move and the record must still fit.
    spec = Template(ROOT / "template.yaml").functions()["DeployerFunction"]
    replay_max = float(spec.environment["LEPTON_REPLAY_MAX_SECONDS"])
    assert 90 + replay_max + RESERVE_SECONDS <= spec.timeout_s, (spec.timeout_s, replay_max)


def test_200_captured_requests_replay_well_within_the_budget_and_the_budget_follows_the_time_left(stack):
    assert deploy(stack, mlp_model(1).SerializeToString(), 1)["outcome"] == "promoted"
    callers(stack, 200)
    # GIVEN 50 s left in the deployer's invocation when version 2 arrives
    assert deploy(stack, nudged_mlp(1), 2, remaining_s=50.0)["outcome"] == "promoted"
    figures = replay_check(stack, 2)["figures"]
    # THEN the replay kept out of the reserve (50 - 20 = 30 s at most, less what came before it)
    assert figures["budget_seconds"] <= 50.0 - RESERVE_SECONDS
    # AND the 200 requests, in 4 calls of up to 64 rows, took a small part of it (the real handler, in-process)
    assert figures["requests"] == 200 and figures["invocations"] == 4
    assert figures["seconds"] < figures["budget_seconds"] / 4, figures


def test_too_little_time_left_to_replay_fails_the_upload_for_a_retry_and_moves_nothing(stack):
    assert deploy(stack, mlp_model(1).SerializeToString(), 1)["outcome"] == "promoted"
    callers(stack, 40)
    failed = deploy(stack, nudged_mlp(1), 2, remaining_s=RESERVE_SECONDS + MIN_REPLAY_SECONDS - 1.0)
    assert "retried with a fresh timeout" in failed["error"]  # the message fails, so SQS delivers it again
    attempt = stack.registry.list_deployments("tabular")[0]
    assert (attempt.version, attempt.outcome) == (2, "failed")
    assert attempt.reason.startswith("only ") and "retried with a fresh timeout" in attempt.reason
    assert stack.registry.get_live("tabular").live.version == 1
    # AND the redelivery, with a fresh timeout, judges it
    assert deploy(stack, nudged_mlp(1), 2)["outcome"] == "promoted"


@pytest.mark.parametrize("env, fragment", [
    ({"LEPTON_REPLAY_REQUESTS": "0"}, "LEPTON_REPLAY_REQUESTS must be between 1 and 10000"),
    ({"LEPTON_REPLAY_REQUESTS": "2.5"}, "LEPTON_REPLAY_REQUESTS must be a whole number"),
    ({"LEPTON_REPLAY_MIN_REQUESTS": "300"}, "must not be above LEPTON_REPLAY_REQUESTS"),
    ({"LEPTON_REPLAY_MAX_SECONDS": "0.5"}, "LEPTON_REPLAY_MAX_SECONDS must be between 1 and 600"),
    ({"LEPTON_REPLAY_MAX_SECONDS": "soon"}, "LEPTON_REPLAY_MAX_SECONDS must be a number"),
])
def test_a_wrong_replay_setting_is_refused_never_replaced_by_a_default(env, fragment):
    from deployer.config import DeployerConfig
    from lepton_serving.errors import ConfigError

    base = {"LEPTON_FUNCTIONS": '{"tabular": "fn"}', "LEPTON_DEPLOYMENTS_TABLE": "t"}
    with pytest.raises(ConfigError, match=fragment):
        DeployerConfig.from_env({**base, **env})
    assert DeployerConfig.from_env(base).replay.requests == 200
