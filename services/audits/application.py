"""The audits service's use cases."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

from services.audits.domain import Audit, AuditedFile
from shared.application import Outcome, ServiceApplication
from shared.domain import FileLink
from shared.errors import InvalidCommand, InvalidTransition, NotYetKnown
from shared.idempotency import IdempotencyKey


def audit_view(audit: Audit) -> dict[str, Any]:
    return {
        "id": str(audit.id),
        "status": audit.status,
        "application_id": audit.application_id,
        "certificate_number": audit.certificate_number,
        "kind": audit.kind,
        "planned_start": audit.planned_start.isoformat(),
        "planned_end": audit.planned_end.isoformat(),
        "items": audit.items,
        "team": audit.team,
        "findings": list(audit.findings.values()),
        "report": audit.report,
        "report_id": audit.report["report_id"] if audit.report else None,
        "version": audit.version,
    }


class Audits(ServiceApplication):
    name = "audits"
    published = (Audit,)

    def audit(self, audit_id: str) -> Audit:
        return self.load_as(Audit, audit_id)

    def _file(self, application_id: str | None, certificate_number: str | None) -> tuple[AuditedFile, str | None]:
        if certificate_number:
            link = self.find(FileLink.create_id("certificate", certificate_number))
            if link is None:
                raise NotYetKnown(
                    f"Certificate {certificate_number} is not known to audits yet; if it was just issued, "
                    "retry shortly, otherwise check the number"
                )
            if link.status not in (None, "active", "suspended"):
                raise InvalidTransition(f"Certificate {certificate_number} is {link.status}; it is no longer audited")
            if application_id and application_id != link.application_id:
                raise InvalidCommand(f"Certificate {certificate_number} does not belong to application {application_id}")
            application_id = link.application_id
        assert application_id is not None
        file = self.find(AuditedFile.create_id(application_id))
        if file is None:
            raise NotYetKnown(
                f"Application {application_id} is not known to audits yet; if it was just submitted, "
                "retry shortly, otherwise check the id"
            )
        return file, certificate_number

    def plan(self, request: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None) -> Outcome:
        def command() -> Outcome:
            file, number = self._file(request.get("application_id"), request.get("certificate_number"))
            if number is None and file.status != "accepted":
                raise InvalidTransition(
                    f"Application {file.application_id} is {file.status}; audits are planned for accepted applications"
                )
            if request.get("planned_end") and request["planned_end"] < request["planned_start"]:
                raise InvalidCommand("planned_end is before planned_start")
            audit = Audit(
                application_id=file.application_id,
                certificate_number=number,
                kind=request["kind"],
                planned_start=request["planned_start"],
                planned_end=request.get("planned_end"),
                items=file.products,
                actor=actor,
                reason=request.get("reason") or f"{request['kind']} audit planned",
            )
            return Outcome(201, audit_view(audit), [audit])

        return self.execute(command, idempotency)

    def assign(
        self, audit_id: str, person: str, role: str, declaration: dict[str, Any], actor: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            file = self.find(AuditedFile.create_id(audit.application_id))
            consultancy = file.consultancy if file else []
            audit.assign(
                person=person, role=role, declaration=declaration, consultancy=consultancy,
                today=self.clock.today(), actor=actor,
            )
            return Outcome(200, audit_view(audit), [audit])

        return self.execute(command, idempotency)

    def record_finding(
        self, audit_id: str, finding: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            finding_id = str(uuid4())
            audit.record_finding(finding_id=finding_id, **finding, actor=actor)
            return Outcome(201, {"finding_id": finding_id, "audit": audit_view(audit)}, [audit])

        return self.execute(command, idempotency)

    def close_finding(
        self, audit_id: str, finding_id: str, evidence: str, actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            audit.close_finding(finding_id=finding_id, evidence=evidence, today=self.clock.today(), actor=actor)
            return Outcome(200, audit_view(audit), [audit])

        return self.execute(command, idempotency)

    def report(
        self, audit_id: str, report: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            today: date = self.clock.today()
            report_id = f"RPT-{today.year}-{str(audit.id)[:8].upper()}"
            audit.issue_report(report_id=report_id, **report, today=today, actor=actor)
            return Outcome(200, audit_view(audit), [audit])

        return self.execute(command, idempotency)
