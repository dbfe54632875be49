"""HTTP for partners (ADR 0014): registration and credentials (admin), the OAuth 2.0 client
credentials grant, webhook subscriptions and their deliveries (the partner itself, or an admin), and
the public change feed."""


import base64
import binascii
import secrets
import time
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote

import jwt
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from services.partners.domain import (
    CHANGE_KINDS,
    FILTERS,
    MAX_OVERLAP_HOURS,
    PARTNER_KINDS,
    TOKEN_TTL_SECONDS,
    Scopes,
    check_events,
    check_url,
)
from services.partners.store import PartnerStore
from shared.errors import NotPermitted
from shared.http.auth import Actor, authenticate
from shared.http.fields import (
    PAGE_DEFAULT,
    PAGE_MAX,
    CursorParam,
    Label,
    Line,
    Name,
    PathId,
    Strict,
    Text,
    decode_cursor,
    encode_cursor,
)

CHANGES = "changes"
PARTNER_PREFIX = "partner:"
AUDIENCE = "hallmark-partners"

FilterValues = Annotated[list[Label], Field(max_length=200)]


class PartnerScopes(Strict):
    marks: FilterValues = []
    schemes: FilterValues = []
    holders: FilterValues = []  # registration numbers
    numbers: FilterValues = []
    beyond_public: bool = False


class NewPartner(Strict):
    name: Name
    kind: Literal[PARTNER_KINDS]  # type: ignore[valid-type]
    contact_email: Annotated[Label, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    scopes: PartnerScopes = PartnerScopes()


class NewCredential(Strict):
    kind: Literal["client_credentials", "api_key"] = "client_credentials"
    label: Name = "default"


class Rotation(Strict):
    overlap_hours: Annotated[float, Field(ge=0, le=MAX_OVERLAP_HOURS)] = 24


class Revocation(Strict):
    reason: Text


class Filters(Strict):
    marks: FilterValues = []
    schemes: FilterValues = []
    holders: FilterValues = []
    numbers: FilterValues = []


class NewSubscription(Strict):
    url: Line
    events: Annotated[list[Literal[CHANGE_KINDS]], Field(max_length=len(CHANGE_KINDS))] = []  # type: ignore[valid-type]
    filters: Filters = Filters()


def partner_of(actor: Actor) -> str | None:
    return actor.person.removeprefix(PARTNER_PREFIX) if actor.has("partner") and \
        actor.person.startswith(PARTNER_PREFIX) else None


def partners_router(store: PartnerStore, token_secret: bytes, issuer: str, allow_http: bool) -> APIRouter:
    api = APIRouter(tags=["partners"])

    def admin(actor: Annotated[Actor, Depends(authenticate)]) -> Actor:
        if not actor.has("admin"):
            raise NotPermitted("This needs the admin role")
        return actor

    def own_or_admin(partner_id: str, actor: Actor) -> None:
        """A partner reaches its own records only; an admin every partner's."""
        if actor.has("admin"):
            store.partner(partner_id)
            return
        if partner_of(actor) != partner_id:
            raise NotPermitted("A partner reaches its own subscriptions, deliveries and calls only")

    # -- admin: partners and credentials ------------------------------------------------------------

    @api.post("/v1/partners", status_code=201)
    def register(body: NewPartner, actor: Annotated[Actor, Depends(admin)]) -> dict:
        return store.register(name=body.name, kind=body.kind, contact_email=body.contact_email,
                              scopes=Scopes.of(body.scopes.model_dump()), actor=actor.person)

    @api.get("/v1/partners")
    def list_partners(actor: Annotated[Actor, Depends(admin)]) -> dict:
        return {"items": store.partners()}

    @api.get("/v1/partners/{partner_id}")
    def get_partner(partner_id: PathId, actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        own_or_admin(partner_id, actor)
        return store.partner(partner_id)

    @api.get("/v1/partners/{partner_id}/audit")
    def partner_audit(partner_id: PathId, actor: Annotated[Actor, Depends(admin)]) -> dict:
        store.partner(partner_id)
        return {"items": store.audit(partner_id)}

    @api.post("/v1/partners/{partner_id}/credentials", status_code=201)
    def issue(partner_id: PathId, body: NewCredential, actor: Annotated[Actor, Depends(admin)]) -> dict:
        return store.issue_credential(partner_id, body.kind, body.label, actor.person)

    @api.post("/v1/partners/{partner_id}/credentials/{client_id}/rotate")
    def rotate(partner_id: PathId, client_id: PathId, body: Rotation,
               actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        own_or_admin(partner_id, actor)
        return store.rotate(partner_id, client_id, body.overlap_hours, actor.person)

    @api.post("/v1/partners/{partner_id}/credentials/{client_id}/revoke")
    def revoke(partner_id: PathId, client_id: PathId, body: Revocation,
               actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        own_or_admin(partner_id, actor)
        store.revoke(partner_id, client_id, actor.person, body.reason)
        return {"client_id": client_id, "revoked": True,
                "note": "its secrets and every token issued for it are refused from now on"}

    @api.get("/v1/partners/{partner_id}/calls")
    def calls(partner_id: PathId, actor: Annotated[Actor, Depends(authenticate)],
              limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT, cursor: CursorParam = None) -> dict:
        """Every call the partner made: who asked what, and when."""
        own_or_admin(partner_id, actor)
        after = _seq(decode_cursor("calls", cursor)) if cursor else None
        items = store.calls(partner_id, after, limit)
        return {"items": items, "next_cursor": encode_cursor("calls", str(items[-1]["seq"])) if len(items) == limit
                else None}

    # -- OAuth 2.0 client credentials (RFC 6749 4.4) -------------------------------------------------

    @api.post("/v1/oauth/token", responses={200: {"description": "an access token (RFC 6749 5.1)"},
                                            400: {"description": "RFC 6749 5.2 error"}})
    async def token(request: Request) -> JSONResponse:
        """``grant_type=client_credentials``, the client authenticated with HTTP Basic (or
        ``client_id`` and ``client_secret`` in the form). Answers a short-lived JWT with role
        ``partner`` and the partner's scopes. Errors follow RFC 6749 5.2 (``error``), with the
        RFC 9457 members alongside."""
        form = await _form(request)
        if form is None:
            return _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded (RFC 6749 4.4.2)")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        client_id, secret = _client_credentials(request, form)
        if not client_id or not secret:
            return _oauth_error(401, "invalid_client", "authenticate the client with HTTP Basic (client_id and "
                                "client_secret) or with client_id and client_secret in the form")
        found = store.authenticate(client_id, secret, "client_credentials")
        if found is None:
            return _oauth_error(401, "invalid_client", "unknown client, wrong or expired secret, or a revoked credential")
        partner_id, scopes = found
        now = int(time.time())
        claims = {"iss": issuer, "aud": AUDIENCE, "sub": f"{PARTNER_PREFIX}{partner_id}", "roles": ["partner"],
                  "scope": scopes.text(), "cid": client_id, "iat": now, "exp": now + TOKEN_TTL_SECONDS,
                  "jti": secrets.token_urlsafe(12)}
        access = jwt.encode(claims, token_secret, algorithm="HS256")
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_TTL_SECONDS,
                             "scope": claims["scope"]}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- webhooks --------------------------------------------------------------------------------

    @api.post("/v1/partners/{partner_id}/subscriptions", status_code=201)
    def subscribe(partner_id: PathId, body: NewSubscription, actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        own_or_admin(partner_id, actor)
        url = check_url(body.url, allow_http)
        return store.subscribe(partner_id, url, check_events(list(body.events)),
                               {k: v for k, v in body.filters.model_dump().items() if v and k in FILTERS},
                               actor.person)

    @api.get("/v1/partners/{partner_id}/subscriptions")
    def subscriptions(partner_id: PathId, actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        own_or_admin(partner_id, actor)
        return {"items": store.subscriptions(partner_id)}

    @api.post("/v1/partners/{partner_id}/subscriptions/{subscription_id}/{action}")
    def subscription_action(partner_id: PathId, subscription_id: PathId, action: Literal["pause", "resume", "remove"],
                            actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        own_or_admin(partner_id, actor)
        status = {"pause": "paused", "resume": "active", "remove": "removed"}[action]
        return store.set_subscription_status(partner_id, subscription_id, status, actor.person)

    @api.get("/v1/partners/{partner_id}/deliveries")
    def deliveries(partner_id: PathId, actor: Annotated[Actor, Depends(authenticate)],
                   status: Literal["pending", "delivered", "failed", "paused"] | None = None,
                   limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT, cursor: CursorParam = None) -> dict:
        """The delivery log: every delivery with every attempt's time, status and duration."""
        own_or_admin(partner_id, actor)
        after = decode_cursor("deliveries", cursor) if cursor else None
        items = store.deliveries(partner_id, status, after, limit)
        return {"items": items,
                "next_cursor": encode_cursor("deliveries", items[-1]["id"]) if len(items) == limit else None}

    @api.post("/v1/partners/{partner_id}/deliveries/{delivery_id}/replay")
    def replay(partner_id: PathId, delivery_id: PathId, actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        own_or_admin(partner_id, actor)
        return store.replay(partner_id, delivery_id, actor.person)

    @api.get("/v1/partners/{partner_id}/notices")
    def notices(partner_id: PathId, actor: Annotated[Actor, Depends(authenticate)]) -> dict:
        """What Hallmark told the partner (a paused subscription...), as sent to its contact address."""
        own_or_admin(partner_id, actor)
        return {"items": store.notices(partner_id)}

    # -- the public change feed ----------------------------------------------------------------------

    @api.get("/public/v1/changes")
    def changes(after: Annotated[CursorParam, Query(description="next_cursor of the previous page; none: from "
                                                     "the first change")] = None,
                limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT) -> dict:
        """Every public certificate change, in order, with the public view only (R9). Replayable: the
        same cursor always gives the same page; poll with the last ``next_cursor``."""
        position = _seq(decode_cursor(CHANGES, after)) if after else 0
        items = store.changes(position, limit)
        last = items[-1]["seq"] if items else position
        return {"items": items, "next_cursor": encode_cursor(CHANGES, str(last)), "more": len(items) == limit}

    return api


def _seq(value: str) -> int:
    from shared.errors import InvalidCommand

    if not value.isdigit() or len(value) > 18:
        raise InvalidCommand("the cursor is not one this feed gave out; start without it")
    return int(value)


async def _form(request: Request) -> dict[str, str] | None:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
            return unquote(client_id), unquote(secret)
        except (binascii.Error, UnicodeDecodeError):
            return None, None
    return form.get("client_id"), form.get("client_secret")


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="hallmark"'
    body: dict[str, Any] = {"error": error, "error_description": description, "type": f"/problems/oauth-{error}",
                            "title": "Token request refused", "status": status, "detail": description}
    return JSONResponse(body, status_code=status, headers=headers)
