"""The public transparency page in a real browser (headless Chromium) against a real server: it shows
the latest checkpoint byte for byte, the key and recent checkpoints, and loads nothing from elsewhere.
The screenshot is kept in test-artifacts/. Skipped only where Chromium is not installed."""

from __future__ import annotations

import html
import json
import re
import shutil
import time

import httpx
import pytest

from shared.evidence.checkpoint import open_checkpoint
from tests.e2e.test_docs_browser import ARTIFACTS, CHROMIUM, _chromium
from tests.support import scheme_body

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package 'chromium')"),
    pytest.mark.parametrize("settings", ["sqlite"], indirect=True),
]


def test_the_transparency_page_publishes_the_checkpoint(server, tmp_path):
    from shared.http.auth import issue_token

    token = issue_token(server.settings.local_secret(), "Ada Admin", ["admin"])
    created = httpx.post(f"{server.url}/v1/schemes", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                         json=scheme_body())
    assert created.status_code == 201, created.text
    key = httpx.get(f"{server.url}/v1/trail/public-key", timeout=10).json()
    for _ in range(100):  # the log signs within a second of an append
        note = httpx.get(f"{server.url}/v1/trail/checkpoint", timeout=10).text
        if open_checkpoint(note, key["vkey"]).size > 0:
            break
        time.sleep(0.1)
    url = f"{server.url}/public/transparency"
    dom = _chromium(url, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    shown = html.unescape(re.search(r'<pre id="checkpoint">(.*?)</pre>', page, re.S).group(1))
    assert open_checkpoint(shown, key["vkey"]).size >= 1  # what the page shows verifies with the key
    assert key["vkey"] in html.unescape(page) and "Transparency log of the audit trail" in page
    assert "hallmark trail witness" in page
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not [line for line in console if "Refused to" in line or "Content Security Policy" in line]

    shot = tmp_path / "transparency.png"
    screenshot = _chromium(url, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert screenshot.returncode == 0 and shot.is_file() and shot.stat().st_size > 10_000, screenshot.stderr[-2000:]
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "public-transparency.png")
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    loaded = {line["path"] for line in lines if line.get("logger") == "hallmark.access"}
    assert {"/public/transparency", "/public/assets/hallmark.css"} <= loaded, loaded
