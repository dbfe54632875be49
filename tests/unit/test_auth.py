"""Tokens: the local HS256 default, and production issuer keys that refuse anything else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.settings import ConfigurationError, Settings
from shared.http.auth import AuthConfig, issue_token


@pytest.fixture(scope="module")
def issuer_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public.decode()


def _token(key, **claims) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "alice", "roles": ["auditor"], "iat": now, "exp": now + 60, **claims}, key,
                      algorithm="RS256")


def test_production_keys_accept_the_identity_providers_tokens(issuer_key):
    key, public = issuer_key
    config = AuthConfig(public_keys=[public], issuer="https://idp.copro.example", audience="hallmark")
    claims = config.decode(_token(key, iss="https://idp.copro.example", aud="hallmark"))
    assert claims["sub"] == "alice"


@pytest.mark.parametrize("claims", [
    {"iss": "https://elsewhere.example", "aud": "hallmark"},
    {"iss": "https://idp.copro.example", "aud": "another-app"},
    {"iss": "https://idp.copro.example", "aud": "hallmark", "exp": int(time.time()) - 10},
])
def test_production_keys_refuse_wrong_issuer_audience_or_expired(issuer_key, claims):
    key, public = issuer_key
    config = AuthConfig(public_keys=[public], issuer="https://idp.copro.example", audience="hallmark")
    with pytest.raises(jwt.InvalidTokenError):
        config.decode(_token(key, **claims))


def _hs256_by_hand(secret: bytes, claims: dict) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def test_an_hs256_token_signed_with_the_public_key_is_refused(issuer_key):
    """The classic algorithm-confusion attack: the public key used as an HMAC secret."""
    _, public = issuer_key
    config = AuthConfig(public_keys=[public])
    forged = _hs256_by_hand(public.encode(), {"sub": "mallory", "roles": ["admin"], "exp": int(time.time()) + 60})
    with pytest.raises(jwt.InvalidTokenError):
        config.decode(forged)


def test_local_tokens_round_trip(tmp_path):
    secret = Settings(data_dir=tmp_path).local_secret()
    claims = AuthConfig(secret=secret).decode(issue_token(secret, "ada", ["admin", "auditor"]))
    assert claims["sub"] == "ada" and claims["roles"] == ["admin", "auditor"]


def test_production_refuses_to_start_without_issuer_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("HALLMARK_JWT_PUBLIC_KEYS", raising=False)
    settings = Settings(data_dir=tmp_path, environment="production")
    with pytest.raises(ConfigurationError, match="HALLMARK_JWT_PUBLIC_KEYS"):
        settings.auth()


def test_local_signing_key_is_generated_once_and_private(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.local_secret()
    assert settings.local_secret() == first and len(first) >= 32
    assert settings.secret_file.stat().st_mode & 0o077 == 0
