"""Bulk and signed verification (ADR 0013): up to 100 certificates answered in order, and answers signed
as a compact JWS (EdDSA) that a partner keeps as proof. Every signature is checked here with joserfc,
a JOSE library other than the one that signs (PyJWT), against the JWKS Hallmark publishes."""

from __future__ import annotations

import base64
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from fastapi.testclient import TestClient
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet, OKPKey

from services.bootstrap import bootstrap
from services.settings import ConfigurationError, Settings
from services.web import create_app
from tests.support import File, never_500
from tests.unit.test_auth import AUDIENCE, ISSUER

# joserfc warns that RFC 9864 prefers the fully-specified "Ed25519"; Hallmark signs "EdDSA" (ADR 0013).
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

JWT = "application/jwt"
R9_FIELDS = {"number", "revision", "quick_code", "status", "status_since", "valid_from", "valid_until", "scope",
             "products", "mark", "scheme", "holder", "production_unit"}


def _problem(response, status: int) -> dict[str, Any]:
    never_500(response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    return body


def _verify(client: TestClient, items: list[dict[str, Any]], **params: Any):
    return never_500(client.post("/public/v1/verify", json={"items": items}, params=params or None))


def _published(client: TestClient) -> KeySet:
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200, jwks.text
    return KeySet.import_key_set(jwks.json())


def _check(token: str, client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of an answer, verified with joserfc against the JWKS Hallmark publishes."""
    decoded = jose_jwt.decode(token, _published(client), algorithms=["EdDSA"])
    return decoded.header, decoded.claims


def _pem(key: Ed25519PrivateKey, path: Path, public: bool = False) -> Path:
    path.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo) if public else
                     key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


@pytest.fixture
def files(api) -> dict[str, Any]:
    """One certificate active, one suspended."""
    active, suspended = File(api).granted(), File(api).granted()
    suspended.ok(suspended.decide("suspend"), 201)
    admin = File.ADMIN
    certs = {f.certificate: api.get(f"/v1/certificates/{f.certificate}", *admin).json() for f in (active, suspended)}
    return {"active": certs[active.certificate], "suspended": certs[suspended.certificate]}


# --- Bulk ------------------------------------------------------------------------------------------------------


def test_a_hundred_items_are_answered_in_order(api, hallmark, files):
    active, suspended = files["active"], files["suspended"]
    granted = date.fromisoformat(active["valid_from"])
    valid_until = date.fromisoformat(active["valid_until"])
    hallmark.clock.fixed_today = valid_until + timedelta(days=30)  # asked later: the past has several answers
    kinds = [  # (item, found, valid, status on the day)
        ({"number": active["number"], "on": granted.isoformat()}, True, True, "active"),
        ({"quick_code": active["quick_code"], "on": valid_until.isoformat()}, True, True, "active"),
        ({"number": active["number"].lower(), "on": (valid_until + timedelta(days=1)).isoformat()}, True, False,
         "expired"),
        ({"number": active["number"], "on": (granted - timedelta(days=1)).isoformat()}, True, False,
         "not yet certified"),
        ({"number": suspended["number"], "on": granted.isoformat()}, True, False, "suspended"),
        ({"number": "BENOR-99999"}, False, False, None),
        ({"quick_code": "99999997"}, False, False, None),
        ({"number": active["quick_code"]}, False, False, None),  # a quick code is not a number
    ]
    chosen = [kinds[i % len(kinds)] for i in range(100)]
    answer = _verify(api.client, [item for item, *_ in chosen])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["lookup_date"] == hallmark.clock.today().isoformat()
    results = body["results"]
    assert len(results) == 100
    for (item, found, valid, status), result in zip(chosen, results, strict=True):
        assert result["query"] == item
        assert (result["found"], result["valid"]) == (found, valid), (item, result)
        if found:
            assert set(result) == R9_FIELDS | {"query", "found", "valid", "valid_on"}  # no personal data (R9)
            assert result["valid_on"]["status"] == status and result["valid_on"]["date"] == item["on"]
        else:
            assert set(result) == {"query", "found", "valid"}
    assert results[4]["status"] == "suspended"
    assert results[4]["holder"] == {k: suspended["holder"][k] for k in ("name", "registration_number")}


def test_the_date_defaults_to_today_in_the_bodys_calendar(api, hallmark, files):
    result = _verify(api.client, [{"number": files["suspended"]["number"]}]).json()["results"][0]
    assert result["valid_on"]["date"] == hallmark.clock.today().isoformat()
    assert (result["valid"], result["status"]) == (False, "suspended")
    assert result["query"] == {"number": files["suspended"]["number"]}


def test_a_future_date_is_an_error_of_that_item_alone(api, hallmark, files):
    today = hallmark.clock.today()
    number = files["active"]["number"]
    results = _verify(api.client, [{"number": number, "on": today.isoformat()},
                                   {"number": number, "on": (today + timedelta(days=1)).isoformat()},
                                   {"number": number}]).json()["results"]
    assert [r["valid"] for r in results] == [True, None, True]
    error = results[1]["error"]
    assert error["type"].endswith("/invalid-command") and error["status"] == 422 and error["field"] == "on"
    assert "after today" in error["detail"] and "valid_on" not in results[1]


def test_more_than_a_hundred_items_are_refused(api, files):
    body = _problem(_verify(api.client, [{"number": files["active"]["number"]}] * 101), 422)
    assert [e["field"] for e in body["errors"]] == ["items"]
    assert _verify(api.client, [{"number": files["active"]["number"]}] * 100).status_code == 200


@pytest.mark.parametrize("items,field", [
    ([], "items"),
    ([{"number": "BENOR-00001", "quick_code": "10000016"}], "items.0"),
    ([{}], "items.0"),
    ([{"number": "BENOR-00001"}, {"number": "BENOR-00001", "colour": "red"}], "items.1.colour"),
    ([{"quick_code": "1234"}], "items.0.quick_code"),
    ([{"number": "BENOR-00001", "on": "last March"}], "items.0.on"),
    ([{"number": "BENOR-\n00001"}], "items.0.number"),
    ([{"number": "BENOR-\u202e00001"}], "items.0.number"),
    ([{"number": "B" * 65}], "items.0.number"),
    (["BENOR-00001"], "items.0"),
])
def test_bad_items_are_refused_naming_the_field(api, items, field):
    body = _problem(_verify(api.client, items), 422)
    assert field in [e["field"] for e in body["errors"]], body


def test_a_body_with_unknown_fields_is_refused(api):
    body = _problem(never_500(api.client.post("/public/v1/verify", json={"items": [{"number": "BENOR-00001"}],
                                                                         "signed": True})), 422)
    assert [e["field"] for e in body["errors"]] == ["signed"]


# --- Signed answers -------------------------------------------------------------------------------------------


def test_a_signed_single_answer_verifies_against_the_published_keys(api, hallmark, files):
    active = files["active"]
    before = int(time.time())
    response = never_500(api.client.get(f"/public/v1/certificates/{active['number']}", headers={"Accept": JWT}))
    after = int(time.time())
    assert response.status_code == 200 and response.headers["content-type"] == JWT
    assert "Accept" in response.headers["vary"]
    header, claims = _check(response.text, api.client)
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": header["kid"]}
    published = api.client.get("/.well-known/jwks.json").json()["keys"]
    assert header["kid"] == published[0]["kid"] == OKPKey.import_key(published[0]).thumbprint()  # RFC 7638
    assert claims["iss"] == f"hallmark/{hallmark.settings.instance}" == "hallmark/local"
    assert claims["sub"] == active["number"] and before <= claims["iat"] <= after
    assert claims["lookup_date"] == hallmark.clock.today().isoformat()
    assert "exp" not in claims  # a record of a moment, verifiable for as long as the key is published
    assert claims["certificate"] == api.get(f"/public/v1/certificates/{active['number']}").json()


def test_a_signed_answer_on_a_date_by_quick_code_for_links_from_pages(api, hallmark, files):
    suspended = files["suspended"]
    day = date.fromisoformat(suspended["valid_from"])
    response = api.get(f"/public/v1/certificates/{suspended['quick_code']}", on=day.isoformat(), format="jwt")
    assert response.headers["content-type"] == JWT
    _, claims = _check(response.text, api.client)
    assert claims["sub"] == suspended["number"] and claims["lookup_date"] == day.isoformat()
    assert claims["certificate"]["valid_on"]["date"] == day.isoformat()
    assert claims["certificate"]["status"] == "suspended"
    assert "inspectors" not in json.dumps(claims) and "application_id" not in claims["certificate"]  # R9


def test_json_stays_the_default(api, files):
    path = f"/public/v1/certificates/{files['active']['number']}"
    for accept in (None, "*/*", "application/json", f"application/json, {JWT};q=0.5", f"{JWT};q=0"):
        response = api.client.get(path, headers={"Accept": accept} if accept else {})
        assert response.headers["content-type"] == "application/json", accept
        assert "Accept" in response.headers["vary"]  # a cache keeps the JSON and the signed answer apart
    assert api.client.get(path, headers={"Accept": JWT}, params={"format": "json"}).json()["number"]
    _problem(api.client.get(path, params={"format": "xml"}), 422)
    missing = never_500(api.client.get("/public/v1/certificates/BENOR-99999", headers={"Accept": JWT}))
    _problem(missing, 404)  # errors stay problems; the bulk answer signs "not found"


def test_a_signed_bulk_answer_verifies_and_matches_the_json_answer(api, hallmark, files):
    items = [{"number": files["active"]["number"]}, {"number": "BENOR-99999"},
             {"quick_code": files["suspended"]["quick_code"]}]
    response = never_500(api.client.post("/public/v1/verify", json={"items": items}, headers={"Accept": JWT}))
    assert response.status_code == 200 and response.headers["content-type"] == JWT
    header, claims = _check(response.text, api.client)
    assert header["alg"] == "EdDSA" and header["typ"] == "JWT"
    assert claims["sub"] == "bulk" and claims["iss"] == "hallmark/local"
    assert claims["lookup_date"] == hallmark.clock.today().isoformat() and isinstance(claims["iat"], int)
    assert claims["results"] == _verify(api.client, items).json()["results"]
    assert [r["found"] for r in claims["results"]] == [True, False, True]
    assert _verify(api.client, items, format="jwt").headers["content-type"] == JWT


def test_a_tampered_answer_is_refused(api, files):
    token = _verify(api.client, [{"number": files["suspended"]["number"]}], format="jwt").text
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["results"][0]["status"] == "suspended"
    claims["results"][0].update(status="active", valid=True)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(BadSignatureError):
        _check(f"{head}.{forged}.{signature}", api.client)
    # Signed by another key under Hallmark's kid: refused as well.
    kid = pyjwt.get_unverified_header(token)["kid"]
    impostor = pyjwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
    with pytest.raises(BadSignatureError):
        _check(impostor, api.client)


def test_an_old_answer_still_verifies_after_rotation_while_its_key_is_listed(api, hallmark, files, tmp_path):
    number = files["active"]["number"]
    old_answer = api.get(f"/public/v1/certificates/{number}", format="jwt").text
    old_kid = api.client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    # Rotate: a new key signs; the old key's public half stays published.
    old_key = Settings(data_dir=hallmark.settings.data_dir).answer_signing_keys()[0]
    hallmark.settings.answer_key_path = str(_pem(Ed25519PrivateKey.generate(), tmp_path / "new.pem"))
    hallmark.settings.answer_previous_keys = str(_pem(old_key, tmp_path / "old.pub.pem", public=True))
    rotated = TestClient(create_app(hallmark, run_pump=False), raise_server_exceptions=False)
    kids = [k["kid"] for k in rotated.get("/.well-known/jwks.json").json()["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid and kids[0] != old_kid
    assert _check(old_answer, rotated)[1]["sub"] == number
    new_answer = rotated.get(f"/public/v1/certificates/{number}", params={"format": "jwt"}).text
    header, claims = _check(new_answer, rotated)
    assert header["kid"] == kids[0] and claims["certificate"]["number"] == number
    # Once the old key is no longer listed, its answers no longer verify against the JWKS.
    hallmark.settings.answer_previous_keys = ""
    retired = TestClient(create_app(hallmark, run_pump=False), raise_server_exceptions=False)
    assert [k["kid"] for k in retired.get("/.well-known/jwks.json").json()["keys"]] == kids[:1]
    with pytest.raises(InvalidKeyIdError):
        _check(old_answer, retired)


def test_the_jwks_is_public_and_holds_no_private_key(api):
    response = never_500(api.client.get("/.well-known/jwks.json"))
    assert response.status_code == 200
    for key in response.json()["keys"]:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")


def test_the_routes_live_with_the_registry(api):
    registry = api.get("/openapi/registry.json").json()["paths"]
    assert {"/public/v1/verify", "/.well-known/jwks.json"} <= set(registry)
    assert JWT in registry["/public/v1/verify"]["post"]["responses"]["200"]["content"]


# --- Keys -----------------------------------------------------------------------------------------------------


def test_the_embedded_default_generates_its_key_once(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    first, previous = settings.answer_signing_keys()
    again, _ = Settings(data_dir=tmp_path / "data").answer_signing_keys()
    raw = Encoding.Raw, PublicFormat.Raw
    assert previous == [] and first.public_key().public_bytes(*raw) == again.public_key().public_bytes(*raw)
    assert (tmp_path / "data" / "answer-signing.pem").stat().st_mode & 0o777 == 0o600


def test_bad_key_files_are_refused_at_start(tmp_path):
    rsa = tmp_path / "rsa.pem"
    rsa.write_bytes(generate_private_key(65537, 2048).private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                    NoEncryption()))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    good = _pem(Ed25519PrivateKey.generate(), tmp_path / "good.pem")
    for overrides, complaint in [
        ({"answer_key_path": str(tmp_path / "missing.pem")}, "does not exist"),
        ({"answer_key_path": str(garbage)}, "not an unencrypted private key in PEM"),
        ({"answer_key_path": str(rsa)}, "give an Ed25519 private key"),
        ({"answer_key_path": str(good), "answer_previous_keys": str(good)}, "not an unencrypted public key"),
        ({"answer_previous_keys": str(tmp_path / "gone.pub.pem")}, "HALLMARK_ANSWER_PREVIOUS_KEYS"),
    ]:
        with pytest.raises(ConfigurationError, match=complaint):
            Settings(data_dir=tmp_path / "data", **overrides).answer_signing_keys()


def _production(tmp_path: Path, **overrides: Any) -> Settings:
    """Production settings complete but for the answer key: the trail key and the identity provider's key."""
    from shared.evidence.checkpoint import generate_key

    trail = tmp_path / "trail-signing.skey"
    trail.write_text(generate_key("hallmark/local").skey)
    idp = _pem(Ed25519PrivateKey.generate(), tmp_path / "idp.pub.pem", public=True)
    return Settings(data_dir=tmp_path / "data", store="sqlite", environment="production", jwt_public_keys=str(idp),
                    jwt_jwks_url="", jwt_issuer=ISSUER, jwt_audience=AUDIENCE, trail_key_path=str(trail),
                    **overrides)


def test_production_refuses_to_start_without_the_key_file(tmp_path):
    with pytest.raises(ConfigurationError, match="HALLMARK_ENV=production .* HALLMARK_ANSWER_SIGNING_KEY_FILE"):
        _production(tmp_path).answer_signing_keys()
    system = bootstrap(_production(tmp_path))
    try:
        with pytest.raises(ConfigurationError, match="HALLMARK_ANSWER_SIGNING_KEY_FILE"):
            create_app(system, run_pump=False)
    finally:
        system.close()
    assert not (tmp_path / "data" / "answer-signing.pem").exists()  # nothing generated in production


def test_a_mounted_key_signs_and_is_the_one_published(api, hallmark, tmp_path):
    key = Ed25519PrivateKey.generate()
    hallmark.settings.answer_key_path = str(_pem(key, tmp_path / "answer.pem"))  # as production mounts it
    client = TestClient(create_app(hallmark, run_pump=False), raise_server_exceptions=False)
    x = base64.urlsafe_b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    assert [k["x"] for k in client.get("/.well-known/jwks.json").json()["keys"]] == [x.rstrip("=")]
    _, claims = _check(_verify(client, [{"number": "BENOR-00001"}], format="jwt").text, client)
    assert claims["results"] == [{"query": {"number": "BENOR-00001"}, "found": False, "valid": False}]


def test_the_jwks_is_cacheable_and_readable_from_any_origin(api):
    answer = api.client.get("/.well-known/jwks.json", headers={"Origin": "https://buyer.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["cache-control"].startswith("public")
    assert answer.headers["etag"]
