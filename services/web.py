"""The HTTP application of the embedded default: every service's router in one process."""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from opentelemetry import propagate, trace

from services.applications.api import router as applications_router
from services.audits.api import router as audits_router
from services.bootstrap import Hallmark
from services.decisions.api import router as decisions_router
from services.operations import router as operations_router
from services.projections.api import certificates_router, trail_router
from services.registry.api import router as registry_router
from shared import telemetry
from shared.errors import DomainError
from shared.http import problems

log = logging.getLogger("hallmark.http")

MAX_LAG_FOR_READY = 10_000


def _problem_catalogue() -> dict[str, str]:
    def walk(cls: type) -> list[type]:
        return [cls] + [c for sub in cls.__subclasses__() for c in walk(sub)]

    return {cls.slug: f"{cls.title}. {(cls.__doc__ or '').strip()}" for cls in walk(DomainError)}


def create_app(hallmark: Hallmark, *, run_pump: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_pump and hallmark.pump is not None:
            hallmark.pump.start()
        try:
            yield
        finally:
            if hallmark.pump is not None:
                hallmark.pump.stop()

    app = FastAPI(
        title="Hallmark",
        version="1",
        description="Certification lifecycle: applications, audits, decisions, the mark registry, and the "
        "public certificate directory. Errors are RFC 9457 problems; POSTs accept Idempotency-Key.",
        lifespan=lifespan,
    )
    app.state.auth = hallmark.settings.auth()
    app.state.hallmark = hallmark
    problems.install(app)

    @app.middleware("http")
    async def access_log(request: Request, call_next):  # one span and one structured line per request
        started = time.perf_counter()
        parent = propagate.extract(dict(request.headers))
        with telemetry.tracer.start_as_current_span(
            f"HTTP {request.method}", context=parent, kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.url.path},
        ) as span:
            response = await call_next(request)
            span.set_attribute("http.response.status_code", response.status_code)
            log.info(
                "request",
                extra={"method": request.method, "path": request.url.path, "status": response.status_code,
                       "ms": round((time.perf_counter() - started) * 1000, 1)},
            )
        return response

    # Grouped as the services are deployed apart (API.md ports 8001-8005): one OpenAPI each.
    services = {
        "applications": [applications_router(hallmark.applications)],
        "audits": [audits_router(hallmark.audits)],
        "decisions": [decisions_router(hallmark.decisions)],
        "registry": [registry_router(hallmark.registry), certificates_router(hallmark.certificates)],
        "projections": [trail_router(hallmark.trail, hallmark.verify_trail, hallmark.clock.zone)],
    }
    for routers in services.values():
        for router in routers:
            app.include_router(router)
    if hallmark.pump is not None:
        app.include_router(operations_router(hallmark.pump))

    @app.get("/openapi/{service}.json", include_in_schema=False)
    def service_openapi(service: str) -> JSONResponse:
        if service not in services:
            return problems.problem(404, "not-found", f"No service {service}; services are {', '.join(services)}")
        routes = [route for router in services[service] for route in router.routes]
        return JSONResponse(get_openapi(title=f"Hallmark {service}", version="1", routes=routes))

    catalogue = _problem_catalogue()

    @app.get("/problems/{slug}", include_in_schema=False)
    def problem_type(slug: str) -> PlainTextResponse:
        if slug not in catalogue:
            return problems.problem(404, "not-found", f"No problem type {slug}")
        return PlainTextResponse(catalogue[slug])

    @app.get("/livez", tags=["health"])
    def livez() -> dict:
        return {"status": "alive"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        for service in hallmark.services:
            try:
                service.check_ready()
                checks[f"store:{service.name}"] = "ok"
            except Exception as error:  # report, never raise, from a health check
                checks[f"store:{service.name}"] = f"unreachable: {type(error).__name__}"
        try:
            hallmark.certificates.position("registry")
            checks["views"] = "ok"
        except Exception as error:
            checks["views"] = f"unreachable: {type(error).__name__}"
        pump = hallmark.pump
        consumers = {}
        if pump is not None:
            if run_pump:
                checks["bus"] = "ok" if pump.running else "stopped"
            for consumer in pump.consumers:
                if consumer.health.last_error:
                    checks[f"consumer:{consumer.name}"] = f"failing: {consumer.health.last_error}"
                elif consumer.health.parked:
                    checks[f"consumer:{consumer.name}"] = f"parked {consumer.health.parked} message(s)"
                consumers[consumer.name] = {"applied": consumer.health.applied, "parked": consumer.health.parked,
                                            "lag": consumer.lag()}
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks, "consumers": consumers},
                            status_code=200 if ready else 503)

    return app
