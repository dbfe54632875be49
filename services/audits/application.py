"""The audits service's use cases."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic

from services.audits.domain import (
    EXAMINATION,
    Audit,
    AuditedFile,
    KnownScheme,
    SampleLink,
    check_holder,
    check_kind,
    check_laboratory,
    check_stage,
    levels_to_state,
    same_organisation,
)
from shared.application import Outcome, ServiceApplication
from shared.domain import FileLink, StaffInterests
from shared.errors import InvalidCommand, InvalidTransition, NotFound, NotYetKnown
from shared.idempotency import IdempotencyKey


def report_view(audit: Audit, today: date | None) -> dict[str, Any] | None:
    """The report with the holder's comments and its comment deadline (R37): ``final`` once it is past."""
    if audit.report is None:
        return None
    until = audit.comments_until
    return {
        **audit.report,
        "laboratory_results": audit.report.get("laboratory_results", []),
        "comments_until": until.isoformat() if until else None,
        "final": audit.is_final(today) if today else None,
        "comments": audit.comments,
    }


def audit_view(audit: Audit, today: date | None = None) -> dict[str, Any]:
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
        "samples": [sample_view(audit, sample) for sample in audit.samples.values()],
        "report": report_view(audit, today),
        "report_id": audit.report["report_id"] if audit.report else None,
        "examination": audit.examination_results(),
        "version": audit.version,
    }


def sample_view(audit: Audit, sample: dict[str, Any]) -> dict[str, Any]:
    """A sample as its laboratory sees it: what was taken, and its results (the current one named)."""
    return {
        "sample_id": sample["sample_id"],
        "audit_id": str(audit.id),
        "product": sample["product"],
        "batch": sample["batch"],
        "seal_number": sample["seal_number"],
        "taken_on": sample["taken_on"],
        "laboratory": sample["laboratory"],
        "results": sample["results"],
        "current_result": sample["current_result"],
    }


AUDIT_TOPICS = tuple(get_topic(value) for value in vars(Audit).values()
                     if isinstance(value, type) and issubclass(value, Audit.Event))


class Catalogue:
    """Every audit of the store, in memory, brought up to date from the store's notification log before
    each read (so the web and worker processes both see what either recorded): for the listings that
    look across audits, a laboratory's samples and the overdue worklist."""

    def __init__(self, app: "Audits") -> None:
        self.app = app
        self.audits: dict[UUID, Audit] = {}
        self.seen: int | None = None
        self.lock = threading.Lock()

    def current(self) -> list[Audit]:
        with self.lock:
            changed: set[UUID] = set()
            for notification in self.app.notifications_after(self.seen, AUDIT_TOPICS):
                changed.add(notification.originator_id)
                self.seen = notification.id
            for audit_id in changed:
                self.audits[audit_id] = self.app.repository.get(audit_id)
            return list(self.audits.values())


class Audits(ServiceApplication):
    name = "audits"
    published = (Audit,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = Catalogue(self)

    def audit(self, audit_id: str) -> Audit:
        return self.load_as(Audit, audit_id)

    def holder_of(self, audit: Audit) -> str | None:
        """The registration number of the audited file's holder, once audits has learnt it."""
        file = self.find(AuditedFile.create_id(audit.application_id))
        return getattr(file, "organisation", None) if file else None

    def read(self, audit_id: str, staff: bool, organisation: str | None) -> dict[str, Any]:
        """An audit with its team, findings, samples, results and report: for the body's staff, and for
        the holder's staff of its own file (R18)."""
        audit = self.audit(audit_id)
        if not staff:
            check_holder(self.holder_of(audit), organisation, f"Audit {audit_id}")
        return audit_view(audit, self.clock.today())

    def sample(self, sample_id: str) -> tuple[Audit, dict[str, Any]]:
        link = self.find(SampleLink.create_id(sample_id))
        if link is None:
            raise NotFound(f"Sample {sample_id} does not exist")
        audit = self.audit(link.audit_id)
        return audit, audit.sample(sample_id)

    def read_sample(self, sample_id: str, staff: bool, laboratory: str | None, holder: str | None) -> dict[str, Any]:
        """A sample for the staff, for the laboratory it is assigned to (R31), for the holder's staff (R18)."""
        audit, sample = self.sample(sample_id)
        if not staff:
            if laboratory is not None:
                check_laboratory(sample, laboratory)
            else:
                check_holder(self.holder_of(audit), holder, f"Sample {sample_id}")
        return sample_view(audit, sample)

    def laboratory_samples(self, laboratory: str) -> list[dict[str, Any]]:
        """The samples assigned to a laboratory (R31), oldest first, each with its paging position."""
        found = []
        for audit in self.catalogue.current():
            for sample in audit.samples.values():
                if not same_organisation(sample["laboratory"], laboratory):
                    continue
                found.append({**sample_view(audit, sample), "position": f"{sample['taken_on']}|{sample['sample_id']}"})
        return sorted(found, key=lambda item: item["position"])

    def worklist(self) -> list[dict[str, Any]]:
        """R36: every finding past its corrective-action due date with none accepted, most overdue first."""
        today = self.clock.today()
        items = [item for audit in self.catalogue.current() for item in audit.overdue(today)]
        for item in items:
            item["position"] = f"{item['due']}|{item['audit_id']}|{item['finding_id']}"
        return sorted(items, key=lambda item: item["position"])

    def scheme_of(self, file: AuditedFile) -> tuple[dict[str, Any], list[int]]:
        """The rules of the file's certification type and its scheme's levels, as audits learnt them from the
        registry (R62, R63); a file learnt before audits kept its scheme is judged as a product file."""
        code = getattr(file, "scheme", None)
        if code is None:
            return {}, []
        known = self.find(KnownScheme.create_id(code))
        if known is None and self.upstream_current("registry"):
            # Caught up with the registry and still unknown: registered before audits learnt schemes, hence before
            # types had rules (ADR 0020): judged as a product scheme, like the registry's own record of it.
            return {}, []
        if known is None:
            raise NotYetKnown(f"Scheme {code} is not known to audits yet; retry shortly")
        return known.scheme_type, known.levels

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
            check_kind(request["kind"], file.examination)  # R66
            check_stage(request["kind"], scheme_type=self.scheme_of(file)[0],
                        reported=list(getattr(file, "reported_kinds", {}).values()), on_certificate=number is not None)
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
            if request["kind"] == EXAMINATION:
                assert file.examination is not None
                audit.arrange_examination(examination=file.examination, actor=actor)
            return Outcome(201, audit_view(audit, self.clock.today()), [audit])

        return self.execute(command, idempotency)

    def interests_in(self, registration_number: str | None) -> list[dict[str, Any]]:
        """The staff register's interests in this organisation within the cooling-off period (R58), as learnt
        from decisions, which keeps the register."""
        known = self.find(StaffInterests.create_id())
        return known.within_cooling_off(registration_number, self.clock.today()) if known else []

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
                today=self.clock.today(), actor=actor, interests=self.interests_in(file.organisation if file else None),
            )
            return Outcome(200, audit_view(audit, self.clock.today()), [audit])

        return self.execute(command, idempotency)

    def record_finding(
        self, audit_id: str, finding: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            finding_id = str(uuid4())
            audit.record_finding(finding_id=finding_id, **finding, actor=actor)
            return Outcome(201, {"finding_id": finding_id, "audit": audit_view(audit, self.clock.today())}, [audit])

        return self.execute(command, idempotency)

    def close_finding(
        self, audit_id: str, finding_id: str, evidence: str, actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            audit.close_finding(finding_id=finding_id, evidence=evidence, today=self.clock.today(), actor=actor)
            return Outcome(200, audit_view(audit, self.clock.today()), [audit])

        return self.execute(command, idempotency)

    def report(
        self, audit_id: str, report: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            today: date = self.clock.today()
            report_id = f"RPT-{today.year}-{str(audit.id)[:8].upper()}"
            file = self.find(AuditedFile.create_id(audit.application_id))
            scheme_type, scheme_levels = self.scheme_of(file) if file is not None else ({}, [])
            levels = levels_to_state(audit.kind, scheme_type=scheme_type, levels=scheme_levels)
            audit.issue_report(report_id=report_id, **report, levels=levels, today=today, actor=actor)
            if file is None:
                return Outcome(200, audit_view(audit, self.clock.today()), [audit])
            file.note_reported(audit_id=str(audit.id), kind=audit.kind)  # R62: the next stage may follow
            return Outcome(200, audit_view(audit, self.clock.today()), [audit, file])

        return self.execute(command, idempotency)

    def score_part(
        self, audit_id: str, part: str, score: int, actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        """R67: the examiner's result for one part of an examination, once."""
        def command() -> Outcome:
            audit = self.audit(audit_id)
            audit.score_part(part=part, score=score, today=self.clock.today(), actor=actor)
            return Outcome(201, audit_view(audit, self.clock.today()), [audit])

        return self.execute(command, idempotency)

    def take_sample(
        self, audit_id: str, sample: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            sample_id = str(uuid4())
            audit.take_sample(sample_id=sample_id, **sample, today=self.clock.today(), actor=actor)
            link = SampleLink(sample_id=sample_id, audit_id=str(audit.id), actor=actor,
                              reason=f"sample {sample_id} taken in audit {audit.id}")
            return Outcome(201, sample_view(audit, audit.samples[sample_id]), [audit, link])

        return self.execute(command, idempotency)

    def record_result(
        self, sample_id: str, result: dict[str, Any], laboratory: str | None, actor: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        """A laboratory's result (R31, R32): 201 when recorded, 200 with the same result when it was
        already (the same content on the same sample), recording nothing."""
        def command() -> Outcome:
            audit, _ = self.sample(sample_id)
            before = audit.version
            recorded = audit.record_result(sample_id=sample_id, laboratory=laboratory, **result,
                                           today=self.clock.today(), actor=actor)
            if audit.version == before:
                return Outcome(200, recorded)
            return Outcome(201, recorded, [audit])

        return self.execute(command, idempotency)

    def submit_corrective_action(
        self, audit_id: str, finding_id: str, action: dict[str, Any], organisation: str | None, actor: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            corrective_action_id = str(uuid4())
            audit.submit_corrective_action(
                finding_id=finding_id, corrective_action_id=corrective_action_id, **action,
                holder=self.holder_of(audit), organisation=organisation, today=self.clock.today(), actor=actor,
            )
            finding = audit.findings[finding_id]
            return Outcome(201, {"corrective_action_id": corrective_action_id, "finding": finding}, [audit])

        return self.execute(command, idempotency)

    def review_corrective_action(
        self, audit_id: str, finding_id: str, corrective_action_id: str, outcome: str, reason: str, actor: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            audit.review_corrective_action(
                finding_id=finding_id, corrective_action_id=corrective_action_id, outcome=outcome, reason=reason,
                today=self.clock.today(), actor=actor,
            )
            return Outcome(200, audit_view(audit, self.clock.today()), [audit])

        return self.execute(command, idempotency)

    def comment_on_report(
        self, audit_id: str, comment: str, organisation: str | None, actor: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            audit = self.audit(audit_id)
            comment_id = str(uuid4())
            today = self.clock.today()
            audit.comment_on_report(comment_id=comment_id, comment=comment, holder=self.holder_of(audit),
                                    organisation=organisation, today=today, actor=actor)
            return Outcome(201, {"comment_id": comment_id, "report": report_view(audit, today)}, [audit])

        return self.execute(command, idempotency)
