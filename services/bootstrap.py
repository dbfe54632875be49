"""The composition root: builds the four services, their seams and the projections."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from services.applications import policies as applications_policies
from services.applications.application import Applications
from services.audits import policies as audits_policies
from services.audits.application import Audits
from services.decisions import policies as decisions_policies
from services.decisions.application import Decisions
from services.projections.certificates import CertificateView
from services.projections.trail import TrailView
from services.registry import policies as registry_policies
from services.registry.application import Registry
from services.settings import Settings
from shared.application import PolicyTarget, ServiceApplication
from shared.bus import Consumer, LocalFeed, Pump
from shared.clock import Clock
from shared.errors import KnowledgeStale
from shared.views import PostgresViews, SQLiteViews, ViewDatabase

log = logging.getLogger(__name__)


@dataclass
class Hallmark:
    settings: Settings
    clock: Clock
    applications: Applications
    audits: Audits
    decisions: Decisions
    registry: Registry
    views: ViewDatabase
    certificates: CertificateView
    trail: TrailView
    feeds: dict[str, LocalFeed] = field(default_factory=dict)
    consumers: list[Consumer] = field(default_factory=list)
    pump: Pump | None = None

    @property
    def services(self) -> list[ServiceApplication]:
        return [self.applications, self.audits, self.decisions, self.registry]

    def sweep(self) -> list[str]:
        return self.registry.sweep(self.certificates.numbers(("active", "suspended")))

    def verify_trail(self) -> dict:
        return self.trail.verify(self.feeds.values())

    def settle(self) -> int:
        """Apply every pending message now (tests, rebuild, demo)."""
        assert self.pump is not None
        return self.pump.run_until_idle()

    def close(self) -> None:
        if self.pump is not None:
            self.pump.stop()
        for app in self.services:
            app.close()
        self.views.close()


def _ensure_postgres_schemas(settings: Settings, names: list[str]) -> None:
    import psycopg

    try:
        with psycopg.connect(settings.pg_conninfo, autocommit=True, connect_timeout=5) as conn:
            for name in names:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{settings.pg_schema_prefix}{name}"')
    except psycopg.OperationalError as error:
        raise RuntimeError(
            f"Cannot reach PostgreSQL at {settings.pg_host}:{settings.pg_port} as {settings.pg_user}: {error}. "
            "Start it with 'deploy/postgres.sh start' or use the embedded default (HALLMARK_STORE=sqlite)"
        ) from None


def _parked(pump: Pump, app: ServiceApplication) -> list[str]:
    return [f"{c.name} parked {c.health.parked} message(s)" for c in pump.consumers
            if getattr(c.target, "app", None) is app and c.health.parked]


def _fail_closed(failed: list[str]) -> None:
    if failed:
        raise KnowledgeStale(
            f"Cannot bring this service's knowledge up to date ({', '.join(failed)} failing); "
            "nothing was recorded. Retry later; operators see the cause in /readyz"
        )


def bootstrap(settings: Settings | None = None, clock: Clock | None = None) -> Hallmark:
    settings = settings or Settings()
    clock = clock or Clock(settings.timezone)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.store == "postgres":
        _ensure_postgres_schemas(settings, ["applications", "audits", "decisions", "registry", "projections"])
        views: ViewDatabase = PostgresViews(settings.pg_conninfo, settings.pg_schema_prefix + "projections")
    else:
        views = SQLiteViews(str(settings.data_dir / "projections.db"))

    applications = Applications(env=settings.store_env("applications"), clock=clock)
    audits = Audits(env=settings.store_env("audits"), clock=clock)
    decisions = Decisions(env=settings.store_env("decisions"), clock=clock)
    registry = Registry(env=settings.store_env("registry"), clock=clock)
    feeds = {app.name: LocalFeed(app) for app in (applications, audits, decisions, registry)}

    certificates = CertificateView(views)
    trail = TrailView(views)
    consumers = [
        Consumer("applications<-registry", [feeds["registry"]],
                 PolicyTarget(applications, applications_policies.on_registry(applications))),
        Consumer("applications<-decisions", [feeds["decisions"]],
                 PolicyTarget(applications, applications_policies.on_decisions(applications))),
        Consumer("audits<-applications", [feeds["applications"]],
                 PolicyTarget(audits, audits_policies.on_applications(audits))),
        Consumer("audits<-registry", [feeds["registry"]], PolicyTarget(audits, audits_policies.on_registry(audits))),
        Consumer("decisions<-applications", [feeds["applications"]],
                 PolicyTarget(decisions, decisions_policies.on_applications(decisions))),
        Consumer("decisions<-audits", [feeds["audits"]], PolicyTarget(decisions, decisions_policies.on_audits(decisions))),
        Consumer("decisions<-registry", [feeds["registry"]],
                 PolicyTarget(decisions, decisions_policies.on_registry(decisions))),
        Consumer("registry<-decisions", [feeds["decisions"]],
                 PolicyTarget(registry, registry_policies.on_decision(registry))),
        Consumer("certificates<-registry", [feeds["registry"]], certificates),
        Consumer("trail<-all", list(feeds.values()), trail, merge_by_time=True),
    ]
    pump = Pump(consumers)
    hallmark = Hallmark(
        settings=settings, clock=clock, applications=applications, audits=audits, decisions=decisions,
        registry=registry, views=views, certificates=certificates, trail=trail, feeds=feeds,
        consumers=consumers, pump=pump,
    )
    for app in hallmark.services:
        app.on_recorded(pump.wake)
        app.synchronise = lambda app=app: _fail_closed(pump.catch_up(app) + _parked(pump, app))
        app.upstream_current = lambda source, app=app: pump.caught_up(app, source)
    pump.every(settings.sweep_seconds, hallmark.sweep)
    return hallmark
