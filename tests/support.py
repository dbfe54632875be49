"""Test helpers: tokens for people with roles, and the steps of a certification file."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Callable
from uuid import uuid4

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

from shared.clock import Clock
from shared.http.auth import issue_token


def today() -> date:
    """Today as the certification body counts it (its own time zone), never the machine's UTC date."""
    return Clock().today()


TODAY = today()


class Api:
    """A TestClient that acts as named people, settling the in-process bus between steps."""

    def __init__(self, client: "TestClient", secret: bytes, settle: Callable[[], Any]) -> None:
        self.client = client
        self.secret = secret
        self.settle = settle

    def headers(self, person: str, *roles: str, key: str | None = None,
                organisation: str | None = None) -> dict[str, str]:
        token = issue_token(self.secret, person, roles, organisation=organisation)
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def post(self, path: str, body: Any, person: str, *roles: str, key: str | None = None,
             organisation: str | None = None):
        headers = self.headers(person, *roles, key=key, organisation=organisation)
        response = self.client.post(path, json=body, headers=headers)
        self.settle()
        return never_500(response)

    def get(self, path: str, person: str | None = None, *roles: str, organisation: str | None = None,
            **params: Any):
        headers = self.headers(person, *roles, organisation=organisation) if person else {}
        return never_500(self.client.get(path, headers=headers, params=params or None))


def problem(response, status: int, slug: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem of that status whose type ends in ``slug``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith(slug), body
    return body


def retried(call: Callable[[], Any], attempts: int = 100) -> Any:
    """Facts travel asynchronously (Kafka, a running pump): a command may be told to retry while they do
    (409 not-yet-known, 503 knowledge-stale), never wrongly judged. Returns the first other answer."""
    for _ in range(attempts):
        response = call()
        if response.status_code not in (409, 503) or not response.json()["type"].endswith(
                ("not-yet-known", "knowledge-stale")):
            return response
        time.sleep(0.05)
    return response


def never_500(response):
    """No request in the suite, valid or not, may make Hallmark fail."""
    assert response.status_code < 500 or response.status_code == 503, response.text
    return response


def scheme_body(code: str | None = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "code": code or f"PTV-{uuid4().hex[:6].upper()}",
        "mark": "BENOR",
        "title": "Precast concrete kerbs",
        "certification_type": "product",
        "documents": [
            {"kind": "TRA", "ref": "TRA 21", "version": "3.0", "effective_from": "2025-01-01"},
            {"kind": "PTV", "ref": "PTV 21-601", "version": "2.0", "effective_from": "2025-01-01"},
        ],
        "validity_months": 36,
        "surveillance_months": 12,
        "admission_months": 6,
        "max_suspension_months": 6,
    }
    body.update(overrides)
    return body


def application_body(scheme: str, consultant: str = "Carla Consult", **overrides: Any) -> dict[str, Any]:
    body = {
        "scheme": scheme,
        "applicant": {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789",
                      "address": "Kaai 1, 2000 Antwerpen"},
        "production_unit": {"name": "Plant Zelzate", "address": "Industrieweg 5, 9060 Zelzate"},
        "products": [{"name": "Kerb KB 100", "type": "kerb"}],
        "scope": "Precast concrete kerbs, type KB",
        "consultancy": [{"person": consultant, "organisation": "QualiConsult BV",
                         "until": (TODAY - timedelta(days=200)).isoformat()}],
        "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"},
    }
    body.update(overrides)
    return body


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class File:
    """One certification file driven through the API, step by step, by the right people."""

    OFFICER = ("Olivia Officer", "applications_officer")
    LEAD = ("Luc Lead", "auditor")
    AUDITOR = ("Ann Auditor", "auditor")
    DECIDER = ("Dirk Decider", "decision_maker")
    ADMIN = ("Ada Admin", "admin")
    APPLICANT = ("Betonwerk Noord", "applicant")

    def __init__(self, api: Api) -> None:
        self.api = api
        self.scheme: str | None = None
        self.application_id: str | None = None
        self.audit_id: str | None = None
        self.certificate: str | None = None

    def ok(self, response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        return response.json()

    def create_scheme(self, **overrides: Any) -> dict[str, Any]:
        body = self.ok(self.api.post("/v1/schemes", scheme_body(**overrides), *self.ADMIN), 201)
        self.scheme = body["code"]
        return body

    def submit(self, **overrides: Any) -> dict[str, Any]:
        body = self.ok(self.api.post("/v1/applications", application_body(self.scheme, **overrides), *self.APPLICANT), 201)
        self.application_id = body["id"]
        return body

    def accept(self) -> dict[str, Any]:
        return self.ok(self.api.post(f"/v1/applications/{self.application_id}/review",
                                     {"outcome": "accepted", "reason": "complete; scheme in scope"}, *self.OFFICER))

    def plan(self, kind: str | None = None, **subject: Any) -> dict[str, Any]:
        """An initial audit of the application, or (with a certificate as subject) a surveillance audit."""
        kind = kind or ("surveillance" if "certificate_number" in subject else "initial")
        body = {"kind": kind, "planned_start": today().isoformat(), **(subject or {"application_id": self.application_id})}
        audit = self.ok(self.api.post("/v1/audits", body, *self.LEAD), 201)
        self.audit_id = audit["id"]
        return audit

    def team(self, person: str, role: str, independent: bool = True):
        return self.api.post(f"/v1/audits/{self.audit_id}/team",
                             {"person": person, "role": role, "declaration": {"independent": independent, "interests": []}},
                             *self.OFFICER)

    def finding(self, severity: str, by: tuple[str, str] | None = None):
        return self.api.post(f"/v1/audits/{self.audit_id}/findings",
                             {"severity": severity, "requirement": "PTV 21-601 §5.2", "description": "Curing log incomplete"},
                             *(by or self.LEAD))

    def close(self, finding_id: str, by: tuple[str, str] | None = None):
        return self.api.post(f"/v1/audits/{self.audit_id}/findings/{finding_id}/close",
                             {"evidence": "Corrected curing log, batch 42"}, *(by or self.LEAD))

    def report(self, by: tuple[str, str] | None = None, conclusion: str = "conforming"):
        return self.api.post(f"/v1/audits/{self.audit_id}/report",
                             {"conclusion": conclusion, "recommendation": "grant", "summary": "Factory production control in place"},
                             *(by or self.LEAD))

    def decide(self, outcome: str, by: tuple[str, str] | None = None, effective_from: str | None = None,
               key: str | None = None, **extra: Any):
        subject = ({"application_id": self.application_id} if outcome in ("grant", "refuse")
                   else {"certificate_number": self.certificate})
        body = {"subject": subject, "outcome": outcome, "basis": [self.audit_id] if self.audit_id else [],
                "rationale": f"{outcome}: file reviewed", "effective_from": effective_from or today().isoformat(), **extra}
        return self.api.post("/v1/decisions", body, *(by or self.DECIDER), key=key)

    def planned(self) -> "File":
        """Scheme, application, acceptance, an audit with Luc Lead as lead auditor."""
        self.create_scheme()
        self.submit()
        self.accept()
        self.plan()
        self.ok(self.team(*self.LEAD[:1], "lead_auditor"))
        return self

    def evaluated(self) -> "File":
        """A planned audit, reported: ready for a decision."""
        self.planned()
        self.ok(self.report())
        return self

    def granted(self) -> "File":
        self.evaluated()
        self.ok(self.decide("grant"), 201)
        items = self.ok(self.api.get("/v1/certificates", *self.ADMIN, application_id=self.application_id))["items"]
        assert len(items) == 1, items
        self.certificate = items[0]["number"]
        return self
