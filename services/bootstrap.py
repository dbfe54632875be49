"""The composition root: builds the four services, their seams and the projections."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from services.applications import policies as applications_policies
from services.applications.application import Applications
from services.audits import policies as audits_policies
from services.audits.application import Audits
from services.decisions import policies as decisions_policies
from services.decisions.application import Decisions
from services.projections.certificates import CertificateView
from services.projections.holder import HolderView
from services.projections.log import CheckpointJournal, LogLost, TransparencyLog
from services.projections.trail import TrailView
from services.registry import policies as registry_policies
from services.registry.application import Registry
from services.settings import ConfigurationError, Settings
from shared import consistency
from shared.application import PolicyTarget, ServiceApplication
from shared.bus import Consumer, Feed, LocalFeed, Pump
from shared.clock import Clock
from shared.errors import KnowledgeStale, NotYetKnown
from shared.people import PeopleVault
from shared.views import PostgresViews, SQLiteViews, ViewDatabase

log = logging.getLogger(__name__)


COMPONENTS = ("applications", "audits", "decisions", "registry", "projections")
APPLICATIONS = {"applications": Applications, "audits": Audits, "decisions": Decisions, "registry": Registry}
# Ports of the distributed mode (API.md); the embedded default serves everything on one port.
PORTS = {"applications": 8001, "audits": 8002, "decisions": 8003, "registry": 8004, "projections": 8005}


@dataclass
class Hallmark:
    """One process's share of Hallmark: every component (the embedded default, or all of them over
    Kafka in one process), or one service with what it serves (distributed mode)."""

    settings: Settings
    clock: Clock
    component: str = "all"
    applications: Applications | None = None
    audits: Audits | None = None
    decisions: Decisions | None = None
    registry: Registry | None = None
    views: ViewDatabase | None = None
    certificates: CertificateView | None = None
    trail: TrailView | None = None
    holder: HolderView | None = None  # the holder's dossier, with the trail (projections)
    feeds: dict[str, Feed] = field(default_factory=dict)  # every service's feed, for verify (projections)
    consumers: list[Consumer] = field(default_factory=list)
    pump: Pump | None = None
    relays: list[Any] = field(default_factory=list)  # shared.kafka.Relay, one per service app (Kafka)
    kafka_io: Any = None
    web_only: bool = False  # HALLMARK_ROLE=web: no relay, no consumers running here
    vault: PeopleVault | None = None  # the persons' keys: names are stored sealed (ADR 0011)
    partners: Any = None  # services.partners.store.PartnerStore, with the certificate view (ADR 0014)
    webhooks: Any = None  # services.partners.webhooks.Dispatcher: not in a web process
    change_publisher: Any = None  # services.partners.topic.ChangePublisher: over Kafka
    closed: bool = False

    @property
    def services(self) -> list[ServiceApplication]:
        return [app for app in (self.applications, self.audits, self.decisions, self.registry) if app is not None]

    def runs(self, component: str) -> bool:
        return self.component in ("all", component)

    def sweep(self, actor: str = "hallmark:registry") -> list[str]:
        if self.registry is None or self.certificates is None:
            return []
        # Only the certificates with a date come (the view's due_on), not every active one: at a register's
        # scale the hourly sweep of all of them took minutes of the worker (ADR 0022). The view first applies
        # what the registry has published (a TRA/PTV version just published moves its certificates' dates).
        if self.pump is not None and not self.web_only:
            failed, behind = self.pump.catch_up(self.certificates)
            if failed or behind:
                log.warning("the sweep reads the certificate view while %s is behind the registry; what it "
                            "has not applied yet is swept next time", ", ".join(failed + behind))
        return self.registry.sweep(self.certificates.due(self.registry.clock.today()), actor=actor)

    def verify_trail(self) -> dict:
        """The log recomputed from the live event stores themselves (not from Kafka): in distributed
        mode the stores of services running elsewhere are opened read-only for the check."""
        assert self.trail is not None
        opened = [APPLICATIONS[name](env=self.settings.store_env(name), clock=self.clock, vault=self.vault)
                  for name in APPLICATIONS if getattr(self, name) is None]
        try:
            apps = {app.name: app for app in [*self.services, *opened]}
            return self.trail.verify([LocalFeed(apps[name]) for name in APPLICATIONS])
        finally:
            for app in opened:
                app.close()

    def checkpoint(self) -> None:
        if self.trail is not None and not self.web_only:
            self.trail.log.checkpoint()

    def settle(self) -> int:
        """Apply every pending message now (tests, rebuild, demo)."""
        assert self.pump is not None
        total = 0
        for _ in range(50):  # an effect may be an event that itself has to be relayed and applied
            for relay in self.relays:
                relay.drain()
            applied = self.pump.run_until_idle()
            total += applied
            if not applied and not any(relay.lag() for relay in self.relays) and \
                    not any(consumer.lag() for consumer in self.consumers):
                break
        self.checkpoint()
        if self.webhooks is not None:
            self.webhooks.send_due()
        if self.change_publisher is not None:
            self.change_publisher.publish()
        return total

    def start(self) -> None:
        if self.web_only:
            return
        for relay in self.relays:
            relay.start()
        if self.pump is not None:
            self.pump.start()
        if self.webhooks is not None:
            self.webhooks.start()

    def stop(self) -> None:
        if self.closed:
            return
        if self.webhooks is not None:
            self.webhooks.stop()
        if self.pump is not None:
            self.pump.stop()
        for relay in self.relays:
            relay.stop()

    def close(self) -> None:
        if self.closed:
            return
        self.stop()
        if self.webhooks is not None:
            self.webhooks.close()
        self.closed = True
        for consumer in self.consumers:
            for feed in consumer.feeds:
                if hasattr(feed, "close"):
                    feed.close()
        for feed in self.feeds.values():
            if hasattr(feed, "close"):
                feed.close()
        for app in self.services:
            app.close()
        if self.views is not None:
            self.views.close()
        if self.vault is not None:
            self.vault.close()
        if self.kafka_io is not None:
            self.kafka_io.close()


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


def _parked(pump: Pump, app: ServiceApplication, from_store: bool = False) -> list[str]:
    followers = [c for c in pump.consumers if getattr(c.target, "app", None) is app]
    if from_store:  # parked by the worker: read what it recorded since
        for consumer in followers:
            consumer.health.parked = len(consumer.parked())
    return [f"{c.name} parked {c.health.parked} message(s)" for c in followers if c.health.parked]


def _fail_closed(failed: list[str], behind: list[str], parked: list[str]) -> None:
    if failed or parked:
        raise KnowledgeStale(
            f"Cannot bring this service's knowledge up to date ({', '.join(failed + parked)} failing); "
            "nothing was recorded. Retry later; operators see the cause in /readyz"
        )
    if behind:
        raise NotYetKnown(
            f"This service has not yet received everything the others published before this command "
            f"({', '.join(behind)} behind); nothing was recorded. Retry shortly")


def open_views(settings: Settings) -> ViewDatabase:
    """The projections' database: certificate view, trail view and the transparency log."""
    if settings.store == "postgres":
        return PostgresViews(settings.pg_conninfo, settings.pg_schema_prefix + "projections")
    return SQLiteViews(str(settings.data_dir / "projections.db"))


def open_vault(settings: Settings) -> PeopleVault:
    """The persons' keys, shared by this instance's services (ADR 0011)."""
    if settings.store == "postgres":
        return PeopleVault(PostgresViews(settings.conninfo(settings.people_dbname or settings.pg_dbname),
                                         settings.pg_schema_prefix + "people", pool_size=2))
    return PeopleVault(SQLiteViews(str(settings.data_dir / "people.db")))


def open_log(settings: Settings, views: ViewDatabase, kafka_io: Any = None) -> TransparencyLog:
    topic = None
    if settings.transport == "kafka":
        from shared.kafka import CheckpointTopic, KafkaIO

        topic = CheckpointTopic(settings.kafka_bootstrap, kafka_io or KafkaIO(), settings.kafka_prefix)
    return TransparencyLog(views, settings.trail_signing_key(), settings.instance,
                           CheckpointJournal(settings.checkpoint_journal), topic)


def bootstrap(settings: Settings | None = None, clock: Clock | None = None, component: str | None = None) -> Hallmark:
    """Build one process's share of Hallmark. ``component``: ``all`` (default) or one of COMPONENTS.
    With ``HALLMARK_TRANSPORT=kafka`` services publish through relays and consume from Kafka topics;
    otherwise (the embedded default) consumers read the upstream notification logs in-process."""
    settings = settings or Settings()
    clock = clock or Clock(settings.timezone)
    component = component or settings.component
    if component != "all" and component not in COMPONENTS:
        raise ConfigurationError(f"HALLMARK_COMPONENT={component!r}: use 'all' or one of {', '.join(COMPONENTS)}")
    kafka = settings.transport == "kafka"
    if settings.role != "all" and not kafka:
        raise ConfigurationError(f"HALLMARK_ROLE={settings.role} needs HALLMARK_TRANSPORT=kafka")
    web = settings.role == "web"
    if component != "all" and not kafka:
        raise ConfigurationError(
            f"{component} alone needs HALLMARK_TRANSPORT=kafka (its only link to the other services); "
            "the embedded default runs every component in one process")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    hallmark = Hallmark(settings=settings, clock=clock, component=component)
    run = set(COMPONENTS) if component == "all" else {component}
    # The registry serves certificates and the public directory from the certificate view; projections
    # serve the audit trail.
    wanted_views = ({"certificates"} if "registry" in run else set()) | ({"trail"} if "projections" in run else set())
    if settings.store == "postgres":
        names = [n for n in APPLICATIONS if n in run] + (["projections"] if wanted_views else [])
        _ensure_postgres_schemas(settings, names)
    hallmark.vault = open_vault(settings)

    for name, cls in APPLICATIONS.items():
        if name in run:
            setattr(hallmark, name, cls(env=settings.store_env(name), clock=clock, vault=hallmark.vault))

    io = None
    if kafka:
        from shared.kafka import KafkaFeed, KafkaIO, Relay, ensure_topics

        io = hallmark.kafka_io = KafkaIO()
        try:
            io.run(ensure_topics(settings.kafka_bootstrap, APPLICATIONS, settings.kafka_partitions,
                                 prefix=settings.kafka_prefix), timeout=30)
        except Exception as error:
            io.close()
            raise ConfigurationError(
                f"Cannot reach Kafka at {settings.kafka_bootstrap} ({type(error).__name__}: {error}); "
                "start it with 'make kafka' or set KAFKA_BOOTSTRAP_SERVERS") from None
        hallmark.relays = [Relay(app, settings.kafka_bootstrap, io, prefix=settings.kafka_prefix,
                                 traceparents=app.traceparent_of) for app in hallmark.services]

    def feed(source: str) -> Feed:
        if kafka:
            return KafkaFeed(source, settings.kafka_bootstrap, io, partitions=settings.kafka_partitions, vault=hallmark.vault,
                             prefix=settings.kafka_prefix)
        return local_feeds[source]

    local_feeds = {} if kafka else {app.name: LocalFeed(app) for app in hallmark.services}
    if wanted_views:
        hallmark.views = open_views(settings)
        if "certificates" in wanted_views:
            from services.partners.feed import change_recorder
            from services.partners.store import PartnerStore
            from services.partners.webhooks import Dispatcher

            hallmark.certificates = CertificateView(hallmark.views)
            if web:  # the worker applies the view: what this process caches may age, a second at most
                hallmark.certificates.cache_seconds = 1.0
            hallmark.partners = PartnerStore(hallmark.views)
            hallmark.certificates.on_change.append(change_recorder(hallmark.partners))
            if not web:
                hallmark.webhooks = Dispatcher(hallmark.partners)
        if "trail" in wanted_views:
            log = open_log(settings, hallmark.views, io)
            hallmark.trail = TrailView(hallmark.views, log, hallmark.vault)
            log.signs = not web
            if not web:
                try:
                    log.open()
                except LogLost as lost:
                    hallmark.close()
                    raise ConfigurationError(str(lost)) from None
            hallmark.feeds = {source: feed(source) for source in APPLICATIONS}  # verify reads these
            hallmark.holder = HolderView(hallmark.views, hallmark.vault)

    a, au, d, r = hallmark.applications, hallmark.audits, hallmark.decisions, hallmark.registry
    plan: list[tuple[str, Any, list[str], Callable[[], Any]]] = [
        ("applications<-registry", a, ["registry"], lambda: PolicyTarget(a, applications_policies.on_registry(a))),
        ("applications<-decisions", a, ["decisions"], lambda: PolicyTarget(a, applications_policies.on_decisions(a))),
        ("audits<-applications", au, ["applications"], lambda: PolicyTarget(au, audits_policies.on_applications(au))),
        ("audits<-registry", au, ["registry"], lambda: PolicyTarget(au, audits_policies.on_registry(au))),
        ("audits<-decisions", au, ["decisions"], lambda: PolicyTarget(au, audits_policies.on_decisions(au))),
        ("decisions<-applications", d, ["applications"],
         lambda: PolicyTarget(d, decisions_policies.on_applications(d))),
        ("decisions<-audits", d, ["audits"], lambda: PolicyTarget(d, decisions_policies.on_audits(d))),
        ("decisions<-registry", d, ["registry"], lambda: PolicyTarget(d, decisions_policies.on_registry(d))),
        ("registry<-decisions", r, ["decisions"], lambda: PolicyTarget(r, registry_policies.on_decision(r))),
        ("certificates<-registry", hallmark.certificates, ["registry"], lambda: hallmark.certificates),
        ("holder<-all", hallmark.holder, list(APPLICATIONS), lambda: hallmark.holder),
        ("trail<-all", hallmark.trail, list(APPLICATIONS), lambda: hallmark.trail),
    ]
    for name, owner, sources, target in plan:
        if owner is None:
            continue
        feeds = [feed(s) for s in sources]  # a feed of its own each: a Kafka feed holds a read position
        hallmark.consumers.append(Consumer(name, feeds, target(), merge_by_time=name in ("trail<-all", "holder<-all"),
                                           record_positions=kafka))

    # Over Kafka nothing wakes the pump when a record arrives: it polls its (buffered) feeds more often.
    pump = hallmark.pump = Pump(hallmark.consumers, idle_wait=0.05 if kafka else 0.25)
    for app in hallmark.services:
        app.on_recorded(pump.wake)
        app.synchronise = lambda app=app: _fail_closed(
            *pump.catch_up(app, wanted=consistency.wanted(), read_only=web), _parked(pump, app, from_store=web))
        app.upstream_current = lambda source, app=app: pump.caught_up(app, source)
    for relay in hallmark.relays:
        relay.app.on_recorded(relay.wake)
        relay.app.after_commit = relay.wait_recorded if web else relay.wait_published
    if web:  # the worker relays, consumes and sweeps; a web process serves and judges only
        hallmark.web_only = True
        return hallmark
    if hallmark.registry is not None and hallmark.certificates is not None:
        pump.every(settings.sweep_seconds, hallmark.sweep)
    if kafka and hallmark.partners is not None:  # the change feed on Kafka, for partners (ADR 0014)
        from services.partners.topic import ChangePublisher

        publisher = ChangePublisher(hallmark.partners, settings.kafka_bootstrap, io, settings.kafka_prefix)
        pump.every(1.0, publisher.publish)
        hallmark.change_publisher = publisher
    if hallmark.trail is not None:  # a checkpoint after each batch of appends, within a second or so
        pump.every(settings.checkpoint_seconds, hallmark.checkpoint)
    if kafka:
        pump.every(5.0, lambda: pump.watchdog(settings.watchdog_stall_seconds))
    return hallmark
