"""Bearer JWT authentication and role checks.

Locally, tokens are HS256-signed with a secret generated in the data folder (``hallmark token``).
In production, tokens come from the organisation's identity provider: configure its public keys
(PEM), issuer and audience; symmetric local secrets are then refused.
"""


import time
from dataclasses import dataclass, field
from typing import Annotated, Iterable

import jwt
from fastapi import Depends, HTTPException, Request

ROLES = (
    "applicant",
    "applications_officer",
    "auditor",
    "decision_maker",
    "registry_officer",
    "assessor",
    "admin",
)
STAFF = tuple(r for r in ROLES if r != "applicant")


@dataclass(frozen=True)
class Actor:
    person: str
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass
class AuthConfig:
    secret: bytes | None = None  # HS256, local default
    public_keys: list[str] = field(default_factory=list)  # PEM, production
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")

    def decode(self, token: str) -> dict:
        options = {"require": ["sub", "exp"]}
        kwargs = {"issuer": self.issuer} if self.issuer else {}
        if self.audience:
            kwargs["audience"] = self.audience
        else:
            options["verify_aud"] = False
        if self.public_keys:
            last: Exception | None = None
            for key in self.public_keys:
                try:
                    return jwt.decode(token, key, algorithms=list(self.algorithms), options=options, **kwargs)
                except jwt.InvalidSignatureError as error:
                    last = error
            raise last or jwt.InvalidTokenError("no key")
        if self.secret is None:
            raise jwt.InvalidTokenError("no signing key configured")
        return jwt.decode(token, self.secret, algorithms=["HS256"], options=options, **kwargs)


def issue_token(secret: bytes, person: str, roles: Iterable[str], ttl_seconds: int = 8 * 3600,
                issuer: str | None = None) -> str:
    now = int(time.time())
    claims = {"sub": person, "roles": sorted(set(roles)), "iat": now, "exp": now + ttl_seconds}
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="hallmark"'})


def authenticate(request: Request) -> Actor:
    config: AuthConfig = request.app.state.auth
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send 'Authorization: Bearer <token>'; get a local token with 'hallmark token'")
    try:
        claims = config.decode(token.strip())
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The bearer token has expired; get a new one") from None
    except jwt.InvalidTokenError as error:
        raise _unauthorized(f"The bearer token is not valid here: {error}") from None
    roles = claims.get("roles") or []
    if isinstance(roles, str):
        roles = [roles]
    person = str(claims.get("sub", "")).strip()
    if not person:
        raise _unauthorized("The bearer token names nobody (empty 'sub')")
    return Actor(person=person, roles=frozenset(str(r) for r in roles))


def require(*roles: str):
    """Dependency: the authenticated actor, holding at least one of ``roles``."""

    def dependency(actor: Annotated[Actor, Depends(authenticate)]) -> Actor:
        if not actor.has(*roles):
            raise HTTPException(403, f"This needs one of the roles: {', '.join(roles)}")
        return actor

    return dependency
