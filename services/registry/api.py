"""The registry's HTTP entrypoints: the scheme catalogue and the certificate documents. Certificates are
read from the projection."""


from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field

from services.registry.application import Registry, commission_view, scheme_view
from services.registry.printing import print_pdf
from shared.http.answers import prefers, respond
from shared.http.auth import STAFF, Actor, require
from shared.http.fields import MAX_DOCUMENTS, Code, Label, Line, PathId, Strict, at_most
from shared.http.hygiene import DOCUMENT_CSP
from shared.http.idempotency import idempotency_key
from shared.idempotency import IdempotencyKey


class Document(Strict):
    kind: Label
    ref: Line
    version: Label
    effective_from: date


class CommissionDecision(Strict):
    """R53: the sectoral commission's decision a TRA/PTV version is published on."""

    commission: Code
    reference: Line
    date: date


class NewDocumentVersion(Document):
    transition_deadline: date | None = None
    commission_decision: CommissionDecision | None = None  # required for a TRA or PTV (R53)


class NewCommission(Strict):
    """R53: a sectoral commission, responsible for schemes or for a sector (every scheme of the marks listed)."""

    code: Code
    name: Line
    schemes: Annotated[list[Code], at_most(MAX_DOCUMENTS)] = []
    marks: Annotated[list[Label], at_most(MAX_DOCUMENTS)] = []


PDF = "application/pdf"
DOCUMENT: dict[int | str, dict[str, Any]] = {200: {
    "description": "The certificate document: HTML that prints on A4, or with Accept: application/pdf (or "
                   "format=pdf) a PDF printed by headless Chromium (503 printer-unavailable without it; ADR 0016)",
    "content": {"text/html": {"schema": {"type": "string"}}, PDF: {"schema": {"type": "string", "format": "binary"}}},
}}
DocumentFormat = Annotated[
    Literal["html", "pdf"] | None, Query(alias="format", description="pdf: as with Accept: application/pdf")]


def wants_pdf(accept: str | None, answer_format: str | None) -> bool:
    """PDF when format=pdf, or when Accept prefers application/pdf to text/html."""
    return prefers(accept, answer_format, PDF, "text/html", "pdf")


def document_answer(html: str, name: str, pdf: bool) -> Response:
    headers = {"Vary": "Accept", "Content-Disposition": f'inline; filename="{name}.{"pdf" if pdf else "html"}"'}
    if pdf:
        return Response(print_pdf(html, name=name), media_type=PDF, headers=headers)
    return HTMLResponse(html, headers={**headers, "Content-Security-Policy": DOCUMENT_CSP})


def public_url(request: Request) -> str:
    """HALLMARK_PUBLIC_URL: the public directory's base, which every certificate document links to (an app
    built without Hallmark's settings: this server, which serves the directory with the registry)."""
    hallmark = getattr(request.app.state, "hallmark", None)
    if hallmark is not None:
        return hallmark.settings.public_url
    return str(request.base_url)


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
    admission_surveillance_months: Annotated[int, Field(ge=0, le=120)] = 0
    renewal_window_months: Annotated[int, Field(ge=0, le=120)] = 0
    sampling_months: Annotated[int, Field(ge=0, le=120)] = 0
    # R60: the levels of a scheme whose type is levelled (the catalogue's scheme_types), lowest first.
    levels: Annotated[list[Annotated[int, Field(ge=1, le=100)]], at_most(20)] | None = None


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

    @api.post("/v1/schemes/commissions", status_code=201)
    def register_commission(
        body: NewCommission,
        actor: Annotated[Actor, Depends(require("admin"))],
        key: Annotated[IdempotencyKey | None, Depends(idempotency_key)],
    ) -> JSONResponse:
        """R53: an administrator registers a sectoral commission for schemes or a sector."""
        return respond(registry.register_commission(body.model_dump(), actor.person, key))

    @api.get("/v1/schemes/commissions/{code}")
    def get_commission(code: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return commission_view(registry.commission(code))

    @api.post("/v1/schemes/{code}/documents", status_code=201)
    def publish_document(
        code: PathId,
        body: NewDocumentVersion,
        actor: Annotated[Actor, Depends(writers)],
        key: Annotated[IdempotencyKey | None, Depends(idempotency_key)],
    ) -> JSONResponse:
        """A new document version; a TRA or PTV on the decision of a sectoral commission responsible for the scheme
        ('commission_decision': commission, reference, date; R53)."""
        outcome = registry.publish_document(code, body.model_dump(), actor.person, key)
        return respond(outcome)

    @api.get("/v1/schemes/{code}")
    def get_scheme(code: PathId, actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        return scheme_view(registry.scheme(code), registry.clock.today())

    @api.get("/v1/certificates/template", response_class=HTMLResponse, responses=DOCUMENT)
    def blank_certificate(
        request: Request,
        actor: Annotated[Actor, Depends(require("assessor", "admin", "registry_officer"))],
        answer_format: DocumentFormat = None,
    ) -> Response:
        """The blank certificate (17065 7.7): the document every certificate follows, each field a placeholder."""
        html = registry.blank_certificate(public_url(request))
        return document_answer(html, "blank-certificate", wants_pdf(request.headers.get("accept"), answer_format))

    @api.get("/v1/certificates/{number}/document", response_class=HTMLResponse, responses=DOCUMENT)
    def certificate_document(
        number: PathId,
        request: Request,
        actor: Annotated[Actor, Depends(require(*STAFF, "applicant"))],
        revision: Annotated[int | None, Query(ge=1, le=100_000, description="default: the current revision")] = None,
        answer_format: DocumentFormat = None,
    ) -> Response:
        """The certificate document of a revision (R38), with its status on the day printed (R39): for the
        body's staff and the holder's staff (role applicant, organisation = the holder's registration number); a
        person certificate's, by the person it was issued to (R69)."""
        facts, html = registry.certificate_document(
            number.strip().upper(), revision=revision, staff=actor.has(*STAFF), organisation=actor.organisation,
            public_url=public_url(request), reader=actor.person)
        name = f"{facts['number']}-revision-{facts['revision']}"
        return document_answer(html, name, wants_pdf(request.headers.get("accept"), answer_format))

    @api.get("/v1/certificates/{number}/programme")
    def certificate_programme(
        number: PathId, actor: Annotated[Actor, Depends(require(*STAFF, "applicant"))],
    ) -> dict:
        """The certificate's surveillance programme (R49): planned surveillance audits over its validity, the
        renewal window and the sampling frequency, for the body's staff and the holder's staff (role applicant,
        organisation = the holder's registration number)."""
        return registry.programme(number.strip().upper(), staff=actor.has(*STAFF), organisation=actor.organisation,
                                  reader=actor.person)

    @api.get("/v1/catalogue")
    def catalogue(actor: Annotated[Actor, Depends(require(*STAFF))]) -> dict:
        c = registry.catalogue
        return {"marks": c.marks, "certification_types": c.certification_types, "document_kinds": c.document_kinds,
                "scheme_types": c.scheme_types}

    return api
