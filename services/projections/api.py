"""HTTP entrypoints of the read models: staff and public certificate lookup, and the audit trail."""


import json
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import Field, model_validator

from services.projections.certificates import CertificateView, attention, public_view, validity_on
from services.projections.evidence import make_pack, select
from services.projections.holder import HolderView, organisation_key
from services.projections.impartiality import REGISTER_TYPES, impartiality
from services.projections.log import b64
from services.projections.signing import MEDIA_TYPE as JWT
from services.projections.signing import AnswerSigner, wants_jwt
from services.projections.trail import TrailView
from services.projections.transparency import transparency_page
from shared import consistency
from shared.errors import InvalidCommand, NotFound, NotPermitted
from shared.evidence.entry import decode_entry
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import (
    PAGE_DEFAULT,
    PAGE_MAX,
    TRAIL_PAGE_DEFAULT,
    TRAIL_PAGE_MAX,
    CursorParam,
    Identifier,
    IdParam,
    LabelParam,
    PathId,
    SearchParam,
    Strict,
    at_most,
    decode_cursor,
    encode_cursor,
)
from shared.http.problems import PROBLEM_BASE

Status = Literal["active", "suspended", "withdrawn", "expired", "terminated", "superseded"]
CERTIFICATES = "after"  # the cursor kind of both certificate listings, which page in number order
TRAIL = "trail"
HOLDER_FILES = "holder-files"
MAX_PERIOD_DAYS = 3660
MAX_INDEX = 2**62  # a log index or size fits a BIGINT
MAX_VERIFIED = 100  # certificates per bulk verification, as IAF CertSearch's bulk search

# What a bulk verification answers of each certificate found: the public view's essentials (R9).
VERIFIED_FIELDS = ("number", "revision", "quick_code", "status", "status_since", "valid_from", "valid_until",
                   "scope", "products", "mark", "scheme", "holder", "production_unit")
SIGNED_ANSWER: dict[int | str, dict[str, Any]] = {200: {
    "description": "The answer; with Accept: application/jwt or format=jwt, a compact JWS over it (EdDSA, "
                   "keys at /.well-known/jwks.json; ADR 0013)",
    "content": {JWT: {"schema": {"type": "string"}}},
}}

FormatParam = Annotated[
    Literal["json", "jwt"] | None,
    Query(alias="format", description="jwt: the answer signed, as with Accept: application/jwt"),
]
QuickCode = Annotated[str, Field(pattern=r"^[0-9]{8}$", description="the 8-digit quick code of delivery notes")]


class VerificationItem(Strict):
    number: Identifier | None = None
    quick_code: QuickCode | None = None
    on: date | None = Field(None, description="Was it valid on this date? Default: today in the body's calendar")

    @model_validator(mode="after")
    def exactly_one(self) -> "VerificationItem":
        if (self.number is None) == (self.quick_code is None):
            raise ValueError("give exactly one of number and quick_code")
        return self


class Verification(Strict):
    items: Annotated[list[VerificationItem], at_most(MAX_VERIFIED, at_least=1)]


def json_answer(content: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer serialised once, by the standard library's C encoder: the public lookup's hot path
    skips FastAPI's generic encoder, which walks every value of the document in Python (make bench)."""
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    return Response(body, media_type="application/json", headers=headers)


def certificates_router(view: CertificateView, today: Callable[[], date], signer: AnswerSigner) -> APIRouter:
    api = APIRouter(tags=["certificates"])

    @api.get("/v1/certificates")
    def list_certificates(
        actor: Annotated[Actor, Depends(require(*STAFF))],
        application_id: IdParam = None,
        holder: SearchParam = None,
        status: Status | None = None,
        scheme: LabelParam = None,
        needs_attention: Annotated[bool, Query(description="only certificates with an action due")] = False,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: CursorParam = None,
    ) -> dict:
        items, last = view.page(application_id=application_id, holder=holder, status=status, scheme=scheme,
                                needs_attention=needs_attention, limit=limit,
                                after=decode_cursor(CERTIFICATES, cursor) if cursor else None)
        return {"items": [{**doc, "attention": attention(doc)} for doc in items],
                "next_cursor": encode_cursor(CERTIFICATES, last) if last else None}

    @api.get("/v1/certificates/{number}")
    def get_certificate(number: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        doc = view.get(number.strip().upper())
        if doc is None:
            raise NotFound(f"Certificate {number} does not exist (or is not yet in the directory)")
        return {**doc, "attention": attention(doc)}

    def not_after_today(on: date, field: str) -> InvalidCommand | None:
        """R17: validity is answered for past dates and today only."""
        if on <= today():
            return None
        return InvalidCommand(
            f"on={on} is after today ({today()}, the certification body's date): validity is answered "
            "for past dates and today only, since a status can still change", field=field)

    def signed(subject: str, lookup_date: date, claim: str, answer: Any) -> Response:
        token = signer.sign(subject=subject, lookup_date=lookup_date, claim=claim, answer=answer)
        return Response(token, media_type=JWT, headers={"Vary": "Accept"})

    async def read(number: str) -> dict[str, Any] | None:
        """The certificate, through the view's cache unless the client waits for its own write
        (Hallmark-After: the view's document, as the consistency middleware brought it up to date).
        A read of the database is inline on SQLite (tens of microseconds, never waiting for a writer:
        WAL) and in the thread pool on PostgreSQL (a network round trip)."""
        fresh = bool(consistency.wanted())
        if not fresh and (hit := view.cache_hit(number)) is not None:
            return hit
        lookup = view.get if fresh else view.cached
        if view.db.dialect == "sqlite":
            return lookup(number)
        return await run_in_threadpool(lookup, number)

    @api.get("/public/v1/certificates/{number}", response_model=None, responses=SIGNED_ANSWER)
    async def public_certificate(
        number: PathId, request: Request,
        on: Annotated[date | None, Query(description="Was it valid on this date?")] = None,
        answer_format: FormatParam = None,
    ) -> dict | Response:
        """The public view of a certificate (R9), and whether it was valid on a date; signed on request."""
        doc = await read(number.strip().upper())
        if doc is None:
            raise NotFound(f"No certificate has number or quick code {number}")
        result = public_view(doc)
        if on is not None:
            if refused := not_after_today(on, "on"):
                raise refused
            result["valid_on"] = validity_on(doc, on)
        if wants_jwt(request.headers.get("accept"), answer_format):
            return signed(doc["number"], on or today(), "certificate", result)
        # Vary: a cache must not hand this JSON to who asked for the signed answer.
        return json_answer(result, {"Vary": "Accept"})

    @api.post("/public/v1/verify", response_model=None, responses=SIGNED_ANSWER)
    def verify(body: Verification, request: Request, answer_format: FormatParam = None) -> dict | Response:
        """Up to 100 certificates at once, each answered in the order asked: an unknown number is
        ``found: false``, a date after today an error of that item alone (R17); nothing is recorded."""
        asked_on = today()  # one calendar day for the whole batch, even across midnight
        results = [verified(item, asked_on) for item in body.items]
        if wants_jwt(request.headers.get("accept"), answer_format):
            return signed("bulk", asked_on, "results", results)
        return {"lookup_date": asked_on.isoformat(), "results": results}

    def verified(item: VerificationItem, asked_on: date) -> dict[str, Any]:
        query = item.model_dump(exclude_none=True, mode="json")
        wanted = (item.number or item.quick_code or "").upper()
        doc = view.get(wanted)
        if doc is not None and wanted not in ({doc["number"]} if item.number else {doc["quick_code"]}):
            doc = None  # a number that is another certificate's quick code, or the other way round
        if doc is None:
            return {"query": query, "found": False, "valid": False}
        public = public_view(doc)
        answer = {"query": query, "found": True, **{k: public[k] for k in VERIFIED_FIELDS}}  # R9
        on = item.on or asked_on
        if refused := not_after_today(on, "on"):
            problem = {"type": PROBLEM_BASE + refused.slug, "title": refused.title, "status": refused.status,
                       "detail": refused.detail, **refused.extensions}
            return {**answer, "valid": None, "error": problem}
        valid_on = validity_on(doc, on)
        return {**answer, "valid": valid_on["valid"], "valid_on": valid_on}

    @api.get("/public/v1/certificates", response_model=None, responses={200: {"description": "a page of the "
                                                                            "public directory"}})
    async def public_search(
        q: SearchParam = None,
        mark: LabelParam = None,
        status: Status | None = None,
        scheme: LabelParam = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: CursorParam = None,
    ) -> Response:
        """A page of the directory, on the event loop: inline on SQLite, as the lookup (an indexed read of one
        page, well under a millisecond at a million certificates: the thread pool's hand-off cost more),
        through the asynchronous driver on PostgreSQL (two or three round trips)."""
        items, last = await view.apublic_page(q=q, mark=mark, status=status, scheme=scheme, limit=limit,
                                              after=decode_cursor(CERTIFICATES, cursor) if cursor else None)
        # The public views as kept with the certificates (public_json), as json_answer would write them.
        next_cursor = json.dumps(encode_cursor(CERTIFICATES, last) if last else None)
        return Response(f'{{"items":[{",".join(items)}],"next_cursor":{next_cursor}}}'.encode(),
                        media_type="application/json")

    @api.get("/.well-known/jwks.json")
    def answer_keys() -> dict:
        """The keys that sign the public lookup's answers (RFC 7517): the current one first, then the
        previous ones, still listed so that answers they signed verify (ADR 0013)."""
        return signer.jwks()

    return api


def trail_router(view: TrailView, verify: Callable[[], dict], zone: tzinfo) -> APIRouter:
    api = APIRouter(tags=["audit trail"])
    readers = require("assessor", "admin")

    def file_of(application_id: str | None, certificate_number: str | None) -> str:
        if bool(application_id) == bool(certificate_number):
            raise InvalidCommand("give exactly one of application_id and certificate_number")
        if certificate_number:
            application_id = view.file_of_certificate(certificate_number)
            if application_id is None:
                raise NotFound(f"Certificate {certificate_number} has no file in the audit trail")
        assert application_id is not None
        return application_id

    def no_file(application_id: str) -> NotFound:
        return NotFound(f"Application {application_id} has no file in the audit trail")

    def file_entries(application_id: str | None, certificate_number: str | None) -> tuple[str, list[dict]]:
        application_id = file_of(application_id, certificate_number)
        entries = view.entries(application_id)
        if not entries:
            raise no_file(application_id)
        return application_id, entries

    def trail_position(cursor: str, application_id: str) -> int:
        """The seq a page of this file's trail ended at; a cursor of another file is refused."""
        file, _, seq = decode_cursor(TRAIL, cursor).rpartition(":")  # seq: the log index
        if file != application_id or not (seq.isdigit() and len(seq) <= 18):  # a seq fits a BIGINT
            raise InvalidCommand("cursor is not one this file's audit trail gave out; start again without it")
        return int(seq)

    @api.get("/v1/audit-trail")
    def audit_trail(
        actor: Annotated[Actor, Depends(readers)],
        application_id: IdParam = None,
        certificate_number: IdParam = None,
        limit: Annotated[int, Query(ge=1, le=TRAIL_PAGE_MAX)] = TRAIL_PAGE_DEFAULT,
        cursor: CursorParam = None,
    ) -> dict:
        application_id = file_of(application_id, certificate_number)
        after = trail_position(cursor, application_id) if cursor else None
        entries = view.entries(application_id, after=after, limit=limit + 1)
        if not entries and after is None:
            raise no_file(application_id)
        next_cursor = None
        if len(entries) > limit:
            next_cursor = encode_cursor(TRAIL, f"{application_id}:{entries[limit - 1]['seq']}")
        return {"application_id": application_id, "entries": entries[:limit], "next_cursor": next_cursor}

    @api.get("/v1/trail/impartiality")
    def impartiality_evidence(
        actor: Annotated[Actor, Depends(readers)],
        application_id: IdParam = None,
        certificate_number: IdParam = None,
    ) -> dict:
        """Who took part in the file in which role, and each R1, R2 and R8 check with its facts."""
        application_id, entries = file_entries(application_id, certificate_number)
        return {"application_id": application_id,
                **impartiality(entries, zone, register=view.of_types(REGISTER_TYPES))}

    def period(start: date | None, end: date | None) -> tuple[str, str]:
        """A period of the body's calendar (both days included) as UTC bounds, end excluded."""
        if start is None or end is None:
            raise InvalidCommand("give both from and to (dates, YYYY-MM-DD)", field="from" if start is None else "to")
        if end < start:
            raise InvalidCommand(f"to={end} is before from={start}", field="to")
        if (end - start).days > MAX_PERIOD_DAYS:
            raise InvalidCommand(f"a period is at most {MAX_PERIOD_DAYS} days; ask for several", field="to")
        bounds = [datetime.combine(d, time.min, tzinfo=zone).astimezone(UTC).isoformat(timespec="microseconds")
                  for d in (start, end + timedelta(days=1))]
        return bounds[0], bounds[1]

    FromParam = Annotated[date | None, Query(alias="from", description="first day, the body's calendar")]
    ToParam = Annotated[date | None, Query(alias="to", description="last day, included")]

    @api.get("/v1/trail/files")
    def files(
        actor: Annotated[Actor, Depends(readers)], start: FromParam = None, end: ToParam = None,
        scheme: LabelParam = None,
        outcome: Annotated[str | None, Query(max_length=40, description="a decision outcome (grant, refuse, "
                                             "suspend, withdraw...), 'application withdrawn' or 'pending'")] = None,
    ) -> dict:
        """Every file with activity in the period, refused and withdrawn ones included: a sample frame."""
        items = view.files(*period(start, end))
        if scheme:
            items = [f for f in items if f["scheme"] == scheme]
        if outcome == "pending":
            items = [f for f in items if not f["outcomes"]]
        elif outcome:
            items = [f for f in items if outcome in f["outcomes"]]
        return {"from": str(start), "to": str(end), "files": items}

    @api.get("/v1/trail/impartiality-report")
    def impartiality_report(actor: Annotated[Actor, Depends(readers)], start: FromParam = None,
                            end: ToParam = None) -> dict:
        """For the Advisory Committee: every R1, R2 and R8 check over the period's files, with its facts."""
        checks: dict[str, list] = {"R1": [], "R2": [], "R8": []}
        register = view.of_types(REGISTER_TYPES)  # the staff interest register, for R2 (R58)
        for application_id in view.files_touched(*period(start, end)):
            evidence = impartiality(view.entries(application_id), zone, register=register)
            for rule, result in evidence["rules"].items():
                checks[rule] += [{"application_id": application_id, **check} for check in result["checks"]]
        return {"from": str(start), "to": str(end),
                "rules": {rule: {"checks": len(found), "held": sum(c["held"] for c in found),
                                 "not_held": [c for c in found if not c["held"]], "all": found}
                          for rule, found in checks.items()}}

    @api.get("/v1/trail/evidence-pack", response_class=Response,
             responses={200: {"content": {"application/zip": {}}, "description": "the evidence pack"}})
    def evidence_pack(
        actor: Annotated[Actor, Depends(readers)], application_id: IdParam = None, certificate_number: IdParam = None,
        start: FromParam = None, end: ToParam = None,
    ) -> Response:
        """The file (or the period) as a zip that verifies offline: entries, inclusion proofs, the
        checkpoint, the public key and the printable report (``hallmark evidence verify``)."""
        chosen = [bool(application_id), bool(certificate_number), bool(start or end)]
        if sum(chosen) != 1:
            raise InvalidCommand("give one of application_id, certificate_number, or from and to")
        bounds = period(start, end) if chosen[2] else (None, None)
        label, indices = select(view, application_id=application_id, certificate_number=certificate_number,
                                start=bounds[0], end=bounds[1])
        name = f"hallmark-evidence-{(certificate_number or application_id or f'{start}-{end}')}.zip"
        body = make_pack(view, label, indices, name=name)
        return Response(body, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @api.get("/v1/trail/verify")
    def verify_trail(actor: Annotated[Actor, Depends(readers)]) -> dict:
        return verify()

    # -- the transparency log (ADR 0011): checkpoint and key are public, the rest for assessors --

    log = view.log

    @api.get("/v1/trail/checkpoint", response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {}}, "description": "the latest signed checkpoint"}})
    def checkpoint() -> PlainTextResponse:
        """The latest checkpoint: a C2SP tlog-checkpoint in a C2SP signed note, byte for byte as signed."""
        return PlainTextResponse(log.latest().note, media_type="text/plain; charset=utf-8")

    @api.get("/v1/trail/checkpoints")
    def checkpoints(
        from_size: Annotated[int, Query(ge=0, le=MAX_INDEX, description="the first size wanted")] = 0,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    ) -> dict:
        """Every checkpoint the log signed, oldest first, from a tree size on: what a witness keeps."""
        signed = [c for c in log.checkpoints() if c.size >= from_size]
        page = signed[:limit]
        return {"origin": log.origin,
                "checkpoints": [{"size": c.size, "root": b64(c.root), "signed_at": c.signed_at, "note": c.note}
                                for c in page],
                "next_from_size": signed[limit].size if len(signed) > limit else None}

    @api.get("/public/transparency", response_class=HTMLResponse, include_in_schema=False)
    def transparency() -> HTMLResponse:
        return HTMLResponse(transparency_page(log))

    @api.get("/v1/trail/public-key")
    def public_key() -> dict:
        """The key that signs the checkpoints: its name, the raw Ed25519 key, and the signed-note
        verifier key (``vkey``) that Go's note package and other verifiers take as it is."""
        return {"name": log.key.name, "public_key": b64(log.key.public_key), "vkey": log.key.vkey,
                "origin": log.origin}

    @api.get("/v1/trail/entries/{index}")
    def log_entry(index: Annotated[int, Path(ge=0, le=MAX_INDEX)],
                  actor: Annotated[Actor, Depends(readers)]) -> dict:
        entry = log.entry(index)
        decoded = decode_entry(entry)
        if view.vault is not None:  # the names, for the assessor; the entry itself holds them sealed
            decoded = {**decoded, "actor": view.open({"actor": decoded["actor"]})["actor"],
                       "data": view.open(decoded["data"])}
        return {"index": index, "entry": b64(entry), "decoded": decoded}

    def tree_size(size: int, name: str) -> int:
        have = log.tree().size
        if size > have:
            raise InvalidCommand(f"{name}={size} is larger than the log ({have} entries)", field=name)
        return size

    @api.get("/v1/trail/proof/inclusion")
    def inclusion(index: Annotated[int, Query(ge=0, le=MAX_INDEX)], size: Annotated[int, Query(ge=1, le=MAX_INDEX)],
                  actor: Annotated[Actor, Depends(readers)]) -> dict:
        """PATH(index, D[0:size]) of RFC 9162 2.1.3.1, the hash nearest the leaf first."""
        tree_size(size, "size")
        if index >= size:
            raise InvalidCommand(f"index={index} is not in a tree of {size} entries", field="index")
        return {"index": index, "size": size, "proof": [b64(h) for h in log.inclusion_proof(index, size)]}

    @api.get("/v1/trail/proof/consistency")
    def consistency(old: Annotated[int, Query(alias="from", ge=1, le=MAX_INDEX)],
                    new: Annotated[int, Query(alias="to", ge=1, le=MAX_INDEX)],
                    actor: Annotated[Actor, Depends(readers)]) -> dict:
        """PROOF(from, D[0:to]) of RFC 9162 2.1.4.1: the tree of ``to`` entries extends that of ``from``."""
        tree_size(new, "to")
        if old > new:
            raise InvalidCommand(f"from={old} is larger than to={new}", field="from")
        return {"from": old, "to": new, "proof": [b64(h) for h in log.consistency_proof(old, new)]}

    return api


def holder_router(view: HolderView) -> APIRouter:
    """The holder's dossier: the holder's staff see their organisation's files (R18), without what they
    must not see (R22); the body's staff see every file the same way."""
    api = APIRouter(tags=["holder"])
    readers = require("applicant", *STAFF)

    def organisation_of(actor: Actor) -> str | None:
        """The holder whose files the actor sees; None: every holder's (the body's staff)."""
        if actor.has(*STAFF):
            return None
        if actor.organisation is None:
            raise NotPermitted("The holder's dossier is shown to the holder's staff acting for their organisation: "
                               "the token needs the claim 'organisation' (the holder's registration number) (R18)")
        return actor.organisation

    def position(cursor: str) -> tuple[str, str]:
        at, _, application_id = decode_cursor(HOLDER_FILES, cursor).partition("|")
        if not at or not application_id:
            raise InvalidCommand("cursor is not one this listing gave out; start again without it")
        return at, application_id

    @api.get("/v1/holder/files")
    def holder_files(
        actor: Annotated[Actor, Depends(readers)],
        registration_number: Annotated[LabelParam, Query(description="staff: one holder's files")] = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: CursorParam = None,
    ) -> dict:
        """The holder's certification files in the order applied for, each as a summary."""
        organisation = organisation_of(actor) or registration_number
        items, last = view.files(organisation=organisation, after=position(cursor) if cursor else None, limit=limit)
        return {"items": items, "next_cursor": encode_cursor(HOLDER_FILES, "|".join(last)) if last else None}

    @api.get("/v1/holder/files/{application_id}")
    def holder_file(application_id: PathId, actor: Annotated[Actor, Depends(readers)]) -> dict:
        """One file: application, audits (team, findings, samples and results, corrective actions, report and
        comments), decisions, appeals and certificates, and every step in order."""
        organisation = organisation_of(actor)
        file = view.file(application_id)
        if file is None:
            raise NotFound(f"Application {application_id} has no file in the holder's dossier (yet)")
        if organisation is not None and organisation_key(organisation) != file["organisation"]:
            raise NotPermitted(f"File {application_id} is another holder's: the holder's staff see their own "
                               "organisation's files only (R18)")
        return {k: v for k, v in file.items() if k != "organisation"}

    return api
