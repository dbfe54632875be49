"""/docs in a real browser (headless Chromium) against a real server process, with every host but
127.0.0.1 unresolvable: Swagger UI must render from this server alone, under its strict CSP.

The screenshot is kept as a test artefact: in the test's tmp dir and in test-artifacts/ (git-ignored).
Skipped only where Chromium is not installed ('make test' installs the Debian package 'chromium')."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package 'chromium')"),
    pytest.mark.parametrize("settings", ["sqlite"], indirect=True),
]


@pytest.fixture(autouse=True)
def _default_logging(monkeypatch):
    """The server starts with the default log settings, whatever the shell says (autouse: before it starts)."""
    monkeypatch.delenv("HALLMARK_LOG_LEVEL", raising=False)
    monkeypatch.delenv("HALLMARK_ACCESS_LOG", raising=False)


def _chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", "--window-size=1280,900", "--virtual-time-budget=20000",
         # Nothing but this machine resolves: a page needing a CDN would stay blank.
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         "--enable-logging=stderr", "--v=0", *args, url],
        capture_output=True, text=True, timeout=180,
    )


def test_swagger_ui_renders_from_this_server_alone(server, tmp_path):
    url = f"{server.url}/docs"
    dom = _chromium(url, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert 'class="swagger-ui' in page, page[:2000]
    for path in ("/v1/applications", "/v1/audits", "/public/v1/certificates/{number}"):
        assert path in page, f"Swagger UI did not render the operation {path}"
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    refused = [line for line in console if "Refused to" in line or "Content Security Policy" in line]
    assert not refused, refused  # nothing the page needs breaks the CSP

    shot = tmp_path / "docs.png"
    screenshot = _chromium(url, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert screenshot.returncode == 0 and shot.is_file() and shot.stat().st_size > 10_000, screenshot.stderr[-2000:]
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "docs-swagger-ui.png")

    # Everything the page loaded came from this server: its access lines name each request.
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    loaded = {line["path"] for line in lines if line.get("logger") == "hallmark.access"}
    assert {"/docs", "/docs/swagger-init.js", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css",
            "/openapi.json"} <= loaded, loaded
