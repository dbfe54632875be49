"""Consistency tokens across services (read-your-writes between processes).

A command that changed something answers ``Hallmark-Position: <service>:<position>``: the position
of the last published event it recorded in its service's store. A client that then calls another
service passes what it holds as ``Hallmark-After: applications:12,audits:40``; that service first
waits, bounded, until it has applied those positions, and answers 409 ``not-yet-known`` with
Retry-After if it could not. Without a token, a service still applies everything its upstream
services had published when the command began (ADR 0009).
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from shared.errors import InvalidCommand

REQUEST_HEADER = "hallmark-after"
RESPONSE_HEADER = "Hallmark-Position"
_TOKEN = re.compile(r"^(applications|audits|decisions|registry):([0-9]{1,18})$")

_wanted: ContextVar[dict[str, int] | None] = ContextVar("hallmark_after", default=None)


def parse(header: str) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in header.split(","))):
        match = _TOKEN.match(part)
        if not match or len(wanted) >= 8:
            raise InvalidCommand(
                f"Hallmark-After {header[:200]!r} is not a list of <service>:<position> as Hallmark-Position gave",
                field="Hallmark-After")
        wanted[match[1]] = max(wanted.get(match[1], 0), int(match[2]))
    return wanted


def wanted() -> dict[str, int]:
    return _wanted.get() or {}


def set_wanted(value: dict[str, int] | None):
    return _wanted.set(value)


def reset(token) -> None:
    _wanted.reset(token)


def token(written: tuple[str, int] | None) -> dict[str, str]:
    return {RESPONSE_HEADER: f"{written[0]}:{written[1]}"} if written else {}


class ConsistencyMiddleware:
    """Reads Hallmark-After for the request (ASGI): the endpoints' threads see it through a context variable."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers", ()) if k == REQUEST_HEADER.encode()), None)
        if raw is None:
            await self.app(scope, receive, send)
            return
        from shared.http.problems import from_domain_error

        try:
            value = parse(raw.decode("latin-1"))
        except InvalidCommand as error:
            await from_domain_error(error)(scope, receive, send)
            return
        reset_token = set_wanted(value)
        try:
            await self.app(scope, receive, send)
        finally:
            reset(reset_token)
