"""The audit trail: every event of every service, with actor, time and reason, as accreditation
evidence (ISO/IEC 17065 7.12).

Tamper evidence: each service's entries form a hash chain, ``hash = SHA-256(prev_hash || entry)``,
over the canonical JSON of the event. The chain depends only on each service's own order, so a
rebuild reproduces it bit for bit, and ``verify`` recomputes it from the event stores themselves: an
entry altered in the trail or an event altered in a store shows up as a mismatch.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

from shared.bus import Feed
from shared.contract.types import (
    APPEAL_LODGED,
    APPLICATION_SUBMITTED,
    AUDIT_PLANNED,
    CERTIFICATE_ISSUED,
    DECISION_RECORDED,
)
from shared.messages import Message, canonical_json
from shared.views import Cursor, View

GENESIS = "0" * 64

# Events that open a subject and say which certification file it belongs to.
_OPENERS = {
    APPLICATION_SUBMITTED: lambda m: (m.subject, None),
    AUDIT_PLANNED: lambda m: (m.data.get("application_id"), m.data.get("certificate_number")),
    DECISION_RECORDED: lambda m: (m.data.get("application_id"), m.data.get("certificate_number")),
    APPEAL_LODGED: lambda m: (m.data.get("application_id"), None),
    CERTIFICATE_ISSUED: lambda m: (m.data.get("application_id"), m.data.get("number")),
}


def entry_hash(prev_hash: str, *, event_id: str, at: str, service: str, type: str, subject: str,
               data: dict[str, Any]) -> str:
    body = canonical_json({"id": event_id, "at": at, "service": service, "type": type, "subject": subject, "data": data})
    return hashlib.sha256(bytes.fromhex(prev_hash) + body.encode()).hexdigest()


def message_hash(prev_hash: str, message: Message) -> str:
    return entry_hash(prev_hash, event_id=message.id, at=message.time.isoformat(), service=message.source,
                      type=message.type, subject=message.subject, data=message.data)


class TrailView(View):
    name = "trail"
    tables = ("trail_entries", "trail_links", "trail_heads")

    def schema(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS trail_entries (seq {self.db.serial_primary_key},"
            " event_id TEXT NOT NULL UNIQUE, at TEXT NOT NULL, service TEXT NOT NULL, position BIGINT NOT NULL,"
            " type TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, subject TEXT NOT NULL,"
            " application_id TEXT, certificate_number TEXT, data TEXT NOT NULL,"
            " prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS trail_by_application ON trail_entries (application_id)",
            "CREATE INDEX IF NOT EXISTS trail_by_certificate ON trail_entries (certificate_number)",
            "CREATE TABLE IF NOT EXISTS trail_links (subject TEXT PRIMARY KEY, application_id TEXT,"
            " certificate_number TEXT)",
            "CREATE TABLE IF NOT EXISTS trail_heads (service TEXT PRIMARY KEY, hash TEXT NOT NULL,"
            " length BIGINT NOT NULL)",
        ]

    def handle(self, c: Cursor, message: Message) -> None:
        application_id, number = self._file_of(c, message)
        c.execute("SELECT hash, length FROM trail_heads WHERE service = ?", (message.source,))
        head = c.fetchone()
        prev = head[0] if head else GENESIS
        new = message_hash(prev, message)
        c.execute(
            "INSERT INTO trail_entries (event_id, at, service, position, type, actor, reason, subject,"
            " application_id, certificate_number, data, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message.id, message.time.isoformat(), message.source, message.position, message.type,
             message.actor, message.reason, message.subject, application_id, number,
             canonical_json(message.data), prev, new),
        )
        if head is None:
            c.execute("INSERT INTO trail_heads (service, hash, length) VALUES (?, ?, 1)", (message.source, new))
        else:
            c.execute("UPDATE trail_heads SET hash = ?, length = length + 1 WHERE service = ?", (new, message.source))

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
        """The certification file as one timeline, in the order recorded: whole, or the ``limit``
        entries after seq ``after``."""
        with self.db.read() as c:
            c.execute("SELECT certificate_number FROM trail_links WHERE application_id = ? AND certificate_number IS NOT NULL",
                      (application_id,))
            numbers = sorted({r[0] for r in c.fetchall()})
            sql = "SELECT seq, at, service, position, type, actor, reason, subject, application_id," \
                  " certificate_number, data, prev_hash, hash, event_id FROM trail_entries WHERE (application_id = ?"
            params: list[Any] = [application_id]
            if numbers:
                sql += f" OR certificate_number IN ({', '.join('?' for _ in numbers)})"
                params += numbers
            sql += ")"
            if after is not None:
                sql += " AND seq > ?"
                params.append(after)
            sql += " ORDER BY seq"
            if limit is not None:
                sql += " LIMIT ?"
                params.append(limit)
            c.execute(sql, params)
            rows = c.fetchall()
        return [self._entry(r) for r in rows]

    def all_entries(self) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute(
                "SELECT seq, at, service, position, type, actor, reason, subject, application_id,"
                " certificate_number, data, prev_hash, hash, event_id FROM trail_entries ORDER BY seq"
            )
            return [self._entry(r) for r in c.fetchall()]

    @staticmethod
    def _entry(r: Any) -> dict[str, Any]:
        return {
            "seq": int(r[0]), "at": r[1], "service": r[2], "position": int(r[3]), "type": r[4], "actor": r[5],
            "reason": r[6], "subject": r[7], "application_id": r[8], "certificate_number": r[9],
            "data": json.loads(r[10]), "prev_hash": r[11], "hash": r[12], "event_id": r[13],
        }

    def heads(self) -> dict[str, dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT service, hash, length FROM trail_heads ORDER BY service")
            return {r[0]: {"hash": r[1], "length": int(r[2])} for r in c.fetchall()}

    def _stored_chains(self) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
        """Each service's stored (event id, hash) chain, re-hashed from the stored columns: an entry
        whose content, actor or reason no longer matches its hash, or whose link is broken, is named."""
        chains: dict[str, list[tuple[str, str]]] = {}
        broken: dict[str, str] = {}
        with self.db.read() as c:
            c.execute("SELECT service, event_id, at, type, subject, actor, reason, data, prev_hash, hash"
                      " FROM trail_entries ORDER BY service, position")
            rows = c.fetchall()
            c.execute("SELECT service, hash, length FROM trail_heads")
            heads = {r[0]: (r[1], int(r[2])) for r in c.fetchall()}
        for service, event_id, at, type_, subject, actor, reason, data_text, prev_hash, stored_hash in rows:
            chain = chains.setdefault(service, [])
            data = json.loads(data_text)
            expected_prev = chain[-1][1] if chain else GENESIS
            recomputed = entry_hash(expected_prev, event_id=event_id, at=at, service=service, type=type_,
                                    subject=subject, data=data)
            intact = (prev_hash == expected_prev and stored_hash == recomputed
                      and actor == str(data.get("actor") or "") and reason == str(data.get("reason") or ""))
            if not intact and service not in broken:
                broken[service] = event_id
            chain.append((event_id, recomputed))
        for service, (head, length) in heads.items():
            chain = chains.get(service, [])
            if service not in broken and (len(chain) != length or (chain and chain[-1][1] != head)):
                broken[service] = "trail head"
        return chains, broken

    def verify(self, feeds: Iterable[Feed]) -> dict[str, Any]:
        """Check the trail against itself (every entry re-hashed, every link followed) and against the
        event stores (every service's chain recomputed from its published events)."""
        stored, broken = self._stored_chains()
        report: dict[str, Any] = {"services": {}, "ok": True}
        for feed in feeds:
            recomputed: list[tuple[str, str]] = []
            prev = GENESIS
            for stream in feed.streams():
                after = None
                while True:
                    batch = feed.read(stream, after, 500)
                    for message in batch.messages:
                        prev = message_hash(prev, message)
                        recomputed.append((message.id, prev))
                    if batch.last_position is None or batch.last_position == after:
                        break
                    after = batch.last_position
            mine = stored.get(feed.source, [])
            mismatch = next((i for i, (a, b) in enumerate(zip(recomputed, mine, strict=False)) if a != b), None)
            if mismatch is None and len(mine) > len(recomputed):
                mismatch = len(recomputed)
            ok = mismatch is None and feed.source not in broken
            report["services"][feed.source] = {
                "events_in_store": len(recomputed),
                "entries_in_trail": len(mine),
                "head": recomputed[-1][1] if recomputed else GENESIS,
                "ok": ok,
                "first_mismatch": None if ok else broken.get(feed.source) or (
                    recomputed[mismatch][0] if mismatch < len(recomputed) else mine[mismatch][0]),
                "behind": max(0, len(recomputed) - len(mine)),
            }
            report["ok"] = report["ok"] and ok
        return report
