"""HTTP hygiene around the whole application, as pure ASGI middlewares.

- ``SecurityHeaders``: ``nosniff``, no referrer, no framing, a Content-Security-Policy (a strict one
  for HTML: nothing from outside this server; ``default-src 'none'`` for everything else), and
  ``Cache-Control: no-store`` on everything but successful public lookups, which may be cached
  briefly.
- ``PublicCORS``: the public lookup (``/public/...``) is readable from any web page, read-only and
  without credentials; nothing else sends CORS headers or accepts a preflight.
- ``HeadAsGet``: ``HEAD`` on every ``GET`` route, with the same status and headers and no body.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http import problems

PUBLIC_PREFIX = "/public/"
PUBLIC_CACHE = "public, max-age=60"

HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
# A self-contained printable document (a certificate): its own inline style and images, nothing else at all.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

CORS_METHODS = ("GET", "HEAD", "OPTIONS")
# The CORS-safelisted request headers, plus the conditional ones a cache-aware client sends.
CORS_HEADERS = ("accept", "accept-language", "content-language", "if-none-match", "if-modified-since")
CORS_MAX_AGE = "600"

PROBLEM_TYPES = {
    "cors-not-allowed": "Cross-origin request not allowed. Only the public lookup (/public/...) may be read "
    "from another origin, with GET or HEAD, without credentials and with safelisted headers only.",
}


def _is_public(scope: Scope) -> bool:
    """The public, read-only surface: the lookup (/public/...) and the keys that verify its signed
    answers (/.well-known/jwks.json), cacheable and readable from any origin."""
    return scope["path"].startswith((PUBLIC_PREFIX, "/.well-known/"))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = _is_public(scope) and scope["method"] in ("GET", "HEAD")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                html = headers.get("content-type", "").startswith("text/html")
                if headers.get("Content-Security-Policy") != DOCUMENT_CSP:  # the one policy a route may choose
                    headers["Content-Security-Policy"] = HTML_CSP if html else OTHER_CSP
                if cacheable and message["status"] in (200, 304):  # a 304 stands for its 200
                    headers.setdefault("Cache-Control", PUBLIC_CACHE)
                else:
                    headers["Cache-Control"] = "no-store"
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PublicCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_public(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers:
            await self._preflight(headers)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Always, Origin or not: a cached public answer then serves every page alike.
                out = MutableHeaders(raw=list(message.get("headers", [])))
                out["Access-Control-Allow-Origin"] = "*"
                message = {**message, "headers": out.raw}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _preflight(headers: Headers):
        method = headers["access-control-request-method"].strip().upper()
        asked = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
        refused = [h for h in asked if h not in CORS_HEADERS]
        if method not in CORS_METHODS or refused:
            what = f"method {method}" if method not in CORS_METHODS else f"header(s) {', '.join(refused)}"
            return problems.problem(403, "cors-not-allowed",
                                    f"The public lookup is read-only from other origins: {what} not allowed",
                                    title="Cross-origin request not allowed")
        allowed = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": ", ".join(CORS_METHODS),
            "Access-Control-Max-Age": CORS_MAX_AGE,
        }
        if asked:
            allowed["Access-Control-Allow-Headers"] = ", ".join(asked)
        return Response(status_code=204, headers=allowed)


class HeadAsGet:
    """Answers HEAD as the GET would, without the body (FastAPI routes declare GET only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
