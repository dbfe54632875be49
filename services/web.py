"""The HTTP application of the embedded default: every service's router in one process."""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp

from services.applications.api import router as applications_router
from services.audits.api import router as audits_router
from services.bootstrap import Hallmark
from services.decisions.api import router as decisions_router
from services.directory import directory_router
from services.operations import people_router, sweep_router
from services.operations import router as operations_router
from services.projections.api import certificates_router, holder_router, trail_router
from services.projections.signing import AnswerSigner
from services.registry.api import router as registry_router
from shared.consistency import ConsistencyMiddleware
from shared.errors import DomainError
from shared.http import caching, docs, hygiene, limits, problems, ratelimit
from shared.http.access import AccessLog
from shared.http.auth import authenticate

log = logging.getLogger("hallmark.http")

STYLESHEET = (Path(__file__).parent / "static" / "hallmark.css").read_bytes()
MAX_LAG_FOR_READY = 10_000  # notifications a consumer may have still to read; HALLMARK_MAX_LAG_FOR_READY
READYZ_DETAIL_ROLES = ("admin", "assessor")


def _problem_catalogue() -> dict[str, str]:
    def walk(cls: type) -> list[type]:
        return [cls] + [c for sub in cls.__subclasses__() for c in walk(sub)]

    return {cls.slug: f"{cls.title}. {(cls.__doc__ or '').strip()}" for cls in walk(DomainError)}


class _HallmarkApp(FastAPI):
    """FastAPI with the HTTP edge outside everything, the 500 handler included: every response,
    whatever produced it, is logged once and carries the security headers."""

    edge_limits: limits.Limits = limits.Limits()
    rate_limits: ratelimit.RateLimits = ratelimit.RateLimits()  # none unless create_app sets them
    partner_store: Any = None

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        if self.partner_store is not None:  # every partner call recorded (ADR 0014)
            from services.partners.calls import PartnerCalls

            app = PartnerCalls(app, self.partner_store)
        app = ConsistencyMiddleware(app)
        app = limits.BodyLimitMiddleware(app, self.edge_limits)
        app = caching.PublicCaching(app)  # inside HeadAsGet: HEAD gets the GET's ETag
        app = hygiene.HeadAsGet(app)
        # Before a body is read; inside CORS, the security headers and the access line, which a 429 gets too.
        app = ratelimit.RateLimitMiddleware(app, self.rate_limits, auth=lambda: getattr(self.state, "auth", None))
        app = hygiene.PublicCORS(app)
        app = hygiene.SecurityHeaders(app)
        return AccessLog(app)


def create_app(hallmark: Hallmark, *, run_pump: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_pump:
            hallmark.start()
        try:
            yield
        finally:
            if hallmark.certificates is not None:  # the directory's reads on this loop (ViewDatabase.arun)
                await hallmark.certificates.db.aclose()
            hallmark.stop()

    app = _HallmarkApp(
        title="Hallmark",
        version="1",
        description="Certification lifecycle: applications, audits, decisions, the mark registry, and the "
        "public certificate directory. Errors are RFC 9457 problems; POSTs accept Idempotency-Key.",
        lifespan=lifespan,
        docs_url=None,  # served from this machine by shared.http.docs, not from a CDN
        redoc_url=None,
    )
    app.edge_limits = limits.Limits.from_env()  # body size and read deadline (shared/http/limits.py)
    app.rate_limits = hallmark.settings.rate_limits()  # per address and per partner (shared/http/ratelimit.py)
    app.state.auth = hallmark.settings.auth()
    app.state.hallmark = hallmark
    problems.install(app)
    docs.install(app, title="Hallmark")

    # Grouped as the services are deployed apart (API.md ports 8001-8005): one OpenAPI each.
    # Only this process's components: all of them embedded, one in distributed mode.
    services: dict[str, list] = {}
    if hallmark.applications is not None:
        services["applications"] = [applications_router(hallmark.applications)]
    if hallmark.audits is not None:
        services["audits"] = [audits_router(hallmark.audits)]
    if hallmark.decisions is not None:
        services["decisions"] = [decisions_router(hallmark.decisions)]
    if hallmark.registry is not None and hallmark.certificates is not None:
        settings = hallmark.settings  # the public lookup signs its answers on request (ADR 0013)
        signer = AnswerSigner(*settings.answer_signing_keys(), issuer=f"hallmark/{settings.instance}",
                              now=hallmark.clock.now)
        services["registry"] = [registry_router(hallmark.registry),
                                certificates_router(hallmark.certificates, hallmark.clock.today, signer)]
        services["registry"].append(directory_router(hallmark.certificates, hallmark.clock.today))  # pages, ADR 0012
        services["registry"].append(sweep_router(hallmark.sweep))
    if hallmark.partners is not None:  # with the certificate view: the registry component (ADR 0014)
        from services.partners.api import AUDIENCE, partners_router

        settings = hallmark.settings
        issuer = f"hallmark/{settings.instance}/partners"
        token_key = settings.partner_token_key()
        store = app.partner_store = hallmark.partners
        app.state.auth.partner_secret, app.state.auth.partner_issuer = token_key, issuer
        app.state.auth.partner_audience, app.state.auth.partner_active = AUDIENCE, store.active
        app.state.auth.api_keys = lambda key: (found[0] if (found := store.api_key(key)) else None)
        services["registry"].append(partners_router(store, token_key, issuer, settings.allow_http_webhooks))
    if hallmark.trail is not None:
        services["projections"] = [trail_router(hallmark.trail, hallmark.verify_trail, hallmark.clock.zone)]
    if hallmark.holder is not None:
        services["projections"].append(holder_router(hallmark.holder))
    for routers in services.values():
        for router in routers:
            app.include_router(router)
    # Which component serves which paths: distributed mode routes by prefix (supervisor.ROUTES, the ingress).
    app.state.component_paths = {name: sorted({r.path for router in routers for r in router.routes})
                                 for name, routers in services.items()}
    if hallmark.pump is not None:
        app.include_router(operations_router(hallmark.pump))
    if hallmark.vault is not None and hallmark.trail is not None:  # with the trail (projections, or embedded)
        app.include_router(people_router(hallmark.vault))

    @app.get("/public/assets/hallmark.css", include_in_schema=False)
    def stylesheet() -> Response:
        """The public pages' one stylesheet, from this server (CSP style-src 'self')."""
        return Response(STYLESHEET, media_type="text/css; charset=utf-8")

    @app.get("/openapi/{service}.json", include_in_schema=False)
    def service_openapi(service: str) -> JSONResponse:
        if service not in services:
            return problems.problem(404, "not-found", f"No service {service}; services are {', '.join(services)}")
        routes = [route for router in services[service] for route in router.routes]
        return JSONResponse(get_openapi(title=f"Hallmark {service}", version="1", routes=routes))

    catalogue = {**_problem_catalogue(), **limits.PROBLEM_TYPES, **hygiene.PROBLEM_TYPES, **ratelimit.PROBLEM_TYPES}

    @app.get("/problems/{slug}", include_in_schema=False)
    def problem_type(slug: str) -> PlainTextResponse:
        if slug not in catalogue:
            return problems.problem(404, "not-found", f"No problem type {slug}")
        return PlainTextResponse(catalogue[slug])

    @app.get("/livez", tags=["health"])
    def livez() -> dict:
        return {"status": "alive"}

    max_lag = int(os.environ.get("HALLMARK_MAX_LAG_FOR_READY") or MAX_LAG_FOR_READY)

    def may_see_details(request: Request) -> bool:
        if "authorization" not in request.headers:
            return False
        try:
            return authenticate(request).has(*READYZ_DETAIL_ROLES)
        except Exception:  # a bad token (or an unreachable identity provider) reads as anonymous
            return False

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """200 when every store, the views, the pump and each consumer are fine, else 503. Anonymous
        callers get only the status; staff (admin, assessor) also get the checks and the consumers."""
        checks: dict[str, str] = {}
        for service in hallmark.services:
            try:
                service.check_ready()
                checks[f"store:{service.name}"] = "ok"
            except Exception as error:  # report, never raise, from a health check
                checks[f"store:{service.name}"] = f"unreachable: {type(error).__name__}"
        for view in (hallmark.certificates, hallmark.trail, hallmark.holder):
            if view is None:
                continue
            try:
                view.position("registry")
                checks[f"view:{view.name}"] = "ok"
            except Exception as error:
                checks[f"view:{view.name}"] = f"unreachable: {type(error).__name__}"
        relays = {}
        for relay in hallmark.relays:
            try:
                relays[relay.topic] = {"published": relay.health.published, "lag": relay.lag()}
                checks[f"relay:{relay.topic}"] = f"failing: {relay.health.last_error}" if relay.health.last_error \
                    else "ok"
            except Exception as error:
                checks[f"relay:{relay.topic}"] = f"unreachable: {type(error).__name__}"
        pump = hallmark.pump
        consumers = {}
        if pump is not None:
            if run_pump:
                checks["bus"] = "ok" if pump.running else "stopped"
            for consumer in pump.consumers:
                try:
                    lag: int | None = consumer.lag()
                except Exception as error:
                    lag = None
                    checks[f"consumer:{consumer.name}"] = f"unreachable: {type(error).__name__}"
                if consumer.health.last_error:
                    checks[f"consumer:{consumer.name}"] = f"failing: {consumer.health.last_error}"
                elif consumer.health.parked:
                    checks[f"consumer:{consumer.name}"] = f"parked {consumer.health.parked} message(s)"
                elif lag is not None and lag > max_lag:
                    checks[f"consumer:{consumer.name}"] = f"lagging: {lag} notification(s) behind (limit {max_lag})"
                consumers[consumer.name] = {"applied": consumer.health.applied, "parked": consumer.health.parked,
                                            "lag": lag}
        ready = all(v == "ok" for v in checks.values())
        status = {"status": "ready" if ready else "not ready"}
        details = {**status, "component": hallmark.component, "checks": checks, "consumers": consumers,
                   "relays": relays}
        body = details if may_see_details(request) else status
        return JSONResponse(body, status_code=200 if ready else 503)

    return app
