"""HTTP entrypoints of the read models: staff and public certificate lookup, and the audit trail."""


import binascii
from datetime import date, tzinfo
from typing import Annotated, Callable, Literal

from fastapi import APIRouter, Depends, Query

from services.projections.certificates import (
    CertificateView,
    attention,
    decode_cursor,
    encode_cursor,
    public_view,
    validity_on,
)
from services.projections.impartiality import impartiality
from services.projections.trail import TrailView
from shared.errors import InvalidCommand, NotFound
from shared.http.auth import STAFF, Actor, require

Status = Literal["active", "suspended", "withdrawn", "expired", "terminated", "superseded"]


def certificates_router(view: CertificateView) -> APIRouter:
    api = APIRouter(tags=["certificates"])

    @api.get("/v1/certificates")
    def list_certificates(
        actor: Annotated[Actor, Depends(require(*STAFF))],
        application_id: str | None = None,
        holder: Annotated[str | None, Query(max_length=200)] = None,
        status: Status | None = None,
        scheme: str | None = None,
        needs_attention: Annotated[bool, Query(description="only certificates with an action due")] = False,
    ) -> dict:
        items = view.search(application_id=application_id, holder=holder, status=status, scheme=scheme,
                            needs_attention=needs_attention, limit=500)
        return {"items": [{**doc, "attention": attention(doc)} for doc in items]}

    @api.get("/v1/certificates/{number}")
    def get_certificate(number: str, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        doc = view.get(number.strip().upper())
        if doc is None:
            raise NotFound(f"Certificate {number} does not exist (or is not yet in the directory)")
        return {**doc, "attention": attention(doc)}

    @api.get("/public/v1/certificates/{number}")
    def public_certificate(
        number: str, on: Annotated[date | None, Query(description="Was it valid on this date?")] = None
    ) -> dict:
        doc = view.get(number.strip().upper())
        if doc is None:
            raise NotFound(f"No certificate has number or quick code {number}")
        result = public_view(doc)
        if on is not None:
            result["valid_on"] = validity_on(doc, on)
        return result

    @api.get("/public/v1/certificates")
    def public_search(
        q: Annotated[str | None, Query(max_length=200)] = None,
        mark: Annotated[str | None, Query(max_length=20)] = None,
        status: Status | None = None,
        scheme: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict:
        after = None
        if cursor:
            try:
                after = decode_cursor(cursor)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise InvalidCommand("cursor is not one this directory gave out; start again without it") from None
        items = view.search(q=q, mark=mark, status=status, scheme=scheme, after=after, limit=limit + 1)
        next_cursor = encode_cursor(items[limit - 1]["number"]) if len(items) > limit else None
        return {"items": [public_view(d) for d in items[:limit]], "next_cursor": next_cursor}

    return api


def trail_router(view: TrailView, verify: Callable[[], dict], zone: tzinfo) -> APIRouter:
    api = APIRouter(tags=["audit trail"])
    readers = require("assessor", "admin")

    def file_entries(application_id: str | None, certificate_number: str | None) -> tuple[str, list[dict]]:
        if bool(application_id) == bool(certificate_number):
            raise InvalidCommand("give exactly one of application_id and certificate_number")
        if certificate_number:
            application_id = view.file_of_certificate(certificate_number)
            if application_id is None:
                raise NotFound(f"Certificate {certificate_number} has no file in the audit trail")
        entries = view.entries(application_id)
        if not entries:
            raise NotFound(f"Application {application_id} has no file in the audit trail")
        return application_id, entries

    @api.get("/v1/audit-trail")
    def audit_trail(
        actor: Annotated[Actor, Depends(readers)],
        application_id: str | None = None,
        certificate_number: str | None = None,
    ) -> dict:
        application_id, entries = file_entries(application_id, certificate_number)
        return {"application_id": application_id, "entries": entries}

    @api.get("/v1/trail/impartiality")
    def impartiality_evidence(
        actor: Annotated[Actor, Depends(readers)],
        application_id: str | None = None,
        certificate_number: str | None = None,
    ) -> dict:
        """Who took part in the file in which role, and each R1, R2 and R8 check with its facts."""
        application_id, entries = file_entries(application_id, certificate_number)
        return {"application_id": application_id, **impartiality(entries, zone)}

    @api.get("/v1/trail/verify")
    def verify_trail(actor: Annotated[Actor, Depends(readers)]) -> dict:
        return verify()

    @api.get("/v1/trail/heads")
    def trail_heads(actor: Annotated[Actor, Depends(readers)]) -> dict:
        return {"heads": view.heads()}

    return api
