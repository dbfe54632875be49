"""Certificate state: the registry's events folded into one document per certificate.

Serves the staff certificate endpoints and the public directory (ISO/IEC 17065 7.8), which shows
suspended and withdrawn certificates too, and answers whether a certificate was valid on a date.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from shared.contract.types import (
    CERTIFICATE_APPEAL_UPHELD,
    CERTIFICATE_DECISION_NOT_APPLIED,
    CERTIFICATE_ISSUED,
    CERTIFICATE_MAINTAINED,
    CERTIFICATE_REVISED,
    CERTIFICATE_STATUS_CHANGED,
    CERTIFICATE_SURVEILLANCE_OVERDUE,
    CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED,
    SCHEME_DOCUMENT_VERSION_PUBLISHED,
)
from shared.messages import Message
from shared.views import Cursor, View

PUBLIC_FIELDS = (
    "number", "revision", "status", "status_since", "scheme", "mark", "scope", "valid_from", "valid_until",
    "quick_code", "documents", "transitions",
)


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    """R9: only the legal entity, unit, products, scope, scheme and mark, status and validity."""
    view = {k: doc[k] for k in PUBLIC_FIELDS}
    view["holder"] = {"name": doc["holder"]["name"], "registration_number": doc["holder"]["registration_number"]}
    view["production_unit"] = {"name": doc["production_unit"]["name"], "address": doc["production_unit"]["address"]}
    view["products"] = [{"name": p["name"], "type": p["type"]} for p in doc["products"]]
    view["history"] = [
        {"status": h["status"], "at": h["at"], "effective_from": h["effective_from"], "revision": h["revision"]}
        for h in doc["history"]
    ]
    view["revisions"] = [
        {k: r[k] for k in ("revision", "status", "scope", "valid_from", "valid_until")} for r in doc["revisions"]
    ]
    return view


def validity_on(doc: dict[str, Any], day: date) -> dict[str, Any]:
    """Was the certificate valid on ``day``? Uses the revision and the status in effect that day."""
    iso = day.isoformat()
    revision = None
    for r in doc["revisions"]:
        if r["valid_from"] <= iso:
            revision = r
    status = None
    for h in sorted(doc["history"], key=lambda h: (h["effective_from"], h["at"])):
        if h["status"] != "superseded" and h["effective_from"] <= iso:
            status = h["status"]
    if revision is not None and iso > revision["valid_until"] and status in ("active", "suspended"):
        status = "expired"  # validity ran out on that day, whether or not the sweep had recorded it yet
    valid = revision is not None and iso <= revision["valid_until"] and status == "active"
    return {"date": iso, "valid": valid, "status": status or "not yet certified", "revision": revision and revision["revision"]}


def _pending(transitions: list[dict[str, Any]], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transitions a certificate still has to make, given the documents it now refers to."""
    now = {(d["kind"], d["ref"]): d["version"] for d in documents}
    return [t for t in transitions if now.get((t["kind"], t["ref"])) != t["to_version"]]


def attention(doc: dict[str, Any]) -> list[str]:
    """What a registry officer must act on for this certificate."""
    reasons = []
    if doc.get("withdrawal_proposed"):
        reasons.append("suspended beyond the scheme's maximum: a withdrawal decision is due (R6)")
    if doc.get("suspension_proposed"):
        reasons.append(f"surveillance overdue since {doc.get('surveillance_due')}: a suspension decision is proposed")
    if doc.get("appeal_upheld"):
        reasons.append(f"appeal upheld against decision {doc['appeal_upheld']['decision_id']}: "
                       "a corrective decision is due")
    if doc.get("unapplied_decisions"):
        reasons.append("a decision could not be applied to this certificate")
    for t in doc.get("transitions", []):
        reasons.append(f"transition from {t['kind']} {t['ref']} {t['from_version']} to {t['to_version']}"
                       f" due by {t['deadline'] or 'the date the scheme sets'}")
    return reasons


def _literal(text: str) -> str:
    """Escape LIKE's wildcards so a search for '50%' finds '50%', not everything."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_text(doc: dict[str, Any]) -> str:
    parts = [doc["number"], doc["quick_code"], doc["holder"]["name"], doc["holder"]["registration_number"], doc["scope"]]
    parts += [p["name"] for p in doc["products"]] + [p["type"] for p in doc["products"]]
    return " ".join(parts).casefold()


class CertificateView(View):
    name = "certificates"
    tables = ("certificates",)
    version = 5  # 5: revisions name their products (scope changes)

    def schema(self) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS certificates ("
            " number TEXT PRIMARY KEY, application_id TEXT NOT NULL, holder TEXT NOT NULL, status TEXT NOT NULL,"
            " scheme TEXT NOT NULL, mark TEXT NOT NULL, quick_code TEXT NOT NULL UNIQUE, search TEXT NOT NULL,"
            " attention INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS certificates_application ON certificates (application_id)",
            "CREATE INDEX IF NOT EXISTS certificates_status ON certificates (status)",
        ]

    # -- writing ----------------------------------------------------------------------------------

    def handle(self, c: Cursor, message: Message) -> None:
        if message.type == SCHEME_DOCUMENT_VERSION_PUBLISHED:
            self._transition(c, message.data["code"], message.data["document"])
            return
        if message.aggregate != "Certificate":
            return
        data, at = message.data, message.time.isoformat()
        if message.type == CERTIFICATE_ISSUED:
            doc = {
                "number": data["number"],
                "revision": 1,
                "status": "active",
                "status_since": data["valid_from"],
                "holder": data["holder"],
                "production_unit": data["production_unit"],
                "products": data["products"],
                "scope": data["scope"],
                "scheme": data["scheme"],
                "mark": data["mark"],
                "documents": data["documents"],
                "valid_from": data["valid_from"],
                "valid_until": data["valid_until"],
                "quick_code": data["quick_code"],
                "application_id": data["application_id"],
                "withdrawal_proposed": False,
                "suspension_proposed": False,
                "surveillance_due": data["surveillance_due"],
                "unapplied_decisions": [],
                "transitions": [],
                "appeal_upheld": None,
                "last_maintained": None,
                "history": [
                    {"status": "active", "at": at, "effective_from": data["valid_from"], "revision": 1,
                     "decision_id": data["decision_id"]}
                ],
                "revisions": [
                    {"revision": 1, "status": "active", "scope": data["scope"], "valid_from": data["valid_from"],
                     "valid_until": data["valid_until"], "decision_id": data["decision_id"]}
                ],
            }
            self._write(c, doc, insert=True)
            return
        doc = self._read(c, data["number"])
        if doc is None:
            raise LookupError(f"certificate {data['number']} changed before it was issued in this view")
        if message.type == CERTIFICATE_STATUS_CHANGED:
            doc["status"] = data["status"]
            doc["status_since"] = data["effective_from"]
            doc["withdrawal_proposed"] = doc["suspension_proposed"] = False
            doc["appeal_upheld"] = None  # a later decision is the corrective one
            doc["revisions"][-1]["status"] = data["status"]
            doc["history"].append(
                {"status": data["status"], "at": at, "effective_from": data["effective_from"],
                 "revision": doc["revision"], "decision_id": data["decision_id"] or None}
            )
        elif message.type == CERTIFICATE_REVISED:
            old = doc["revisions"][-1]
            old["status"] = "superseded"
            doc["history"].append(
                {"status": "superseded", "at": at, "effective_from": data["effective_from"],
                 "revision": old["revision"], "decision_id": data["decision_id"]}
            )
            doc["documents"] = data["documents"]
            doc["transitions"] = _pending(doc["transitions"], data["documents"])
            doc["appeal_upheld"] = None
            if data.get("products") is not None:  # a scope change that names the products it covers
                doc["products"] = data["products"]
            doc.update(revision=data["revision"], scope=data["scope"], valid_until=data["valid_until"],
                       status="active", status_since=data["effective_from"], withdrawal_proposed=False,
                       suspension_proposed=False, surveillance_due=data["surveillance_due"])
            doc["revisions"].append(
                {"revision": data["revision"], "status": "active", "scope": data["scope"],
                 "valid_from": data["effective_from"], "valid_until": data["valid_until"],
                 "decision_id": data["decision_id"], "products": doc["products"]}
            )
            doc["history"].append(
                {"status": "active", "at": at, "effective_from": data["effective_from"],
                 "revision": data["revision"], "decision_id": data["decision_id"]}
            )
        elif message.type == CERTIFICATE_APPEAL_UPHELD:
            doc["appeal_upheld"] = {"appeal_id": data["appeal_id"], "decision_id": data["decision_id"]}
        elif message.type == CERTIFICATE_MAINTAINED:
            doc["last_maintained"] = {"on": data["effective_from"], "decision_id": data["decision_id"]}
            doc["surveillance_due"] = data["surveillance_due"]
            doc["suspension_proposed"] = False
        elif message.type == CERTIFICATE_SURVEILLANCE_OVERDUE:
            doc["suspension_proposed"] = True
        elif message.type == CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED:
            doc["withdrawal_proposed"] = True
        elif message.type == CERTIFICATE_DECISION_NOT_APPLIED:
            doc["unapplied_decisions"].append({"decision_id": data["decision_id"], "problem": data["problem"],
                                               "detail": data["reason"]})
        else:
            return
        self._write(c, doc, insert=False)

    def _transition(self, c: Cursor, scheme: str, document: dict[str, Any]) -> None:
        """7.10: a new TRA/PTV version gives the scheme's certificates on an older one a transition deadline."""
        c.execute("SELECT doc FROM certificates WHERE scheme = ? AND status IN ('active', 'suspended')", (scheme,))
        for (text,) in c.fetchall():
            doc = json.loads(text)
            current = next((d for d in doc["documents"]
                            if d["kind"] == document["kind"] and d["ref"] == document["ref"]), None)
            if current is None or current["version"] == document["version"]:
                continue
            doc["transitions"] = [t for t in doc["transitions"]
                                  if (t["kind"], t["ref"]) != (document["kind"], document["ref"])]
            doc["transitions"].append({
                "kind": document["kind"], "ref": document["ref"], "from_version": current["version"],
                "to_version": document["version"], "effective_from": document["effective_from"],
                "deadline": document.get("transition_deadline"),
            })
            self._write(c, doc, insert=False)

    def _read(self, c: Cursor, number: str) -> dict[str, Any] | None:
        c.execute("SELECT doc FROM certificates WHERE number = ?", (number,))
        row = c.fetchone()
        return None if row is None else json.loads(row[0])

    def _write(self, c: Cursor, doc: dict[str, Any], insert: bool) -> None:
        holder = f"{doc['holder']['name']} {doc['holder']['registration_number']}".casefold()
        values = (doc["application_id"], holder, doc["status"], doc["scheme"], doc["mark"],
                  doc["quick_code"], _search_text(doc), int(bool(attention(doc))), json.dumps(doc, sort_keys=True))
        if insert:
            c.execute(
                "INSERT INTO certificates (application_id, holder, status, scheme, mark, quick_code, search,"
                " attention, doc, number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, doc["number"]),
            )
        else:
            c.execute(
                "UPDATE certificates SET application_id = ?, holder = ?, status = ?, scheme = ?, mark = ?,"
                " quick_code = ?, search = ?, attention = ?, doc = ? WHERE number = ?",
                (*values, doc["number"]),
            )

    # -- reading ----------------------------------------------------------------------------------

    def get(self, number_or_quick_code: str) -> dict[str, Any] | None:
        with self.db.read() as c:
            c.execute(
                "SELECT doc FROM certificates WHERE number = ? OR quick_code = ?",
                (number_or_quick_code, number_or_quick_code),
            )
            row = c.fetchone()
        return None if row is None else json.loads(row[0])

    def numbers(self, statuses: tuple[str, ...]) -> list[str]:
        marks = ", ".join("?" for _ in statuses)
        with self.db.read() as c:
            c.execute(f"SELECT number FROM certificates WHERE status IN ({marks}) ORDER BY number", statuses)
            return [r[0] for r in c.fetchall()]

    def search(
        self, *, application_id: str | None = None, holder: str | None = None, status: str | None = None,
        scheme: str | None = None, mark: str | None = None, q: str | None = None, after: str | None = None,
        needs_attention: bool = False, limit: int = 100,
    ) -> list[dict[str, Any]]:
        where, params = [], []
        if needs_attention:
            where.append("attention = 1")
        for column, value in (("application_id", application_id), ("status", status), ("scheme", scheme),
                              ("mark", mark)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if holder:
            where.append("holder LIKE ? ESCAPE '\\'")
            params.append(f"%{_literal(holder.casefold())}%")
        if q:
            where.append("search LIKE ? ESCAPE '\\'")
            params.append(f"%{_literal(q.casefold())}%")
        if after:
            where.append("number > ?")
            params.append(after)
        sql = "SELECT doc FROM certificates"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY number LIMIT ?"
        params.append(limit)
        with self.db.read() as c:
            c.execute(sql, params)
            return [json.loads(r[0]) for r in c.fetchall()]

    def page(
        self, *, limit: int, after: str | None = None, **filters: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``search`` in number order, and the number the next page starts after (None on
        the last page)."""
        items = self.search(after=after, limit=limit + 1, **filters)
        return items[:limit], (items[limit - 1]["number"] if len(items) > limit else None)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT doc FROM certificates ORDER BY number")
            return [json.loads(r[0]) for r in c.fetchall()]

