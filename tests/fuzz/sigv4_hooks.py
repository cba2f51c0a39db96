"""Schemathesis hook: sign control-route requests with SigV4, as a real caller would.

Loaded with SCHEMATHESIS_HOOKS=sigv4_hooks. The placeholder credential from schemathesis.toml
is replaced by a signature over the exact prepared request (method, URL, body); anything else
in Authorization (a probe's invalid value) or no header at all is left as it is.
"""
from __future__ import annotations

import os

import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PLACEHOLDER = "SIGV4-SIGN-ME"


class SignIfAsked(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.headers.get("Authorization") != PLACEHOLDER:
            return request
        del request.headers["Authorization"]
        aws = AWSRequest(method=request.method, url=request.url, data=request.body or b"")
        credentials = Credentials(os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                                  os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
        SigV4Auth(credentials, "execute-api", os.environ.get("AWS_REGION", "us-east-1")).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date"):
            request.headers[name] = aws.headers[name]
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    kwargs["auth"] = SignIfAsked()
