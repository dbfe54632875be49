"""The evidence report printed by a real browser: a whole certification file driven through the API,
its audit trail rendered (services/projections/report.py) and printed to PDF by headless Chromium, with no
host resolvable. The PDF must be A4 and its text must name the file's actors and the R1 and R2 checks.

The PDF is kept as a test artefact: in the test's tmp dir and in test-artifacts/ (git-ignored).
Skipped only where Chromium is not installed ('make test' installs the Debian package 'chromium')."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from services.projections.log import b64
from services.projections.report import render_report
from tests.e2e.test_docs_browser import ARTIFACTS, CHROMIUM, _chromium
from tests.support import Api, File

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package 'chromium')"),
    pytest.mark.parametrize("settings", ["sqlite"], indirect=True),
]


def a_whole_file(api: Api) -> File:
    """Reviewed, audited by a team of two with a finding closed, granted, suspended, appealed, restored."""
    file = File(api)
    file.create_scheme()
    file.submit()
    file.accept()
    file.plan()
    file.ok(file.team("Luc Lead", "lead_auditor"))
    file.ok(file.team("Ann Auditor", "auditor"))
    finding = file.ok(file.finding("minor"), 201)["finding_id"]
    file.ok(file.close(finding))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    items = file.ok(api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id))["items"]
    file.certificate = items[0]["number"]
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *File.APPLICANT), 201)
    file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {
        "committee": ["Paula Public", "Uma User"], "outcome": "upheld", "rationale": "Samples conform"}, *File.ADMIN))
    file.ok(file.decide("restore"), 201)
    return file


def _print_to_pdf(page: Path, pdf: Path, profile: Path) -> subprocess.CompletedProcess:
    # Nothing but this machine resolves: a report that needed anything from outside would print without it.
    return _chromium(page.as_uri(), profile, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")


def _between(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin:text.index(end, begin)]


def test_the_evidence_report_prints_with_the_files_actors_and_rules(hallmark, api, tmp_path):
    file = a_whole_file(api)
    entries = hallmark.trail.entries(file.application_id)
    log = hallmark.trail.log
    log.checkpoint()
    signed = log.latest()
    manifest = {"selection": f"certificate {file.certificate}", "origin": log.origin,
                "checkpoint": {"size": signed.size, "root": b64(signed.root)}, "entries_count": len(entries),
                "key_name": log.key.name}
    report = render_report(manifest, entries)
    assert render_report(manifest, [dict(e) for e in entries]) == report  # the verifier's re-rendering

    page = tmp_path / "evidence-report.html"
    page.write_text(report, encoding="utf-8")
    pdf = tmp_path / "evidence-report.pdf"
    printed = _print_to_pdf(page, pdf, tmp_path / "profile")
    assert printed.returncode == 0 and pdf.is_file() and pdf.stat().st_size > 10_000, printed.stderr[-2000:]
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "evidence-report.pdf")

    reader = PdfReader(pdf)
    assert len(reader.pages) >= 3
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842), "not A4"
    text = " ".join(unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages)).split())

    assert "Certification file evidence report" in text and "How to verify this pack" in text
    assert file.certificate in text and str(signed.size) in text
    for actor in ("Olivia Officer", "Luc Lead", "Ann Auditor", "Dirk Decider", "Paula Public", "Uma User",
                  "Betonwerk Noord NV", "Carla Consult"):
        assert actor in text, actor
    for step in ("Curing log incomplete", "Corrected curing log, batch 42", "Factory production control in place",
                 "active → suspended", "Products conform", "Samples conform"):
        assert step in text, step

    # Each section's heading is the last place its title appears (the first is the contents).
    impartiality = text[text.rindex("7. Impartiality"):text.rindex("8. The full timeline")]
    r1 = _between(impartiality, "R1 HELD", "R2 ")
    assert "Evaluators of the file by then" in r1 and "Dirk Decider" in r1 and "Luc Lead" in r1
    assert r1.count("HELD") == 1 + 3 and "NOT HELD" not in r1  # the heading, and grant, suspend, restore
    r2 = _between(impartiality, "R2 HELD", "R8 ")
    assert "Advisers declared then" in r2 and "NOT HELD" not in r2
    for person in ("Olivia Officer", "Luc Lead", "Ann Auditor", "Dirk Decider", "Paula Public", "Uma User"):
        assert person in r2, person
    assert "R8 HELD" in impartiality

    timeline = text[text.rindex("8. The full timeline"):]
    for entry in entries:
        assert f"#{entry['index']}" in timeline and entry["type"] in timeline, entry["type"]
