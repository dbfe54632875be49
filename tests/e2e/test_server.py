"""End to end against a real server process: the guided lifecycle, concurrent HTTP clients,
a hard kill mid-flow and a clean Ctrl-C."""

from __future__ import annotations

import concurrent.futures
import re
import subprocess
import sys
import time
import uuid
from collections import Counter

import httpx

from shared.http.auth import issue_token
from tests.support import TODAY, application_body, scheme_body, wait_for


def _client(server, person: str, *roles: str) -> httpx.Client:
    token = issue_token(server.settings.local_secret(), person, roles)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _retry(call) -> httpx.Response:
    """Retry while the service has not yet received a fact from another service (nothing was recorded)."""
    deadline = time.monotonic() + 10
    while True:
        response = call()
        waiting = response.status_code == 409 and response.json()["type"].endswith("not-yet-known")
        if not waiting or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_guided_demo_runs_the_whole_lifecycle(server):
    # No --url: the demo finds the server on $PORT, as `PORT=8720 make run` then `PORT=8720 make demo` do.
    env = {k: v for k, v in server.env().items() if k != "HALLMARK_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo"], env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "public lookup now shows suspended" in result.stdout
    assert "signed checkpoints checked: intact" in result.stdout
    assert "against checkpoint" in result.stdout and ": intact; R1/R2/R8 held" in result.stdout  # the pack, offline
    assert "FAILED" not in result.stdout + result.stderr  # a 5xx or any unexpected answer fails the demo


def test_guided_people_story_runs_through_the_api(server):
    # A laboratory's result opens a finding, the holder answers it, comments on the report, the certificate
    # prints, a complaint leads to a special audit and a suspension citing it (issue 9's story).
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--story", "people", "--url", server.url], env=server.env(),
        capture_output=True, text=True, timeout=180,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "the repeat answered the same result (True)" in out
    assert "the holder may not review its own action: 403" in out
    assert "may not handle the complaint: 409" in out
    assert "is suspended in the public directory; complaint closed" in out
    assert "laboratory results marked subcontracted: [True]" in out
    documents = server.settings.data_dir / "documents"
    printed = sorted(documents.glob("*.html"))
    assert printed and "BENOR" in printed[0].read_text(encoding="utf-8")
    assert "FAILED" not in out


def test_guided_schemes_story_runs_through_the_api(server):
    # Issue 10's story: an admission period and the programme, a maintenance refused without a surveillance
    # audit, the sanctions ladder, a commission's PTV version whose missed transition flags the certificate.
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--story", "schemes", "--url", server.url], env=server.env(),
        capture_output=True, text=True, timeout=180,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "(surveillance every 3 months); planned surveillance:" in out
    assert "422 /problems/invalid-command: A maintain decision rests on a reported surveillance audit" in out
    assert "warning recorded; the certificate stays active" in out
    assert "lifted by a restoration on verification audit" in out
    assert "suspended until " in out and "restored on a verification newer than the suspension" in out
    assert "without the commission's decision: 422" in out
    assert "flagged for a suspension decision (R50)" in out
    # a CO2 Performance Ladder certificate on stage 1 and 2 audits, with its level (ISO/IEC 17021-1)
    assert "stage 2 before a reported stage 1 is refused: 409" in out
    assert re.search(r"certificate COPRO-\d+: CO2 Performance Ladder level 3, valid until", out), out
    # an asbestos expert certified on an examination in theory and practice (ISO/IEC 17024), never named publicly
    assert "his trainer as examiner is refused: 409 /problems/conflict-of-interest" in out
    assert "shows subject 'person' and never the name: True" in out
    assert "FAILED" not in out


def _accepted_application(server) -> tuple[str, str]:
    admin = _client(server, "Ada", "admin")
    code = admin.post("/v1/schemes", json=scheme_body()).json()["code"]
    applicant = _client(server, "Bea", "applicant")
    created = _retry(lambda: applicant.post("/v1/applications", json=application_body(code)))
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    officer = _client(server, "Olivia", "applications_officer")
    assert officer.post(f"/v1/applications/{app_id}/review", json={"outcome": "accepted", "reason": "ok"}).status_code == 200
    return code, app_id


def test_concurrent_http_commands_on_one_aggregate(server):
    _, app_id = _accepted_application(server)
    lead = _client(server, "Luc", "auditor")
    audit = _retry(lambda: lead.post("/v1/audits", json={"application_id": app_id, "kind": "initial",
                                                         "planned_start": TODAY.isoformat()}))
    audit_id = audit.json()["id"]
    officer = _client(server, "Olivia", "applications_officer")

    def assign_lead(i: int) -> int:
        with _client(server, "Olivia", "applications_officer") as c:
            return c.post(f"/v1/audits/{audit_id}/team", json={
                "person": f"Lead {i}", "role": "lead_auditor",
                "declaration": {"independent": True, "interests": []}}).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = Counter(pool.map(assign_lead, range(16)))
    assert codes == Counter({200: 1, 409: 15}), codes
    team = officer.get(f"/v1/audits/{audit_id}").json()["team"]
    assert len(team) == 1 and team[0]["role"] == "lead_auditor"


def test_hard_kill_mid_flow_then_restart_applies_everything_once(server):
    code, _ = _accepted_application(server)
    applicant = _client(server, "Bea", "applicant")
    submitted = []
    for _ in range(15):  # a burst of applications; the kill lands while consumers are catching up
        submitted.append(applicant.post("/v1/applications", json=application_body(code),
                                        headers={"Idempotency-Key": str(uuid.uuid4())}).json()["id"])
    server.kill()
    server.start()
    auditor = _client(server, "Luc", "auditor")
    assessor = _client(server, "Asha", "assessor")
    def plan_refused_as_not_accepted(app_id: str) -> bool:
        answer = auditor.post("/v1/audits", json={"application_id": app_id, "kind": "initial",
                                                  "planned_start": TODAY.isoformat()})
        return answer.json()["type"].endswith("invalid-transition")

    def trail_types(app_id: str) -> list[str]:
        answer = assessor.get("/v1/audit-trail", params={"application_id": app_id})
        return [e["type"] for e in answer.json()["entries"]] if answer.status_code == 200 else []

    for app_id in submitted:
        # audits learnt every application: the plan is refused as not accepted, not as unknown
        assert wait_for(lambda: plan_refused_as_not_accepted(app_id), timeout=10), app_id  # noqa: B023
        assert wait_for(lambda: trail_types(app_id), timeout=10) == ["Application.Submitted"]  # noqa: B023
    report = assessor.get("/v1/trail/verify").json()
    assert report["ok"], report
    assert all(s["events_in_store"] == s["entries_in_log"] for s in report["services"].values()), report


def test_start_banner_and_ctrl_c(server):
    banner = server.log.read_text()
    assert f"{server.url}/docs" in banner and "hallmark token --sub" in banner
    assert server.stop() == 0


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=server.env(),
                          capture_output=True, text=True, timeout=120)


def test_token_rebuild_and_verify_commands(server):
    token = _cli(server, "token", "--sub", "asha", "--role", "assessor", "--role", "admin")
    assert token.returncode == 0
    bearer = token.stdout.strip().splitlines()[-1]
    demo = _cli(server, "demo", "--url", server.url)
    assert demo.returncode == 0, demo.stderr
    headers = {"Authorization": f"Bearer {bearer}"}
    busy = _cli(server, "rebuild")
    assert busy.returncode == 2 and "stop that process first" in busy.stderr
    number = httpx.get(f"{server.url}/v1/certificates", headers=headers).json()["items"][0]["number"]
    before = httpx.get(f"{server.url}/v1/audit-trail", params={"certificate_number": number}, headers=headers).json()
    certificate = httpx.get(f"{server.url}/v1/certificates/{number}", headers=headers).json()
    assert server.stop() == 0

    rebuilt = _cli(server, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "trail: rebuilt from" in rebuilt.stderr and "certificates: rebuilt from" in rebuilt.stderr
    assert "events" in rebuilt.stderr  # the progress lines
    verified = _cli(server, "verify")
    assert verified.returncode == 0 and '"ok": true' in verified.stdout

    server.start()
    after = httpx.get(f"{server.url}/v1/audit-trail", params={"certificate_number": number}, headers=headers).json()
    def content(entries: list[dict]) -> list[dict]:  # seq is arrival order; the chains are what is reproducible
        return sorted(({k: v for k, v in e.items() if k != "seq"} for e in entries),
                      key=lambda e: (e["service"], e["position"]))

    assert content(after["entries"]) == content(before["entries"])
    assert httpx.get(f"{server.url}/v1/certificates/{number}", headers=headers).json() == certificate
