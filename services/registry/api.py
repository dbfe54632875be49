"""The registry's HTTP entrypoints: the scheme catalogue. Certificates are read from the projection."""


from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.registry.application import Registry, scheme_view
from shared.http.auth import STAFF, Actor, require
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Annotated[str, Field(min_length=1, max_length=20)]
    ref: Text
    version: Annotated[str, Field(min_length=1, max_length=40)]
    effective_from: date


class NewDocumentVersion(Document):
    transition_deadline: date | None = None


class NewScheme(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    mark: Annotated[str, Field(min_length=1, max_length=20)]
    title: Text
    certification_type: Literal["product", "execution", "system", "person"]
    documents: Annotated[list[Document], Field(min_length=1)]
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
        return JSONResponse(outcome.body, outcome.status)

    @api.post("/v1/schemes/{code}/documents", status_code=201)
    def publish_document(
        code: str,
        body: NewDocumentVersion,
        actor: Annotated[Actor, Depends(writers)],
        key: Annotated[IdempotencyKey | None, Depends(idempotency_key)],
    ) -> JSONResponse:
        outcome = registry.publish_document(code, body.model_dump(), actor.person, key)
        return JSONResponse(outcome.body, outcome.status)

    @api.get("/v1/schemes/{code}")
    def get_scheme(code: str, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return scheme_view(registry.scheme(code))

    @api.get("/v1/catalogue")
    def catalogue(actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        c = registry.catalogue
        return {"marks": c.marks, "certification_types": c.certification_types, "document_kinds": c.document_kinds}

    return api
