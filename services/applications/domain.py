"""The applications domain. Imports no I/O."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain import advisers_within_cooling_off, current_documents, natural_id, same_person
from shared.errors import ConflictOfInterest, InvalidCommand, InvalidTransition, NotPermitted

REVIEW_OUTCOMES = ("accepted", "rejected", "information_requested")


class Application(Aggregate):
    """A manufacturer's application for certification of products of one production unit."""

    @event("Submitted")
    def __init__(
        self,
        *,
        scheme: str,
        scheme_documents: list[dict[str, Any]],
        applicant: dict[str, Any],
        production_unit: dict[str, Any],
        products: list[dict[str, Any]],
        scope: str,
        consultancy: list[dict[str, Any]],
        submitted_by: str,
        actor: str,
        reason: str,
    ) -> None:
        self.scheme = scheme
        self.scheme_documents = scheme_documents
        self.applicant = applicant
        self.production_unit = production_unit
        self.products = products
        self.scope = scope
        self.consultancy = consultancy
        self.submitted_by = submitted_by
        self.status = "submitted"
        self.review: dict[str, Any] | None = None

    def check_reviewer(self, reviewer: str, today: date) -> None:
        """R2: nobody who advised the applicant in the last two years reviews its application."""
        for adviser in advisers_within_cooling_off(self.consultancy, today):
            if same_person(adviser, reviewer):
                raise ConflictOfInterest(
                    f"{reviewer} is declared as having advised {self.applicant['name']} in the last "
                    "two years and may not review this application"
                )

    def review_application(self, *, outcome: str, reason: str, actor: str, today: date) -> None:
        if outcome not in REVIEW_OUTCOMES:
            raise InvalidCommand(f"A review is {' or '.join(REVIEW_OUTCOMES)}, not {outcome!r}")
        if self.status != "submitted":
            raise InvalidTransition(f"Application {self.id} is {self.status}; only a submitted one is reviewed")
        self.check_reviewer(actor, today)
        self._reviewed(outcome=outcome, reviewed_on=today, actor=actor, reason=reason)

    @event("Reviewed")
    def _reviewed(self, outcome: str, reviewed_on: date, actor: str, reason: str) -> None:
        self.status = outcome
        self.review = {"outcome": outcome, "by": actor, "on": reviewed_on.isoformat(), "reason": reason}

    def supply_information(self, *, note: str, actor: str, on_behalf_of_applicant: bool) -> None:
        """The applicant answers a request for information; the application is reviewed again."""
        if on_behalf_of_applicant and not same_person(actor, self.submitted_by):
            raise NotPermitted("Only the applicant who submitted it, or an applications officer, supplies information")
        if self.status != "information_requested":
            raise InvalidTransition(f"Application {self.id} is {self.status}; no information was requested")
        self._information_supplied(note=note, actor=actor, reason="requested information supplied")

    @event("InformationSupplied")
    def _information_supplied(self, note: str, actor: str, reason: str) -> None:
        self.status = "submitted"

    @event("Decided")
    def note_decision(self, outcome: str, decision_id: str, actor: str, reason: str) -> None:
        """The certification decision on this application (learnt from decisions): it is closed."""
        self.status = {"grant": "granted", "refuse": "refused"}[outcome]

    def withdraw(self, *, reason: str, actor: str, on_behalf_of_applicant: bool) -> None:
        if on_behalf_of_applicant and not same_person(actor, self.submitted_by):
            raise NotPermitted("Only the applicant who submitted it, or an applications officer, withdraws it")
        if self.status not in ("submitted", "information_requested", "accepted"):
            raise InvalidTransition(f"Application {self.id} is {self.status}; it can no longer be withdrawn")
        self._withdrawn(actor=actor, reason=reason)

    @event("Withdrawn")
    def _withdrawn(self, actor: str, reason: str) -> None:
        self.status = "withdrawn"


class KnownScheme(Aggregate):
    """What applications has learnt from the registry about a scheme (internal, not published)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return natural_id("known-scheme", code.upper())

    @event("Learnt")
    def __init__(self, *, code: str, documents: list[dict[str, Any]]) -> None:
        self.code = code.upper()
        self.documents = documents

    @event("DocumentLearnt")
    def learn_document(self, document: dict[str, Any]) -> None:
        self.documents.append(document)

    def current_documents(self, today: date) -> list[dict[str, Any]]:
        return current_documents(self.documents, today)
