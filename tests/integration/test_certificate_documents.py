"""Certificate documents over HTTP, on SQLite and PostgreSQL: who reads them (staff yes, the holder's staff
yes, another organisation no, the public no), R38 and R39 through the API, the blank certificate, bad input,
a PDF asked for where Chromium is missing, and 'hallmark certificate document'."""

from __future__ import annotations

import re

import pytest

from services import cli
from shared.http.auth import STAFF
from tests.support import Api, File, today

HOLDER = "BE0123456789"  # tests.support.application_body's applicant
HTML = "text/html; charset=utf-8"


@pytest.fixture
def file(api: Api) -> File:
    return File(api).granted()


def document(api: Api, number: str, *who: str, organisation: str | None = None, **params):
    return api.get(f"/v1/certificates/{number}/document", *who, organisation=organisation, **params)


def text(answer) -> str:
    """What a reader of the document sees: no tags, no style sheet, spaces collapsed."""
    html = re.sub(r"<style>.*?</style>", " ", answer.text, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def is_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert body["type"].endswith(f"/{slug}"), body
    return body


# -- who reads it ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_the_bodys_staff_read_a_certificates_document(api, file, role):
    answer = document(api, file.certificate, "Sam Staff", role)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == HTML
    assert answer.headers["content-disposition"] == f'inline; filename="{file.certificate}-revision-1.html"'
    assert file.certificate in answer.text and "Betonwerk Noord NV" in answer.text


def test_the_document_may_use_its_own_inline_style_and_nothing_else(api, file):
    from shared.http.hygiene import DOCUMENT_CSP, HTML_CSP

    answer = document(api, file.certificate, "Sam Staff", "registry_officer")
    assert answer.headers["content-security-policy"] == DOCUMENT_CSP  # styled in a browser, loads nothing
    assert "<script" not in answer.text.lower()
    directory = api.get("/")
    assert directory.headers["content-security-policy"] == HTML_CSP  # every other page keeps the strict one


def test_the_holders_staff_read_their_certificates_document(api, file):
    answer = document(api, file.certificate, "Mieke Manufacturer", "applicant", organisation=HOLDER)
    assert answer.status_code == 200, answer.text
    assert file.certificate in answer.text


@pytest.mark.parametrize("organisation", ["BE0999999999", None])
def test_another_organisations_staff_do_not(api, file, organisation):
    answer = document(api, file.certificate, "Otto Other", "applicant", organisation=organisation)
    body = is_problem(answer, 403, "forbidden")
    assert file.certificate in body["detail"]


@pytest.mark.parametrize("role", ["partner", "laboratory"])
def test_partners_and_laboratories_do_not(api, file, role):
    is_problem(document(api, file.certificate, "Pat Partner", role, organisation=HOLDER), 403, "forbidden")


def test_the_public_does_not(api, file):
    is_problem(document(api, file.certificate), 401, "unauthorized")


def test_an_unknown_certificate_is_not_found(api, file):
    is_problem(document(api, "BENOR-99999", *File.ADMIN), 404, "not-found")


def test_the_document_is_the_same_every_time_it_is_asked(api, file):
    first = document(api, file.certificate, *File.ADMIN)
    assert first.text == document(api, file.certificate, "Mieke Manufacturer", "applicant", organisation=HOLDER).text


def test_the_document_links_to_the_public_page_under_hallmark_public_url(api, file, hallmark):
    hallmark.settings.public_url = "https://register.example.be"
    answer = document(api, file.certificate, *File.ADMIN)
    assert f'href="https://register.example.be/certificates/{file.certificate}"' in answer.text
    page = api.client.get(f"/certificates/{file.certificate}")  # the directory serves that path
    assert page.status_code == 200 and file.certificate in page.text


# -- R38 and R39 through the API -------------------------------------------------------------------


def test_r38_each_revision_has_its_document_and_no_other(api, file):
    file.ok(file.decide("extend_scope", scope="Kerbs and gutters",
                        products=[{"name": "Kerb KB 100", "type": "kerb"}, {"name": "Gutter GT 50", "type": "gutter"}]),
            201)
    current = document(api, file.certificate, *File.ADMIN)
    assert current.status_code == 200 and "Revision 2 of" in text(current) and "Gutter GT 50" in text(current)
    assert document(api, file.certificate, *File.ADMIN, revision=2).text == current.text
    first = document(api, file.certificate, *File.ADMIN, revision=1)
    assert first.status_code == 200 and "Gutter GT 50" not in first.text
    assert f"SUPERSEDED on {today().isoformat()} by revision 2" in text(first)
    body = is_problem(document(api, file.certificate, *File.ADMIN, revision=3), 404, "not-found")
    assert "R38" in body["detail"] and "1 to 2" in body["detail"]


@pytest.mark.parametrize("revision", ["0", "-1", "two", "1.5", "100001"])
def test_a_revision_that_is_not_a_revision_number_is_bad_input(api, file, revision):
    body = is_problem(document(api, file.certificate, *File.ADMIN, revision=revision), 422, "invalid-request")
    assert body["errors"][0]["field"] == "query.revision"


def test_r39_an_active_certificate_reads_valid(api, file):
    answer = document(api, file.certificate, *File.ADMIN)
    assert f"Valid on {today().isoformat()}" in text(answer) and 'class="watermark"' not in answer.text


@pytest.mark.parametrize("outcome, words", [
    ("suspend", "SUSPENDED since {today}: not valid"),
    ("withdraw", "WITHDRAWN on {today}: no longer valid"),
])
def test_r39_a_suspended_or_withdrawn_certificates_document_says_so(api, file, outcome, words):
    file.ok(file.decide(outcome), 201)
    answer = document(api, file.certificate, "Mieke Manufacturer", "applicant", organisation=HOLDER)
    assert answer.status_code == 200
    assert words.format(today=today().isoformat()) in text(answer) and "may not use the BENOR mark" in text(answer)
    assert f"Valid on {today().isoformat()}" not in text(answer)


def test_reading_a_document_records_nothing(api, file, hallmark):
    before = hallmark.registry.recorder.max_notification_id()
    document(api, file.certificate, *File.ADMIN)
    document(api, file.certificate, *File.ADMIN, revision=9)
    assert hallmark.registry.recorder.max_notification_id() == before


# -- the blank certificate -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["assessor", "admin", "registry_officer"])
def test_the_assessor_reads_the_blank_certificate(api, role):
    answer = api.get("/v1/certificates/template", "Bea Assessor", role)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == HTML
    for placeholder in ("[certificate number]", "[quick code]", "[holder: legal entity]", "[valid until: last valid day]",
                        "SPECIMEN"):
        assert placeholder in text(answer), placeholder


@pytest.mark.parametrize("role", ["auditor", "decision_maker", "applications_officer", "applicant", "partner"])
def test_others_do_not_read_the_blank_certificate(api, role):
    is_problem(api.get("/v1/certificates/template", "Otto Other", role, organisation=HOLDER), 403, "forbidden")


def test_the_public_does_not_read_the_blank_certificate(api):
    is_problem(api.get("/v1/certificates/template"), 401, "unauthorized")


# -- PDF where Chromium is missing ------------------------------------------------------------------


@pytest.mark.parametrize("how", [{"headers": {"Accept": "application/pdf"}}, {"params": {"format": "pdf"}}])
def test_without_chromium_a_pdf_is_a_503_problem_naming_the_fix(api, file, monkeypatch, how):
    monkeypatch.setenv("HALLMARK_CHROMIUM", "/nonexistent/chromium")
    headers = {**api.headers(*File.ADMIN), **how.get("headers", {})}
    answer = api.client.get(f"/v1/certificates/{file.certificate}/document", headers=headers, params=how.get("params"))
    body = is_problem(answer, 503, "printer-unavailable")
    assert "install chromium" in body["detail"]
    # The HTML is unaffected.
    assert document(api, file.certificate, *File.ADMIN).status_code == 200


# -- hallmark certificate document ----------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, settings):
    monkeypatch.setenv("HALLMARK_DATA", str(settings.data_dir))
    monkeypatch.setenv("HALLMARK_STORE", settings.store)
    monkeypatch.setenv("HALLMARK_PG_SCHEMA_PREFIX", settings.pg_schema_prefix)
    monkeypatch.setenv("HALLMARK_PUBLIC_URL", "https://register.example.be")


def test_the_command_prints_a_revisions_document(api, file, cli_env, capsys):
    assert cli.main(["certificate", "document", file.certificate.lower()]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and file.certificate in out
    assert f"https://register.example.be/certificates/{file.certificate}" in out
    assert cli.main(["certificate", "document", file.certificate, "--revision", "2"]) == 1
    assert "R38" in capsys.readouterr().err


def test_the_command_says_when_chromium_is_missing(api, file, cli_env, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HALLMARK_CHROMIUM", "/nonexistent/chromium")
    assert cli.main(["certificate", "document", file.certificate, "--pdf", str(tmp_path / "c.pdf")]) == 1
    assert "install chromium" in capsys.readouterr().err and not (tmp_path / "c.pdf").exists()
