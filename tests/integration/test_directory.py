"""The public directory's pages (services/directory, ADR 0012): search, paging, the certificate page and
its valid-on-date check, the three languages, refusals as pages with the right status, HEAD, and R9."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from services.directory import i18n, pages
from shared.http.hygiene import HTML_CSP
from tests.support import File

PEOPLE = ("Olivia Officer", "Luc Lead", "Ann Auditor", "Dirk Decider", "Ada Admin", "Carla Consult")


def _page(response, status: int = 200, lang: str = "en") -> str:
    """The page's text, after checking it is a page of the directory in ``lang``, whatever the status."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    assert response.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in response.text
    assert response.headers["content-security-policy"] == HTML_CSP
    return response.text


def _text(page: str) -> str:
    """What a reader sees: no tags, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _rows(page: str) -> list[str]:
    """The certificate numbers listed in the results, in order."""
    return re.findall(r'<th scope="row"><a href="/certificates/([^"?]+)', page)


def _next(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]*)" rel="next">', page)]


def _switch(page: str) -> list[str]:
    """The language switch's links."""
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]*)" lang="\w+" hreflang=', page)]


def _links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]*)"', page)]


# -- search -----------------------------------------------------------------------------------------


def test_the_search_page_finds_by_number_quick_code_holder_product_and_mark(api):
    file = File(api).granted()
    number = file.certificate
    quick_code = api.get(f"/public/v1/certificates/{number}").json()["quick_code"]
    everything = _page(api.get("/"))
    assert "Find a certificate" in everything and _rows(everything) == [number]
    assert "Betonwerk Noord NV" in everything
    for query in (number, number.lower(), quick_code, "betonwerk noord", "KB 100", "kerb"):
        found = _page(api.get("/", q=query))
        assert _rows(found) == [number] and "1 certificate on this page." in found, query
    assert _rows(_page(api.get("/", mark="BENOR"))) == [number]
    assert _rows(_page(api.get("/", status="active", scheme=file.scheme))) == [number]
    for nothing in ({"q": "no such holder"}, {"mark": "COPRO"}, {"status": "withdrawn"}, {"scheme": "PTV-NONE"}):
        page = _page(api.get("/", **nothing))
        assert _rows(page) == [] and "No certificate matches this search." in page, nothing
    row = _page(api.get("/", q=quick_code))
    assert f'href="/certificates/{number}"' in row
    assert 'class="status status-active">active<' in row


def test_the_search_keeps_what_was_asked_in_the_form(api):
    File(api).granted()
    page = _page(api.get("/", q="<b>kerb</b>", mark="BENOR", status="active"))
    assert 'value="&lt;b&gt;kerb&lt;/b&gt;"' in page and "<b>kerb</b>" not in page  # escaped, not markup
    assert 'value="BENOR"' in page and '<option value="active" selected>' in page
    assert 'href="/"' in page  # the way back to an empty search


def test_results_are_paged_with_the_views_cursor(api, monkeypatch):
    numbers = sorted(File(api).granted().certificate for _ in range(3))
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = _page(api.get("/", mark="BENOR"))
    assert _rows(first) == numbers[:2]
    following = _next(first)
    assert len(following) == 1 and "mark=BENOR" in following[0]  # the filters stay on the next page
    second = _page(api.client.get(following[0]))
    assert _rows(second) == numbers[2:]
    assert not _next(second)  # the last page
    assert "/?mark=BENOR" in _links(second)  # back to the first page
    json_cursor = api.get("/public/v1/certificates", mark="BENOR", limit=2).json()["next_cursor"]
    assert following[0].endswith(f"cursor={json_cursor}")  # the same cursor as the JSON API's


# -- the certificate page ---------------------------------------------------------------------------


def test_the_certificate_page_shows_what_the_directory_holds(api, hallmark):
    file = File(api).granted()
    number = file.certificate
    public = api.get(f"/public/v1/certificates/{number}").json()
    page = _page(api.get(f"/certificates/{number}"))
    text = _text(page)
    assert f"Certificate {number}" in text and "active since" in text
    for shown in ("Betonwerk Noord NV", "BE0123456789", "Plant Zelzate", "Industrieweg 5, 9060 Zelzate", "BENOR",
                  file.scheme, public["quick_code"], "Precast concrete kerbs, type KB", "Kerb KB 100",
                  "Application regulations (TRA)", "TRA 21", "3.0", "Technical prescriptions (PTV)", "PTV 21-601",
                  "History of the status", "Was it valid on a given date?"):
        assert shown in text, shown
    links = _links(page)
    assert f"/public/v1/certificates/{number}?format=jwt" in links
    assert f"/public/v1/certificates/{number}" in links
    assert "/public/transparency" in links
    assert '<label for="on">' in page and 'id="on" name="on" type="date"' in page
    by_quick_code = _text(_page(api.get(f"/certificates/{public['quick_code']}")))
    assert f"Certificate {number}" in by_quick_code


def test_valid_on_a_date_answers_as_the_json_api_and_refuses_the_future(api, hallmark):
    file = File(api).granted()
    number = file.certificate
    today = hallmark.clock.today()
    later = hallmark.clock.fixed_today = today + timedelta(days=10)  # ten days on, the certificate is suspended
    file.ok(file.decide("suspend", effective_from=later.isoformat()), 201)

    def verdict(day, status: int = 200, lang: str = "en") -> str:
        page = _page(api.get(f"/certificates/{number}", on=str(day), lang=lang), status, lang)
        return _text(page)

    assert f"Valid on {today.day} " in verdict(today) and "(revision 1)" in verdict(today)
    assert "Not valid on" in verdict(later) and "“suspended”" in verdict(later)
    assert "“geschorst”" in verdict(later, lang="nl") and "« suspendu »" in verdict(later, lang="fr")
    assert "had not been issued yet" in verdict(today - timedelta(days=1))
    future = verdict(later + timedelta(days=1), 422)
    assert "is after today" in future and "a status can still change" in future
    assert "ligt na vandaag" in verdict(later + timedelta(days=1), 422, "nl")
    assert "est postérieur à aujourd'hui" in verdict(later + timedelta(days=1), 422, "fr")
    assert "is not a date" in verdict("2026-02-30", 422) and "is not a date" in verdict("yesterday", 422)
    assert "Choose a date to check." in verdict("", 422)
    json_future = api.get(f"/public/v1/certificates/{number}", on=str(later + timedelta(days=1)))
    assert json_future.status_code == 422  # the same refusal


def test_a_suspended_certificate_says_so_in_every_language(api, hallmark):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    expected = {"en": ("suspended", "may not use the BENOR mark"),
                "nl": ("geschorst", "mag de houder het BENOR-merk niet gebruiken"),
                "fr": ("suspendu", "ne peut pas utiliser la marque BENOR")}
    for lang, (status, notice) in expected.items():
        text = _text(_page(api.get(f"/certificates/{file.certificate}", lang=lang), lang=lang))
        assert status in text and notice in text, lang
        history = text[text.index(i18n.CATALOGS[lang]["cert.history"]):]
        assert history.index(i18n.CATALOGS[lang]["status.active"]) < history.index(status), lang
        assert status in _text(_page(api.get("/", status="suspended", lang=lang), lang=lang))


def test_a_document_transition_and_a_renewal_show_on_the_page(api, hallmark):
    file = File(api).granted()
    today = hallmark.clock.today()
    deadline = today + timedelta(days=180)
    file.ok(api.post("/v1/schemes/commissions", {"code": "SC-KERBS", "name": "Sectoral commission for kerbs",
                                                 "schemes": [file.scheme]}, *File.ADMIN), 201)
    file.ok(api.post(f"/v1/schemes/{file.scheme}/documents", {
        "kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": today.isoformat(),
        "transition_deadline": deadline.isoformat(),
        "commission_decision": {"commission": "SC-KERBS", "reference": "SC-KERBS/2026/07",
                                "date": today.isoformat()}}, *File.ADMIN), 201)
    pending = {lang: _text(_page(api.get(f"/certificates/{file.certificate}", lang=lang), lang=lang))
               for lang in i18n.LANGUAGES}
    day = i18n.long_date(deadline.isoformat(), "en")
    assert f"PTV 21-601 version 3.0 replaces 2.0; the certificate must move to it by {day}." in pending["en"]
    assert f"moet uiterlijk op {i18n.long_date(deadline.isoformat(), 'nl')} overstappen" in pending["nl"]
    assert f"au plus tard le {i18n.long_date(deadline.isoformat(), 'fr')}" in pending["fr"]
    file.ok(file.decide("renew"), 201)
    renewed = _page(api.get(f"/certificates/{file.certificate}"))
    text = _text(renewed)
    assert "must move to it" not in text and "Revisions" in text
    history = text[text.index("History of the status"):]
    assert re.search(r"active 1 .* superseded 1 .* active 2", history), history
    assert "Revision 2 " in text


# -- languages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("header, chosen", [
    (None, "en"), ("", "en"), ("nl", "nl"), ("fr-BE,fr;q=0.9,en;q=0.8", "fr"), ("nl-BE", "nl"),
    ("de-DE, de;q=0.9, nl;q=0.4, fr;q=0.3", "nl"), ("en;q=0.2, fr;q=0.8", "fr"), ("fr;q=0.5, nl;q=0.5", "fr"),
    ("nl;q=0, *;q=0.5", "en"), ("en;q=0, *", "nl"), ("de", "en"), ("fr;q=2, nl;q=0.1", "nl"),
    ("fr;q=abc, nl;q=0.1", "nl"), ("*", "en"), ("en;q=0, nl;q=0, fr;q=0", "en"), (",;,q=;=", "en"),
])
def test_accept_language_is_read_with_its_q_values(header, chosen):
    assert i18n.choose(None, None, header) == chosen


def test_the_choice_comes_before_the_cookie_which_comes_before_the_browser():
    assert i18n.choose("fr", "nl", "en") == "fr"
    assert i18n.choose(None, "nl", "fr") == "nl"
    assert i18n.choose("xx", "yy", "fr") == "fr"  # unknown choices are ignored


def test_every_language_has_every_string():
    keys = set(i18n.CATALOGS["en"])
    for lang in i18n.LANGUAGES:
        assert set(i18n.CATALOGS[lang]) == keys, lang
        assert all(f"status.{status}" in keys for status in i18n.STATUSES)
        assert len(i18n.CATALOGS[lang]["months"].split()) == 12
    assert i18n.long_date("2026-03-01", "fr") == "1er mars 2026"
    assert i18n.long_date("2026-03-01", "nl") == "1 maart 2026"
    assert i18n.long_date("2026-12-24", "en") == "24 December 2026"


def test_the_page_follows_accept_language_and_remembers_a_chosen_language(api):
    french = api.client.get("/", headers={"Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"})
    assert "Rechercher un certificat" in _page(french, lang="fr")
    assert "set-cookie" not in french.headers and "Accept-Language" in french.headers["vary"]
    chosen = api.client.get("/", params={"lang": "nl"}, headers={"Accept-Language": "fr"})
    assert "Een certificaat zoeken" in _page(chosen, lang="nl")
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("hallmark_lang=nl;") and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    remembered = api.client.get("/", headers={"Accept-Language": "fr"})  # the client keeps the cookie
    assert "Een certificaat zoeken" in _page(remembered, lang="nl")
    switched = _page(api.client.get("/", params={"lang": "en", "q": "kerb"}))
    assert _switch(switched) == ["/?q=kerb&lang=nl", "/?q=kerb&lang=fr", "/?q=kerb&lang=en"]  # the search stays
    assert 'aria-current="true">English<' in switched
    api.client.cookies.clear()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_status_name_is_translated_on_the_page(api, lang):
    page = _page(api.get("/", lang=lang), lang=lang)
    for status in i18n.STATUSES:
        assert f'<option value="{status}">{i18n.CATALOGS[lang][f"status.{status}"]}</option>' in page


# -- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, status, says", [
    ({"q": "x" * 201}, 422, "Search text: at most 200 characters."),
    ({"q": "kerb\u0000"}, 422, "Search text: contains a character that is not allowed"),
    ({"q": "kerb\u202e"}, 422, "Search text: contains a character that is not allowed"),
    ({"mark": "M" * 41}, 422, "Mark: at most 40 characters."),
    ({"scheme": "a\nb"}, 422, "Scheme: contains a character that is not allowed"),
    ({"status": "valid"}, 422, "Status: not one of the statuses offered."),
    ({"cursor": "not-a-cursor"}, 422, "This page link is not one the directory gave out"),
    ({"cursor": "x" * 201}, 422, "Page: at most 200 characters."),
])
def test_a_refused_search_is_a_page_with_the_right_status(api, params, status, says):
    page = _page(api.get("/", **params), status)
    assert says in _text(page) and 'role="alert"' in page
    assert "Find a certificate" in page  # the form stays, to correct it
    for field, value in params.items():
        assert html.escape(value) not in page or field == "status"  # what was refused is not echoed


@pytest.mark.parametrize("params", [
    {"q": "50%"}, {"q": "_"}, {"q": "\\"}, {"q": "' OR 1=1 --"}, {"q": "béton 😀"}, {"q": "\u00a0"},
    {"q": "x" * 200}, {"lang": "x" * 5000}, {"lang": "nl\u0000"}, {"cursor": ""}, {"status": ""},
    {"mark": "<script>alert(1)</script>"},
])
def test_odd_but_allowed_searches_are_answered(api, params):
    page = _page(api.get("/", **params))
    assert "<script>" not in page and _rows(page) == []


def test_refusals_speak_the_readers_language(api):
    dutch = api.client.get("/", params={"q": "x" * 201}, headers={"Accept-Language": "nl-BE"})
    assert "Zoektekst: hoogstens 200 tekens." in _text(_page(dutch, 422, "nl"))
    french = api.client.get("/certificates/BENOR-99999", headers={"Accept-Language": "fr"})
    text = _text(_page(french, 404, "fr"))
    assert "Certificat introuvable" in text and "« BENOR-99999 »" in text


def test_an_unknown_or_refused_certificate_number_is_a_page(api):
    missing = _text(_page(api.get("/certificates/BENOR-99999"), 404))
    assert "Certificate not found" in missing and "BENOR-99999" in missing
    assert "Certificate number: at most 64 characters." in _text(_page(api.get("/certificates/" + "9" * 65), 422))
    assert "contains a character" in _text(_page(api.get("/certificates/BENOR%0A1"), 422))
    assert "Date: at most 40 characters." in _text(_page(api.get("/certificates/BENOR-99999", on="1" * 41), 422))


def test_head_answers_like_get_without_a_body(api):
    number = File(api).granted().certificate
    for path, status in (("/", 200), (f"/certificates/{number}", 200), ("/certificates/NONE", 404),
                         ("/?q=" + "x" * 201, 422)):
        get, head = api.client.get(path), api.client.head(path)
        assert head.status_code == get.status_code == status, path
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"], path


# -- R9, and nothing from elsewhere -----------------------------------------------------------------


def test_no_personal_data_appears_on_any_page(api, hallmark):
    """R9: the people of the file (officer, auditors, decider, the consultant) and what they wrote are on no page."""
    file = File(api).planned()  # the application names a consultant, Carla Consult (tests.support)
    file.ok(file.team("Ann Auditor", "auditor"))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    file.certificate = api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id).json()[
        "items"][0]["number"]
    file.ok(file.decide("suspend"), 201)
    yesterday = hallmark.clock.today() - timedelta(days=1)
    shown = [api.get(path, lang=lang, **params).text for lang in i18n.LANGUAGES for path, params in (
        ("/", {}), ("/", {"q": file.certificate}), (f"/certificates/{file.certificate}", {}),
        (f"/certificates/{file.certificate}", {"on": yesterday.isoformat()}))]
    for page in shown:
        assert file.certificate in page
        for private in (*PEOPLE, "QualiConsult", "Kaai 1, 2000 Antwerpen", "file reviewed",
                        "Factory production control", file.application_id, file.audit_id):
            assert private not in page, private


def test_pages_load_nothing_from_elsewhere_and_use_no_script_or_inline_style(api):
    number = File(api).granted().certificate
    for path in ("/", f"/certificates/{number}", "/certificates/NONE", "/?q=" + "x" * 201):
        page = api.client.get(path).text
        assert "<script" not in page and " style=" not in page and "<style" not in page, path
        sources = re.findall(r'(?:href|src|action)="([^"]*)"', page)
        assert sources and all(urlsplit(s).netloc == "" and not s.startswith("//") for s in sources), sources
        assert '<link rel="stylesheet" href="/public/assets/hallmark.css">' in page
        for landmark in ("<header", "<nav", "<main", "<footer", 'class="skip-link" href="#main"'):
            assert landmark in page, (path, landmark)
    stylesheet = api.client.get("/public/assets/hallmark.css")
    assert stylesheet.status_code == 200 and ".skip-link" in stylesheet.text


def test_every_input_has_a_label(api):
    number = File(api).granted().certificate
    for path in ("/", f"/certificates/{number}"):
        page = api.client.get(path).text
        inputs = re.findall(r'<(?:input|select)\b[^>]*>', page)
        ids = [re.search(r'\bid="([^"]+)"', tag) for tag in inputs if 'type="hidden"' not in tag]
        assert ids and all(ids), inputs
        for found in ids:
            assert f'<label for="{found.group(1)}">' in page, found.group(1)
