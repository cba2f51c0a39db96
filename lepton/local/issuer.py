"""The local stack's token issuer: what an identity provider is to the HTTP API's JWT authorizer.

With `lepton up --inference-auth jwt` the stack is its own issuer: an RSA key made once and
kept in .lepton/issuer/ (so `lepton token` in another terminal signs with the same key), its
JWKS (what a real issuer serves at its jwks_uri), and tokens signed with it (`lepton token`).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

#: The `iss` of local tokens, and the JwtIssuer the local stack gives the template.
LOCAL_ISSUER = "https://issuer.lepton.local"
#: The `aud` of local tokens when the template's JwtAudience is empty.
LOCAL_AUDIENCE = "lepton"
KEY_ID = "lepton-local-1"


class LocalIssuer:
    def __init__(self, folder: Path, issuer: str = LOCAL_ISSUER):
        self.folder = Path(folder)
        self.issuer = issuer
        self._key: Any = None

    @property
    def key(self) -> Any:
        """The private key, made on first use and kept (owner-readable only)."""
        if self._key is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            path = self.folder / "key.pem"
            if path.is_file():
                self._key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            else:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                self.folder.mkdir(parents=True, exist_ok=True)
                pem = self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
                temporary = path.with_name(f".key.{os.getpid()}.tmp")
                temporary.write_bytes(pem)
                temporary.chmod(0o600)
                os.replace(temporary, path)
        return self._key

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}

    def token(self, audience: str = LOCAL_AUDIENCE, subject: str = "local-user", seconds: int = 3600,
              **claims: Any) -> str:
        """A signed RS256 token; ``claims`` override or add any claim (iss, exp, ... for tests), and
        a claim given as None is left out."""
        import jwt

        now = int(time.time())
        body = {"iss": self.issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + seconds, **claims}
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": KEY_ID})
