"""The applications domain. Imports no I/O."""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain import (
    advisers_within_cooling_off,
    check_staff_register,
    current_documents,
    natural_id,
    same_person,
)
from shared.errors import ConflictOfInterest, Duplicate, InvalidCommand, InvalidTransition, NotPermitted

REVIEW_OUTCOMES = ("accepted", "rejected", "information_requested")
# What the holder may ask of the body about a certificate it holds (ISO/IEC 17065 7.10, 7.11).
REQUEST_KINDS = ("extend_scope", "reduce_scope", "terminate", "suspend")
# Requests a decision of their own kind answers by itself; a suspension request is answered by the voluntary
# suspension that names it (R45).
ANSWERED_BY_KIND = ("extend_scope", "reduce_scope", "terminate")
# Requests that concern the whole certificate and name no products (R21).
WHOLE_CERTIFICATE = ("terminate", "suspend")
# Certificates a request may concern: those still in force (R20).
IN_FORCE = ("active", "suspended")
CLOSED = ("withdrawn", "refused")


def organisation_key(registration_number: str) -> str:
    """One form of a company registration number: ``BE 0123.456.789`` and ``be0123456789`` are one holder."""
    return "".join(ch for ch in registration_number.upper() if ch.isalnum())


def check_acting_for(applicant: dict[str, Any], organisation: str | None) -> None:
    """R18: a holder's staff member acting for an organisation (token claim) submits for that one only."""
    if organisation is not None and organisation_key(applicant["registration_number"]) != organisation_key(organisation):
        raise NotPermitted(
            f"You act for organisation {organisation}; an application for {applicant['registration_number']} "
            "is submitted by that holder's own staff (R18)"
        )


def product_key(product: dict[str, Any]) -> tuple[str, str]:
    """A product as the requests compare it: its name and type, case and spacing folded."""
    return (" ".join(product["name"].casefold().split()), " ".join(product["type"].casefold().split()))


# A person file (R65) names no organisation: the fields other services read keep their shape, empty.
NO_APPLICANT = {"name": "", "registration_number": "", "address": ""}
NO_PRODUCTION_UNIT = {"name": "", "address": ""}


def check_subject(
    *, scheme: str, scheme_type: dict[str, Any], candidate: dict[str, Any] | None, applicant: dict[str, Any] | None,
    production_unit: dict[str, Any] | None, products: list[dict[str, Any]],
) -> None:
    """R65: what an application names follows from what its scheme's certification type certifies (the
    catalogue's ``subject``): under a person scheme (ISO/IEC 17024) a person applies as the candidate (name and
    contact) and names no applicant organisation, production unit or products; under any other scheme a legal
    entity applies for products of a production unit, and names no candidate."""
    if scheme_type.get("subject") == "person":
        if candidate is None:
            raise InvalidCommand(f"R65: scheme {scheme} certifies persons (ISO/IEC 17024); the application names the "
                                 "candidate ('candidate': name and contact)", field="candidate")
        named = [k for k, v in (("applicant", applicant), ("production_unit", production_unit),
                                ("products", products)) if v]
        if named:
            raise InvalidCommand(f"R65: scheme {scheme} certifies persons; an application names the candidate and no "
                                 f"{', '.join(named)}", field=named[0])
        return
    if candidate is not None:
        raise InvalidCommand(f"R65: scheme {scheme} does not certify persons; only an application under a person "
                             "scheme names a candidate", field="candidate")
    if scheme_type.get("subject") == "organisation":
        check_organisation(scheme=scheme, applicant=applicant, production_unit=production_unit, products=products)
        return
    missing = [k for k, v in (("applicant", applicant), ("production_unit", production_unit),
                              ("products", products)) if not v]
    if missing:
        raise InvalidCommand(f"R65: an application under scheme {scheme} names the applicant, its production unit "
                             f"and at least one product; missing: {', '.join(missing)}", field=missing[0])


def check_organisation(
    *, scheme: str, applicant: dict[str, Any] | None, production_unit: dict[str, Any] | None,
    products: list[dict[str, Any]],
) -> None:
    """R61: under a system scheme (ISO/IEC 17021-1, the catalogue's subject 'organisation') an organisation applies
    for certification of its management system: it names itself and its main site (``production_unit``), states its
    sites in the scope, and names no products."""
    if products:
        raise InvalidCommand(f"R61: scheme {scheme} certifies an organisation's management system, not products; name "
                             "no products and state the organisation's sites in the scope", field="products")
    missing = [k for k, v in (("applicant", applicant), ("production_unit", production_unit)) if not v]
    if missing:
        raise InvalidCommand(f"R61: an application under scheme {scheme} names the organisation and its main site; "
                             f"missing: {', '.join(missing)}", field=missing[0])


def examination_of(scheme_type: dict[str, Any]) -> dict[str, Any] | None:
    """The examination a person scheme's type prescribes (the catalogue's data): its parts, each with the pass
    mark, and what a recertification rests on; None for a type evaluated otherwise."""
    if scheme_type.get("evaluation") != "examination":
        return None
    return {"parts": [{"part": part, "pass_mark": int(scheme_type.get("pass_mark", 0))}
                      for part in scheme_type.get("examination_parts", [])],
            "recertification": scheme_type.get("recertification", "examination")}


class Application(Aggregate):
    """A manufacturer's application for certification of products of one production unit, or (under a person
    scheme, R65) a person's application as a candidate for person certification (ISO/IEC 17024)."""

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
        agreement: dict[str, Any] | None = None,
        candidate: dict[str, Any] | None = None,
        examination: dict[str, Any] | None = None,
    ) -> None:
        self.scheme = scheme
        # R65: the candidate of a person scheme ({"person": name, "contact": ...}; the name sealed as a person's)
        # and the examination the scheme's type prescribes; None for a product, execution or system file.
        self.candidate = candidate
        self.examination = examination
        self.scheme_documents = scheme_documents
        self.applicant = applicant
        self.production_unit = production_unit
        self.products = products
        self.scope = scope
        self.consultancy = consultancy
        self.submitted_by = submitted_by
        self.status = "submitted"
        self.review: dict[str, Any] | None = None
        # The certification agreement: every version pair the holder accepted, the current one last.
        self.agreements: list[dict[str, Any]] = [dict(agreement)] if agreement else []
        self.requests: dict[str, dict[str, Any]] = {}

    @property
    def holder_label(self) -> str:
        """Who applied, as messages name them: the organisation, or for a person file its candidate (R65)."""
        if self.candidate is not None:
            return "the candidate"
        return f"{self.applicant['name']} ({self.applicant['registration_number']})"

    @property
    def agreement(self) -> dict[str, Any] | None:
        return self.agreements[-1] if self.agreements else None

    # -- R18: the holder's staff --------------------------------------------------------------------

    def is_holders(self, person: str, organisation: str | None) -> bool:
        """R18: a holder's staff member acting for its organisation (token claim ``organisation``) is the
        holder's, whoever submitted; without the claim, only the person who submitted it."""
        if organisation is not None:
            return organisation_key(organisation) == organisation_key(self.applicant["registration_number"])
        if self.candidate is not None and same_person(person, self.candidate["person"]):
            return True  # R69: the candidate of a person file
        return same_person(person, self.submitted_by)

    def check_holder(self, person: str, organisation: str | None) -> None:
        if not self.is_holders(person, organisation):
            raise NotPermitted(
                f"Application {self.id} is {self.holder_label}'s: "
                "only that holder's staff (token claim 'organisation'), the person who submitted it, or the "
                "body's staff see and act on it (R18)"
            )

    def check_reviewer(self, reviewer: str, today: date, interests: Sequence[dict[str, Any]] = ()) -> None:
        """R2: nobody who advised the applicant in the last two years reviews its application: as the applicant
        declared it, or as the staff interest register tells it (``interests`` in the applicant, R58)."""
        for adviser in advisers_within_cooling_off(self.consultancy, today):
            if same_person(adviser, reviewer):
                raise ConflictOfInterest(
                    f"{reviewer} is declared as having advised {self.holder_label} in the last "
                    "two years and may not review this application"
                )
        check_staff_register(reviewer, interests, "reviewer of this application")

    def review_application(self, *, outcome: str, reason: str, actor: str, today: date,
                           interests: Sequence[dict[str, Any]] = ()) -> None:
        if outcome not in REVIEW_OUTCOMES:
            raise InvalidCommand(f"A review is {' or '.join(REVIEW_OUTCOMES)}, not {outcome!r}")
        if self.status != "submitted":
            raise InvalidTransition(f"Application {self.id} is {self.status}; only a submitted one is reviewed")
        self.check_reviewer(actor, today, interests)
        self._reviewed(outcome=outcome, reviewed_on=today, actor=actor, reason=reason)

    @event("Reviewed")
    def _reviewed(self, outcome: str, reviewed_on: date, actor: str, reason: str) -> None:
        self.status = outcome
        self.review = {"outcome": outcome, "by": actor, "on": reviewed_on.isoformat(), "reason": reason}

    def supply_information(
        self, *, note: str, actor: str, on_behalf_of_applicant: bool, organisation: str | None = None
    ) -> None:
        """The applicant answers a request for information; the application is reviewed again."""
        if on_behalf_of_applicant and not self.is_holders(actor, organisation):
            raise NotPermitted("Only the holder's staff (R18), the applicant who submitted it, or an applications "
                               "officer supplies information")
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

    def withdraw(
        self, *, reason: str, actor: str, on_behalf_of_applicant: bool, organisation: str | None = None
    ) -> None:
        if on_behalf_of_applicant and not self.is_holders(actor, organisation):
            raise NotPermitted("Only the holder's staff (R18), the applicant who submitted it, or an applications "
                               "officer withdraws it")
        if self.status not in ("submitted", "information_requested", "accepted"):
            raise InvalidTransition(f"Application {self.id} is {self.status}; it can no longer be withdrawn")
        self._withdrawn(actor=actor, reason=reason)

    @event("Withdrawn")
    def _withdrawn(self, actor: str, reason: str) -> None:
        self.status = "withdrawn"

    # -- the certification agreement (ISO/IEC 17065 4.1.2) ---------------------------------------------

    def accept_agreement(
        self, *, conditions_version: str, licence_version: str, today: date, actor: str, organisation: str | None
    ) -> None:
        """The holder accepts the scheme's certification conditions and the licence to use the mark, in
        these versions (R19: once per pair of versions; later versions are accepted as they come)."""
        self.check_holder(actor, organisation)
        if self.status in CLOSED:
            raise InvalidTransition(f"Application {self.id} is {self.status}; it takes no agreement")
        for accepted in self.agreements:
            if (accepted["conditions_version"], accepted["licence_version"]) == (conditions_version, licence_version):
                raise Duplicate(
                    f"The holder accepted conditions {conditions_version} and licence {licence_version} on "
                    f"{accepted['accepted_on']} already (R19)", accepted=accepted,
                )
        self._agreement_accepted(
            conditions_version=conditions_version, licence_version=licence_version, accepted_on=today,
            actor=actor, reason=f"certification agreement accepted: conditions {conditions_version}, "
                                f"licence {licence_version}",
        )

    @event("AgreementAccepted")
    def _agreement_accepted(
        self, conditions_version: str, licence_version: str, accepted_on: date, actor: str, reason: str
    ) -> None:
        self.agreements.append({"conditions_version": conditions_version, "licence_version": licence_version,
                                "accepted_on": accepted_on.isoformat()})

    # -- the consultancy declaration, kept current ---------------------------------------------------

    def declare_consultancy(
        self, *, consultancy: list[dict[str, Any]], actor: str, organisation: str | None
    ) -> None:
        """The holder replaces its consultancy declaration with the current one, whole (R2 then uses it)."""
        self.check_holder(actor, organisation)
        if self.status in CLOSED:
            raise InvalidTransition(f"Application {self.id} is {self.status}; its declaration is closed")
        self._consultancy_declared(consultancy=consultancy, actor=actor,
                                   reason="consultancy declaration brought up to date by the holder")

    @event("ConsultancyDeclared")
    def _consultancy_declared(self, consultancy: list[dict[str, Any]], actor: str, reason: str) -> None:
        self.consultancy = consultancy

    # -- requests by the holder (ISO/IEC 17065 7.10, 7.11) ---------------------------------------------

    def request_change(
        self, *, request_id: str, kind: str, products: list[dict[str, Any]] | None, reason: str,
        certificate: dict[str, Any] | None, today: date, actor: str, organisation: str | None,
    ) -> None:
        """The holder asks for an extension or a reduction of scope, the termination of its certificate, or its
        voluntary suspension.

        R20: only about a certificate of this file still in force (active or suspended); R45: a suspension only
        of an active one. R21: an extension names the products to add, none of them certified already; a
        reduction names the products that remain, certified ones and fewer than all; a termination or a
        suspension names none."""
        self.check_holder(actor, organisation)
        if kind not in REQUEST_KINDS:
            raise InvalidCommand(f"A request is {', '.join(REQUEST_KINDS)}, not {kind!r}")
        if certificate is None or certificate["status"] not in IN_FORCE:
            held = f"its certificate {certificate['number']} is {certificate['status']}" if certificate else \
                "it has no certificate"
            raise InvalidTransition(
                f"Application {self.id}: {held}; a request for {kind.replace('_', ' ')} concerns a certificate "
                "in force (R20)"
            )
        if kind == "suspend" and certificate["status"] != "active":
            raise InvalidTransition(f"R45: certificate {certificate['number']} is {certificate['status']}; a "
                                    "voluntary suspension is requested for an active certificate")
        certified = {product_key(p) for p in certificate["products"]}
        named = [product_key(p) for p in products or []]
        if len(set(named)) != len(named):
            raise InvalidCommand("The request names the same product more than once (R21)", field="products")
        if kind in WHOLE_CERTIFICATE and named:
            raise InvalidCommand(f"A {'termination' if kind == 'terminate' else 'suspension'} concerns the whole "
                                 "certificate: name no products (R21)", field="products")
        if kind == "extend_scope":
            if not named:
                raise InvalidCommand("An extension names the products to add (R21)", field="products")
            already = sorted(f"{n} ({t})" for n, t in set(named) & certified)
            if already:
                raise InvalidCommand(f"Already certified under {certificate['number']}: {', '.join(already)}; an "
                                     "extension names products to add (R21)", field="products")
        if kind == "reduce_scope":
            unknown = sorted(f"{n} ({t})" for n, t in set(named) - certified)
            if unknown:
                raise InvalidCommand(f"Not certified under {certificate['number']}: {', '.join(unknown)}; a "
                                     "reduction names the certified products that remain (R21)", field="products")
            if not named or set(named) == certified:
                raise InvalidCommand("A reduction names the certified products that remain: at least one, and "
                                     "fewer than all (R21)", field="products")
        self._change_requested(
            request_id=request_id, kind=kind, products=products if kind not in WHOLE_CERTIFICATE else None,
            certificate_number=certificate["number"], requested_on=today, actor=actor, reason=reason,
        )

    @event("ChangeRequested")
    def _change_requested(
        self, request_id: str, kind: str, products: list[dict[str, Any]] | None, certificate_number: str,
        requested_on: date, actor: str, reason: str,
    ) -> None:
        self.requests[request_id] = {
            "request_id": request_id, "kind": kind, "products": products, "certificate_number": certificate_number,
            "requested_by": actor, "requested_on": requested_on.isoformat(), "reason": reason, "status": "open",
            "decision": None,
        }

    def open_requests(self, kind: str, certificate_number: str) -> list[str]:
        return [r["request_id"] for r in self.requests.values()
                if r["status"] == "open" and r["kind"] == kind and r["certificate_number"] == certificate_number]

    @event("ChangeRequestDecided")
    def note_request_decided(self, request_id: str, decision_id: str, outcome: str, actor: str, reason: str) -> None:
        """A decision of the kind requested was taken on the certificate (learnt from decisions): closed."""
        self.requests[request_id]["status"] = "decided"
        self.requests[request_id]["decision"] = {"decision_id": decision_id, "outcome": outcome}


class KnownScheme(Aggregate):
    """What applications has learnt from the registry about a scheme (internal, not published)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return natural_id("known-scheme", code.upper())

    @event("Learnt")
    def __init__(self, *, code: str, documents: list[dict[str, Any]], certification_type: str = "product",
                 scheme_type: dict[str, Any] | None = None, levels: list[int] | None = None) -> None:
        self.code = code.upper()
        self.documents = documents
        # The certification type and its rules as the catalogue gave them (ADR 0020): {} for schemes learnt before.
        self.certification_type = certification_type
        self.scheme_type = dict(scheme_type or {})
        self.levels = list(levels or [])

    @event("DocumentLearnt")
    def learn_document(self, document: dict[str, Any]) -> None:
        self.documents.append(document)

    def current_documents(self, today: date) -> list[dict[str, Any]]:
        return current_documents(self.documents, today)


class KnownCertificate(Aggregate):
    """What applications has learnt from the registry about one certificate (internal, not published)."""

    @staticmethod
    def create_id(number: str, **_: Any) -> UUID:
        return natural_id("known-certificate", number)

    @event("Learnt")
    def __init__(self, *, number: str, application_id: str, products: list[dict[str, Any]]) -> None:
        self.number = number
        self.application_id = application_id
        self.products = products
        self.status = "active"

    @event("StatusLearnt")
    def learn_status(self, status: str) -> None:
        self.status = status

    @event("RevisionLearnt")
    def learn_revision(self, products: list[dict[str, Any]] | None) -> None:
        """A new revision is active; it names its products when the scope changed."""
        self.status = "active"
        if products is not None:
            self.products = products

    def as_known(self) -> dict[str, Any]:
        return {"number": self.number, "status": self.status, "products": self.products}


class CertifiedFile(Aggregate):
    """Which certificates the registry issued on one application (internal, not published)."""

    @staticmethod
    def create_id(application_id: str, **_: Any) -> UUID:
        return natural_id("certified-file", application_id)

    @event("Opened")
    def __init__(self, *, application_id: str) -> None:
        self.application_id = application_id
        self.numbers: list[str] = []

    @event("CertificateLearnt")
    def learn_certificate(self, number: str) -> None:
        if number not in self.numbers:
            self.numbers.append(number)
