"""IAM auth for the local API: what API Gateway demands of a route whose authorizer is AWS_IAM.

The signature is recomputed, not trusted: the canonical request is rebuilt from what arrived
(method, path as sent, query, the signed headers, the body) and signed again with botocore's
SigV4 and the local stack's secret key. A request whose X-Amz-Date is more than five minutes
away from now is refused, as AWS refuses it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .gateway import AuthDecision, Incoming

#: The local stack's credentials (lepton.local.local_aws.LOCAL_CREDENTIALS): access key -> secret key.
LOCAL_SECRETS = {"testing": "testing"}
SERVICE = "execute-api"
LOCAL_REGION = "us-east-1"  # lepton.local.local_aws.REGION
#: How far X-Amz-Date may be from the gateway's clock, either way.
MAX_SKEW = timedelta(minutes=5)

_HEADER = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/"
                     r"(?P<service>[^/\s]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*"
                     r"Signature=(?P<signature>[0-9a-f]{64})")
_DATE = "%Y%m%dT%H%M%SZ"

MISSING = "Missing Authentication Token: sign the request with SigV4 (IAM auth)"
INVALID_KEY = "The security token included in the request is invalid"
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.")


def verify_sigv4(request: Incoming, region: str, secrets: Mapping[str, str] = LOCAL_SECRETS,
                 now: datetime | None = None) -> AuthDecision:
    """Allowed when ``request`` carries a valid, current SigV4 signature of a known key."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return _forbidden(MISSING)
    found = _HEADER.fullmatch(auth.strip())
    if found is None:
        return _forbidden("Authorization header is not a SigV4 one: "
                          "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...")
    secret = secrets.get(found["key"])
    if secret is None:
        return _forbidden(INVALID_KEY)
    if found["service"] != SERVICE or found["region"] != region:
        return _forbidden(f"Credential should be scoped to a valid region and service: "
                          f"{region}/{SERVICE}, not {found['region']}/{found['service']}")
    stamp = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, _DATE).replace(tzinfo=UTC)
    except ValueError:
        return _forbidden("Authorization header requires an 'X-Amz-Date' header (YYYYMMDDTHHMMSSZ)")
    if stamp[:8] != found["date"]:
        return _forbidden(f"Date in Credential scope does not match YYYYMMDD from X-Amz-Date: {found['date']}")
    now = now or datetime.now(UTC)
    if signed_at < now - MAX_SKEW:
        return _forbidden(f"Signature expired: {stamp} is now earlier than "
                          f"{(now - MAX_SKEW).strftime(_DATE)} ({now.strftime(_DATE)} - 5 min.)")
    if signed_at > now + MAX_SKEW:
        return _forbidden(f"Signature not yet current: {stamp} is still later than "
                          f"{(now + MAX_SKEW).strftime(_DATE)} ({now.strftime(_DATE)} + 5 min.)")
    signed = found["signed"].split(";")
    if "host" not in signed or any(name not in request.headers for name in signed):
        return _forbidden(MISMATCH)
    claimed = request.headers.get("x-amz-content-sha256")
    if "x-amz-content-sha256" in signed and claimed != hashlib.sha256(request.body).hexdigest():
        return _forbidden("The provided 'x-amz-content-sha256' header does not match what was computed.")
    try:
        expected = _signature(request, signed, found["key"], secret, region)
    except Exception:  # noqa: BLE001 - the request's own bytes (a Host of "[") cannot be signed: refused
        return _forbidden(MISMATCH)
    if not hmac.compare_digest(expected, found["signature"]):
        return _forbidden(MISMATCH)
    return AuthDecision(context={"iam": {"accessKey": found["key"], "accountId": "123456789012",
                                    "userArn": f"arn:aws:iam::123456789012:user/{found['key']}",
                                    "userId": found["key"]}})


def _signature(request: Incoming, signed: list[str], key: str, secret: str, region: str) -> str:
    """botocore's SigV4 over the request as it arrived, with only the headers it signed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"http://{request.headers['host']}{request.raw_path}" + (f"?{request.query}" if request.query else "")
    rebuilt = AWSRequest(method=request.method, url=url, data=request.body,
                         headers={name: request.headers[name] for name in signed})
    rebuilt.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(key, secret), SERVICE, region)
    canonical = signer.canonical_request(rebuilt)
    return signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)


def _forbidden(message: str) -> AuthDecision:
    return AuthDecision(403, message)


def sigv4_present(route: Any, request: Incoming) -> AuthDecision:
    """The authorizer of a gateway whose only guarded routes are AWS_IAM ones (the benchmark's
    server): the signature is verified in full, in the local region, as `verify_sigv4` does."""
    return verify_sigv4(request, LOCAL_REGION)
