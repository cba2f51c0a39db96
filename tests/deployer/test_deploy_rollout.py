"""Canary, promotion of the canary, rollback, and two deployers racing for one model."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import deploy_support as models
from deploy_support import BUCKET, FUNCTION, ROWS, context, good
from deployer.events import Upload
from deployer.handler import lambda_handler as deployer
from lepton_deploy.errors import NothingToDo


def promote(stack, version: int) -> dict:
    stack.upload(*good(version))
    return stack.worker(deployer).run_once()


def weights(stack) -> dict[str, float]:
    return (stack.alias().get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}


def start_canary(stack, monkeypatch, upload, weight: str = "0.2") -> str:
    """Version 1 live, then a canary of ``upload`` (version 2) checked at once; its function version."""
    promote(stack, 1)
    monkeypatch.setenv("LEPTON_CANARY_WEIGHT", weight)
    monkeypatch.setenv("LEPTON_CANARY_BAKE_SECONDS", "0")
    monkeypatch.setenv("LEPTON_CANARY_MIN_REQUESTS", "20")
    stack.upload(*upload)
    stack.worker(deployer).run_once()
    return stack.registry.get_live("tabular").canary.release.function_version


def test_canary_sends_a_share_to_the_new_version_then_promotes_it_on_its_real_answers(stack, monkeypatch):
    canary = start_canary(stack, monkeypatch, good(2))
    # THEN the alias keeps version 1's function version and weighs in version 2's
    assert stack.alias()["FunctionVersion"] == "2"
    assert weights(stack) == {canary: 0.2}
    assert stack.env_of(canary)["LEPTON_MODEL_VERSION"] == "2"
    live = stack.registry.get_live("tabular")
    assert (live.live.version, live.canary.release.version, live.canary.weight) == (1, 2, 0.2)
    assert stack.registry.list_deployments("tabular")[0].outcome == "canary"
    # AND both versions answer, each with its own model version
    assert stack.infer(stack.env_of("2"))[1]["model_version"] == "1"
    assert stack.infer(stack.env_of(canary))[1]["model_version"] == "2"

    # WHEN the canary version answers 30 real requests, all well
    assert stack.traffic(canary, [ROWS] * 30) == [200] * 30
    # AND the delayed canary check arrives
    assert stack.worker(deployer).run_once() == {"received": 1, "failed": []}
    # THEN version 2 takes all traffic; version 1 stays published
    assert (stack.alias()["FunctionVersion"], weights(stack)) == (canary, {})
    live = stack.registry.get_live("tabular")
    assert (live.live.version, live.canary, [r.version for r in live.history]) == (2, None, [1])
    latest = stack.registry.list_deployments("tabular")[0]
    assert (latest.outcome, latest.actor, latest.version) == ("promoted", "canary", 2)
    assert "0 5xx answer(s) in 30 request(s)" in latest.reason
    assert "1" in stack.versions()


def test_a_canary_whose_4xx_rate_jumps_above_the_live_versions_is_rolled_back(stack, monkeypatch):
    # GIVEN a version that passes the gate and the pre-traffic check (one row at a time) but that
    # onnxruntime refuses on batches of two, in canary beside version 1
    canary = start_canary(stack, monkeypatch, models.fails_on_batches(2), weight="0.1")
    # WHEN callers send both versions the same mix, 15 one-row and 10 two-row requests: the
    # canary answers the two-row ones 422 (input errors), the live version answers everything
    mix = [ROWS[:1]] * 15 + [ROWS] * 10
    statuses = stack.traffic(canary, mix)
    assert statuses.count(200) == 15 and statuses.count(422) == 10
    assert stack.traffic("2", mix) == [200] * 25
    # AND the canary check runs
    stack.worker(deployer).run_once()
    # THEN all traffic is back on version 1, and the record says why, from the answers themselves
    assert (stack.alias()["FunctionVersion"], weights(stack)) == ("2", {})
    live = stack.registry.get_live("tabular")
    assert (live.live.version, live.canary) == (1, None)
    latest = stack.registry.list_deployments("tabular")[0]
    assert (latest.outcome, latest.version) == ("rolled_back", 2)
    assert "canary: 0 5xx answer(s) in 25 request(s) (0.0%), 10 4xx (40.0%, 10 of them input errors)" in latest.reason
    assert "4xx rate 40.0% against 0.0%" in latest.reason


def test_a_canary_that_refuses_no_more_than_the_live_version_is_promoted(stack, monkeypatch):
    # GIVEN a good canary, and callers whose requests are half bad (refused by both versions alike)
    canary = start_canary(stack, monkeypatch, good(2))
    bad = [[[1.0, 2.0]]]  # two features where the model takes three: 400 on every version
    assert stack.traffic(canary, [ROWS] * 20 + bad * 20) == [200] * 20 + [400] * 20
    assert stack.traffic("2", [ROWS] * 60 + bad * 60) == [200] * 60 + [400] * 60
    # WHEN its check runs THEN it is promoted: it refused what the live version refused
    stack.worker(deployer).run_once()
    latest = stack.registry.list_deployments("tabular")[0]
    assert (latest.outcome, latest.version) == ("promoted", 2), latest.reason
    assert "canary: 0 5xx answer(s) in 40 request(s) (0.0%), 20 4xx (50.0%)" in latest.reason
    assert "live: 0 5xx answer(s) in 120 request(s) (0.0%), 60 4xx (50.0%)" in latest.reason


def test_neither_pre_traffic_calls_nor_a_flood_of_ready_probes_count_for_a_canary(stack, monkeypatch):
    # GIVEN a canary with 50 golden examples, each sent to it by the pre-traffic check, its EMF
    # lines forwarded to CloudWatch as Lambda forwards them; 50 is the minimum to judge it
    promote(stack, 1)
    monkeypatch.setenv("LEPTON_CANARY_WEIGHT", "0.2")
    monkeypatch.setenv("LEPTON_CANARY_BAKE_SECONDS", "0")
    monkeypatch.setenv("LEPTON_CANARY_MIN_REQUESTS", "50")
    stack.upload(*good(2, golden_rows=[[0.1 * i, -0.2, 0.3] for i in range(50)]))
    stack.worker(deployer).run_once()
    canary = stack.registry.get_live("tabular").canary.release.function_version
    # AND 500 readiness probes and 5 failing requests reach the canary
    assert set(stack.traffic(canary, [ROWS] * 500, path="/v2/models/tabular/ready")) == {200}
    assert stack.traffic(canary, [[[1.0]]] * 5) == [400] * 5
    # WHEN its check runs
    stack.worker(deployer).run_once()
    # THEN only the 5 callers' inference requests counted: too few to judge, so it is held
    latest = stack.registry.list_deployments("tabular")[0]
    assert latest.outcome == "canary" and "held" in latest.reason, latest.reason
    assert "canary: 0 5xx answer(s) in 5 request(s) (0.0%), 5 4xx (100.0%)" in latest.reason
    assert weights(stack) == {canary: 0.2}


def test_the_deployers_mark_is_read_from_requestcontext_never_from_a_header(stack, monkeypatch):
    from lepton_serving.origin import KEY, PRE_TRAFFIC
    from deploy_support import emf_to_cloudwatch
    from eventfiles import load_event
    from lepton.local.context import LambdaContext
    from lepton_deploy.canary import version_health, window
    from lepton_deploy.clock import iso
    from datetime import UTC, datetime
    from tabular.handler import lambda_handler

    canary = start_canary(stack, monkeypatch, good(2))
    handler = lambda_handler.with_environment({**stack.env_of(canary), "LEPTON_CACHE_DIR": str(stack.cache_dir),
                                               "AWS_LAMBDA_FUNCTION_VERSION": canary})
    # GIVEN callers who claim to be the deployer every way an HTTP request can: headers, query, body
    event = load_event("tabular/infer.json")
    event["headers"].update({KEY: PRE_TRAFFIC, "x-lepton-origin": PRE_TRAFFIC, "user-agent": "lepton-deployer/pre-traffic"})
    event["rawQueryString"] = f"{KEY}={PRE_TRAFFIC}"
    with emf_to_cloudwatch(stack.cloudwatch):
        for _ in range(3):
            assert handler(event, LambdaContext(FUNCTION, 1024, 15, canary))["statusCode"] == 200
    # THEN each of their requests counts for the version
    start, end = window(iso(datetime.now(UTC)))
    assert version_health(stack.cloudwatch, "tabular", canary, start, end).requests == 3
def test_promote_canary_by_hand_and_nothing_to_promote_is_a_clear_error(stack, monkeypatch):
    promote(stack, 1)
    with pytest.raises(NothingToDo, match="no canary of 'tabular' is running; version 1 is live"):
        stack.rollout.promote_canary("tabular")
    monkeypatch.setenv("LEPTON_CANARY_WEIGHT", "0.5")
    monkeypatch.delenv("LEPTON_DEPLOY_QUEUE_URL")  # no scheduled check: a person decides
    promote(stack, 2)
    attempt = stack.rollout.promote_canary("tabular", actor="cli")
    assert (attempt.outcome, attempt.version, attempt.actor) == ("promoted", 2, "cli")
    assert (stack.alias()["FunctionVersion"], weights(stack)) == ("3", {})


def test_rollback_moves_the_alias_back_at_once_and_walks_back_one_version_at_a_time(stack):
    for version in (1, 2, 3):
        promote(stack, version)
    assert stack.alias()["FunctionVersion"] == "4"
    # WHEN rolled back without a version
    attempt = stack.rollout.rollback("tabular")
    # THEN the previously live version serves, through its own published function version
    assert (attempt.outcome, attempt.version) == ("rolled_back", 2)
    assert "from version 3 to 2" in attempt.reason
    assert stack.alias()["FunctionVersion"] == "3"
    status, body = stack.infer(stack.live_env())
    assert status == 200 and body["model_version"] == "2"
    # AND again: version 1; and explicitly forward to 3
    assert stack.rollout.rollback("tabular").version == 1
    assert stack.alias()["FunctionVersion"] == "2"
    assert stack.rollout.rollback("tabular", 3).version == 3
    assert stack.alias()["FunctionVersion"] == "4"
    assert stack.registry.get_live("tabular").live.version == 3
    # AND no new function versions were published by rolling back
    assert stack.versions() == ["$LATEST", "1", "2", "3", "4"]
    with pytest.raises(NothingToDo, match="never published"):
        stack.rollout.rollback("tabular", 9)


def test_rollback_finds_a_version_that_left_the_pointers_history(stack):
    for version in (1, 2):
        promote(stack, version)
    pointer = stack.registry.get_live("tabular")
    stack.registry.put_live(replace(pointer, history=()), pointer.generation)  # as if older than HISTORY_LIMIT
    attempt = stack.rollout.rollback("tabular", 1)
    assert (attempt.version, attempt.function_version) == (1, "2")
    assert stack.live_env()["LEPTON_MODEL_VERSION"] == "1"


def test_an_upload_while_another_deployment_holds_the_model_fails_and_is_retried(stack):
    promote(stack, 1)
    # GIVEN a deployment of version 2 is between its configuration update and its alias move
    in_flight, release = threading.Event(), threading.Event()

    def slow_wait(function_name: str) -> None:
        in_flight.set()
        assert release.wait(10)

    first = stack.deployer(wait=slow_wait)
    results: dict[str, dict] = {}
    for v in (2, 3):
        data, manifest = good(v)
        stack.s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=data)
        stack.s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
    thread = threading.Thread(target=lambda: results.setdefault(
        "v2", first.handle(Upload(BUCKET, "models/tabular/2/manifest.json", etag="e2"), context())))
    thread.start()
    assert in_flight.wait(10)
    # WHEN version 3 arrives meanwhile
    with pytest.raises(Exception, match="another deployment of 'tabular' is in progress"):
        stack.deployer().handle(Upload(BUCKET, "models/tabular/3/manifest.json", etag="e3"), context())
    release.set()
    thread.join(10)
    # THEN version 2 won; version 3 recorded failed (and its message would be retried)
    assert results["v2"]["outcome"] == "promoted"
    assert stack.live_env()["LEPTON_MODEL_VERSION"] == "2"
    outcomes = {(a.version, a.outcome) for a in stack.registry.list_deployments("tabular")}
    assert (3, "failed") in outcomes and (2, "promoted") in outcomes
    # AND on retry version 3 goes live (a new delivery of the same object is not a duplicate:
    # the failed attempt released its idempotency record)
    retried = stack.deployer().handle(Upload(BUCKET, "models/tabular/3/manifest.json", etag="e3"), context())
    assert retried["outcome"] == "promoted"
    assert stack.live_env()["LEPTON_MODEL_VERSION"] == "3"


def test_two_deployers_racing_on_one_version_leave_one_winner_and_a_consistent_state(stack):
    promote(stack, 1)
    data, manifest = good(2)
    stack.s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=data)
    stack.s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run(etag: str) -> None:  # two deliveries that idempotency cannot merge (different etags)
        start.wait()
        try:
            outcomes.append(stack.deployer().handle(
                Upload(BUCKET, "models/tabular/2/manifest.json", etag=etag), context())["outcome"])
        except Exception as exc:  # the loser fails (lease busy) and would be retried
            outcomes.append(f"failed: {exc}")

    threads = [threading.Thread(target=run, args=(e,)) for e in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert outcomes.count("promoted") == 1, outcomes
    loser = next(o for o in outcomes if o != "promoted")
    assert loser == "skipped" or "another deployment of 'tabular' is in progress" in loser
    # Alias, the version it names, and the registry all say version 2, published once
    live = stack.registry.get_live("tabular")
    alias_version = stack.alias()["FunctionVersion"]
    assert live.live.function_version == alias_version
    assert stack.env_of(alias_version)["LEPTON_MODEL_VERSION"] == "2" == str(live.live.version)
    assert stack.env_of(alias_version)["LEPTON_MODEL_SHA256"] == live.live.sha256 == manifest.sha256
    assert stack.versions() == ["$LATEST", "1", "2", "3"]
    assert stack.registry.lease_holder("tabular") is None


def test_the_rollout_itself_refuses_a_version_that_is_not_newer_than_the_live_one(stack):
    # GIVEN versions 1 then 2 promoted
    from lepton_deploy.errors import Superseded
    from lepton_deploy.rollout import Candidate

    promote(stack, 1)
    promote(stack, 2)
    published = stack.versions()
    # WHEN the rollout is asked to promote version 1 again, with no gate in front of it
    deployer_ = stack.deployer()
    _, manifest = good(1)
    candidate = Candidate("tabular", 1, BUCKET, manifest.model_key, manifest.sha256)
    with pytest.raises(Superseded, match="version 1 is not newer than version 2, which is live"):
        deployer_.rollout.promote(candidate, deployer_.functions.config(FUNCTION))
    # THEN nothing was published and version 2 still serves
    assert stack.versions() == published
    assert stack.registry.get_live("tabular").live.version == 2


def test_a_newer_version_promoted_between_the_gate_and_the_promote_wins(stack, monkeypatch):
    # GIVEN version 1 live, and version 2's upload judged by the gate ...
    from deployer import pipeline

    promote(stack, 1)
    judge = pipeline.gate.judge
    raced: list[dict] = []

    def judge_then_race(submission, policy, bucket):
        verdict = judge(submission, policy, bucket)
        if submission.version == 2:  # ... while another deployer promotes version 3
            stack.upload(*good(3))
            raced.append(stack.deployer().deploy(Upload(BUCKET, good(3)[1].manifest_key), "tabular", 3))
        return verdict

    monkeypatch.setattr(pipeline.gate, "judge", judge_then_race)
    stack.upload(*good(2))
    result = stack.deployer().deploy(Upload(BUCKET, good(2)[1].manifest_key), "tabular", 2)
    # THEN version 3 went live, and version 2, accepted by the gate on stale facts, was skipped
    assert raced[0]["outcome"] == "promoted"
    assert (result["outcome"], result["version"]) == ("skipped", 2)
    assert "not newer than version 3" in result["reason"]
    assert stack.registry.get_live("tabular").live.version == 3
    assert stack.live_env()["LEPTON_MODEL_VERSION"] == "3"
