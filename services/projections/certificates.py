"""Certificate state: the registry's events folded into one document per certificate.

Serves the staff certificate endpoints and the public directory (ISO/IEC 17065 7.8), which shows
suspended and withdrawn certificates too, and answers whether a certificate was valid on a date.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from datetime import date, timedelta
from typing import Any, Callable, NamedTuple

from shared.contract.types import (
    CERTIFICATE_APPEAL_UPHELD,
    CERTIFICATE_CONDITIONAL_WITHDRAWAL_LIFTED,
    CERTIFICATE_CONDITIONAL_WITHDRAWAL_OVERDUE,
    CERTIFICATE_CONDITIONALLY_WITHDRAWN,
    CERTIFICATE_DECISION_NOT_APPLIED,
    CERTIFICATE_ISSUED,
    CERTIFICATE_MAINTAINED,
    CERTIFICATE_REVISED,
    CERTIFICATE_STATUS_CHANGED,
    CERTIFICATE_SURVEILLANCE_OVERDUE,
    CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED,
    CERTIFICATE_TRANSITION_OVERDUE,
    CERTIFICATE_WARNED,
    SCHEME_DOCUMENT_VERSION_PUBLISHED,
)
from shared.errors import InvalidCommand
from shared.messages import Message
from shared.views import Cursor, Plan, View

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
    # R44: a suspension's end date is public (the mark may be used again from the day after, if restored); its
    # conditions, warnings and conditional withdrawals are the body's and the holder's business (staff only).
    suspension = doc.get("suspension") or {}
    view["suspended_until"] = suspension.get("until") if doc["status"] == "suspended" else None
    view["level"] = doc.get("level")  # R64: a system certificate's level is public, as its certificate states it
    # R69: a person certificate (ISO/IEC 17024) says so; the person's name is in no view (the holder is empty).
    view["subject"] = doc.get("subject", "products")
    return view


def public_json(doc: dict[str, Any]) -> str:
    """The public view (R9) as the public directory sends it, kept with the certificate: a search's page
    is then the concatenation of its certificates' texts (CertificateView.apublic_page)."""
    return json.dumps(public_view(doc), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


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
    suspension = doc.get("suspension") or {}
    if doc.get("withdrawal_proposed") and suspension.get("until") and doc.get("suspension_limit") == suspension["until"]:
        reasons.append(f"the suspension ended on {suspension['until']} and the certificate is still suspended: "
                       "a restoration or withdrawal decision is due (R44)")
    elif doc.get("withdrawal_proposed"):
        reasons.append("suspended beyond the scheme's maximum: a withdrawal decision is due (R6)")
    conditional = doc.get("conditional_withdrawal") or {}
    if conditional.get("overdue"):
        reasons.append(f"conditional withdrawal {conditional['decision_id']}: its deadline {conditional['deadline']} "
                       "passed without a restoration; a withdrawal decision is due (R43)")
    if doc.get("suspension_proposed"):
        reasons.append(f"surveillance overdue since {doc.get('surveillance_due')}: a suspension decision is proposed")
    if doc.get("appeal_upheld"):
        reasons.append(f"appeal upheld against decision {doc['appeal_upheld']['decision_id']}: "
                       "a corrective decision is due")
    if doc.get("unapplied_decisions"):
        reasons.append("a decision could not be applied to this certificate")
    overdue = {(t["kind"], t["ref"], t["version"]) for t in doc.get("transitions_overdue", [])}
    for t in doc.get("transitions", []):
        named = t["ref"] if t["ref"].startswith(t["kind"]) else f"{t['kind']} {t['ref']}"  # "PTV 21-601", not "PTV PTV 21-601"
        if (t["kind"], t["ref"], t["to_version"]) in overdue:
            reasons.append(f"transition from {named} {t['from_version']} to {t['to_version']} was due "
                           f"by {t['deadline']} and has not been made: a suspension decision is proposed (R50)")
            continue
        reasons.append(f"transition from {named} {t['from_version']} to {t['to_version']}"
                       f" due by {t['deadline'] or 'the date the scheme sets'}")
    return reasons


# -- the search index ------------------------------------------------------------------------------
# What people type is matched word by word: every word of the query must begin a word of the
# certificate's number, quick code, holder (name and registration number) or products (name and type),
# in any order, ignoring case and accents. Words are runs of letters and digits, so punctuation and
# LIKE's or the index's own syntax ('%', '_', '*', '"', '-') are never operators: 'BENOR-00012' is the
# words 'benor' and '00012', and a query with no word at all ('%') finds nothing. Python cuts the words
# on both stores, so SQLite (FTS5) and PostgreSQL (tsvector, GIN) answer the same.

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of a text as the index holds them: case-folded, without accents, letters and digits."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))


def _holder_words(doc: dict[str, Any]) -> list[str]:
    return words(f"{doc['holder']['name']} {doc['holder']['registration_number']}")


def _other_words(doc: dict[str, Any]) -> list[str]:
    parts = [doc["number"], doc["quick_code"]] + [f"{p['name']} {p['type']}" for p in doc["products"]]
    return words(" ".join(parts))


class Term(NamedTuple):
    """A query word as a text search asks the index: the indexed words it begins, or (prefix) itself, to be
    asked as a prefix; with how many postings those words have (PostgreSQL)."""

    prefix: bool
    words: list[str]
    postings: int | None = 0  # None: a prefix of too many (PostgreSQL)


def number_order(number: str) -> str:
    """A certificate number as it sorts: its serial zero-padded to 12 digits, so that BENOR-100000 comes
    after BENOR-99999 (numbers have five digits until a mark passes 99,999 certificates)."""
    mark, _, serial = number.rpartition("-")
    return f"{mark}-{int(serial):012d}" if mark and serial.isdigit() else number


def _tsvector(holder: list[str], other: list[str]) -> str:
    """A tsvector literal taken as is (no parser, no dictionary): holder words weigh A, so that a search
    by holder alone is a weight filter on the same index."""
    terms = [f"'{w}':{i}A" for i, w in enumerate(holder, 1)]
    terms += [f"'{w}':{i}" for i, w in enumerate(other, len(holder) + 1)]
    return " ".join(terms)


class CertificateView(View):
    name = "certificates"
    tables = ("certificates_fts", "certificate_postings", "certificate_words", "scheme_deadlines", "certificates")
    # 5: revisions name their products (scope changes); 6: a full-text index (FTS5 / tsvector) for search;
    # 7: seq, the order a text search pages in; 8: number_order, numbers past 99,999 per mark in order;
    # 9: certificate_words, the index's words, to expand a prefix into the words it begins (_expand);
    # 10: the sanctions ladder (warnings, a conditional withdrawal, a suspension's terms; R40-R46);
    # 11: certificate_words on PostgreSQL too; 12: a person certificate's subject (R69: 'person', no name);
    # 13: a system certificate's level (R64); 14: due_on and scheme_deadlines, what the registry's sweep visits;
    # 15: certificate_postings on PostgreSQL, a text search's words in seq order (_page_postings)
    version = 15

    # A query word that begins at most this many indexed words is asked as those words (FTS5 walks
    # them lazily and stops at a page); one that begins more as a prefix (FTS5 then merges the lists
    # of every word it begins, which its prefix indexes make cheap for 1 to 3 characters).
    EXPANSION = 16

    CACHE_SIZE = 10_000  # documents kept for the public lookup, by number and quick code

    def __init__(self, db: Any) -> None:
        # Called with (cursor, message, document before, document after) in the view's transaction, for
        # every change to a certificate: the partners' change feed and webhooks (services/partners).
        self.on_change: list[Callable[[Cursor, Message, dict[str, Any] | None, dict[str, Any]], None]] = []
        # The lookup's cache. Where this process applies the view, an entry is dropped once a change to
        # its certificate is committed, and a read that overlapped any change is not kept (a generation
        # count), so the cache never serves a document older than the view. Where another process
        # applies it (HALLMARK_ROLE=web), entries also expire after ``cache_seconds``.
        self.cache_seconds: float | None = None
        self._cache: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
        self._cache_generation = 0
        self._cache_lock = threading.Lock()
        self._touched: list[str] = []
        super().__init__(db)

    def schema(self) -> list[str]:
        # holder and search hold the words of the index (see words()), space-separated. On SQLite an
        # external-content FTS5 table indexes them (kept in step by _write, in the view's transaction);
        # on PostgreSQL a tsvector column built from the same words, under a GIN index.
        # seq numbers the certificates in the order the view first saw them (their issue order, the same
        # after a rebuild): a text search pages in that order, which both indexes give without sorting
        # the matches (FTS5 walks its lists by rowid, of which seq is the alias; PostgreSQL walks seq's
        # index and stops at a page), so a word that half the register holds costs one page, not a sort.
        postgres = self.db.dialect == "postgres"
        seq = "seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if postgres else "seq INTEGER PRIMARY KEY"
        statements = [
            f"CREATE TABLE IF NOT EXISTS certificates ({seq},"
            " number TEXT NOT NULL UNIQUE, number_order TEXT NOT NULL UNIQUE,"
            " application_id TEXT NOT NULL, holder TEXT NOT NULL, status TEXT NOT NULL,"
            " scheme TEXT NOT NULL, mark TEXT NOT NULL, quick_code TEXT NOT NULL UNIQUE, search TEXT NOT NULL,"
            " attention INTEGER NOT NULL DEFAULT 0, due_on TEXT, doc TEXT NOT NULL, public TEXT NOT NULL"
            + (", terms TSVECTOR NOT NULL)" if postgres else ")"),
            "CREATE INDEX IF NOT EXISTS certificates_application ON certificates (application_id)",
            "CREATE INDEX IF NOT EXISTS certificates_status ON certificates (status)",
            "CREATE INDEX IF NOT EXISTS certificates_due ON certificates (due_on)",
            # R50: every TRA/PTV version published with a transition deadline, as the registry checks them
            "CREATE TABLE IF NOT EXISTS scheme_deadlines (scheme TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,"
            " version TEXT NOT NULL, deadline TEXT NOT NULL, PRIMARY KEY (scheme, kind, ref, version))",
        ]
        if postgres:
            statements.append("CREATE INDEX IF NOT EXISTS certificates_terms ON certificates USING GIN (terms)")
            # postings: how many certificates hold the word (which of a search's words is rarest, _page_postings)
            statements.append('CREATE TABLE IF NOT EXISTS certificate_words (word TEXT COLLATE "C" PRIMARY KEY,'
                              " postings BIGINT NOT NULL DEFAULT 0)")
            # Every word of every certificate with its seq, in (word, seq) order: a word's certificates in
            # the order a text search pages in, read from the index alone (_page_postings).
            statements.append('CREATE TABLE IF NOT EXISTS certificate_postings (word TEXT COLLATE "C" NOT NULL,'
                              " seq BIGINT NOT NULL, PRIMARY KEY (word, seq))")
        else:
            statements.append("CREATE TABLE IF NOT EXISTS certificate_words (word TEXT PRIMARY KEY) WITHOUT ROWID")
            statements.append(
                "CREATE VIRTUAL TABLE IF NOT EXISTS certificates_fts USING fts5(search, holder,"
                " content='certificates', content_rowid='seq', tokenize='unicode61 remove_diacritics 0', prefix='1 2 3')")
        return statements

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
                "level": data.get("level"),  # R64: the level a system certificate certifies; None otherwise
                # R69: a person certificate is issued to a person whose name no view keeps (sealed in the store)
                "subject": "person" if data.get("person") else "products",
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
                "warnings": [],
                "conditional_withdrawal": None,
                "suspension": None,
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
            self._changed(c, message, None, doc)
            return
        doc = self._read(c, data["number"])
        if doc is None:
            raise LookupError(f"certificate {data['number']} changed before it was issued in this view")
        before = copy.deepcopy(doc) if self.on_change else None
        if message.type == CERTIFICATE_STATUS_CHANGED:
            doc["status"] = data["status"]
            doc["status_since"] = data["effective_from"]
            doc["withdrawal_proposed"] = doc["suspension_proposed"] = False
            doc["appeal_upheld"] = None  # a later decision is the corrective one
            doc["revisions"][-1]["status"] = data["status"]
            doc["suspension"] = {  # its decision is the history's last entry
                "since": data["effective_from"], "until": data.get("until"),
                "conditions": data.get("conditions"), "voluntary": bool(data.get("voluntary")),
                "request_id": data.get("request_id"),
            } if data["status"] == "suspended" else None
            doc.pop("suspension_limit", None)
            if data["status"] != "suspended":  # restored, reinstated or ended: nothing conditional remains
                doc["conditional_withdrawal"] = None
            entry = {"status": data["status"], "at": at, "effective_from": data["effective_from"],
                     "revision": doc["revision"], "decision_id": data["decision_id"] or None}
            if data.get("appeal_id"):  # a reinstatement names the appeal it corrects (R46)
                entry["appeal_id"] = data["appeal_id"]
            doc["history"].append(entry)
        elif message.type == CERTIFICATE_REVISED:
            old = doc["revisions"][-1]
            old["status"] = "superseded"
            doc["history"].append(
                {"status": "superseded", "at": at, "effective_from": data["effective_from"],
                 "revision": old["revision"], "decision_id": data["decision_id"]}
            )
            doc["documents"] = data["documents"]
            doc["transitions"] = _pending(doc["transitions"], data["documents"])
            if doc.get("transitions_overdue"):  # R50: a revision that moves the certificate ends its flag
                held = {(d["kind"], d["ref"], d["version"]) for d in data["documents"]}
                doc["transitions_overdue"] = [t for t in doc["transitions_overdue"]
                                              if (t["kind"], t["ref"], t["version"]) not in held]
            doc["appeal_upheld"] = None
            doc["suspension"] = None  # the new revision is active
            doc.pop("suspension_limit", None)
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
        elif message.type == CERTIFICATE_TRANSITION_OVERDUE:
            # R50, staff only (the public view shows the transition, not the proposal it leads to).
            doc["transitions_overdue"] = [*doc.get("transitions_overdue", []), {
                k: data[k] for k in ("kind", "ref", "version", "from_version", "deadline")}]
        elif message.type == CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED:
            doc["withdrawal_proposed"] = True
            doc["suspension_limit"] = data["limit"]
        elif message.type == CERTIFICATE_WARNED:
            doc["warnings"] = [*doc.get("warnings", []), {"decision_id": data["decision_id"],
                                                          "on": data["effective_from"], "rationale": data["reason"]}]
        elif message.type == CERTIFICATE_CONDITIONALLY_WITHDRAWN:
            doc["conditional_withdrawal"] = {"decision_id": data["decision_id"], "since": data["effective_from"],
                                             "deadline": data["deadline"], "conditions": data["conditions"],
                                             "overdue": False}
        elif message.type == CERTIFICATE_CONDITIONAL_WITHDRAWAL_LIFTED:
            doc["conditional_withdrawal"] = None
        elif message.type == CERTIFICATE_CONDITIONAL_WITHDRAWAL_OVERDUE:
            doc["conditional_withdrawal"] = {**(doc.get("conditional_withdrawal") or {}), "overdue": True}
        elif message.type == CERTIFICATE_DECISION_NOT_APPLIED:
            doc["unapplied_decisions"].append({"decision_id": data["decision_id"], "problem": data["problem"],
                                               "detail": data["reason"]})
        else:
            return
        self._write(c, doc, insert=False)
        self._changed(c, message, before, doc)

    def _changed(self, c: Cursor, message: Message, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        for hook in self.on_change:
            hook(c, message, before, after)

    def _transition(self, c: Cursor, scheme: str, document: dict[str, Any]) -> None:
        """7.10: a new TRA/PTV version gives the scheme's certificates on an older one a transition deadline."""
        if document.get("transition_deadline"):  # before the certificates below are written (their due_on)
            c.execute("INSERT INTO scheme_deadlines (scheme, kind, ref, version, deadline) VALUES (?, ?, ?, ?, ?)"
                      " ON CONFLICT DO NOTHING", (scheme, document["kind"], document["ref"], document["version"],
                                                  document["transition_deadline"]))
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
        self._touched += [doc["number"], doc["quick_code"]]
        holder_words, other_words = _holder_words(doc), _other_words(doc)
        holder, search = " ".join(holder_words), " ".join(holder_words + other_words)
        stored = json.dumps(doc, sort_keys=True)
        # The public view from the stored document, as the lookup builds it: the same bytes, key order included.
        values = [doc["application_id"], holder, doc["status"], doc["scheme"], doc["mark"],
                  doc["quick_code"], search, int(bool(attention(doc))), self._due_on(c, doc), stored,
                  public_json(json.loads(stored))]
        columns = "application_id, holder, status, scheme, mark, quick_code, search, attention, due_on, doc, public"
        postgres = self.db.dialect == "postgres"
        if postgres:
            values.append(_tsvector(holder_words, other_words))
            columns += ", terms"
        indexed = None
        if not insert:  # FTS5 and the postings forget the words they held, given exactly
            c.execute("SELECT seq, search, holder FROM certificates WHERE number = ?", (doc["number"],))
            indexed = c.fetchone()
        if insert:
            marks = ", ".join("CAST(? AS tsvector)" if name == "terms" else "?" for name in columns.split(", "))
            c.execute(f"INSERT INTO certificates ({columns}, number, number_order) VALUES ({marks}, ?, ?)"
                      + (" RETURNING seq" if postgres else ""), (*values, doc["number"], number_order(doc["number"])))
            if postgres:
                indexed = (c.fetchone()[0], "", "")  # the new row's seq; no words held yet
        else:
            sets = ", ".join(f"{name} = CAST(? AS tsvector)" if name == "terms" else f"{name} = ?"
                             for name in columns.split(", "))
            c.execute(f"UPDATE certificates SET {sets} WHERE number = ?", (*values, doc["number"]))
        if indexed is not None and (indexed[1], indexed[2]) == (search, holder):
            return  # the words did not change
        if postgres:  # the GIN index follows the row; the postings and the words are kept here
            assert indexed is not None
            seq, before, after = indexed[0], set(indexed[1].split()), set(search.split())
            if before - after:
                c.execute("DELETE FROM certificate_postings WHERE seq = ? AND word = ANY(?)",
                          (seq, sorted(before - after)))
                c.execute("UPDATE certificate_words SET postings = postings - 1 WHERE word = ANY(?)",
                          (sorted(before - after),))
            if after - before:
                c.execute("INSERT INTO certificate_postings (word, seq) SELECT unnest(CAST(? AS text[])), ?",
                          (sorted(after - before), seq))
                c.execute("INSERT INTO certificate_words (word, postings) SELECT unnest(CAST(? AS text[])), 1"
                          " ON CONFLICT (word) DO UPDATE SET postings = certificate_words.postings + 1",
                          (sorted(after - before),))
            return
        if indexed is not None:
            c.execute("INSERT INTO certificates_fts (certificates_fts, rowid, search, holder)"
                      " VALUES ('delete', ?, ?, ?)", tuple(indexed))
        c.execute("INSERT INTO certificates_fts (rowid, search, holder)"
                  " SELECT seq, search, holder FROM certificates WHERE number = ?", (doc["number"],))
        # Words are kept once seen (a word no certificate holds any more expands to nothing in FTS5).
        c.executemany("INSERT OR IGNORE INTO certificate_words (word) VALUES (?)",
                      [(w,) for w in sorted(set(search.split()))])

    def _due_on(self, c: Cursor, doc: dict[str, Any]) -> str | None:
        """The first day on which the registry's sweep may have something to do for an active certificate:
        the day after the earliest of its validity's end (expiry), its surveillance due date (7.9), a
        conditional withdrawal's deadline (R43) and the transition deadline of every version of a document it
        holds that it does not refer to (R50, as the registry checks it: from every version published with a
        deadline, including one published before the certificate was issued). A date stays in even once
        flagged, so the certificate is visited until the date moves (the registry flags once). None for a
        certificate the sweep never visits for a date: expired, withdrawn, and suspended (visited every time:
        its limit is the scheme's, R6, R44)."""
        if doc["status"] != "active":
            return None
        pending = doc.get("conditional_withdrawal") or {}
        days = [str(day) for day in (doc["valid_until"], doc.get("surveillance_due"), pending.get("deadline")) if day]
        held = {(d["kind"], d["ref"]): d["version"] for d in doc["documents"]}
        c.execute("SELECT kind, ref, version, deadline FROM scheme_deadlines WHERE scheme = ?", (doc["scheme"],))
        days += [deadline for kind, ref, version, deadline in c.fetchall()
                 if (kind, ref) in held and held[(kind, ref)] != version]
        return (date.fromisoformat(min(days)[:10]) + timedelta(days=1)).isoformat()

    def due(self, today: date) -> list[str]:
        """The certificates the registry's sweep visits today (R6, R43, R44, R50, 7.9): every suspended one and
        every active one whose ``due_on`` has come, in number order; not the whole register every hour."""
        with self.db.read() as c:
            c.execute("SELECT number FROM certificates WHERE due_on <= ? OR status = 'suspended'"
                      " ORDER BY number_order", (today.isoformat(),))
            return [r[0] for r in c.fetchall()]

    # -- reading ----------------------------------------------------------------------------------

    def cached(self, number_or_quick_code: str) -> dict[str, Any] | None:
        """``get`` through the lookup's cache (the public lookup's hot path). Callers must not change
        the document they get."""
        hit = self.cache_hit(number_or_quick_code)
        if hit is not None:
            return hit
        now = time.monotonic()
        with self._cache_lock:
            generation = self._cache_generation
        doc = self.get(number_or_quick_code)
        if doc is not None:
            with self._cache_lock:
                if generation == self._cache_generation:  # no change was committed during the read
                    for key in (doc["number"], doc["quick_code"]):
                        self._cache[key] = (doc, now)
                        self._cache.move_to_end(key)
                    while len(self._cache) > self.CACHE_SIZE:
                        self._cache.popitem(last=False)
        return doc

    def cache_hit(self, number_or_quick_code: str) -> dict[str, Any] | None:
        """The cached document, if there is a fresh one (no database read)."""
        with self._cache_lock:
            hit = self._cache.get(number_or_quick_code)
            if hit is not None and (self.cache_seconds is None or time.monotonic() - hit[1] < self.cache_seconds):
                self._cache.move_to_end(number_or_quick_code)
                return hit[0]
        return None

    def _forget(self, keys: list[str] | None) -> None:
        """After a commit: the changed certificates (or, with None, every one) leave the cache."""
        if keys == []:
            return  # nothing changed: reads in flight may keep what they read
        with self._cache_lock:
            self._cache_generation += 1
            if keys is None:
                self._cache.clear()
            for key in keys or ():
                self._cache.pop(key, None)

    def apply(self, message: Any) -> None:
        self._touched = []
        try:
            super().apply(message)
        finally:
            self._forget(self._touched)

    def retry_parked(self, message: Any, actor: str, reason: str) -> None:
        self._touched = []
        try:
            super().retry_parked(message, actor, reason)
        finally:
            self._forget(self._touched)

    def drop(self) -> None:
        super().drop()
        self._forget(None)

    # get, and _search's exact case: the document, or its public view's text
    _BY_KEY = "SELECT {} FROM certificates WHERE number = ? OR quick_code = ?"

    def get(self, number_or_quick_code: str) -> dict[str, Any] | None:
        row = self.db.read_row(self._BY_KEY.format("doc"), (number_or_quick_code, number_or_quick_code))
        return None if row is None else json.loads(row[0])

    def search(
        self, *, application_id: str | None = None, holder: str | None = None, status: str | None = None,
        scheme: str | None = None, mark: str | None = None, q: str | None = None, after: str | None = None,
        needs_attention: bool = False, limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Certificates matching every filter given. Without ``holder`` or ``q`` in number order
        (``number_order``); with
        them (a text search) in the order the register issued them. ``after`` is where the previous page
        ended, as ``page`` gives it."""
        return [doc for _, doc in self.db.run(self._search(
            application_id=application_id, holder=holder, status=status, scheme=scheme, mark=mark, q=q,
            after=after, needs_attention=needs_attention, limit=limit))]

    def page(
        self, *, limit: int, after: str | None = None, **filters: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``search``, and where the next page starts after (None on the last page)."""
        return self._paged(self.db.run(self._search(after=after, limit=limit + 1, **filters)), limit)

    async def apage(
        self, *, limit: int, after: str | None = None, **filters: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """``page`` for a request handler on the event loop (the public directory): the same plan, run
        inline on SQLite and through the asynchronous driver on PostgreSQL (``ViewDatabase.arun``)."""
        return self._paged(await self.db.arun(self._search(after=after, limit=limit + 1, **filters)), limit)

    async def apublic_page(
        self, *, limit: int, after: str | None = None, **filters: Any
    ) -> tuple[list[str], str | None]:
        """``apage`` with each certificate's public view (R9) as the JSON text kept with it (``public_json``):
        the public directory's page, with no document to parse and no view to build per request."""
        return self._paged(await self.db.arun(self._search(after=after, limit=limit + 1, document="public",
                                                           **filters)), limit)

    @staticmethod
    def _paged(rows: list[tuple[str, Any]], limit: int) -> tuple[list[Any], str | None]:
        return [doc for _, doc in rows[:limit]], (rows[limit - 1][0] if len(rows) > limit else None)

    def _search(
        self, *, application_id: str | None = None, holder: str | None = None, status: str | None = None,
        scheme: str | None = None, mark: str | None = None, q: str | None = None, after: str | None = None,
        needs_attention: bool = False, limit: int = 100, document: str = "doc",
    ) -> Plan[list[tuple[str, Any]]]:
        """A plan (shared.views.Plan) of (position, document) pairs: the position is the number, or for a
        text search '~' and the seq. The document is the certificate's (``doc``), or with ``document="public"``
        its public view's JSON text."""
        if document not in ("doc", "public"):
            raise ValueError(f"no such document column: {document}")
        read: Callable[[str], Any] = json.loads if document == "doc" else str
        texts = [(column, words(text)) for column, text in (("holder", holder), ("search", q)) if text]
        if any(not wanted for _, wanted in texts):
            return []  # nothing to look for ('%', '-'): nothing matches, as a search for it in words
        ranked = bool(texts)
        if ranked and after is not None and not (after.startswith("~") and after[1:].isdigit()):
            raise InvalidCommand("cursor is not one this search gave out; start again without it")
        if not ranked and after is not None and after.startswith("~"):
            raise InvalidCommand("cursor is not one this listing gave out; start again without it")
        key = (q or "").strip().upper()  # a whole number or quick code (one word): that certificate, by key
        if key and len(key.split()) == 1 and not (application_id or holder or status or scheme or mark or needs_attention):
            exact = yield self._BY_KEY.format(document), (key, key)
            if exact:
                return [] if after is not None else [("~0", read(exact[0][0]))]
        where, params = [], []
        if needs_attention:
            where.append("c.attention = 1")
        for column, value in (("application_id", application_id), ("status", status), ("scheme", scheme),
                              ("mark", mark)):
            if value:
                where.append(f"c.{column} = ?")
                params.append(value)
        postgres = self.db.dialect == "postgres"
        if not ranked:
            if after:
                where.append("c.number_order > ?")
                params.append(number_order(after))
            # The numbers of the page first, then their documents: sorting the matches never carries them.
            numbers = "SELECT c.number FROM certificates c" + (" WHERE " + " AND ".join(where) if where else "")
            sql = (f"SELECT number, {document} FROM certificates WHERE number IN ({numbers} ORDER BY c.number_order"
                   " LIMIT ?) ORDER BY number_order")
            rows = yield sql, [*params, limit]
            return [(r[0], read(r[1])) for r in rows]
        start = int(after[1:]) if after else 0
        expanded = yield from self._expand(texts)
        if expanded is None:
            return []  # a word that begins no indexed word: nothing matches
        terms = [term for _, asked in expanded for term in asked]
        if postgres and all(column == "search" for column, _ in expanded) and all(t.postings is not None for t in terms):
            rows = yield self._page_postings(terms, where, params, start, limit, document)  # not by holder, no common prefix
        elif postgres:
            rows = yield self._page_postgres(expanded, where, params, start, limit, document)
        else:  # FTS5 walks its lists in rowid (seq) order and stops at the page
            match = " AND ".join(
                f"({column} : (" + " AND ".join(f'"{w[0]}"*' if prefix else "(" + " OR ".join(f'"{x}"' for x in w) + ")"
                                                for prefix, w, _ in words) + "))"
                for column, words in expanded)
            rows = yield ((f"SELECT c.seq, c.{document} FROM certificates_fts f JOIN certificates c ON c.seq = f.rowid"
                           f" WHERE {' AND '.join(['certificates_fts MATCH ?', 'f.rowid > ?', *where])}"
                           " ORDER BY f.rowid LIMIT ?"), [match, start, *params, limit])
        return [(f"~{r[0]}", read(r[1])) for r in rows]

    # PostgreSQL: the next rows in seq order that a text search looks at one by one before it asks the
    # GIN index for the rest (see _page_postgres).
    WALK = 2000

    def _page_postgres(self, expanded: list[tuple[str, list[Term]]], where: list[str],
                       params: list[Any], start: int, limit: int, document: str) -> tuple[str, list[Any]]:
        """A page of a text search on PostgreSQL, in one statement, whatever the words' frequency, in two
        bounded steps. Words many certificates hold fill the page from the next WALK rows in seq order (the
        planner, guessing a prefix's frequency, would otherwise walk the whole table for a word nobody
        holds); words few hold are found after them through the GIN index, asked only when the walk left
        the page short, which then gives at most about limit / WALK of the register, sorted (``seq + 0``:
        not the walk again). The page's documents come in the same round trip."""
        matching, values = list(where), list(params)
        for column, words in expanded:  # holder words are those of weight A
            weight = "A" if column == "holder" else ""
            matching.insert(0, "c.terms @@ CAST(? AS tsquery)")
            values.insert(0, " & ".join(
                f"'{w[0]}':*{weight}" if prefix else "(" + " | ".join(f"'{x}':{weight}" if weight else f"'{x}'"
                                                                    for x in w) + ")"
                for prefix, w, _ in words))
        conditions = " AND ".join(matching)
        sql = (
            # walked is read lazily: up to the page's last match, or to its end when the page is short
            "WITH walked AS (SELECT c.seq, c.terms, c.status, c.scheme, c.mark, c.attention, c.application_id"
            " FROM certificates c WHERE c.seq > ? ORDER BY c.seq LIMIT ?),"
            f" early AS (SELECT c.seq FROM walked c WHERE {conditions} ORDER BY c.seq LIMIT ?),"
            f" late AS (SELECT c.seq FROM certificates c WHERE {conditions}"
            "  AND c.seq > (SELECT max(seq) FROM walked) AND (SELECT count(*) FROM early) < ?"
            "  ORDER BY c.seq + 0 LIMIT ?)"
            f" SELECT seq, {document} FROM certificates WHERE seq IN (SELECT seq FROM early UNION ALL SELECT seq FROM late)"
            " ORDER BY seq LIMIT ?")
        return sql, [start, self.WALK, *values, limit, *values, limit, limit, limit]

    # PostgreSQL: a query word asked as a prefix (it begins more than EXPANSION words) whose longer words have
    # at most this many postings is read from the postings, its own in order and theirs sorted; one with more
    # sends the search to the walk and the GIN index (_page_postgres), where a common prefix fills the page
    # from the first rows walked.
    PREFIX_POSTINGS = 5000
    # PostgreSQL: a query word whose words have more than this many times the postings of the rarest word of
    # the search is checked certificate by certificate (an index probe per word) rather than read along.
    MERGE_RATIO = 10

    def _page_postings(self, terms: list[Term], where: list[str], params: list[Any], start: int, limit: int,
                       document: str) -> tuple[str, list[Any]]:
        """A page of a text search on PostgreSQL from the postings, in one statement, reading little more
        than the page whatever the words' frequency. The rarest query word's certificates are read in seq
        order (each word it begins from the (word, seq) index, merged), and along with them, in the same order,
        those of the query words at most MERGE_RATIO times as frequent (a merge join, which stops at the page);
        each certificate found is then checked against the more frequent words, an index probe per word, which
        costs less than reading their long lists along. A certificate row is read only for the page (or, with
        a filter on status, mark or scheme, for the certificates found)."""
        rarest, *others = sorted(terms, key=lambda term: term.postings)  # every count known (_search)
        bound = self.MERGE_RATIO * max(rarest.postings, 1)
        along, checked = [rarest], []
        for term in others:  # a prefix is read along: its longer words have no index probe
            (along if term.prefix or term.postings <= bound else checked).append(term)
        values: list[Any] = []

        def read_along(term: Term) -> str:  # the term's certificates in seq order (legs kept whole: merged)
            if term.prefix:  # the word itself in index order, the longer words it begins sorted
                values.extend([term.words[0], start, term.words[0], term.words[0] + "\U0010ffff", start])
                return ("(SELECT seq FROM certificate_postings WHERE word = ? AND seq > ? ORDER BY seq) UNION ALL"
                        " (SELECT seq FROM certificate_postings WHERE word > ? AND word < ? AND seq > ? ORDER BY seq)")
            values.extend(x for word in term.words for x in (word, start))
            return " UNION ALL ".join(
                ["(SELECT seq FROM certificate_postings WHERE word = ? AND seq > ? ORDER BY seq)"] * len(term.words))

        found = f"({read_along(along[0])}) t0" + "".join(
            f" JOIN ({read_along(term)}) t{i} USING (seq)" for i, term in enumerate(along[1:], 1))
        conditions = ["EXISTS (SELECT FROM certificate_postings p WHERE p.word = ANY(?) AND p.seq = t0.seq)"] * len(checked)
        values += [term.words for term in checked]
        if where:
            found += " JOIN certificates c ON c.seq = t0.seq"
            conditions += where
            values += params
        matches = (f"SELECT DISTINCT ON (t0.seq) t0.seq FROM {found}"
                   + (" WHERE " + " AND ".join(conditions) if conditions else "") + " ORDER BY t0.seq LIMIT ?")
        return f"SELECT seq, {document} FROM certificates WHERE seq IN ({matches}) ORDER BY seq", [*values, limit]

    def _expand(self, texts: list[tuple[str, list[str]]]) -> Plan[list[tuple[str, list[Term]]] | None]:
        """Per column searched, every query word as a Term: the indexed words it begins; or, when it begins
        more than EXPANSION of them, itself as a prefix. None when a word begins none. On PostgreSQL with
        the postings of those words: for a prefix, those of the longer words it begins counted up to
        PREFIX_POSTINGS + 1 from the postings' index (read only for a word that begins more than EXPANSION: a
        one-time filter), and None when there are more. One round trip for all the words.

        Asked as words, the indexes walk a word's list lazily and stop at a page (FTS5, the postings), or
        read exact entries (GIN); asked as a prefix, they first merge the lists of every word it begins, which
        for a common prefix costs a large part of the register (21 ms for 'pave' on FTS5, 145 ms for three
        prefixes on GIN, at 1,000,000 certificates)."""
        asked = [word for _, wanted in texts for word in wanted]
        postgres = self.db.dialect == "postgres"
        begins = "FROM certificate_words WHERE word >= ? AND word < ?"
        legs, values = [], []
        for i, word in enumerate(asked):
            bounds = [word, word + "\U0010ffff"]
            legs.append(f"SELECT * FROM (SELECT {i}, word, {'postings' if postgres else 0} {begins} ORDER BY word LIMIT ?) w")
            values += [*bounds, self.EXPANSION + 1]
            if postgres:  # a prefix's longer words' postings: a row with no word (read only for a prefix)
                legs.append(f"SELECT {i}, NULL, count(*) FROM (SELECT 1 FROM certificate_postings"
                            " WHERE word > ? AND word < ? LIMIT ?) p"
                            f" WHERE (SELECT count(*) FROM (SELECT 1 {begins} LIMIT ?) e) > ?")
                values += [*bounds, self.PREFIX_POSTINGS + 1, *bounds, self.EXPANSION + 1, self.EXPANSION]
        rows = yield " UNION ALL ".join(legs), values
        begun: list[list[tuple[str, int]]] = [[] for _ in asked]
        prefixed: dict[int, int | None] = {}
        for i, word, count in rows:
            if word is None:
                prefixed[i] = None if count > self.PREFIX_POSTINGS else count
            else:
                begun[i].append((word, count))
        if not all(begun):
            return None
        def prefix(i: int, word: str) -> Term:  # its own postings (if it is a word) and its longer words'
            longer = prefixed.get(i)
            return Term(True, [word], None if longer is None else longer + dict(begun[i]).get(word, 0))

        terms = [prefix(i, word) if len(begun[i]) > self.EXPANSION
                 else Term(False, [w for w, _ in begun[i]], sum(count for _, count in begun[i]))
                 for i, word in enumerate(asked)]
        found = iter(terms)
        return [(column, [next(found) for _ in wanted]) for column, wanted in texts]

    def snapshot(self) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT doc FROM certificates ORDER BY number_order")
            return [json.loads(r[0]) for r in c.fetchall()]

