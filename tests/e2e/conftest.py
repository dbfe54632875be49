"""A real Hallmark server process per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from services.settings import Settings
from tests.integration.conftest import api, hallmark  # noqa: F401 - in-process Hallmark, as the API tests have


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    settings: Settings
    port: int
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "HALLMARK_DATA": str(s.data_dir),
            "HALLMARK_STORE": s.store,
            "HALLMARK_PG_SCHEMA_PREFIX": s.pg_schema_prefix,
            "PORT": str(self.port),
        }

    def start(self) -> "Server":
        self.log = self.settings.data_dir.parent / f"server-{time.monotonic_ns()}.log"
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run"], env=self.env(),
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"server did not become ready: {self.log.read_text()}")

    def kill(self) -> None:
        """Stop the process without any chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            return self.process.wait(15)
        return self.process.returncode if self.process else 0


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    server = Server(settings, _free_port()).start()
    yield server
    server.kill()
    for log in settings.data_dir.parent.glob("server-*.log"):
        errors = [line for line in log.read_text().splitlines() if '"level": "error"' in line]
        assert not errors, f"the server logged errors: {errors[:3]}"


# -- distributed mode: the five components as processes under the supervisor (hallmark up) ---------


def free_base_port() -> int:
    """A base port that is free with base+1..base+5 (the supervisor puts the components there), below the
    ephemeral ports so that no client connection takes one of them meanwhile."""
    import random

    for _ in range(200):
        base = random.randrange(20000, 32000)  # below the ephemeral ports (32768-)
        ports = [base + i for i in range(0, 6)]
        try:
            for port in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no five consecutive free ports")


class Distributed:
    """``hallmark up`` in a folder of its own: its own ports, PostgreSQL databases (a unique prefix, dropped
    at the end) and Kafka topics (a unique prefix) on a given broker."""

    COMPONENTS = ("applications", "audits", "decisions", "registry", "projections")
    RETRIED = (503,)  # knowledge-stale, or the process is restarting

    def __init__(self, folder: Path, kafka_bootstrap: str, kafka_prefix: str) -> None:
        import uuid

        self.folder = folder
        self.state_dir = folder / "up"
        self.data_dir = folder / "data"
        self.base_port = free_base_port()
        self.db_prefix = f"t{uuid.uuid4().hex[:10]}_"
        self.kafka_bootstrap = kafka_bootstrap
        self.kafka_prefix = kafka_prefix
        self._tokens: dict[tuple[str, tuple[str, ...]], str] = {}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HALLMARK_UP_", "PORT"))}
        return {**env, "HALLMARK_DATA": str(self.data_dir), "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                "HALLMARK_KAFKA_TOPIC_PREFIX": self.kafka_prefix, "HALLMARK_UP_DIR": str(self.state_dir)}

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "services.cli", *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def up(self) -> "Distributed":
        started = self.cli("up", "--base-port", str(self.base_port), "--db-prefix", self.db_prefix, "--no-postgres")
        if started.returncode != 0:
            raise RuntimeError(f"hallmark up failed:\n{started.stdout}\n{started.stderr}")
        return self

    def down(self) -> None:
        stopped = self.cli("down", timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        pids = [p["pid"] for p in self.state().get("processes", {}).values()]
        pids.append(self.state().get("supervisor", {}).get("pid"))
        from services.supervisor import alive

        assert not [pid for pid in pids if alive(pid)], f"still running after down: {pids}"

    def drop(self) -> None:
        from services.supervisor import drop_databases

        drop_databases(self.db_prefix)

    def state(self) -> dict:
        from services.supervisor import read_state

        return read_state(self.state_dir)

    def pid(self, component: str) -> int:
        return self.state()["processes"][component]["pid"]

    def url(self, component: str) -> str:
        from services.supervisor import port_of

        return f"http://127.0.0.1:{port_of(component, self.base_port)}"

    def database(self, component: str) -> str:
        return f"{self.db_prefix}{component}"

    def kill(self, component: str) -> int:
        """kill -9 one component's process; returns its pid."""
        pid = self.pid(component)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, component: str, old_pid: int, timeout: float = 90) -> float:
        """Seconds until the supervisor has started ``component`` again and it answers /livez."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            pid = self.state().get("processes", {}).get(component, {}).get("pid")
            if pid and pid != old_pid:
                try:
                    if httpx.get(f"{self.url(component)}/livez", timeout=1).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"{component} was not restarted within {timeout} s")

    def token(self, person: str, *roles: str) -> str:
        from shared.http.auth import issue_token

        key = (person, roles)
        if key not in self._tokens:
            self._tokens[key] = issue_token(self.secret(), person, list(roles), ttl_seconds=3 * 3600)
        return self._tokens[key]

    def secret(self) -> bytes:
        return Settings(data_dir=self.data_dir).local_secret(create=False)

    def call(self, component: str, method: str, path: str, who: tuple[str, ...] | None = None, body=None, *,
             after: dict[str, int] | None = None, key: str | None = None, timeout: float = 60,
             client: httpx.Client | None = None, stats: Counter | None = None, **params) -> httpx.Response:
        """One request to the component that serves ``path``, retried (bounded) while the answer is 409
        ``not-yet-known`` (a fact on its way from another process), 503 or no answer at all (a process
        restarting); a POST keeps its Idempotency-Key across retries. ``after`` is sent as Hallmark-After
        and updated from the answer's Hallmark-Position."""
        import uuid

        headers = {"Authorization": f"Bearer {self.token(who[0], *who[1:])}"} if who else {}
        if method == "POST":
            headers["Idempotency-Key"] = key or str(uuid.uuid4())
        deadline = time.monotonic() + timeout
        http = client or httpx
        while True:
            if after:
                headers["Hallmark-After"] = ",".join(f"{s}:{p}" for s, p in sorted(after.items()))
            try:
                response = http.request(method, f"{self.url(component)}{path}", json=body, headers=headers,
                                        params=params or None, timeout=30)
            except httpx.TransportError:
                response = None
            if response is not None:
                not_yet_known = response.status_code == 409 and response.json().get("type", "").endswith(
                    "not-yet-known")
                waiting = response.status_code in self.RETRIED or not_yet_known
                if stats is not None and waiting:
                    stats["not-yet-known" if not_yet_known else str(response.status_code)] += 1
                if not waiting:
                    position = response.headers.get("Hallmark-Position")
                    if after is not None and position:
                        service, _, n = position.partition(":")
                        after[service] = max(after.get(service, 0), int(n))
                    return response
            elif stats is not None:
                stats["no answer"] += 1
            if time.monotonic() > deadline:
                if response is None:
                    raise AssertionError(f"{method} {component}{path}: no answer within {timeout} s")
                return response
            time.sleep(0.1)

    def ready_details(self) -> dict[str, dict]:
        """Each component's /readyz, as an admin sees it."""
        details = {}
        for component in self.COMPONENTS:
            try:
                details[component] = httpx.get(f"{self.url(component)}/readyz", timeout=10, headers={
                    "Authorization": f"Bearer {self.token('Ada Admin', 'admin')}"}).json()
            except (httpx.HTTPError, ValueError) as error:
                details[component] = {"status": f"unreachable: {error}"}
        return details

    def wait_quiet(self, timeout: float = 120) -> dict[str, dict]:
        """Until every relay and consumer of every process has nothing left (twice in a row)."""
        deadline = time.monotonic() + timeout
        quiet_once = False
        while True:
            details = self.ready_details()
            lags = [x.get("lag") for d in details.values()
                    for x in [*d.get("relays", {}).values(), *d.get("consumers", {}).values()]]
            quiet = all(d.get("status") == "ready" for d in details.values()) and all(lag == 0 for lag in lags)
            if quiet and quiet_once:
                return details
            quiet_once = quiet
            if time.monotonic() > deadline:
                raise AssertionError(f"not quiet within {timeout} s: {details}")
            time.sleep(0.5)

    def error_lines(self) -> list[str]:
        return [line for log in self.state_dir.glob("*.log") for line in log.read_text(errors="replace").splitlines()
                if '"level": "error"' in line]


def _require_postgres() -> None:
    import psycopg

    try:
        psycopg.connect(Settings().pg_conninfo, connect_timeout=3).close()
    except psycopg.OperationalError:
        if os.environ.get("HALLMARK_TEST_POSTGRES") == "1":
            pytest.fail("PostgreSQL is not reachable; 'make test' starts it with deploy/postgres.sh")
        pytest.skip("PostgreSQL not running (make test starts it)")


@contextmanager
def distributed_mode(folder: Path, kafka_bootstrap: str, kafka_prefix: str) -> Iterator[Distributed]:
    _require_postgres()
    system = Distributed(folder, kafka_bootstrap, kafka_prefix)
    try:
        yield system.up()
    finally:
        try:
            system.down()
        finally:
            system.drop()


@pytest.fixture
def distributed(tmp_path: Path, kafka_bootstrap: str, kafka_prefix: str) -> Iterator[Distributed]:
    with distributed_mode(tmp_path, kafka_bootstrap, kafka_prefix) as system:
        yield system


@dataclass
class Broker:
    """A Kafka broker of one test's own (deploy/kafka/kafka.sh), which it may kill -9 and start again."""

    folder: Path
    port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        from tests.conftest import KAFKA_SCRIPT

        return subprocess.run([str(KAFKA_SCRIPT), *args], capture_output=True, text=True, timeout=300)

    def start(self) -> None:
        started = self._run("start", str(self.folder), str(self.port))
        if started.returncode != 0:
            raise RuntimeError(f"could not start the Kafka broker: {started.stderr[-2000:]}")

    def kill(self) -> None:
        self._run("kill", str(self.folder))

    def stop(self) -> None:
        self._run("stop", str(self.folder))


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path / "kafka", free_base_port())  # the controller listens on port + 1
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
