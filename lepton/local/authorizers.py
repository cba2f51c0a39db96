"""The local API's authorizers: each route's, by name, as API Gateway runs them.

AWS_IAM is SigV4 (sigv4.py); a name the template declares as a JWT authorizer is checked by
jwt_authorizer.py against the local issuer's keys. A route naming anything else is refused
with a 500, as API Gateway cannot run an authorizer it does not have.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .gateway import AuthDecision, Incoming
from .jwt_authorizer import verify_jwt
from .sigv4 import LOCAL_SECRETS, verify_sigv4
from .template import IAM, JwtAuthorizer, Route


class LocalAuthorizers:
    def __init__(self, region: str, jwt: Mapping[str, JwtAuthorizer] | None = None,
                 jwks: Callable[[], Mapping[str, Any]] | None = None,
                 secrets: Mapping[str, str] = LOCAL_SECRETS):
        """``jwks``: the issuer's key set, asked for when a JWT route is called."""
        self.region = region
        self.jwt = dict(jwt or {})
        self.jwks = jwks
        self.secrets = secrets

    def __call__(self, route: Route, request: Incoming) -> AuthDecision:
        if route.auth == IAM:
            return verify_sigv4(request, self.region, self.secrets)
        authorizer = self.jwt.get(route.auth)
        if authorizer is None or self.jwks is None:
            return AuthDecision(500, f"authorizer {route.auth} is not configured in the local stack")
        return verify_jwt(request, authorizer, self.jwks())
