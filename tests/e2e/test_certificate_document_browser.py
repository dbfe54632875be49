"""Certificate documents printed by a real browser: a file granted and extended through the API, then its
document asked for as PDF (Accept: application/pdf), which Hallmark prints with headless Chromium with no
host resolvable. pypdf reads the text back: A4, the quick code, the mark, the scope, the validity, the status
and the public page's link (as text and as the PDF's link).

The PDFs and a screenshot are kept as test artefacts: in the test's tmp dir and in test-artifacts/
(git-ignored). Skipped only where Chromium is not installed ('make test' installs the Debian package
'chromium')."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from services import cli
from tests.e2e.test_docs_browser import ARTIFACTS, CHROMIUM, _chromium
from tests.support import Api, File, today

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package 'chromium')"),
    pytest.mark.parametrize("settings", ["sqlite"], indirect=True),
]

PUBLIC_URL = "https://register.example.be"
KERB = {"name": "Kerb KB 100", "type": "kerb"}
GUTTER = {"name": "Gutter GT 50", "type": "gutter", "description": "Drainage gutter"}


def pdf_of(api: Api, path: str, *who: str, organisation: str | None = None, **params) -> bytes:
    headers = {**api.headers(*who, organisation=organisation), "Accept": "application/pdf"}
    answer = api.client.get(path, headers=headers, params=params or None)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    return answer.content


def read(pdf: Path) -> tuple[PdfReader, str]:
    reader = PdfReader(pdf)
    text = " ".join(unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages)).split())
    return reader, text


def links(reader: PdfReader) -> set[str]:
    found = set()
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                found.add(str(action["/URI"]))
    return found


def keep(source: Path, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(source, ARTIFACTS / name)


def test_a_certificate_document_prints_as_a_pdf_that_says_what_the_certificate_is(hallmark, api, tmp_path):
    hallmark.settings.public_url = PUBLIC_URL
    file = File(api).granted()
    file.ok(file.decide("extend_scope", scope="Precast concrete kerbs and gutters", products=[KERB, GUTTER]), 201)
    number, day = file.certificate, today().isoformat()
    found = file.ok(api.get(f"/v1/certificates/{number}", *File.ADMIN))
    quick_code, valid_until = found["quick_code"], found["valid_until"]

    pdf = tmp_path / "certificate-document.pdf"
    # The holder's staff ask for it.
    pdf.write_bytes(pdf_of(api, f"/v1/certificates/{number}/document", "Mieke Manufacturer", "applicant",
                           organisation="BE0123456789"))
    keep(pdf, "certificate-document.pdf")
    reader, text = read(pdf)
    assert len(reader.pages) == 1
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842), "not A4"
    for fact in (f"Certificate number {number}", f"Quick code {quick_code}", "Revision 2",
                 "Certificate and licence to use the BENOR mark", "BENOR mark (owned by NBN, managed by BENOR vzw)",
                 "Precast concrete kerbs and gutters", "Kerb KB 100", "Gutter GT 50", "Drainage gutter",
                 f"Valid from {day} until {valid_until}", f"Valid on {day}", "Betonwerk Noord NV", "BE0123456789",
                 "Plant Zelzate", "TRA 21 3.0", "PTV 21-601 2.0", "For the certification body: Head of Certification"):
        assert fact in text, fact
    link = f"{PUBLIC_URL}/certificates/{number}"
    assert link in text.replace(" ", "") and links(reader) == {link}
    for person in ("Dirk Decider", "Luc Lead", "Olivia Officer", "Mieke Manufacturer", "Ada Admin"):  # R9
        assert person not in text, person

    # The screenshot: the HTML answer, saved as the holder would save it, in the browser.
    page = tmp_path / "certificate-document.html"
    answer = api.client.get(f"/v1/certificates/{number}/document", headers=api.headers(*File.ADMIN))
    page.write_text(answer.text, encoding="utf-8")
    shot = tmp_path / "certificate-document.png"
    taken = _chromium(page.as_uri(), tmp_path / "profile-shot", "--window-size=900,1300", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.is_file() and shot.stat().st_size > 10_000, taken.stderr[-2000:]
    keep(shot, "certificate-document.png")


def test_r39_a_superseded_revision_and_a_suspended_certificate_print_so(hallmark, api, tmp_path):
    file = File(api).granted()
    file.ok(file.decide("extend_scope", scope="Precast concrete kerbs and gutters", products=[KERB, GUTTER]), 201)
    file.ok(file.decide("suspend"), 201)
    day = today().isoformat()

    first = tmp_path / "certificate-revision-1.pdf"
    first.write_bytes(pdf_of(api, f"/v1/certificates/{file.certificate}/document", *File.ADMIN, revision="1"))
    _, text = read(first)
    assert f"SUPERSEDED on {day} by revision 2: obsolete" in text and "Gutter GT 50" not in text

    suspended = tmp_path / "certificate-suspended.pdf"
    suspended.write_bytes(pdf_of(api, f"/v1/certificates/{file.certificate}/document", *File.ADMIN, format="pdf"))
    keep(suspended, "certificate-document-suspended.pdf")
    _, text = read(suspended)
    assert f"SUSPENDED since {day}: not valid" in text and "may not use the BENOR mark" in text
    assert f"Valid on {day}" not in text


def test_the_blank_certificate_prints_with_its_placeholders(api, tmp_path):
    blank = tmp_path / "blank-certificate.pdf"
    blank.write_bytes(pdf_of(api, "/v1/certificates/template", "Bea Assessor", "assessor"))
    keep(blank, "blank-certificate.pdf")
    _, text = read(blank)
    for placeholder in ("[certificate number]", "[quick code]", "[scope of certification]", "[valid from]",
                        "SPECIMEN"):
        assert placeholder in text, placeholder


def test_the_command_prints_a_pdf(hallmark, api, settings, monkeypatch, tmp_path, capsys):
    file = File(api).granted()
    monkeypatch.setenv("HALLMARK_DATA", str(settings.data_dir))
    monkeypatch.setenv("HALLMARK_STORE", settings.store)
    out = tmp_path / "from-the-command.pdf"
    assert cli.main(["certificate", "document", file.certificate, "--pdf", str(out)]) == 0
    assert f"certificate {file.certificate}, revision 1 (active on" in capsys.readouterr().err
    _, text = read(out)
    assert file.certificate in text and "Valid on" in text
