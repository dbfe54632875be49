"""The applications service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.applications.application import Applications
from shared.http.answers import respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import (
    MAX_CONSULTANCY,
    MAX_PRODUCTS,
    Address,
    Code,
    Label,
    Name,
    NameOrEmpty,
    PathId,
    PersonName,
    Strict,
    Text,
    TextOrEmpty,
    at_most,
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


class NewApplication(Strict):
    scheme: Code
    applicant: Applicant
    production_unit: ProductionUnit
    products: Annotated[list[Product], at_most(MAX_PRODUCTS, at_least=1)]
    scope: Text
    consultancy: Annotated[list[Consultancy], at_most(MAX_CONSULTANCY)] = []


class Review(Strict):
    outcome: Literal["accepted", "rejected", "information_requested"]
    reason: Text


class Information(Strict):
    note: Text


class Withdrawal(Strict):
    reason: Text


def router(applications: Applications) -> APIRouter:
    api = APIRouter(tags=["applications"])
    Key = Annotated[IdempotencyKey | None, Depends(idempotency_key)]

    @api.post("/v1/applications", status_code=201)
    def submit(
        body: NewApplication, actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key
    ) -> JSONResponse:
        outcome = applications.submit(body.model_dump(mode="json"), actor.person, key)
        return respond(outcome)

    @api.get("/v1/applications/{application_id}")
    def read(application_id: PathId, actor: Annotated[Actor, Depends(require("applicant", *STAFF))]) -> dict:
        return applications.read(application_id, actor.person, staff=actor.has(*STAFF))

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
        outcome = applications.supply_information(application_id, body.note, actor.person, as_applicant, key)
        return respond(outcome)

    @api.post("/v1/applications/{application_id}/withdraw")
    def withdraw(
        application_id: PathId, body: Withdrawal,
        actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key,
    ) -> JSONResponse:
        as_applicant = not actor.has("applications_officer")
        outcome = applications.withdraw(application_id, body.reason, actor.person, as_applicant, key)
        return respond(outcome)

    return api
