"""The local API Gateway pieces alone: route matching, v2 events, responses."""
from __future__ import annotations

import base64
import json

import pytest

from eventfiles import ROOT, load_event
from lepton.local.http_events import http_event, http_response
from lepton.local.gateway import LocalGateway
from lepton.local.route_table import RouteTable
from lepton.local.template import Route, Template

ROUTES = [
    Route("GET", "/v2/models/tabular", "Tabular"),
    Route("POST", "/v2/models/tabular/infer", "Tabular"),
    Route("POST", "/v2/models/tabular/versions/{version}/infer", "Tabular"),
    Route("GET", "/models/{name}", "Control", "AWS_IAM"),
    Route("ANY", "/docs/{proxy+}", "Control"),
]


def test_static_routes_win_over_parameterised_ones_and_params_are_extracted():
    table = RouteTable(ROUTES + [Route("GET", "/models/special", "Special")])
    assert table.match("GET", "/models/special").route.function == "Special"
    match = table.match("GET", "/models/digits")
    assert match.route.function == "Control" and match.path_parameters == {"name": "digits"}
    match = table.match("POST", "/v2/models/tabular/versions/7/infer")
    assert match.path_parameters == {"version": "7"}
    assert match.route_key == "POST /v2/models/tabular/versions/{version}/infer"


def test_greedy_and_any_method_routes_match_deep_paths():
    match = RouteTable(ROUTES).match("DELETE", "/docs/a/b/c")
    assert match.route.function == "Control" and match.path_parameters == {"proxy": "a/b/c"}


def test_unknown_method_or_path_does_not_match():
    table = RouteTable(ROUTES)
    assert table.match("DELETE", "/v2/models/tabular") is None
    assert table.match("GET", "/v2/models/tabular/extra") is None


def test_built_events_have_the_shape_of_the_events_folder():
    reference = load_event("tabular/infer.json")
    built = http_event("POST", "/v2/models/tabular/infer", "POST /v2/models/tabular/infer",
                       headers={"Content-Type": "application/json"}, body=b'{"inputs": []}')
    assert set(built) == set(reference)
    assert set(built["requestContext"]) == set(reference["requestContext"])
    assert built["headers"] == {"content-type": "application/json"}
    assert built["body"] == '{"inputs": []}' and built["isBase64Encoded"] is False


def test_binary_bodies_are_base64_encoded_and_queries_parsed():
    event = http_event("POST", "/x", "POST /x", headers={"content-type": "image/png"}, body=b"\x89PNG\x00",
                       query="k=5&k=6&user=a")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\x00"
    assert event["queryStringParameters"] == {"k": "5,6", "user": "a"}


def test_responses_follow_payload_v2_rules():
    assert http_response({"statusCode": 201, "headers": {"X-A": "1"}, "body": "hi"}) == (201, {"x-a": "1"}, b"hi")
    assert http_response({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
                          "isBase64Encoded": True})[2] == b"\x00\x01"
    # A bare return value becomes a 200 JSON body, as API Gateway does.
    assert http_response({"ok": True}) == (200, {"content-type": "application/json"}, b'{"ok":true}')


def test_gateway_dispatches_the_event_and_maps_failures_like_api_gateway():
    seen = []

    def dispatch(function, event):
        seen.append((function, event["routeKey"], event.get("pathParameters")))
        if event["rawPath"].endswith("/7/infer"):
            raise RuntimeError("function crashed")
        return {"statusCode": 200, "body": "{}"}

    gateway = LocalGateway(ROUTES, dispatch)
    assert gateway.handle("POST", "/v2/models/tabular/infer", "", {}, b"{}")[0] == 200
    assert seen[-1] == ("Tabular", "POST /v2/models/tabular/infer", None)
    status, _, body = gateway.handle("POST", "/v2/models/tabular/versions/7/infer", "", {}, b"{}")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    status, _, body = gateway.handle("GET", "/nowhere", "", {}, b"")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})
    status, _, _ = gateway.handle("POST", "/v2/models/tabular/infer", "", {}, b"x" * (6 * 1024 * 1024 + 1))
    assert status == 413


def test_template_functions_resolve_handlers_code_layers_and_routes():
    template = Template(ROOT / "template.yaml", names={"ModelBucket": "bucket-x"})
    tabular = template.functions()["TabularFunction"]
    assert tabular.handler == "tabular.handler.lambda_handler"
    assert tabular.code_uri == ROOT / "functions" / "tabular"
    assert ROOT / "layers" / "serving" in tabular.layers
    assert tabular.environment["LEPTON_MODEL_BUCKET"] == "bucket-x"
    assert tabular.environment["LEPTON_MODEL_NAME"] == "tabular"
    assert Route("POST", "/v2/models/tabular/infer", "TabularFunction") in tabular.routes


@pytest.mark.parametrize(("tracing", "disabled"), [("PassThrough", "true"), ("Active", "false")])
def test_a_conditional_global_environment_variable_follows_the_parameter_locally(tracing, disabled):
    template = Template(ROOT / "template.yaml", parameters={"Tracing": tracing})
    for spec in template.functions().values():
        assert spec.environment["POWERTOOLS_TRACE_DISABLED"] == disabled, spec.logical_id
