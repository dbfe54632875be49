"""A guided first run: one full certification lifecycle through the HTTP API, as a partner's client
would drive it, printing what happens at each step."""

from __future__ import annotations

import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.settings import ConfigurationError, Settings
from shared.clock import Clock
from shared.http.auth import issue_token

PEOPLE = {
    "admin": ("Ada Admin", ["admin"]),
    "applicant": ("Betonwerk Noord", ["applicant"]),
    "officer": ("Olivia Officer", ["applications_officer"]),
    "lead": ("Luc Lead", ["auditor"]),
    "lead_as_decider": ("Luc Lead", ["decision_maker"]),
    "consultant": ("Carla Consult", ["auditor"]),
    "surveyor": ("Ann Auditor", ["auditor"]),
    "decider": ("Dirk Decider", ["decision_maker"]),
    "assessor": ("Asha Assessor", ["assessor"]),
}


class DemoFailed(RuntimeError):
    pass


class _Routed(httpx.HTTPTransport):
    """Distributed mode (make up): each path goes to the port of the component that serves it, the base
    URL's port + 1..5 (8001-8005 of API.md for the default 8000)."""

    def __init__(self, base_port: int) -> None:
        super().__init__()
        self.base_port = base_port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        from services.supervisor import ROUTES, port_of

        component = next((c for c, prefixes in ROUTES.items() if request.url.path.startswith(prefixes)), None)
        if component is not None:
            request.url = request.url.copy_with(port=port_of(component, self.base_port))
            request.headers["Host"] = f"{request.url.host}:{request.url.port}"
        return super().handle_request(request)


class Client:
    def __init__(self, base: str, secret: bytes, distributed: bool = False) -> None:
        transport = _Routed(httpx.URL(base).port or 80) if distributed else None
        self.http = httpx.Client(base_url=base, timeout=10, transport=transport)
        self.tokens: dict[str, str] = {}
        self.add_people(secret, PEOPLE)

    def add_people(self, secret: bytes, people: dict[str, tuple]) -> None:
        """Who else the story acts as: who -> (person, roles), or (person, roles, organisation) for someone
        acting for an organisation (the token's ``organisation`` claim, R18)."""
        for who, (person, roles, *organisation) in people.items():
            self.tokens[who] = issue_token(secret, person, roles, organisation=organisation[0] if organisation else None)

    def call(self, method: str, path: str, who: str | None, body: Any = None, expect: int = 200,
             **params: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        for _ in range(50):
            response = self.http.request(method, path, json=body, headers=headers, params=params or None)
            problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            if response.status_code == 409 and str(problem.get("type", "")).endswith("not-yet-known"):
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 0.2))
                continue
            break
        if response.status_code != expect:
            raise DemoFailed(f"{method} {path} answered {response.status_code}, expected {expect}: {response.text}")
        return response.json()


def step(text: str) -> None:
    print(f"\n== {text}")


def say(text: str) -> None:
    print(f"   {text}")


def run_demo(base: str, settings: Settings, distributed: bool = False, story: str = "lifecycle") -> int:
    """``story``: ``lifecycle`` (the main line, below), ``people`` (services/demo_people.py) or ``schemes``
    (services/demo_schemes.py)."""
    try:
        secret = settings.local_secret(create=False)
    except ConfigurationError as error:
        print(f"hallmark demo: {error}", file=sys.stderr)
        return 2
    if story == "people":
        from services.demo_people import PeopleClient, people_story

        client, shown = PeopleClient(base, secret, distributed), base
    elif story == "schemes":
        from services.demo_schemes import SchemesClient, schemes_story

        client, shown = SchemesClient(base, secret, distributed), base
    else:
        client, shown = Client(base, secret, distributed), base
    if distributed:  # where the certificates and the public lookup are
        from services.supervisor import port_of

        url = httpx.URL(base)
        shown = f"{url.scheme}://{url.host}:{port_of('registry', url.port or 80)}"
    try:
        # Dates come from the body's calendar (its time zone), never the machine's UTC date.
        today = Clock(settings.timezone).today()
        if story == "people":
            return people_story(client, shown, today, settings.data_dir / "documents")
        if story == "schemes":
            return schemes_story(client, shown, today)
        return _demo(client, shown, today, settings.data_dir / "evidence")
    except httpx.ConnectError as error:
        where = f"{base} ({error})" if distributed else base
        print(f"hallmark demo: nothing answers at {where}; start Hallmark first with "
              f"'{'make up' if distributed else 'make run'}'", file=sys.stderr)
        return 2
    except DemoFailed as error:
        print(f"\nhallmark demo: FAILED: {error}", file=sys.stderr)
        return 1


def _demo(api: Client, base: str, today: date, evidence_dir: Path) -> int:
    code = f"PTV-DEMO-{uuid.uuid4().hex[:4].upper()}"

    step("1. The registry officer registers a BENOR scheme with its TRA and PTV")
    scheme = api.call("POST", "/v1/schemes", "admin", {
        "code": code, "mark": "BENOR", "title": "Precast concrete kerbs", "certification_type": "product",
        "documents": [{"kind": "TRA", "ref": "TRA 21", "version": "3.0", "effective_from": "2025-01-01"},
                      {"kind": "PTV", "ref": "PTV 21-601", "version": "2.0", "effective_from": "2025-01-01"}],
        "validity_months": 36, "surveillance_months": 12, "admission_months": 6, "max_suspension_months": 6,
    }, expect=201)
    say(f"scheme {scheme['code']} ({scheme['mark']}), certificates valid {scheme['validity_months']} months")

    step("2. A manufacturer applies, declaring that Carla Consult advised it last year")
    application = api.call("POST", "/v1/applications", "applicant", {
        "scheme": code,
        "applicant": {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789", "address": "Kaai 1, Antwerpen"},
        "production_unit": {"name": "Plant Zelzate", "address": "Industrieweg 5, Zelzate"},
        "products": [{"name": "Kerb KB 100", "type": "kerb"}],
        "scope": "Precast concrete kerbs, type KB",
        "consultancy": [{"person": "Carla Consult", "organisation": "QualiConsult BV",
                         "until": (today - timedelta(days=200)).isoformat()}],
        "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"},
    }, expect=201)
    app_id = application["id"]
    say(f"application {app_id}: {application['status']}")

    step("3. The applications officer accepts it")
    say("status: " + api.call("POST", f"/v1/applications/{app_id}/review", "officer",
                              {"outcome": "accepted", "reason": "complete, scheme in scope"})["status"])

    step("4. An initial audit is planned and Luc Lead is assigned as lead auditor")
    audit = api.call("POST", "/v1/audits", "lead", {"application_id": app_id, "kind": "initial",
                                                    "planned_start": today.isoformat()}, expect=201)
    audit_id = audit["id"]
    api.call("POST", f"/v1/audits/{audit_id}/team", "officer", {
        "person": "Luc Lead", "role": "lead_auditor", "declaration": {"independent": True, "interests": []}})
    say(f"audit {audit_id}, lead auditor Luc Lead (independence declared)")

    step("5. Putting the declared consultant on the team is refused (R2)")
    problem = api.call("POST", f"/v1/audits/{audit_id}/team", "officer", {
        "person": "Carla Consult", "role": "auditor", "declaration": {"independent": True, "interests": []}},
        expect=409)
    say(f"409 {problem['type']}: {problem['detail']}")

    step("6. The lead auditor records a minor finding, closes it, records a major one, reports")
    minor = api.call("POST", f"/v1/audits/{audit_id}/findings", "lead", {
        "severity": "minor", "requirement": "PTV 21-601 §5.2", "description": "Curing log incomplete"}, expect=201)
    api.call("POST", f"/v1/audits/{audit_id}/findings/{minor['finding_id']}/close", "lead",
             {"evidence": "Corrected curing log, batch 42"})
    major = api.call("POST", f"/v1/audits/{audit_id}/findings", "lead", {
        "severity": "major", "requirement": "PTV 21-601 §7.1", "description": "No initial type testing"}, expect=201)
    report = api.call("POST", f"/v1/audits/{audit_id}/report", "lead", {
        "conclusion": "nonconforming", "recommendation": "grant after closure of the major finding",
        "summary": "FPC in place; type testing missing"})
    say(f"report {report['report_id']}; open major finding {major['finding_id']}")

    decision = {"subject": {"application_id": app_id}, "outcome": "grant", "basis": [audit_id],
                "rationale": "Evaluation complete", "effective_from": today.isoformat()}
    step("7. The lead auditor may not decide on the file he evaluated (R1)")
    problem = api.call("POST", "/v1/decisions", "lead_as_decider", decision, expect=409)
    say(f"409 {problem['type']}: {problem['detail']}")

    step("8. No grant while a major nonconformity is open (R4)")
    problem = api.call("POST", "/v1/decisions", "decider", decision, expect=409)
    say(f"409 {problem['type']}: {problem['detail']}")

    step("9. The major finding is closed with evidence; Dirk Decider grants")
    api.call("POST", f"/v1/audits/{audit_id}/findings/{major['finding_id']}/close", "lead",
             {"evidence": "Initial type testing report ITT-2026-17"})
    granted = api.call("POST", "/v1/decisions", "decider", decision, expect=201)
    say(f"decision {granted['id']}: {granted['outcome']} by {granted['decided_by']} on {granted['decided_on']}")

    step("10. The certificate appears in the public directory")
    number = _wait(lambda: (api.call("GET", "/v1/certificates", "admin", application_id=app_id)["items"] or [None])[0])
    number = number["number"]
    public, waited = _wait_status(api, number, "active")
    say(f"{number} rev {public['revision']} {public['status']} until {public['valid_until']}, "
        f"quick code {public['quick_code']} (public {waited * 1000:.0f} ms after the certificate was listed)")

    step("11. A surveillance audit finds a major nonconformity; Dirk Decider suspends the certificate")
    surveillance = api.call("POST", "/v1/audits", "surveyor", {
        "certificate_number": number, "kind": "surveillance", "planned_start": today.isoformat()}, expect=201)
    api.call("POST", f"/v1/audits/{surveillance['id']}/team", "officer", {
        "person": "Ann Auditor", "role": "lead_auditor", "declaration": {"independent": True, "interests": []}})
    api.call("POST", f"/v1/audits/{surveillance['id']}/findings", "surveyor", {
        "severity": "major", "requirement": "PTV 21-601 §8.3", "description": "Kerbs below the declared strength class"},
        expect=201)
    api.call("POST", f"/v1/audits/{surveillance['id']}/report", "surveyor", {
        "conclusion": "nonconforming", "recommendation": "suspend", "summary": "Product on site nonconforming"})
    say(f"surveillance audit {surveillance['id']} reported nonconforming by Ann Auditor")
    api.call("POST", "/v1/decisions", "decider", {
        "subject": {"certificate_number": number}, "outcome": "suspend", "basis": [surveillance["id"]],
        "rationale": "Nonconforming products on site", "effective_from": today.isoformat()}, expect=201)
    public, waited = _wait_status(api, number, "suspended")
    say(f"public lookup now shows {public['status']}, {waited * 1000:.0f} ms after the decision "
        "(no inspector, decider or consultant names: R9)")

    step("12. The assessor reads the whole file in the audit trail")
    trail = api.call("GET", "/v1/audit-trail", "assessor", certificate_number=number)
    for entry in trail["entries"]:
        say(f"{entry['seq']:>4}  {entry['at'][:19]}  {entry['service']:<12} {entry['type']:<28} "
            f"{entry['actor']:<16} {entry['reason'][:60]}")
    evidence = api.call("GET", "/v1/trail/impartiality", "assessor", certificate_number=number)
    for name, rule in evidence["rules"].items():
        say(f"{name} {'held' if rule['held'] else 'BREACHED'}: {rule['title']} ({len(rule['checks'])} checks)")
    verify = api.call("GET", "/v1/trail/verify", "assessor")
    say(f"transparency log {verify['origin']}: {verify['log_size']} entries recomputed from the event stores, "
        f"{verify['checkpoints_checked']} signed checkpoints checked: {'intact' if verify['ok'] else 'MISMATCH'}")

    step("13. The assessor takes the file away as an evidence pack and verifies it offline")
    response = api.http.get("/v1/trail/evidence-pack", params={"certificate_number": number},
                            headers={"Authorization": f"Bearer {api.tokens['assessor']}"}, timeout=60)
    if response.status_code != 200:
        raise DemoFailed(f"evidence pack answered {response.status_code}: {response.text[:300]}")
    evidence_dir.mkdir(parents=True, exist_ok=True)
    pack = evidence_dir / f"{number}.zip"
    pack.write_bytes(response.content)
    from services.projections.evidence import verify_offline

    verdict = verify_offline(response.content)
    say(f"{pack}: {len(response.content):,} bytes, {verdict.summary.get('entries')} entries with inclusion proofs "
        f"against checkpoint {verdict.summary.get('checkpoint_size')}: {'intact' if verdict.ok else 'BROKEN'}; "
        f"R1/R2/R8 held: {verdict.summary.get('impartiality')}")
    say(f"check it yourself: hallmark evidence verify {pack}  (the report inside prints: report.html)")
    print(f"\nDone. Browse {base}/docs, or look the certificate up: {base}/public/v1/certificates/{number}")
    return 0


def _wait(probe, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise DemoFailed("timed out waiting for the registry to issue the certificate")


def _wait_status(api: Client, number: str, status: str, timeout: float = 10.0) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    deadline = started + timeout
    while True:
        public = api.call("GET", f"/public/v1/certificates/{number}", None) if _exists(api, number) else {}
        if public.get("status") == status:
            return public, time.monotonic() - started
        if time.monotonic() > deadline:
            raise DemoFailed(f"the public lookup did not show {number} as {status} within {timeout} s")
        time.sleep(0.05)


def _exists(api: Client, number: str) -> bool:
    return api.http.get(f"/public/v1/certificates/{number}").status_code == 200
