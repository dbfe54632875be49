"""The public directory in a real browser (headless Chromium) against a real server, with every host but
127.0.0.1 unresolvable: the search page and a certificate page in Dutch, French and English render their
text from this server alone (the server's access log lists every request the page made), under the strict
CSP, and their screenshots are kept in test-artifacts/ (directory-search-nl.png ...).
Skipped only where Chromium is not installed."""

from __future__ import annotations

import html
import json
import re
import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_docs_browser import ARTIFACTS, CHROMIUM, _chromium
from tests.support import Api, File

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package 'chromium')"),
    pytest.mark.parametrize("settings", ["sqlite"], indirect=True),
]

STYLESHEET = "/public/assets/hallmark.css"


class _Remote(Api):
    """tests.support's Api over HTTP to the real server: a command another service has not yet heard of
    (409 not-yet-known, nothing recorded) is sent again, with the same Idempotency-Key."""

    def post(self, path, body, person, *roles, key=None):
        key, deadline = key or str(uuid.uuid4()), time.monotonic() + 30
        while True:
            response = super().post(path, body, person, *roles, key=key)
            waiting = response.status_code == 409 and response.json().get("type", "").endswith("not-yet-known")
            if not waiting or time.monotonic() > deadline:
                return response
            time.sleep(0.1)


def _until(predicate, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return value


def _certified(api: Api, **application) -> File:
    """A file driven to a grant through the API; the registry issues the certificate asynchronously."""
    file = File(api)
    file.create_scheme()
    file.submit(**application)
    file.accept()
    file.plan()
    file.ok(file.team(File.LEAD[0], "lead_auditor"))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    file.certificate = _until(lambda: [c["number"] for c in api.get("/v1/certificates", *File.ADMIN,
                                                                       application_id=file.application_id).json()[
        "items"]], "the certificate issued")[0]
    return file


def _public_status(api: Api, number: str) -> str:
    return api.get(f"/public/v1/certificates/{number}").json()["status"]


def _access_paths(server, since: int) -> list[str]:
    lines = server.log.read_text().splitlines()[since:]
    return [entry["path"] for entry in (json.loads(line) for line in lines if line.startswith("{"))
            if entry.get("logger") == "hallmark.access"]


def _log_length(server) -> int:
    """The access log's length once it stopped growing: a request's line is written after its answer."""
    length = -1
    while length != (length := len(server.log.read_text().splitlines())):
        time.sleep(0.3)
    return length


def _browse(server, tmp_path: Path, path: str, shot_name: str, height: int = 1400) -> str:
    """The page's DOM after Chromium rendered it, and its screenshot kept as an artefact. Every request
    the two loads made is in the server's access log, and was for the page or its stylesheet."""
    url = f"{server.url}{path}"
    before = _log_length(server)
    dom = _chromium(url, tmp_path / f"profile-{shot_name}-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not [line for line in console if "Refused to" in line or "Content Security Policy" in line], console
    shot = tmp_path / f"{shot_name}.png"
    screenshot = _chromium(url, tmp_path / f"profile-{shot_name}-shot", f"--window-size=1280,{height}",
                           f"--screenshot={shot}")
    assert screenshot.returncode == 0 and shot.is_file() and shot.stat().st_size > 10_000, screenshot.stderr[-2000:]
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / f"{shot_name}.png")
    page_path = path.split("?")[0]
    _until(lambda: {page_path, STYLESHEET} <= set(_access_paths(server, before)), "the access lines", timeout=10)
    _log_length(server)  # and nothing more came
    loaded = _access_paths(server, before)
    assert set(loaded) == {page_path, STYLESHEET}, loaded  # nothing else was asked for, from here or elsewhere
    return dom.stdout


def _text(dom: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))


SEARCH = {"nl": ("Openbaar register van certificaten", "Een certificaat zoeken", "Zoeken", "geschorst",
                 "het transparantielogboek"),
          "fr": ("Répertoire public des certificats", "Rechercher un certificat", "Titulaire", "suspendu",
                 "le journal de transparence"),
          "en": ("Public directory of certificates", "Find a certificate", "Holder", "suspended",
                 "the transparency log")}
CERTIFICATE = {"nl": ("Certificaat", "Productie-eenheid", "Toepassingsreglement (TRA)", "Historiek van de status",
                      "Geldig op", "Ondertekend antwoord (JWT)"),
               "fr": ("Certificat", "Unité de production", "Règlement d'application (TRA)", "Historique du statut",
                      "Valable le", "Réponse signée (JWT)"),
               "en": ("Certificate", "Production unit", "Application regulations (TRA)", "History of the status",
                      "Valid on", "Signed answer (JWT)")}


def test_the_directory_in_three_languages_from_this_server_alone(server, tmp_path):
    api = _Remote(httpx.Client(base_url=server.url, timeout=30), server.settings.local_secret(), lambda: None)
    active = _certified(api)
    _certified(api, applicant={"name": "Carrières du Hainaut SA", "registration_number": "BE0456789123",
                               "address": "Rue de la Carrière 3, 7060 Soignies"},
               production_unit={"name": "Site de Soignies", "address": "Rue de la Carrière 3, 7060 Soignies"},
               products=[{"name": "Pavé drainant PD 80", "type": "paving block"}],
               scope="Concrete paving blocks, drainage type")
    suspended = _certified(api, products=[{"name": "Kerb KB 150", "type": "kerb"}])
    suspended.ok(suspended.decide("suspend"), 201)
    _until(lambda: _public_status(api, suspended.certificate) == "suspended", "the suspension in the directory")
    on = api.get(f"/public/v1/certificates/{active.certificate}").json()["valid_from"]  # a day it was valid

    for lang in ("nl", "fr", "en"):
        search = _text(_browse(server, tmp_path, f"/?lang={lang}", f"directory-search-{lang}", height=1100))
        for shown in SEARCH[lang]:
            assert shown in search, (lang, shown)
        for number in (active.certificate, suspended.certificate):
            assert number in search, (lang, number)
        assert "Carrières du Hainaut SA" in search and "Pavé drainant PD 80" in search

        dom = _browse(server, tmp_path, f"/certificates/{active.certificate}?lang={lang}&on={on}",
                      f"directory-certificate-{lang}", height=1900)
        assert f'<html lang="{lang}">' in dom
        page = _text(dom)
        for shown in CERTIFICATE[lang]:
            assert shown in page, (lang, shown)
        assert "Betonwerk Noord NV" in page and "PTV 21-601" in page
        assert f"/public/v1/certificates/{active.certificate}?format=jwt" in page
        for person in ("Olivia Officer", "Luc Lead", "Dirk Decider", "Carla Consult"):  # R9
            assert person not in page

    notice = _text(_browse(server, tmp_path, f"/certificates/{suspended.certificate}?lang=en",
                           "directory-certificate-suspended-en", height=1600))
    assert "Suspended: the certificate is not valid while suspended" in notice

    # Without ?lang= and without a cookie, the browser's own language decides (Accept-Language).
    french = _chromium(f"{server.url}/", tmp_path / "profile-accept-language", "--dump-dom", "--lang=fr-BE",
                       "--accept-lang=fr-BE,fr")
    assert french.returncode == 0 and '<html lang="fr">' in french.stdout, french.stdout[:500]


REPORT = {"nl": ("Misbruik van een merk melden", "Bedrijf dat het merk gebruikt", "Uw naam", "Melding versturen"),
          "fr": ("Signaler l'usage abusif d'une marque", "Entreprise qui utilise la marque", "Votre nom",
                 "Envoyer le signalement"),
          "en": ("Report misuse of a mark", "Company that uses the mark", "Your name", "Send the report")}


def test_the_report_misuse_form_in_three_languages_from_this_server_alone(server, tmp_path):
    for lang in ("nl", "fr", "en"):
        dom = _browse(server, tmp_path, f"/public/report-misuse?lang={lang}", f"directory-report-misuse-{lang}",
                      height=1500)
        assert f'<html lang="{lang}">' in dom and "<script" not in dom
        assert 'method="post"' in dom and 'action="/public/report-misuse?lang=' in dom
        page = _text(dom)
        for shown in REPORT[lang]:
            assert shown in page, (lang, shown)
