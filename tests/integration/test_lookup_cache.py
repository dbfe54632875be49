"""The public lookup's cache never serves a certificate older than the view (make bench measures why
it exists): a change drops the entry once committed, and a read that overlapped a change is not kept."""

from __future__ import annotations

from tests.support import File


def test_the_lookup_shows_a_change_at_once_after_a_cached_read(api, hallmark):
    file = File(api).granted()
    number = file.certificate
    assert api.get(f"/public/v1/certificates/{number}").json()["status"] == "active"
    assert hallmark.certificates.cache_hit(number) is not None  # cached
    file.ok(file.decide("suspend"), 201)
    assert hallmark.certificates.cache_hit(number) is None  # dropped by the change
    assert api.get(f"/public/v1/certificates/{number}").json()["status"] == "suspended"


def test_a_read_that_overlapped_a_change_is_not_kept(api, hallmark):
    file = File(api).granted()
    view = hallmark.certificates
    stale = view.get(file.certificate)
    real_get = view.get

    def read_then_change(key):
        doc = real_get(key)
        view._forget([file.certificate])  # a change committed while this read was under way
        return doc

    view.get = read_then_change
    try:
        assert view.cached(file.certificate) == stale
    finally:
        view.get = real_get
    assert view.cache_hit(file.certificate) is None


def test_a_web_process_keeps_entries_for_a_second_at_most(api, hallmark, monkeypatch):
    import time

    file = File(api).granted()
    view = hallmark.certificates
    view.cache_seconds = 1.0
    view.cached(file.certificate)
    assert view.cache_hit(file.certificate) is not None
    later = time.monotonic() + 1.5
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert view.cache_hit(file.certificate) is None
