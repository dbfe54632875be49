"""One span and one structured access line per request (pure ASGI, around everything else).

The line goes to the ``hallmark.access`` logger, which ``shared.logs.configure`` keeps at INFO at the
default log level (``HALLMARK_ACCESS_LOG=off`` silences it); uvicorn's own access log is off.
"""

from __future__ import annotations

import logging
import time

from opentelemetry import propagate, trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import telemetry

log = logging.getLogger("hallmark.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        status = 500  # unless a response starts: an exception escaped everything

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with telemetry.tracer.start_as_current_span(
            f"HTTP {method}", context=propagate.extract(carrier), kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:
            try:
                await self.app(scope, receive, send_and_note)
            finally:
                span.set_attribute("http.response.status_code", status)
                log.info("request", extra={"method": method, "path": path, "status": status,
                                           "ms": round((time.perf_counter() - started) * 1000, 1)})
