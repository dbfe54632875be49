"""How audits reacts to other services' events: it learns files from applications (their holder, products
and current consultancy declaration) and certificates from the registry."""

from __future__ import annotations

from typing import Any, Iterable

from services.audits.application import Audits
from services.audits.domain import AuditedFile, KnownScheme
from shared.contract.types import (
    APPLICATION_CONSULTANCY_DECLARED,
    APPLICATION_INFORMATION_SUPPLIED,
    APPLICATION_REVIEWED,
    APPLICATION_SUBMITTED,
    APPLICATION_WITHDRAWN,
    CERTIFICATE_ISSUED,
    CERTIFICATE_STATUS_CHANGED,
    SCHEME_REGISTERED,
    STAFF_INTEREST_ENDED,
    STAFF_INTEREST_REGISTERED,
)
from shared.domain import FileLink, StaffInterests
from shared.messages import Message

# The status of the application after events that carry none of their own.
_STATUS_AFTER = {APPLICATION_WITHDRAWN: "withdrawn", APPLICATION_INFORMATION_SUPPLIED: "submitted"}


def on_applications(audits: Audits):
    def policy(message: Message) -> Iterable[Any]:
        if message.type == APPLICATION_SUBMITTED:
            if audits.find(AuditedFile.create_id(message.subject)) is not None:
                return []
            return [
                AuditedFile(
                    application_id=message.subject,
                    status="submitted",
                    consultancy=message.data["consultancy"],
                    products=message.data["products"],
                    organisation=(message.data.get("applicant") or {}).get("registration_number"),
                    examination=message.data.get("examination"),  # R66: a person file's examination
                    scheme=message.data["scheme"],  # R62: its type's audit kinds and stages
                )
            ]
        if message.type == APPLICATION_CONSULTANCY_DECLARED:
            # The holder keeps its declaration current: R2 judges later team members against it.
            file = audits.find(AuditedFile.create_id(message.subject))
            if file is None:
                return []
            file.learn_consultancy(message.data["consultancy"])
            return [file]
        if message.type in _STATUS_AFTER or message.type == APPLICATION_REVIEWED:
            file = audits.find(AuditedFile.create_id(message.subject))
            if file is None:
                return []
            file.learn_status(_STATUS_AFTER.get(message.type) or message.data["outcome"])
            return [file]
        return []

    return policy


def on_decisions(audits: Audits):
    """The staff interest register that decisions keeps: R2 judges audit team members by it too (R58)."""
    def policy(message: Message) -> Iterable[Any]:
        if message.type not in (STAFF_INTEREST_REGISTERED, STAFF_INTEREST_ENDED):
            return []
        known = audits.find(StaffInterests.create_id()) or StaffInterests()
        known.learn_fact(ended=message.type == STAFF_INTEREST_ENDED, interest_id=message.subject, data=message.data)
        return [known]

    return policy


def on_registry(audits: Audits):
    def policy(message: Message) -> Iterable[Any]:
        if message.type == SCHEME_REGISTERED:
            # R62, R63: the scheme's type (audit kinds, initial stages, the audit stating the level) and levels.
            if audits.find(KnownScheme.create_id(message.data["code"])) is not None:
                return []
            return [KnownScheme(code=message.data["code"], certification_type=message.data["certification_type"],
                                scheme_type=message.data.get("scheme_type"), levels=message.data.get("levels"))]
        if message.type == CERTIFICATE_STATUS_CHANGED:
            link = audits.find(FileLink.create_id("certificate", message.data["number"]))
            if link is None:
                return []
            link.learn_status(message.data["status"])
            return [link]
        if message.type != CERTIFICATE_ISSUED:
            return []
        number, application_id = message.data["number"], message.data["application_id"]
        if audits.find(FileLink.create_id("certificate", number)) is not None:
            return []
        link = FileLink(kind="certificate", key=number, application_id=application_id)
        link.learn_status("active")
        return [link]

    return policy
