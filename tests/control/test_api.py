"""The control API through FastAPI's TestClient, with moto and the real deployer behind it."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta



def test_list_models_shows_live_version_function_and_last_deployment(world, api):
    # GIVEN tabular v1 then v2 deployed by the deployer, digits never deployed
    world.publish(1)
    world.publish(2)
    # WHEN the models are listed
    response = api.get("/models")
    # THEN tabular is live at v2 on its function, digits is known but has nothing live
    assert response.status_code == 200
    models = {m["name"]: m for m in response.json()["models"]}
    assert set(models) == {"tabular", "digits"}
    tabular = models["tabular"]
    assert (tabular["live_version"], tabular["function_name"], tabular["canary"]) == (2, "lepton-test-tabular", None)
    assert tabular["live_function_version"] == world.alias()["FunctionVersion"]
    assert tabular["live_model_source"] == "layer"  # the model travels in its function version
    assert tabular["last_deployment"]["version"] == 2 and tabular["last_deployment"]["outcome"] == "promoted"
    assert models["digits"]["live_version"] is None and models["digits"]["last_deployment"] is None


def test_get_model_lists_every_version_with_its_manifest_and_state(world, api):
    world.publish(1)
    v2 = world.publish(2)
    world.upload(3, manifest=False)  # an upload still in progress
    response = api.get("/models/tabular")
    assert response.status_code == 200
    body = response.json()
    states = {v["version"]: v["state"] for v in body["versions"]}
    assert [v["version"] for v in body["versions"]] == [3, 2, 1]
    assert states == {3: "incomplete", 2: "live", 1: "previous"}
    live = body["manifest"]
    assert live["version"] == 2 and live["sha256"] == hashlib.sha256(v2).hexdigest() and live["size"] == len(v2)
    assert live["metrics"] == {"accuracy": 0.9} and live["labels"] == ["malignant", "benign"]
    assert live["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 3]}]
    assert live["outcome"] == "promoted" and live["quantized"] is False
    assert body["alias"]["function_version"] == body["live_function_version"] and body["notes"] == []


def test_unknown_model_is_404_with_the_models_this_api_serves(world, api):
    for method, path in (("GET", "/models/nope"), ("POST", "/models/nope/rollback"),
                         ("POST", "/models/nope/promote"), ("POST", "/models/nope/uploads"),
                         ("GET", "/models/Not_A_Name")):
        response = api.request(method, path)
        assert response.status_code == 404, (path, response.text)
        assert "digits, tabular" in response.json()["error"], response.json()


def test_rollback_without_a_version_serves_the_previous_one_and_records_who(world, api):
    world.publish(1)
    world.publish(2)
    response = api.post("/models/tabular/rollback", json={"reason": "bad outputs"})
    assert response.status_code == 200, response.text
    attempt = response.json()
    assert (attempt["outcome"], attempt["version"], attempt["actor"]) == ("rolled_back", 1, "api")
    assert attempt["reason"] == "rolled back from version 2 to 1; bad outputs"
    # the alias really moved: requests now get the function version that carries v1
    assert world.served_version() == "1"
    assert api.get("/models").json()["models"][1]["live_version"] == 1
    newest = api.get("/deployments", params={"model": "tabular"}).json()["deployments"][0]
    assert newest["attempt_id"] == attempt["attempt_id"]


def test_rollback_to_a_named_version_and_with_no_body(world, api):
    world.publish(1)
    world.publish(2)
    assert api.post("/models/tabular/rollback").json()["version"] == 1  # no body at all: the previous one
    forward = api.post("/models/tabular/rollback", json={"version": 2})
    assert forward.status_code == 200 and forward.json()["version"] == 2
    assert world.served_version() == "2"


def test_rollback_with_nothing_to_roll_back_to_is_409(world, api):
    never = api.post("/models/digits/rollback")
    assert never.status_code == 409
    assert never.json() == {"error": "no version of 'digits' has been deployed yet"}
    world.publish(1)
    only_one = api.post("/models/tabular/rollback")
    assert only_one.status_code == 409
    assert only_one.json()["error"] == "no version of 'tabular' older than 1 has been live"
    unknown = api.post("/models/tabular/rollback", json={"version": 7})
    assert unknown.status_code == 409 and "never published" in unknown.json()["error"]
    assert world.served_version() == "1"


def test_rollback_while_another_deployment_holds_the_lease_is_409(world, api):
    world.publish(1)
    world.publish(2)
    assert world.registry.acquire_lease("tabular", "deployer:abc", "promote v3", 60)
    response = api.post("/models/tabular/rollback")
    assert response.status_code == 409
    assert "another deployment of 'tabular' is in progress (promote v3" in response.json()["error"]
    assert world.served_version() == "2"


def test_promote_finishes_a_running_canary(world, api, monkeypatch):
    world.publish(1)
    monkeypatch.setenv("LEPTON_CANARY_WEIGHT", "0.25")
    world.publish(2)
    canary = next(m for m in api.get("/models").json()["models"] if m["name"] == "tabular")["canary"]
    assert canary["version"] == 2 and canary["weight"] == 0.25
    assert world.alias()["RoutingConfig"]["AdditionalVersionWeights"] == {canary["function_version"]: 0.25}
    response = api.post("/models/tabular/promote")
    assert response.status_code == 200, response.text
    assert (response.json()["outcome"], response.json()["version"]) == ("promoted", 2)
    assert world.served_version() == "2" and not world.alias().get("RoutingConfig", {}).get("AdditionalVersionWeights")
    again = api.post("/models/tabular/promote")
    assert again.status_code == 409 and again.json()["error"] == "no canary of 'tabular' is running; version 2 is live"


def policy_of(upload: dict) -> dict:
    """The POST policy S3 will hold the upload to: its conditions, by name, and when it expires."""
    document = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = {}
    for condition in document["conditions"]:
        if isinstance(condition, dict):
            conditions.update(condition)
        else:
            conditions[condition[0] if condition[0] == "content-length-range" else condition[1]] = condition
    return {"expiration": document["expiration"], **conditions}


def test_uploads_presign_size_capped_posts_of_the_next_version_model_first_manifest_last(world, api):
    world.publish(1)
    world.publish(2)
    response = api.post("/models/tabular/uploads", json={})
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["version"] == 3 and grant["expires_in"] == 900 and grant["bucket"] == world.control_env["LEPTON_MODEL_BUCKET"]
    assert [(u["file"], u["key"], u["method"], u["max_bytes"]) for u in grant["uploads"]] == [
        ("model.onnx", "models/tabular/3/model.onnx", "POST", 104857600),  # LEPTON_MAX_UPLOAD_BYTES
        ("manifest.json", "models/tabular/3/manifest.json", "POST", 1048576)]
    for upload in grant["uploads"]:
        policy = policy_of(upload)
        # the key is fixed, the size bounded, the signature SigV4, the policy short-lived
        assert policy["key"] == upload["fields"]["key"] == upload["key"]
        assert policy["bucket"] == grant["bucket"]
        assert policy["content-length-range"] == ["content-length-range", 1, upload["max_bytes"]]
        assert upload["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
        expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        assert timedelta(seconds=880) < expires - datetime.now(UTC) <= timedelta(seconds=900)
    assert "model.onnx first, then manifest.json" in grant["instructions"]
    assert api.post("/models/tabular/uploads", json={"version": 10}).json()["version"] == 10


def test_uploads_for_a_tokenizer_model_presign_its_tokenizer_between_model_and_manifest(world, api):
    grant = api.post("/models/tabular/uploads", json={"tokenizer": True}).json()
    version = grant["version"]
    assert [(u["file"], u["key"]) for u in grant["uploads"]] == [
        ("model.onnx", f"models/tabular/{version}/model.onnx"),
        ("tokenizer.json", f"models/tabular/{version}/tokenizer.json"),
        ("manifest.json", f"models/tabular/{version}/manifest.json")]
    assert policy_of(grant["uploads"][1])["key"] == grant["uploads"][1]["key"]
    assert "model.onnx first, then tokenizer.json, then manifest.json" in grant["instructions"]


def test_the_upload_size_cap_comes_from_lepton_max_upload_bytes(world, api, monkeypatch):
    monkeypatch.setenv("LEPTON_MAX_UPLOAD_BYTES", "2048")
    grant = api.post("/models/digits/uploads", json={}).json()
    assert policy_of(grant["uploads"][0])["content-length-range"] == ["content-length-range", 1, 2048]
    monkeypatch.setenv("LEPTON_MAX_UPLOAD_BYTES", "12")
    refused = api.post("/models/digits/uploads", json={})
    assert refused.status_code == 500 and "LEPTON_MAX_UPLOAD_BYTES" in refused.json()["error"]


def test_uploads_for_an_existing_or_older_version_are_409(world, api):
    world.publish(1)
    world.publish(2)
    world.upload(3, manifest=False)
    exists = api.post("/models/tabular/uploads", json={"version": 3})
    assert exists.status_code == 409
    assert exists.json()["error"] == ("version 3 of 'tabular' already exists in s3://lepton-models-control/models/"
                                      "tabular/; the next free version is 4")
    world.upload(5, manifest=False)
    backwards = api.post("/models/tabular/uploads", json={"version": 4})
    assert backwards.status_code == 409
    assert backwards.json()["error"] == ("version 4 of 'tabular' is not above the highest existing version 5; uploads "
                                         "only move forward (next: 6); use rollback to serve an older version")


def test_bad_bodies_and_queries_get_4xx_with_a_message(world, api):
    world.publish(1)
    cases = [
        (api.post("/models/tabular/rollback", json={"version": 0}), 422, "body.version: Input should be greater than or equal to 1"),
        (api.post("/models/tabular/rollback", json={"version": "1"}), 422, "body.version: Input should be a valid integer"),
        (api.post("/models/tabular/rollback", json={"verison": 1}), 422, "body.verison: Extra inputs are not permitted"),
        (api.post("/models/tabular/uploads", json={"version": 2.5}), 422, "body.version: Input should be a valid integer"),
        (api.post("/models/tabular/rollback", content=b"{oops", headers={"content-type": "application/json"}),
         400, "the request body is not valid JSON"),
        (api.get("/deployments", params={"limit": 0}), 422, "query.limit: Input should be greater than or equal to 1"),
        (api.get("/deployments", params={"limit": "many"}), 422, "query.limit: Input should be a valid integer"),
        (api.get("/deployments", params={"model": "Bad_Name"}), 400, "'Bad_Name' is not a model name"),
        (api.get("/nothing/here"), 404, "no route for GET /nothing/here"),
        (api.delete("/models/tabular"), 405, "no route for DELETE /models/tabular"),
    ]
    for response, status, message in cases:
        assert response.status_code == status, (message, response.text)
        assert message in response.json()["error"], response.json()
        assert "Traceback" not in response.text
    assert world.served_version() == "1"  # nothing moved


def test_deployments_are_newest_first_filtered_and_limited(world, api):
    world.publish(1)
    world.publish(2)
    api.post("/models/tabular/rollback")
    everything = api.get("/deployments").json()["deployments"]
    assert [(a["version"], a["outcome"]) for a in everything] == [(1, "rolled_back"), (2, "promoted"), (1, "promoted")]
    assert [a["model_source"] for a in everything] == ["layer", "layer", "layer"]
    assert [a["created_at"] for a in everything] == sorted((a["created_at"] for a in everything), reverse=True)
    one = api.get("/deployments", params={"model": "tabular", "limit": 1}).json()["deployments"]
    assert [(a["version"], a["outcome"]) for a in one] == [(1, "rolled_back")]
    assert api.get("/deployments", params={"model": "digits"}).json() == {"deployments": []}


def test_openapi_describes_control_and_inference_routes_and_docs_are_served(world, api):
    doc = api.get("/openapi.json").json()
    paths = doc["paths"]
    assert {"/models", "/models/{name}", "/models/{name}/rollback", "/models/{name}/promote",
            "/models/{name}/uploads", "/deployments"} <= set(paths)
    assert {"/v2/health/live", "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready",
            "/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"} <= set(paths)
    # One friendly route per model, each with its own request schema
    for model in ("digits", "tabular"):
        body = paths[f"/models/{model}/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/PredictRequest-{model}"}
    assert "/models/{name}/predict" not in paths
    assert paths["/models/{name}/rollback"]["post"]["security"] == [{"sigv4": []}]
    assert doc["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    infer = paths["/v2/models/{name}/infer"]["post"]
    assert "security" not in infer and infer["operationId"] == "modelInfer"
    assert infer["parameters"][0]["schema"]["enum"] == ["digits", "tabular"]
    assert infer["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/InferenceRequest"}
    # The binary extension's header, described as the function reads it
    header = next(p for p in infer["parameters"] if p["in"] == "header")
    assert header["schema"] == {"type": "string", "pattern": "^[0-9]{1,12}$"}
    tensor = doc["components"]["schemas"]["InferTensor"]
    assert "BYTES" in tensor["properties"]["datatype"]["enum"]
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "/openapi.json" in docs.text
