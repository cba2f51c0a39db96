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


def test_a_canary_whose_answers_fail_is_rolled_back_by_its_check(stack, monkeypatch):
    # GIVEN a version that passes the gate and the pre-traffic check (one row at a time) but fails
    # on batches of two, in canary beside version 1
    canary = start_canary(stack, monkeypatch, models.fails_on_batches(2), weight="0.1")
    # WHEN users send it 15 one-row and 10 two-row requests: the two-row ones get 5xx answers
    statuses = stack.traffic(canary, [ROWS[:1]] * 15 + [ROWS] * 10)
    assert statuses.count(200) == 15 and statuses.count(500) == 10
    # AND the canary check runs
    stack.worker(deployer).run_once()
    # THEN all traffic is back on version 1, and the record says why, from the answers themselves
    assert (stack.alias()["FunctionVersion"], weights(stack)) == ("2", {})
    live = stack.registry.get_live("tabular")
    assert (live.live.version, live.canary) == (1, None)
    latest = stack.registry.list_deployments("tabular")[0]
    assert (latest.outcome, latest.version) == ("rolled_back", 2)
    assert "10 5xx answer(s) in 25 request(s) (40.0%)" in latest.reason


def test_a_canary_without_enough_traffic_is_held_not_promoted(stack, monkeypatch):
    canary = start_canary(stack, monkeypatch, good(2))
    # GIVEN the canary answered 3 requests, fewer than the 20 needed to judge it
    stack.traffic(canary, [ROWS] * 3)
    # WHEN its check runs
    stack.worker(deployer).run_once()
    # THEN it keeps its share, the record says why, and the check comes back later
    assert weights(stack) == {canary: 0.2}
    latest = stack.registry.list_deployments("tabular")[0]
    assert (latest.outcome, latest.actor) == ("canary", "canary")
    assert "held: 0 5xx answer(s) in 3 request(s)" in latest.reason and "fewer than the 20" in latest.reason
    assert [m for m in stack.receive() if "canary-check" in m["Body"]], "the next check was not scheduled"


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
