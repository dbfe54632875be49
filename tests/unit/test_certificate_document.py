"""The certificate document (ISO/IEC 17065 7.7), pure: what each revision's document carries, R38 (which
revision a document is printed for), R39 (the status on the day printed, said plainly), who reads it, the
blank certificate, and how a PDF is asked for. Dates fixed; no store, no browser."""

from __future__ import annotations

import re
from datetime import date

import pytest

from services.registry import documents, printing
from services.registry.api import wants_pdf
from services.registry.application import load_catalogue
from services.registry.domain import Certificate
from shared.errors import NotFound, NotPermitted
from tests.unit.factories import (
    APPLICANT,
    DECIDER,
    NUMBER,
    PRODUCTION_UNIT,
    PRODUCTS,
    REGISTRAR,
    SCHEME_DOCUMENTS,
    TODAY,
    make_certificate,
    recorded,
    refused,
)

CATALOGUE = load_catalogue()
PUBLIC_URL = "https://register.example.be"
CHANNEL = {"name": "VDM Channel 250", "type": "channel", "description": "Drainage channel units"}
PTV_3 = {"kind": "PTV", "ref": "PTV 21-601", "version": "3.0"}


def render(certificate: Certificate, revision: int | None = None, today: date = TODAY) -> str:
    facts = certificate.document(revision=revision, today=today)
    return documents.render(facts, body=CATALOGUE.body, mark_name=CATALOGUE.marks[certificate.mark],
                            scheme_title="Concrete kerb units", public_url=PUBLIC_URL)


def text(html: str) -> str:
    """What a reader sees: the tags and the style sheet left out, spaces collapsed."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&amp;", "&").split())


@pytest.fixture
def certificate() -> Certificate:
    """Issued 2025-01-01 until 2027-12-31 (revision 1); extended on 2026-03-01 to channels under PTV 3.0
    (revision 2)."""
    certificate = make_certificate()
    certificate.revise(outcome="extend_scope", decision_id="dec-ext", effective_from=date(2026, 3, 1),
                       scope="Concrete kerb and channel units", valid_until=None, products=[*PRODUCTS, CHANNEL],
                       documents=[SCHEME_DOCUMENTS[0], {**PTV_3, "effective_from": "2026-01-01"}],
                       actor=DECIDER, reason="extend_scope by decision dec-ext")
    recorded(certificate)
    return certificate


def change(certificate: Certificate, status: str, on: date) -> None:
    certificate.change_status(status=status, decision_id=f"dec-{status}", effective_from=on, actor=DECIDER,
                              reason=f"{status} by decision dec-{status}")


# -- what every document carries -------------------------------------------------------------------


def test_the_current_revisions_document_carries_every_field_of_7_7(certificate):
    page = text(render(certificate))
    for fact in (CATALOGUE.body["name"], CATALOGUE.body["accreditation"], NUMBER, "Quick code 10000016",
                 "Revision 2", "BENOR", CATALOGUE.marks["BENOR"], "BENOR-PTV-21-601", "Concrete kerb units",
                 "TRA 21 3.0", "PTV 21-601 3.0", APPLICANT["name"], APPLICANT["registration_number"],
                 APPLICANT["address"], PRODUCTION_UNIT["name"], PRODUCTION_UNIT["address"],
                 "Concrete kerb and channel units", "VDM Kerb 100 kerb", "VDM Channel 250 channel",
                 "Valid from 2026-03-01 until 2027-12-31", "Revision 2 of 2026-03-01",
                 "first issued on 2025-01-01", f"{PUBLIC_URL}/certificates/{NUMBER}",
                 f"For the certification body: {CATALOGUE.body['signatory']}"):
        assert fact in page, fact
    assert "PTV 21-601 2.1" not in page  # the version in force at revision 2 only


def test_each_revision_prints_what_it_certified(certificate):
    """Revision 1 keeps its scope, products, TRA/PTV versions and validity, as issued."""
    page = text(render(certificate, revision=1))
    for fact in ("Revision 1 of 2025-01-01", "Concrete kerb units to PTV 21-601", "PTV 21-601 2.1",
                 "Valid from 2025-01-01 until 2027-12-31", "VDM Kerb 150 kerb"):
        assert fact in page, fact
    assert "VDM Channel 250" not in page and "PTV 21-601 3.0" not in page


def test_the_mark_is_an_inline_svg_and_the_page_loads_nothing(certificate):
    html = render(certificate)
    assert re.search(r"<svg [^>]*aria-label=\"the BENOR mark\"", html) and ">BENOR</text>" in html
    assert "@page { size: A4" in html
    for outside in ("<script", "<link", "<img", "@import", "url(", "@font-face", "<iframe"):
        assert outside not in html, outside
    # Every address on the page is the certificate's public page (and the SVG's namespace, not loaded).
    addresses = set(re.findall(r"https?://[^\s\"<]+", html)) - {"http://www.w3.org/2000/svg"}
    assert addresses == {f"{PUBLIC_URL}/certificates/{NUMBER}"}


def test_the_document_is_deterministic(certificate):
    assert render(certificate) == render(certificate)
    assert render(certificate, revision=1) == render(certificate, revision=1)


def test_r9_the_document_names_no_person(certificate):
    """The signatory is the body's role; who decided, registered or applied is not printed."""
    html = render(certificate)
    for person in (DECIDER, REGISTRAR, "dec-ext", "dec-grant"):
        assert person not in html, person


def test_every_value_is_escaped():
    certificate = make_certificate(holder={**APPLICANT, "name": "<script>alert(1)</script> & Zonen"})
    html = render(certificate)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zonen" in html


def test_the_public_link_escapes_the_number():
    assert documents.public_page("https://r.example/", "BENOR 1/2") == "https://r.example/certificates/BENOR%201%2F2"


def test_revisions_survive_replay():
    """The revisions are state folded from Issued and Revised: a certificate rebuilt from its events has them."""
    certificate = make_certificate()
    certificate.revise(outcome="renew", decision_id="dec-ren", effective_from=date(2026, 3, 1), scope=None,
                       valid_until=date(2030, 2, 28), actor=DECIDER, reason="renew by decision dec-ren")
    rebuilt = None
    for event in certificate.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None and [r["revision"] for r in rebuilt.revisions] == [1, 2]
    assert rebuilt.document(revision=1, today=TODAY) == certificate.document(revision=1, today=TODAY)
    assert rebuilt.document(revision=None, today=TODAY)["valid_until"] == date(2030, 2, 28)


# -- R38: a document for a revision the certificate has had ----------------------------------------


def test_r38_a_document_is_printed_for_each_revision_the_certificate_has_had(certificate):
    assert certificate.document(revision=None, today=TODAY)["revision"] == 2  # by default the current one
    assert certificate.document(revision=1, today=TODAY)["revision"] == 1
    assert certificate.document(revision=2, today=TODAY)["revision"] == 2


@pytest.mark.parametrize("revision", [0, 3, -1, 99])
def test_r38_a_revision_the_certificate_never_had_is_refused(certificate, revision):
    error = refused(certificate, NotFound, certificate.document, revision=revision, today=TODAY)
    assert "R38" in error.detail and "1 to 2" in error.detail


# -- R39: the status on the day printed, said plainly ----------------------------------------------


def test_r39_the_current_revision_of_an_active_certificate_reads_valid(certificate):
    facts = certificate.document(revision=None, today=TODAY)
    assert facts["status"] == {"state": "active", "since": date(2026, 3, 1), "valid": True, "on": TODAY,
                               "superseded_by": None, "certificate_status": "active"}
    page = text(render(certificate))
    assert f"Valid on {TODAY.isoformat()}" in page and "not valid" not in page
    assert 'class="watermark"' not in render(certificate)


def test_r39_an_earlier_revision_says_it_is_superseded_and_by_which(certificate):
    facts = certificate.document(revision=1, today=TODAY)
    assert facts["status"]["state"] == "superseded" and facts["status"]["superseded_by"] == 2
    assert not facts["status"]["valid"]
    html = render(certificate, revision=1)
    assert "SUPERSEDED on 2026-03-01 by revision 2: obsolete" in text(html)
    assert "current revision is 2 (active)" in text(html)
    assert '<div class="watermark" aria-hidden="true">SUPERSEDED</div>' in html


@pytest.mark.parametrize("status, words", [
    ("suspended", "SUSPENDED since 2026-05-04: not valid"),
    ("withdrawn", "WITHDRAWN on 2026-05-04: no longer valid"),
    ("terminated", "TERMINATED on 2026-05-04: no longer valid"),
])
def test_r39_a_suspended_withdrawn_or_terminated_certificate_says_so(certificate, status, words):
    change(certificate, status, date(2026, 5, 4))
    facts = certificate.document(revision=None, today=TODAY)
    assert (facts["status"]["state"], facts["status"]["valid"]) == (status, False)
    html = render(certificate)
    assert words in text(html) and "may not use the BENOR mark" in text(html)
    assert f'<div class="watermark" aria-hidden="true">{status.upper()}</div>' in html
    assert "not-valid" in html and f"Valid on {TODAY.isoformat()}" not in text(html)


def test_r39_a_superseded_revision_of_a_withdrawn_certificate_names_its_status(certificate):
    change(certificate, "withdrawn", date(2026, 5, 4))
    assert "current revision is 2 (withdrawn)" in text(render(certificate, revision=1))


def test_r39_past_its_last_valid_day_it_reads_expired_before_the_sweep_records_it(certificate):
    facts = certificate.document(revision=None, today=date(2028, 1, 1))
    assert certificate.status == "active"  # nothing recorded: a document is a reading
    assert facts["status"]["state"] == "expired" and facts["status"]["since"] == date(2028, 1, 1)
    assert not facts["status"]["valid"]
    assert "EXPIRED on 2028-01-01: no longer valid" in text(render(certificate, today=date(2028, 1, 1)))
    # On its last valid day it is still valid.
    assert certificate.document(revision=None, today=date(2027, 12, 31))["status"]["valid"]


def test_r39_an_expiry_the_sweep_recorded_reads_expired():
    certificate = make_certificate()
    assert certificate.expire(today=date(2028, 1, 2), actor="hallmark:registry")
    assert "EXPIRED on 2028-01-01" in text(render(certificate, today=date(2028, 1, 2)))


def test_r39_a_revision_not_yet_in_force_is_not_valid_yet():
    certificate = make_certificate(valid_from=date(2026, 7, 1), valid_until=date(2029, 6, 30))
    facts = certificate.document(revision=None, today=TODAY)
    assert facts["status"]["state"] == "active" and not facts["status"]["valid"]
    assert "Not yet in force on 2026-06-01" in text(render(certificate))


# -- who reads it ----------------------------------------------------------------------------------


def test_the_bodys_staff_and_the_holders_staff_read_the_document(certificate):
    certificate.check_reader(staff=True, organisation=None)
    certificate.check_reader(staff=False, organisation="BE0123456789")
    certificate.check_reader(staff=False, organisation="be 0123.456.789")  # as written on letterheads


@pytest.mark.parametrize("organisation", [None, "", "BE0999999999", "BE012345678"])
def test_another_organisation_does_not_read_the_document(certificate, organisation):
    error = refused(certificate, NotPermitted, certificate.check_reader, staff=False, organisation=organisation)
    assert NUMBER in error.detail


# -- the blank certificate -------------------------------------------------------------------------


def test_the_blank_certificate_names_every_field_as_a_placeholder(certificate):
    blank = documents.blank(body=CATALOGUE.body, public_url=PUBLIC_URL)
    page = text(blank)
    for placeholder in ("[certificate number]", "[quick code]", "[mark]", "[name of the mark]", "[scheme code]",
                        "[scheme title]", "[document reference]", "[version in force at this revision]",
                        "[holder: legal entity]", "[registration number]", "[holder's address]",
                        "[production unit]", "[production unit's address]", "[scope of certification]",
                        "[product: trade name]", "[valid from]", "[valid until: last valid day]", "[revision]",
                        "[date of the revision]", "[date of first issue]", "[Status on the day printed]",
                        "[date printed]", f"{PUBLIC_URL}/certificates/[certificate number]"):
        assert placeholder in page, placeholder
    assert CATALOGUE.body["name"] in page and CATALOGUE.body["signatory"] in page
    assert '<div class="watermark" aria-hidden="true">SPECIMEN</div>' in blank and "not a certificate" in page
    # The same document: every heading of a certificate's document is on the blank one.
    headings = re.findall(r'<th scope="row">([^<]+)</th>', render(certificate))
    assert headings and headings == re.findall(r'<th scope="row">([^<]+)</th>', blank)


# -- PDF or HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize("accept, answer_format, pdf", [
    (None, None, False),
    ("text/html", None, False),
    ("*/*", None, False),
    ("application/pdf", None, True),
    ("application/pdf, text/html;q=0.5", None, True),
    ("text/html, application/pdf;q=0.5", None, False),
    ("application/pdf;q=0", None, False),
    ("application/pdf;q=oops", None, False),
    ("text/html", "pdf", True),
    ("application/pdf", "html", False),
])
def test_a_pdf_is_asked_for_with_accept_or_format(accept, answer_format, pdf):
    assert wants_pdf(accept, answer_format) is pdf


def test_without_chromium_a_pdf_is_refused_saying_how_to_install_it(monkeypatch):
    monkeypatch.setenv("HALLMARK_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(printing.PrinterUnavailable) as info:
        printing.print_pdf("<html></html>")
    assert info.value.status == 503 and info.value.slug == "printer-unavailable"
    assert "install chromium" in info.value.detail and "HALLMARK_CHROMIUM" in info.value.detail
