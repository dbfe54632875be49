"""'hallmark seed': certificates recorded by the registry from decisions, applied by the consumers."""

from __future__ import annotations

import io
from collections import Counter

import pytest

from services.seed import seed
from shared.errors import NotFound


def test_seeded_certificates_come_from_the_registrys_events_and_are_searchable(hallmark):
    counts = seed(hallmark, 60, batch=25, out=io.StringIO())
    assert counts["decisions"] >= 60 and counts["messages"] > 0
    docs = hallmark.certificates.snapshot()
    assert len(docs) == 60
    for doc in docs:  # the view agrees with the registry's own aggregates, rebuilt from its events
        certificate = hallmark.registry.certificate(doc["number"])
        assert (doc["status"], doc["revision"], doc["holder"]) == \
            (certificate.status, certificate.revision, certificate.holder)
    statuses = Counter(doc["status"] for doc in docs)
    assert statuses["active"] and set(statuses) <= {"active", "suspended", "withdrawn"}
    assert len({doc["quick_code"] for doc in docs}) == 60
    some = docs[7]
    assert [d["number"] for d in hallmark.certificates.search(q=some["number"])] == [some["number"]]
    assert some["number"] in [d["number"] for d in hallmark.certificates.search(
        q=f"{some['holder']['name']} {some['products'][0]['type']}")]
    assert not any(c.lag() for c in hallmark.consumers) and not any(c.health.parked for c in hallmark.consumers)
    again = seed(hallmark, 10, batch=4, seed_value=3, out=io.StringIO())  # seeding more continues the numbering
    assert again["decisions"] >= 10 and len(hallmark.certificates.snapshot()) == 70


def test_the_directory_fill_gives_the_view_what_the_event_path_gives_it(hallmark, tmp_path):
    """fill_directory (the search benchmark's loader) applies the registry's decisions with the view's own
    handler: the same documents as seed() for the same made-up files, and nothing stored elsewhere."""
    from services.bootstrap import bootstrap
    from services.seed import fill_directory
    from services.settings import Settings

    assert fill_directory(hallmark, 40, batch=15, out=io.StringIO()) == 40
    filled = {d["number"]: d for d in hallmark.certificates.snapshot()}
    with pytest.raises(NotFound):  # the registry's store never held them: a throw-away folder only
        hallmark.registry.certificate(next(iter(filled)))
    other = bootstrap(Settings(data_dir=tmp_path / "seeded", store="sqlite"))
    try:
        seed(other, 40, batch=15, out=io.StringIO())
        seeded = {d["number"]: d for d in other.certificates.snapshot()}
    finally:
        other.close()
    assert filled.keys() == seeded.keys()
    drop = ("application_id", "history", "revisions", "decision_id")
    for number, doc in filled.items():  # the same certificates; ids and times differ between two runs
        same = {k: v for k, v in doc.items() if k not in drop}
        assert same == {k: v for k, v in seeded[number].items() if k not in drop}, number
