"""template.yaml and events/ agree for the model families: handler, scoped policy, every route."""
from __future__ import annotations

import importlib

import pytest

from eventfiles import EVENTS, ROOT, load_event
from lepton.local.template import Template

FAMILIES = ("digits", "sentiment", "recommender", "generator")


@pytest.fixture(scope="module")
def functions():
    return {spec.model_name: spec for spec in Template(ROOT / "template.yaml").functions().values()}


@pytest.mark.parametrize("family", FAMILIES)
def test_the_function_runs_its_own_package_and_reads_only_its_models(functions, family):
    spec = functions[family]
    assert spec.handler == f"{family}.handler.lambda_handler"
    assert spec.code_uri == ROOT / "functions" / family
    assert callable(importlib.import_module(f"{family}.handler").lambda_handler)
    assert spec.environment["POWERTOOLS_SERVICE_NAME"] == family
    statements = [s for p in spec.properties["Policies"] for s in p["Statement"]]
    s3 = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert [s["Resource"] for s in s3] == [{"Fn::Sub": f"${{ModelBucket.Arn}}/models/{family}/*"}]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_function_has_the_v2_routes_and_its_friendly_route(functions, family):
    routes = {(r.method, r.path) for r in functions[family].routes}
    base = f"/v2/models/{family}"
    assert routes == {
        ("GET", base), ("GET", f"{base}/ready"), ("POST", f"{base}/infer"),
        ("GET", f"{base}/versions/{{version}}"), ("GET", f"{base}/versions/{{version}}/ready"),
        ("POST", f"{base}/versions/{{version}}/infer"), ("POST", f"/models/{family}/predict"),
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_every_event_file_is_a_request_api_gateway_routes_to_the_function(functions, family):
    routes = {f"{r.method} {r.path}" for r in functions[family].routes}
    files = sorted((EVENTS / family).glob("*.json"))
    assert files
    for path in files:
        event = load_event(f"{family}/{path.name}")
        http = event["requestContext"]["http"]
        assert event["routeKey"] in routes, path.name
        assert event["routeKey"] == f"{http['method']} {event['rawPath']}" == event["requestContext"]["routeKey"]
        assert event["requestContext"]["requestId"] == f"evt-{path.stem}"


@pytest.mark.parametrize("family", FAMILIES)
def test_event_files_have_the_same_shape_as_the_tabular_ones(family):
    reference = load_event("tabular/predict.json")
    for path in sorted((EVENTS / family).glob("*.json")):
        event = load_event(f"{family}/{path.name}")
        expected_keys = set(reference) if "body" in event else set(reference) - {"body"}
        assert set(event) == expected_keys, path.name
        assert set(event["requestContext"]) == set(reference["requestContext"]), path.name
        assert event["requestContext"]["time"] == reference["requestContext"]["time"]
        assert event["headers"]["host"] == reference["headers"]["host"]
