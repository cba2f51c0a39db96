"""The HTTP API's JWT authorizer, locally: API Gateway's checks on a bearer token.

A token is taken from the identity source (the Authorization header, with or without its
"Bearer " prefix) and accepted only if: its `kid` names a key of the issuer's JWKS and its
RS256 signature verifies with it; `iss` is the configured issuer; `aud` (or, without one,
`client_id`) is one of the configured audiences; `exp` is in the future; `nbf` and `iat`, when
present, are not. Anything else is 401 with API Gateway's WWW-Authenticate header. PyJWT does
the cryptography and the time checks.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .gateway import AuthDecision, Incoming
from .template import JwtAuthorizer


def verify_jwt(request: Incoming, authorizer: JwtAuthorizer, jwks: Mapping[str, Any]) -> AuthDecision:
    """``jwks``: the issuer's key set ({"keys": [...]}), as its jwks_uri would serve it."""
    import jwt

    token = _token(request, authorizer.identity_source)
    if not token:
        return AuthDecision(401, "Unauthorized")
    try:
        header = jwt.get_unverified_header(token)
        keys = {k.get("kid"): k for k in jwks.get("keys", [])}
        if header.get("kid") not in keys:
            return _invalid("the token's kid names no key of the issuer")
        key = jwt.PyJWK(keys[header["kid"]]).key
        claims = jwt.decode(token, key, algorithms=["RS256"], issuer=authorizer.issuer,
                            options={"verify_aud": False, "require": ["exp", "iss"]})
    except jwt.ExpiredSignatureError:
        return _invalid("the token has expired")
    except jwt.ImmatureSignatureError:
        return _invalid("the token is not valid yet")
    except jwt.InvalidIssuerError:
        return _invalid("the token's iss is not the authorizer's issuer")
    except jwt.InvalidSignatureError:
        return _invalid("the token's signature does not verify")
    except jwt.PyJWTError as exc:
        return _invalid(f"the token is invalid ({exc})")
    audience = claims["aud"] if "aud" in claims else claims.get("client_id")  # client_id only without aud
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(a in authorizer.audience for a in audiences):
        return _invalid("the token's aud (or client_id) is not one of the authorizer's audiences")
    scopes = claims.get("scope") or claims.get("scp")
    return AuthDecision(context={"jwt": {"claims": claims,
                                    "scopes": scopes.split() if isinstance(scopes, str) else scopes}})


def _token(request: Incoming, identity_source: str) -> str:
    header = identity_source.removeprefix("$request.header.").lower()
    value = request.headers.get(header, "").strip()
    return value[7:].strip() if value[:7].lower() == "bearer " else value


def _invalid(description: str) -> AuthDecision:
    return AuthDecision(401, "Unauthorized", {
        "www-authenticate": f'Bearer scope="" error="invalid_token" error_description="{description}"'})

