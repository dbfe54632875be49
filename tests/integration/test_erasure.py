"""Erasing a person (ADR 0011): their key destroyed, their name found nowhere, and the log, its
proofs, its checkpoints and an evidence pack still verify."""

from __future__ import annotations

import io
import zipfile

import pytest

from services.projections.evidence import verify_offline
from shared.evidence.checkpoint import open_checkpoint
from shared.evidence.merkle import verify_consistency
from tests.support import File

NAME = "Dirk Decider"
SPELLINGS = (b"Dirk Decider", b"dirk decider", b"DIRK DECIDER", b"Dirk", "Dirk Decider".encode("utf-16-le"))


def _unzipped(pack: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


def _everything_stored(hallmark) -> list[tuple[str, bytes]]:
    """Every byte Hallmark keeps: on SQLite the files of the data folder; on PostgreSQL every row of
    every table of the instance's schemas, as text."""
    settings = hallmark.settings
    found = [(str(path), path.read_bytes()) for path in settings.data_dir.rglob("*") if path.is_file()]
    if settings.store == "postgres":
        import psycopg

        with psycopg.connect(settings.pg_conninfo, autocommit=True) as conn:
            tables = conn.execute("SELECT table_schema, table_name FROM information_schema.tables "
                                  "WHERE table_schema LIKE %s", (settings.pg_schema_prefix + "%",)).fetchall()
            for schema, table in tables:
                rows = conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                found.append((f"{schema}.{table}", repr(rows).encode()))
                found.append((f"{schema}.{table} (bytea)", b"".join(
                    bytes(v) for row in rows for v in row if isinstance(v, (bytes, memoryview)))))
    return found


def test_names_are_never_stored_in_the_clear(api, hallmark):
    File(api).granted()
    hallmark.settle()
    for where, data in _everything_stored(hallmark):
        if where.endswith(("people.db", "people.db-wal")) or ".people" in where or "_people." in where:
            continue  # the vault: the one place that links a name to its pseudonym and key
        assert b"Luc Lead" not in data and b"Ann Auditor" not in data, where


def test_an_erased_person_is_found_nowhere_and_everything_still_verifies(api, hallmark):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    hallmark.settle()
    log = hallmark.trail.log
    before = log.latest()
    trail = api.get("/v1/audit-trail", "Asha", "assessor", certificate_number=file.certificate).json()["entries"]
    assert NAME in {e["actor"] for e in trail}
    assert NAME.encode() in _unzipped(api.get("/v1/trail/evidence-pack", "Asha", "assessor",
                                              certificate_number=file.certificate).content)

    refused = api.post("/v1/people/erasures", {"name": NAME, "reason": "x"}, "Olivia Officer", "applications_officer")
    assert refused.status_code == 403
    erased = api.post("/v1/people/erasures", {"name": "dirk  DECIDER", "reason": "retention period over (GDPR 17)"},
                      "Ada Admin", "admin")
    assert erased.status_code == 201, erased.text
    pseudonym = erased.json()["person"]
    again = api.post("/v1/people/erasures", {"name": NAME, "reason": "twice"}, "Ada Admin", "admin")
    assert again.status_code == 404

    # The log did not change: the same checkpoint, every older one consistent, the stores agree.
    assert log.latest() == before
    report = hallmark.verify_trail()
    assert report["ok"], report["first_problem"]
    signed = log.checkpoints()
    for older in signed[1:-1]:
        a = open_checkpoint(older.note, log.key.vkey, log.origin)
        b = open_checkpoint(before.note, log.key.vkey, log.origin)
        assert verify_consistency(a.size, b.size, log.consistency_proof(a.size, b.size), a.root, b.root)

    # The rest of the file still reads; the decider reads as erased; R1 is still checked.
    trail = api.get("/v1/audit-trail", "Asha", "assessor", certificate_number=file.certificate).json()["entries"]
    actors = {e["actor"] for e in trail}
    assert f"[erased person {pseudonym}]" in actors and "Luc Lead" in actors and NAME not in actors
    evidence = api.get("/v1/trail/impartiality", "Asha", "assessor", certificate_number=file.certificate).json()
    assert evidence["rules"]["R1"]["held"]

    pack = api.get("/v1/trail/evidence-pack", "Asha", "assessor", certificate_number=file.certificate).content
    verdict = verify_offline(pack, trusted_vkey=log.key.vkey)
    assert verdict.ok, verdict.problems
    assert b"Luc Lead" in _unzipped(pack)

    # Found nowhere: stores, views, log, journal, vault, exports.
    hallmark.settle()
    for where, data in [*_everything_stored(hallmark), ("evidence pack", _unzipped(pack))]:
        for spelling in SPELLINGS:
            assert spelling not in data, f"{spelling!r} still in {where}"
    assert api.get("/v1/people/erasures", "Asha", "assessor").json()["erasures"][0]["person"] == pseudonym


def test_an_erasure_needs_a_reason_and_refuses_bad_input(api, hallmark):
    File(api).granted()
    for body in ({"name": NAME}, {"name": "", "reason": "r"}, {"name": NAME, "reason": "r", "extra": 1},
                 {"name": "Dirk\x00", "reason": "r"}):
        answer = api.post("/v1/people/erasures", body, "Ada Admin", "admin")
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json", body
    assert hallmark.vault.erasures() == []


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_after_erasure_a_restart_and_a_rebuild_give_the_same_log(api, hallmark, settings):
    from services.bootstrap import bootstrap
    from services.rebuild import rebuild

    File(api).granted()
    hallmark.settle()
    api.post("/v1/people/erasures", {"name": "Luc Lead", "reason": "retention over"}, "Ada Admin", "admin")
    rows = hallmark.trail.log.entries()
    hallmark.close()
    again = bootstrap(settings)
    try:
        rebuild(again, "trail", out=io.StringIO())
        again.settle()
        assert again.trail.log.entries() == rows
        assert again.verify_trail()["ok"]
    finally:
        again.close()
