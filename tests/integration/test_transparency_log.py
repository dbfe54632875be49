"""The audit trail as a transparency log (ADR 0011): appended once, never reordered, signed, and any
change to the event stores, the log or the trail view found and named, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import subprocess

import pytest

from services.bootstrap import bootstrap
from services.projections.trail import _all_messages as published
from services.rebuild import rebuild
from services.settings import ConfigurationError
from shared.bus import LocalFeed
from shared.evidence.checkpoint import open_checkpoint
from shared.evidence.entry import decode_entry
from shared.evidence.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.support import File


def _b(text: str) -> bytes:
    return base64.b64decode(text)


def _log_rows(hallmark) -> list[tuple[int, str]]:
    return [(index, event_id) for index, event_id, _, _ in hallmark.trail.log.entries()]


class Store:
    """Direct SQL on one service's event store, as someone with database access would tamper it."""

    def __init__(self, settings, service: str) -> None:
        self.settings, self.service = settings, service
        if settings.store == "sqlite":
            self.conn = sqlite3.connect(settings.data_dir / f"{service}.db")
            self.table, self.key = "stored_events", "rowid"
        else:
            import psycopg

            self.conn = psycopg.connect(settings.pg_conninfo, autocommit=True)
            self.table, self.key = f'"{settings.pg_schema_prefix}{service}".{service}_events', "notification_id"

    def sql(self, statement: str, params=()):
        if self.settings.store == "postgres":
            statement = statement.replace("?", "%s")
        cursor = self.conn.execute(statement, params)
        if self.settings.store == "sqlite":
            self.conn.commit()
        return cursor

    def rows(self, topic: str) -> list[tuple]:
        return self.sql(f"SELECT {self.key}, originator_id, originator_version, state FROM {self.table} "
                        f"WHERE topic LIKE ? ORDER BY {self.key}", (f"%{topic}",)).fetchall()

    def close(self) -> None:
        self.conn.close()


def _event_id(service: str, originator_id, version: int) -> str:
    subject = originator_id if isinstance(originator_id, str) else str(originator_id)
    if len(subject) == 32 and "-" not in subject:  # SQLite keeps UUIDs as hex
        import uuid

        subject = str(uuid.UUID(subject))
    return f"{service}/{subject}/{version}"


# -- appending, rebuilding, signing ---------------------------------------------------------------

def test_every_event_is_one_entry_and_a_rebuild_keeps_every_index(api, hallmark):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    File(api).granted()
    rows = _log_rows(hallmark)
    assert [i for i, _ in rows] == list(range(len(rows)))
    stored = sum(1 for app in hallmark.services for _ in published(LocalFeed(app)))
    assert len(rows) == stored and len({e for _, e in rows}) == stored
    checkpoint = hallmark.trail.log.latest()
    trail = hallmark.trail.all_entries()

    out = io.StringIO()
    rebuild(hallmark, "trail", out=out)
    assert _log_rows(hallmark) == rows  # the log is kept; the view finds each event's index again
    assert hallmark.trail.all_entries() == trail
    assert hallmark.trail.log.latest() == checkpoint  # nothing new to sign
    assert hallmark.verify_trail()["ok"]


def test_checkpoints_are_signed_consistent_and_kept(api, hallmark):
    log = hallmark.trail.log
    first = log.latest()
    File(api).granted()
    second = log.latest()
    File(api).granted()
    third = log.latest()
    assert first.size < second.size < third.size
    vkey = log.key.vkey
    signed = log.checkpoints()
    assert [c.size for c in signed] == sorted({c.size for c in signed}) and signed[-1] == third
    for older, newer in zip(signed[1:], signed[2:], strict=False):  # every pair of checkpoints is consistent
        a, b = open_checkpoint(older.note, vkey, log.origin), open_checkpoint(newer.note, vkey, log.origin)
        assert verify_consistency(a.size, b.size, log.consistency_proof(a.size, b.size), a.root, b.root)
    kept = hallmark.trail.log.journal.notes()  # and kept outside the database, in order
    assert kept[-len(signed):] == [c.note for c in signed]


def test_the_log_never_signs_a_tree_that_does_not_extend_its_last_checkpoint(api, hallmark):
    from services.projections.log import LogInconsistent

    File(api).granted()
    log = hallmark.trail.log
    before = log.latest()
    with hallmark.views.transaction() as c:  # an entry rewritten with a matching leaf hash
        c.execute("UPDATE log_entries SET entry = ?, leaf_hash = ? WHERE idx = 2",
                  ('{"v":1}', leaf_hash(b'{"v":1}').hex()))
    from services.projections.log import TransparencyLog

    fresh = TransparencyLog(hallmark.views, log.key, hallmark.settings.instance)  # reads the tree anew
    File(api).create_scheme()  # the live log appends
    with pytest.raises(LogInconsistent):
        fresh.checkpoint()
    assert log.latest().size > before.size  # the live process signs what it appended, as it appended it
    assert all(c.root == log.tree().root(c.size) for c in log.checkpoints())  # none signed from the edit


# -- tampering: always found, the entry named ---------------------------------------------------------

def test_an_event_edited_in_a_store_is_named(api, hallmark, settings):
    File(api).granted()
    store = Store(settings, "decisions")
    try:
        key, originator, version, state = store.rows("Decision.Recorded")[0]
        state = bytes(state)
        assert b"grant" in state
        store.sql(f"UPDATE {store.table} SET state = ? WHERE {store.key} = ?", (state.replace(b"grant", b"refuse", 1), key))
    finally:
        store.close()
    report = hallmark.verify_trail()
    event_id = _event_id("decisions", originator, version)
    assert not report["ok"] and report["first_problem"]["event_id"] == event_id
    assert report["first_problem"]["index"] == hallmark.trail.log.index_of(event_id)
    assert "edited" in report["first_problem"]["problem"]


def test_an_event_deleted_from_a_store_is_named(api, hallmark, settings):
    File(api).granted()
    store = Store(settings, "audits")
    try:
        key, originator, version, _ = store.rows("Audit.Reported")[0]
        store.sql(f"DELETE FROM {store.table} WHERE {store.key} = ?", (key,))
    finally:
        store.close()
    report = hallmark.verify_trail()
    event_id = _event_id("audits", originator, version)
    assert not report["ok"] and report["first_problem"]["event_id"] == event_id
    assert report["first_problem"]["index"] == hallmark.trail.log.index_of(event_id)


def test_an_event_inserted_into_a_store_is_named(api, hallmark, settings):
    File(api).granted()
    store = Store(settings, "decisions")
    try:
        _, originator, version, state = store.rows("Decision.Recorded")[0]
        topic = store.sql(f"SELECT topic FROM {store.table} WHERE topic LIKE ?", ("%Recorded",)).fetchone()[0]
        store.sql(f"INSERT INTO {store.table} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                  (originator, version + 1, topic, state))
    finally:
        store.close()
    report = hallmark.verify_trail()
    assert not report["ok"]
    assert any(p["event_id"] == _event_id("decisions", originator, version + 1) and "not in the log" in p["problem"]
               for p in report["problems"])


def test_events_reordered_in_a_store_are_named(api, hallmark, settings):
    File(api).granted()
    store = Store(settings, "audits")
    try:
        (k1, o1, v1, s1), (k2, o2, v2, s2) = store.rows("Audit.TeamMemberAssigned")[:1] + store.rows("Audit.Reported")[:1]
        store.sql(f"UPDATE {store.table} SET state = ? WHERE {store.key} = ?", (s2, k1))
        store.sql(f"UPDATE {store.table} SET state = ? WHERE {store.key} = ?", (s1, k2))
    finally:
        store.close()
    report = hallmark.verify_trail()
    named = {p["event_id"] for p in report["problems"]}
    assert not report["ok"] and {_event_id("audits", o1, v1), _event_id("audits", o2, v2)} <= named


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "insert"])
def test_the_log_tampered_in_the_projections_database_is_named(api, hallmark, tamper):
    File(api).granted()
    File(api).create_scheme()
    rows = _log_rows(hallmark)
    last = len(rows) - 1
    with hallmark.views.transaction() as c:
        if tamper == "edit":  # even with a matching leaf hash
            c.execute("SELECT entry FROM log_entries WHERE idx = 5")
            entry = c.fetchone()[0].replace('"type":"', '"type":"X', 1)
            c.execute("UPDATE log_entries SET entry = ?, leaf_hash = ? WHERE idx = 5",
                      (entry, leaf_hash(entry.encode()).hex()))
        elif tamper == "delete":
            c.execute("DELETE FROM log_entries WHERE idx = 5")
        elif tamper == "reorder":
            c.execute("UPDATE log_entries SET idx = -1 WHERE idx = 5")
            c.execute("UPDATE log_entries SET idx = 5 WHERE idx = 6")
            c.execute("UPDATE log_entries SET idx = 6 WHERE idx = -1")
        else:
            entry = '{"v":1,"forged":true}'
            c.execute("INSERT INTO log_entries (epoch, idx, event_id, entry, leaf_hash) VALUES (1, ?, ?, ?, ?)",
                      (last + 1, "decisions/forged/1", entry, leaf_hash(entry.encode()).hex()))
    report = hallmark.verify_trail()
    assert not report["ok"]
    first = report["first_problem"]
    assert first["index"] == (last + 1 if tamper == "insert" else 5), report["problems"]
    if tamper != "delete":
        assert first["event_id"] is not None


@pytest.mark.parametrize("column,value", [
    ("actor", "Someone Else"),
    ("reason", "nothing to see"),
    ("data", '{"actor": "Someone Else"}'),
    ("at", "2020-01-01T00:00:00+00:00"),
])
def test_the_audit_trail_view_edited_is_named(api, hallmark, column, value):
    File(api).granted()
    with hallmark.views.transaction() as c:
        c.execute(f"UPDATE trail_entries SET {column} = ? WHERE type = ?", (value, "Decision.Recorded"))
        c.execute("SELECT idx, event_id FROM trail_entries WHERE type = ?", ("Decision.Recorded",))
        index, event_id = c.fetchone()
    report = hallmark.verify_trail()
    assert not report["ok"] and report["services"]["applications"]["ok"]
    assert report["first_problem"] == {"index": index, "event_id": event_id,
                                       "problem": "the audit trail's row differs from the log entry"}


def test_a_forged_checkpoint_row_is_found(api, hallmark):
    File(api).granted()
    with hallmark.views.transaction() as c:
        c.execute("UPDATE log_checkpoints SET root = ? WHERE size = (SELECT MAX(size) FROM log_checkpoints)",
                  ("00" * 32,))
    report = hallmark.verify_trail()
    assert not report["ok"] and "differs from the note signed" in report["first_problem"]["problem"]


# -- a lost projections database: found, and recovered by a new log ------------------------------------

@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_lost_projections_database_is_found_and_recovered_by_a_new_cross_signed_log(api, hallmark, settings,
                                                                                   monkeypatch):
    File(api).granted()
    hallmark.settle()
    last = hallmark.trail.log.latest()
    hallmark.close()
    (settings.data_dir / "projections.db").unlink()
    for extra in ("projections.db-wal", "projections.db-shm"):
        (settings.data_dir / extra).unlink(missing_ok=True)
    with pytest.raises(ConfigurationError, match="hallmark trail recover"):
        bootstrap(settings)

    from services.cli import main

    monkeypatch.setenv("HALLMARK_DATA", str(settings.data_dir))
    assert main(["trail", "recover", "--reason", "projections volume lost in incident 42", "--as", "Ada"]) == 0
    origin = "hallmark/local/log-2"

    again = bootstrap(settings)
    try:
        again.settle()
        new = again.trail.log
        started = decode_entry(new.entry(0))
        assert started["type"] == "Log.Started" and started["data"]["previous_checkpoint"] == last.note
        assert started["actor"] == "Ada" and "incident 42" in started["reason"]
        assert new.size() == last.size + 1  # every event again, after the cross-signing entry
        assert open_checkpoint(new.latest().note, new.key.vkey, origin).size == new.size()
        assert again.verify_trail()["ok"]
    finally:
        again.close()


# -- the endpoints, checked by an independent verifier ----------------------------------------------------

def test_the_endpoints_give_what_an_independent_verifier_accepts(api, hallmark, go_verifier):
    File(api).granted()
    old_note = api.get("/v1/trail/checkpoint").text
    File(api).granted()
    note = api.get("/v1/trail/checkpoint").text
    key = api.get("/v1/trail/public-key").json()
    assert base64.b64decode(key["public_key"]) == hallmark.trail.log.key.public_key and key["name"] == "hallmark/local"
    checkpoint = open_checkpoint(note, key["vkey"], "hallmark/local")
    old = open_checkpoint(old_note, key["vkey"], "hallmark/local")
    entries, checks = [], [{"kind": "checkpoint", "note": note}]
    for index in range(checkpoint.size):
        got = api.get(f"/v1/trail/entries/{index}", "Asha", "assessor").json()
        raw = json.loads(_b(got["entry"]))
        assert got["index"] == index and {**got["decoded"], "actor": 0, "data": 0} == {**raw, "actor": 0, "data": 0}
        assert isinstance(got["decoded"]["actor"], str) and raw["actor"]["person"].startswith("p-")
        entries.append(_b(got["entry"]))
        proof = api.get("/v1/trail/proof/inclusion", "Asha", "assessor", index=index, size=checkpoint.size).json()
        assert verify_inclusion(leaf_hash(entries[-1]), index, checkpoint.size, [_b(h) for h in proof["proof"]],
                                checkpoint.root)
        checks.append({"kind": "inclusion", "note": note, "index": index, "entry": got["entry"],
                       "proof": proof["proof"]})
    consistency = api.get("/v1/trail/proof/consistency", "Asha", "assessor",
                          **{"from": old.size, "to": checkpoint.size}).json()
    checks.append({"kind": "consistency", "old": old_note, "note": note, "proof": consistency["proof"]})
    # Tampered: an edited entry, a proof of the wrong length, a forged checkpoint.
    checks.append({**checks[3], "entry": base64.b64encode(entries[2] + b" ").decode()})
    checks.append({**checks[3], "proof": checks[3]["proof"][:-1]})
    checks.append({"kind": "checkpoint", "note": note.replace(f"\n{checkpoint.size}\n", f"\n{checkpoint.size + 1}\n")})
    request = {"vkey": key["vkey"], "origin": "hallmark/local",
               "entries": [base64.b64encode(e).decode() for e in entries], "checks": checks}
    ran = subprocess.run([str(go_verifier)], input=json.dumps(request), capture_output=True, text=True, timeout=120)
    assert ran.returncode in (0, 1), ran.stderr
    results = json.loads(ran.stdout)["results"]
    assert all(r["ok"] for r in results[:-3]), [r for r in results[:-3] if not r["ok"]][:3]
    assert not any(r["ok"] for r in results[-3:]), results[-3:]


def test_log_endpoints_refuse_bad_input_and_guard_who_reads(api, hallmark):
    File(api).granted()
    size = hallmark.trail.log.latest().size
    assert api.get("/v1/trail/checkpoint").headers["content-type"].startswith("text/plain")
    assert api.get("/v1/trail/entries/0").status_code == 401
    assert api.get("/v1/trail/entries/0", "Carla", "applicant").status_code == 403
    assert api.get(f"/v1/trail/entries/{size + 10}", "Asha", "assessor").status_code == 404
    for params in ({"index": 3, "size": 2}, {"index": 0, "size": size + 100}, {"index": -1, "size": 2}):
        response = api.get("/v1/trail/proof/inclusion", "Asha", "assessor", **params)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    for params in ({"from": 5, "to": 3}, {"from": 0, "to": 3}, {"from": 1, "to": size + 100}):
        assert api.get("/v1/trail/proof/consistency", "Asha", "assessor", **params).status_code == 422
    trail = api.get("/v1/audit-trail", "Asha", "assessor", certificate_number=File(api).granted().certificate).json()
    assert all(e["index"] == hallmark.trail.log.index_of(e["event_id"]) for e in trail["entries"])


def test_production_takes_the_signing_key_from_a_secret_and_keygen_makes_one(tmp_path, capsys):
    from services.cli import main
    from services.settings import Settings
    from shared.evidence.checkpoint import load_key

    with pytest.raises(ConfigurationError, match="HALLMARK_TRAIL_SIGNING_KEY_FILE"):
        Settings(data_dir=tmp_path, environment="production").trail_signing_key()
    with pytest.raises(ConfigurationError, match="does not exist"):
        Settings(data_dir=tmp_path, trail_key_path=str(tmp_path / "missing")).trail_signing_key()
    assert main(["trail", "keygen", "--instance", "copro"]) == 0
    secret = capsys.readouterr().out.strip()
    (tmp_path / "key").write_text(secret)
    key = Settings(data_dir=tmp_path, environment="production", instance="copro",
                   trail_key_path=str(tmp_path / "key")).trail_signing_key()
    assert key.name == "hallmark/copro" and key.skey == load_key(secret).skey
    assert not (tmp_path / "trail-signing.skey").exists()  # nothing generated beside a mounted key
    with pytest.raises(ConfigurationError, match="HALLMARK_INSTANCE"):
        Settings(data_dir=tmp_path, instance="Has Spaces")
