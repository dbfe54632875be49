"""The public directory as server-rendered pages (ISO/IEC 17065 7.8, ADR 0012): search the certificates,
read one, and ask whether it was valid on a date. No script, one stylesheet from this server.

These handlers only translate, as the JSON API's do: the same view, the same bounds on every query
string (``shared.http.fields``), the same cursor, and only what ``public_view`` gives (R9). Every
refusal is a page too, in the reader's language, with the status the JSON API would answer.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from services.decisions.api import NewComplaint  # the JSON API's bounds, for the report form
from services.directory import i18n
from services.projections.api import CERTIFICATES
from services.projections.certificates import CertificateView, public_view, validity_on
from shared.errors import DomainError, InvalidCommand
from shared.http.fields import CursorParam, LabelParam, PathId, SearchParam, decode_cursor, encode_cursor

PAGE_SIZE = 20
REPORT_FIELDS = ("mark", "certificate_number", "misuser", "description", "name", "email", "address")
REPORT_LABELS = {"certificate_number": "report.certificate"}  # the rest: report.<field>
FILTERS = ("q", "mark", "status", "scheme")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


class Reader:
    """Who reads this page: their language, and whether they chose it here (``?lang=``)."""

    def __init__(self, request: Request) -> None:
        asked = request.query_params.get("lang")
        self.request = request
        self.chose = asked in i18n.LANGUAGES
        self.lang = i18n.choose(asked, request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
        self.t = i18n.translator(self.lang)

    def date(self, iso: str | None) -> str:
        return i18n.long_date(iso, self.lang)

    def languages(self, query: list[tuple[str, str]]) -> list[dict[str, str]]:
        """The switch: this page in each language, with the query that was answered (a search stays a search;
        a refused value is not carried on)."""
        path = quote(self.request.url.path)
        return [{"code": code, "name": i18n.NAMES[code], "url": f"{path}?{urlencode([*query, ('lang', code)])}"}
                for code in i18n.LANGUAGES]

    def render(self, template: str, status: int = 200, query: list[tuple[str, str]] | None = None,
               **context: Any) -> HTMLResponse:
        body = templates.get_template(template).render(
            lang=self.lang, t=self.t, has=i18n.CATALOGS[self.lang].__contains__, d=self.date,
            languages=self.languages(query or []), chosen_lang=self.lang if self.chose else None,
            statuses=i18n.STATUSES, **context)
        response = HTMLResponse(body, status_code=status,
                                headers={"Content-Language": self.lang, "Vary": "Accept-Language, Cookie"})
        if self.chose:
            response.set_cookie(i18n.COOKIE, self.lang, max_age=i18n.COOKIE_MAX_AGE, path="/", samesite="lax",
                                httponly=True, secure=self.request.url.scheme == "https")
        return response


def _message(reader: Reader, error: dict[str, Any]) -> tuple[str, str]:
    """A refused query string or path value, said in the reader's language: (field, message)."""
    field = str(error.get("loc", ("", ""))[-1])
    names = [key for key in (f"error.field.{field}", f"field.{field}") if key in i18n.CATALOGS[reader.lang]]
    label = reader.t(names[0]) if names else field
    bound = (error.get("ctx") or {}).get("max_length")
    if error.get("type") in ("string_too_long", "too_long") and bound:
        return field, reader.t("error.too_long", field=label, max=bound)
    if error.get("type") == "value_error":  # fields.py: a control, line-break or bidi character
        return field, reader.t("error.characters", field=label)
    return field, reader.t("error.invalid", field=label)


def directory_router(view: CertificateView, today: Callable[[], date]) -> APIRouter:

    def search_page(reader: Reader, filters: dict[str, str | None], errors: list[tuple[str, str]],
                    items: list[dict[str, Any]] | None = None, next_url: str | None = None,
                    first_url: str | None = None, cursor: str | None = None) -> HTMLResponse:
        query = [(k, v) for k in FILTERS if (v := filters.get(k))] + ([("cursor", cursor)] if cursor else [])
        return reader.render(
            "search.html", status=422 if errors else 200, query=query,
            filters={k: filters.get(k) or "" for k in FILTERS},
            errors=[message for _, message in errors], invalid={field for field, _ in errors},
            items=items, next_url=next_url, first_url=first_url)

    class PageRoute(APIRoute):
        """A query string or path value refused by its bound is a page, not a JSON problem."""

        def get_route_handler(self) -> Callable:
            handle = super().get_route_handler()
            name = self.name

            async def handle_as_page(request: Request) -> Response:
                try:
                    return await handle(request)
                except RequestValidationError as error:
                    reader = Reader(request)
                    errors = [_message(reader, e) for e in error.errors()]
                    if name == "directory_search":
                        bad = {field for field, _ in errors}
                        kept = {k: request.query_params.get(k) for k in FILTERS if k not in bad}
                        return search_page(reader, kept, errors)
                    return reader.render("error.html", status=422,
                                         title=reader.t("error.422.title"), messages=[m for _, m in errors])

            return handle_as_page

    api = APIRouter(route_class=PageRoute, include_in_schema=False)

    @api.get("/", response_class=HTMLResponse, name="directory_search")
    def search(request: Request, q: SearchParam = None, mark: LabelParam = None, status: LabelParam = None,
               scheme: LabelParam = None, cursor: CursorParam = None) -> HTMLResponse:
        reader = Reader(request)
        filters = {k: (v or "").strip() or None for k, v in (("q", q), ("mark", mark), ("status", status),
                                                              ("scheme", scheme))}
        if filters["status"] and filters["status"] not in i18n.STATUSES:
            return search_page(reader, {**filters, "status": None},
                               [("status", reader.t("error.status", field=reader.t("field.status")))])
        try:
            after = decode_cursor(CERTIFICATES, cursor) if cursor else None
        except InvalidCommand:
            return search_page(reader, filters, [("cursor", reader.t("error.cursor"))])
        items, last = view.page(limit=PAGE_SIZE, after=after, **filters)
        given = [(k, v) for k, v in filters.items() if v] + ([("lang", reader.lang)] if reader.chose else [])
        next_url = f"/?{urlencode([*given, ('cursor', encode_cursor(CERTIFICATES, last))])}" if last else None
        first_url = f"/?{urlencode(given)}" if cursor else None
        return search_page(reader, filters, [], items=[public_view(doc) for doc in items], next_url=next_url,
                           first_url=first_url, cursor=cursor)

    @api.get("/certificates/{number}", response_class=HTMLResponse, name="directory_certificate")
    def certificate(request: Request, number: PathId, on: LabelParam = None) -> HTMLResponse:
        reader = Reader(request)
        doc = view.get(number.strip().upper())
        if doc is None:
            return reader.render("error.html", status=404, title=reader.t("error.404.title"),
                                 messages=[reader.t("error.404.text", number=number)])
        check, problem, asked, now = None, None, (on or "").strip(), today()
        if on is not None:
            day = _parse_date(asked)
            if not asked:
                problem = reader.t("valid.empty")
            elif day is None:
                problem = reader.t("valid.bad_date", value=asked, example=now.isoformat())
            elif day > now:  # as the JSON API: a status can still change, so no answer about the future
                problem = reader.t("valid.future", date=reader.date(asked), today=reader.date(now.isoformat()))
            else:
                check = validity_on(doc, day)
        public = public_view(doc)
        history = sorted(public["history"], key=lambda h: (h["effective_from"], h["at"]))
        return reader.render(
            "certificate.html", status=422 if problem else 200, query=[("on", asked)] if on is not None else None,
            cert=public, history=history, check=check, problem=problem, asked=asked, today=now.isoformat())

    @api.get("/public/report-misuse", response_class=HTMLResponse, name="directory_report")
    def report_form(request: Request) -> HTMLResponse:
        """The form to report misuse of a mark (a complaint of kind mark_misuse, ISO/IEC 17065 7.13)."""
        decisions = _complaints_service(request)
        return _report_page(Reader(request), available=decisions is not None)

    @api.post("/public/report-misuse", response_class=HTMLResponse, name="directory_report_send")
    async def report_send(request: Request) -> HTMLResponse:
        """Lodges the report as a complaint through the decisions service in this process, and shows its
        reference. Where decisions runs elsewhere (distributed mode), the page says where to send it."""
        reader = Reader(request)
        decisions = _complaints_service(request)
        if decisions is None:
            return _report_page(reader, available=False, status=501)
        try:
            pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            pairs = []
        form = {k: "" for k in REPORT_FIELDS}
        form.update({k: v.strip() for k, v in pairs if k in form})
        errors = _report_errors(reader, form)
        if errors:
            return _report_page(reader, form=form, errors=errors)
        body = {"subject": {"kind": "mark_misuse", "mark": form["mark"], "misuser": form["misuser"],
                            "certificate_number": form["certificate_number"] or None},
                "complainant": {"name": form["name"], "email": form["email"] or None,
                                "address": form["address"] or None},
                "description": form["description"]}
        try:
            checked = NewComplaint.model_validate(body)
        except ValidationError as error:
            return _report_page(reader, form=form, errors=[_report_message(reader, e) for e in error.errors()])
        try:
            outcome = await run_in_threadpool(decisions.lodge_complaint, checked.model_dump(), None)
        except DomainError as refused:
            return _report_page(reader, form=form, errors=[("description", refused.detail)], status=refused.status)
        return reader.render("report.html", status=201, reference=outcome.body["reference"],
                             received_on=outcome.body["received_on"], form=form, errors=[], invalid=set(),
                             available=True)

    return api


def _complaints_service(request: Request) -> Any:
    """The decisions service, when it runs in this process (embedded); None in distributed mode, where the
    registry's public web process serves the directory without it."""
    return getattr(getattr(request.app.state, "hallmark", None), "decisions", None)


def _report_page(reader: Reader, *, available: bool = True, form: dict[str, str] | None = None,
                 errors: list[tuple[str, str]] | None = None, status: int | None = None) -> HTMLResponse:
    errors = errors or []
    return reader.render("report.html", status=status or (422 if errors else 200), reference=None, received_on=None,
                         available=available, form=form or {k: "" for k in REPORT_FIELDS},
                         errors=[message for _, message in errors], invalid={field for field, _ in errors})


def _report_label(reader: Reader, field: str) -> str:
    return reader.t(REPORT_LABELS.get(field, f"report.{field}"))


def _report_errors(reader: Reader, form: dict[str, str]) -> list[tuple[str, str]]:
    """What the form lacks, said in the reader's language (R23: an identified complainant, reachable)."""
    errors = [(field, reader.t("report.required", field=_report_label(reader, field)))
              for field in ("mark", "misuser", "description", "name") if not form[field]]
    if not form["email"] and not form["address"]:
        errors.append(("email", reader.t("report.contact_required")))
    return errors


def _report_message(reader: Reader, error: dict[str, Any]) -> tuple[str, str]:
    """A value the JSON API's model refused, said in the reader's language: (form field, message)."""
    loc = [str(part) for part in error.get("loc", ())]
    field = next((part for part in reversed(loc) if part in REPORT_FIELDS), "description")
    if loc[-2:] == ["complainant", "name"]:
        field = "name"
    label = _report_label(reader, field)
    bound = (error.get("ctx") or {}).get("max_length")
    if error.get("type") in ("string_too_long", "too_long") and bound:
        return field, reader.t("error.too_long", field=label, max=bound)
    if field == "email" and error.get("type") == "string_pattern_mismatch":
        return field, reader.t("report.email_invalid", field=label)
    if error.get("type") in ("value_error", "string_pattern_mismatch"):
        return field, reader.t("error.characters", field=label)
    return field, reader.t("error.invalid", field=label)


def _parse_date(text: str) -> date | None:
    """A day written YYYY-MM-DD (what a date input sends), or None."""
    if not ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        return None
