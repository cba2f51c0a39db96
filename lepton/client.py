"""A small client for the control API: SigV4-signed JSON requests (botocore signs, requests sends).

Targets: the local stack (http://127.0.0.1:3000, the local credentials `testing`), a deployed
stack by name (its CloudFormation output ``ApiUrl``, default AWS credentials), or any URL.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

LOCAL_URL = "http://127.0.0.1:3000"
LOCAL_REGION = "us-east-1"
SERVICE = "execute-api"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ControlError(Exception):
    """Something the user of the control API should read: a message, never a trace."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Target:
    url: str
    region: str
    local: bool  # loopback: the local stack and its fixed credentials
    stack: str = ""

    @property
    def where(self) -> str:
        return f"stack {self.stack} ({self.url})" if self.stack else self.url


def resolve_target(endpoint: str | None = None, stack: str | None = None, region: str | None = None) -> Target:
    """--stack NAME beats --endpoint URL beats the local stack."""
    if stack:
        return Target(stack_api_url(stack, region), region or _default_region(), False, stack)
    url = (endpoint or LOCAL_URL).rstrip("/")
    host = urlsplit(url).hostname or ""
    local = host in _LOOPBACK
    return Target(url, region or (LOCAL_REGION if local else _default_region()), local)


def stack_api_url(stack: str, region: str | None = None) -> str:
    outputs = stack_outputs(stack, region)
    if "ApiUrl" not in outputs:
        raise ControlError(f"stack '{stack}' has no ApiUrl output; is it a Lepton stack?")
    return outputs["ApiUrl"].rstrip("/")


def stack_outputs(stack: str, region: str | None = None) -> dict[str, str]:
    """A deployed stack's CloudFormation outputs (ApiUrl, ModelBucketName, DeploymentsTableName, ...)."""
    import boto3
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
    from lepton_serving.clients import error_message

    try:
        found = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    except (ClientError, BotoCoreError) as exc:
        raise ControlError(f"cannot read stack '{stack}': {error_message(exc)}") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def _default_region() -> str:
    import boto3

    return boto3.session.Session().region_name or LOCAL_REGION


class ControlClient:
    def __init__(self, target: Target, credentials: Any = None, timeout: float = 30.0):
        import requests

        self.target = target
        self.credentials = credentials or _credentials(target)
        self.timeout = timeout
        self.http = requests.Session()

    # -- the API ------------------------------------------------------------------------------
    def models(self) -> dict[str, Any]:
        return self.call("GET", "/models")

    def model(self, name: str) -> dict[str, Any]:
        return self.call("GET", f"/models/{name}")

    def rollback(self, name: str, version: int | None = None, reason: str = "") -> dict[str, Any]:
        return self.call("POST", f"/models/{name}/rollback", body=_drop_empty(version=version, reason=reason))

    def promote(self, name: str, version: int | None = None, reason: str = "") -> dict[str, Any]:
        return self.call("POST", f"/models/{name}/promote", body=_drop_empty(version=version, reason=reason))

    def uploads(self, name: str, version: int | None = None, tokenizer: bool = False,
                reference: bool = False) -> dict[str, Any]:
        return self.call("POST", f"/models/{name}/uploads",
                         body=_drop_empty(version=version, tokenizer=tokenizer or None, reference=reference or None))

    def deployments(self, model: str | None = None, limit: int = 50) -> dict[str, Any]:
        return self.call("GET", "/deployments", query=_drop_empty(model=model, limit=limit))

    def replay(self, name: str, version: int, requests: int = 200) -> dict[str, Any]:
        return self.call("POST", f"/models/{name}/replay", body={"version": version, "requests": requests})

    # -- transport ----------------------------------------------------------------------------
    def call(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = self.target.url + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = AWSRequest(method=method, url=url, data=data,
                             headers={"content-type": "application/json"} if data is not None else {})
        SigV4Auth(self.credentials, SERVICE, self.target.region).add_auth(request)
        prepared = request.prepare()
        response = self._send(method, prepared.url, dict(prepared.headers), prepared.body)
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": response.text.strip()[:500] or response.reason}
        if response.status_code >= 400:
            message = payload.get("error") or payload.get("message") if isinstance(payload, dict) else None
            raise ControlError(f"{method} {path}: {response.status_code} {message or response.reason}",
                              response.status_code)
        return payload

    def upload(self, upload: dict[str, Any], data: bytes, progress: Callable[[float], None] | None = None) -> None:
        """POST ``data`` to one of the API's presigned uploads: its signed form fields, then the
        file, as S3's POST wants them (no signing here: the policy carries it)."""
        from urllib3 import encode_multipart_formdata

        if len(data) > upload["max_bytes"]:
            raise ControlError(f"{upload['file']} is {len(data):,} bytes; an upload takes at most "
                              f"{upload['max_bytes']:,} (the stack's LEPTON_MAX_UPLOAD_BYTES)")
        body, content_type = encode_multipart_formdata(
            [*upload["fields"].items(), ("file", (upload["file"], data, "application/octet-stream"))])
        # progress in the file's bytes, though the form around it is sent too
        scaled = (lambda n: progress(n * len(data) / len(body))) if progress else None
        response = self._send("POST", upload["url"], {"content-type": content_type}, _Reader(body, scaled))
        if response.status_code >= 300:
            raise ControlError(f"upload of {upload['file']} refused: {response.status_code} {_s3_message(response.text)}",
                              response.status_code)

    def _send(self, method: str, url: str, headers: dict[str, str], body: Any) -> Any:
        import requests

        try:
            return self.http.request(method, url, headers=headers, data=body, timeout=self.timeout)
        except requests.ConnectionError as exc:
            where = urlsplit(url)
            if self.target.local and url.startswith(self.target.url):
                raise ControlError(f"no local stack on {where.netloc} — run `make up` "
                                  "(or pass --endpoint URL / --stack NAME)") from exc
            raise ControlError(f"cannot reach {where.scheme}://{where.netloc}: {exc.__class__.__name__}") from exc
        except requests.Timeout as exc:
            raise ControlError(f"{method} {url.split('?')[0]} timed out after {self.timeout:.0f} s") from exc


class _Reader:
    """A body requests can stream with a Content-Length (S3 refuses chunked uploads), reporting progress."""

    def __init__(self, data: bytes, progress: Callable[[int], None] | None):
        self.data, self.offset, self.progress = data, 0, progress

    def __len__(self) -> int:
        return len(self.data) - self.offset

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size is None or size < 0 else min(len(self.data), self.offset + size)
        chunk = self.data[self.offset:end]
        self.offset = end
        if chunk and self.progress:
            self.progress(len(chunk))
        return chunk


def _credentials(target: Target) -> Any:
    from botocore.credentials import Credentials

    if target.local:
        return Credentials("testing", "testing")  # what the local gateway's SigV4 check accepts
    import boto3

    found = boto3.session.Session().get_credentials()
    if found is None:
        raise ControlError("no AWS credentials found: configure them (aws configure, AWS_PROFILE or the "
                          "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables) to call a deployed stack")
    return found


def _drop_empty(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "")}


def _s3_message(text: str) -> str:
    import re

    found = re.search(r"<Code>(.*?)</Code>.*?<Message>(.*?)</Message>", text or "", re.S)
    return f"{found.group(1)}: {found.group(2)}" if found else (text or "").strip()[:200]
