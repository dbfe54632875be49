"""Every call a partner makes is recorded with the partner's id: who asked what, and when (ADR 0014)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.partners.store import PartnerStore

log = logging.getLogger(__name__)


class PartnerCalls:
    """ASGI middleware: after each response to a request that carries a partner's token or API key
    (verified, not merely present), one row in ``partner_calls``."""

    def __init__(self, app: ASGIApp, store: PartnerStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            who = self._partner(scope)
            if who is not None:
                try:
                    self.store.record_call(who[0], who[1], scope["method"], scope["path"],
                                           scope.get("query_string", b"").decode("latin-1"), status)
                except Exception:  # the answer stands; the operator sees why the record is missing
                    log.exception("could not record a call by partner %s", who[0])

    @staticmethod
    def _headers(scope: Scope) -> dict[str, str]:
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}

    def _partner(self, scope: Scope) -> tuple[str, str | None] | None:
        if not any(name in (b"authorization", b"x-api-key") for name, _ in scope.get("headers", [])):
            return None  # anonymous: the public lookup's hot path stops here
        app: Any = scope.get("app")
        config = getattr(getattr(app, "state", None), "auth", None)
        if config is None:
            return None
        headers = self._headers(scope)
        if "x-api-key" in headers:
            return self.store.api_key(headers["x-api-key"].strip())
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not config.partner_secret or \
                not config.issued_to_a_partner(token.strip()):  # staff tokens are not partners' calls
            return None
        try:
            claims = config.decode(token.strip())
        except Exception:  # jwt.PyJWTError, or the identity provider unreachable: not a partner's call
            return None
        if claims.get("roles") == ["partner"] and str(claims.get("sub", "")).startswith("partner:"):
            return str(claims["sub"]).removeprefix("partner:"), claims.get("cid")
        return None
