"""The registry's HTTP entrypoints: the scheme catalogue. Certificates are read from the projection."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from services.registry.application import Registry, scheme_view
from shared.http.answers import respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import MAX_DOCUMENTS, Code, Label, Line, PathId, Strict, at_most
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey


class Document(Strict):
    kind: Label
    ref: Line
    version: Label
    effective_from: date


class NewDocumentVersion(Document):
    transition_deadline: date | None = None


class NewScheme(Strict):
    code: Code
    mark: Label
    title: Line
    certification_type: Literal["product", "execution", "system", "person"]
    documents: Annotated[list[Document], at_most(MAX_DOCUMENTS, at_least=1)]
    validity_months: Annotated[int, Field(ge=1, le=240)]
    surveillance_months: Annotated[int, Field(ge=1, le=120)]
    admission_months: Annotated[int, Field(ge=0, le=120)] = 0
    max_suspension_months: Annotated[int, Field(ge=1, le=60)] = 6


def router(registry: Registry) -> APIRouter:
    api = APIRouter(tags=["registry"])
    writers = require("admin", "registry_officer")

    @api.post("/v1/schemes", status_code=201)
    def register_scheme(
        body: NewScheme,
        actor: Annotated[Actor, Depends(writers)],
        key: Annotated[IdempotencyKey | None, Depends(idempotency_key)],
    ) -> JSONResponse:
        spec = body.model_dump()
        spec["documents"] = [{**d, "effective_from": d["effective_from"].isoformat()} for d in spec["documents"]]
        outcome = registry.register_scheme(spec, actor.person, key)
        return respond(outcome)

    @api.post("/v1/schemes/{code}/documents", status_code=201)
    def publish_document(
        code: PathId,
        body: NewDocumentVersion,
        actor: Annotated[Actor, Depends(writers)],
        key: Annotated[IdempotencyKey | None, Depends(idempotency_key)],
    ) -> JSONResponse:
        outcome = registry.publish_document(code, body.model_dump(), actor.person, key)
        return respond(outcome)

    @api.get("/v1/schemes/{code}")
    def get_scheme(code: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return scheme_view(registry.scheme(code), registry.clock.today())

    @api.get("/v1/catalogue")
    def catalogue(actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        c = registry.catalogue
        return {"marks": c.marks, "certification_types": c.certification_types, "document_kinds": c.document_kinds}

    return api
