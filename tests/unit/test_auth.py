"""Tokens: the local HS256 default, and production issuer keys that refuse anything else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi import HTTPException
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from services import cli
from services.settings import ConfigurationError, Settings
from shared.http.auth import AuthConfig, IdentityProviderUnavailable, issue_token, organisation_of, roles_of


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


# --- The roles claim: a JSON list of known role names, nothing else --------------------------------------


@pytest.mark.parametrize("roles,complaint", [
    ({"admin": False}, "not a JSON object"),
    ("admin", "not a JSON string"),
    (None, "not a JSON null"),
    (True, "not a JSON boolean"),
    (["admin", 1], "strings"),
    (["admin", ["admin"]], "strings"),
    (["superuser"], "unknown role(s) 'superuser'"),
    (["Admin"], "unknown role(s) 'Admin'"),
])
def test_roles_that_are_not_a_list_of_known_names_are_refused(roles, complaint):
    with pytest.raises(jwt.InvalidTokenError) as refused:
        roles_of({"sub": "mallory", "roles": roles})
    assert complaint in str(refused.value)


def test_a_token_without_roles_is_refused_and_a_list_of_known_roles_accepted():
    with pytest.raises(jwt.InvalidTokenError, match="no 'roles' claim"):
        roles_of({"sub": "mallory"})
    assert roles_of({"roles": ["auditor", "admin", "auditor"]}) == {"auditor", "admin"}
    assert roles_of({"roles": []}) == frozenset()


@pytest.mark.parametrize("value, complaint", [
    (42, "must be a string, not a JSON number"),
    (["BE0123456789"], "must be a string, not a JSON list"),
    ("   ", "is empty"),
    ("BE01\n23", "not a usable label"),
    ("x" * 1000, "not a usable label"),
])
def test_an_organisation_claim_that_is_not_a_label_is_refused(value, complaint):
    with pytest.raises(HTTPException) as refused:
        organisation_of({"organisation": value})
    assert refused.value.status_code == 401 and complaint in refused.value.detail


def test_the_organisation_claim_is_carried_by_a_local_token(tmp_path):
    token = issue_token(SECRET, "jan", ["applicant"], organisation=" BE0123456789 ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert organisation_of(claims) == "BE0123456789"
    assert organisation_of(jwt.decode(issue_token(SECRET, "ada", ["admin"]), SECRET, algorithms=["HS256"])) is None


# --- The local default caps a token's lifetime --------------------------------------------------------------


def _local(secret: bytes, **claims) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "ada", "roles": ["admin"], "iat": now, "exp": now + 60, **claims}, secret,
                      algorithm="HS256")


SECRET = b"a-local-secret-that-is-long-enough-for-hs256"


def test_a_local_token_valid_until_the_year_3000_is_refused_but_one_of_24_h_accepted():
    with pytest.raises(jwt.InvalidTokenError, match="at most 24 h"):
        AuthConfig(secret=SECRET).decode(_local(SECRET, exp=32503680000))
    now = int(time.time())
    with pytest.raises(jwt.InvalidTokenError, match="at most 24 h"):
        AuthConfig(secret=SECRET).decode(_local(SECRET, iat=now, exp=now + 24 * 3600 + 1))
    assert AuthConfig(secret=SECRET).decode(_local(SECRET, iat=now, exp=now + 24 * 3600))["sub"] == "ada"


def test_a_local_token_without_iat_is_refused():
    token = jwt.encode({"sub": "ada", "roles": ["admin"], "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(jwt.MissingRequiredClaimError, match="iat"):
        AuthConfig(secret=SECRET).decode(token)


def test_a_local_token_issued_in_the_future_is_refused_beyond_the_clock_skew():
    now = int(time.time())
    config = AuthConfig(secret=SECRET)
    with pytest.raises(jwt.ImmatureSignatureError):
        config.decode(_local(SECRET, iat=now + 3600, exp=now + 7200))
    assert config.decode(_local(SECRET, iat=now + 30, exp=now + 90))["sub"] == "ada"


def test_the_lifetime_cap_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLMARK_JWT_MAX_LIFETIME_HOURS", "2")
    settings = Settings(data_dir=tmp_path)
    config = settings.auth()
    secret = settings.local_secret()
    assert config.decode(issue_token(secret, "ada", ["admin"], ttl_seconds=2 * 3600))["sub"] == "ada"
    with pytest.raises(jwt.InvalidTokenError, match="at most 2 h"):
        config.decode(issue_token(secret, "ada", ["admin"], ttl_seconds=3 * 3600))


@pytest.mark.parametrize("value", ["0", "-1", "a day", "inf", "nan"])
def test_a_meaningless_lifetime_cap_is_a_configuration_error(monkeypatch, value):
    monkeypatch.setenv("HALLMARK_JWT_MAX_LIFETIME_HOURS", value)
    with pytest.raises(ConfigurationError, match="HALLMARK_JWT_MAX_LIFETIME_HOURS"):
        Settings()


def test_hallmark_token_refuses_hours_beyond_the_cap(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HALLMARK_DATA", str(tmp_path))
    monkeypatch.delenv("HALLMARK_JWT_MAX_LIFETIME_HOURS", raising=False)
    assert cli.main(["token", "--sub", "ada", "--hours", "8760000"]) == 2
    assert "at most 24 h" in capsys.readouterr().err
    assert cli.main(["token", "--sub", "ada", "--hours", "0"]) == 2
    assert cli.main(["token", "--sub", "ada", "--hours", "24"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert Settings(data_dir=tmp_path).auth().decode(token)["sub"] == "ada"


def test_hallmark_token_follows_a_configured_cap(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HALLMARK_DATA", str(tmp_path))
    monkeypatch.setenv("HALLMARK_JWT_MAX_LIFETIME_HOURS", "1")
    assert cli.main(["token", "--sub", "ada", "--hours", "2"]) == 2
    assert "at most 1 h" in capsys.readouterr().err


# --- Issuer keys: PEM files of several kinds, and a JWKS URL with rotation --------------------------------


ISSUER, AUDIENCE = "https://idp.copro.example", "hallmark"


def test_pem_keys_of_different_kinds_are_each_tried(issuer_key):
    """An RSA token checked first against an Ed25519 key is not a 500 (InvalidKeyError), but the next key."""
    key, public = issuer_key
    ed_public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    config = AuthConfig(public_keys=[ed_public, public], issuer=ISSUER, audience=AUDIENCE)
    assert config.decode(_token(key, iss=ISSUER, aud=AUDIENCE))["sub"] == "alice"
    only_ed = AuthConfig(public_keys=[ed_public], issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(jwt.InvalidTokenError):
        only_ed.decode(_token(key, iss=ISSUER, aud=AUDIENCE))


class SigningKey:
    """A key the test's identity provider signs with, and publishes as a JWK under ``kid``."""

    def __init__(self, kid: str, kind: str = "ed25519") -> None:
        self.kid = kid
        if kind == "rsa":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.algorithm = "RS256"
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            self.algorithm = "EdDSA"
            jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**jwk, "kid": kid, "use": "sig", "alg": self.algorithm}

    def token(self, kid: str | None = None, **claims) -> str:
        now = int(time.time())
        body = {"sub": "alice", "roles": ["registry_officer"], "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                "exp": now + 300, **claims}
        return jwt.encode(body, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid})


class JwksServer:
    """A real HTTP server on 127.0.0.1 serving a JWKS that the test can change (rotation) or break."""

    def __init__(self, *keys: SigningKey) -> None:
        self.publish(*keys)
        self.status = 200
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.fetches += 1
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def publish(self, *keys: SigningKey) -> None:
        self.body = json.dumps({"keys": [k.jwk for k in keys]}).encode()

    def __enter__(self) -> "JwksServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def free_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/jwks.json"


@pytest.fixture(scope="module")
def key_a() -> SigningKey:
    return SigningKey("key-a", "rsa")


@pytest.fixture(scope="module")
def key_b() -> SigningKey:
    return SigningKey("key-b")


def _jwks_config(url: str, **overrides) -> AuthConfig:
    return AuthConfig(jwks_url=url, issuer=ISSUER, audience=AUDIENCE, **overrides)


def test_jwks_keys_verify_the_identity_providers_tokens(key_a, key_b):
    with JwksServer(key_a, key_b) as idp:
        config = _jwks_config(idp.url)
        assert config.decode(key_a.token())["sub"] == "alice"
        assert config.decode(key_b.token(sub="bob"))["sub"] == "bob"
        assert idp.fetches == 1  # cached


def test_a_rotated_in_key_is_fetched_when_a_token_names_it(key_a, key_b):
    with JwksServer(key_a) as idp:
        config = _jwks_config(idp.url, jwks_refetch_cooldown_seconds=0)
        assert config.decode(key_a.token())["sub"] == "alice"
        idp.publish(key_b)  # the provider rotates: key-a retired, key-b in use
        assert config.decode(key_b.token())["sub"] == "alice"
        assert idp.fetches == 2


def test_unknown_kids_refetch_at_most_once_per_cooldown(key_a, key_b):
    """Tokens naming made-up kids cannot make Hallmark hammer the identity provider; a key rotated in
    is still found once the cooldown since the last fetch has passed."""
    with JwksServer(key_a) as idp:
        config = _jwks_config(idp.url, jwks_refetch_cooldown_seconds=0.5)
        for n in range(5):
            with pytest.raises(jwt.InvalidTokenError, match="does not publish"):
                config.decode(key_b.token(kid=f"made-up-{n}"))
        assert idp.fetches == 1
        idp.publish(key_a, key_b)
        time.sleep(0.6)
        assert config.decode(key_b.token())["sub"] == "alice"
        assert idp.fetches == 2


def test_a_token_signed_by_an_unpublished_key_is_refused(key_a, key_b):
    stranger = SigningKey("stranger")
    with JwksServer(key_a, key_b) as idp:
        config = _jwks_config(idp.url, jwks_refetch_cooldown_seconds=0)
        with pytest.raises(jwt.InvalidTokenError, match="does not publish"):
            config.decode(stranger.token())
        with pytest.raises(jwt.InvalidSignatureError):  # posing as a published key
            config.decode(stranger.token(kid="key-b"))
        with pytest.raises(jwt.InvalidTokenError, match="kid"):
            config.decode(jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, stranger.private, algorithm="EdDSA"))


def test_jwks_keys_keep_the_issuer_audience_and_algorithm_checks(key_a):
    with JwksServer(key_a) as idp:
        config = _jwks_config(idp.url)
        for claims in ({"iss": "https://elsewhere.example"}, {"aud": "another-app"}, {"exp": int(time.time()) - 10}):
            with pytest.raises(jwt.InvalidTokenError):
                config.decode(key_a.token(**claims))
        forged = jwt.encode({"sub": "mallory", "roles": ["admin"], "iss": ISSUER, "aud": AUDIENCE,
                             "exp": int(time.time()) + 60}, b"a-secret-anyone-could-pick-up-here-x",
                            algorithm="HS256", headers={"kid": "key-a"})
        with pytest.raises(jwt.InvalidTokenError):
            config.decode(forged)


def test_an_unreachable_jwks_is_the_identity_provider_being_unavailable(key_a):
    url = free_port_url()
    with pytest.raises(IdentityProviderUnavailable, match=re.escape(url)):
        _jwks_config(url).decode(key_a.token())


@pytest.mark.parametrize("status,body", [
    (500, b'{"error": "down"}'),
    (200, b"<html>maintenance</html>"),
    (200, b"[]"),
    (200, b'{"keys": []}'),
    (200, b'{"keys": [{"kty": "RSA", "kid": "key-a", "n": "!!", "e": "AQAB"}]}'),
])
def test_a_broken_jwks_is_the_identity_provider_being_unavailable(key_a, status, body):
    with JwksServer(key_a) as idp:
        idp.status, idp.body = status, body
        with pytest.raises(IdentityProviderUnavailable):
            _jwks_config(idp.url).decode(key_a.token())


def test_production_accepts_a_jwks_url_alone(tmp_path, key_a):
    with JwksServer(key_a) as idp:
        settings = Settings(data_dir=tmp_path, environment="production", jwt_public_keys="", jwt_jwks_url=idp.url,
                            jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
        config = settings.auth()
        assert config.secret is None and not config.local
        assert config.decode(key_a.token())["sub"] == "alice"
    assert not settings.secret_file.exists()


def test_production_needs_issuer_and_audience(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="production", jwt_jwks_url="https://idp.example/jwks",
                        jwt_issuer="", jwt_audience="")
    with pytest.raises(ConfigurationError, match="HALLMARK_JWT_AUDIENCE"):
        settings.auth()


def test_a_jwks_url_that_is_not_http_is_a_configuration_error(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="production", jwt_jwks_url="file:///etc/passwd",
                        jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    with pytest.raises(ConfigurationError, match="HALLMARK_JWT_JWKS_URL"):
        settings.auth()


def test_only_the_local_default_is_local(tmp_path, issuer_key):
    assert Settings(data_dir=tmp_path, environment="development", jwt_public_keys="").auth().local
    pem = tmp_path / "idp.pem"
    pem.write_text(issuer_key[1])
    assert not Settings(data_dir=tmp_path, jwt_public_keys=str(pem)).auth().local


def test_processes_starting_at_once_share_one_local_signing_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from services.settings import Settings

    settings = [Settings(data_dir=tmp_path / "data") for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda s: s.local_secret(), settings))
    assert len(keys) == 1
    key_file = settings[0].secret_file
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]  # no staging file left
