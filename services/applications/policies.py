"""How applications reacts to other services' events: it learns the scheme catalogue and the file's
certificates, and closes the holder's requests that a decision answered."""

from __future__ import annotations

from typing import Any, Iterable

from services.applications.application import Applications
from services.applications.domain import ANSWERED_BY_KIND, CertifiedFile, KnownCertificate, KnownScheme
from shared.contract.types import (
    CERTIFICATE_ISSUED,
    CERTIFICATE_REVISED,
    CERTIFICATE_STATUS_CHANGED,
    DECISION_RECORDED,
    SCHEME_DOCUMENT_VERSION_PUBLISHED,
    SCHEME_REGISTERED,
    STAFF_INTEREST_ENDED,
    STAFF_INTEREST_REGISTERED,
)
from shared.domain import StaffInterests
from shared.messages import Message


def on_decisions(applications: Applications):
    def policy(message: Message) -> Iterable[Any]:
        if message.type in (STAFF_INTEREST_REGISTERED, STAFF_INTEREST_ENDED):
            return staff_interest(message)
        if message.type != DECISION_RECORDED:
            return []
        outcome = message.data["outcome"]
        if outcome in ANSWERED_BY_KIND or (outcome == "suspend" and message.data.get("request_id")):
            return requests_decided(message)
        if outcome not in ("grant", "refuse"):
            return []
        application = applications.find_application(message.data["application_id"])
        if application is None or application.status in ("granted", "refused"):
            return []
        application.note_decision(outcome=message.data["outcome"], decision_id=message.subject,
                                  actor=message.actor, reason=f"{message.data['outcome']} by decision {message.subject}")
        return [application]

    def staff_interest(message: Message) -> list[Any]:
        """The staff interest register that decisions keeps: R2 judges reviewers by it too (R58)."""
        known = applications.find(StaffInterests.create_id()) or StaffInterests()
        known.learn_fact(ended=message.type == STAFF_INTEREST_ENDED, interest_id=message.subject, data=message.data)
        return [known]

    def requests_decided(message: Message) -> list[Any]:
        """The holder's open requests of that kind on that certificate are answered by the decision."""
        application = applications.find_application(message.data["application_id"])
        number = message.data.get("certificate_number")
        if application is None or not number:
            return []
        outcome = message.data["outcome"]
        answered = application.open_requests(outcome, number)
        if outcome == "suspend":  # a voluntary suspension answers the one request it names (R45)
            answered = [r for r in answered if r == message.data["request_id"]]
        for request_id in answered:
            application.note_request_decided(request_id=request_id, decision_id=message.subject, outcome=outcome,
                                             actor=message.actor,
                                             reason=f"{outcome.replace('_', ' ')} decided by decision {message.subject}")
        return [application]

    return policy


def on_registry(applications: Applications):
    def policy(message: Message) -> Iterable[Any]:
        if message.type == SCHEME_REGISTERED:
            if applications.find(KnownScheme.create_id(message.data["code"])) is not None:
                return []
            return [KnownScheme(code=message.data["code"], documents=message.data["documents"],
                                certification_type=message.data["certification_type"],
                                scheme_type=message.data.get("scheme_type"), levels=message.data.get("levels"))]
        if message.type == SCHEME_DOCUMENT_VERSION_PUBLISHED:
            known = applications.find(KnownScheme.create_id(message.data["code"]))
            if known is None:
                return []
            known.learn_document(message.data["document"])
            return [known]
        if message.type == CERTIFICATE_ISSUED:
            return certificate_issued(message.data)
        if message.type in (CERTIFICATE_STATUS_CHANGED, CERTIFICATE_REVISED):
            known = applications.find(KnownCertificate.create_id(message.data["number"]))
            if known is None:
                return []
            if message.type == CERTIFICATE_REVISED:
                known.learn_revision(products=message.data.get("products"))
            else:
                known.learn_status(message.data["status"])
            return [known]
        return []

    def certificate_issued(data: dict[str, Any]) -> list[Any]:
        """The file's certificate, so that the holder's requests concern one in force (R20, R21)."""
        if applications.find(KnownCertificate.create_id(data["number"])) is not None:
            return []
        file = applications.find(CertifiedFile.create_id(data["application_id"])) or \
            CertifiedFile(application_id=data["application_id"])
        file.learn_certificate(data["number"])
        known = KnownCertificate(number=data["number"], application_id=data["application_id"],
                                 products=data["products"])
        return [file, known]

    return policy
