"""'hallmark seed': certificates recorded by the registry from decisions, applied by the consumers."""

from __future__ import annotations

import io
from collections import Counter

from services.seed import seed


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
