"""How a model function matches its routes (lepton_serving/routes.py), through the tabular handler:
what API Gateway's payload 2.0 delivers, matched as Powertools' resolver matched it before."""
from __future__ import annotations

import json

import pytest

from eventfiles import load_event
from lepton.local.context import LambdaContext
from lepton_serving.routes import Routes


def request(handler, method: str, path: str, stage: str = "$default", body: str | None = None) -> tuple[int, dict]:
    event = load_event("tabular/metadata.json")
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    event["requestContext"]["stage"] = stage
    if body is not None:
        event["body"] = body
        event["headers"]["content-type"] = "application/json"
    answer = handler(event, LambdaContext("tabular"))
    assert answer["headers"]["Content-Type"] == "application/json" and answer["cookies"] == []
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize(("method", "path"), [("GET", "/v2/models/tabular/infer"), ("POST", "/v2/models/tabular"),
                                              ("DELETE", "/v2/health/live"), ("GET", "/v2/models/tabular/")])
def test_a_known_path_asked_with_another_method_or_a_trailing_slash_is_404_naming_both(tabular, method, path):
    assert request(tabular, method, path) == (404, {"error": f"no route for {method} {path}"})


def test_the_method_matches_in_any_case(tabular):
    assert request(tabular, "get", "/v2/health/live") == (200, {"live": True})


def test_a_named_stage_is_stripped_from_the_raw_path(tabular):
    code, body = request(tabular, "GET", "/prod/v2/models/tabular/versions/1", stage="prod")
    assert code == 200 and body["name"] == "tabular" and body["versions"] == ["1"]


def test_path_parameters_reach_the_route_as_api_gateway_sends_them(tabular):
    code, body = request(tabular, "GET", "/v2/models/tab%20ular/ready")
    assert (code, body) == (404, {"error": "model 'tab%20ular' is not served here; this endpoint serves 'tabular'"})


def test_a_versioned_infer_route_answers_with_that_version(tabular):
    body = load_event("tabular/infer.json")["body"]
    code, answer = request(tabular, "POST", "/v2/models/tabular/versions/1/infer", body=body)
    assert code == 200 and answer["model_version"] == "1" and answer["outputs"][0]["shape"] == [2, 2]


def test_static_routes_win_over_parameter_routes_and_a_parameter_is_one_segment():
    routes = Routes()
    routes.get("/v2/models/<name>")(lambda request, name: name)
    routes.get("/v2/models/ready")(lambda request: "static")
    assert routes.match("GET", "/v2/models/ready")[1] == {}
    assert routes.match("GET", "/v2/models/a.b~c")[1] == {"name": "a.b~c"}
    assert routes.match("GET", "/v2/models/a/b") is None
    assert routes.match("POST", "/v2/models/a") is None
