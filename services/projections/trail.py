"""The audit trail: every event of every service, with actor, time and reason, as accreditation
evidence (ISO/IEC 17065 7.12).

Tamper evidence comes from the transparency log (``log.py``, ADR 0011): each event is appended once
as an entry (``shared.evidence.entry``) of an RFC 9162 Merkle tree with signed checkpoints. This view
indexes the log by certification file; its rows carry the entry's log index. The view is disposable
(a rebuild finds each event's index in the log by its id); the log is not.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from services.projections.log import TransparencyLog
from shared.bus import Feed
from shared.contract.types import (
    APPEAL_LODGED,
    APPLICATION_SUBMITTED,
    APPLICATION_WITHDRAWN,
    AUDIT_PLANNED,
    CERTIFICATE_ISSUED,
    DECISION_RECORDED,
)
from shared.evidence.checkpoint import CheckpointError, NoteError, open_checkpoint
from shared.evidence.entry import Seal, entry_bytes, message_entry, no_seal, recorded_at
from shared.evidence.merkle import MerkleTree, leaf_hash
from shared.messages import Message, canonical_json
from shared.views import Cursor, View, ViewDatabase

# Events that open a subject and say which certification file it belongs to.
_OPENERS = {
    APPLICATION_SUBMITTED: lambda m: (m.subject, None),
    AUDIT_PLANNED: lambda m: (m.data.get("application_id"), m.data.get("certificate_number")),
    DECISION_RECORDED: lambda m: (m.data.get("application_id"), m.data.get("certificate_number")),
    APPEAL_LODGED: lambda m: (m.data.get("application_id"), None),
    CERTIFICATE_ISSUED: lambda m: (m.data.get("application_id"), m.data.get("number")),
}

_COLUMNS = ("idx, at, service, position, type, actor, reason, subject, application_id, certificate_number, data,"
            " event_id")


def _json(text: str) -> Any:
    """A stored JSON column; a value that is not JSON (written by hand) is kept as the text it is."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class TrailView(View):
    name = "trail"
    tables = ("trail_entries", "trail_links", "trail_heads")  # trail_heads: the hash chains of version 1
    version = 4

    def __init__(self, db: ViewDatabase, log: TransparencyLog, vault: Any = None) -> None:
        self.log = log
        self.vault = vault  # shared.people.PeopleVault: rows hold names sealed, as the log does
        self.seal: Seal = vault.seal_data if vault else no_seal
        self.open: Seal = vault.open_data if vault else no_seal
        super().__init__(db)

    def schema(self) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS trail_entries (idx BIGINT PRIMARY KEY,"
            " event_id TEXT NOT NULL UNIQUE, at TEXT NOT NULL, service TEXT NOT NULL, position BIGINT NOT NULL,"
            " type TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, subject TEXT NOT NULL,"
            " application_id TEXT, certificate_number TEXT, data TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS trail_by_application ON trail_entries (application_id)",
            "CREATE INDEX IF NOT EXISTS trail_by_certificate ON trail_entries (certificate_number)",
            "CREATE INDEX IF NOT EXISTS trail_by_type ON trail_entries (type)",  # the staff register's entries
            "CREATE TABLE IF NOT EXISTS trail_links (subject TEXT PRIMARY KEY, application_id TEXT,"
            " certificate_number TEXT)",
        ]

    def handle(self, c: Cursor, message: Message) -> None:
        application_id, number = self._file_of(c, message)
        sealed = self.seal(message.data)
        index = self.log.append(c, message.id, message_entry(message, lambda _: sealed))
        c.execute(
            "INSERT INTO trail_entries (idx, event_id, at, service, position, type, actor, reason, subject,"
            " application_id, certificate_number, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (index, message.id, recorded_at(message.time), message.source, message.position, message.type,
             canonical_json(sealed.get("actor", "")), message.reason, message.subject, application_id, number,
             canonical_json(sealed)),
        )

    def _file_of(self, c: Cursor, message: Message) -> tuple[str | None, str | None]:
        opener = _OPENERS.get(message.type)
        if opener is not None:
            application_id, number = opener(message)
            c.execute("SELECT 1 FROM trail_links WHERE subject = ?", (message.subject,))
            if c.fetchone() is None:
                c.execute(
                    "INSERT INTO trail_links (subject, application_id, certificate_number) VALUES (?, ?, ?)",
                    (message.subject, application_id, number),
                )
            return application_id, number
        c.execute("SELECT application_id, certificate_number FROM trail_links WHERE subject = ?", (message.subject,))
        row = c.fetchone()
        return (row[0], row[1]) if row else (None, None)

    # -- reading ----------------------------------------------------------------------------------

    def file_of_certificate(self, number: str) -> str | None:
        with self.db.read() as c:
            c.execute("SELECT application_id FROM trail_links WHERE certificate_number = ? LIMIT 1", (number,))
            row = c.fetchone()
        return None if row is None else row[0]

    def entries(
        self, application_id: str, *, after: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The certification file as one timeline, in log order: whole, or the ``limit`` entries after
        log index ``after``."""
        with self.db.read() as c:
            numbers = self._numbers_of(c, application_id)
            sql = f"SELECT {_COLUMNS} FROM trail_entries WHERE (application_id = ?"
            params: list[Any] = [application_id]
            if numbers:
                sql += f" OR certificate_number IN ({', '.join('?' for _ in numbers)})"
                params += numbers
            sql += ")"
            if after is not None:
                sql += " AND idx > ?"
                params.append(after)
            sql += " ORDER BY idx"
            if limit is not None:
                sql += " LIMIT ?"
                params.append(limit)
            c.execute(sql, params)
            rows = c.fetchall()
        return [self._entry(r) for r in rows]

    @staticmethod
    def _numbers_of(c: Cursor, application_id: str) -> list[str]:
        c.execute("SELECT certificate_number FROM trail_links WHERE application_id = ? AND certificate_number IS NOT NULL",
                  (application_id,))
        return sorted({r[0] for r in c.fetchall()})

    def all_entries(self) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute(f"SELECT {_COLUMNS} FROM trail_entries ORDER BY idx")
            return [self._entry(r) for r in c.fetchall()]

    def of_types(self, types: Iterable[str]) -> list[dict[str, Any]]:
        """Every entry of these event types, in log order (the staff interest register's, for R2's evidence)."""
        wanted = list(types)
        with self.db.read() as c:
            c.execute(f"SELECT {_COLUMNS} FROM trail_entries WHERE type IN ({', '.join('?' for _ in wanted)})"
                      " ORDER BY idx", wanted)
            return [self._entry(r) for r in c.fetchall()]

    def between(self, start: str, end: str) -> list[dict[str, Any]]:
        """Every entry recorded in [start, end) (ISO times in UTC), in log order."""
        with self.db.read() as c:
            c.execute(f"SELECT {_COLUMNS} FROM trail_entries WHERE at >= ? AND at < ? ORDER BY idx", (start, end))
            return [self._entry(r) for r in c.fetchall()]

    def files_touched(self, start: str, end: str) -> list[str]:
        with self.db.read() as c:
            c.execute("SELECT DISTINCT application_id FROM trail_entries WHERE at >= ? AND at < ? AND"
                      " application_id IS NOT NULL ORDER BY application_id", (start, end))
            return [r[0] for r in c.fetchall()]

    def files(self, start: str, end: str) -> list[dict[str, Any]]:
        """Every certification file with an entry recorded in [start, end), refused, withdrawn and
        pending ones included: what an assessor samples from."""
        return [file_summary(application_id, self.entries(application_id))
                for application_id in self.files_touched(start, end)]

    def _entry(self, r: Any, opened: bool = True) -> dict[str, Any]:
        """A row as the audit trail shows it: names opened (``opened=False``: as stored, sealed)."""
        data, actor = _json(r[10]), _json(r[5])
        if opened:
            data, actor = self.open(data), self.open({"actor": actor})["actor"]
        return {
            "seq": int(r[0]), "index": int(r[0]), "at": r[1], "service": r[2], "position": int(r[3]), "type": r[4],
            "actor": actor, "reason": r[6], "subject": r[7], "application_id": r[8], "certificate_number": r[9],
            "data": data, "event_id": r[11],
        }

    def stored_rows(self) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute(f"SELECT {_COLUMNS} FROM trail_entries ORDER BY idx")
            return [self._entry(r, opened=False) for r in c.fetchall()]

    # -- verifying --------------------------------------------------------------------------------

    def verify(self, feeds: Iterable[Feed]) -> dict[str, Any]:
        """Check the log against itself (contiguous indices, leaf hashes), against every checkpoint it
        signed (signature, root), against the event stores (each entry recomputed from its stored event;
        no event missing, none unknown) and the trail view against the log. Every problem names the
        entry (its index and event id)."""
        problems: list[dict[str, Any]] = []

        def problem(index: int | None, event_id: str | None, what: str) -> None:
            problems.append({"index": index, "event_id": event_id, "problem": what})

        stored = self.log.entries()
        leaves: list[bytes] = []
        by_event: dict[str, tuple[int, bytes]] = {}
        for expected, (index, event_id, entry, hashed) in enumerate(stored):
            if index != expected and not any(p["index"] == expected for p in problems):
                problem(expected, None, f"entry {expected} is missing from the log (the next one stored is {index})")
            if leaf_hash(entry).hex() != hashed:
                problem(index, event_id, "the entry's bytes no longer match its stored leaf hash")
            leaves.append(leaf_hash(entry))
            by_event[event_id] = (index, entry)

        # The log against what it signed: a checkpoint's root must be the root of its first `size` entries.
        key, origin = self.log.key.vkey, self.log.origin
        checkpoints = self.log.checkpoints()
        good = 0
        signed_tree = MerkleTree(leaves)  # roots of every prefix, O(log n) each
        for signed in checkpoints:
            try:
                opened = open_checkpoint(signed.note, key, origin)
                forged = opened.size != signed.size or opened.root != signed.root
            except (CheckpointError, NoteError) as error:
                problem(None, None, f"checkpoint {signed.size} does not verify with the log's key: {error}")
                break
            if forged:
                problem(None, None, f"checkpoint row {signed.size} differs from the note signed for it")
                break
            if signed.size > len(leaves):
                problem(len(leaves), None, f"checkpoint {signed.size} signed entries {len(leaves)}.."
                        f"{signed.size - 1}, which the log no longer holds")
                break
            if signed_tree.root(signed.size) != signed.root:
                problem(good, stored[good][1],
                        f"entries {good}..{signed.size - 1} are not the ones checkpoint {signed.size} signed "
                        "(an entry between them was edited, removed, inserted or moved)")
                break
            good = signed.size
        if self.log.journal is not None:
            kept = self.log.journal.last()
            if kept is not None and kept not in {c.note for c in checkpoints} and \
                    kept.startswith(origin + "\n"):
                problem(None, None, f"the last checkpoint in {self.log.journal.path} is not among the stored ones "
                        "(the checkpoint table was altered)")

        # The log against the event stores: every published event once, with the same bytes.
        services: dict[str, dict[str, Any]] = {}
        in_stores: set[str] = set()
        for feed in feeds:
            count = 0
            for message in _all_messages(feed):
                count += 1
                in_stores.add(message.id)
                logged = by_event.get(message.id)
                if logged is None:
                    problem(None, message.id, f"the event is in the {feed.source} store but not in the log "
                            "(removed from the log, inserted into the store, or not applied yet)")
                elif message_entry(message, self.seal) != logged[1]:
                    problem(logged[0], message.id, f"the entry differs from the event in the {feed.source} store "
                            "(edited in the store or in the log)")
            services[feed.source] = {"events_in_store": count, "entries_in_log": 0}
        for index, event_id, _entry, _ in stored:
            source = event_id.split("/", 1)[0]
            if source in services:
                services[source]["entries_in_log"] += 1
                if event_id not in in_stores:
                    problem(index, event_id, f"no event in the {source} store matches this entry "
                            "(inserted into the log, or removed from the store)")

        # The trail view (what the audit-trail answer shows) against the log.
        for row in self.stored_rows():
            logged = by_event.get(row["event_id"])
            mine = entry_bytes(service=row["service"], event_id=row["event_id"], type=row["type"],
                               subject=row["subject"], time=row["at"], data=row["data"])
            if logged is None or logged[0] != row["index"] or logged[1] != mine or \
                    row["actor"] != row["data"].get("actor", "") or \
                    row["reason"] != str(row["data"].get("reason") or ""):
                problem(row["index"], row["event_id"], "the audit trail's row differs from the log entry")

        problems.sort(key=lambda p: (p["index"] is None, p["index"] or 0))
        for source, summary in services.items():
            mine = [p for p in problems if (p["event_id"] or "").startswith(source + "/")]
            summary["ok"] = not mine
            summary["first_mismatch"] = mine[0]["event_id"] if mine else None
        latest = checkpoints[-1] if checkpoints else None
        return {
            "ok": not problems,
            "origin": origin,
            "log_size": len(stored),
            "checkpoint": None if latest is None else {"size": latest.size, "root": latest.root.hex(),
                                                        "signed_at": latest.signed_at},
            "checkpoints_checked": len(checkpoints),
            "services": services,
            "first_problem": problems[0] if problems else None,
            "problems": problems[:100],
        }


def _all_messages(feed: Feed) -> Iterable[Message]:
    for stream in feed.streams():
        after = None
        while True:
            batch = feed.read(stream, after, 500)
            yield from batch.messages
            if batch.last_position is None or batch.last_position == after:
                break
            after = batch.last_position


def file_summary(application_id: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One line of the assessor's sample list: who, which scheme, how it ended, what it holds."""
    summary: dict[str, Any] = {"application_id": application_id, "applicant": None, "scheme": None,
                               "submitted_at": None, "outcomes": [], "state": "in evaluation",
                               "certificates": [], "audits": 0, "appeals": 0, "entries": len(entries),
                               "last_recorded_at": entries[-1]["at"] if entries else None}
    for entry in entries:
        kind, data = entry["type"], entry["data"]
        if kind == APPLICATION_SUBMITTED:
            summary.update(applicant=data.get("applicant"), scheme=data.get("scheme"), submitted_at=entry["at"])
        elif kind == AUDIT_PLANNED:
            summary["audits"] += 1
        elif kind == APPEAL_LODGED:
            summary["appeals"] += 1
        elif kind == DECISION_RECORDED:
            summary["outcomes"].append(data.get("outcome"))
            summary["state"] = "decided"
        elif kind == APPLICATION_WITHDRAWN:
            summary["outcomes"].append("application withdrawn")
            summary["state"] = "withdrawn"
        elif kind == CERTIFICATE_ISSUED and data.get("number") not in summary["certificates"]:
            summary["certificates"].append(data.get("number"))
    return summary
