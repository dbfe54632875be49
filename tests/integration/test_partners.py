"""Partner organisations: registration, client credentials (OAuth 2.0) and API keys, hashed secrets,
rotation with overlap, revocation at once, scopes, and every call recorded (ADR 0014)."""

from __future__ import annotations

import base64
from datetime import timedelta

import jwt
import pytest

from tests.support import File

ADMIN = ("Ada Admin", "admin")


def register(api, name="Agentschap Wegen en Verkeer", **scopes) -> dict:
    answer = api.post("/v1/partners", {"name": name, "kind": "public_buyer", "contact_email": "it@awv.example",
                                       "scopes": scopes}, *ADMIN)
    assert answer.status_code == 201, answer.text
    return answer.json()


def credential(api, partner_id, kind="client_credentials") -> dict:
    answer = api.post(f"/v1/partners/{partner_id}/credentials", {"kind": kind, "label": "procurement"}, *ADMIN)
    assert answer.status_code == 201, answer.text
    return answer.json()


def token(api, client_id, secret, basic=True):
    if basic:
        auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return api.client.post("/v1/oauth/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": f"Basic {auth}"})
    return api.client.post("/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret})


def bearer(access: str) -> dict:
    return {"Authorization": f"Bearer {access}"}


def test_a_partner_gets_a_token_and_reaches_only_its_own_records(api, hallmark):
    partner = register(api, marks=["BENOR"])
    other = register(api, name="Bouwunie")
    issued = credential(api, partner["id"])
    assert issued["client_secret"].startswith("hs_") and "shown once" in issued["note"]
    answer = token(api, issued["client_id"], issued["client_secret"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and "mark:BENOR" in body["scope"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == f"partner:{partner['id']}" and claims["roles"] == ["partner"]
    assert token(api, issued["client_id"], issued["client_secret"], basic=False).status_code == 200

    mine = api.client.get(f"/v1/partners/{partner['id']}", headers=bearer(body["access_token"]))
    assert mine.status_code == 200 and mine.json()["name"] == "Agentschap Wegen en Verkeer"
    theirs = api.client.get(f"/v1/partners/{other['id']}", headers=bearer(body["access_token"]))
    assert theirs.status_code == 403 and theirs.headers["content-type"] == "application/problem+json"
    staff = api.client.get("/v1/certificates", headers=bearer(body["access_token"]))
    assert staff.status_code == 403  # a partner is not staff
    api.client.get("/public/v1/certificates", headers=bearer(body["access_token"]), params={"q": "kerb"})

    calls = api.get(f"/v1/partners/{partner['id']}/calls", *ADMIN).json()["items"]
    paths = [(c["method"], c["path"], c["status"], c["client_id"]) for c in calls]
    assert ("GET", f"/v1/partners/{partner['id']}", 200, issued["client_id"]) in paths
    assert ("GET", f"/v1/partners/{other['id']}", 403, issued["client_id"]) in paths
    assert ("GET", "/public/v1/certificates", 200, issued["client_id"]) in paths
    assert any(c["query"] == "q=kerb" for c in calls)


def test_secrets_are_kept_only_as_hashes(api, hallmark):
    partner = register(api)
    issued = credential(api, partner["id"])
    key = credential(api, partner["id"], "api_key")
    with hallmark.views.read() as c:
        for table in ("partner_credentials", "partner_secrets", "partner_audit", "partners"):
            c.execute(f"SELECT * FROM {table}")
            dump = repr(c.fetchall())
            assert issued["client_secret"] not in dump and key["api_key"] not in dump, table
    assert "secrets" in api.get(f"/v1/partners/{partner['id']}", *ADMIN).json()["credentials"][0]
    assert issued["client_secret"] not in api.get(f"/v1/partners/{partner['id']}", *ADMIN).text


def test_rotation_keeps_the_old_secret_for_the_overlap_and_revocation_is_at_once(api, hallmark):
    partner = register(api)
    issued = credential(api, partner["id"])
    rotated = api.post(f"/v1/partners/{partner['id']}/credentials/{issued['client_id']}/rotate",
                       {"overlap_hours": 2}, *ADMIN).json()
    assert token(api, issued["client_id"], rotated["client_secret"]).status_code == 200
    assert token(api, issued["client_id"], issued["client_secret"]).status_code == 200  # within the overlap
    real_now = hallmark.partners.now
    hallmark.partners.now = lambda: real_now() + timedelta(hours=2, minutes=1)
    try:
        assert token(api, issued["client_id"], issued["client_secret"]).status_code == 401  # past it
        assert token(api, issued["client_id"], rotated["client_secret"]).status_code == 200
    finally:
        hallmark.partners.now = real_now
    access = token(api, issued["client_id"], rotated["client_secret"]).json()["access_token"]
    assert api.client.get(f"/v1/partners/{partner['id']}", headers=bearer(access)).status_code == 200
    revoked = api.post(f"/v1/partners/{partner['id']}/credentials/{issued['client_id']}/revoke",
                       {"reason": "laptop stolen"}, *ADMIN)
    assert revoked.status_code == 200
    refused = api.client.get(f"/v1/partners/{partner['id']}", headers=bearer(access))  # the token issued before
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert token(api, issued["client_id"], rotated["client_secret"]).json()["error"] == "invalid_client"
    actions = [a["action"] for a in api.get(f"/v1/partners/{partner['id']}/audit", *ADMIN).json()["items"]]
    assert actions == ["registered", "credential issued", "credential rotated", "credential revoked"]


def test_an_api_key_works_where_a_partner_can_do_nothing_else(api, hallmark):
    partner = register(api)
    key = credential(api, partner["id"], "api_key")["api_key"]
    answer = api.client.get(f"/v1/partners/{partner['id']}/subscriptions", headers={"X-API-Key": key})
    assert answer.status_code == 200
    assert api.client.get(f"/v1/partners/{partner['id']}", headers={"X-API-Key": key + "x"}).status_code == 401
    client_id = api.get(f"/v1/partners/{partner['id']}", *ADMIN).json()["credentials"][0]["client_id"]
    api.post(f"/v1/partners/{partner['id']}/credentials/{client_id}/revoke", {"reason": "replaced"}, *ADMIN)
    assert api.client.get(f"/v1/partners/{partner['id']}", headers={"X-API-Key": key}).status_code == 401
    calls = api.get(f"/v1/partners/{partner['id']}/calls", *ADMIN).json()["items"]
    assert calls and calls[0]["client_id"] == client_id
    assert token(api, client_id, key).status_code == 401  # an API key is no client secret


@pytest.mark.parametrize("data,headers,status,error", [
    ({"grant_type": "password"}, {}, 400, "unsupported_grant_type"),
    ({"grant_type": "client_credentials"}, {}, 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "pc_nobody", "client_secret": "x"}, {}, 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, {"Authorization": "Basic !!!"}, 401, "invalid_client"),
])
def test_token_errors_follow_rfc_6749(api, hallmark, data, headers, status, error):
    answer = api.client.post("/v1/oauth/token", data=data, headers=headers)
    assert answer.status_code == status and answer.json()["error"] == error
    assert answer.headers["cache-control"] == "no-store"
    assert api.client.post("/v1/oauth/token", json={"grant_type": "client_credentials"}).json()["error"] == \
        "invalid_request"


def test_partner_administration_is_for_admins_and_bad_input_changes_nothing(api, hallmark):
    assert api.post("/v1/partners", {"name": "X", "kind": "public_buyer", "contact_email": "a@b.be"},
                    "Olivia Officer", "applications_officer").status_code == 403
    for body in ({"name": "X", "kind": "spy", "contact_email": "a@b.be"},
                 {"name": "X", "kind": "public_buyer", "contact_email": "not-an-address"},
                 {"name": "X\x00", "kind": "public_buyer", "contact_email": "a@b.be"},
                 {"name": "X", "kind": "public_buyer", "contact_email": "a@b.be", "scopes": {"colours": ["red"]}}):
        answer = api.post("/v1/partners", body, *ADMIN)
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json", body
    assert api.get("/v1/partners", *ADMIN).json()["items"] == []
    register(api, name="Once")
    assert api.post("/v1/partners", {"name": "Once", "kind": "other", "contact_email": "a@b.be"},
                    *ADMIN).status_code == 409


def test_subscriptions_stay_within_the_partners_scopes(api, hallmark):
    File(api).granted()
    partner = register(api, marks=["BENOR"])
    url = "http://127.0.0.1:9/hooks"
    outside = api.post(f"/v1/partners/{partner['id']}/subscriptions", {"url": url, "filters": {"marks": ["COPRO"]}},
                       *ADMIN)
    assert outside.status_code == 403 and outside.json()["type"].endswith("out-of-scope")
    unnamed = api.post(f"/v1/partners/{partner['id']}/subscriptions", {"url": url}, *ADMIN)
    assert unnamed.status_code == 403
    within = api.post(f"/v1/partners/{partner['id']}/subscriptions", {"url": url, "filters": {"marks": ["BENOR"]},
                                                                       "events": ["suspended"]}, *ADMIN)
    assert within.status_code == 201 and within.json()["secret"].startswith("whsec_")
    bad = api.post(f"/v1/partners/{partner['id']}/subscriptions", {"url": "ftp://x", "filters": {"marks": ["BENOR"]}},
                   *ADMIN)
    assert bad.status_code == 422
    assert api.post(f"/v1/partners/{partner['id']}/subscriptions",
                    {"url": url, "filters": {"marks": ["BENOR"]}, "events": ["exploded"]}, *ADMIN).status_code == 422


def test_production_takes_the_partner_token_key_from_a_secret(tmp_path):
    from services.settings import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="HALLMARK_PARTNER_TOKEN_KEY_FILE"):
        Settings(data_dir=tmp_path, environment="production").partner_token_key()
    (tmp_path / "short").write_text("too short")
    with pytest.raises(ConfigurationError, match="at least 32"):
        Settings(data_dir=tmp_path, partner_token_key_path=str(tmp_path / "short")).partner_token_key()
    generated = Settings(data_dir=tmp_path).partner_token_key()
    assert generated == Settings(data_dir=tmp_path).partner_token_key() and len(generated) >= 48
    assert Settings(data_dir=tmp_path, environment="production").allow_http_webhooks is False
    assert Settings(data_dir=tmp_path, environment="production", webhooks_allow_http="1").allow_http_webhooks
