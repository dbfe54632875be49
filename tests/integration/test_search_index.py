"""The certificate view's full-text index (FTS5 on SQLite; postings, and tsvector + GIN, on PostgreSQL): what
a search finds, word by word as prefixes, and that the index follows every change and a rebuild."""

from __future__ import annotations

import asyncio
import io
from collections import Counter

from services.projections.certificates import public_json, words
from services.rebuild import rebuild
from tests.support import File


def _numbers(api, **params) -> list[str]:
    return [c["number"] for c in api.get("/public/v1/certificates", **params).json()["items"]]


def _granted(api, holder: str, registration: str, products: list[dict[str, str]]) -> File:
    file = File(api)
    file.create_scheme()
    file.submit(applicant={"name": holder, "registration_number": registration, "address": "Kaai 1"},
                products=products)
    file.accept()
    file.plan()
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    file.certificate = api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id).json()["items"][0]["number"]
    return file


def test_words_fold_case_and_accents_and_drop_punctuation():
    assert words("Bétons DUBOIS-Lefèvre SA, BE0123.456") == ["betons", "dubois", "lefevre", "sa", "be0123", "456"]
    assert words("50% _ * \" -") == ["50"]
    assert words("%") == []


def test_search_by_number_quick_code_holder_and_product_as_word_prefixes(api):
    beton = _granted(api, "Bétonnerie Lefèvre SA", "BE0987654321", [{"name": "Pavé drainant 8", "type": "paving block"}])
    kerbs = _granted(api, "Betonwerk Noord NV", "BE0123456789", [{"name": "Kerb KB 100", "type": "kerb"}])
    quick = api.get(f"/public/v1/certificates/{kerbs.certificate}").json()["quick_code"]
    for query in (kerbs.certificate, kerbs.certificate.lower(), quick, "betonwerk", "noord betonwerk", "BETONW NO",
                  "BE0123456789", "KB 100", "kerb", "Kerb KB"):
        assert _numbers(api, q=query) == [kerbs.certificate], query
    for query in ("betonn", "bétonnerie", "LEFEVRE", "pave", "paving", "pavé drainant 8"):
        assert _numbers(api, q=query) == [beton.certificate], query
    # Word prefixes, not substrings: 'werk' is inside 'Betonwerk' but begins no word.
    assert _numbers(api, q="werk") == []
    assert _numbers(api, q="beton") == sorted([beton.certificate, kerbs.certificate])
    assert _numbers(api, q="be0") == sorted([beton.certificate, kerbs.certificate])
    # The staff listing's holder filter looks at the holder's name and registration number only.
    assert [c["number"] for c in api.get("/v1/certificates", *File.ADMIN, holder="lefevre").json()["items"]] == \
        [beton.certificate]
    assert api.get("/v1/certificates", *File.ADMIN, holder="kerb").json()["items"] == []


def test_wildcards_and_index_syntax_are_words_or_nothing(api):
    _granted(api, "Prefab 50% Zuid BV", "NL12345678", [{"name": "Tegel TG 30", "type": "tile"}])
    for query in ("%", "_", "*", '"', "-", "' OR 1=1 --", "NEAR(a b)", "a OR"):
        items = api.get("/public/v1/certificates", q=query)
        assert items.status_code == 200, query
    for query in ("%", "_", "*", '"', "-", "a OR", "NEAR(tegel zuid)"):
        assert _numbers(api, q=query) == [], query
    assert len(_numbers(api, q="50%")) == 1  # '50' begins a word of the holder's name
    assert len(_numbers(api, q='"tegel"')) == 1  # quotes are not phrase syntax: the word 'tegel'


def _granted_under(api, mark: str, holder: str, registration: str) -> str:
    file = File(api)
    file.create_scheme(mark=mark)
    file.submit(applicant={"name": holder, "registration_number": registration, "address": "Kaai 1"},
                products=[{"name": "Aggregate 4/14", "type": "aggregate"}])
    file.accept()
    file.plan()
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    return api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id).json()["items"][0]["number"]


def test_a_text_search_pages_in_issue_order_and_a_listing_in_number_order(api):
    # Issued COPRO, BENOR, COPRO, BENOR: number order (BENOR before COPRO) is not the issue order.
    issued = [_granted_under(api, mark, f"Steengroeve Maes {i} NV", f"BE0{i}00000000")
              for i, mark in enumerate(("COPRO", "BENOR", "COPRO", "BENOR"))]
    assert sorted(issued) != issued
    pages, cursor = [], None
    while True:
        answer = api.get("/public/v1/certificates", q="steengroeve", limit=3, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        pages.append([c["number"] for c in answer.json()["items"]])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [issued[:3], issued[3:]]  # every match once, in the order issued
    listing = api.get("/public/v1/certificates", limit=100).json()
    assert [n for n in (c["number"] for c in listing["items"]) if n in issued] == sorted(issued)
    # A cursor belongs to its kind of listing: a search's cursor does not page a listing, nor the reverse.
    search_cursor = api.get("/public/v1/certificates", q="steengroeve", limit=1).json()["next_cursor"]
    listing_cursor = api.get("/public/v1/certificates", limit=1).json()["next_cursor"]
    for params in ({"cursor": search_cursor}, {"q": "steengroeve", "cursor": listing_cursor}):
        refused = api.get("/public/v1/certificates", **params)
        assert refused.status_code == 422 and refused.json()["type"].endswith("invalid-command"), params


def test_the_index_follows_suspension_revision_withdrawal_and_a_rebuild(api, hallmark):
    file = _granted(api, "Tegelfabriek Oost BV", "NL87654321",
                    [{"name": "Kerb KB 100", "type": "kerb"}, {"name": "Gutter GT 30", "type": "gutter"}])
    file.ok(file.decide("suspend"), 201)
    assert _numbers(api, q="tegelfabriek", status="suspended") == [file.certificate]
    file.ok(file.decide("reduce_scope", scope="Kerbs only", products=[{"name": "Kerb KB 100", "type": "kerb"}]), 201)
    assert _numbers(api, q="gutter") == [] and _numbers(api, q="kerb oost") == [file.certificate]
    _index_agrees_with_its_table(hallmark)  # the words the revision dropped left the index
    # The page's public view, kept with the certificate, is the lookup's, byte for byte, after every change.
    lookup = api.get(f"/public/v1/certificates/{file.certificate}")
    page = api.get("/public/v1/certificates", q="kerb oost")
    assert page.status_code == 200 and lookup.content in page.content
    assert page.json()["items"] == [lookup.json()] and lookup.json()["scope"] == "Kerbs only"
    assert {"suspended", "superseded"} <= {h["status"] for h in lookup.json()["history"]}
    assert "conditions" not in page.text and "decision_id" not in page.text  # R9
    file.ok(file.decide("withdraw"), 201)
    assert _numbers(api, q="tegelfabriek", status="withdrawn") == [file.certificate]  # the register shows it
    rebuild(hallmark, "certificates", out=io.StringIO())
    assert _numbers(api, q="tegelfabriek kerb") == [file.certificate]
    assert _numbers(api, q="gutter") == []
    _index_agrees_with_its_table(hallmark)


def _index_agrees_with_its_table(hallmark) -> None:
    """FTS5's own integrity check; on PostgreSQL the postings are exactly every certificate's words."""
    with hallmark.views.transaction() as c:
        if hallmark.views.dialect == "sqlite":  # the external-content index agrees with its table
            c.execute("INSERT INTO certificates_fts (certificates_fts, rank) VALUES ('integrity-check', 1)")
            return
        c.execute("SELECT seq, search FROM certificates")
        wanted = {(word, seq) for seq, search in c.fetchall() for word in search.split()}
        c.execute("SELECT word, seq FROM certificate_postings")
        assert set(c.fetchall()) == wanted and wanted
        c.execute("SELECT word, postings FROM certificate_words WHERE postings <> 0")
        assert dict(c.fetchall()) == dict(Counter(word for word, _ in wanted))


def test_a_whole_number_or_quick_code_answers_that_certificate_by_key(api, hallmark):
    from tests.support import File

    file = File(api).granted()
    doc = hallmark.certificates.get(file.certificate)
    for q in (file.certificate, file.certificate.lower(), f" {doc['quick_code']} "):
        found = api.get("/public/v1/certificates", q=q).json()["items"]
        assert [c["number"] for c in found] == [file.certificate], q
    paged = api.get("/public/v1/certificates", q=file.certificate, limit=1).json()
    assert paged["next_cursor"] is None


def _issued(number: str, quick_code: str, today):
    from datetime import UTC, datetime, timedelta

    from shared.messages import Message

    data = {"number": number, "quick_code": quick_code, "application_id": f"app-{number}", "decision_id": "d",
            "holder": {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789", "address": "Kaai 1"},
            "production_unit": {"name": "Plant", "address": "Kaai 1"}, "scope": "Kerbs",
            "products": [{"name": "Kerb KB 100", "type": "kerb"}], "scheme": "PTV-X", "mark": number.split("-")[0],
            "documents": [], "valid_from": today.isoformat(), "valid_until": (today + timedelta(days=900)).isoformat(),
            "surveillance_due": (today + timedelta(days=300)).isoformat()}
    return Message(stream="registry", position=0, source="registry", type="Certificate.Issued", subject=number,
                   version=1, time=datetime.now(UTC), data=data)


def test_numbers_past_99999_of_a_mark_list_after_99999(hallmark):
    from services.projections.certificates import number_order
    from tests.support import today

    assert number_order("BENOR-99999") < number_order("BENOR-100000") < number_order("BENOR-100001")
    assert number_order("not a number") == "not a number"
    view = hallmark.certificates
    for i, number in enumerate(("BENOR-100000", "BENOR-99999", "BENOR-100001", "BENOR-00007")):
        with view.db.transaction() as c:
            view.handle(c, _issued(number, f"9000000{i}", today()))
    listed = [doc["number"] for doc in view.search(limit=10)]
    assert listed == ["BENOR-00007", "BENOR-99999", "BENOR-100000", "BENOR-100001"]
    first, after = view.page(limit=2)
    rest, end = view.page(limit=2, after=after)
    assert [d["number"] for d in first + rest] == listed and end is None


def _all_pages(view, **filters) -> list[str]:
    found, after = [], None
    while True:
        items, after = view.page(limit=4, after=after, **filters)
        found += [d["number"] for d in items]
        if after is None:
            return found


async def _all_pages_on_the_loop(view, **filters) -> list[str]:
    """The pages of the public search (each certificate's public view as kept with it), checked against the
    documents' pages: the same certificates, each the JSON text its document gives."""
    found, after = [], None
    while True:
        texts, public_after = await view.apublic_page(limit=4, after=after, **filters)
        items, after = await view.apage(limit=4, after=after, **filters)
        assert texts == [public_json(d) for d in items] and public_after == after
        found += [d["number"] for d in items]
        if after is None:
            return found


def test_a_search_gives_the_same_pages_however_far_it_walks_before_the_index(hallmark):
    """PostgreSQL joins the postings of the query's words; with a prefix of many postings, or a search by
    holder, it looks at the next WALK rows one by one, then asks the GIN index for the rest: neither the
    path nor where the page fills changes what it holds (on SQLite FTS5 walks its lists whatever WALK is)."""
    from services.seed import fill_directory

    fill_directory(hallmark, 60, batch=20, out=io.StringIO())
    view = hallmark.certificates
    docs = view.snapshot()
    holder = docs[17]["holder"]["name"]
    queries = [{"q": "kerb"}, {"q": holder}, {"q": holder.split()[0]}, {"q": docs[5]["products"][0]["name"]},
               {"q": "zzzyqx"}, {"q": "b"}, {"holder": holder.split()[0]}, {"q": "pave", "status": "active"},
               {"q": f"{holder.split()[0]} kerb"}, {"q": "pave b"}, {"q": f"{holder.split()[0]} kerb", "holder": "b"}]
    expected = {}
    for query in queries:
        view.WALK = 10_000  # every row walked: the plain answer
        expected[str(query)] = _all_pages(view, **query)
    assert expected[str({"q": "kerb"})] and not expected[str({"q": "zzzyqx"})]

    def held(doc) -> list[str]:  # the words a certificate is found by, as the index holds them
        return words(" ".join([doc["holder"]["name"], doc["holder"]["registration_number"], doc["number"],
                               doc["quick_code"], *(f"{p['name']} {p['type']}" for p in doc["products"])]))

    for query in queries:  # the same certificates as every word of the query, each the start of a held word
        if set(query) <= {"q", "status"}:
            wanted = {d["number"] for d in docs if all(any(x.startswith(w) for x in held(d)) for w in words(query["q"]))
                      and query.get("status", d["status"]) == d["status"]}
            assert sorted(expected[str(query)]) == sorted(wanted), query
    for walk in (1, 3, 7):
        view.WALK = walk
        for query in queries:
            assert _all_pages(view, **query) == expected[str(query)], (walk, query)
    # PostgreSQL: every word but the rarest checked by a probe, every word read along, a prefix sent to the
    # walk and the GIN index, and every word that begins two indexed words asked as a prefix (itself in
    # order, its longer words sorted); on SQLite FTS5 merges a prefix's lists
    for setting, value in (("MERGE_RATIO", 1), ("MERGE_RATIO", 10**9), ("PREFIX_POSTINGS", 0), ("EXPANSION", 1)):
        setattr(view, setting, value)
        for query in queries:
            assert _all_pages(view, **query) == expected[str(query)], (setting, value, query)
        delattr(view, setting)

    async def on_the_loop() -> dict[str, list[str]]:  # the public directory's path (asynchronous on PostgreSQL)
        try:
            return {str(query): await _all_pages_on_the_loop(view, **query) for query in queries}
        finally:
            await view.db.aclose()

    view.WALK = 3
    assert asyncio.run(on_the_loop()) == expected


def test_the_directory_serves_searches_at_once_on_the_event_loop(api):
    """Eight searches at once through the public endpoint (on PostgreSQL, eight connections of the
    asynchronous pool at work together) each get the page that one search alone gets."""
    from concurrent.futures import ThreadPoolExecutor

    _granted(api, "Betonwerk Noord", "BE0111222333", [{"name": "Kantsteen KB", "type": "kerb"}])
    _granted(api, "Betonwerk Zuid", "BE0444555666", [{"name": "Klinker K", "type": "paver"}])
    queries = ["betonw", "noord", "zuid", "kerb", "paver", "betonwerk kantsteen", "zzzyqx", "BE0444555666"]
    alone = {q: _numbers(api, q=q) for q in queries}
    assert len(alone["betonw"]) == 2 and not alone["zzzyqx"] and alone["zuid"] == alone["BE0444555666"]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: _numbers(api, q=q), queries * 4))
    assert together == [alone[q] for q in queries * 4]
