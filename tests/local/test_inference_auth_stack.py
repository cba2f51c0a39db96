"""`lepton up --inference-auth iam|jwt`: a real local stack (moto server process, the deployer,
the API on loopback) serving the tabular model, whose routes take only what the template's
InferenceAuth lets through, while the V2 server routes stay open and the control API keeps
its SigV4."""
from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eventfiles import ROOT
from lepton.local.authorizers import LocalAuthorizers
from lepton.cli import main
from lepton.client import ControlClient, resolve_target
from lepton.local.gateway import Incoming
from lepton.local.stack import LocalStack, StackSettings, boot
from lepton.local.template import Route, Template
from local_stack import aws_environment, free_port, moto_process, serving  # noqa: F401 - fixture
from onnx_models import run
from stack_models import write_all
from v2_cases import TABULAR_ROWS

INFER = {"inputs": [{"name": "features", "shape": [2, 3], "datatype": "FP32", "data": TABULAR_ROWS}]}


@pytest.fixture(scope="module", params=["iam", "jwt"])
def stack(request, tmp_path_factory) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp(f"auth-{request.param}")
    models = write_all(state / "artifacts")
    with moto_process() as aws_port:
        settings = StackSettings(root=ROOT, api_port=free_port(), aws_port=aws_port, state_dir=state,
                                 train_missing=False, external_aws=True, models=["tabular"],
                                 inference_auth=request.param)
        stack = boot(settings)
        yield from _served(stack, request.param, models)


def _served(stack: LocalStack, mode: str, models: dict[str, bytes]) -> Iterator[LocalStack]:
    try:
        with serving(stack) as base_url:
            stack.base_url, stack.mode, stack.tabular = base_url, mode, models["tabular"]
            yield stack
    finally:
        stack.stop()


def sigv4(url: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers)


def credentials(stack: LocalStack, url: str, body: bytes) -> dict[str, str]:
    """What a caller allowed under the stack's InferenceAuth sends."""
    if stack.mode == "iam":
        return sigv4(url, body)
    return {"content-type": "application/json", "authorization": f"Bearer {stack.settings.issuer.token()}"}


def test_a_model_route_refuses_an_anonymous_call_and_answers_an_authorized_one(stack):
    url = f"{stack.base_url}/v2/models/tabular/infer"
    body = json.dumps(INFER).encode()
    anonymous = requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=10)
    assert anonymous.status_code == {"iam": 403, "jwt": 401}[stack.mode]
    allowed = requests.post(url, data=body, headers=credentials(stack, url, body), timeout=10)
    assert allowed.status_code == 200, allowed.text
    expected = run(stack.tabular, {"features": np.array(TABULAR_ROWS, np.float32)})["probabilities"]
    np.testing.assert_allclose(allowed.json()["outputs"][0]["data"], expected.ravel(), rtol=1e-6)
    predict = f"{stack.base_url}/models/tabular/predict"
    assert requests.post(predict, json={"instances": TABULAR_ROWS}, timeout=10).status_code in (401, 403)


def test_the_server_routes_stay_open_and_the_control_api_keeps_sigv4(stack):
    assert requests.get(f"{stack.base_url}/v2", timeout=10).json()["name"] == "lepton"
    assert requests.get(f"{stack.base_url}/v2/health/ready", timeout=10).status_code == 200
    assert requests.get(f"{stack.base_url}/models", timeout=10).status_code == 403
    models = ControlClient(resolve_target(stack.base_url)).models()["models"]
    assert {m["name"]: m["live_version"] for m in models}["tabular"] == 1


def test_lepton_token_prints_a_token_the_jwt_route_takes(tmp_path, monkeypatch, capsys):
    # GIVEN a project folder, as `lepton up --inference-auth jwt` and `lepton token` run in it
    (tmp_path / "template.yaml").write_text((ROOT / "template.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    assert main(["token", "--subject", "ana", "--minutes", "5"]) == 0
    token = capsys.readouterr().out.strip()
    # THEN it verifies against the key the stack in that folder would use
    settings = StackSettings(root=tmp_path, inference_auth="jwt")
    template = Template(tmp_path / "template.yaml", parameters=settings.parameters)
    check = LocalAuthorizers("us-east-1", template.jwt_authorizers(), jwks=settings.issuer.jwks)
    verdict = check(Route("POST", "/v2/models/tabular/infer", "TabularFunction", "JwtAuthorizer"),
                    Incoming("POST", "/", "/", "", {"authorization": f"Bearer {token}"}, b""))
    assert verdict.allowed and verdict.context["jwt"]["claims"]["sub"] == "ana"
