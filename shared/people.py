"""Personal data that can be erased without breaking the log (ADR 0011): crypto-shredding.

A person's name is never written in the clear: not in an event store, not on a Kafka topic, not in a
log entry. Wherever events name a person (the actor, a team member, a declared adviser, an appeal's
committee...), what is stored is the name *sealed*::

    {"person": "p-<16 hex>", "sealed": "<base64 of AES-SIV(person's key, name, associated data = id)>"}

The pseudonym ``p-...`` is random, one per person (``shared.domain.person_key``: every spelling of a
name the rules treat as the same person gets the same one), so R1, R2 and R8 stay checkable on
pseudonyms alone. Each person has a key of their own, kept in the vault beside the stores. Sealing
is deterministic (AES-SIV), so sealing the same name again gives the same bytes: the log entry of an
event, recomputed from its store, is the entry the log appended.

Erasing a person destroys their key and the link from their name to their pseudonym. Their sealed
names can no longer be opened by anyone; they read ``[erased person p-...]``. The stored bytes do not
change, so every entry, proof and checkpoint still verifies. The erasure itself is recorded (who, when,
why), without the name.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from shared.domain import person_key
from shared.errors import InvalidCommand, NotFound
from shared.sealed import ErasedName, as_names, is_sealed, open_with, walk  # noqa: F401 - re-exported
from shared.views import ViewDatabase

_CACHE_SECONDS = 30.0  # another process's erasure reaches this one's cache within this time


class PeopleVault:
    """The persons' keys: one table beside the stores (``people.db`` in the data folder, or the
    ``<prefix>people`` schema on PostgreSQL), shared by every service of one instance."""

    def __init__(self, db: ViewDatabase) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._by_key: dict[str, tuple[str, bytes, float]] = {}  # person_key -> (pseudonym, key, cached at)
        self._by_id: dict[str, tuple[bytes | None, float]] = {}
        with db.transaction() as c:
            c.execute("CREATE TABLE IF NOT EXISTS people (pseudonym TEXT PRIMARY KEY, person_key TEXT UNIQUE,"
                      " seal_key TEXT, created_at TEXT NOT NULL)")
            c.execute("CREATE TABLE IF NOT EXISTS people_erasures (pseudonym TEXT PRIMARY KEY, erased_at TEXT NOT NULL,"
                      " erased_by TEXT NOT NULL, reason TEXT NOT NULL)")

    # -- sealing ----------------------------------------------------------------------------------

    def _person(self, name: str) -> tuple[str, bytes]:
        wanted = person_key(name)
        now = time.monotonic()
        with self._lock:
            cached = self._by_key.get(wanted)
            if cached and now - cached[2] < _CACHE_SECONDS:
                return cached[0], cached[1]
        with self.db.transaction() as c:
            c.execute("SELECT pseudonym, seal_key FROM people WHERE person_key = ?", (wanted,))
            row = c.fetchone()
            if row is None:
                pseudonym, key = f"p-{secrets.token_hex(8)}", AESSIV.generate_key(256)
                c.execute("INSERT INTO people (pseudonym, person_key, seal_key, created_at) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT (person_key) DO NOTHING",
                          (pseudonym, wanted, key.hex(), datetime.now(UTC).isoformat()))
                c.execute("SELECT pseudonym, seal_key FROM people WHERE person_key = ?", (wanted,))
                row = c.fetchone()
        pseudonym, key = row[0], bytes.fromhex(row[1])
        with self._lock:
            self._by_key[wanted] = (pseudonym, key, now)
            self._by_id[pseudonym] = (key, now)
        return pseudonym, key

    def seal(self, name: Any) -> Any:
        if isinstance(name, ErasedName):
            return dict(name.sealed)
        if is_sealed(name) or not isinstance(name, str) or not name:
            return name
        pseudonym, key = self._person(name)
        raw = AESSIV(key).encrypt(name.encode("utf-8"), [pseudonym.encode()])
        return {"person": pseudonym, "sealed": base64.b64encode(raw).decode("ascii")}

    def key_of(self, pseudonym: str) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            cached = self._by_id.get(pseudonym)
            if cached and now - cached[1] < _CACHE_SECONDS:
                return cached[0]
        with self.db.read() as c:
            c.execute("SELECT seal_key FROM people WHERE pseudonym = ?", (pseudonym,))
            row = c.fetchone()
        key = bytes.fromhex(row[0]) if row and row[0] else None
        with self._lock:
            self._by_id[pseudonym] = (key, now)
        return key

    def open(self, sealed: Any) -> Any:
        if not is_sealed(sealed):
            return sealed
        key = self.key_of(sealed["person"])
        if key is None:
            return ErasedName(sealed)
        try:
            return open_with(key, sealed)
        except (InvalidTag, ValueError):
            return ErasedName(sealed)  # not openable: never a wrong name

    def seal_data(self, data: Any) -> Any:
        return walk(data, self.seal)

    def open_data(self, data: Any) -> Any:
        return walk(data, self.open)

    def openings(self, data: Any) -> dict[str, dict[str, str]]:
        """For an evidence pack: each sealed person in ``data`` who is not erased, with the key that
        opens their sealed names (and only theirs)."""
        found: dict[str, dict[str, str]] = {}

        def note(sealed: Any) -> Any:
            if is_sealed(sealed) and sealed["person"] not in found:
                key = self.key_of(sealed["person"])
                if key is not None:
                    found[sealed["person"]] = {"key": base64.b64encode(key).decode("ascii"),
                                               "name": open_with(key, sealed)}
            return sealed

        walk(data, note)
        return found

    # -- erasing ----------------------------------------------------------------------------------

    def erase(self, name: str, actor: str, reason: str) -> str:
        """Destroy a person's key and the link from their name: their sealed names can no longer be
        opened. Records who erased whom (by pseudonym), when and why. Returns the pseudonym."""
        if not reason.strip():
            raise InvalidCommand("An erasure states its legal ground ('reason')", field="reason")
        wanted = person_key(name)
        by = json.dumps(self.seal(actor))  # the eraser is a person too
        with self.db.transaction() as c:
            c.execute("SELECT pseudonym FROM people WHERE person_key = ?" + self.db.lock_rows, (wanted,))
            row = c.fetchone()
            if row is None:
                raise NotFound("Hallmark holds no person of that name (or they were erased already)")
            pseudonym = row[0]
            c.execute("UPDATE people SET seal_key = NULL, person_key = NULL WHERE pseudonym = ?", (pseudonym,))
            c.execute("INSERT INTO people_erasures (pseudonym, erased_at, erased_by, reason) VALUES (?, ?, ?, ?)",
                      (pseudonym, datetime.now(UTC).isoformat(), by, reason))
        with self._lock:
            self._by_key.pop(wanted, None)
            self._by_id[pseudonym] = (None, time.monotonic())
        self._scrub()
        return pseudonym

    def _scrub(self) -> None:
        """Leave no copy of the destroyed key or name in the database's files: SQLite zeroes freed
        space (secure_delete) and empties its write-ahead log; PostgreSQL vacuums the table."""
        if self.db.dialect == "sqlite":
            conn = getattr(self.db, "_conn", None)
            if conn is not None:
                with self.db._lock:  # type: ignore[attr-defined]
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        pool = getattr(self.db, "_pool", None)
        if pool is not None:
            with pool.connection() as conn:
                conn.autocommit = True
                conn.execute("VACUUM people")

    def erasures(self) -> list[dict[str, str]]:
        with self.db.read() as c:
            c.execute("SELECT pseudonym, erased_at, erased_by, reason FROM people_erasures ORDER BY erased_at")
            rows = c.fetchall()
        return [{"person": r[0], "erased_at": r[1], "erased_by": self.open(json.loads(r[2])), "reason": r[3]}
                for r in rows]

    def close(self) -> None:
        self.db.close()
