"""Distributed mode end to end: `hallmark up` runs the five components as separate processes (each its own
PostgreSQL database, joined by Kafka only, on their own ports); the core lifecycle goes through HTTP,
each call to the port of the component that serves it (API.md), then the demo and `hallmark token`
work against it, and `hallmark down` leaves nothing running."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tests.support import TODAY, application_body, scheme_body, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

ADMIN = ("Ada Admin", "admin")
APPLICANT = ("Betonwerk Noord", "applicant")
OFFICER = ("Olivia Officer", "applications_officer")
LEAD = ("Luc Lead", "auditor")
LEAD_AS_DECIDER = ("Luc Lead", "decision_maker")
DECIDER = ("Dirk Decider", "decision_maker")
ASSESSOR = ("Asha Assessor", "assessor")


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json()


def test_the_lifecycle_across_five_processes(distributed):
    d = distributed
    state = d.state()
    assert set(state["processes"]) == set(d.COMPONENTS)
    assert len({p["pid"] for p in state["processes"].values()}) == 5  # five processes, one per component

    # No shared tokens between calls: a client that chains commands passes what it was told (Hallmark-After).
    after: dict[str, int] = {}
    scheme = ok(d.call("registry", "POST", "/v1/schemes", ADMIN, scheme_body(), after=after), 201)
    code = scheme["code"]
    ok(d.call("registry", "GET", f"/v1/schemes/{code}", ADMIN))
    application = ok(d.call("applications", "POST", "/v1/applications", APPLICANT, application_body(code),
                            after=after), 201)
    app_id = application["id"]
    assert application["status"] == "submitted"
    reviewed = ok(d.call("applications", "POST", f"/v1/applications/{app_id}/review", OFFICER,
                         {"outcome": "accepted", "reason": "complete; scheme in scope"}, after=after))
    assert reviewed["status"] == "accepted"

    audit = ok(d.call("audits", "POST", "/v1/audits", LEAD, {
        "application_id": app_id, "kind": "initial", "planned_start": TODAY.isoformat()}, after=after), 201)
    audit_id = audit["id"]
    ok(d.call("audits", "POST", f"/v1/audits/{audit_id}/team", OFFICER, {
        "person": "Luc Lead", "role": "lead_auditor", "declaration": {"independent": True, "interests": []}},
        after=after))
    reported = ok(d.call("audits", "POST", f"/v1/audits/{audit_id}/report", LEAD, {
        "conclusion": "conforming", "recommendation": "grant", "summary": "Factory production control in place"},
        after=after))
    assert reported["status"] == "reported"

    grant = {"subject": {"application_id": app_id}, "outcome": "grant", "basis": [audit_id],
             "rationale": "Evaluation complete"}
    # decisions learnt who evaluated the file from audits' events, in another process (R1)
    refused = d.call("decisions", "POST", "/v1/decisions", LEAD_AS_DECIDER, grant, after=after)
    assert refused.status_code == 409 and refused.json()["type"].endswith("separation-of-duties"), refused.text
    decision = ok(d.call("decisions", "POST", "/v1/decisions", DECIDER, grant, after=after), 201)
    assert decision["outcome"] == "grant"
    ok(d.call("decisions", "GET", f"/v1/decisions/{decision['id']}", DECIDER))

    # The registry issues the certificate from decisions' event; its view serves staff and the public.
    items = wait_for(lambda: ok(d.call("registry", "GET", "/v1/certificates", ADMIN, application_id=app_id))["items"],
                     timeout=30)
    assert len(items) == 1, items
    number = items[0]["number"]
    assert items[0]["status"] == "active"
    public = wait_for(lambda: (lambda r: r.status_code == 200 and r.json())(
        d.call("registry", "GET", f"/public/v1/certificates/{number}")), timeout=30)
    assert public and public["status"] == "active", public

    suspend = {"subject": {"certificate_number": number}, "outcome": "suspend", "basis": [audit_id],
               "rationale": "Nonconforming products on site"}
    ok(d.call("decisions", "POST", "/v1/decisions", DECIDER, suspend, after=after), 201)
    started = time.monotonic()
    suspended = wait_for(lambda: d.call("registry", "GET", f"/public/v1/certificates/{number}").json()
                         .get("status") == "suspended", timeout=30)
    assert suspended, "the suspension did not reach the public lookup"
    print(f"suspension visible in the public lookup {1000 * (time.monotonic() - started):.0f} ms after the decision")
    staff = ok(d.call("registry", "GET", f"/v1/certificates/{number}", ADMIN))
    assert [h["status"] for h in staff["history"]] == ["active", "suspended"]

    # The trail, on projections, lists every service's events of this file, each once.
    wanted = {"Application.Submitted", "Application.Reviewed", "Audit.Planned", "Audit.TeamMemberAssigned",
              "Audit.Reported", "Decision.Recorded", "Certificate.Issued", "Certificate.StatusChanged"}

    def trail() -> list[dict] | None:
        entries = ok(d.call("projections", "GET", "/v1/audit-trail", ASSESSOR, certificate_number=number))["entries"]
        types = [e["type"] for e in entries]
        return entries if wanted <= set(types) and types.count("Decision.Recorded") == 2 else None

    entries = wait_for(trail, timeout=30)
    assert entries, ok(d.call("projections", "GET", "/v1/audit-trail", ASSESSOR, certificate_number=number))
    assert {e["service"] for e in entries} == {"applications", "audits", "decisions", "registry"}
    assert len({(e["service"], e["subject"], e["type"], e["at"]) for e in entries}) == len(entries)
    verify = ok(d.call("projections", "GET", "/v1/trail/verify", ASSESSOR))
    assert verify["ok"], verify

    d.wait_quiet(timeout=60)
    assert not d.error_lines(), d.error_lines()[:3]
    cli_verify = d.cli("verify", "--distributed")  # the CLI reads the same topics and trail
    assert cli_verify.returncode == 0, cli_verify.stdout + cli_verify.stderr
    assert '"ok": true' in cli_verify.stdout
    busy = d.cli("rebuild", "--distributed", "--view", "trail")  # projections runs: the lock refuses
    assert busy.returncode == 2 and "holds" in busy.stderr, busy.stderr


def test_status_token_and_demo_against_hallmark_up(distributed):
    d = distributed
    status = d.cli("status")
    assert status.returncode == 0, status.stdout + status.stderr
    for component in d.COMPONENTS:
        line = next(line for line in status.stdout.splitlines() if line.startswith(component))
        assert " up " in line and str(d.pid(component)) in line, line
    assert "relay " in status.stdout and "consumer trail<-all" in status.stdout  # readyz details, admin token

    # `hallmark token` signs with the key the five processes share
    token = d.cli("token", "--sub", "ada", "--role", "admin").stdout.strip().splitlines()[-1]
    for component in d.COMPONENTS:
        answer = httpx.get(f"{d.url(component)}/readyz", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.json().get("component") == component, answer.text

    demo = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--distributed",
                           "--url", f"http://127.0.0.1:{d.base_port}"], env=d.env(), capture_output=True, text=True,
                          timeout=180)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "public lookup now shows suspended" in demo.stdout
    assert "signed checkpoints checked: intact" in demo.stdout
    # The second story: laboratories, the holder's side, a complaint and a printed certificate, each path
    # routed to its component (supervisor.ROUTES), the facts travelling between them over Kafka.
    people = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--distributed", "--story", "people",
                             "--url", f"http://127.0.0.1:{d.base_port}"], env=d.env(), capture_output=True,
                            text=True, timeout=240)
    assert people.returncode == 0, people.stdout + people.stderr
    assert "is suspended in the public directory; complaint closed" in people.stdout
    # The third: scheme programmes, sanctions, a commission's PTV and the sweep (registry), stage audits and
    # examinations planned on the scheme's type that audits learnt from the registry over Kafka.
    schemes = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--distributed", "--story", "schemes",
                              "--url", f"http://127.0.0.1:{d.base_port}"], env=d.env(), capture_output=True,
                             text=True, timeout=240)
    assert schemes.returncode == 0, schemes.stdout + schemes.stderr
    assert "flagged for a suspension decision (R50)" in schemes.stdout
    assert "shows subject 'person' and never the name: True" in schemes.stdout

    # The supervisor restarts a process that dies, and says so.
    old = d.kill("projections")
    print(f"projections back {d.wait_restarted('projections', old):.1f} s after kill -9")
    log = (d.state_dir / "supervisor.log").read_text()
    assert d.state()["processes"]["projections"]["restarts"] == 1, \
        log + (d.state_dir / "projections.log").read_text()[-3000:]
    assert "projections (pid %d) killed by signal 9" % old in log



def test_the_supervisor_and_the_demo_route_as_api_md_says(monkeypatch):
    from services import bootstrap, supervisor
    from services.demo import _Routed

    assert supervisor.COMPONENTS == bootstrap.COMPONENTS and supervisor.PORTS == bootstrap.PORTS
    assert [supervisor.backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    sent = {}

    def send(self, request: httpx.Request) -> httpx.Response:
        sent[request.url.path] = (request.url.port, request.headers["host"])
        return httpx.Response(200)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", send)
    paths = {"/v1/applications/x": 8001, "/v1/audits": 8002, "/v1/decisions": 8003, "/v1/appeals/x": 8003,
             "/v1/schemes/X": 8004, "/v1/certificates": 8004, "/public/v1/certificates/X": 8004,
             "/v1/audit-trail": 8005, "/v1/trail/verify": 8005}
    with httpx.Client(base_url="http://127.0.0.1:8000", transport=_Routed(8000)) as client:
        for path in paths:
            client.get(path)
    assert sent == {path: (port, f"127.0.0.1:{port}") for path, port in paths.items()}


def test_a_major_answered_by_audits_is_never_missed_by_the_next_grant_on_decisions(distributed):
    """The race across processes, with no consistency token: the grant is judged after decisions has
    applied everything audits had published, and audits answered only once it had published (ADR 0009)."""
    d = distributed
    code = ok(d.call("registry", "POST", "/v1/schemes", ADMIN, scheme_body()), 201)["code"]
    for _ in range(3):
        app_id = ok(d.call("applications", "POST", "/v1/applications", APPLICANT, application_body(code)), 201)["id"]
        ok(d.call("applications", "POST", f"/v1/applications/{app_id}/review", OFFICER,
                  {"outcome": "accepted", "reason": "complete"}))
        first = ok(d.call("audits", "POST", "/v1/audits", LEAD, {
            "application_id": app_id, "kind": "initial", "planned_start": TODAY.isoformat()}), 201)["id"]
        lead = {"person": "Luc Lead", "role": "lead_auditor", "declaration": {"independent": True, "interests": []}}
        ok(d.call("audits", "POST", f"/v1/audits/{first}/team", OFFICER, lead))
        ok(d.call("audits", "POST", f"/v1/audits/{first}/report", LEAD, {
            "conclusion": "conforming", "recommendation": "grant", "summary": "in place"}))
        second = ok(d.call("audits", "POST", "/v1/audits", LEAD, {
            "application_id": app_id, "kind": "special", "planned_start": TODAY.isoformat()}), 201)["id"]
        ok(d.call("audits", "POST", f"/v1/audits/{second}/team", OFFICER, lead))
        ok(d.call("audits", "POST", f"/v1/audits/{second}/findings", LEAD, {
            "severity": "major", "requirement": "PTV 21-601 §5.2", "description": "no curing log"}), 201)
        grant = d.call("decisions", "POST", "/v1/decisions", DECIDER, {
            "subject": {"application_id": app_id}, "outcome": "grant", "basis": [first], "rationale": "at once"})
        assert grant.status_code == 409 and grant.json()["type"].endswith("open-major-nonconformity"), grant.text
