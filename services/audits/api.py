"""The audits service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.audits.application import Audits, audit_view
from shared.http.auth import STAFF, Actor, require
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewAudit(Strict):
    application_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    certificate_number: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    kind: Literal["initial", "surveillance", "renewal", "extension", "special", "follow_up"]
    planned_start: date
    planned_end: date | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def one_subject(self) -> "NewAudit":
        if not (self.application_id or self.certificate_number):
            raise ValueError("give application_id or certificate_number")
        return self


class Declaration(Strict):
    independent: bool
    interests: list[Annotated[str, Field(max_length=500)]] = []


class TeamMember(Strict):
    person: Name
    role: Literal["lead_auditor", "auditor", "technical_expert"]
    declaration: Declaration


class NewFinding(Strict):
    severity: Literal["major", "minor", "observation"]
    requirement: Name
    description: Text
    corrective_action_due: date | None = None


class Closure(Strict):
    evidence: Text


class NewReport(Strict):
    conclusion: Literal["conforming", "nonconforming"]
    recommendation: Name
    summary: Text


def router(audits: Audits) -> APIRouter:
    api = APIRouter(tags=["audits"])
    Key = Annotated[IdempotencyKey | None, Depends(idempotency_key)]
    planners = require("auditor", "applications_officer")
    auditors = require("auditor")

    @api.post("/v1/audits", status_code=201)
    def plan(body: NewAudit, actor: Annotated[Actor, Depends(planners)], key: Key) -> JSONResponse:
        outcome = audits.plan(body.model_dump(), actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.get("/v1/audits/{audit_id}")
    def read(audit_id: str, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return audit_view(audits.audit(audit_id))

    @api.post("/v1/audits/{audit_id}/team")
    def assign(audit_id: str, body: TeamMember, actor: Annotated[Actor, Depends(planners)], key: Key) -> JSONResponse:
        outcome = audits.assign(audit_id, body.person, body.role, body.declaration.model_dump(), actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.post("/v1/audits/{audit_id}/findings", status_code=201)
    def record_finding(
        audit_id: str, body: NewFinding, actor: Annotated[Actor, Depends(auditors)], key: Key
    ) -> JSONResponse:
        outcome = audits.record_finding(audit_id, body.model_dump(), actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.post("/v1/audits/{audit_id}/findings/{finding_id}/close")
    def close_finding(
        audit_id: str, finding_id: str, body: Closure, actor: Annotated[Actor, Depends(auditors)], key: Key
    ) -> JSONResponse:
        outcome = audits.close_finding(audit_id, finding_id, body.evidence, actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.post("/v1/audits/{audit_id}/report")
    def report(audit_id: str, body: NewReport, actor: Annotated[Actor, Depends(auditors)], key: Key) -> JSONResponse:
        outcome = audits.report(audit_id, body.model_dump(), actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    return api
