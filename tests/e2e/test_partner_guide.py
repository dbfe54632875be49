"""docs/partners.md, followed as a partner's engineer would, against a real Hallmark process: every
example in it runs here, in order, and does what the guide says (issue 8: the partner guide)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

from shared.http.auth import issue_token
from tests.support import application_body, scheme_body, today

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "partners.md"
pytestmark = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


def examples() -> dict[str, tuple[str, str]]:
    found = re.findall(r"```(sh|python) example=([\w-]+)\n(.*?)```", GUIDE.read_text(), re.S)
    return {name: (language, code) for language, name, code in found}


def run(language: str, code: str, folder: Path, env: dict[str, str]) -> str:
    command = ["bash", "-euo", "pipefail", "-c", code] if language == "sh" else [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=folder, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command[0]} example failed:\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Capture:
    """A second endpoint that keeps one delivery as it came: its body and its signature headers."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.folder, self.headers = folder, {}
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                (capture.folder / "body.json").write_bytes(self.rfile.read(int(self.headers["content-length"])))
                capture.headers = {k.lower(): v for k, v in self.headers.items()}
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/capture"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def certify_and_suspend(base: str, secret: bytes) -> str:
    """What the body's staff do: a BENOR certificate, then its suspension."""
    def as_(person: str, *roles: str) -> dict:
        return {"Authorization": f"Bearer {issue_token(secret, person, roles)}"}

    http = httpx.Client(base_url=base, timeout=30)

    def ok(response, status=201):
        assert response.status_code == status, response.text
        return response.json()

    scheme = ok(http.post("/v1/schemes", json=scheme_body(), headers=as_("Ada Admin", "admin")))["code"]
    application = ok(http.post("/v1/applications", json=application_body(scheme), headers=as_("Bea", "applicant")))
    ok(http.post(f"/v1/applications/{application['id']}/review", json={"outcome": "accepted", "reason": "Complete"},
                 headers=as_("Olivia Officer", "applications_officer")), 200)
    lead = as_("Luc Lead", "auditor")
    audit = None
    for _ in range(100):  # audits learns of the accepted application asynchronously
        answer = http.post("/v1/audits", json={"application_id": application["id"], "kind": "initial",
                                               "planned_start": today().isoformat()}, headers=lead)
        if answer.status_code == 201:
            audit = answer.json()
            break
        time.sleep(0.1)
    assert audit, answer.text
    ok(http.post(f"/v1/audits/{audit['id']}/team", json={"person": "Luc Lead", "role": "lead_auditor",
                                                         "declaration": {"independent": True}}, headers=lead), 200)
    ok(http.post(f"/v1/audits/{audit['id']}/report", json={"conclusion": "conforming", "recommendation": "grant",
                                                           "summary": "ok"}, headers=lead), 200)
    decider = as_("Dirk Decider", "decision_maker")
    for _ in range(100):
        answer = http.post("/v1/decisions", json={"subject": {"application_id": application["id"]}, "outcome": "grant",
                                                  "basis": [audit["id"]], "rationale": "Conforming"}, headers=decider)
        if answer.status_code == 201:
            break
        time.sleep(0.1)
    assert answer.status_code == 201, answer.text
    number = None
    for _ in range(100):
        items = http.get("/v1/certificates", params={"application_id": application["id"]},
                         headers=as_("Ada Admin", "admin")).json()["items"]
        if items:
            number = items[0]["number"]
            break
        time.sleep(0.1)
    assert number
    ok(http.post("/v1/decisions", json={"subject": {"certificate_number": number}, "outcome": "suspend",
                                        "basis": [audit["id"]], "rationale": "Nonconforming product on site"},
                 headers=decider))
    return number


def wait_for_file(path: Path, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{path} never held {text!r}")


def test_a_partner_follows_the_guide_from_credentials_to_a_signed_answer(server, tmp_path):
    guide = examples()
    assert set(guide) == {"admin", "token", "subscribe", "receiver", "verify-openssl", "changes", "bulk", "signed"}
    secret = server.settings.local_secret()
    receiver_port = free_port()
    env = {"HALLMARK": server.url, "ADMIN_TOKEN": issue_token(secret, "Ada Admin", ["admin"]),
           "WEBHOOK_URL": f"http://127.0.0.1:{receiver_port}/hooks", "RECEIVER_PORT": str(receiver_port)}
    work = tmp_path / "partner"
    work.mkdir()
    run(*guide["admin"], work, env)
    assert "client_secret" in json.loads((work / "client.json").read_text())
    assert run(*guide["token"], work, env).startswith("Bearer 900 certificates:read")
    assert run(*guide["subscribe"], work, env).split()[1] == "active"

    receiver = subprocess.Popen([sys.executable, "-c", guide["receiver"][1]], cwd=work, env={**os.environ, **env})
    capture = Capture(tmp_path / "capture")
    try:
        partner = json.loads((work / "partner.json").read_text())
        admin = {"Authorization": f"Bearer {env['ADMIN_TOKEN']}"}
        second = httpx.post(f"{server.url}/v1/partners/{partner['id']}/subscriptions", headers=admin, timeout=30,
                            json={"url": capture.url, "events": ["suspended"], "filters": {"marks": ["BENOR"]}})
        assert second.status_code == 201, second.text
        (capture.folder / "subscription.json").write_text(second.text)

        number = certify_and_suspend(server.url, secret)
        event = json.loads(wait_for_file(work / "received.jsonl", "certificate.suspended").splitlines()[0])
        assert event["data"]["number"] == number and event["data"]["certificate"]["status"] == "suspended"

        wait_for_file(capture.folder / "body.json", "certificate.suspended")
        headers = capture.headers
        said = run(*guide["verify-openssl"], capture.folder, {**env, "ID": headers["webhook-id"],
                                                               "TIMESTAMP": headers["webhook-timestamp"],
                                                               "SIGNATURE": headers["webhook-signature"]})
        assert said.strip() == "signature valid"
        (capture.folder / "body.json").write_bytes((capture.folder / "body.json").read_bytes().replace(b"sus", b"SUS"))
        with pytest.raises(AssertionError, match="signature INVALID"):
            run(*guide["verify-openssl"], capture.folder, {**env, "ID": headers["webhook-id"],
                                                            "TIMESTAMP": headers["webhook-timestamp"],
                                                            "SIGNATURE": headers["webhook-signature"]})

        changes = run(*guide["changes"], work, env)
        assert f"{number} issued active" in changes and f"{number} suspended suspended" in changes
        bulk = run(*guide["bulk"], work, env).splitlines()
        assert bulk[0].endswith(" True False suspended"), bulk  # found, not valid: suspended
        assert bulk[1].endswith(" False False None"), bulk  # not found, so not valid
        signed = run(*guide["signed"], work, env)
        assert signed.startswith("signed by hallmark/") and (work / "proof.jwt").read_text().count(".") == 2
        calls = httpx.get(f"{server.url}/v1/partners/{partner['id']}/calls", headers=admin, timeout=30).json()
        assert any(c["path"] == f"/v1/partners/{partner['id']}/subscriptions" for c in calls["items"])
    finally:
        receiver.terminate()
        receiver.wait(10)
        capture.server.shutdown()
