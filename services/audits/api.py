"""The audits service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import model_validator

from services.audits.application import Audits, audit_view
from shared.http.answers import respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import (
    MAX_INTERESTS,
    Identifier,
    Line,
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


class NewAudit(Strict):
    application_id: Identifier | None = None
    certificate_number: Identifier | None = None
    kind: Literal["initial", "surveillance", "renewal", "extension", "special", "follow_up"]
    planned_start: date
    planned_end: date | None = None
    reason: TextOrEmpty | None = None

    @model_validator(mode="after")
    def one_subject(self) -> "NewAudit":
        if not (self.application_id or self.certificate_number):
            raise ValueError("give application_id or certificate_number")
        return self


class Declaration(Strict):
    independent: bool
    interests: Annotated[list[Line], at_most(MAX_INTERESTS)] = []


class TeamMember(Strict):
    person: PersonName
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
        return respond(outcome)

    @api.get("/v1/audits/{audit_id}")
    def read(audit_id: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return audit_view(audits.audit(audit_id))

    @api.post("/v1/audits/{audit_id}/team")
    def assign(
        audit_id: PathId, body: TeamMember, actor: Annotated[Actor, Depends(planners)], key: Key
    ) -> JSONResponse:
        outcome = audits.assign(audit_id, body.person, body.role, body.declaration.model_dump(), actor.person, key)
        return respond(outcome)

    @api.post("/v1/audits/{audit_id}/findings", status_code=201)
    def record_finding(
        audit_id: PathId, body: NewFinding, actor: Annotated[Actor, Depends(auditors)], key: Key
    ) -> JSONResponse:
        outcome = audits.record_finding(audit_id, body.model_dump(), actor.person, key)
        return respond(outcome)

    @api.post("/v1/audits/{audit_id}/findings/{finding_id}/close")
    def close_finding(
        audit_id: PathId, finding_id: PathId, body: Closure, actor: Annotated[Actor, Depends(auditors)], key: Key
    ) -> JSONResponse:
        outcome = audits.close_finding(audit_id, finding_id, body.evidence, actor.person, key)
        return respond(outcome)

    @api.post("/v1/audits/{audit_id}/report")
    def report(audit_id: PathId, body: NewReport, actor: Annotated[Actor, Depends(auditors)], key: Key) -> JSONResponse:
        outcome = audits.report(audit_id, body.model_dump(), actor.person, key)
        return respond(outcome)

    return api
