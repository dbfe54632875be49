"""Request body limits: a size cap (413) and a read deadline (408), as a pure ASGI middleware.

The body is read here, in full and within bounds, before the application sees the request: the
application then gets it in one piece and never reads a body that is too large or that a slow
client is still trickling in. Requests without a body (no ``Content-Length``, no
``Transfer-Encoding``) pass straight through.

A declared ``Content-Length`` over the cap is refused before a byte of the body is read; a chunked
(or under-declared) body is counted as it arrives and reading stops at the first byte over the cap.
Both refusals, and the deadline, answer with ``Connection: close``, so the server drops whatever the
client still sends instead of reading it.

Settings (environment): ``HALLMARK_MAX_BODY_BYTES`` (default 1 MiB), ``HALLMARK_BODY_TIMEOUT_SECONDS``
(default 30, from the end of the request head to the last byte of the body); and for the server
(``hallmark run``, see ``shared/http/server.py``) ``HALLMARK_HEADER_TIMEOUT_SECONDS`` (default 10),
``HALLMARK_MAX_CONNECTIONS`` (default 256) and ``HALLMARK_BACKLOG`` (default 512).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http import problems

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_CONNECTIONS = 256  # one pod; beyond this uvicorn answers 503 at once rather than queue
DEFAULT_BACKLOG = 512

# Served by GET /problems/<slug> beside the domain problem types.
PROBLEM_TYPES = {
    "payload-too-large": "Payload too large. The request body is larger than this server accepts "
    "(HALLMARK_MAX_BODY_BYTES); nothing was read past the limit and nothing was recorded.",
    "request-timeout": "Request timeout. The client did not send the whole request (head or body) in time "
    "(HALLMARK_HEADER_TIMEOUT_SECONDS, HALLMARK_BODY_TIMEOUT_SECONDS); the connection is closed.",
}


class LimitsError(ValueError):
    pass


def _number(name: str, default: float, *, integer: bool = False) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise LimitsError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise LimitsError(f"{name}={raw!r} must be greater than 0")
    return value


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    header_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    backlog: int = DEFAULT_BACKLOG

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(
            max_body_bytes=int(_number("HALLMARK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, integer=True)),
            header_timeout=_number("HALLMARK_HEADER_TIMEOUT_SECONDS", DEFAULT_HEADER_TIMEOUT_SECONDS),
            body_timeout=_number("HALLMARK_BODY_TIMEOUT_SECONDS", DEFAULT_BODY_TIMEOUT_SECONDS),
            max_connections=int(_number("HALLMARK_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, integer=True)),
            backlog=int(_number("HALLMARK_BACKLOG", DEFAULT_BACKLOG, integer=True)),
        )


def _size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB ({n} bytes)"
    if n % 1024 == 0:
        return f"{n // 1024} KiB ({n} bytes)"
    return f"{n} bytes"


def too_large(limit: int, declared: int | None = None):
    if declared is not None:
        detail = f"The request body declares {declared} bytes; this server accepts at most {_size(limit)}."
    else:
        detail = f"The request body went past {_size(limit)}, the most this server accepts; reading stopped there."
    return problems.problem(
        413, "payload-too-large", detail,
        title="Payload too large", headers={"Connection": "close"}, limit_bytes=limit,
    )


def timed_out(seconds: float):
    return problems.problem(
        408, "request-timeout", f"The request body did not arrive in full within {seconds:g} s.",
        title="Request timeout", headers={"Connection": "close"}, limit_seconds=seconds,
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits.from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is None and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        limit = self.limits.max_body_bytes
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                response = problems.problem(400, "invalid-request", f"Content-Length {length!r} is not a length",
                                            headers={"Connection": "close"})
                await response(scope, receive, send)
                return
            if declared > limit:
                await too_large(limit, declared)(scope, receive, send)
                return

        chunks: list[bytes] = []
        size = 0
        complete = False
        with anyio.move_on_after(self.limits.body_timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client went away; nobody to answer
                body = message.get("body", b"")
                size += len(body)
                if size > limit:
                    break  # stop reading at the first byte over the limit
                chunks.append(body)
                if not message.get("more_body", False):
                    complete = True
                    break
        if not complete:
            refusal = timed_out(self.limits.body_timeout) if deadline.cancelled_caught else too_large(limit)
            await refusal(scope, receive, send)
            return

        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: http.disconnect, as the server tells it

        await self.app(scope, replay, send)
