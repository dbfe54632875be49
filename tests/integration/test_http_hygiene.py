"""HTTP hygiene (issue 5): request body cap and read deadline, security headers, HEAD on every GET
route, CORS for the public lookup only, /docs served from this machine, a discreet /readyz that
also watches consumer lag, and the access line at the default log level."""

from __future__ import annotations

import json
import logging
import re
from typing import Iterator

import anyio
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.settings import Settings
from services.web import create_app
from shared import logs
from shared.http.auth import ROLES
from tests.conftest import make_settings
from tests.support import Api, File, scheme_body


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings("sqlite", tmp_path)  # HTTP behaviour only: one store is enough

MiB = 1024 * 1024
ACCESS_LOGGER = "hallmark.access"


def _assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status and body["type"] == f"/problems/{slug}"
    return body


@pytest.fixture
def app_with_env(hallmark, monkeypatch):
    """An app created after the test set its environment."""
    clients: list[TestClient] = []

    def make(**env: str) -> Api:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        client = TestClient(create_app(hallmark, run_pump=False), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return Api(client, hallmark.settings.local_secret(), hallmark.settle)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


# A. Request body cap ---------------------------------------------------------------------------

def test_a_body_declared_over_one_mib_is_refused_with_413_before_it_is_read(api):
    body = json.dumps(scheme_body(title="x" * (2 * MiB))).encode()
    response = api.client.post("/v1/schemes", content=body, headers={
        **api.headers("Ada", "admin"), "Content-Type": "application/json"})
    problem = _assert_problem(response, 413, "payload-too-large")
    assert problem["title"] == "Payload too large"
    assert "1 MiB" in problem["detail"] and problem["limit_bytes"] == MiB
    assert response.headers["connection"] == "close"
    assert api.client.get("/v1/certificates", headers=api.headers("Ada", "admin")).status_code == 200


def test_a_streamed_body_over_the_limit_is_refused_with_413(api):
    chunks = (b" " * 65536 for _ in range(32))  # 2 MiB, chunked: no Content-Length to check up front
    response = api.client.post("/v1/schemes", content=chunks, headers={
        **api.headers("Ada", "admin"), "Content-Type": "application/json"})
    _assert_problem(response, 413, "payload-too-large")


def test_a_body_under_the_limit_reaches_the_application(api):
    response = api.post("/v1/schemes", scheme_body(), "Ada", "admin")
    assert response.status_code == 201, response.text


def test_the_limit_comes_from_the_environment(app_with_env):
    api = app_with_env(HALLMARK_MAX_BODY_BYTES="2000")
    small = api.client.post("/v1/schemes", json=scheme_body(), headers=api.headers("Ada", "admin"))
    assert small.status_code == 201, small.text
    big = api.client.post("/v1/schemes", json=scheme_body(title="x" * 3000), headers=api.headers("Ada", "admin"))
    assert "2000 bytes" in _assert_problem(big, 413, "payload-too-large")["detail"]


def test_the_problem_types_are_documented(api):
    for slug in ("payload-too-large", "request-timeout", "cors-not-allowed"):
        assert api.get(f"/problems/{slug}").status_code == 200, slug


class _Recorder:
    """An ASGI conversation by hand: what the middleware reads, what it answers, whether the app ran."""

    def __init__(self, messages, *, then_hang: bool = False) -> None:
        self.messages = list(messages)
        self.then_hang = then_hang
        self.reads = 0
        self.sent: list[dict] = []
        self.app_called = False

    async def receive(self) -> dict:
        self.reads += 1
        if self.messages:
            return self.messages.pop(0)
        if self.then_hang:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    async def app(self, scope, receive, send) -> None:
        self.app_called = True

    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    def body(self) -> dict:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body"))


def _scope(*headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "method": "POST", "path": "/v1/schemes", "headers": list(headers)}


async def test_a_chunked_body_is_counted_and_reading_stops_at_the_limit():
    from shared.http.limits import BodyLimitMiddleware, Limits

    endless = [{"type": "http.request", "body": b"x" * 40_000, "more_body": True}] * 1000
    conversation = _Recorder(endless)
    middleware = BodyLimitMiddleware(conversation.app, Limits(max_body_bytes=100_000))
    await middleware(_scope((b"transfer-encoding", b"chunked")), conversation.receive, conversation.send)
    assert conversation.status() == 413 and not conversation.app_called
    assert conversation.reads == 3  # 120 000 bytes read: the first chunk over the limit, and no more


async def test_a_body_that_does_not_arrive_in_time_is_a_408_problem():
    from shared.http.limits import BodyLimitMiddleware, Limits

    trickle = _Recorder([{"type": "http.request", "body": b"{", "more_body": True}], then_hang=True)
    middleware = BodyLimitMiddleware(trickle.app, Limits(body_timeout=0.2))
    with anyio.fail_after(10):
        await middleware(_scope((b"content-length", b"100")), trickle.receive, trickle.send)
    assert trickle.status() == 408 and not trickle.app_called
    assert trickle.body()["type"] == "/problems/request-timeout"
    start = next(m for m in trickle.sent if m["type"] == "http.response.start")
    assert (b"connection", b"close") in start["headers"]


async def test_a_request_without_a_body_is_not_read():
    from shared.http.limits import BodyLimitMiddleware, Limits

    conversation = _Recorder([])
    middleware = BodyLimitMiddleware(conversation.app, Limits())
    await middleware({**_scope(), "method": "GET"}, conversation.receive, conversation.send)
    assert conversation.app_called and conversation.reads == 0


# C. Security headers ------------------------------------------------------------------------------

def _security_headers(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers


def test_every_response_carries_the_security_headers_and_only_public_answers_are_cacheable(api):
    responses = {
        "/livez": api.get("/livez"),
        "/v1/certificates (401)": api.get("/v1/certificates"),
        "/v1/certificates": api.get("/v1/certificates", "Ada", "admin"),
        "/openapi.json": api.get("/openapi.json"),
        "/nowhere (404)": api.get("/nowhere"),
        "/public/v1/certificates/UNKNOWN (404)": api.get("/public/v1/certificates/XX-00000"),
    }
    for what, response in responses.items():
        _security_headers(response)
        assert response.headers["cache-control"] == "no-store", what
    public = api.get("/public/v1/certificates")
    assert public.status_code == 200
    _security_headers(public)
    assert public.headers["cache-control"] == "public, max-age=60"


def test_html_gets_a_strict_content_security_policy(api):
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    _security_headers(page)
    policy = page.headers["content-security-policy"]
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert not re.search(r"https?:|\*", policy), policy  # no external origin, no wildcard
    assert directives["frame-ancestors"] == "'none'"


# C. HEAD ---------------------------------------------------------------------------------------------

def _get_paths(api: Api) -> list[str]:
    """Every GET route: those of the OpenAPI document and those kept out of it."""
    documented = [p for p, operations in api.get("/openapi.json").json()["paths"].items() if "get" in operations]
    hidden = [r.path for r in api.client.app.routes if isinstance(r, APIRoute) and "GET" in r.methods]
    return [re.sub(r"\{[^}]+\}", "XX-00000", p) for p in documented + hidden]


def test_head_answers_every_get_route_with_the_same_status_and_headers_and_no_body(api):
    scheme = File(api).create_scheme()["code"]
    token = api.headers("Ada Everyrole", *ROLES)
    paths = _get_paths(api) + ["/openapi.json", "/openapi/registry.json", "/problems/not-found",
                               f"/v1/schemes/{scheme}", "/docs/assets/swagger-ui.css"]
    assert {"/livez", "/readyz", "/docs", "/public/v1/certificates", "/v1/certificates"} <= set(paths)
    for path in paths:
        get = api.client.get(path, headers=token)
        head = api.client.head(path, headers=token)
        assert head.status_code == get.status_code != 405, (path, head.status_code, get.status_code)
        assert head.content == b"", path
        drop = {"date"}
        assert {k: v for k, v in head.headers.items() if k not in drop} == \
               {k: v for k, v in get.headers.items() if k not in drop}, path


def test_head_on_a_post_only_route_is_405(api):
    assert api.client.head("/v1/schemes").status_code == 405


# C. CORS ---------------------------------------------------------------------------------------------

ORIGIN = {"Origin": "https://shop.example"}


def test_the_public_lookup_is_readable_from_any_origin_without_credentials(api):
    response = api.client.get("/public/v1/certificates", headers=ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    preflight = api.client.options("/public/v1/certificates", headers={
        **ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "accept"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "HEAD", "OPTIONS"}
    assert "access-control-allow-credentials" not in preflight.headers


@pytest.mark.parametrize("asked", [{"Access-Control-Request-Method": "POST"},
                                   {"Access-Control-Request-Method": "DELETE"},
                                   {"Access-Control-Request-Method": "GET",
                                    "Access-Control-Request-Headers": "authorization"}])
def test_the_public_lookup_refuses_writing_or_credentialed_preflights(api, asked):
    refused = api.client.options("/public/v1/certificates", headers={**ORIGIN, **asked})
    _assert_problem(refused, 403, "cors-not-allowed")
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("path", ["/v1/certificates", "/v1/schemes", "/readyz", "/openapi.json"])
def test_internal_endpoints_send_no_cors_headers_and_refuse_preflights(api, path):
    simple = api.client.get(path, headers={**ORIGIN, **api.headers("Ada", "admin")})
    assert not [h for h in simple.headers if h.startswith("access-control-")], path
    preflight = api.client.options(path, headers={**ORIGIN, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code >= 400, path
    assert not [h for h in preflight.headers if h.startswith("access-control-")], path


# C. /docs from this machine ---------------------------------------------------------------------------

def test_docs_load_nothing_from_outside_this_server(api):
    page = api.get("/docs").text
    assert "cdn" not in page.lower()
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "<script>" not in page  # no inline script: the CSP forbids it
    for url in urls:
        asset = api.get(url)
        assert asset.status_code == 200 and asset.content, url
    init = api.get("/docs/swagger-init.js").text
    assert '"/openapi.json"' in init and "http" not in init
    assert api.get("/redoc").status_code == 404  # ReDoc came from a CDN only: gone


# C. /readyz ---------------------------------------------------------------------------------------------

def test_readyz_tells_anonymous_callers_the_status_only(api):
    anonymous = api.get("/readyz")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ready"}
    for headers in ({"Authorization": "Bearer not.a.jwt"}, api.headers("Bea", "applicant"),
                    api.headers("Luc", "auditor")):
        assert api.client.get("/readyz", headers=headers).json() == {"status": "ready"}
    for role in ("admin", "assessor"):
        detailed = api.get("/readyz", "Asha", role).json()
        assert detailed["status"] == "ready" and detailed["checks"] and detailed["consumers"], role
        assert all(v == "ok" for v in detailed["checks"].values())


def test_readyz_is_503_while_a_consumer_lags_more_than_allowed(app_with_env, hallmark):
    api = app_with_env(HALLMARK_MAX_LAG_FOR_READY="0")
    assert api.get("/readyz").status_code == 200
    # Not settled: the consumers following the registry have the new events still to read.
    created = api.client.post("/v1/schemes", json=scheme_body(), headers=api.headers("Ada", "admin"))
    assert created.status_code == 201
    lagging = api.get("/readyz")
    assert lagging.status_code == 503 and lagging.json() == {"status": "not ready"}
    detail = api.get("/readyz", "Asha", "assessor").json()
    assert any(v.startswith("lagging") for v in detail["checks"].values()), detail
    assert any(c["lag"] > 0 for c in detail["consumers"].values())
    hallmark.settle()
    assert api.get("/readyz").status_code == 200


def test_readyz_allows_ten_thousand_notifications_of_lag_by_default(api):
    api.client.post("/v1/schemes", json=scheme_body(), headers=api.headers("Ada", "admin"))  # not settled
    assert api.get("/readyz").status_code == 200


# C. The access line --------------------------------------------------------------------------------

@pytest.fixture
def default_logging() -> Iterator[list[logging.LogRecord]]:
    """Logging as ``hallmark run`` configures it by default (WARNING), recording what reaches the root."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger(ACCESS_LOGGER).level
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logs.configure("WARNING")
    root.addHandler(Keep())
    yield records
    root.handlers[:], level, access_level = saved
    root.setLevel(level)
    logging.getLogger(ACCESS_LOGGER).setLevel(access_level)


def test_one_access_line_per_request_at_the_default_log_level(api, default_logging):
    api.get("/livez")
    api.client.post("/v1/schemes", content=b"x" * (2 * MiB))
    lines = [r for r in default_logging if r.name == ACCESS_LOGGER]
    assert [(r.method, r.path, r.status) for r in lines] == [("GET", "/livez", 200), ("POST", "/v1/schemes", 413)]
    assert all(isinstance(r.ms, float) for r in lines)
    formatted = json.loads(logs.JsonFormatter().format(lines[0]))
    assert formatted["path"] == "/livez" and formatted["level"] == "info"


def test_the_access_line_follows_the_settings(default_logging, monkeypatch):
    access = logging.getLogger(ACCESS_LOGGER)
    logs.configure("DEBUG")
    assert access.isEnabledFor(logging.INFO)
    logs.configure("ERROR")  # errors only
    assert not access.isEnabledFor(logging.INFO)
    monkeypatch.setenv("HALLMARK_ACCESS_LOG", "off")
    logs.configure("WARNING")
    assert not access.isEnabledFor(logging.INFO)
