"""The holder's dossier: every certification file of a holder as the holder may see it.

Per file: its application (review, agreement, consultancy declaration, requests), its audits with team,
findings, samples and laboratory results, corrective actions, the report and the holder's comments on
it, the decisions and appeals on it, and its certificates with status and validity. Every ``Audit.*``
event of the file is kept, whatever its type, under its audit (by the audit's ``application_id``), so
that what audits records reaches the holder without this view knowing each kind.

R22: the dossier never shows what the holder must not see: the auditors' impartiality declarations
(the ``declaration`` of ``Audit.TeamMemberAssigned``) and anything of a complaint (``Complaint.*``
events are not kept, and no event's ``complaint_id`` is shown): the complainant is protected. Nor an appeal
committee's deliberation: each member's vote (``Appeal.VoteRecorded``) is for staff and assessors; the holder sees
the composition and the outcome (ADR 0019).

Rows hold names sealed, as the trail does (ADR 0011): erasing a person erases them here too. The view
is disposable: ``hallmark rebuild --view holder`` replays every service's events into it.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from shared.contract.types import (
    APPEAL_LODGED,
    APPEAL_VOTE_RECORDED,
    APPLICATION_SUBMITTED,
    AUDIT_PLANNED,
    CERTIFICATE_ISSUED,
    DECISION_RECORDED,
)
from shared.evidence.entry import Seal, no_seal, recorded_at
from shared.messages import Message, canonical_json
from shared.views import Cursor, View, ViewDatabase

# The aggregates whose events make up a file; a Complaint's never do (R22).
FILE_AGGREGATES = ("Application", "Audit", "Decision", "Appeal", "Certificate")
# Events that open a subject of another service and say which file it belongs to.
_OPENERS = (AUDIT_PLANNED, DECISION_RECORDED, APPEAL_LODGED, CERTIFICATE_ISSUED)
# Keys the holder never sees, wherever they occur in an event's data (R22).
HIDDEN = frozenset({"declaration", "complaint_id"})
# Events the holder never sees: the committee members' votes on an appeal (ADR 0019).
HIDDEN_TYPES = frozenset({APPEAL_VOTE_RECORDED})
_ABOUT = frozenset({"actor", "reason"})


def organisation_key(registration_number: str) -> str:
    """One form of a company registration number, as the applications service compares them (R18)."""
    return "".join(ch for ch in registration_number.upper() if ch.isalnum())


def shown(data: Any) -> Any:
    """The data without what the holder must not see (R22)."""
    if isinstance(data, dict):
        return {k: shown(v) for k, v in data.items() if k not in HIDDEN}
    if isinstance(data, list):
        return [shown(v) for v in data]
    return data


class HolderView(View):
    name = "holder"
    tables = ("holder_events", "holder_links", "holder_files")
    version = 1

    def __init__(self, db: ViewDatabase, vault: Any = None) -> None:
        self.seal: Seal = vault.seal_data if vault else no_seal
        self.open: Seal = vault.open_data if vault else no_seal
        super().__init__(db)

    def schema(self) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS holder_files (application_id TEXT PRIMARY KEY, organisation TEXT NOT NULL,"
            " holder TEXT NOT NULL, scheme TEXT NOT NULL, submitted_at TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS holder_files_by_organisation ON holder_files"
            " (organisation, submitted_at, application_id)",
            "CREATE INDEX IF NOT EXISTS holder_files_by_time ON holder_files (submitted_at, application_id)",
            "CREATE TABLE IF NOT EXISTS holder_links (subject TEXT PRIMARY KEY, application_id TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS holder_events (seq {self.db.serial_primary_key},"
            " event_id TEXT NOT NULL UNIQUE, application_id TEXT NOT NULL, at TEXT NOT NULL, type TEXT NOT NULL,"
            " subject TEXT NOT NULL, data TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS holder_events_by_file ON holder_events (application_id, seq)",
        ]

    # -- writing ----------------------------------------------------------------------------------

    def handle(self, c: Cursor, message: Message) -> None:
        if message.aggregate not in FILE_AGGREGATES or message.type in HIDDEN_TYPES:
            return  # schemes, complaints (R22), the appeal committee's votes
        application_id = self._file_of(c, message)
        if not application_id:
            return
        at = recorded_at(message.time)
        if message.type == APPLICATION_SUBMITTED:
            applicant = message.data["applicant"]
            holder = {"name": applicant["name"], "registration_number": applicant["registration_number"]}
            c.execute("INSERT INTO holder_files (application_id, organisation, holder, scheme, submitted_at)"
                      " VALUES (?, ?, ?, ?, ?) ON CONFLICT (application_id) DO NOTHING",
                      (application_id, organisation_key(applicant["registration_number"]), canonical_json(holder),
                       message.data["scheme"], at))
        c.execute("INSERT INTO holder_events (event_id, application_id, at, type, subject, data)"
                  " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                  (message.id, application_id, at, message.type, message.subject,
                   canonical_json(self.seal(shown(message.data)))))

    def _file_of(self, c: Cursor, message: Message) -> str | None:
        if message.aggregate == "Application":
            return message.subject
        if message.type in _OPENERS:
            application_id = message.data.get("application_id")
            if application_id:
                c.execute("INSERT INTO holder_links (subject, application_id) VALUES (?, ?)"
                          " ON CONFLICT (subject) DO NOTHING", (message.subject, application_id))
            return application_id
        c.execute("SELECT application_id FROM holder_links WHERE subject = ?", (message.subject,))
        row = c.fetchone()
        return row[0] if row else None

    # -- reading ----------------------------------------------------------------------------------

    def files(
        self, *, organisation: str | None, after: tuple[str, str] | None, limit: int
    ) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
        """A page of files in the order submitted, of one holder (``organisation``) or of all: each as a
        summary. Returns the page and where the next one starts (None: this was the last)."""
        sql = "SELECT application_id, holder, scheme, submitted_at FROM holder_files WHERE 1 = 1"
        params: list[Any] = []
        if organisation is not None:
            sql += " AND organisation = ?"
            params.append(organisation_key(organisation))
        if after is not None:
            sql += " AND (submitted_at > ? OR (submitted_at = ? AND application_id > ?))"
            params += [after[0], after[0], after[1]]
        sql += " ORDER BY submitted_at, application_id LIMIT ?"
        params.append(limit + 1)
        with self.db.read() as c:
            c.execute(sql, params)
            rows = c.fetchall()
            events = self._events(c, [r[0] for r in rows[:limit]])
        page = [summary(dossier(r[0], json.loads(r[1]), events.get(r[0], []))) for r in rows[:limit]]
        last = (rows[limit - 1][3], rows[limit - 1][0]) if len(rows) > limit else None
        return page, last

    def file(self, application_id: str) -> dict[str, Any] | None:
        """One file's dossier, with ``organisation`` (the holder's registration number, folded) for R18."""
        with self.db.read() as c:
            c.execute("SELECT holder, organisation FROM holder_files WHERE application_id = ?", (application_id,))
            row = c.fetchone()
            if row is None:
                return None
            events = self._events(c, [application_id]).get(application_id, [])
        return {**dossier(application_id, json.loads(row[0]), events), "organisation": row[1]}

    def _events(self, c: Cursor, application_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        wanted = list(application_ids)
        if not wanted:
            return {}
        c.execute(f"SELECT application_id, at, type, subject, data FROM holder_events WHERE application_id IN"
                  f" ({', '.join('?' for _ in wanted)}) ORDER BY seq", wanted)
        found: dict[str, list[dict[str, Any]]] = {}
        for application_id, at, type_, subject, data in c.fetchall():
            found.setdefault(application_id, []).append(
                {"at": at, "type": type_, "subject": subject, "data": self.open(json.loads(data))})
        return found


# -- the dossier, folded from the file's events -----------------------------------------------------------


def _facts(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _ABOUT}


def dossier(application_id: str, holder: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The file as the holder sees it: what each record says now, and every step in order (``timeline``)."""
    file: dict[str, Any] = {"application_id": application_id, "holder": holder, "application": None,
                            "audits": {}, "decisions": {}, "appeals": {}, "certificates": {}, "timeline": []}
    for event in events:
        data, (aggregate, name) = event["data"], event["type"].split(".", 1)
        file["timeline"].append({"at": event["at"], "type": event["type"], "subject": event["subject"],
                                 "actor": data.get("actor"), "reason": data.get("reason")})
        try:
            FOLDS[aggregate](file, name, event)
        except (KeyError, TypeError, AttributeError):
            pass  # a shape this view does not know: the step is still in the timeline (and under its audit)
    application = file["application"]
    if application is not None:
        application["requests"] = list(application["requests"].values())
    for audit in file["audits"].values():
        audit["findings"] = list(audit["findings"].values())
        audit["samples"] = list(audit["samples"].values())
    for key in ("audits", "decisions", "appeals", "certificates"):
        file[key] = list(file[key].values())
    return file


def summary(file: dict[str, Any]) -> dict[str, Any]:
    """What a listing shows of a file."""
    application = file["application"] or {}
    return {
        "application_id": file["application_id"], "holder": file["holder"], "scheme": application.get("scheme"),
        "status": application.get("status"), "submitted_at": application.get("submitted_at"),
        "production_unit": application.get("production_unit"),
        "certificates": [{k: c.get(k) for k in ("number", "revision", "status", "valid_from", "valid_until")}
                         for c in file["certificates"]],
        "open_findings": sum(1 for a in file["audits"] for f in a["findings"] if f.get("status") == "open"),
        "open_requests": sum(1 for r in application.get("requests", []) if r.get("status") == "open"),
        "last_activity": file["timeline"][-1]["at"] if file["timeline"] else None,
    }


def _application(file: dict[str, Any], name: str, event: dict[str, Any]) -> None:
    data, application = event["data"], file["application"]
    if name == "Submitted":
        agreement = data.get("agreement")
        file["application"] = {
            "id": file["application_id"], "status": "submitted", "submitted_at": event["at"],
            **{k: data.get(k) for k in ("scheme", "scheme_documents", "applicant", "production_unit", "products",
                                        "scope", "consultancy", "submitted_by")},
            "review": None, "agreement": agreement, "agreements": [agreement] if agreement else [], "requests": {},
        }
    elif name == "Reviewed":
        application["status"] = data["outcome"]
        application["review"] = {"outcome": data["outcome"], "by": data["actor"], "on": data.get("reviewed_on"),
                                 "reason": data["reason"]}
    elif name == "InformationSupplied":
        application["status"] = "submitted"
    elif name == "Decided":
        application["status"] = {"grant": "granted", "refuse": "refused"}.get(data["outcome"], application["status"])
    elif name == "Withdrawn":
        application["status"] = "withdrawn"
    elif name == "AgreementAccepted":
        application["agreement"] = {k: data[k] for k in ("conditions_version", "licence_version", "accepted_on")}
        application["agreements"].append(application["agreement"])
    elif name == "ConsultancyDeclared":
        application["consultancy"] = data["consultancy"]
    elif name == "ChangeRequested":
        application["requests"][data["request_id"]] = {
            **_facts(data), "requested_by": data["actor"], "reason": data["reason"], "status": "open",
            "decision": None}
    elif name == "ChangeRequestDecided":
        request = application["requests"][data["request_id"]]
        request["status"] = "decided"
        request["decision"] = {"decision_id": data["decision_id"], "outcome": data["outcome"]}


def _audit(file: dict[str, Any], name: str, event: dict[str, Any]) -> None:
    data, subject = event["data"], event["subject"]
    if name == "Planned":
        file["audits"][subject] = {
            "id": subject, "status": "planned", "team": [], "findings": {}, "samples": {}, "report": None,
            "report_comments": [], "events": [],
            **{k: data.get(k) for k in ("kind", "certificate_number", "planned_start", "planned_end", "items")},
        }
    audit = file["audits"][subject]
    # Every step of the audit, whatever its kind (samples, results, corrective actions, comments...).
    audit["events"].append({"at": event["at"], "type": event["type"], "actor": data.get("actor"),
                            "reason": data.get("reason"), "data": _facts(data)})
    if name == "TeamMemberAssigned":
        audit["team"].append({"person": data["person"], "role": data["role"], "assigned_on": data.get("declared_on")})
    elif name == "FindingRecorded":
        audit["findings"][data["finding_id"]] = {**_facts(data), "status": "open", "recorded_by": data["actor"],
                                                 "closure": None, "corrective_actions": []}
    elif name == "FindingClosed":
        finding = audit["findings"][data["finding_id"]]
        finding["status"] = "closed"
        finding["closure"] = {"evidence": data.get("evidence"), "by": data["actor"], "on": data.get("closed_on")}
    elif name == "Reported":
        audit["status"] = "reported"
        audit["report"] = data["report"]
    elif name == "ReportCommented":
        audit["report_comments"].append({**_facts(data), "by": data["actor"]})
    elif name == "SampleTaken":
        audit["samples"][data["sample_id"]] = {**_facts(data), "taken_by": data["actor"], "results": []}
    elif name == "SampleResultRecorded":
        audit["samples"][data["sample_id"]]["results"].append({**_facts(data), "recorded_by": data["actor"]})
    elif name == "CorrectiveActionSubmitted":
        audit["findings"][data["finding_id"]]["corrective_actions"].append(
            {**_facts(data), "submitted_by": data["actor"], "review": None})
    elif name == "CorrectiveActionReviewed":
        for action in audit["findings"][data["finding_id"]]["corrective_actions"]:
            if action.get("corrective_action_id") == data.get("corrective_action_id"):
                action["review"] = {**_facts(data), "by": data["actor"]}


def _decision(file: dict[str, Any], name: str, event: dict[str, Any]) -> None:
    data = event["data"]
    if name == "Recorded":
        file["decisions"][event["subject"]] = {
            "id": event["subject"], "decided_by": data["actor"],
            **{k: data.get(k) for k in ("outcome", "certificate_number", "basis", "rationale", "effective_from",
                                        "decided_on", "scope", "products")},
        }


def _appeal(file: dict[str, Any], name: str, event: dict[str, Any]) -> None:
    data, subject = event["data"], event["subject"]
    if name == "Lodged":
        file["appeals"][subject] = {
            "id": subject, "status": "lodged", "lodged_by": data["actor"], "outcome": None, "rationale": None,
            "committee": [], **{k: data.get(k) for k in ("decision_id", "contested_outcome", "appellant", "grounds",
                                                         "certificate_number")},
        }
    elif name == "Decided":
        appeal = file["appeals"][subject]
        appeal.update(status="decided", outcome=data["outcome"], rationale=data.get("rationale"),
                      committee=data.get("committee", []))


def _certificate(file: dict[str, Any], name: str, event: dict[str, Any]) -> None:
    data = event["data"]
    if name == "Issued":
        file["certificates"][event["subject"]] = {
            "revision": 1, "status": "active", "status_since": data["valid_from"], "history": [],
            **{k: data.get(k) for k in ("number", "quick_code", "scheme", "mark", "scope", "products", "valid_from",
                                        "valid_until", "surveillance_due", "production_unit")},
        }
    certificate = file["certificates"][event["subject"]]
    if name == "StatusChanged":
        certificate.update(status=data["status"], status_since=data["effective_from"])
    elif name == "Revised":
        certificate.update(revision=data["revision"], scope=data["scope"], valid_until=data["valid_until"],
                           surveillance_due=data.get("surveillance_due"), status="active",
                           status_since=data["effective_from"])
        if data.get("products") is not None:
            certificate["products"] = data["products"]
    elif name == "Maintained":
        certificate["surveillance_due"] = data["surveillance_due"]
    certificate["history"].append({"at": event["at"], "type": event["type"], "status": certificate["status"],
                                   "revision": certificate["revision"], "reason": data.get("reason")})


FOLDS = {"Application": _application, "Audit": _audit, "Decision": _decision, "Appeal": _appeal,
         "Certificate": _certificate}
