"""The audits service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from services.audits.application import Audits
from shared.errors import NotPermitted
from shared.http.answers import respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import (
    MAX_DOCUMENTS,
    MAX_INTERESTS,
    PAGE_DEFAULT,
    PAGE_MAX,
    CursorParam,
    Identifier,
    Label,
    Line,
    Name,
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

MAX_VALUES = 50  # measured values in one laboratory result


class NewAudit(Strict):
    application_id: Identifier | None = None
    certificate_number: Identifier | None = None
    kind: Literal["initial", "surveillance", "renewal", "extension", "special", "follow_up", "examination", "stage1",
                  "stage2"]
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
    role: Literal["lead_auditor", "auditor", "technical_expert", "examiner"]
    declaration: Declaration


class PartResult(Strict):
    """R67: the examiner's score for one part of an examination, in percent; judged against the part's pass mark."""

    part: Label
    score: Annotated[int, Field(ge=0, le=100)]


class NewFinding(Strict):
    severity: Literal["major", "minor", "observation"]
    requirement: Name
    description: Text
    corrective_action_due: date | None = None
    sample_result: Identifier | None = Field(
        default=None, description="The id of a nonconforming, current laboratory result this finding rests on (R33)")


class Closure(Strict):
    evidence: Text


class NewReport(Strict):
    conclusion: Literal["conforming", "nonconforming"]
    recommendation: Name
    summary: Text
    # R63: the stage 2 report under a levelled scheme states the level assessed, one of the scheme's levels.
    level_assessed: Annotated[int, Field(ge=1, le=100)] | None = None


class NewSample(Strict):
    product: Name
    batch: Name
    seal_number: Label
    taken_on: date
    laboratory: Identifier = Field(description="The laboratory the sample is assigned to, e.g. LAB-0042")


class MeasuredValue(Strict):
    quantity: Name
    value: Annotated[float, Field(allow_inf_nan=False)]
    unit: Label


class NewResult(Strict):
    method: Line
    clause: Name = Field(description="The TRA/PTV clause tested against, e.g. PTV 21-601 §5.3")
    values: Annotated[list[MeasuredValue], at_most(MAX_VALUES, at_least=1)]
    conformity: Literal["conforming", "nonconforming"]
    accreditation: Label = Field(description="The laboratory's accreditation number, e.g. BELAC 123-TEST")
    corrects: Identifier | None = Field(default=None, description="The earlier result of this sample it corrects (R32)")


class EvidenceDocument(Strict):
    name: Name
    reference: Line


class NewCorrectiveAction(Strict):
    description: Text
    evidence: Annotated[list[EvidenceDocument], at_most(MAX_DOCUMENTS, at_least=1)]


class CorrectiveActionReview(Strict):
    outcome: Literal["accepted", "rejected"]
    reason: Text


class ReportComment(Strict):
    comment: Text


def page(kind: str, items: list[dict], limit: int, cursor: str | None) -> dict:
    """One page of a listing sorted by each item's ``position``, and the cursor of the next."""
    after = decode_cursor(kind, cursor) if cursor else None
    rest = [item for item in items if after is None or item["position"] > after]
    chosen = [{k: v for k, v in item.items() if k != "position"} for item in rest[:limit]]
    more = len(rest) > limit
    return {"items": chosen, "next_cursor": encode_cursor(kind, rest[limit - 1]["position"]) if more else None}


def organisation_of(actor: Actor) -> str:
    """The organisation a holder's staff member or a laboratory acts for (the token's claim)."""
    if not actor.organisation:
        raise NotPermitted("Your token names no organisation ('organisation' claim); ask for one that does")
    return actor.organisation


def router(audits: Audits) -> APIRouter:
    api = APIRouter(tags=["audits"])
    Key = Annotated[IdempotencyKey | None, Depends(idempotency_key)]
    planners = require("auditor", "applications_officer")
    auditors = require("auditor")
    readers = require("applicant", *STAFF)
    holders = require("applicant")
    laboratories = require("laboratory")
    Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]

    @api.post("/v1/audits", status_code=201)
    def plan(body: NewAudit, actor: Annotated[Actor, Depends(planners)], key: Key) -> JSONResponse:
        outcome = audits.plan(body.model_dump(), actor.person, key)
        return respond(outcome)

    @api.get("/v1/audits/{audit_id}")
    def read(audit_id: PathId, actor: Annotated[Actor, Depends(readers)]) -> dict:
        """The audit: the body's staff, or the holder's staff of its own file (R18)."""
        staff = actor.has(*STAFF)
        return audits.read(audit_id, staff, None if staff else organisation_of(actor))

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

    @api.post("/v1/audits/{audit_id}/examination", status_code=201)
    def score_part(
        audit_id: PathId, body: PartResult, actor: Annotated[Actor, Depends(auditors)], key: Key
    ) -> JSONResponse:
        """R67: the examiner on an examination's team records the result of one part (theory, practice...),
        once; passed when the score reaches the part's pass mark (the scheme's data). Results are immutable."""
        outcome = audits.score_part(audit_id, body.part, body.score, actor.person, key)
        return respond(outcome)

    # -- samples and laboratory results (R30-R33) ---------------------------------------------

    @api.post("/v1/audits/{audit_id}/samples", status_code=201)
    def take_sample(
        audit_id: PathId, body: NewSample, actor: Annotated[Actor, Depends(auditors)], key: Key
    ) -> JSONResponse:
        outcome = audits.take_sample(audit_id, body.model_dump(), actor.person, key)
        return respond(outcome)

    @api.get("/v1/laboratory/samples")
    def laboratory_samples(
        actor: Annotated[Actor, Depends(laboratories)], limit: Limit = PAGE_DEFAULT, cursor: CursorParam = None,
    ) -> dict:
        """The samples assigned to the caller's laboratory (R31), oldest first."""
        return page("lab-samples", audits.laboratory_samples(organisation_of(actor)), limit, cursor)

    @api.get("/v1/samples/{sample_id}")
    def read_sample(
        sample_id: PathId, actor: Annotated[Actor, Depends(require("laboratory", "applicant", *STAFF))]
    ) -> dict:
        staff = actor.has(*STAFF)
        laboratory = organisation_of(actor) if not staff and actor.has("laboratory") else None
        holder = organisation_of(actor) if not staff and laboratory is None else None
        return audits.read_sample(sample_id, staff, laboratory, holder)

    @api.post("/v1/samples/{sample_id}/results", status_code=201)
    def record_result(
        sample_id: PathId, body: NewResult, actor: Annotated[Actor, Depends(laboratories)], key: Key
    ) -> JSONResponse:
        """A laboratory's result; the same result posted again answers 200 with it and records nothing."""
        outcome = audits.record_result(sample_id, body.model_dump(), organisation_of(actor), actor.person, key)
        return respond(outcome)

    # -- corrective actions (R34-R36) ----------------------------------------------------------

    @api.post("/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions", status_code=201)
    def submit_corrective_action(
        audit_id: PathId, finding_id: PathId, body: NewCorrectiveAction, actor: Annotated[Actor, Depends(holders)],
        key: Key,
    ) -> JSONResponse:
        outcome = audits.submit_corrective_action(
            audit_id, finding_id, body.model_dump(), organisation_of(actor), actor.person, key)
        return respond(outcome)

    @api.post("/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions/{corrective_action_id}/review")
    def review_corrective_action(
        audit_id: PathId, finding_id: PathId, corrective_action_id: PathId, body: CorrectiveActionReview,
        actor: Annotated[Actor, Depends(auditors)], key: Key,
    ) -> JSONResponse:
        outcome = audits.review_corrective_action(
            audit_id, finding_id, corrective_action_id, body.outcome, body.reason, actor.person, key)
        return respond(outcome)

    @api.get("/v1/worklist")
    def worklist(
        actor: Annotated[Actor, Depends(require(*STAFF))], limit: Limit = PAGE_DEFAULT, cursor: CursorParam = None,
    ) -> dict:
        """Findings past their corrective-action due date with none accepted (R36), most overdue first."""
        return page("worklist", audits.worklist(), limit, cursor)

    # -- the holder's comments on the report (R37) ---------------------------------------------

    @api.post("/v1/audits/{audit_id}/report/comments", status_code=201)
    def comment_on_report(
        audit_id: PathId, body: ReportComment, actor: Annotated[Actor, Depends(holders)], key: Key
    ) -> JSONResponse:
        outcome = audits.comment_on_report(audit_id, body.comment, organisation_of(actor), actor.person, key)
        return respond(outcome)

    return api
