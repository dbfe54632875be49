"""Signed answers of the public lookup (ADR 0013): a compact JWS a partner keeps as proof of what the
register said, and the JWKS that verifies it.

Signing is PyJWT's (EdDSA over Ed25519); this module only chooses the claims and names the keys. A
key's ``kid`` is its RFC 7638 thumbprint, so it never has to be configured and an answer names the
key it needs. Answers carry no ``exp``: they record a moment, and a verifier checking years later
must not refuse them as expired.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime
from typing import Any, Callable

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.http.answers import prefers

ALGORITHM = "EdDSA"
MEDIA_TYPE = "application/jwt"


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The key as an RFC 8037 OKP JWK, with its thumbprint as ``kid``, for signatures in EdDSA only."""
    x = base64.urlsafe_b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode().rstrip("=")
    members = {"crv": "Ed25519", "kty": "OKP", "x": x}  # RFC 7638 3.2: the required members, sorted
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    kid = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return {**members, "kid": kid, "alg": ALGORITHM, "use": "sig"}


class AnswerSigner:
    """Signs public answers with the current key; publishes it and the previous keys still trusted."""

    def __init__(self, key: Ed25519PrivateKey, previous: list[Ed25519PublicKey], *, issuer: str,
                 now: Callable[[], datetime]) -> None:
        self._key = key
        self.current = public_jwk(key.public_key())
        self.kid = self.current["kid"]
        self.keys = [self.current]
        for jwk in map(public_jwk, previous):  # each key once, the current one first
            if jwk["kid"] not in {k["kid"] for k in self.keys}:
                self.keys.append(jwk)
        self.issuer = issuer
        self._now = now

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 JWK Set: the current key first, then the previous ones that old answers name."""
        return {"keys": self.keys}

    def sign(self, *, subject: str, lookup_date: date, claim: str, answer: Any) -> str:
        """A compact JWS over the answer: who said it (iss), when (iat), for which day (lookup_date)."""
        claims = {"iss": self.issuer, "iat": int(self._now().timestamp()), "sub": subject,
                  "lookup_date": lookup_date.isoformat(), claim: answer}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": "JWT"})


def wants_jwt(accept: str | None, answer_format: str | None) -> bool:
    """``?format=jwt`` (links from HTML pages), or an Accept header that prefers application/jwt to JSON."""
    return prefers(accept, answer_format, MEDIA_TYPE, "application/json", "jwt")
