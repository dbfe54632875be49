"""The decisions service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.decisions.application import Decisions, appeal_view, decision_view
from shared.http.auth import STAFF, Actor, require
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
Outcome = Literal[
    "grant", "refuse", "maintain", "suspend", "restore", "withdraw", "renew", "extend_scope", "reduce_scope", "terminate"
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Subject(Strict):
    application_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    certificate_number: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> "Subject":
        if bool(self.application_id) == bool(self.certificate_number):
            raise ValueError("give exactly one of application_id and certificate_number")
        return self


class NewDecision(Strict):
    subject: Subject
    outcome: Outcome
    basis: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    rationale: Text
    effective_from: date
    scope: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class NewAppeal(Strict):
    decision_id: Annotated[str, Field(min_length=1, max_length=64)]
    appellant: Name
    grounds: Text


class AppealDecision(Strict):
    committee: Annotated[list[Name], Field(min_length=1, max_length=12)]
    outcome: Literal["upheld", "dismissed"]
    rationale: Text


def router(decisions: Decisions) -> APIRouter:
    api = APIRouter(tags=["decisions"])
    Key = Annotated[IdempotencyKey | None, Depends(idempotency_key)]

    @api.post("/v1/decisions", status_code=201)
    def decide(body: NewDecision, actor: Annotated[Actor, Depends(require("decision_maker"))], key: Key) -> JSONResponse:
        outcome = decisions.decide(body.model_dump(), actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.get("/v1/decisions/{decision_id}")
    def read(decision_id: str, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return decision_view(decisions.decision(decision_id))

    @api.post("/v1/appeals", status_code=201)
    def lodge(body: NewAppeal, actor: Annotated[Actor, Depends(require("applicant", "admin"))], key: Key) -> JSONResponse:
        outcome = decisions.lodge_appeal(body.model_dump(), actor.person, not actor.has("admin"), key)
        return JSONResponse(outcome.body, outcome.status)

    @api.get("/v1/appeals/{appeal_id}")
    def read_appeal(appeal_id: str, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return appeal_view(decisions.appeal(appeal_id))

    @api.post("/v1/appeals/{appeal_id}/decide")
    def decide_appeal(
        appeal_id: str, body: AppealDecision, actor: Annotated[Actor, Depends(require("admin"))], key: Key
    ) -> JSONResponse:
        outcome = decisions.decide_appeal(appeal_id, body.model_dump(), actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    return api
