"""Tokens over HTTP: the roles claim is a list of known role names, the local default caps a token's
lifetime, and production checks the identity provider's tokens against its JWKS, never answering 500
and never pointing at the local 'hallmark token'."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import jwt
import pytest
from fastapi.testclient import TestClient

from services.bootstrap import bootstrap
from services.settings import Settings
from services.web import create_app
from tests.support import never_500, scheme_body
from tests.unit.test_auth import AUDIENCE, ISSUER, JwksServer, SigningKey, free_port_url

BAD_ROLES = [
    ({"admin": False}, "not a JSON object"),
    ("admin", "not a JSON string"),
    (["admin", 1], "strings"),
    (["admin", "superuser"], "unknown role(s) 'superuser'"),
]


def _problem(response, status: int, slug: str) -> dict:
    never_500(response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"].endswith("/" + slug)
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _local(api, **claims) -> str:
    now = int(time.time())
    body = {"sub": "Ada Admin", "roles": ["admin"], "iat": now, "exp": now + 60, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, api.secret, algorithm="HS256")


# --- The local default ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("roles,complaint", BAD_ROLES)
def test_local_roles_that_are_not_a_list_of_known_names_are_401(api, roles, complaint):
    response = api.client.post("/v1/schemes", json=scheme_body(), headers=_bearer(_local(api, roles=roles)))
    problem = _problem(response, 401, "unauthorized")
    assert complaint in problem["detail"] and "'roles'" in problem["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_local_token_without_roles_is_401(api):
    response = api.client.get("/v1/certificates", headers=_bearer(_local(api, roles=None)))
    assert "no 'roles' claim" in _problem(response, 401, "unauthorized")["detail"]


def test_a_local_token_valid_until_the_year_3000_is_401(api):
    response = api.client.get("/v1/certificates", headers=_bearer(_local(api, exp=32503680000)))
    problem = _problem(response, 401, "unauthorized")
    assert "at most 24 h" in problem["detail"] and "hallmark token" in problem["detail"]


def test_a_local_token_without_iat_or_issued_in_the_future_is_401(api):
    no_iat = api.client.get("/v1/certificates", headers=_bearer(_local(api, iat=None)))
    assert "iat" in _problem(no_iat, 401, "unauthorized")["detail"]
    now = int(time.time())
    future = api.client.get("/v1/certificates", headers=_bearer(_local(api, iat=now + 3600, exp=now + 7200)))
    assert "iat" in _problem(future, 401, "unauthorized")["detail"]


# --- Production: the identity provider's JWKS ------------------------------------------------------------------


@pytest.fixture(scope="module")
def idp_key() -> SigningKey:
    return SigningKey("idp-2025", "rsa")


def _production_app(tmp_path: Path, jwks_url: str) -> Iterator[TestClient]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from shared.evidence.checkpoint import generate_key

    key_file = tmp_path / "trail-signing.skey"  # production mounts it from a secret
    key_file.write_text(generate_key("hallmark/local").skey)
    answer_key = tmp_path / "answer-signing.pem"  # the public lookup's answers (ADR 0013), a secret too
    answer_key.write_bytes(Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                      NoEncryption()))
    partner_key = tmp_path / "partner-token.key"  # the key of partners' tokens (ADR 0014), a secret too
    partner_key.write_text("p" * 48)
    settings = Settings(data_dir=tmp_path / "data", store="sqlite", environment="production", jwt_public_keys="",
                        jwt_jwks_url=jwks_url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, trail_key_path=str(key_file),
                        answer_key_path=str(answer_key), partner_token_key_path=str(partner_key))
    system = bootstrap(settings)
    try:
        with TestClient(create_app(system, run_pump=False), raise_server_exceptions=False) as client:
            yield client
    finally:
        system.close()


@pytest.fixture
def idp(idp_key) -> Iterator[JwksServer]:
    with JwksServer(idp_key) as server:
        yield server


@pytest.fixture
def production(tmp_path, idp) -> Iterator[TestClient]:
    yield from _production_app(tmp_path, idp.url)


def test_production_accepts_the_identity_providers_tokens_from_its_jwks(production, idp_key):
    response = never_500(production.get("/v1/certificates", headers=_bearer(idp_key.token())))
    assert response.status_code == 200, response.text


def test_production_refuses_tokens_the_identity_provider_did_not_sign(production, idp_key):
    stranger, ed_stranger = SigningKey("stranger", "rsa"), SigningKey("ed-stranger")
    local = jwt.encode({"sub": "Mallory", "roles": ["admin"], "iat": int(time.time()), "exp": int(time.time()) + 60},
                       b"a-local-secret-that-is-long-enough-for-hs256", algorithm="HS256", headers={"kid": idp_key.kid})
    for token, complaint in [
        (stranger.token(), "does not publish"),
        (stranger.token(kid=idp_key.kid), "Signature verification failed"),
        (ed_stranger.token(kid=idp_key.kid), "algorithm"),
        (local, "alg value is not allowed"),
        (idp_key.token(aud="another-app"), "Audience"),
        (idp_key.token(roles={"admin": False}), "not a JSON object"),
    ]:
        problem = _problem(production.get("/v1/certificates", headers=_bearer(token)), 401, "unauthorized")
        assert complaint in problem["detail"]
        assert "hallmark token" not in problem["detail"]


def test_production_401s_never_point_at_the_local_token_command(production, idp_key):
    missing = _problem(production.get("/v1/certificates"), 401, "unauthorized")
    expired = _problem(production.get("/v1/certificates", headers=_bearer(idp_key.token(exp=int(time.time()) - 5))),
                       401, "unauthorized")
    junk = _problem(production.get("/v1/certificates", headers=_bearer("not.a.jwt")), 401, "unauthorized")
    for problem in (missing, expired, junk):
        assert "hallmark token" not in problem["detail"], problem


def test_production_with_the_jwks_unreachable_is_503_naming_the_cause(tmp_path, idp_key):
    url = free_port_url()
    for client in _production_app(tmp_path, url):
        response = client.get("/v1/certificates", headers=_bearer(idp_key.token()))
        problem = _problem(response, 503, "identity-provider-unavailable")
        assert url in problem["detail"] and "Connection refused" in problem["detail"]
        assert response.headers["retry-after"] == "30"
        # The Idempotency-Key dependency authenticates too, from async code.
        post = client.post("/v1/schemes", json=scheme_body(), headers={**_bearer(idp_key.token()),
                                                                        "Idempotency-Key": "k1"})
        _problem(post, 503, "identity-provider-unavailable")
        assert client.get("/problems/identity-provider-unavailable").status_code == 200


def test_production_with_a_broken_jwks_is_503(production, idp, idp_key):
    idp.status, idp.body = 502, b"Bad gateway"
    response = production.get("/v1/certificates", headers=_bearer(idp_key.token()))
    assert "HTTP Error 502" in _problem(response, 503, "identity-provider-unavailable")["detail"]


@pytest.mark.parametrize("sub", ["Ada\x00Admin", "Ada\u202eAdmin", "Ada\nAdmin", "A" * 201])
def test_a_subject_that_is_no_usable_name_is_refused(api, sub):
    token = jwt.encode({"sub": sub, "roles": ["admin"], "iat": int(time.time()), "exp": int(time.time()) + 60},
                       api.secret, algorithm="HS256")
    response = api.client.get("/v1/certificates", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "'sub'" in response.json()["detail"]
