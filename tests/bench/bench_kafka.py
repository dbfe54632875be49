"""Benchmark of the Kafka transport, measured side by side in one run and reported as ratios:

1. **Relay events/s.** Hallmark's ``Relay`` publishing N stored events of the registry (on SQLite)
   against a bare aiokafka idempotent producer (``acks=all``) sending the very same records (key,
   value, CloudEvents headers) to the same broker: the baseline, with aiokafka's default settings;
   beside it the bare producer with the relay's own settings (``linger_ms=2``, 1 MiB batches) and
   Kafka's own ``org.apache.kafka.tools.ProducerPerformance`` (Java, records of the same size), for scale.
2. **Commands/s and decision-to-public-lookup freshness through the application layer**, one process,
   PostgreSQL: the embedded default (baseline) against ``HALLMARK_TRANSPORT=kafka`` with
   ``bootstrap(component="all")``, relays and pump running in the background (``hallmark.start()``).
3. **The same through HTTP**: ``hallmark run`` embedded (baseline) against distributed mode, five
   ``hallmark run --component X`` processes, each with its own PostgreSQL database, joined by Kafka only.

Freshness is the time from a suspension decision's answer (201) to the public lookup showing
``suspended``. Commands/s counts the time spent in the nine commands of each file (application to
suspension, retries on 409 ``not-yet-known`` included), not the waits for the certificate and the
lookup.

    .venv/bin/python -m tests.bench.bench_kafka --events 20000 --files 30

It starts its own broker (``deploy/kafka/kafka.sh start`` in a temporary folder on a free port)
unless ``KAFKA_BOOTSTRAP_SERVERS`` is set, and needs the machine's PostgreSQL (``make postgres``).
The machines are shared and noisy: only ratios measured in one sitting mean much.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

from services.settings import Settings
from shared.http.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = ROOT / "deploy" / "kafka" / "kafka.sh"
COMPONENTS = ("applications", "audits", "decisions", "registry", "projections")
COMMANDS_PER_FILE = 9  # submit, review, plan, team, finding, close, report, grant, suspend


def say(text: str) -> None:
    print(f"[bench-kafka {time.strftime('%H:%M:%S')}] {text}", flush=True)


# -- the broker -----------------------------------------------------------------------------------


def _free_port(pair: bool = False) -> int:
    for _ in range(50):
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if not pair:
                return port
            try:
                b.bind(("127.0.0.1", port + 1))  # the broker's controller listens on port + 1
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@contextmanager
def broker() -> Iterator[str]:
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        say(f"using the broker at {given} (KAFKA_BOOTSTRAP_SERVERS)")
        yield given
        return
    folder = tempfile.mkdtemp(prefix="hallmark-bench-kafka-")
    port = _free_port(pair=True)
    say(f"starting a Kafka broker on 127.0.0.1:{port} in {folder}")
    started = subprocess.run([str(KAFKA_SCRIPT), "start", folder, str(port)], capture_output=True, text=True,
                             timeout=600)
    if started.returncode != 0:
        raise RuntimeError(f"could not start the Kafka broker: {started.stderr[-2000:]}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop", folder], capture_output=True, timeout=90)
        shutil.rmtree(folder, ignore_errors=True)


def kafka_libs() -> Path:
    version = re.search(r"<kafka.version>(.*)</kafka.version>", (KAFKA_SCRIPT.parent / "pom.xml").read_text())
    assert version is not None
    cache = Path(os.environ.get("HALLMARK_KAFKA_CACHE") or ROOT / ".cache" / "kafka")
    libs = cache / f"libs-{version.group(1)}"
    if not (libs / ".complete").exists():
        subprocess.run([str(KAFKA_SCRIPT), "fetch"], check=True, timeout=900)
    return libs


# -- 1. relay events/s ----------------------------------------------------------------------------


def _registry_with_events(events: int, folder: Path) -> Any:
    """A registry on SQLite holding ``events`` published events (one Scheme.Registered each), saved
    in batches: the fastest way to a store with a long notification log."""
    from services.registry.application import Registry
    from services.registry.domain import Scheme
    from shared.clock import Clock
    from tests.support import scheme_body

    settings = Settings(data_dir=folder, store="sqlite")
    folder.mkdir(parents=True, exist_ok=True)
    registry = Registry(env=settings.store_env("registry"), clock=Clock())
    for start in range(0, events, 1000):
        registry.save(*[Scheme(**scheme_body(code=f"BENCH-{i:07d}"), actor="Bench Runner", reason="benchmark")
                        for i in range(start, min(events, start + 1000))])
    return registry


async def _bare_producer(bootstrap: str, topic: str, records: list, **settings: Any) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", **settings)
    await producer.start()
    try:
        started = time.perf_counter()
        pending = [await producer.send(topic, value=value, key=key, headers=headers)
                   for key, value, headers in records]
        await asyncio.gather(*pending)  # every record acknowledged (acks=all)
        return len(records) / (time.perf_counter() - started)
    finally:
        await producer.stop()


def _java_producer(bootstrap: str, topic: str, events: int, size: int) -> float:
    libs = kafka_libs()
    command = ["java", "-Xmx512m", "-cp", f"{libs}/*", "org.apache.kafka.tools.ProducerPerformance",
               "--topic", topic, "--num-records", str(events), "--record-size", str(size), "--throughput", "-1",
               "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all", "enable.idempotence=true"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    found = re.findall(r"(\d+) records sent, ([\d.]+) records/sec", done.stdout)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"ProducerPerformance failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    return float(found[-1][1])


def relay_round(bootstrap: str, events: int, folder: Path) -> tuple[dict[str, float], dict[str, int]]:
    from shared.kafka import KafkaIO, Relay, ensure_topics, to_record, topic_for

    registry = _registry_with_events(events, folder)
    notifications = registry.recorder.select_notifications(start=None, limit=events + 10)
    records = [to_record(m) for m in (registry.message(n) for n in notifications) if m is not None]
    assert len(records) == events, (len(records), events)
    key, value, headers = records[0]
    sizes = {"key": len(key), "value": len(value), "headers": sum(len(k) + len(v) for k, v in headers)}
    sizes["total"] = sum(sizes.values())
    prefixes = {name: f"bench{uuid.uuid4().hex[:8]}." for name in ("default", "tuned", "relay", "java")}
    io = KafkaIO()
    rates: dict[str, float] = {}
    try:
        for prefix in prefixes.values():
            io.run(ensure_topics(bootstrap, ["registry"], 1, prefix=prefix), timeout=60)
        rates["bare_default"] = io.run(
            _bare_producer(bootstrap, topic_for("registry", prefixes["default"]), records), timeout=900)
        rates["bare_tuned"] = io.run(_bare_producer(
            bootstrap, topic_for("registry", prefixes["tuned"]), records, linger_ms=2, max_batch_size=1 << 20),
            timeout=900)
        relay = Relay(registry, bootstrap, io, prefix=prefixes["relay"])
        last = notifications[-1].id
        started = time.perf_counter()
        relay.start()  # the relay as it runs in a service: its background task on the Kafka loop
        published = relay.wait_published(last, timeout=900)
        rates["relay"] = events / (time.perf_counter() - started)
        relay.stop()
        if not published or relay.lag() or relay.health.published != events:
            raise RuntimeError(f"the relay did not publish everything: lag {relay.lag()}, "
                               f"published {relay.health.published}, error {relay.health.last_error}")
        rates["java"] = _java_producer(bootstrap, topic_for("registry", prefixes["java"]), events, sizes["total"])
    finally:
        io.close()
        registry.close()
        shutil.rmtree(folder, ignore_errors=True)
    return rates, sizes


# -- 2 and 3. one certification file, through the application layer or HTTP ----------------------


class Retry(Exception):
    """409 not-yet-known: the service has not yet received a fact; try again shortly."""


def _until(command: Callable[[], Any], limit: float = 30.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        try:
            return command()
        except Retry:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _wait(probe: Callable[[], Any], what: str, limit: float = 60.0, interval: float = 0.001) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {limit:.0f} s")
        time.sleep(interval)


class AppDriver:
    """The nine commands through the application objects of one process (no HTTP)."""

    def __init__(self, hallmark: Any) -> None:
        self.h = hallmark
        self.today = hallmark.clock.today()

    def _call(self, command: Callable[[], Any]) -> dict:
        from shared.errors import NotYetKnown

        try:
            return command().body
        except NotYetKnown:
            raise Retry() from None

    def scheme(self) -> str:
        from tests.support import scheme_body

        return self._call(lambda: self.h.registry.register_scheme(scheme_body(), "Ada Admin"))["code"]

    def submit(self, code: str) -> str:
        from tests.support import application_body

        return self._call(lambda: self.h.applications.submit(application_body(code), "Bea Applicant"))["id"]

    def review(self, app_id: str) -> None:
        self._call(lambda: self.h.applications.review(app_id, "accepted", "complete", "Olivia Officer"))

    def plan(self, app_id: str) -> str:
        return self._call(lambda: self.h.audits.plan(
            {"application_id": app_id, "kind": "initial", "planned_start": self.today}, "Luc Lead"))["id"]

    def team(self, audit: str) -> None:
        self._call(lambda: self.h.audits.assign(audit, "Luc Lead", "lead_auditor",
                                                {"independent": True, "interests": []}, "Olivia Officer"))

    def finding(self, audit: str) -> str:
        return self._call(lambda: self.h.audits.record_finding(
            audit, {"severity": "minor", "requirement": "PTV 21-601 §5.2", "description": "Curing log incomplete",
                    "corrective_action_due": None}, "Luc Lead"))["finding_id"]

    def close(self, audit: str, finding: str) -> None:
        self._call(lambda: self.h.audits.close_finding(audit, finding, "Corrected curing log", "Luc Lead"))

    def report(self, audit: str) -> None:
        self._call(lambda: self.h.audits.report(
            audit, {"conclusion": "conforming", "recommendation": "grant", "summary": "FPC in place"}, "Luc Lead"))

    def grant(self, app_id: str, audit: str) -> None:
        self._call(lambda: self.h.decisions.decide(
            {"subject": {"application_id": app_id}, "outcome": "grant", "basis": [audit], "rationale": "file reviewed",
             "effective_from": self.today}, "Dirk Decider"))

    def certificate(self, app_id: str) -> str | None:
        found = self.h.certificates.search(application_id=app_id)
        return found[0]["number"] if found else None

    def suspend(self, number: str) -> None:
        self._call(lambda: self.h.decisions.decide(
            {"subject": {"certificate_number": number}, "outcome": "suspend", "basis": [],
             "rationale": "site closed", "effective_from": self.today}, "Dirk Decider"))

    def public_status(self, number: str) -> str | None:
        found = self.h.certificates.get(number)
        return found["status"] if found else None


class HttpDriver:
    """The same commands through HTTP, each path to the port of the component that serves it."""

    ROUTES = (("/v1/applications", "applications"), ("/v1/audits", "audits"), ("/v1/decisions", "decisions"),
              ("/v1/schemes", "registry"), ("/v1/certificates", "registry"), ("/public/", "registry"))

    def __init__(self, urls: dict[str, str], secret: bytes) -> None:
        self.clients = {name: httpx.Client(base_url=url, timeout=60) for name, url in urls.items()}
        self.secret = secret
        self._tokens: dict[tuple[str, str], str] = {}
        self.today = _today()

    def _client(self, path: str) -> httpx.Client:
        for prefix, component in self.ROUTES:
            if path.startswith(prefix):
                return self.clients.get(component) or self.clients["all"]
        raise ValueError(path)

    def _headers(self, person: str, role: str) -> dict[str, str]:
        if (person, role) not in self._tokens:
            self._tokens[(person, role)] = issue_token(self.secret, person, [role], ttl_seconds=4 * 3600)
        return {"Authorization": f"Bearer {self._tokens[(person, role)]}"}

    def _post(self, path: str, body: dict, person: str, role: str) -> dict:
        response = self._client(path).post(path, json=body, headers=self._headers(person, role))
        if response.status_code == 409 and "not-yet-known" in response.text:
            raise Retry()
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def close_all(self) -> None:
        for client in self.clients.values():
            client.close()

    def scheme(self) -> str:
        from tests.support import scheme_body

        return self._post("/v1/schemes", scheme_body(), "Ada Admin", "admin")["code"]

    def submit(self, code: str) -> str:
        from tests.support import application_body

        return self._post("/v1/applications", application_body(code), "Bea Applicant", "applicant")["id"]

    def review(self, app_id: str) -> None:
        self._post(f"/v1/applications/{app_id}/review", {"outcome": "accepted", "reason": "complete"},
                   "Olivia Officer", "applications_officer")

    def plan(self, app_id: str) -> str:
        return self._post("/v1/audits", {"application_id": app_id, "kind": "initial",
                                         "planned_start": self.today}, "Luc Lead", "auditor")["id"]

    def team(self, audit: str) -> None:
        self._post(f"/v1/audits/{audit}/team", {"person": "Luc Lead", "role": "lead_auditor",
                                                "declaration": {"independent": True, "interests": []}},
                   "Olivia Officer", "applications_officer")

    def finding(self, audit: str) -> str:
        return self._post(f"/v1/audits/{audit}/findings", {
            "severity": "minor", "requirement": "PTV 21-601 §5.2", "description": "Curing log incomplete"},
            "Luc Lead", "auditor")["finding_id"]

    def close(self, audit: str, finding: str) -> None:
        self._post(f"/v1/audits/{audit}/findings/{finding}/close", {"evidence": "Corrected curing log"},
                   "Luc Lead", "auditor")

    def report(self, audit: str) -> None:
        self._post(f"/v1/audits/{audit}/report", {"conclusion": "conforming", "recommendation": "grant",
                                                  "summary": "FPC in place"}, "Luc Lead", "auditor")

    def grant(self, app_id: str, audit: str) -> None:
        self._post("/v1/decisions", {"subject": {"application_id": app_id}, "outcome": "grant", "basis": [audit],
                                     "rationale": "file reviewed", "effective_from": self.today},
                   "Dirk Decider", "decision_maker")

    def certificate(self, app_id: str) -> str | None:
        response = self._client("/v1/certificates").get(
            "/v1/certificates", params={"application_id": app_id}, headers=self._headers("Ada Admin", "admin"))
        items = response.json().get("items") if response.status_code == 200 else None
        return items[0]["number"] if items else None

    def suspend(self, number: str) -> None:
        self._post("/v1/decisions", {"subject": {"certificate_number": number}, "outcome": "suspend", "basis": [],
                                     "rationale": "site closed", "effective_from": self.today},
                   "Dirk Decider", "decision_maker")

    def public_status(self, number: str) -> str | None:
        response = self._client("/public/").get(f"/public/v1/certificates/{number}")
        return response.json().get("status") if response.status_code == 200 else None


def _today() -> str:
    from shared.clock import Clock

    return Clock(Settings().timezone).today().isoformat()


@dataclass
class Run:
    command_seconds: float = 0.0
    commands: int = 0
    freshness: list[float] = field(default_factory=list)

    def timed(self, command: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        value = _until(lambda: command(*args))
        self.command_seconds += time.perf_counter() - started
        self.commands += 1
        return value

    def summary(self) -> dict[str, float]:
        delays = sorted(self.freshness)
        return {"commands_per_s": self.commands / self.command_seconds,
                "p50_ms": statistics.median(delays) * 1000,
                "p99_ms": delays[max(0, math.ceil(0.99 * len(delays)) - 1)] * 1000}


def one_file(driver: Any, code: str, run: Run) -> None:
    """One certification file from application to suspension; the suspension's freshness into ``run``."""
    app_id = run.timed(driver.submit, code)
    run.timed(driver.review, app_id)
    audit = run.timed(driver.plan, app_id)
    run.timed(driver.team, audit)
    finding = run.timed(driver.finding, audit)
    run.timed(driver.close, audit, finding)
    run.timed(driver.report, audit)
    run.timed(driver.grant, app_id, audit)
    number = _wait(lambda: driver.certificate(app_id), "the certificate")
    run.timed(driver.suspend, number)
    answered = time.perf_counter()
    _wait(lambda: driver.public_status(number) == "suspended", "the suspension in the public lookup")
    run.freshness.append(time.perf_counter() - answered)


def drive(driver: Any, files: int, label: str) -> dict[str, float]:
    """``files`` certification files from application to suspension; the scheme first (not counted)."""
    code = _until(driver.scheme)
    run = Run()
    for i in range(files):
        one_file(driver, code, run)
        if (i + 1) % 10 == 0 or i + 1 == files:
            say(f"  {label}: {i + 1}/{files} files")
    return run.summary()


# -- 2. one process, application layer ------------------------------------------------------------


def in_process(transport: str, files: int, bootstrap: str) -> dict[str, float]:
    from services.bootstrap import bootstrap as build
    from tests.conftest import drop_schemas

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="hallmark-bench-")), store="postgres")
    settings.pg_schema_prefix = f"bench{uuid.uuid4().hex[:8]}_"
    settings.transport = transport
    settings.kafka_bootstrap = bootstrap
    settings.kafka_prefix = f"bench{uuid.uuid4().hex[:8]}."
    hallmark = build(settings, component="all")
    hallmark.start()  # relays (Kafka) and the pump in the background, as a server runs them
    try:
        return drive(AppDriver(hallmark), files, f"application layer, {transport}")
    finally:
        hallmark.close()
        drop_schemas(settings)
        shutil.rmtree(settings.data_dir, ignore_errors=True)


# -- 3. server processes, HTTP --------------------------------------------------------------------


class Servers:
    """``hallmark run`` processes started and stopped by the benchmark, logs in a temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, env: dict[str, str], args: list[str]) -> None:
        log = (self.folder / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", "--host", "127.0.0.1", *args], cwd=ROOT,
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_live(self, urls: dict[str, str], limit: float = 180.0) -> None:
        deadline = time.monotonic() + limit
        for name, url in urls.items():
            while True:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited ({self.processes[name].returncode}): {self.log(name)}")
                try:
                    if httpx.get(f"{url}/livez", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer /livez in {limit:.0f} s: {self.log(name)}")
                time.sleep(0.2)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()[-2000:]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()


def _base_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HALLMARK_", "KAFKA_"))}
    env.update({"HALLMARK_STORE": "postgres", "HALLMARK_DATA": str(data), "HALLMARK_ACCESS_LOG": "off",
                "HALLMARK_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
    for name in ("HALLMARK_PG_HOST", "HALLMARK_PG_PORT", "HALLMARK_PG_USER", "HALLMARK_PG_PASSWORD"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def http_embedded(files: int) -> dict[str, float]:
    from tests.conftest import drop_schemas

    folder = Path(tempfile.mkdtemp(prefix="hallmark-bench-http-"))
    settings = Settings(data_dir=folder / "data", store="postgres")
    settings.pg_schema_prefix = f"bench{uuid.uuid4().hex[:8]}_"
    secret = settings.local_secret(create=True)
    port = _free_port()
    env = {**_base_env(settings.data_dir), "HALLMARK_PG_SCHEMA_PREFIX": settings.pg_schema_prefix,
           "HALLMARK_TRANSPORT": "embedded"}
    servers = Servers(folder)
    driver = None
    try:
        servers.start("all", env, ["--port", str(port)])
        servers.wait_live({"all": f"http://127.0.0.1:{port}"})
        driver = HttpDriver({"all": f"http://127.0.0.1:{port}"}, secret)
        return drive(driver, files, "HTTP, embedded")
    finally:
        if driver is not None:
            driver.close_all()
        servers.stop()
        drop_schemas(settings)
        shutil.rmtree(folder, ignore_errors=True)


def _databases(settings: Settings, names: list[str], create: bool) -> None:
    import psycopg

    with psycopg.connect(settings.pg_conninfo, autocommit=True, connect_timeout=5) as conn:
        for name in names:
            if create:
                conn.execute(f'CREATE DATABASE "{name}"')
            else:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def http_distributed(files: int, bootstrap: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="hallmark-bench-distributed-"))
    settings = Settings(data_dir=folder / "data", store="postgres")
    secret = settings.local_secret(create=True)  # one signing key for the five processes, made before them
    run_id = uuid.uuid4().hex[:8]
    databases = {name: f"hallmark_bench{run_id}_{name}" for name in COMPONENTS}
    _databases(settings, list(databases.values()), create=True)
    urls = {}
    servers = Servers(folder)
    driver = None
    try:
        for name in COMPONENTS:
            port = _free_port()
            urls[name] = f"http://127.0.0.1:{port}"
            env = {**_base_env(settings.data_dir), "HALLMARK_TRANSPORT": "kafka", "HALLMARK_COMPONENT": name,
                   "HALLMARK_PG_DBNAME": databases[name], "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                   "HALLMARK_KAFKA_TOPIC_PREFIX": f"bench{run_id}."}
            servers.start(name, env, ["--component", name, "--port", str(port)])
        servers.wait_live(urls)
        say("  five processes answer /livez: " + ", ".join(f"{n} {u.rsplit(':', 1)[1]}" for n, u in urls.items()))
        driver = HttpDriver(urls, secret)
        return drive(driver, files, "HTTP, distributed")
    finally:
        if driver is not None:
            driver.close_all()
        servers.stop()
        _databases(settings, list(databases.values()), create=False)
        shutil.rmtree(folder, ignore_errors=True)


# -- the whole run --------------------------------------------------------------------------------


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events the relay publishes (default 20000)")
    parser.add_argument("--rounds", type=int, default=3, help="relay rounds; the median is reported (default 3)")
    parser.add_argument("--files", type=int, default=30, help="certification files per mode (default 30)")
    parser.add_argument("--skip", action="append", default=[], choices=["relay", "app", "http"],
                        help="leave a part out (repeatable)")
    args = parser.parse_args()

    relay: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    modes: dict[str, dict[str, float]] = {}
    with broker() as bootstrap:
        if "relay" not in args.skip:
            warm = min(args.events, 5000)
            say(f"relay warm-up: {warm} events each way, not counted (a fresh broker is slow at first)")
            relay_round(bootstrap, warm, Path(tempfile.mkdtemp(prefix="hallmark-bench-relay-")))
            for round_ in range(args.rounds):
                say(f"relay round {round_ + 1}/{args.rounds}: {args.events} events, bare aiokafka, Relay, Java tool")
                rates, sizes = relay_round(bootstrap, args.events, Path(tempfile.mkdtemp(prefix="hallmark-bench-relay-")))
                for name, rate in rates.items():
                    relay.setdefault(name, []).append(rate)
                say("  " + ", ".join(f"{name} {rate:,.0f}/s" for name, rate in rates.items()))
        if "app" not in args.skip:
            for transport in ("embedded", "kafka"):
                say(f"application layer, one process, PostgreSQL, {transport}: {args.files} files")
                modes[f"app-{transport}"] = in_process(transport, args.files, bootstrap)
        if "http" not in args.skip:
            say(f"HTTP, hallmark run embedded, PostgreSQL: {args.files} files")
            modes["http-embedded"] = http_embedded(args.files)
            say(f"HTTP, distributed mode (five processes, five databases, Kafka): {args.files} files")
            modes["http-distributed"] = http_distributed(args.files, bootstrap)

    print()
    if relay:
        median = {name: statistics.median(rates) for name, rates in relay.items()}
        base = median["bare_default"]
        print(f"Relay: {args.events} events per round, median of {args.rounds} rounds; each record {sizes['total']} "
              f"bytes (key {sizes['key']}, value {sizes['value']}, CloudEvents headers {sizes['headers']}), "
              "idempotent, acks=all")
        print(f"{'publisher':<52} {'events/s':>10} {'ratio':>7}")
        for name, label in (("bare_default", "bare aiokafka producer, defaults (baseline)"),
                            ("bare_tuned", "bare aiokafka producer, linger 2 ms, 1 MiB batches"),
                            ("relay", "Hallmark Relay (reads the store, records progress)"),
                            ("java", f"Kafka ProducerPerformance (Java, {sizes['total']}-byte values)")):
            print(f"{label:<52} {median[name]:>10,.0f} {_ratio(median[name], base):>7}")
        print()
    if modes:
        print(f"Commands and freshness: {args.files} files x {COMMANDS_PER_FILE} commands each, PostgreSQL 15; "
              "freshness = suspension answered -> public lookup says suspended (p99 of n<100 is the slowest)")
        print(f"{'mode':<44} {'commands/s':>10} {'ratio':>7} {'p50 ms':>8} {'p99 ms':>8} {'p50 ratio':>9}")
        for group, baseline in (("app", "app-embedded"), ("http", "http-embedded")):
            base = modes.get(baseline)
            for key, label in ((f"{group}-embedded", f"{group}: embedded (baseline)"),
                               (f"{group}-kafka", f"{group}: Kafka, one process"),
                               (f"{group}-distributed", f"{group}: Kafka, distributed (5 processes)")):
                if key not in modes:
                    continue
                r = modes[key]
                print(f"{label:<44} {r['commands_per_s']:>10.1f} "
                      f"{_ratio(r['commands_per_s'], base['commands_per_s']) if base else '-':>7} "
                      f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {_ratio(r['p50_ms'], base['p50_ms']) if base else '-':>9}")


if __name__ == "__main__":
    main()
