"""Validators for public answers, as a pure ASGI middleware: a strong ``ETag`` on every successful GET
of the public surface (``shared.http.ratelimit.is_public``), 304 for a matching ``If-None-Match``,
and ``Vary`` for what the answer is negotiated on.

- The ETag is a hash of the body (SHA-256, first 128 bits, base64url), unless the route set one: the
  same bytes, the same tag, on every replica and after a restart; any change to the certificate
  changes it.
- ``If-None-Match`` compares weakly (RFC 9110 13.1.2): a list of tags, ``W/`` ignored, or ``*``.
  The 304 keeps the 200's ETag, Vary and Cache-Control (``SecurityHeaders`` gives public 304s the
  same ``Cache-Control`` as their 200) and drops the body and what describes it.
- ``Vary: Accept`` on every such answer (a certificate is JSON, or a signed answer for ``Accept:
  application/jwt``), and ``Accept-Language`` too on pages and on any answer in a stated language.
  A route whose answer depends on another header says so in its own ``Vary``; it is kept.

Installed inside ``HeadAsGet``, so HEAD comes here as GET and carries the GET's ETag.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.ratelimit import is_public

MAX_BUFFERED_BYTES = 4 * 1024 * 1024  # past this an answer streams on without an ETag
REPRESENTATION_HEADERS = ("content-type", "content-length", "content-encoding", "content-language")

_TAG = re.compile(r'(?:W/)?("[^"]*")')


def strong_etag(body: bytes) -> str:
    digest = hashlib.sha256(body).digest()[:16]
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison) or is ``*``: then the answer is 304."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag == opaque for tag in _TAG.findall(if_none_match))


def vary(headers: MutableHeaders) -> None:
    present = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    if "*" in present:
        return
    wanted = ["Accept"]
    if headers.get("content-type", "").startswith("text/html") or "content-language" in headers:
        wanted.append("Accept-Language")
    known = {v.lower() for v in present}
    merged = present + [v for v in wanted if v.lower() not in known]
    headers["Vary"] = ", ".join(merged)


class PublicCaching:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        conditions = Headers(scope=scope).getlist("if-none-match")
        if_none_match = ", ".join(conditions) if conditions else None
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        streaming = False

        async def flush() -> None:
            nonlocal streaming
            streaming = True
            if start is not None:
                await send(start)
            if chunks:
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})

        async def send_validated(message: Message) -> None:
            nonlocal start, size
            if streaming:
                await send(message)
            elif message["type"] == "http.response.start":
                if message["status"] != 200:
                    await flush()
                    await send(message)
                else:
                    start = message  # held until the body is known
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if message.get("more_body", False):
                    if size > MAX_BUFFERED_BYTES:
                        await flush()
                    return
                await self._answer(start, b"".join(chunks), if_none_match, send)
            else:
                await flush()
                await send(message)

        await self.app(scope, receive, send_validated)

    @staticmethod
    async def _answer(start: Message, body: bytes, if_none_match: str | None, send: Send) -> None:
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        etag = headers.get("etag") or strong_etag(body)
        headers["ETag"] = etag
        vary(headers)
        if none_match(if_none_match, etag):
            for name in REPRESENTATION_HEADERS:
                del headers[name]
            await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})
