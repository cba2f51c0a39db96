"""The local gateway's authorizers against real signatures and real tokens: SigV4 recomputed
with botocore (a forged, tampered, expired or foreign signature is refused), and the JWT
authorizer's checks on RS256 tokens from the local issuer. The template's InferenceAuth decides
which routes each one guards."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from hypothesis import given, settings
from hypothesis import strategies as st
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eventfiles import ROOT
from lepton.local.authorizers import LocalAuthorizers
from lepton.local.gateway import LocalGateway
from lepton.local.issuer import LOCAL_AUDIENCE, LOCAL_ISSUER, LocalIssuer
from lepton.local.template import Template

HOST = "127.0.0.1:3000"
INFER = "/v2/models/tabular/infer"
BODY = b'{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[13.0,0.12,22.0]}]}'


def signed(method: str, path: str, body: bytes = b"", query: str = "", key: str = "testing",
           secret: str = "testing", region: str = "us-east-1", when: datetime | None = None) -> dict[str, str]:
    """Headers botocore's SigV4 gives the request, as the CLI and the fuzzer sign it."""
    request = AWSRequest(method=method, url=f"http://{HOST}{path}" + (f"?{query}" if query else ""), data=body,
                         headers={"content-type": "application/json"} if body else {})
    signer = SigV4Auth(Credentials(key, secret), "execute-api", region)
    if when is None:
        signer.add_auth(request)
    else:  # botocore signs "now"; an old or future request is signed at its own time
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        signer._modify_request_before_signing(request)
        canonical = signer.canonical_request(request)
        string = signer.string_to_sign(request, canonical)
        signer._inject_signature_to_request(request, signer.signature(string, request))
    return {"host": HOST, **{k.lower(): v for k, v in request.headers.items()}}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("issuer"))


def gateway(mode: str, issuer: LocalIssuer) -> tuple[LocalGateway, list[dict]]:
    """The template's routes under InferenceAuth=mode, each call recorded instead of run."""
    parameters = {"InferenceAuth": mode, **({"JwtIssuer": LOCAL_ISSUER, "JwtAudience": LOCAL_AUDIENCE}
                                             if mode == "JWT" else {})}
    template = Template(ROOT / "template.yaml", parameters=parameters)
    seen: list[dict] = []

    def dispatch(function: str, event: dict) -> dict:
        seen.append(event)
        return {"statusCode": 200, "body": "{}"}

    authorize = LocalAuthorizers("us-east-1", template.jwt_authorizers(), jwks=issuer.jwks)
    return LocalGateway(template.routes(), dispatch, authorize=authorize), seen


# ------------------------------------------------------------------------------------------- SigV4
def test_a_botocore_signature_passes_and_the_function_is_told_who_signed(issuer):
    api, seen = gateway("NONE", issuer)
    status, _, _ = api.handle("GET", "/models/tabular", "", signed("GET", "/models/tabular"), b"")
    assert status == 200
    assert seen[-1]["requestContext"]["authorizer"]["iam"]["accessKey"] == "testing"


def test_a_signed_query_and_body_pass(issuer):
    api, _ = gateway("NONE", issuer)
    headers = signed("GET", "/deployments", query="model=digits&limit=5")
    assert api.handle("GET", "/deployments", "model=digits&limit=5", headers, b"")[0] == 200
    body = b'{"version": 1, "reason": "bad canary"}'
    headers = signed("POST", "/models/tabular/rollback", body)
    assert api.handle("POST", "/models/tabular/rollback", "", headers, body)[0] == 200


@pytest.mark.parametrize(("change", "words"), [
    ("body", "signature we calculated does not match"),
    ("path", "signature we calculated does not match"),
    ("query", "signature we calculated does not match"),
    ("secret", "signature we calculated does not match"),
    ("key", "security token included in the request is invalid"),
    ("region", "Credential should be scoped to a valid region"),
    ("old", "Signature expired"),
    ("future", "Signature not yet current"),
])
def test_a_tampered_forged_or_stale_signature_is_refused_with_403(issuer, change, words):
    api, seen = gateway("NONE", issuer)
    body = b'{"version": 1}'
    kwargs = {"secret": "not-the-secret"} if change == "secret" else {"key": "AKIAOTHER"} if change == "key" else \
        {"region": "eu-west-1"} if change == "region" else {}
    if change in ("old", "future"):
        kwargs["when"] = datetime.now(UTC) + timedelta(minutes=6 if change == "future" else -6)
    headers = signed("POST", "/models/tabular/rollback", body, query="dry=1", **kwargs)
    path = "/models/digits/rollback" if change == "path" else "/models/tabular/rollback"
    status, _, out = api.handle("POST", path, "dry=2" if change == "query" else "dry=1", headers,
                                b'{"version": 2}' if change == "body" else body)
    assert status == 403 and words in json.loads(out)["message"]
    assert seen == []


def test_a_signature_four_minutes_old_still_passes(issuer):
    api, _ = gateway("NONE", issuer)
    headers = signed("GET", "/models", when=datetime.now(UTC) - timedelta(minutes=4))
    assert api.handle("GET", "/models", "", headers, b"")[0] == 200


def test_an_unsigned_or_shape_only_signature_is_refused(issuer):
    api, _ = gateway("NONE", issuer)
    assert api.handle("GET", "/models", "", {}, b"")[0] == 403
    shape_only = {"host": HOST, "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
                  "authorization": "AWS4-HMAC-SHA256 Credential=testing/" + datetime.now(UTC).strftime("%Y%m%d")
                  + "/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64}
    status, _, out = api.handle("GET", "/models", "", shape_only, b"")
    assert status == 403 and "does not match" in json.loads(out)["message"]


@pytest.mark.parametrize("host", ["[", "[::1", "a:b:c]", "127.0.0.1:99999999999", "exa mple", "\u2603:80"])
def test_a_signed_request_whose_host_cannot_be_parsed_is_refused_with_403(issuer, host):
    api, seen = gateway("NONE", issuer)
    headers = {**signed("GET", "/models"), "host": host}
    status, _, out = api.handle("GET", "/models", "", headers, b"")
    assert status == 403 and "does not match" in json.loads(out)["message"]
    assert seen == []


def test_no_host_header_makes_the_sigv4_check_answer_anything_but_200_or_403(issuer):
    api, _ = gateway("NONE", issuer)  # once: parsing the template takes longer than a hundred checks

    @settings(max_examples=150, deadline=None, database=None)
    @given(host=st.text(max_size=40), path=st.sampled_from(["/models", "/deployments", "/models/tabular"]))
    def check(host: str, path: str) -> None:
        headers = {**signed("GET", path), "host": host}
        assert api.handle("GET", path, "", headers, b"")[0] in (200, 403)

    check()


# ------------------------------------------------------------------------------------------- InferenceAuth
ROUTES = [("GET", "/v2/models/tabular"), ("GET", "/v2/models/digits/ready"), ("POST", INFER),
          ("POST", "/v2/models/sentiment/versions/3/infer"), ("POST", "/models/recommender/predict")]
OPEN_ROUTES = [("GET", "/v2"), ("GET", "/v2/health/ready"), ("POST", "/v2/repository/index"), ("GET", "/openapi.json")]


def test_inference_auth_none_leaves_every_model_route_open_and_control_routes_signed(issuer):
    api, _ = gateway("NONE", issuer)
    for method, path in ROUTES + OPEN_ROUTES:
        assert api.handle(method, path, "", {}, b"")[0] == 200, (method, path)
    assert api.handle("GET", "/models", "", {}, b"")[0] == 403


def test_inference_auth_iam_needs_a_signature_on_every_model_route_only(issuer):
    api, seen = gateway("IAM", issuer)
    for method, path in ROUTES:
        body = BODY if method == "POST" else b""
        assert api.handle(method, path, "", {}, body)[0] == 403, (method, path)
        assert api.handle(method, path, "", signed(method, path, body), body)[0] == 200, (method, path)
    assert seen[-1]["requestContext"]["authorizer"]["iam"]["userId"] == "testing"
    for method, path in OPEN_ROUTES:
        assert api.handle(method, path, "", {}, b"")[0] == 200, (method, path)


def test_inference_auth_jwt_takes_a_local_token_on_every_model_route_and_passes_its_claims(issuer):
    api, seen = gateway("JWT", issuer)
    token = issuer.token(subject="ana", scope="infer")
    for method, path in ROUTES:
        assert api.handle(method, path, "", {}, b"")[0] == 401, (method, path)
        assert api.handle(method, path, "", {"authorization": f"Bearer {token}"}, b"")[0] == 200, (method, path)
    assert seen[-1]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "ana"
    assert seen[-1]["requestContext"]["authorizer"]["jwt"]["scopes"] == ["infer"]
    # without the Bearer prefix, as API Gateway also accepts it
    assert api.handle("POST", INFER, "", {"authorization": token}, BODY)[0] == 200
    for method, path in OPEN_ROUTES:
        assert api.handle(method, path, "", {}, b"")[0] == 200, (method, path)
    assert api.handle("GET", "/models", "", {"authorization": f"Bearer {token}"}, b"")[0] == 403  # IAM stays IAM


def test_a_token_whose_aud_is_missing_passes_on_its_client_id_as_api_gateway_allows(issuer):
    api, _ = gateway("JWT", issuer)
    token = issuer.token(aud=None, client_id=LOCAL_AUDIENCE)
    assert api.handle("POST", INFER, "", {"authorization": f"Bearer {token}"}, BODY)[0] == 200


def other_key_token(tmp_path) -> str:
    stranger = LocalIssuer(tmp_path / "stranger")  # same kid, another key: the signature cannot verify
    return stranger.token()


@pytest.mark.parametrize(("token", "description"), [
    (lambda issuer, tmp: other_key_token(tmp), "signature does not verify"),
    (lambda issuer, tmp: issuer.token(iss="https://elsewhere.example.com"), "iss is not the authorizer's issuer"),
    (lambda issuer, tmp: issuer.token(audience="someone-else"), "aud (or client_id) is not one of"),
    (lambda issuer, tmp: issuer.token(seconds=-30), "the token has expired"),
    (lambda issuer, tmp: issuer.token(nbf=int(datetime.now(UTC).timestamp()) + 600), "not valid yet"),
    (lambda issuer, tmp: "not.a.token", "the token is invalid"),
])
def test_a_token_with_a_wrong_signature_issuer_audience_or_time_is_refused_with_401(issuer, tmp_path, token,
                                                                                      description):
    api, seen = gateway("JWT", issuer)
    status, headers, out = api.handle("POST", INFER, "", {"authorization": f"Bearer {token(issuer, tmp_path)}"}, BODY)
    assert (status, json.loads(out)) == (401, {"message": "Unauthorized"})
    assert description in headers["www-authenticate"] and 'error="invalid_token"' in headers["www-authenticate"]
    assert seen == []
