"""Slow and oversized clients against a real ``hallmark run`` process, over raw sockets: a request
head or body that does not arrive in time closes the connection (408 when part of it came), an
oversized body is refused with 413 without being read, and the server keeps answering others.
Also what only the real server shows: no ``server`` banner, one JSON access line per request.

The deadlines are made short through the environment; the waits below are bounds, not speeds."""

from __future__ import annotations

import json
import socket
import time
from typing import Iterator

import httpx
import pytest

from tests.conftest import make_settings
from tests.e2e.conftest import Server, _free_port

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
MAX_BODY = 64 * 1024
BOUND = 15.0  # seconds a test waits at most for the server to close a connection


class LimitedServer(Server):
    def env(self) -> dict[str, str]:
        env = super().env()
        for name in ("HALLMARK_LOG_LEVEL", "HALLMARK_ACCESS_LOG"):  # the defaults, whatever the shell says
            env.pop(name, None)
        env.update({
            "HALLMARK_HEADER_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
            "HALLMARK_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "HALLMARK_MAX_BODY_BYTES": str(MAX_BODY),
        })
        return env


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LimitedServer]:
    settings = make_settings("sqlite", tmp_path_factory.mktemp("slow-clients"))
    server = LimitedServer(settings, _free_port()).start()
    yield server
    server.kill()
    errors = [line for line in server.log.read_text().splitlines() if '"level": "error"' in line]
    assert not errors, f"the server logged errors: {errors[:3]}"


def _connect(server: Server, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
    if data:
        sock.sendall(data)
    return sock


def _read_until_closed(sock: socket.socket, bound: float = BOUND) -> bytes:
    """All the server sends until it closes the connection; fails if it is still open after ``bound``."""
    deadline = time.monotonic() + bound
    received = b""
    with sock:
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return received
            except socket.timeout:
                pytest.fail(f"the server kept the connection open for more than {bound} s; got {received[:200]!r}")
            if not chunk:
                return received
            received += chunk


def _status_and_problem(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert headers[b"content-type"].startswith(b"application/problem+json"), head
    return status, json.loads(body)


def _still_serving(server: Server) -> None:
    assert httpx.get(f"{server.url}/livez", timeout=BOUND).status_code == 200


def test_a_connection_that_sends_nothing_is_closed(server):
    assert _read_until_closed(_connect(server)) == b""
    _still_serving(server)


def test_a_partial_request_head_is_answered_408_and_closed(server):
    raw = _read_until_closed(_connect(server, b"GET /livez HTTP/1.1\r\nHost: hallmark\r\nAccept: */*\r\n"))
    status, problem = _status_and_problem(raw)
    assert status == 408 and problem["type"] == "/problems/request-timeout"


def test_a_head_trickled_byte_by_byte_is_still_closed(server):
    """The deadline is for the whole head: bytes that keep coming slowly do not extend it."""
    sock = _connect(server)
    trickle = b"GET /livez HTTP/1.1\r\nX-Slow: " + b"a" * 200
    deadline = time.monotonic() + BOUND
    closed = False
    for byte in trickle:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.1)
        if time.monotonic() > deadline:
            break
    if not closed:
        _read_until_closed(sock)
    sock.close()


def test_a_partial_head_after_a_kept_alive_request_is_closed(server):
    sock = _connect(server, b"GET /livez HTTP/1.1\r\nHost: hallmark\r\n\r\n")
    first = b""
    while b'{"status":"alive"}' not in first:
        first += sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /livez HTTP/1.1\r\nHo")
    status, _ = _status_and_problem(_read_until_closed(sock))
    assert status == 408


def test_a_partial_body_is_answered_408_and_closed(server):
    head = (b"POST /v1/schemes HTTP/1.1\r\nHost: hallmark\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    raw = _read_until_closed(_connect(server, head + b'{"code": "PTV-'))
    status, problem = _status_and_problem(raw)
    assert status == 408 and problem["type"] == "/problems/request-timeout"


def test_a_body_trickled_slowly_is_answered_408_and_closed(server):
    sock = _connect(server, b"POST /v1/schemes HTTP/1.1\r\nHost: hallmark\r\nContent-Length: 500\r\n\r\n")
    try:
        for _ in range(int(BOUND / 0.2)):
            sock.sendall(b" ")
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed while we were still sending: what we wanted
    raw = _read_until_closed(sock)
    if raw:  # the 408 may be lost to a reset when we kept writing; the close is what counts
        assert raw.startswith(b"HTTP/1.1 408"), raw[:100]


def test_many_slow_clients_at_once_are_all_closed_and_others_are_served(server):
    socks = []
    for i in range(120):
        if i % 3 == 0:
            socks.append(_connect(server))
        elif i % 3 == 1:
            socks.append(_connect(server, b"GET /livez HTTP/1.1\r\nHost: hallmark\r\n"))
        else:
            socks.append(_connect(server, b"POST /v1/schemes HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n{"))
    _still_serving(server)
    for sock in socks:
        _read_until_closed(sock)
    _still_serving(server)


def test_a_declared_fifty_megabyte_body_is_refused_before_it_is_sent(server):
    sock = _connect(server, b"POST /v1/schemes HTTP/1.1\r\nHost: hallmark\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 52428800\r\n\r\n")
    status, problem = _status_and_problem(_read_until_closed(sock))
    assert status == 413 and problem["type"] == "/problems/payload-too-large"
    assert str(MAX_BODY) in problem["detail"]


def test_a_chunked_body_over_the_limit_is_refused_and_the_connection_closed(server):
    sock = _connect(server, b"POST /v1/schemes HTTP/1.1\r\nHost: hallmark\r\nContent-Type: application/json\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (16384, b" " * 16384)
    try:
        for _ in range(MAX_BODY // 16384 + 2):  # just over the limit, and not the end of the body
            sock.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    raw = _read_until_closed(sock)
    status, problem = _status_and_problem(raw)
    assert status == 413 and problem["type"] == "/problems/payload-too-large"


def test_no_server_banner_and_the_security_headers(server):
    response = httpx.get(f"{server.url}/livez", timeout=BOUND)
    assert "server" not in response.headers and "date" in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    head = httpx.head(f"{server.url}/public/v1/certificates", timeout=BOUND)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["access-control-allow-origin"] == "*"


def test_one_json_access_line_per_request_at_the_default_log_level(server):
    marker = f"/problems/not-found?probe={time.monotonic_ns()}"
    assert httpx.get(f"{server.url}{marker}", timeout=BOUND).status_code == 200
    deadline = time.monotonic() + BOUND
    while True:
        lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
        ours = [line for line in lines if line.get("logger") == "hallmark.access"
                and line.get("path") == "/problems/not-found"]
        if ours or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(ours) == 1, f"expected one access line for the request, got {ours}"
    assert {"method", "path", "status", "ms"} <= ours[-1].keys() and ours[-1]["status"] == 200
    text = server.log.read_text()
    assert '"GET /problems/not-found' not in text  # uvicorn's own access line stays off
