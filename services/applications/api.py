"""The applications service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from services.applications.application import Applications
from shared.errors import InvalidCommand
from shared.http.answers import respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import (
    MAX_CONSULTANCY,
    MAX_PRODUCTS,
    PAGE_DEFAULT,
    PAGE_MAX,
    Address,
    Code,
    CursorParam,
    Label,
    LabelParam,
    Name,
    NameOrEmpty,
    PathId,
    PersonName,
    Strict,
    Text,
    TextOrEmpty,
    at_most,
    decode_cursor,
    encode_cursor,
)
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey


class Applicant(Strict):
    name: Name
    registration_number: Label
    address: Address


class ProductionUnit(Strict):
    name: Name
    address: Address


class Product(Strict):
    name: Name
    type: Name
    description: TextOrEmpty = ""


class Consultancy(Strict):
    person: PersonName
    organisation: NameOrEmpty = ""
    until: date | None = None


class Agreement(Strict):
    """The certification agreement: the versions of the scheme's conditions and of the mark licence accepted."""

    conditions_version: Label
    licence_version: Label


class NewApplication(Strict):
    scheme: Code
    applicant: Applicant
    production_unit: ProductionUnit
    # At least one under a product or execution scheme (R65); none under a system scheme, whose organisation states
    # its sites in the scope and names its main site as the production unit (R61).
    products: Annotated[list[Product], at_most(MAX_PRODUCTS)]
    scope: Text
    consultancy: Annotated[list[Consultancy], at_most(MAX_CONSULTANCY)] = []
    agreement: Agreement | None = None


class Candidate(Strict):
    """The person who applies for person certification (ISO/IEC 17024; R65): no legal entity, so no
    registration number, production unit or products."""

    name: PersonName
    contact: Address


class NewPersonApplication(Strict):
    """R65: an application under a person scheme, by the candidate; ``consultancy`` declares who trained or
    advised the candidate in the last two years (R2: none of them examines the candidate)."""

    scheme: Code
    candidate: Candidate
    scope: Text
    consultancy: Annotated[list[Consultancy], at_most(MAX_CONSULTANCY)] = []
    agreement: Agreement | None = None


class ConsultancyDeclaration(Strict):
    """The whole current declaration: it replaces the previous one."""

    consultancy: Annotated[list[Consultancy], at_most(MAX_CONSULTANCY)]


class ChangeRequest(Strict):
    kind: Literal["extend_scope", "reduce_scope", "terminate", "suspend"]
    products: Annotated[list[Product], at_most(MAX_PRODUCTS)] | None = None
    reason: Text


class Review(Strict):
    outcome: Literal["accepted", "rejected", "information_requested"]
    reason: Text


class Information(Strict):
    note: Text


class Withdrawal(Strict):
    reason: Text


APPLICATIONS = "applications"  # the cursor kinds of the listings, which page in the order recorded
REQUESTS = "requests"


def position(kind: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    found = decode_cursor(kind, cursor)
    if not (found.isdigit() and len(found) <= 18):
        raise InvalidCommand("cursor is not one this listing gave out; start again without it")
    return int(found)


def acting_for(actor: Actor) -> str | None:
    """The holder a holder's staff member acts for (R18); None for the body's staff."""
    return None if actor.has(*STAFF) else actor.organisation


def router(applications: Applications) -> APIRouter:
    api = APIRouter(tags=["applications"])
    Key = Annotated[IdempotencyKey | None, Depends(idempotency_key)]
    Holder = Annotated[Actor, Depends(require("applicant"))]

    @api.post("/v1/applications", status_code=201)
    def submit(
        body: NewApplication, actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key
    ) -> JSONResponse:
        form = body.model_dump(mode="json")
        outcome = applications.submit(form, actor.person, key, organisation=acting_for(actor))
        return respond(outcome)

    @api.post("/v1/applications/persons", status_code=201)
    def submit_person(
        body: NewPersonApplication,
        actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key,
    ) -> JSONResponse:
        """R65: a person's application for certification under a person scheme (ISO/IEC 17024): the candidate
        (name and contact) instead of an applicant, production unit and products. The candidate reads and acts on
        it like the person who submitted it (R18)."""
        form = body.model_dump(mode="json")
        outcome = applications.submit(form, actor.person, key, organisation=acting_for(actor))
        return respond(outcome)

    @api.get("/v1/applications")
    def list_applications(
        actor: Annotated[Actor, Depends(require("applicant", *STAFF))],
        registration_number: Annotated[LabelParam, Query(description="staff: one holder's applications")] = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: CursorParam = None,
    ) -> dict:
        """Applications in the order submitted. R18: the holder's staff see their organisation's (token
        claim ``organisation``), or without the claim what they submitted; the body's staff see all."""
        items, last = applications.applications(
            actor.person, staff=actor.has(*STAFF), organisation=acting_for(actor),
            registration_number=registration_number, after=position(APPLICATIONS, cursor), limit=limit)
        return {"items": items, "next_cursor": encode_cursor(APPLICATIONS, str(last)) if last else None}

    @api.get("/v1/applications/{application_id}")
    def read(application_id: PathId, actor: Annotated[Actor, Depends(require("applicant", *STAFF))]) -> dict:
        return applications.read(application_id, actor.person, staff=actor.has(*STAFF),
                                 organisation=acting_for(actor))

    @api.post("/v1/applications/{application_id}/review")
    def review(
        application_id: PathId, body: Review,
        actor: Annotated[Actor, Depends(require("applications_officer"))], key: Key,
    ) -> JSONResponse:
        outcome = applications.review(application_id, body.outcome, body.reason, actor.person, key)
        return respond(outcome)

    @api.post("/v1/applications/{application_id}/information")
    def supply_information(
        application_id: PathId, body: Information,
        actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key,
    ) -> JSONResponse:
        as_applicant = not actor.has("applications_officer")
        outcome = applications.supply_information(application_id, body.note, actor.person, as_applicant, key,
                                                  organisation=acting_for(actor))
        return respond(outcome)

    @api.post("/v1/applications/{application_id}/withdraw")
    def withdraw(
        application_id: PathId, body: Withdrawal,
        actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key,
    ) -> JSONResponse:
        as_applicant = not actor.has("applications_officer")
        outcome = applications.withdraw(application_id, body.reason, actor.person, as_applicant, key,
                                        organisation=acting_for(actor))
        return respond(outcome)

    # -- the holder's side -------------------------------------------------------------------------------

    @api.post("/v1/applications/{application_id}/agreement")
    def accept_agreement(application_id: PathId, body: Agreement, actor: Holder, key: Key) -> JSONResponse:
        """The holder accepts the certification conditions and the mark licence in these versions (R19)."""
        outcome = applications.accept_agreement(application_id, body.model_dump(), actor.person,
                                                actor.organisation, key)
        return respond(outcome)

    @api.post("/v1/applications/{application_id}/consultancy")
    def declare_consultancy(
        application_id: PathId, body: ConsultancyDeclaration, actor: Holder, key: Key
    ) -> JSONResponse:
        """The holder's current consultancy declaration, whole: R2 uses it from here on."""
        outcome = applications.declare_consultancy(application_id, body.model_dump(mode="json")["consultancy"],
                                                   actor.person, actor.organisation, key)
        return respond(outcome)

    @api.post("/v1/applications/{application_id}/requests", status_code=201)
    def request_change(application_id: PathId, body: ChangeRequest, actor: Holder, key: Key) -> JSONResponse:
        """The holder asks for an extension or reduction of scope, the termination of its certificate, or its
        voluntary suspension (R20, R21, R45); the body's staff then decide through POST /v1/decisions."""
        form = body.model_dump(mode="json")
        outcome = applications.request_change(application_id, form["kind"], form["products"], form["reason"],
                                              actor.person, actor.organisation, key)
        return respond(outcome)

    @api.get("/v1/requests")
    def change_requests(
        actor: Annotated[Actor, Depends(require(*STAFF))],
        status: Literal["open", "decided"] | None = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: CursorParam = None,
    ) -> dict:
        """The holders' requests in the order made: ``status=open`` is the applications officer's worklist."""
        items, last = applications.change_requests(status, after=position(REQUESTS, cursor), limit=limit)
        return {"items": items, "next_cursor": encode_cursor(REQUESTS, str(last)) if last else None}

    return api
