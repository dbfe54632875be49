"""Every endpoint of API.md: authentication (401), roles (403), unknown ids (404), malformed input
(422) and the RFC 9457 problem shape; no request, valid or not, gets a 500."""

from __future__ import annotations

import pytest

from tests.support import File, application_body, scheme_body

UNKNOWN = "00000000-0000-0000-0000-000000000000"

# (method, path template, body, roles allowed, a role refused)
ENDPOINTS = [
    ("POST", "/v1/schemes", lambda f: scheme_body(), "admin", "auditor"),
    ("GET", "/v1/schemes/{scheme}", None, "auditor", "applicant"),
    ("POST", "/v1/applications", lambda f: application_body(f.scheme), "applicant", "auditor"),
    ("GET", "/v1/applications/{application}", None, "applications_officer", None),
    ("POST", "/v1/applications/{application}/review", lambda f: {"outcome": "accepted", "reason": "ok"},
     "applications_officer", "applicant"),
    ("POST", "/v1/applications/{application}/withdraw", lambda f: {"reason": "no longer needed"},
     "applications_officer", "auditor"),
    ("POST", "/v1/audits", lambda f: {"application_id": f.application_id, "kind": "initial", "planned_start": "2030-01-01"},
     "auditor", "decision_maker"),
    ("GET", "/v1/audits/{audit}", None, "auditor", "applicant"),
    ("POST", "/v1/audits/{audit}/team",
     lambda f: {"person": "Tina Tech", "role": "technical_expert", "declaration": {"independent": True, "interests": []}},
     "applications_officer", "decision_maker"),
    ("POST", "/v1/audits/{audit}/findings",
     lambda f: {"severity": "minor", "requirement": "§1", "description": "x"}, "auditor", "applications_officer"),
    ("POST", "/v1/audits/{audit}/report",
     lambda f: {"conclusion": "conforming", "recommendation": "grant", "summary": "ok"}, "auditor", "decision_maker"),
    ("POST", "/v1/decisions",
     lambda f: {"subject": {"application_id": f.application_id}, "outcome": "refuse", "basis": [],
                "rationale": "r", "effective_from": "2099-01-01"}, "decision_maker", "auditor"),
    ("GET", "/v1/decisions/{decision}", None, "assessor", "applicant"),
    ("GET", "/v1/certificates", None, "registry_officer", "applicant"),
    ("GET", "/v1/certificates/{certificate}", None, "assessor", "applicant"),
    ("GET", "/v1/audit-trail?application_id={application}", None, "assessor", "auditor"),
]


@pytest.fixture
def granted(api) -> File:
    return File(api).granted()


def _path(template: str, f: File) -> str:
    return template.format(scheme=f.scheme, application=f.application_id, audit=f.audit_id,
                           certificate=f.certificate, decision=UNKNOWN)


def _assert_problem(response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if slug:
        assert body["type"].endswith(slug)
    return body


@pytest.mark.parametrize("method,template,body,allowed,refused", ENDPOINTS, ids=[f"{m} {p}" for m, p, *_ in ENDPOINTS])
def test_missing_or_bad_token_is_401_and_wrong_role_403(api, granted, method, template, body, allowed, refused):
    path = _path(template, granted)
    payload = body(granted) if body else None
    anonymous = api.client.request(method, path, json=payload)
    _assert_problem(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = api.client.request(method, path, json=payload, headers={"Authorization": "Bearer not.a.jwt"})
    _assert_problem(forged, 401)
    if refused:
        wrong = api.client.request(method, path, json=payload, headers=api.headers("Ivo Intruder", refused))
        _assert_problem(wrong, 403, "forbidden")


def test_token_signed_with_another_key_is_refused(api, granted):
    from shared.http.auth import issue_token

    token = issue_token(b"some-other-secret-that-is-long-enough", "Mallory", ["admin"])
    response = api.client.get("/v1/certificates", headers={"Authorization": f"Bearer {token}"})
    _assert_problem(response, 401)


@pytest.mark.parametrize("path,role", [
    ("/v1/schemes/NOPE", "auditor"),
    (f"/v1/applications/{UNKNOWN}", "applications_officer"),
    ("/v1/applications/not-a-uuid", "applications_officer"),
    (f"/v1/audits/{UNKNOWN}", "auditor"),
    (f"/v1/decisions/{UNKNOWN}", "assessor"),
    ("/v1/certificates/BENOR-99999", "assessor"),
    (f"/v1/audit-trail?application_id={UNKNOWN}", "assessor"),
])
def test_unknown_ids_are_404(api, path, role):
    _assert_problem(api.get(path, "Ivy", role), 404, "not-found")


def test_public_lookup_of_unknown_number_is_404(api):
    _assert_problem(api.get("/public/v1/certificates/BENOR-99999"), 404)


def test_commands_on_unknown_records_are_404(api):
    officer = ("Olivia Officer", "applications_officer")
    _assert_problem(api.post(f"/v1/applications/{UNKNOWN}/review", {"outcome": "accepted", "reason": "x"}, *officer), 404)
    _assert_problem(api.post(f"/v1/audits/{UNKNOWN}/findings",
                             {"severity": "minor", "requirement": "§1", "description": "x"}, "Luc", "auditor"), 404)


@pytest.mark.parametrize("path,body,role,field", [
    ("/v1/schemes", {"code": "X"}, "admin", "mark"),
    ("/v1/schemes", {**scheme_body(), "certification_type": "vehicle"}, "admin", "certification_type"),
    ("/v1/schemes", {**scheme_body(), "validity_months": 0}, "admin", "validity_months"),
    ("/v1/applications", {"scheme": "X"}, "applicant", "applicant"),
    # An empty list is an organisation's (R61); a product without its type is malformed.
    ("/v1/applications", {**application_body("X"), "products": [{"name": "Kerb"}]}, "applicant", "products"),
    ("/v1/applications", {**application_body("X"), "unexpected": 1}, "applicant", "unexpected"),
    ("/v1/audits", {"kind": "initial", "planned_start": "2030-01-01"}, "auditor", ""),
    ("/v1/audits", {"application_id": "x", "kind": "holiday", "planned_start": "2030-01-01"}, "auditor", "kind"),
    ("/v1/decisions", {"subject": {}, "outcome": "grant", "rationale": "r", "effective_from": "2030-01-01"},
     "decision_maker", "subject"),
    ("/v1/decisions", {"subject": {"application_id": "a"}, "outcome": "approve", "rationale": "r",
                       "effective_from": "2030-01-01"}, "decision_maker", "outcome"),
    ("/v1/decisions", {"subject": {"application_id": "a"}, "outcome": "grant", "rationale": "r",
                       "effective_from": "next tuesday"}, "decision_maker", "effective_from"),
])
def test_malformed_input_is_422_naming_the_fields(api, path, body, role, field):
    problem = _assert_problem(api.post(path, body, "Ivy", role), 422, "invalid-request")
    assert any(field in e["field"] for e in problem["errors"]), problem


def test_malformed_json_is_422(api):
    response = api.client.post("/v1/schemes", content=b"{not json", headers={
        **api.headers("Ada", "admin"), "Content-Type": "application/json"})
    _assert_problem(response, 422)


def test_refused_commands_record_nothing(api, hallmark):
    file = File(api)
    file.create_scheme()
    before = hallmark.registry.recorder.max_notification_id()
    _assert_problem(api.post("/v1/schemes", scheme_body(code=file.scheme), "Ada", "admin"), 409, "duplicate")
    _assert_problem(api.post("/v1/schemes", {**scheme_body(), "mark": "NOPE"}, "Ada", "admin"), 422)
    assert hallmark.registry.recorder.max_notification_id() == before


def test_unknown_scheme_is_not_yet_known_with_retry_after(api):
    response = api.post("/v1/applications", application_body("NEVER-REGISTERED"), "Bea", "applicant")
    _assert_problem(response, 409, "not-yet-known")
    assert int(response.headers["retry-after"]) >= 1


def test_applicant_sees_only_own_application(api):
    file = File(api)
    file.create_scheme()
    file.submit()
    own = api.get(f"/v1/applications/{file.application_id}", *File.APPLICANT)
    assert own.status_code == 200
    other = api.get(f"/v1/applications/{file.application_id}", "Other Manufacturer", "applicant")
    _assert_problem(other, 403)


def test_health_endpoints(api):
    assert api.get("/livez").json() == {"status": "alive"}
    anonymous = api.get("/readyz")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ready"}, anonymous.text
    ready = api.get("/readyz", "Asha Assessor", "assessor")
    assert ready.status_code == 200, ready.text
    assert all(v == "ok" for v in ready.json()["checks"].values())


def test_openapi_lists_the_contract(api):
    spec = api.get("/openapi.json").json()
    for path in ("/v1/schemes", "/v1/applications", "/v1/applications/{application_id}/review", "/v1/audits",
                 "/v1/audits/{audit_id}/team", "/v1/audits/{audit_id}/findings",
                 "/v1/audits/{audit_id}/findings/{finding_id}/close", "/v1/audits/{audit_id}/report",
                 "/v1/decisions", "/v1/certificates", "/v1/certificates/{number}",
                 "/public/v1/certificates/{number}", "/public/v1/certificates", "/v1/audit-trail"):
        assert path in spec["paths"], path


def test_each_service_serves_its_own_openapi(api):
    registry = api.get("/openapi/registry.json").json()
    assert "/v1/schemes" in registry["paths"] and "/public/v1/certificates/{number}" in registry["paths"]
    assert "/v1/decisions" not in registry["paths"]
    assert "/v1/decisions" in api.get("/openapi/decisions.json").json()["paths"]
    assert api.get("/openapi/nothing.json").status_code == 404


def test_problem_types_are_documented(api):
    assert "Separation of duties" in api.get("/problems/separation-of-duties").text
