"""The applications service's use cases."""

from __future__ import annotations

import threading
from typing import Any
from uuid import uuid4

from eventsourcing.utils import get_topic

from services.applications.domain import (
    NO_APPLICANT,
    NO_PRODUCTION_UNIT,
    Application,
    CertifiedFile,
    KnownCertificate,
    KnownScheme,
    check_acting_for,
    check_subject,
    examination_of,
    organisation_key,
)
from shared.application import Outcome, ServiceApplication
from shared.domain import StaffInterests, same_person
from shared.errors import NotFound, NotYetKnown
from shared.idempotency import IdempotencyKey

# What the listings read back from the store: submissions (by holder) and the holder's requests.
INDEXED_TOPICS = tuple(get_topic(e) for e in (Application.Submitted, Application.ChangeRequested))


def application_view(application: Application) -> dict[str, Any]:
    return {
        "id": str(application.id),
        "status": application.status,
        "scheme": application.scheme,
        "scheme_documents": application.scheme_documents,
        "applicant": application.applicant,
        "production_unit": application.production_unit,
        "products": application.products,
        "scope": application.scope,
        "consultancy": application.consultancy,
        "candidate": candidate_view(application.candidate),
        "examination": application.examination,
        "submitted_by": application.submitted_by,
        "submitted_at": application.created_on.isoformat(),
        "review": application.review,
        "agreement": application.agreement,
        "agreements": application.agreements,
        "requests": list(application.requests.values()),
        "version": application.version,
    }


def candidate_view(candidate: dict[str, Any] | None) -> dict[str, Any] | None:
    """The candidate of a person file (R65) as the API names it: name and contact."""
    return {"name": candidate["person"], "contact": candidate["contact"]} if candidate else None


def request_view(application: Application, request_id: str) -> dict[str, Any]:
    return {**application.requests[request_id], "application_id": str(application.id),
            "holder": {k: application.applicant[k] for k in ("name", "registration_number")},
            "scheme": application.scheme}


class Applications(ServiceApplication):
    name = "applications"
    published = (Application,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The listings' index, read back from the store (this process's commands or another's) and
        # brought up to date at each listing: (notification id, application id, holder key, submitted by)
        # per submission, and (notification id, application id, request id) per request.
        self._index_lock = threading.Lock()
        self._index_seen: int | None = None
        self._submissions: list[tuple[int, str, str, str]] = []
        self._requests: list[tuple[int, str, str]] = []

    def submit(
        self, form: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None,
        organisation: str | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            if form.get("applicant") is not None:
                check_acting_for(form["applicant"], organisation)
            agreement = form.get("agreement")
            if agreement is not None:  # accepted with the application, on the body's date
                agreement = {**agreement, "accepted_on": self.clock.today().isoformat()}
            scheme = self.find(KnownScheme.create_id(form["scheme"]))
            if scheme is None:
                raise NotYetKnown(
                    f"Scheme {form['scheme']} is not known to applications yet. If it was just created, "
                    "retry shortly; otherwise check the scheme code with the registry",
                )
            scheme_type = scheme.scheme_type
            candidate = form.get("candidate")
            check_subject(scheme=scheme.code, scheme_type=scheme_type, candidate=candidate,
                          applicant=form.get("applicant"), production_unit=form.get("production_unit"),
                          products=form.get("products") or [])
            fields = {**form, "candidate": None, "examination": None}
            if candidate is not None:  # R65: a person applies; the name is sealed as a person's (ADR 0011)
                fields = {**form, "applicant": NO_APPLICANT, "production_unit": NO_PRODUCTION_UNIT, "products": [],
                        "candidate": {"person": candidate["name"], "contact": candidate["contact"]},
                        "examination": examination_of(scheme_type)}
            application = Application(
                **{**fields, "scheme": scheme.code, "agreement": agreement},
                scheme_documents=scheme.current_documents(self.clock.today()),
                submitted_by=actor,
                actor=actor,
                reason="application submitted",
            )
            return Outcome(201, application_view(application), [application])

        return self.execute(command, idempotency)

    def application(self, application_id: str) -> Application:
        return self.load_as(Application, application_id)

    def interests_in(self, registration_number: str | None) -> list[dict[str, Any]]:
        """The staff register's interests in this organisation within the cooling-off period (R58), as learnt
        from decisions, which keeps the register."""
        known = self.find(StaffInterests.create_id())
        return known.within_cooling_off(registration_number, self.clock.today()) if known else []

    def find_application(self, application_id: str) -> Application | None:
        try:
            return self.application(application_id)
        except NotFound:
            return None

    def read(self, application_id: str, actor: str, staff: bool, organisation: str | None = None) -> dict[str, Any]:
        application = self.application(application_id)
        if not staff:
            application.check_holder(actor, organisation)  # R18
        return application_view(application)

    # -- listings ---------------------------------------------------------------------------------

    def _catch_up_index(self) -> None:
        with self._index_lock:
            for notification in self.notifications_after(self._index_seen, INDEXED_TOPICS):
                event = self.mapper.to_domain_event(notification)
                subject = str(notification.originator_id)
                if isinstance(event, Application.Submitted):
                    self._submissions.append((notification.id, subject,
                                              organisation_key(event.applicant["registration_number"]),
                                              str(event.submitted_by)))
                else:
                    self._requests.append((notification.id, subject, event.request_id))
                self._index_seen = notification.id

    def applications(
        self, actor: str, staff: bool, organisation: str | None, registration_number: str | None,
        after: int | None, limit: int,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of applications in the order submitted. R18: a holder's staff member sees its
        organisation's (token claim), or without the claim what the person submitted; staff see all,
        or one holder's (``registration_number``)."""
        self._catch_up_index()
        wanted = organisation_key(organisation) if organisation and not staff else \
            organisation_key(registration_number) if registration_number else None
        found = []
        for position, application_id, holder, submitted_by in self._submissions:
            if after is not None and position <= after:
                continue
            if wanted is not None and holder != wanted:
                continue
            if not staff and wanted is None and not same_person(actor, submitted_by):
                continue
            found.append((position, application_id))
            if len(found) > limit:
                break
        page = [application_view(self.application(application_id)) for _, application_id in found[:limit]]
        return page, (found[limit - 1][0] if len(found) > limit else None)

    def change_requests(
        self, status: str | None, after: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the holders' requests in the order made, open or decided, for the body's staff."""
        self._catch_up_index()
        found: list[tuple[int, dict[str, Any]]] = []
        applications: dict[str, Application] = {}
        for position, application_id, request_id in self._requests:
            if after is not None and position <= after:
                continue
            if application_id not in applications:
                applications[application_id] = self.application(application_id)
            request = request_view(applications[application_id], request_id)
            if status is not None and request["status"] != status:
                continue
            found.append((position, request))
            if len(found) > limit:
                break
        return [r for _, r in found[:limit]], (found[limit - 1][0] if len(found) > limit else None)

    def review(
        self, application_id: str, outcome: str, reason: str, actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.review_application(
                outcome=outcome, reason=reason, actor=actor, today=self.clock.today(),
                interests=self.interests_in((application.applicant or {}).get("registration_number")))
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)

    def supply_information(
        self, application_id: str, note: str, actor: str, as_applicant: bool,
        idempotency: IdempotencyKey | None = None, organisation: str | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.supply_information(note=note, actor=actor, on_behalf_of_applicant=as_applicant,
                                           organisation=organisation)
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)

    def withdraw(
        self, application_id: str, reason: str, actor: str, as_applicant: bool,
        idempotency: IdempotencyKey | None = None, organisation: str | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.withdraw(reason=reason, actor=actor, on_behalf_of_applicant=as_applicant,
                                 organisation=organisation)
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)

    # -- the holder's side ----------------------------------------------------------------------------

    def accept_agreement(
        self, application_id: str, versions: dict[str, str], actor: str, organisation: str | None,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.accept_agreement(**versions, today=self.clock.today(), actor=actor, organisation=organisation)
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)

    def declare_consultancy(
        self, application_id: str, consultancy: list[dict[str, Any]], actor: str, organisation: str | None,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.declare_consultancy(consultancy=consultancy, actor=actor, organisation=organisation)
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)

    def certificate_of(self, application_id: str) -> dict[str, Any] | None:
        """The file's certificate as the registry last told: the one in force, else the latest issued."""
        file = self.find(CertifiedFile.create_id(application_id))
        if file is None:
            return None
        known = [self.find(KnownCertificate.create_id(number)) for number in file.numbers]
        known = [k.as_known() for k in known if k is not None]
        return next((k for k in reversed(known) if k["status"] in ("active", "suspended")), known[-1] if known else None)

    def request_change(
        self, application_id: str, kind: str, products: list[dict[str, Any]] | None, reason: str, actor: str,
        organisation: str | None, idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            request_id = str(uuid4())
            application.request_change(
                request_id=request_id, kind=kind, products=products, reason=reason,
                certificate=self.certificate_of(application_id), today=self.clock.today(), actor=actor,
                organisation=organisation,
            )
            return Outcome(201, request_view(application, request_id), [application])

        return self.execute(command, idempotency)
