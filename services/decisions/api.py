"""The decisions service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import model_validator

from services.decisions.application import Decisions, appeal_view, decision_view
from shared.http.answers import respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import (
    MAX_BASIS,
    MAX_COMMITTEE,
    MAX_PRODUCTS,
    Identifier,
    Name,
    PathId,
    PersonName,
    Strict,
    Text,
    TextOrEmpty,
    at_most,
)
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey

Outcome = Literal[
    "grant", "refuse", "maintain", "suspend", "restore", "withdraw", "renew", "extend_scope", "reduce_scope", "terminate"
]


class Subject(Strict):
    application_id: Identifier | None = None
    certificate_number: Identifier | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> "Subject":
        if bool(self.application_id) == bool(self.certificate_number):
            raise ValueError("give exactly one of application_id and certificate_number")
        return self


class ScopeProduct(Strict):
    name: Name
    type: Name
    description: TextOrEmpty = ""


class NewDecision(Strict):
    subject: Subject
    outcome: Outcome
    basis: Annotated[list[Identifier], at_most(MAX_BASIS)] = []
    rationale: Text
    effective_from: date | None = None  # absent: the decision date
    scope: Text | None = None
    # reduce_scope: the products that remain certified; extend_scope: optionally, all products after it
    products: Annotated[list[ScopeProduct], at_most(MAX_PRODUCTS, at_least=1)] | None = None


class NewAppeal(Strict):
    decision_id: Identifier
    appellant: Name
    grounds: Text


class AppealDecision(Strict):
    committee: Annotated[list[PersonName], at_most(MAX_COMMITTEE, at_least=1)]
    outcome: Literal["upheld", "dismissed"]
    rationale: Text


def router(decisions: Decisions) -> APIRouter:
    api = APIRouter(tags=["decisions"])
    Key = Annotated[IdempotencyKey | None, Depends(idempotency_key)]

    @api.post("/v1/decisions", status_code=201)
    def decide(body: NewDecision, actor: Annotated[Actor, Depends(require("decision_maker"))], key: Key) -> JSONResponse:
        outcome = decisions.decide(body.model_dump(), actor.person, key)
        return respond(outcome)

    @api.get("/v1/decisions/{decision_id}")
    def read(decision_id: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return decision_view(decisions.decision(decision_id))

    @api.post("/v1/appeals", status_code=201)
    def lodge(body: NewAppeal, actor: Annotated[Actor, Depends(require("applicant", "admin"))], key: Key) -> JSONResponse:
        outcome = decisions.lodge_appeal(body.model_dump(), actor.person, not actor.has("admin"), key)
        return respond(outcome)

    @api.get("/v1/appeals/{appeal_id}")
    def read_appeal(appeal_id: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return appeal_view(decisions.appeal(appeal_id))

    @api.post("/v1/appeals/{appeal_id}/decide")
    def decide_appeal(
        appeal_id: PathId, body: AppealDecision, actor: Annotated[Actor, Depends(require("admin"))], key: Key
    ) -> JSONResponse:
        outcome = decisions.decide_appeal(appeal_id, body.model_dump(), actor.person, key)
        return respond(outcome)

    return api
