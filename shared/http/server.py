"""The uvicorn side of slow-client protection: a deadline on reading each request head.

uvicorn bounds the idle time between requests (``timeout_keep_alive``) but not the time a client
takes to send a request head: a client that sends half a head and then nothing (or one byte every
few seconds) holds the connection for ever. ``HeadTimeoutH11Protocol`` arms a timer when the server
starts waiting for a head (the connection opens, or the first byte of the next request on a
kept-alive connection arrives) and closes the connection if the head is not complete when it fires:
with a 408 problem when part of a head arrived, silently when nothing did.

The body's deadline is the ASGI middleware's (``shared/http/limits.py``), which can answer with a
proper problem. A reverse proxy in front (README, Operations) does the same at the edge.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from shared.http.limits import DEFAULT_HEADER_TIMEOUT_SECONDS

log = logging.getLogger("hallmark.http")
access_log = logging.getLogger("hallmark.access")


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps({
        "type": "/problems/request-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": f"The request head did not arrive in full within {seconds:g} s.",
        "limit_seconds": seconds,
    }, separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "cache-control: no-store\r\n"
        "x-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    return head + body


class HeadTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head is not complete in time."""

    head_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of a head on a kept-alive connection
        super().data_received(data)
        self._settle()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start on a pipelined request already buffered
        if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
            self._arm()  # part of the next head is already here
        self._settle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _settle(self) -> None:
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            self._cancel()  # the head is complete (or the connection is going anyway)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        client = "%s:%d" % self.client if self.client else None
        if self.conn.trailing_data[0]:  # part of a head came: answer, and log it as the access line would
            access_log.info("request head timed out", extra={"status": 408, "client": client,
                                                             "ms": round(self.head_timeout * 1000, 1)})
            self.transport.write(_timeout_response(self.head_timeout))
        else:
            log.info("closing a connection that sent nothing for %g s", self.head_timeout, extra={"client": client})
        self.transport.close()


def head_timeout_protocol(seconds: float) -> type[HeadTimeoutH11Protocol]:
    """The protocol class to give ``uvicorn.run(http=...)``, with its head deadline."""
    return type("HallmarkH11Protocol", (HeadTimeoutH11Protocol,), {"head_timeout": seconds})
