"""The decisions service's HTTP entrypoints."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool, model_validator

from services.decisions.application import Decisions, appeal_view, complaint_view, decision_view, interest_view
from services.decisions.domain import (
    COMMITTEE_ROLES,
    COMPLAINT_KINDS,
    COMPLAINT_OUTCOMES,
    NOTICE_RECIPIENTS,
    VOTES,
)
from shared.domain import INTEREST_KINDS
from shared.errors import InvalidCommand
from shared.http.answers import respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import (
    MAX_BASIS,
    MAX_COMMITTEE,
    MAX_PRODUCTS,
    PAGE_DEFAULT,
    PAGE_MAX,
    Address,
    CursorParam,
    Identifier,
    IdParam,
    Label,
    LabelParam,
    Name,
    PathId,
    PersonName,
    SearchParam,
    Strict,
    Text,
    TextOrEmpty,
    at_most,
    decode_cursor,
    encode_cursor,
)
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey

Outcome = Literal[
    "grant", "refuse", "maintain", "suspend", "restore", "withdraw", "renew", "extend_scope", "reduce_scope", "terminate",
    "warning", "conditional_withdrawal", "reinstate",
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
    complaint_id: Identifier | None = None  # a sanction may cite the complaint it answers (id or reference)
    # The sanctions ladder (R40-R46): a suspension's or conditional withdrawal's conditions; a suspension's end date
    # (no later than the scheme's maximum, R44); a conditional withdrawal's deadline; a voluntary suspension and
    # the holder's request it answers (R45); the appeal upheld against a withdrawal that a reinstatement cites (R46).
    conditions: Text | None = None
    until: date | None = None
    deadline: date | None = None
    voluntary: StrictBool = False
    request_id: Identifier | None = None
    appeal_id: Identifier | None = None
    # R63: a grant under a levelled scheme (system certification) states the level certified.
    level: Annotated[int, Field(ge=1, le=100)] | None = None


class NewAppeal(Strict):
    decision_id: Identifier
    appellant: Name
    grounds: Text


class AppealDecision(Strict):
    """With a convened committee (R54-R56) the votes decide: ``committee`` and ``outcome`` may be left out, and if
    given must agree with them. Without one, both are named here (the earlier form)."""

    committee: Annotated[list[PersonName], at_most(MAX_COMMITTEE, at_least=1)] | None = None
    outcome: Literal["upheld", "dismissed"] | None = None
    rationale: Text


class CommitteeMember(Strict):
    person: PersonName
    role: Literal[COMMITTEE_ROLES]  # type: ignore[valid-type]
    organisation: Name | None = None  # whom the member represents (a public authority, the users, ...)


class CommitteeComposition(Strict):
    members: Annotated[list[CommitteeMember], at_most(MAX_COMMITTEE, at_least=1)]
    reason: Text


class Vote(Strict):
    """A member's vote; ``member`` only when the secretary (an administrator) records it for them."""

    member: PersonName | None = None
    vote: Literal[VOTES]  # type: ignore[valid-type]
    reason: Text


class InterestOrganisation(Strict):
    name: Name
    registration_number: Label


class NewInterest(Strict):
    """An interest of a member of staff in an organisation (R57): ``until`` when it has already ended."""

    person: PersonName
    organisation: InterestOrganisation
    kind: Literal[INTEREST_KINDS]  # type: ignore[valid-type]
    since: date
    until: date | None = None
    reason: Text


class InterestEnd(Strict):
    until: date | None = None  # absent: today
    reason: Text


# An e-mail address as people write one (ASCII; the complaint needs a way to answer, not RFC 5322 in full).
Email = Annotated[str, Field(min_length=3, max_length=254,
                             pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]
ComplaintKind = Literal[COMPLAINT_KINDS]  # type: ignore[valid-type]


class ComplaintHolder(Strict):
    name: Name
    registration_number: Label


class ComplaintSubject(Strict):
    """What the complaint is about: ``body``; a ``certificate`` (its number); a ``holder`` (name and
    registration number, a certificate optionally); ``mark_misuse`` (the mark and who misuses it)."""

    kind: ComplaintKind
    certificate_number: Identifier | None = None
    holder: ComplaintHolder | None = None
    mark: Label | None = None
    misuser: Name | None = None


class Complainant(Strict):
    """An identified complainant (R23): a name, and an e-mail or postal address to answer to."""

    name: PersonName
    email: Email | None = None
    address: Address | None = None

    @model_validator(mode="after")
    def reachable(self) -> "Complainant":
        if not self.email and not self.address:
            raise ValueError("give an e-mail or a postal address to answer the complainant (R23)")
        return self


class NewComplaint(Strict):
    subject: ComplaintSubject
    complainant: Complainant
    description: Text


class StepReason(Strict):
    reason: Text


class Admissibility(Strict):
    admissible: StrictBool
    reason: Text


class HandlerAssignment(Strict):
    handler: PersonName
    reason: Text


class AuditLink(Strict):
    audit_id: Identifier
    reason: Text


class ComplaintOutcome(Strict):
    outcome: Literal[COMPLAINT_OUTCOMES]  # type: ignore[valid-type]
    decision_ids: Annotated[list[Identifier], at_most(MAX_BASIS)] = []
    rationale: Text


class ComplaintNotice(Strict):
    recipient: Literal[NOTICE_RECIPIENTS]  # type: ignore[valid-type]
    summary: Text


COMPLAINT_STATUSES = ("lodged", "acknowledged", "admissible", "investigating", "decided", "closed")
COMPLAINT_HANDLERS = ("admin", "decision_maker")  # who records a complaint's steps
COMPLAINT_READERS = ("assessor", "admin", "decision_maker")
# The staff interest register: an administrator keeps it; staff read it, so whoever assigns reviewers, auditors,
# deciders, handlers or committee members sees who may not act for an organisation (R58).
INTEREST_KEEPERS = ("admin",)


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

    @api.post("/v1/appeals/{appeal_id}/committee")
    def convene_committee(
        appeal_id: PathId, body: CommitteeComposition, actor: Annotated[Actor, Depends(require("admin"))], key: Key
    ) -> JSONResponse:
        """The appeal committee's composition: at least three members, one chair (R54), none involved in the
        contested decision (R8), acting for the appellant (R12) or with an interest in the holder (R2, R58)."""
        return respond(decisions.convene_committee(appeal_id, body.model_dump(), actor.person, key))

    @api.post("/v1/appeals/{appeal_id}/votes")
    def vote(appeal_id: PathId, body: Vote, actor: Annotated[Actor, Depends(require(*STAFF))], key: Key
             ) -> JSONResponse:
        """A committee member's vote with its reason (R56); the outcome follows from the votes (R55)."""
        as_secretary = bool(body.member) and actor.has("admin")
        return respond(decisions.record_vote(appeal_id, body.model_dump(), actor.person, as_secretary, key))

    # -- the staff interest register (R57, R58) -------------------------------------------------------

    @api.post("/v1/staff/interests", status_code=201)
    def register_interest(body: NewInterest, actor: Annotated[Actor, Depends(require(*INTEREST_KEEPERS))],
                          key: Key) -> JSONResponse:
        """A staff member's interest in an organisation: R2 then refuses them for its files (R58)."""
        return respond(decisions.register_interest(body.model_dump(), actor.person, key))

    @api.get("/v1/staff/interests")
    def list_interests(
        actor: Annotated[Actor, Depends(require(*STAFF))],
        person: SearchParam = None,
        registration_number: LabelParam = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: CursorParam = None,
    ) -> dict:
        """The register in order of registration, by person or by organisation (its registration number), a page at
        a time."""
        position = decode_cursor("staff-interests", cursor) if cursor else "0"
        if not position.isdigit():
            raise InvalidCommand("cursor is not one this listing gave out; start again without it")
        items, more = decisions.interests(person=person, organisation=registration_number, after=int(position),
                                          limit=limit)
        return {"items": items,
                "next_cursor": encode_cursor("staff-interests", str(more)) if more is not None else None}

    @api.get("/v1/staff/interests/{interest_id}")
    def read_interest(interest_id: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return interest_view(decisions.interest(interest_id))

    @api.post("/v1/staff/interests/{interest_id}/end")
    def end_interest(interest_id: PathId, body: InterestEnd,
                     actor: Annotated[Actor, Depends(require(*INTEREST_KEEPERS))], key: Key) -> JSONResponse:
        """The interest ended (a new event; the entry is never edited); R2 still counts it for two years."""
        return respond(decisions.end_interest(interest_id, body.model_dump(), actor.person, key))

    # -- complaints (ISO/IEC 17065 7.13) --------------------------------------------------------------

    @api.post("/public/v1/complaints", status_code=201)
    def lodge_public_complaint(body: NewComplaint) -> JSONResponse:
        """Anyone lodges a complaint, without a token: about the body, a certificate, a holder, or misuse of a
        mark. The answer is the reference to quote; it never repeats the complainant's name or address."""
        return respond(decisions.lodge_complaint(body.model_dump(), None))

    @api.post("/v1/complaints", status_code=201)
    def lodge_complaint(body: NewComplaint, actor: Annotated[Actor, Depends(require(*STAFF))], key: Key
                        ) -> JSONResponse:
        """A member of staff records a complaint received by letter, e-mail or phone, for its complainant."""
        return respond(decisions.lodge_complaint(body.model_dump(), actor.person, key))

    @api.get("/v1/complaints")
    def list_complaints(
        actor: Annotated[Actor, Depends(require(*COMPLAINT_READERS))],
        status: LabelParam = None,
        kind: LabelParam = None,
        certificate: IdParam = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: CursorParam = None,
    ) -> dict:
        """The complaints register, in order of receipt, a page at a time."""
        if status and status not in COMPLAINT_STATUSES:
            raise InvalidCommand(f"status is one of {', '.join(COMPLAINT_STATUSES)}")
        if kind and kind not in COMPLAINT_KINDS:
            raise InvalidCommand(f"kind is one of {', '.join(COMPLAINT_KINDS)}")
        position = decode_cursor("complaints", cursor) if cursor else "0"
        if not position.isdigit():
            raise InvalidCommand("cursor is not one this listing gave out; start again without it")
        items, more = decisions.complaints(status=status, kind=kind, certificate=certificate, after=int(position),
                                           limit=limit)
        return {"items": items, "next_cursor": encode_cursor("complaints", str(more)) if more is not None else None}

    @api.get("/v1/complaints/{complaint_id}")
    def read_complaint(complaint_id: PathId, actor: Annotated[Actor, Depends(require(*COMPLAINT_READERS))]) -> dict:
        """A complaint (by id or reference) with its whole history."""
        return complaint_view(decisions.complaint(complaint_id))

    Handler = Annotated[Actor, Depends(require(*COMPLAINT_HANDLERS))]

    @api.post("/v1/complaints/{complaint_id}/acknowledgement")
    def acknowledge(complaint_id: PathId, body: StepReason, actor: Handler, key: Key) -> JSONResponse:
        return respond(decisions.complaint_step(complaint_id, "acknowledge", body.model_dump(), actor.person, key))

    @api.post("/v1/complaints/{complaint_id}/admissibility")
    def admissibility(complaint_id: PathId, body: Admissibility, actor: Handler, key: Key) -> JSONResponse:
        """Admissible, or inadmissible with the reason (which closes the complaint)."""
        return respond(decisions.complaint_step(complaint_id, "admissibility", body.model_dump(), actor.person, key))

    @api.post("/v1/complaints/{complaint_id}/handler")
    def assign_handler(complaint_id: PathId, body: HandlerAssignment, actor: Handler, key: Key) -> JSONResponse:
        """The person who investigates: not involved in the file concerned, not the complainant, no adviser (R25)."""
        return respond(decisions.complaint_step(complaint_id, "handler", body.model_dump(), actor.person, key))

    @api.post("/v1/complaints/{complaint_id}/audits")
    def link_audit(complaint_id: PathId, body: AuditLink, actor: Handler, key: Key) -> JSONResponse:
        """A special audit planned through the audits API for the investigation (R29)."""
        return respond(decisions.complaint_step(complaint_id, "audit", body.model_dump(), actor.person, key))

    @api.post("/v1/complaints/{complaint_id}/outcome")
    def decide_outcome(complaint_id: PathId, body: ComplaintOutcome, actor: Handler, key: Key) -> JSONResponse:
        """Well founded (citing the sanction decisions taken) or unfounded; decided by someone not involved (R25)."""
        return respond(decisions.complaint_step(complaint_id, "outcome", body.model_dump(), actor.person, key))

    @api.post("/v1/complaints/{complaint_id}/notices")
    def notify(complaint_id: PathId, body: ComplaintNotice, actor: Handler, key: Key) -> JSONResponse:
        """A written notice sent: to the complainant, and to the holder where one is concerned."""
        return respond(decisions.complaint_step(complaint_id, "notice", body.model_dump(), actor.person, key))

    @api.post("/v1/complaints/{complaint_id}/close")
    def close(complaint_id: PathId, body: StepReason, actor: Handler, key: Key) -> JSONResponse:
        """Closed once the outcome is decided and the notices it requires are sent (R26)."""
        return respond(decisions.complaint_step(complaint_id, "close", body.model_dump(), actor.person, key))

    return api
