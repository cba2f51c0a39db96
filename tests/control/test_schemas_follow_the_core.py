"""The control API's bodies are derived from the deployment core's dataclasses: a field the core
gains reaches the API with no edit to control/, and none is dropped on the way."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

from lepton_deploy.registry import Attempt
from lepton_serving.manifest import TensorSpec

from control.schemas import AttemptOut, TensorSpecOut

# Run in a fresh interpreter: the core gains its field before anything of control/ is imported,
# as it would if the field had been written into registry.py.
GAINED_A_FIELD = """
import dataclasses, json
import boto3
from moto import mock_aws

import lepton_deploy.registry as registry

@dataclasses.dataclass
class Attempt(registry.Attempt):
    reviewer: str = ""

registry.Attempt = Attempt

with mock_aws():
    from fastapi.testclient import TestClient
    from lepton.local.deploy_setup import provision
    from lepton_serving.table import DeploymentsTable

    made = {s: boto3.client(s, region_name="us-east-1") for s in ("s3", "sqs", "dynamodb")}
    env = provision(made, "lepton-models", {"tabular": "lepton-tabular"}, prefix="gained")
    env.pop("_names")
    table = registry.Registry(DeploymentsTable(made["dynamodb"], env["LEPTON_DEPLOYMENTS_TABLE"]))
    table.record_attempt(Attempt("tabular", 3, "rejected", "golden example off by 0.4", check="golden",
                                 reviewer="ana"))

    from control.app import create_app

    api = TestClient(create_app({**env, "LEPTON_MODEL_BUCKET": "lepton-models"}))
    body = api.get("/deployments").json()
    schema = api.get("/openapi.json").json()["components"]["schemas"]["AttemptOut"]["properties"]
    print(json.dumps({"deployment": body["deployments"][0], "documented": sorted(schema)}))
"""


def test_a_field_the_registry_gains_reaches_the_deployments_route_and_its_schema():
    # GIVEN the registry's Attempt with one field more, recorded with a value
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    # WHEN the control API lists deployments
    result = subprocess.run([sys.executable, "-c", GAINED_A_FIELD], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN the new field is in the answer, with its value, and in the OpenAPI schema
    assert seen["deployment"]["reviewer"] == "ana"
    assert seen["deployment"]["outcome"] == "rejected" and seen["deployment"]["check"] == "golden"
    assert "reviewer" in seen["documented"]


def test_every_field_of_an_attempt_and_a_tensor_is_in_the_api_body():
    assert list(AttemptOut.model_fields) == [f.name for f in dataclasses.fields(Attempt)]
    assert list(TensorSpecOut.model_fields) == [f.name for f in dataclasses.fields(TensorSpec)]
    attempt = Attempt("tabular", 2, "promoted", "all checks passed", function_version="7", model_source="layer",
                      timings_ms={"gate": 12.5}, source={"bucket": "b", "key": "models/tabular/2/manifest.json"})
    assert AttemptOut.model_validate(attempt, from_attributes=True).model_dump(mode="json") == {
        **attempt.to_dict(), "outcome": "promoted"}
