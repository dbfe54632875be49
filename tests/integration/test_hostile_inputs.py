"""Hostile input on every POST operation and every listing, on SQLite and PostgreSQL: oversized strings
and lists, control characters, bidi overrides, invisible characters and confusables. Hallmark never
answers 5xx, every refusal is a problem (type, title, status, detail) that names the field, and a
refused request stores nothing: PostgreSQL never sees a NUL."""

from __future__ import annotations

import base64
import copy
from datetime import timedelta
from typing import Any, Callable, Iterator

import pytest

from shared.http.auth import ROLES
from tests.support import TODAY, Api, File, application_body, scheme_body

NUL, ESC, DEL, NEL, CSI = "\x00", "\x1b", "\x7f", "\x85", "\x9b"
RLO, LRI, LINE_SEPARATOR = "\u202e", "\u2066", "\u2028"
ANYONE = ("Hal Hostile", *ROLES)  # every role, so that only the input decides the answer
CONFUSABLES = str.maketrans("aceopxyABCEHKMOPTX", "асеорхуАВСЕНКМОРТХ")  # Latin -> Cyrillic look-alikes


# -- a file with something to act on for every POST operation -----------------------------------


def world(api: Api) -> dict[str, str]:
    partner = api.post("/v1/partners", {"name": "Aannemer NV", "kind": "procurement_platform",
                                        "contact_email": "it@aannemer.example"}, *ANYONE).json()
    client = api.post(f"/v1/partners/{partner['id']}/credentials", {"kind": "client_credentials", "label": "x"},
                      *ANYONE).json()
    api.post(f"/v1/partners/{partner['id']}/subscriptions", {"url": "http://127.0.0.1:9/closed"}, *ANYONE)
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *ANYONE), 201)
    file.plan(certificate_number=file.certificate)
    file.ok(file.team("Luc Lead", "lead_auditor"))
    finding = file.ok(file.finding("minor"), 201)
    sample = file.ok(api.post(f"/v1/audits/{file.audit_id}/samples", BODIES["/v1/audits/{audit_id}/samples"]({}),
                              *File.LEAD), 201)
    action = file.ok(api.post(f"/v1/audits/{file.audit_id}/findings/{finding['finding_id']}/corrective-actions",
                              BODIES["/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions"]({}),
                              "Hanna Holder", "applicant", organisation="BE0123456789"), 201)
    complaint = file.ok(api.post("/v1/complaints", BODIES["/v1/complaints"]({"number": file.certificate}), *ANYONE),
                        201)
    pending = File(api)
    pending.scheme = file.scheme
    pending.submit()
    interest = file.ok(api.post("/v1/staff/interests", BODIES["/v1/staff/interests"]({}), *File.ADMIN), 201)
    return {"interest_id": interest["id"], "code": file.scheme, "application_id": pending.application_id, "audit_id": file.audit_id,
            "finding_id": finding["finding_id"], "appeal_id": appeal["id"], "decision_id": suspended["id"],
            "number": file.certificate, "partner_id": partner["id"], "client_id": client["client_id"],
            "sample_id": sample["sample_id"], "corrective_action_id": action["corrective_action_id"],
            "complaint_id": complaint["id"]}


def complaint_body(w: dict[str, str]) -> dict[str, Any]:
    return {"subject": {"kind": "certificate", "certificate_number": w["number"]},
            "complainant": {"name": "Karel Klager", "email": "karel@example.be", "address": "Dorpstraat 1, Gent"},
            "description": "Kerbs crumble after one winter"}


BODIES: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
    "/v1/schemes": lambda w: scheme_body(),
    "/v1/schemes/commissions": lambda w: {
        "code": "SC-KERBS", "name": "Sectoral commission for kerbs", "schemes": [w["code"]], "marks": ["BENOR"]},
    "/v1/schemes/{code}/documents": lambda w: {
        "kind": "PTV", "ref": "PTV 21-601", "version": "2.1", "effective_from": TODAY.isoformat(),
        "transition_deadline": (TODAY + timedelta(days=180)).isoformat(),
        "commission_decision": {"commission": "SC-KERBS", "reference": "SC-KERBS/2026/07", "date": TODAY.isoformat()}},
    "/v1/applications": lambda w: application_body(w["code"]),
    "/v1/applications/persons": lambda w: {
        "scheme": w["code"], "candidate": {"name": "Jan Peeters", "contact": "jan.peeters@example.be"},
        "scope": "Asbestos inventory of buildings",
        "consultancy": [{"person": "Tom Trainer", "organisation": "Asbest Academie", "until": None}],
        "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"}},
    "/v1/applications/{application_id}/review": lambda w: {"outcome": "accepted", "reason": "Complete"},
    "/v1/applications/{application_id}/information": lambda w: {"note": "Drawings attached"},
    "/v1/applications/{application_id}/withdraw": lambda w: {"reason": "No longer needed"},
    "/v1/applications/{application_id}/agreement": lambda w: {"conditions_version": "2026-07",
                                                             "licence_version": "2026-07"},
    "/v1/applications/{application_id}/consultancy": lambda w: {"consultancy": [
        {"person": "Nina New", "organisation": "Advies BV", "until": None}]},
    "/v1/applications/{application_id}/requests": lambda w: {
        "kind": "reduce_scope", "products": [{"name": "Kerb KB 100", "type": "kerb"}], "reason": "Gutters no longer made"},
    "/v1/audits": lambda w: {"certificate_number": w["number"], "kind": "special",
                             "planned_start": TODAY.isoformat(), "reason": "Complaint about kerbs"},
    "/v1/audits/{audit_id}/team": lambda w: {
        "person": "Tom Team", "role": "auditor",
        "declaration": {"independent": True, "interests": ["Member of the sectoral commission"]}},
    "/v1/audits/{audit_id}/findings": lambda w: {
        "severity": "minor", "requirement": "PTV 21-601 §5.2", "description": "Curing log incomplete",
        "corrective_action_due": (TODAY + timedelta(days=30)).isoformat()},
    "/v1/audits/{audit_id}/findings/{finding_id}/close": lambda w: {"evidence": "Corrected curing log"},
    "/v1/audits/{audit_id}/report": lambda w: {"conclusion": "conforming", "recommendation": "maintain",
                                               "summary": "Factory production control in place"},
    "/v1/audits/{audit_id}/samples": lambda w: {
        "product": "Kerb KB 100", "batch": "B-2026-0413", "seal_number": "S-000123", "taken_on": TODAY.isoformat(),
        "laboratory": "LAB-0042"},
    "/v1/samples/{sample_id}/results": lambda w: {
        "method": "EN 1340 annex F", "clause": "PTV 21-601 §5.3",
        "values": [{"quantity": "bending strength", "value": 3.1, "unit": "MPa"}], "conformity": "nonconforming",
        "accreditation": "BELAC 123-TEST"},
    "/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions": lambda w: {
        "description": "Curing log kept per batch", "evidence": [{"name": "Curing log", "reference": "CL-042"}]},
    "/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions/{corrective_action_id}/review": lambda w: {
        "outcome": "rejected", "reason": "No log for batch 43"},
    "/v1/audits/{audit_id}/report/comments": lambda w: {"comment": "Batch 42 was a trial batch"},
    "/v1/audits/{audit_id}/examination": lambda w: {"part": "theory", "score": 82},
    "/v1/decisions": lambda w: {"subject": {"certificate_number": w["number"]}, "outcome": "reduce_scope",
                                "basis": [w["audit_id"]], "rationale": "Kerbs only", "scope": "Kerbs KB 100",
                                "effective_from": TODAY.isoformat()},
    "/v1/appeals": lambda w: {"decision_id": w["decision_id"], "appellant": "Betonwerk Noord NV",
                              "grounds": "Products conform"},
    "/v1/appeals/{appeal_id}/decide": lambda w: {"committee": ["Paula Public", "Uma User"], "outcome": "dismissed",
                                                 "rationale": "Suspension well founded"},
    "/v1/appeals/{appeal_id}/committee": lambda w: {
        "members": [{"person": "Chris Chair", "role": "chair", "organisation": "FOD Economie"},
                    {"person": "Paula Public", "role": "member"}, {"person": "Uma User", "role": "member"}],
        "reason": "Two public members and a user"},
    "/v1/appeals/{appeal_id}/votes": lambda w: {"member": "Paula Public", "vote": "dismissed",
                                                "reason": "Suspension well founded"},
    "/v1/staff/interests": lambda w: {
        "person": "Stan Staff", "organisation": {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789"},
        "kind": "family", "since": "2024-01-01", "until": TODAY.isoformat(), "reason": "Declared at the annual review"},
    "/v1/staff/interests/{interest_id}/end": lambda w: {"until": TODAY.isoformat(), "reason": "Contract ended"},
    "/public/v1/complaints": lambda w: complaint_body(w),
    "/v1/complaints": lambda w: complaint_body(w),
    "/v1/complaints/{complaint_id}/acknowledgement": lambda w: {"reason": "Received; answer within 30 days"},
    "/v1/complaints/{complaint_id}/admissibility": lambda w: {"admissible": True, "reason": "About a certificate"},
    "/v1/complaints/{complaint_id}/handler": lambda w: {"handler": "Hugo Handler", "reason": "Not involved"},
    "/v1/complaints/{complaint_id}/audits": lambda w: {"audit_id": w["audit_id"], "reason": "Special visit"},
    "/v1/complaints/{complaint_id}/outcome": lambda w: {"outcome": "well_founded", "decision_ids": [w["decision_id"]],
                                                        "rationale": "Samples fail"},
    "/v1/complaints/{complaint_id}/notices": lambda w: {"recipient": "complainant", "summary": "Well founded"},
    "/v1/complaints/{complaint_id}/close": lambda w: {"reason": "Outcome notified"},
    "/v1/people/erasures": lambda w: {"name": "Nobody Known", "reason": "Retention period over"},
    "/public/v1/verify": lambda w: {"items": [{"number": w["number"], "on": TODAY.isoformat()}]},
    "/v1/partners": lambda w: {"name": "Bouwplatform BV", "kind": "procurement_platform",
                               "contact_email": "ops@bouwplatform.example", "scopes": {"marks": ["BENOR"]}},
    "/v1/partners/{partner_id}/credentials": lambda w: {"kind": "api_key", "label": "nightly sync"},
    "/v1/partners/{partner_id}/credentials/{client_id}/rotate": lambda w: {"overlap_hours": 1},
    "/v1/partners/{partner_id}/credentials/{client_id}/revoke": lambda w: {"reason": "Key leaked in a log"},
    "/v1/partners/{partner_id}/subscriptions": lambda w: {"url": "https://hooks.example/hallmark",
                                                          "events": ["suspended"], "filters": {"marks": ["BENOR"]}},
}
# Single-line fields that are free text, where a newline is allowed.
FREE_TEXT = {"reason", "note", "scope", "description", "evidence", "summary", "rationale", "grounds", "comment",
             "applicant.address", "production_unit.address", "products.0.description", "complainant.address",
             "candidate.contact"}


def post_operations(api: Api) -> list[str]:
    spec = api.get("/openapi.json").json()
    return sorted(path for path, item in spec["paths"].items() if "post" in item)


# Operations outside the services' api.py modules, with their own request models.
ELSEWHERE = {
    "/v1/operations/parked-messages/{action}",  # services/operations.py: consumer and id are patterns
    "/v1/oauth/token",  # a form, not JSON (RFC 6749): tests/integration/test_partners.py
    "/v1/partners/{partner_id}/subscriptions/{subscription_id}/{action}",  # no body
    "/v1/partners/{partner_id}/deliveries/{delivery_id}/replay",  # no body
    "/v1/certificates/sweep",  # no body: services/operations.py
}


def test_every_post_operation_has_a_body_here(api):
    assert [p for p in post_operations(api) if p not in ELSEWHERE] == sorted(BODIES)


def strings(body: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(body, str):
        yield path, body
    elif isinstance(body, dict):
        for key, value in body.items():
            yield from strings(value, (*path, key))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            yield from strings(value, (*path, i))


def lists(body: Any, path: tuple = ()) -> Iterator[tuple[tuple, list]]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield from lists(value, (*path, key))
    elif isinstance(body, list):
        yield path, body
        for i, value in enumerate(body):
            yield from lists(value, (*path, i))


def replaced(body: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def problem(response) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    assert response.status_code >= 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == response.status_code
    return body


def names(response, path: tuple) -> bool:
    """Whether the answer is a validation problem about the field at ``path``."""
    name = dotted(path)
    errors = response.json().get("errors", []) if response.status_code == 422 else []
    return any(e["field"] == name or e["field"].startswith(name + ".") for e in errors)


def refused_naming(response, path: tuple) -> dict[str, Any]:
    """A 422 problem whose errors name the field at ``path``."""
    body = problem(response)
    assert response.status_code == 422 and names(response, path), (dotted(path), body)
    return body


def no_5xx(response) -> None:
    if response.status_code >= 400:
        problem(response)
    assert response.status_code < 500, response.text


def heads(api: Api) -> str:
    """The log's signed checkpoint: it changes with any event stored by any service."""
    api.settle()
    return api.get("/v1/trail/checkpoint").text


def operations(api: Api) -> Iterator[tuple[str, dict[str, Any]]]:
    w = world(api)
    for template, make in BODIES.items():
        yield template.format(**w), make(w)


# -- NUL and the other control characters: refused, nothing stored (both backends) ------------------


def test_a_nul_anywhere_is_refused_and_nothing_is_stored(api):
    ops = list(operations(api))
    before = heads(api)
    for path, body in ops:
        for field, value in strings(body):
            answer = api.post(path, replaced(body, field, value[:1] + NUL + value[1:]), *ANYONE)
            refused_naming(answer, field)
    assert heads(api) == before, "a refused request stored an event"
    evil = replaced(dict(ops)["/v1/applications"], ("applicant", "name"), "Evil\x00Corp\x1b[2J")
    answer = api.post("/v1/applications", evil, *ANYONE)
    assert "U+0000" in refused_naming(answer, ("applicant", "name"))["errors"][0]["message"]


QUERIES = [
    ("/v1/certificates", "holder"), ("/v1/certificates", "application_id"), ("/v1/certificates", "scheme"),
    ("/v1/certificates", "cursor"), ("/public/v1/certificates", "q"), ("/public/v1/certificates", "mark"),
    ("/public/v1/certificates", "scheme"), ("/public/v1/certificates", "cursor"),
    ("/v1/audit-trail", "application_id"), ("/v1/audit-trail", "certificate_number"), ("/v1/audit-trail", "cursor"),
    ("/v1/trail/impartiality", "application_id"), ("/v1/trail/impartiality", "certificate_number"),
    ("/v1/applications", "registration_number"), ("/v1/applications", "cursor"), ("/v1/requests", "cursor"),
    ("/v1/holder/files", "registration_number"), ("/v1/holder/files", "cursor"),
    ("/v1/laboratory/samples", "cursor"), ("/v1/worklist", "cursor"),
    ("/v1/complaints", "status"), ("/v1/complaints", "kind"), ("/v1/complaints", "certificate"),
    ("/v1/complaints", "cursor"), ("/v1/staff/interests", "registration_number"), ("/v1/staff/interests", "cursor"),
]


def test_query_parameters_refuse_control_characters(api):
    for path, name in QUERIES:
        for char in (NUL, ESC, DEL, CSI, RLO, "\n"):
            answer = api.get(path, *ANYONE, **{name: f"BENOR{char}1"})
            assert problem(answer)["status"] == 422, (path, name, answer.text)
            assert answer.json()["errors"][0]["field"] == f"query.{name}", answer.text


def test_path_ids_refuse_control_characters(api):
    for path in ("/v1/certificates/AB%00C", "/public/v1/certificates/AB%1BC", "/v1/applications/x%00",
                 "/v1/audits/%E2%80%AEx", "/v1/schemes/X%00", "/v1/decisions/x%7F", "/v1/appeals/x%C2%85",
                 "/v1/complaints/x%00", "/v1/staff/interests/x%00"):
        answer = api.get(path, *ANYONE)
        assert problem(answer)["status"] == 422 and "path." in answer.json()["detail"], answer.text


def test_a_cursor_that_decodes_to_a_nul_is_refused(api):
    cursor = base64.urlsafe_b64encode(b"after:\x00").decode().rstrip("=")
    for path in ("/v1/certificates", "/public/v1/certificates"):
        assert problem(api.get(path, "Asha", "admin", cursor=cursor))["status"] == 422


# -- every other hostile string and list (both backends) ----------------------------------------------


def test_hostile_strings_in_every_field(api):
    for path, body in operations(api):
        for field, value in strings(body):
            for char in (ESC, DEL, NEL, CSI, RLO, LRI, "\x08"):
                refused_naming(api.post(path, replaced(body, field, value + char + "x"), *ANYONE), field)
            refused_naming(api.post(path, replaced(body, field, "x" * 10_001), *ANYONE), field)
            newline = api.post(path, replaced(body, field, value + "\nsecond line"), *ANYONE)
            if dotted(field) in FREE_TEXT:
                no_5xx(newline)
                assert not names(newline, field), newline.text
            else:
                refused_naming(newline, field)
            # Look-alikes and invisible characters are not refused; they must never break anything.
            for hostile in (value.translate(CONFUSABLES), value[:2] + "\u200b\u00ad" + value[2:], "\u3000" + value,
                            value + LINE_SEPARATOR if dotted(field) in FREE_TEXT else value + "\ufeff"):
                no_5xx(api.post(path, replaced(body, field, hostile), *ANYONE))


def test_oversized_lists_in_every_body(api):
    for path, body in operations(api):
        for field, items in lists(body):
            refused_naming(api.post(path, replaced(body, field, items * 1000), *ANYONE), field)


BOUNDS = [  # (operation, list field, limit, one item)
    ("/v1/applications", ("products",), 200, {"name": "Kerb", "type": "kerb"}),
    ("/v1/applications", ("consultancy",), 50, {"person": "Carla Consult", "until": None}),
    ("/v1/audits/{audit_id}/team", ("declaration", "interests"), 50, "a shareholding"),
    ("/v1/decisions", ("basis",), 50, "a1d17000-0000-4000-8000-000000000001"),
    ("/v1/appeals/{appeal_id}/decide", ("committee",), 12, None),
    ("/v1/schemes", ("documents",), 50, None),
]


def test_list_bounds(api):
    w = world(api)
    for template, field, limit, item in BOUNDS:
        body = BODIES[template](w)
        path = template.format(**w)
        if template.endswith("/decide"):
            at_limit = [f"Member {chr(65 + i)}" for i in range(limit)]
        elif template == "/v1/schemes":
            at_limit = [{"kind": "PTV", "ref": f"PTV {i}", "version": "1", "effective_from": "2025-01-01"}
                        for i in range(limit)]
        else:
            at_limit = [item] * limit
        over = at_limit + at_limit[:1]
        refused_naming(api.post(path, replaced(body, field, over), *ANYONE), field)
        answer = api.post(path, replaced(body, field, at_limit), *ANYONE)
        no_5xx(answer)
        assert not names(answer, field), answer.text


# -- R2 and R8 cannot be bypassed with invisible characters ------------------------------------------


def test_an_invisible_character_does_not_make_the_decider_someone_else(api):
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *ANYONE), 201)
    path = f"/v1/appeals/{appeal['id']}/decide"
    for disguised in ("Dirk Decider\u200b", "Dirk De\u00adcider", "dirk\u00a0DECIDER", "\uff24irk Decider",
                      "Luc\u2060 Lead\ufeff", "Lu\u0063\u200d Lead"):
        answer = api.post(path, {"committee": ["Paula Public", disguised], "outcome": "upheld", "rationale": "r"},
                          *ANYONE)
        assert answer.status_code == 409 and problem(answer)["type"].endswith("separation-of-duties"), disguised
    for hidden in ("Dirk\u202eredic", "Dirk\x1b[2J Decider", "Dirk\nDecider"):
        answer = api.post(path, {"committee": ["Paula Public", hidden], "outcome": "upheld", "rationale": "r"},
                          *ANYONE)
        refused_naming(answer, ("committee", 1))
    evidence = api.get("/v1/trail/impartiality", "Asha", "assessor", application_id=file.application_id).json()
    assert evidence["rules"]["R8"] == {"title": evidence["rules"]["R8"]["title"], "held": True, "checks": []}
    decided = api.post(path, {"committee": ["Paula Public", "Uma User"], "outcome": "dismissed", "rationale": "r"},
                       *ANYONE)
    assert decided.status_code == 200, decided.text
    evidence = api.get("/v1/trail/impartiality", "Asha", "assessor", application_id=file.application_id).json()
    assert evidence["rules"]["R8"]["held"] and len(evidence["rules"]["R8"]["checks"]) == 2


@pytest.mark.parametrize("declared,assigned", [
    ("Carla Consult", "Carla Consult\u200b"), ("Carla Consult\u200b", "Carla Consult"),
    ("Carla Con\u00adsult", "carla consult"), ("Carla\u00a0Consult", "\uff23arla Consult"),
])
def test_an_invisible_character_does_not_make_the_consultant_someone_else(api, declared, assigned):
    file = File(api)
    file.create_scheme()
    file.submit(consultant=declared)
    file.accept()
    file.plan()
    answer = file.team(assigned, "lead_auditor")
    assert answer.status_code == 409 and problem(answer)["type"].endswith("conflict-of-interest"), answer.text
    evidence = api.get("/v1/trail/impartiality", "Asha", "assessor", application_id=file.application_id).json()
    assert evidence["rules"]["R2"]["held"]  # refused, so nothing to breach
    assert [p["person"] for p in evidence["participants"] if p["role"] == "lead_auditor"] == []
