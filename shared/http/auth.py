"""Bearer JWT authentication and role checks.

Locally, tokens are HS256-signed with a secret generated in the data folder (``hallmark token``).
The local default requires ``iat`` and refuses a token whose lifetime (``exp - iat``) exceeds
``max_lifetime_seconds`` (24 h unless ``HALLMARK_JWT_MAX_LIFETIME_HOURS`` says otherwise), or
whose ``iat`` lies in the future beyond ``clock_skew_seconds``.

In production, tokens come from the organisation's identity provider: configure its JWKS URL
(keys fetched, cached and refetched when a token names a ``kid`` not yet seen, so the provider can
rotate keys) and/or its public keys as PEM files, plus the issuer and audience; symmetric local
secrets are then refused. The provider decides its tokens' lifetimes. When its JWKS cannot be
fetched, requests are answered 503 ``identity-provider-unavailable``, never 500.

Every token must carry ``roles``: a JSON list of role names from ``ROLES`` (possibly empty). A
string, an object, a list holding anything but strings, or a role name Hallmark does not know makes
the token invalid (401, saying which): an unknown name is refused rather than ignored, because it
signals a mismatch between the identity provider's configuration and this system that should be
fixed, not silently reduce someone's rights.
"""


import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Iterable

import jwt
from fastapi import Depends, HTTPException, Request

from shared.errors import DomainError
from shared.http.fields import MAX_NAME, refusal_in_line

ROLES = (
    "applicant",
    "applications_officer",
    "auditor",
    "decision_maker",
    "registry_officer",
    "assessor",
    "admin",
    "partner",  # a partner organisation's client (tokens from POST /v1/oauth/token), never staff
    "laboratory",  # a testing laboratory's staff: its assigned samples only (claim 'organisation': the lab)
)
# Outside the body: the holder's staff (applicant), partners and laboratories.
STAFF = tuple(r for r in ROLES if r not in ("applicant", "partner", "laboratory"))

DEFAULT_MAX_LIFETIME_SECONDS = 24 * 3600
LOCAL_HINT = "get a local token with 'hallmark token'"


class IdentityProviderUnavailable(DomainError):
    """Hallmark could not fetch the identity provider's signing keys (its JWKS), so it cannot check
    any token; try again later."""

    slug = "identity-provider-unavailable"
    title = "Identity provider unavailable"
    status = 503
    retry_after = 30


@dataclass(frozen=True)
class Actor:
    """Who acts. ``organisation`` is the token's ``organisation`` claim: for the holder's staff (role
    ``applicant``) the registration number of the manufacturer they act for, so that every colleague sees
    the organisation's files (R18); for a laboratory, the laboratory's identifier. None for the body's
    own staff."""

    person: str
    roles: frozenset[str]
    organisation: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass
class AuthConfig:
    secret: bytes | None = None  # HS256, local default
    public_keys: list[str] = field(default_factory=list)  # PEM, production
    jwks_url: str | None = None  # the identity provider's JWKS, production
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    local: bool = False  # the local default: 401 texts may point at 'hallmark token'
    max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS  # local tokens only
    clock_skew_seconds: int = 60  # how far in the future a local token's iat may lie
    jwks_cache_seconds: float = 300  # how long a fetched JWKS is trusted before it is fetched again
    jwks_refetch_cooldown_seconds: float = 30  # an unknown kid refetches at most this often
    jwks_timeout_seconds: float = 5
    jwks: jwt.PyJWKClient | None = field(default=None, init=False, repr=False, compare=False)
    # Partners (ADR 0014): tokens Hallmark itself issues at POST /v1/oauth/token, told apart by their
    # issuer; ``partner_active`` says whether the credential a token or API key was issued for is
    # still valid (revocation takes effect at once); ``api_keys`` resolves an API key to a partner id.
    partner_secret: bytes | None = field(default=None, repr=False)
    partner_issuer: str | None = None
    partner_audience: str = "hallmark-partners"
    partner_active: Callable[[str], bool] | None = field(default=None, repr=False, compare=False)
    api_keys: Callable[[str], str | None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.jwks_url:
            # Raises jwt.PyJWKClientError for a URL that is not http(s).
            self.jwks = jwt.PyJWKClient(
                self.jwks_url, cache_jwk_set=True, lifespan=self.jwks_cache_seconds,
                timeout=self.jwks_timeout_seconds, cooldown_duration=self.jwks_refetch_cooldown_seconds,
            )

    def decode(self, token: str) -> dict:
        """The verified claims; ``jwt.InvalidTokenError`` says why a token is refused, and
        ``IdentityProviderUnavailable`` that it cannot be checked now."""
        if self.partner_secret and self.partner_issuer and self.issued_to_a_partner(token):
            return self._decode_partner(token)
        options: dict[str, Any] = {"require": ["sub", "exp"]}
        kwargs: dict[str, Any] = {"issuer": self.issuer} if self.issuer else {}
        if self.audience:
            kwargs["audience"] = self.audience
        else:
            options["verify_aud"] = False
        if self.public_keys or self.jwks:
            return self._decode_issued(token, options, kwargs)
        if self.secret is None:
            raise jwt.InvalidTokenError("no signing key configured")
        # iat is checked below, with the clock skew allowed; exp keeps no leeway.
        options = {**options, "require": ["sub", "exp", "iat"], "verify_iat": False}
        claims = jwt.decode(token, self.secret, algorithms=["HS256"], options=options, **kwargs)
        self._check_lifetime(claims)
        return claims

    def issued_to_a_partner(self, token: str) -> bool:
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == self.partner_issuer
        except jwt.PyJWTError:
            return False

    def _decode_partner(self, token: str) -> dict:
        assert self.partner_secret is not None
        claims = jwt.decode(token, self.partner_secret, algorithms=["HS256"], issuer=self.partner_issuer,
                            audience=self.partner_audience, options={"require": ["sub", "exp", "iat", "cid"]})
        if claims.get("roles") != ["partner"]:
            raise jwt.InvalidTokenError("a partner token carries the role 'partner' only")
        if self.partner_active is not None and not self.partner_active(str(claims["cid"])):
            raise jwt.InvalidTokenError("the credential it was issued for has been revoked")
        return claims

    def _decode_issued(self, token: str, options: dict[str, Any], kwargs: dict[str, Any]) -> dict:
        algorithms = list(self.algorithms)
        last: jwt.PyJWTError | None = None
        for key in self.public_keys:
            try:
                return jwt.decode(token, key, algorithms=algorithms, options=options, **kwargs)
            except (jwt.InvalidSignatureError, jwt.InvalidKeyError) as error:  # another key's token
                last = error
        if self.jwks is not None:
            return jwt.decode(token, self._jwks_key(token), algorithms=algorithms, options=options, **kwargs)
        if isinstance(last, jwt.InvalidKeyError):
            raise jwt.InvalidSignatureError("no configured key verifies this token") from None
        raise last or jwt.InvalidTokenError("no key")

    def _jwks_key(self, token: str) -> jwt.PyJWK:
        assert self.jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise jwt.InvalidTokenError("the token names no signing key ('kid' header)")
        try:
            self.jwks.get_signing_keys()  # cached; a failure here is the identity provider's
            return self.jwks.get_signing_key(kid)  # refetches the JWKS once for an unknown kid
        except jwt.PyJWKClientConnectionError as error:
            raise self._unavailable(error) from None
        except (jwt.PyJWTError, ValueError, OSError) as error:  # no keys, a malformed JWKS, a broken line
            if isinstance(error, jwt.PyJWKClientError) and str(error).startswith("Unable to find a signing key"):
                raise jwt.InvalidTokenError(
                    f"it is signed by a key (kid {kid!r}) the identity provider does not publish"
                ) from None
            raise self._unavailable(error) from None

    def _unavailable(self, error: Exception) -> IdentityProviderUnavailable:
        cause = f"its answer is not JSON ({error})" if isinstance(error, ValueError) else str(error)
        return IdentityProviderUnavailable(
            f"Could not get the identity provider's keys from {self.jwks_url}: {cause}", jwks_url=self.jwks_url
        )

    def _check_lifetime(self, claims: dict) -> None:
        try:
            issued, expires = int(claims["iat"]), int(claims["exp"])
        except (TypeError, ValueError, OverflowError):
            raise jwt.InvalidIssuedAtError("'iat' and 'exp' must be integers (seconds since 1970)") from None
        if issued > time.time() + self.clock_skew_seconds:
            raise jwt.ImmatureSignatureError("it was issued in the future ('iat')")
        if expires - issued > self.max_lifetime_seconds:
            raise jwt.InvalidTokenError(
                f"it is valid for {(expires - issued) / 3600:g} h ('exp' - 'iat'); "
                f"at most {self.max_lifetime_seconds / 3600:g} h is accepted"
            )


def roles_of(claims: dict) -> frozenset[str]:
    """The ``roles`` claim: a JSON list of known role names, or ``jwt.InvalidTokenError``."""
    if "roles" not in claims:
        raise jwt.InvalidTokenError("it has no 'roles' claim (a list of role names)")
    roles = claims["roles"]
    if not isinstance(roles, list):
        raise jwt.InvalidTokenError(
            f"its 'roles' claim must be a list of role names, not a JSON {_json_type(roles)}"
        )
    if not all(isinstance(role, str) for role in roles):
        raise jwt.InvalidTokenError("its 'roles' claim must hold role names (strings) only")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise jwt.InvalidTokenError(
            f"its 'roles' claim names unknown role(s) {', '.join(map(repr, unknown))}; roles are {', '.join(ROLES)}"
        )
    return frozenset(roles)


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def issue_token(secret: bytes, person: str, roles: Iterable[str], ttl_seconds: int = 8 * 3600,
                issuer: str | None = None, organisation: str | None = None) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": person, "roles": sorted(set(roles)), "iat": now, "exp": now + ttl_seconds}
    if organisation:
        claims["organisation"] = organisation
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="hallmark"'})


def authenticate(request: Request) -> Actor:
    config: AuthConfig = request.app.state.auth
    hint = f"; {LOCAL_HINT}" if config.local else ""
    api_key = request.headers.get("x-api-key")
    if api_key is not None and config.api_keys is not None:
        partner_id = config.api_keys(api_key.strip())
        if partner_id is None:
            raise _unauthorized("The API key is not valid (unknown, rotated out or revoked)")
        return Actor(person=f"partner:{partner_id}", roles=frozenset({"partner"}))
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(f"Send 'Authorization: Bearer <token>'{hint}")
    try:
        claims = config.decode(token.strip())
        roles = roles_of(claims)
    except jwt.ExpiredSignatureError:
        raise _unauthorized(f"The bearer token has expired; get a new one{hint}") from None
    except jwt.PyJWTError as error:
        raise _unauthorized(f"The bearer token is not valid here: {error}{hint}") from None
    person = str(claims.get("sub", "")).strip()
    if not person:
        raise _unauthorized("The bearer token names nobody (empty 'sub')")
    if len(person) > MAX_NAME or refusal_in_line(person):
        # The subject is recorded as the actor of every event it causes: it obeys the rules of a name.
        raise _unauthorized(f"The bearer token's 'sub' is not a usable name: "
                            f"{refusal_in_line(person) or f'longer than {MAX_NAME} characters'}")
    return Actor(person=person, roles=roles, organisation=organisation_of(claims))


def organisation_of(claims: dict) -> str | None:
    """The ``organisation`` claim: absent, or a usable label (a registration number, a laboratory's id)."""
    if "organisation" not in claims:
        return None
    value = claims["organisation"]
    if not isinstance(value, str):
        raise _unauthorized(f"The bearer token's 'organisation' claim must be a string, not a JSON {_json_type(value)}")
    if not value.strip():
        raise _unauthorized("The bearer token's 'organisation' claim is empty")
    value = value.strip()
    if len(value) > MAX_NAME or refusal_in_line(value):
        raise _unauthorized(f"The bearer token's 'organisation' claim is not a usable label: "
                            f"{refusal_in_line(value) or f'longer than {MAX_NAME} characters'}")
    return value


def require(*roles: str):
    """Dependency: the authenticated actor, holding at least one of ``roles``."""

    def dependency(actor: Annotated[Actor, Depends(authenticate)]) -> Actor:
        if not actor.has(*roles):
            raise HTTPException(403, f"This needs one of the roles: {', '.join(roles)}")
        return actor

    return dependency
