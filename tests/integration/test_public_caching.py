"""Caching of public answers (issue 8): a strong ETag on successful public GETs, 304 for If-None-Match
(lists, weak tags, ``*``), the same ETag on HEAD, a new one when the certificate changes, and Vary."""

from __future__ import annotations

import json

import pytest
from starlette.datastructures import MutableHeaders

from services.settings import Settings
from shared.http import caching
from tests.conftest import make_settings
from tests.support import File

PUBLIC_CACHE = "public, max-age=60"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings("sqlite", tmp_path)  # HTTP behaviour only: one store is enough


@pytest.fixture
def certificate(api) -> tuple[File, str]:
    file = File(api).granted()
    return file, f"/public/v1/certificates/{file.certificate}"


def test_a_public_answer_has_a_strong_etag_and_a_matching_if_none_match_is_304(api, certificate):
    _, path = certificate
    first = api.client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong: no W/
    assert first.headers["cache-control"] == PUBLIC_CACHE
    assert api.client.get(path).headers["etag"] == etag  # the same bytes, the same tag

    again = api.client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == PUBLIC_CACHE  # what the 200 would say
    assert again.headers["vary"] == first.headers["vary"]
    assert "content-type" not in again.headers
    assert again.headers["x-content-type-options"] == "nosniff"
    assert again.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("condition", ['"elsewhere", {etag}', "W/{etag}", '"a", W/{etag} ,"b"', "*"])
def test_if_none_match_takes_lists_weak_tags_and_a_star(api, certificate, condition):
    _, path = certificate
    etag = api.client.get(path).headers["etag"]
    answer = api.client.get(path, headers={"If-None-Match": condition.format(etag=etag)})
    assert answer.status_code == 304 and answer.headers["etag"] == etag


@pytest.mark.parametrize("condition", ['"elsewhere"', "W/\"nothing\", \"x\"", "not-a-tag"])
def test_if_none_match_naming_another_tag_gets_the_answer(api, certificate, condition):
    _, path = certificate
    answer = api.client.get(path, headers={"If-None-Match": condition})
    assert answer.status_code == 200 and answer.json()["number"] in path


def test_the_etag_changes_when_the_certificate_changes(api, certificate):
    file, path = certificate
    before = api.client.get(path)
    assert before.json()["status"] == "active"
    assert file.decide("suspend").status_code == 201
    after = api.client.get(path, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["status"] == "suspended"
    assert after.headers["etag"] != before.headers["etag"]
    listing = api.client.get("/public/v1/certificates")
    assert api.client.get("/public/v1/certificates", headers={"If-None-Match": listing.headers["etag"]}).status_code == 304


def test_head_carries_the_same_etag_and_honours_if_none_match(api, certificate):
    _, path = certificate
    get = api.client.get(path)
    head = api.client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]
    conditional = api.client.head(path, headers={"If-None-Match": get.headers["etag"]})
    assert conditional.status_code == 304 and conditional.headers["etag"] == get.headers["etag"]


def test_only_successful_public_answers_get_validators(api, certificate):
    file, path = certificate
    missing = api.client.get("/public/v1/certificates/XX-00000", headers={"If-None-Match": "*"})
    assert missing.status_code == 404 and "etag" not in missing.headers
    assert missing.headers["cache-control"] == "no-store"
    staff = api.client.get(f"/v1/certificates/{file.certificate}", headers=api.headers(*File.ADMIN))
    assert staff.status_code == 200 and "etag" not in staff.headers
    assert staff.headers["cache-control"] == "no-store"


def test_vary_names_what_the_answer_is_negotiated_on(api, certificate):
    _, path = certificate
    assert api.client.get(path).headers["vary"] == "Accept"
    page = api.client.get("/public/transparency")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["vary"] == "Accept, Accept-Language"
    assert "etag" in page.headers

    # A route's own Vary is kept and completed, never repeated.
    localised = MutableHeaders({"content-type": "text/html; charset=utf-8", "content-language": "nl",
                                "vary": "Accept-Language, Cookie"})
    caching.vary(localised)
    assert localised["vary"] == "Accept-Language, Cookie, Accept"
    signed = MutableHeaders({"content-type": "application/jwt", "vary": "Accept"})
    caching.vary(signed)
    assert signed["vary"] == "Accept"


async def test_an_answer_too_large_to_hold_streams_on_without_an_etag(monkeypatch):
    monkeypatch.setattr(caching, "MAX_BUFFERED_BYTES", 10)
    parts = [b'{"items": [', b'"a", "b", "c", "d"', b"]}"]

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        for n, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": n < len(parts) - 1})

    sent: list[dict] = []

    async def send(message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/public/v1/certificates", "headers": [(b"if-none-match", b"*")]}
    await caching.PublicCaching(app)(scope, None, send)
    start = sent[0]
    assert start["status"] == 200 and b"etag" not in dict(start["headers"])
    assert json.loads(b"".join(m.get("body", b"") for m in sent[1:])) == {"items": ["a", "b", "c", "d"]}
