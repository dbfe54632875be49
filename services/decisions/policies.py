"""How decisions reacts to other services' events: it learns each certification file — what the
applicant declared, who evaluated it, which findings are open, which certificates it has."""

from __future__ import annotations

from typing import Any, Iterable

from services.decisions.application import Decisions
from services.decisions.domain import KnownScheme
from shared.contract.types import (
    APPLICATION_AGREEMENT_ACCEPTED,
    APPLICATION_CHANGE_REQUESTED,
    APPLICATION_CONSULTANCY_DECLARED,
    APPLICATION_INFORMATION_SUPPLIED,
    APPLICATION_REVIEWED,
    APPLICATION_SUBMITTED,
    APPLICATION_WITHDRAWN,
    AUDIT_FINDING_CLOSED,
    AUDIT_FINDING_RECORDED,
    AUDIT_PLANNED,
    AUDIT_REPORTED,
    AUDIT_TEAM_MEMBER_ASSIGNED,
    CERTIFICATE_ISSUED,
    CERTIFICATE_REVISED,
    CERTIFICATE_STATUS_CHANGED,
    SCHEME_REGISTERED,
)
from shared.domain import FileLink
from shared.messages import Message

FILE_FIELDS = ("scheme", "applicant", "production_unit", "products", "scope", "consultancy", "submitted_by")
PERSON_FIELDS = ("candidate", "examination")  # R65: a person file's candidate and examination (absent otherwise)
AGREEMENT_FIELDS = ("conditions_version", "licence_version", "accepted_on")


def on_applications(decisions: Decisions):
    def policy(message: Message) -> Iterable[Any]:
        file = decisions.file_or_new(message.subject)
        if message.type == APPLICATION_SUBMITTED:
            if file.application is not None:
                return []
            file.note_application(application={**{k: message.data[k] for k in FILE_FIELDS},
                                               **{k: message.data[k] for k in PERSON_FIELDS if message.data.get(k)}})
            if message.data.get("agreement"):  # accepted with the application (absent in older events)
                file.note_agreement(agreement={k: message.data["agreement"].get(k) for k in AGREEMENT_FIELDS})
        elif message.type == APPLICATION_AGREEMENT_ACCEPTED:
            file.note_agreement(agreement={k: message.data.get(k) for k in AGREEMENT_FIELDS})
        elif message.type == APPLICATION_CONSULTANCY_DECLARED:
            if file.application is None:
                return []
            file.note_consultancy(consultancy=message.data["consultancy"])
        elif message.type == APPLICATION_CHANGE_REQUESTED:
            # The holder's requests: a voluntary suspension answers one (R45).
            file.note_request(request_id=message.data["request_id"], kind=message.data["kind"],
                              certificate_number=message.data["certificate_number"])
        elif message.type == APPLICATION_REVIEWED:
            file.note_application_status(status=message.data["outcome"])
        elif message.type == APPLICATION_WITHDRAWN:
            file.note_application_status(status="withdrawn")
        elif message.type == APPLICATION_INFORMATION_SUPPLIED:
            file.note_application_status(status="submitted")
        else:
            return []
        return [file]

    return policy


def on_audits(decisions: Decisions):
    def policy(message: Message) -> Iterable[Any]:
        audit_id = message.subject
        if message.type == AUDIT_PLANNED:
            application_id = message.data["application_id"]
            file = decisions.file_or_new(application_id)
            file.note_audit(audit_id=audit_id, kind=message.data.get("kind"),
                            certificate_number=message.data.get("certificate_number"))
            changed: list[Any] = [file]
            if decisions.find(FileLink.create_id("audit", audit_id)) is None:
                changed.append(FileLink(kind="audit", key=audit_id, application_id=application_id))
            return changed
        link = decisions.find(FileLink.create_id("audit", audit_id))
        if link is None:
            return []
        file = decisions.file_or_new(link.application_id)
        data = message.data
        if message.type == AUDIT_TEAM_MEMBER_ASSIGNED:
            file.note_evaluator(audit_id=audit_id, person=data["person"], role=data["role"])
        elif message.type == AUDIT_FINDING_RECORDED:
            file.note_finding(audit_id=audit_id, finding_id=data["finding_id"], severity=data["severity"])
        elif message.type == AUDIT_FINDING_CLOSED:
            file.note_finding_closed(finding_id=data["finding_id"])
        elif message.type == AUDIT_REPORTED:
            examination = data["report"].get("examination")  # R68: an examination's results
            file.note_report(audit_id=audit_id, conclusion=data["report"]["conformity_statement"],
                             issued_on=data["report"].get("issued_on"),
                             examination_passed=examination["passed"] if examination else None,
                             level_assessed=data["report"].get("level_assessed"))  # R63
        else:
            return []
        return [file]

    return policy


def on_registry(decisions: Decisions):
    def policy(message: Message) -> Iterable[Any]:
        data = message.data
        if message.type == SCHEME_REGISTERED:
            # A suspension's end date is bounded by the scheme's maximum (R44).
            if decisions.find(KnownScheme.create_id(data["code"])) is not None:
                return []
            return [KnownScheme(code=data["code"], max_suspension_months=data["max_suspension_months"],
                                renewal_window_months=data.get("renewal_window_months", 0),
                                certification_type=data["certification_type"],
                                scheme_type=data.get("scheme_type"), levels=data.get("levels"))]
        if message.type == CERTIFICATE_ISSUED:
            file = decisions.file_or_new(data["application_id"])
            file.note_certificate(number=data["number"], status="active")
            file.note_validity(number=data["number"], valid_until=data["valid_until"])
            known = decisions.find(KnownScheme.create_id(data["scheme"]))
            if known is not None and getattr(known, "renewal_window_months", 0):
                file.note_renewal_window(number=data["number"], months=known.renewal_window_months)  # R51
            changed: list[Any] = [file]
            if decisions.find(FileLink.create_id("certificate", data["number"])) is None:
                changed.append(FileLink(kind="certificate", key=data["number"], application_id=data["application_id"]))
            return changed
        link = decisions.find(FileLink.create_id("certificate", data.get("number", "")))
        if link is None:
            return []
        file = decisions.file_or_new(link.application_id)
        if message.type == CERTIFICATE_REVISED:
            file.note_validity(number=data["number"], valid_until=data["valid_until"])
        elif message.type == CERTIFICATE_STATUS_CHANGED and not data.get("decision_id"):
            # Changes that no decision caused (expiry); a decision's own effect is already in the file.
            file.note_certificate(number=data["number"], status=data["status"])
        else:
            return []
        return [file]

    return policy
