"""The applications service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.applications.application import Applications
from shared.http.auth import STAFF, Actor, require
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Applicant(Strict):
    name: Name
    registration_number: Annotated[str, Field(min_length=1, max_length=40)]
    address: Text


class ProductionUnit(Strict):
    name: Name
    address: Text


class Product(Strict):
    name: Name
    type: Name
    description: Annotated[str, Field(max_length=2000)] = ""


class Consultancy(Strict):
    person: Name
    organisation: Annotated[str, Field(max_length=200)] = ""
    until: date | None = None


class NewApplication(Strict):
    scheme: Annotated[str, Field(min_length=1, max_length=40)]
    applicant: Applicant
    production_unit: ProductionUnit
    products: Annotated[list[Product], Field(min_length=1)]
    scope: Text
    consultancy: list[Consultancy] = []


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
        return JSONResponse(outcome.body, outcome.status)

    @api.get("/v1/applications/{application_id}")
    def read(application_id: str, actor: Annotated[Actor, Depends(require("applicant", *STAFF))]) -> dict:
        return applications.read(application_id, actor.person, staff=actor.has(*STAFF))

    @api.post("/v1/applications/{application_id}/review")
    def review(
        application_id: str, body: Review,
        actor: Annotated[Actor, Depends(require("applications_officer"))], key: Key,
    ) -> JSONResponse:
        outcome = applications.review(application_id, body.outcome, body.reason, actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.post("/v1/applications/{application_id}/information")
    def supply_information(
        application_id: str, body: Information,
        actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key,
    ) -> JSONResponse:
        as_applicant = not actor.has("applications_officer")
        outcome = applications.supply_information(application_id, body.note, actor.person, as_applicant, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.post("/v1/applications/{application_id}/withdraw")
    def withdraw(
        application_id: str, body: Withdrawal,
        actor: Annotated[Actor, Depends(require("applicant", "applications_officer"))], key: Key,
    ) -> JSONResponse:
        as_applicant = not actor.has("applications_officer")
        outcome = applications.withdraw(application_id, body.reason, actor.person, as_applicant, key)
        return JSONResponse(outcome.body, outcome.status)

    return api
