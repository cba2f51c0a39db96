"""The Lambda entry point: API Gateway v2 events (events/control) through Mangum and the app."""
from __future__ import annotations

import json

import pytest

from eventfiles import EVENTS, load_event
from lepton.local.context import LambdaContext

EXPECTED = {
    "list-models": 200, "get-model": 200, "get-model-unknown": 404, "deployments": 200,
    "rollback-unknown-version": 409, "promote-wrong-version": 409, "uploads": 200, "uploads-bad-version": 422,
    "openapi": 200, "model-card": 200, "status": 200,
}


def invoke(event: dict) -> tuple[int, dict]:
    from control.handler import lambda_handler

    response = lambda_handler(event, LambdaContext("lepton-test-control", 1024, 15))
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_every_control_event_file_has_an_expected_status():
    assert {p.stem for p in (EVENTS / "control").glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_file_through_mangum_gets_its_status_and_a_json_body(world, name):
    # GIVEN tabular v1 live (the deployer put it there)
    world.publish(1)
    # WHEN API Gateway's event for the route reaches the Lambda handler
    status, body = invoke(load_event(f"control/{name}.json"))
    # THEN the status is the one the file is named for, with a message when refused
    assert status == EXPECTED[name], body
    if status >= 400:
        assert body["error"] and "Traceback" not in body["error"]


def test_the_handler_answers_with_real_values(world):
    world.publish(1)
    world.publish(2)
    _, models = invoke(load_event("control/list-models.json"))
    assert {m["name"]: m["live_version"] for m in models["models"]} == {"tabular": 2, "digits": None}
    _, detail = invoke(load_event("control/get-model.json"))
    assert [(v["version"], v["state"]) for v in detail["versions"]] == [(2, "live"), (1, "previous")]
    _, grant = invoke(load_event("control/uploads.json"))
    assert grant["version"] == 3 and grant["uploads"][1]["key"] == "models/tabular/3/manifest.json"
    _, deployments = invoke(load_event("control/deployments.json"))
    assert [a["version"] for a in deployments["deployments"]] == [2, 1]


def test_a_rollback_through_api_gateway_records_the_iam_caller(world):
    world.publish(1)
    world.publish(2)
    event = load_event("control/rollback-unknown-version.json")
    event["body"] = json.dumps({"version": 1, "reason": "outputs drifted"})
    status, attempt = invoke(event)
    assert status == 200, attempt
    assert attempt["actor"] == event["requestContext"]["authorizer"]["iam"]["userArn"]
    assert attempt["reason"] == "rolled back from version 2 to 1; outputs drifted"
    assert world.served_version() == "1"


def test_a_misconfigured_function_answers_with_the_reason(world, monkeypatch):
    from control.handler import lambda_handler

    monkeypatch.setenv("LEPTON_FUNCTIONS", "tabular")
    response = lambda_handler(load_event("control/list-models.json"), LambdaContext("c", 1024, 15))
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"].startswith(
        "the control API is misconfigured: LEPTON_FUNCTIONS is not valid JSON")


def test_the_handler_answers_after_asyncio_run_cleared_the_threads_event_loop(world):
    import asyncio

    # GIVEN code earlier in the same process (an async client, say) that ran asyncio.run()
    asyncio.run(asyncio.sleep(0))
    # WHEN a request arrives on that thread THEN the control API answers it
    status, models = invoke(load_event("control/list-models.json"))
    assert status == 200 and {m["name"] for m in models["models"]} == {"tabular", "digits"}


@pytest.mark.parametrize(("path", "route", "content_type", "starts"), [
    ("/", "GET /", "text/html; charset=utf-8", "<!doctype html>"),
    ("/playground/app.js", "GET /playground/{file}", "text/javascript; charset=utf-8", "// The playground"),
    ("/playground/style.css", "GET /playground/{file}", "text/css; charset=utf-8", "/* "),
])
def test_the_playground_files_go_through_mangum_as_text_not_base64(path, route, content_type, starts):
    from control.handler import lambda_handler
    from lepton.local.http_events import http_event

    event = http_event("GET", path, route, path_parameters={"file": path.rsplit("/", 1)[1]} if "{" in route else None)
    response = lambda_handler(event, LambdaContext("lepton-test-control", 1024, 15))
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == content_type
    assert response["isBase64Encoded"] is False and response["body"].startswith(starts)
