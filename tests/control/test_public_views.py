"""The open views behind the playground: the model card and the deployment status show what a
request form and a status panel need, and never the names of the deployment's resources."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lepton_serving.manifest import GoldenExample
from lepton_serving.receipts import PUBLIC_FIELDS
from onnx_models import manifest_for, mlp_model

from control_names import BUCKET, FUNCTIONS

PLAYGROUND = Path(__file__).resolve().parents[2] / "functions" / "control" / "control" / "playground"


def upload(world, version: int, **fields) -> None:
    data = mlp_model(version).SerializeToString()
    described = manifest_for(data, "tabular", version, **fields)
    world.s3.put_object(Bucket=BUCKET, Key=described.model_key, Body=data)
    world.s3.put_object(Bucket=BUCKET, Key=described.manifest_key, Body=described.to_json().encode())
    world.deploy()


def leaks(world, text: str) -> list[str]:
    names = [BUCKET, world.control_env["LEPTON_DEPLOYMENTS_TABLE"], *FUNCTIONS.values(), "arn:aws", "123456789012"]
    return [name for name in names if name in text]


# ------------------------------------------------------------------------------------------- card
def test_the_card_has_labels_feature_names_metrics_and_the_first_golden_input_but_no_vocabulary(world, api):
    upload(world, 1, preprocessing={"feature_names": ["worst radius", "worst smoothness", "worst texture"],
                                    "vocabulary": ["", "[UNK]", "secret-ish"], "data_seed": 7},
           metrics={"accuracy": 0.93})
    response = api.get("/models/tabular/card")
    assert response.status_code == 200, response.text
    card = response.json()
    created, receipt = card.pop("created_at"), card.pop("receipt")
    assert card == {"name": "tabular", "version": 1, "family": "tabular", "labels": ["malignant", "benign"],
                    "preprocessing": {"feature_names": ["worst radius", "worst smoothness", "worst texture"]},
                    "metrics": {"accuracy": 0.93}, "example": {"features": [[0.5, -1.0, 0.2]]}}
    assert created.startswith("20") and leaks(world, response.text) == []
    # the live version's receipt, without its sha256 and function version
    assert receipt["version"] == 1 and receipt["p50_ms"] > 0 and receipt["requests"] == 100
    assert set(receipt) == set(PUBLIC_FIELDS)


def test_the_card_follows_the_live_version(world, api):
    upload(world, 1, metrics={"accuracy": 0.91})
    upload(world, 2, metrics={"accuracy": 0.95})
    assert (api.get("/models/tabular/card").json()["version"], api.get("/models/tabular/card").json()["metrics"]) \
        == (2, {"accuracy": 0.95})
    api.post("/models/tabular/rollback")
    assert api.get("/models/tabular/card").json()["version"] == 1


def test_a_card_before_any_version_is_503_and_for_an_unknown_model_404(world, api):
    waiting = api.get("/models/digits/card")
    assert waiting.status_code == 503
    assert waiting.json() == {"error": "no version of 'digits' is live yet, so it has no model card; upload one"}
    unknown = api.get("/models/nope/card")
    assert unknown.status_code == 404 and "unknown model 'nope'" in unknown.json()["error"]


def test_a_missing_live_manifest_is_503_without_the_bucket_name(world, api):
    upload(world, 1)
    world.s3.delete_object(Bucket=BUCKET, Key="models/tabular/1/manifest.json")
    response = api.get("/models/tabular/card")
    assert response.status_code == 503
    assert response.json() == {"error": "the manifest of tabular v1 is missing from the model bucket"}


def test_a_golden_example_over_32_kb_is_left_out_of_the_card():
    from control.public import model_card

    manifest = manifest_for(mlp_model(1).SerializeToString())
    assert model_card(manifest).example == {"features": [[0.5, -1.0, 0.2]]}
    rows = [[1234.5678, -1234.5678, 0.123456789]] * 1200  # about 40 KB of JSON
    manifest.golden = [GoldenExample({"features": rows}, {}), *manifest.golden]
    assert model_card(manifest).example is None


# ----------------------------------------------------------------------------------------- status
def test_status_shows_each_models_newest_drift_check_without_resource_names(world, api):
    from lepton_deploy.registry import DriftStatus

    # GIVEN the drift function recorded a check whose message names where a profile is kept
    upload(world, 1)
    world.registry.put_drift(DriftStatus(
        "tabular", "1", "alarm", f"drift: worst smoothness (PSI 7.33); see s3://{BUCKET}/models/tabular/1",
        "2026-12-07T10:00:00Z", rows=342, reference="training", worst_feature="worst smoothness", worst_psi=7.334,
        features={"worst radius": 0.02, "worst smoothness": 7.334}))
    # WHEN the open status is read
    drift = {m["name"]: m["drift"] for m in api.get("/status").json()["models"]}
    # THEN it carries the level, the worst feature and the message, with the bucket's name replaced
    assert drift["digits"] is None
    assert drift["tabular"] == {"version": "1", "level": "alarm", "checked_at": "2026-12-07T10:00:00Z",
                                "reference": "training", "worst_feature": "worst smoothness", "worst_psi": 7.334,
                                "message": "drift: worst smoothness (PSI 7.33); see s3://<bucket>/models/tabular/1"}


def test_status_shows_live_and_canary_versions_and_attempts_with_only_public_fields(world, api, monkeypatch):
    upload(world, 1)
    monkeypatch.setenv("LEPTON_CANARY_WEIGHT", "0.25")
    upload(world, 2)
    response = api.get("/status")
    assert response.status_code == 200, response.text
    status = response.json()
    models = {m["name"]: m for m in status["models"]}
    assert set(models) == {"tabular", "digits"}
    assert models["digits"] == {"name": "digits", "live_version": None, "canary": None, "updated_at": None,
                                "receipt": None, "drift": None}
    assert models["tabular"]["receipt"]["version"] == 1  # the live version's: version 2 is a canary
    assert models["tabular"]["live_version"] == 1
    assert (models["tabular"]["canary"]["version"], models["tabular"]["canary"]["weight"]) == (2, 0.25)
    assert [(a["version"], a["outcome"]) for a in status["deployments"]] == [(2, "canary"), (1, "promoted")]
    assert all(set(a) == {"model", "version", "outcome", "check", "reason", "checks", "created_at"}
               for a in status["deployments"])
    # each check on the published version by name, outcome and summary only: no figures, no function versions
    assert [[(c["name"], c["outcome"]) for c in a["checks"]] for a in status["deployments"]] == [
        [("pre_traffic", "passed"), ("replay", "skipped"), ("receipt", "passed")],
        [("pre_traffic", "passed"), ("replay", "skipped"), ("receipt", "passed")]]
    assert all(set(c) == {"name", "outcome", "summary"} for a in status["deployments"] for c in a["checks"])
    assert "lepton deployments" in status["hidden"]
    assert leaks(world, response.text) == []
    assert [a["version"] for a in api.get("/status", params={"limit": 1}).json()["deployments"]] == [2]
    assert api.get("/status", params={"limit": 0}).status_code == 422


def test_a_rejected_upload_shows_its_check_and_reason_with_the_bucket_replaced(world, api):
    world.s3.put_object(Bucket=BUCKET, Key="models/tabular/5/manifest.json", Body=b'{"name": "tabular"}')
    world.deploy()
    [attempt] = api.get("/status").json()["deployments"]
    assert (attempt["outcome"], attempt["check"]) == ("rejected", "manifest")
    assert attempt["reason"] == ("s3://<bucket>/models/tabular/5/manifest.json: "
                                 "manifest is missing version, sha256, size, inputs, outputs")
    full = api.get("/deployments").json()["deployments"][0]["reason"]  # behind IAM: as recorded
    assert f"s3://{BUCKET}/" in full


def test_an_open_views_own_failure_does_not_name_the_table(world, api):
    table = world.control_env["LEPTON_DEPLOYMENTS_TABLE"]
    import boto3

    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName=table)
    response = api.get("/status")
    assert response.status_code == 502
    assert table not in response.text and "<table>" in response.json()["error"]


# ------------------------------------------------------------------------------------ the page itself
def test_the_page_is_served_at_the_root_with_a_content_security_policy_that_allows_only_its_own_files(api):
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in page.text.replace('<script type="module" src="playground/app.js"></script>', "")


def test_every_file_the_page_loads_is_served_with_its_type():
    from control.app import create_app
    from fastapi.testclient import TestClient

    api = TestClient(create_app({}), raise_server_exceptions=False)  # static files need no configuration
    html = api.get("/").text
    wanted = set(re.findall(r'(?:src|href)="(playground/[^"]+)"', html))
    for script in PLAYGROUND.glob("*.js"):
        wanted |= {f"playground/{name}" for name in re.findall(r'from "\./([\w.]+)"', script.read_text())}
    assert {f"playground/{p.name}" for p in PLAYGROUND.iterdir()} - {"playground/index.html"} == wanted
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    for path in sorted(wanted):
        response = api.get(f"/{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"] == types[Path(path).suffix], path


@pytest.mark.parametrize("path", ["/playground/missing.js", "/playground/..%2Fapp.py", "/playground/",
                                  "/playground/%2e%2e/settings.py"])
def test_nothing_outside_the_playground_files_is_served(path):
    from control.app import create_app
    from fastapi.testclient import TestClient

    response = TestClient(create_app({}), raise_server_exceptions=False).get(path)
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_the_openapi_document_lists_the_open_views_and_leaves_the_page_out(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/models/{name}/card", "/status"):
        [operation] = paths[path].values()
        assert "security" not in operation and operation["tags"] == ["public"]
    assert "/" not in paths and not any(p.startswith("/playground") for p in paths)
