"""The audits domain (ISO/IEC 17020 and 17065 7.4). Imports no I/O."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain import advisers_within_cooling_off, natural_id, same_person
from shared.errors import (
    ConflictOfInterest,
    Duplicate,
    InvalidTransition,
    NotFound,
    NotPermitted,
    OpenMajorNonconformity,
)

SEVERITIES = ("major", "minor", "observation")


class Audit(Aggregate):
    """One audit or inspection of a certification file."""

    @event("Planned")
    def __init__(
        self,
        *,
        application_id: str,
        certificate_number: str | None,
        kind: str,
        planned_start: date,
        planned_end: date | None,
        items: list[dict[str, Any]],
        actor: str,
        reason: str,
    ) -> None:
        self.application_id = application_id
        self.certificate_number = certificate_number
        self.kind = kind
        self.planned_start = planned_start
        self.planned_end = planned_end or planned_start
        self.items = items
        self.status = "planned"
        self.team: list[dict[str, Any]] = []
        self.findings: dict[str, dict[str, Any]] = {}
        self.report: dict[str, Any] | None = None

    # -- team -----------------------------------------------------------------------------------

    def member(self, person: str) -> dict[str, Any] | None:
        return next((m for m in self.team if same_person(m["person"], person)), None)

    @property
    def lead_auditor(self) -> str | None:
        return next((m["person"] for m in self.team if m["role"] == "lead_auditor"), None)

    def assign(
        self, *, person: str, role: str, declaration: dict[str, Any], consultancy: list[dict[str, Any]],
        today: date, actor: str,
    ) -> None:
        self._check_open()
        if not declaration.get("independent"):
            raise ConflictOfInterest(
                f"{person} did not declare independence for this audit "
                f"(declared interests: {', '.join(declaration.get('interests') or []) or 'none'})"
            )
        for adviser in advisers_within_cooling_off(consultancy, today):
            if same_person(adviser, person):
                raise ConflictOfInterest(
                    f"{person} advised the applicant in the last two years (consultancy declaration) "
                    "and may not evaluate it"
                )
        if self.member(person) is not None:
            raise Duplicate(f"{person} is already on the team of audit {self.id}")
        if role == "lead_auditor" and self.lead_auditor is not None:
            raise Duplicate(f"Audit {self.id} already has a lead auditor: {self.lead_auditor}")
        self._assigned(
            person=person, role=role, declaration=declaration, declared_on=today, actor=actor,
            reason=f"{role.replace('_', ' ')} assigned with independence declaration",
        )

    @event("TeamMemberAssigned")
    def _assigned(
        self, person: str, role: str, declaration: dict[str, Any], declared_on: date, actor: str, reason: str
    ) -> None:
        self.team.append(
            {"person": person, "role": role, "declaration": declaration, "declared_on": declared_on.isoformat()}
        )

    # -- findings -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.status == "reported":
            raise InvalidTransition(f"Audit {self.id} is reported; it is closed to changes")

    def _check_on_team(self, actor: str) -> None:
        if self.member(actor) is None:
            raise NotPermitted(f"{actor} is not on the team of audit {self.id}")

    def record_finding(
        self, *, finding_id: str, severity: str, requirement: str, description: str,
        corrective_action_due: date | None, actor: str,
    ) -> None:
        self._check_on_team(actor)
        self._check_open()
        self._finding_recorded(
            finding_id=finding_id, severity=severity, requirement=requirement, description=description,
            corrective_action_due=corrective_action_due, actor=actor, reason=f"{severity} finding against {requirement}",
        )

    @event("FindingRecorded")
    def _finding_recorded(
        self, finding_id: str, severity: str, requirement: str, description: str,
        corrective_action_due: date | None, actor: str, reason: str,
    ) -> None:
        self.findings[finding_id] = {
            "finding_id": finding_id,
            "severity": severity,
            "requirement": requirement,
            "description": description,
            "corrective_action_due": corrective_action_due.isoformat() if corrective_action_due else None,
            "status": "open",
            "recorded_by": actor,
            "closure": None,
        }

    def close_finding(self, *, finding_id: str, evidence: str, today: date, actor: str) -> None:
        self._check_on_team(actor)
        finding = self.findings.get(finding_id)
        if finding is None:
            raise NotFound(f"Finding {finding_id} does not exist on audit {self.id}")
        if finding["status"] != "open":
            raise InvalidTransition(f"Finding {finding_id} is already closed")
        self._finding_closed(
            finding_id=finding_id, evidence=evidence, closed_on=today, actor=actor,
            reason="corrective action verified by the auditor",
        )

    @event("FindingClosed")
    def _finding_closed(self, finding_id: str, evidence: str, closed_on: date, actor: str, reason: str) -> None:
        self.findings[finding_id]["status"] = "closed"
        self.findings[finding_id]["closure"] = {"evidence": evidence, "by": actor, "on": closed_on.isoformat()}

    # -- report (ISO/IEC 17020 7.4.2) -------------------------------------------------------------

    def issue_report(
        self, *, report_id: str, conclusion: str, recommendation: str, summary: str, today: date, actor: str
    ) -> None:
        self._check_open()
        if self.lead_auditor is None:
            raise InvalidTransition(f"Audit {self.id} has no lead auditor yet; assign one before reporting")
        if not same_person(self.lead_auditor, actor):
            raise NotPermitted(f"Only the lead auditor of audit {self.id} ({self.lead_auditor}) issues its report")
        findings = list(self.findings.values())
        open_majors = sorted(f_id for f_id, f in self.findings.items() if f["severity"] == "major" and f["status"] == "open")
        if conclusion == "conforming" and open_majors:
            raise OpenMajorNonconformity(
                f"Audit {self.id} has {len(open_majors)} open major nonconformity(ies) ({', '.join(open_majors)}); "
                "its report cannot state conformity: close them first, or conclude 'nonconforming'",
                open_findings=open_majors,
            )
        self._reported(
            report={
                "report_id": report_id,
                "issued_on": today.isoformat(),
                "inspection_dates": {
                    "from": self.planned_start.isoformat(),
                    "to": max(self.planned_end, self.planned_start).isoformat(),
                },
                "items_inspected": self.items,
                "results": {
                    sev: {
                        "total": sum(1 for f in findings if f["severity"] == sev),
                        "open": sum(1 for f in findings if f["severity"] == sev and f["status"] == "open"),
                    }
                    for sev in SEVERITIES
                },
                "conformity_statement": conclusion,
                "recommendation": recommendation,
                "summary": summary,
                "approved_by": actor,
            },
            actor=actor,
            reason=f"report issued: {conclusion}, recommendation: {recommendation}",
        )

    @event("Reported")
    def _reported(self, report: dict[str, Any], actor: str, reason: str) -> None:
        self.status = "reported"
        self.report = report


class AuditedFile(Aggregate):
    """What audits has learnt from applications about one certification file (internal)."""

    @staticmethod
    def create_id(application_id: str, **_: Any) -> UUID:
        return natural_id("audited-file", application_id)

    @event("Learnt")
    def __init__(self, *, application_id: str, status: str, consultancy: list[dict[str, Any]],
                 products: list[dict[str, Any]]) -> None:
        self.application_id = application_id
        self.status = status
        self.consultancy = consultancy
        self.products = products

    @event("StatusLearnt")
    def learn_status(self, status: str) -> None:
        self.status = status
