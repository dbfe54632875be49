"""Distributed mode on one machine: ``hallmark up``, ``hallmark down``, ``hallmark status``.

``up`` makes sure PostgreSQL and a Kafka broker run, creates one PostgreSQL database per component
(``hallmark_<component>``), then starts a supervisor in the background that runs the five components
(applications, audits, decisions, registry, projections) as separate processes on the ports of
API.md (8001-8005, or ``--base-port`` + 1..5), joined by Kafka only, and restarts any that dies, with
back-off (each restart is logged). ``up`` returns once every process answers ``/livez``.

Everything it knows is in a state folder (``.hallmark/up/`` by default): ``plan.json`` (what ``up``
asked for), ``state.json`` (the supervisor's pid, each process's pid, port, restarts, log), and one
log file per process plus ``supervisor.log``. ``down`` stops the supervisor, every process it ran and
the broker if ``up`` started it; ``status`` shows each process and, with the local admin token, what
its ``/readyz`` says (relay lag, consumer lag, parked messages).

The five processes share one data folder (``HALLMARK_DATA``) for the local token-signing key only,
so ``hallmark token`` works against them; their stores and views are in their own databases.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("hallmark.supervisor")

ROOT = Path(__file__).resolve().parent.parent  # the repository: deploy/ scripts
# The components and their ports in API.md; the same as services.bootstrap.COMPONENTS and PORTS (not
# imported, so that `hallmark status` and `down` stay quick).
COMPONENTS = ("applications", "audits", "decisions", "registry", "projections")
PORTS = {"applications": 8001, "audits": 8002, "decisions": 8003, "registry": 8004, "projections": 8005}
DEFAULT_BASE_PORT = 8000
DEFAULT_STATE_DIR = ".hallmark/up"
# Which paths each component serves (API.md), for the demo and for people.
ROUTES = {
    "applications": ("/v1/applications", "/v1/requests"),
    "audits": ("/v1/audits", "/v1/samples", "/v1/laboratory/", "/v1/worklist"),
    "decisions": ("/v1/decisions", "/v1/appeals", "/v1/complaints", "/public/v1/complaints", "/v1/staff/"),
    "registry": ("/v1/schemes", "/v1/certificates", "/v1/catalogue", "/v1/partners", "/v1/oauth/", "/public/"),
    "projections": ("/v1/audit-trail", "/v1/trail/", "/v1/holder/", "/v1/people"),
}

STABLE_SECONDS = 60.0  # a process that ran this long before dying restarts at once again
MAX_BACKOFF_SECONDS = 30.0
STOP_GRACE_SECONDS = 20.0


def port_of(component: str, base_port: int = DEFAULT_BASE_PORT) -> int:
    return base_port + PORTS[component] - DEFAULT_BASE_PORT


def backoff(failures: int) -> float:
    """Seconds before restarting a process that died after ``failures`` quick deaths in a row."""
    return min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** max(0, failures - 1))


# -- the plan and the state, in the state folder -------------------------------------------------


@dataclass
class Plan:
    state_dir: str
    base_port: int = DEFAULT_BASE_PORT
    host: str = "127.0.0.1"
    db_prefix: str = "hallmark_"
    data_dir: str = "data"
    kafka_bootstrap: str = "127.0.0.1:9092"
    broker_dir: str | None = None  # the local broker's folder, when up started it
    broker_port: int | None = None
    broker_started: bool = False  # by up: down stops it, the supervisor restarts it if it dies

    @property
    def ports(self) -> dict[str, int]:
        return {name: port_of(name, self.base_port) for name in COMPONENTS}

    def url(self, component: str) -> str:
        return f"http://{self.host}:{port_of(component, self.base_port)}"

    def database(self, component: str) -> str:
        return f"{self.db_prefix}{component}"

    def child_env(self, component: str) -> dict[str, str]:
        return {
            **os.environ,
            "HALLMARK_TRANSPORT": "kafka",
            "HALLMARK_COMPONENT": component,
            "HALLMARK_STORE": "postgres",
            "HALLMARK_PG_DBNAME": self.database(component),
            # One people vault for the instance (ADR 0011), and the projections read every store for
            # 'trail verify' (eventsourcing's per-application overrides).
            "HALLMARK_PEOPLE_DBNAME": self.database("people"),
            **({f"{name.upper()}_POSTGRES_DBNAME": self.database(name) for name in COMPONENTS if name != "projections"}
               if component == "projections" else {}),
            "HALLMARK_DATA": self.data_dir,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "PORT": str(port_of(component, self.base_port)),
        }

    def save(self) -> None:
        _write_json(Path(self.state_dir) / "plan.json", asdict(self))

    @classmethod
    def load(cls, state_dir: Path) -> "Plan | None":
        path = state_dir / "plan.json"
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    tmp.replace(path)


def read_state(state_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def alive(pid: int | None, marker: str | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, if ``marker`` is given, its command line contains it (so a
    pid reused by another program is not taken for ours)."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
        if marker is not None:
            return marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        return True
    except (OSError, IndexError):
        return False


def _child_marker(component: str) -> str:
    return f"services.cli run --component {component}"


SUPERVISOR_MARKER = "services.supervisor supervise"


# -- the supervisor: runs the five processes and restarts the ones that die -----------------------


@dataclass
class Child:
    component: str
    port: int
    log: str
    pid: int | None = None
    restarts: int = 0
    failures: int = 0  # quick deaths in a row, for the back-off
    started_at: float = 0.0
    restart_at: float | None = None  # when a dead process is started again
    last_exit: int | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def state(self) -> dict[str, Any]:
        return {"pid": self.pid, "port": self.port, "log": self.log, "restarts": self.restarts,
                "last_exit": self.last_exit, "running": self.process is not None and self.process.poll() is None}


def _die_with_parent() -> None:  # runs in the child before exec: SIGTERM when the supervisor dies
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Supervisor:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.state_dir = Path(plan.state_dir)
        self.children = {name: Child(name, port, str(self.state_dir / f"{name}.log"))
                         for name, port in plan.ports.items()}
        self.stopping = False
        self.broker_restarts = 0
        self._next_broker_check = 0.0

    def _start(self, child: Child) -> None:
        with open(child.log, "ab") as out:
            child.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "run", "--component", child.component,
                 "--host", self.plan.host, "--port", str(child.port)],
                env=self.plan.child_env(child.component), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            )
        child.pid = child.process.pid
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %d) on port %d, log %s", child.component, child.pid, child.port, child.log)

    def _reap(self, child: Child, now: float) -> bool:
        """Notice a process that died and schedule its restart; True if something changed."""
        if child.process is None or child.restart_at is not None:
            return False
        code = child.process.poll()
        if code is None:
            return False
        lived = now - child.started_at
        child.failures = 1 if lived >= STABLE_SECONDS else child.failures + 1
        child.last_exit = code
        delay = backoff(child.failures)
        child.restart_at = now + delay
        how = f"killed by signal {-code}" if code < 0 else f"exited with {code}"
        log.warning("%s (pid %s) %s after %.1f s; restarting in %.1f s (restart %d)",
                    child.component, child.pid, how, lived, delay, child.restarts + 1)
        return True

    def _broker_alive(self) -> bool:
        try:
            pid = int((Path(self.plan.broker_dir or "") / "broker.pid").read_text().strip())
        except (OSError, ValueError):
            return False
        return alive(pid, "kafka.Kafka")

    def _watch_broker(self, now: float) -> bool:
        if not self.plan.broker_started or now < self._next_broker_check:
            return False
        self._next_broker_check = now + 5.0
        if self._broker_alive():
            return False
        self.broker_restarts += 1
        log.warning("the Kafka broker in %s is not running; starting it again (restart %d)",
                    self.plan.broker_dir, self.broker_restarts)
        result = _kafka("start", self.plan.broker_dir, self.plan.broker_port)
        if result.returncode != 0:
            log.error("could not restart the Kafka broker: %s", result.stderr.strip()[-500:])
        return True

    def write_state(self) -> None:
        _write_json(self.state_dir / "state.json", {
            "supervisor": {"pid": os.getpid(), "running": not self.stopping},
            "broker": {"bootstrap": self.plan.kafka_bootstrap, "dir": self.plan.broker_dir,
                       "started_by_up": self.plan.broker_started, "restarts": self.broker_restarts},
            "processes": {name: child.state() for name, child in self.children.items()},
            "updated": time.time(),
        })

    def _stop_signal(self, signum: int, frame: Any) -> None:
        log.info("received signal %d: stopping every process", signum)
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop_signal)
        signal.signal(signal.SIGINT, self._stop_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        for child in self.children.values():
            self._start(child)
        self.write_state()
        while not self.stopping:
            now = time.monotonic()
            changed = False
            for child in self.children.values():
                changed |= self._reap(child, now)
                if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                    child.restarts += 1
                    self._start(child)
                    changed = True
            changed |= self._watch_broker(now)
            if changed:
                self.write_state()
            time.sleep(0.1)
        self.stop_all()
        self.write_state()
        return 0

    def stop_all(self) -> None:
        running = [c for c in self.children.values() if c.process is not None and c.process.poll() is None]
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) did not stop within %.0f s; killing it", child.component, child.pid,
                            STOP_GRACE_SECONDS)
                child.process.kill()
                child.process.wait(10)
            log.info("stopped %s (pid %d)", child.component, child.pid)


def supervise(state_dir: Path) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    plan = Plan.load(state_dir)
    if plan is None:
        log.error("no plan.json in %s; start with 'hallmark up'", state_dir)
        return 2
    return Supervisor(plan).run()


# -- PostgreSQL and Kafka ------------------------------------------------------------------------


def _kafka(action: str, folder: str | None, port: int | None = None) -> subprocess.CompletedProcess:
    args = [str(ROOT / "deploy" / "kafka" / "kafka.sh"), action, str(folder)]
    if port is not None:
        args.append(str(port))
    # Its own session: a Ctrl-C in the terminal that ran `make up` never reaches the broker.
    return subprocess.run(args, capture_output=True, text=True, timeout=600, start_new_session=True)


def ensure_databases(plan: Plan) -> list[str]:
    """Create the components' databases (and the people vault's) that do not exist yet (the hallmark
    role has CREATEDB)."""
    import psycopg
    from psycopg import errors, sql

    from services.settings import ConfigurationError, Settings

    settings = Settings()
    created = []
    try:
        with psycopg.connect(settings.pg_conninfo, autocommit=True, connect_timeout=5) as conn:
            for component in (*COMPONENTS, "people"):
                name = plan.database(component)
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                    continue
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    created.append(name)
                except errors.DuplicateDatabase:
                    pass  # created in between by someone else
    except psycopg.OperationalError as error:
        raise ConfigurationError(
            f"Cannot reach PostgreSQL at {settings.pg_host}:{settings.pg_port} as {settings.pg_user} "
            f"(database {settings.pg_dbname}): {error}. 'make up' starts it with deploy/postgres.sh") from None
    return created


def drop_databases(db_prefix: str) -> None:
    """Drop the components' databases of this prefix (tests)."""
    import psycopg
    from psycopg import sql

    from services.settings import Settings

    with psycopg.connect(Settings().pg_conninfo, autocommit=True, connect_timeout=5) as conn:
        for component in (*COMPONENTS, "people"):
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(f"{db_prefix}{component}"))
            for attempt in range(40):
                try:
                    conn.execute(drop)
                    break
                except psycopg.errors.InsufficientPrivilege:
                    # An autovacuum worker is in that database: it belongs to no role, so FORCE may not end it
                    # for us; it finishes within moments.
                    if attempt == 39:
                        raise
                    time.sleep(0.25)


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _livez(url: str, timeout: float = 1.0) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/livez", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _tail(path: str | Path, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- up, down, status ----------------------------------------------------------------------------


def up(state_dir: Path, *, base_port: int = DEFAULT_BASE_PORT, db_prefix: str = "hallmark_",
       postgres: bool = True, timeout: float = 180.0, out=sys.stdout) -> int:
    from services.settings import ConfigurationError, Settings

    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    previous = Plan.load(state_dir)
    state = read_state(state_dir)
    if alive(state.get("supervisor", {}).get("pid"), SUPERVISOR_MARKER):
        print(f"hallmark up: already running (supervisor pid {state['supervisor']['pid']}, {state_dir}); "
              "'make down' stops it", file=out)
        status(state_dir, out=out)
        return 0
    if postgres:
        result = subprocess.run([str(ROOT / "deploy" / "postgres.sh"), "start"], text=True, start_new_session=True)
        if result.returncode != 0:
            raise ConfigurationError("deploy/postgres.sh start failed; see above")
    settings = Settings()
    plan = Plan(state_dir=str(state_dir), base_port=base_port, db_prefix=db_prefix,
                data_dir=str(settings.data_dir.resolve()))
    taken = [f"{name} {port}" for name, port in plan.ports.items() if _port_taken(plan.host, port)]
    if taken:
        raise ConfigurationError(f"port(s) taken: {', '.join(taken)}; stop what uses them ('make down' if an "
                                 "earlier 'make up' left them) or pass --base-port")
    # The five processes verify tokens with one key: create it now, not in five processes at once.
    Settings(data_dir=Path(plan.data_dir)).local_secret(create=True)
    created = ensure_databases(plan)
    if created:
        print(f"created databases {', '.join(created)}", file=out)

    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        plan.kafka_bootstrap = given
    else:
        plan.broker_dir = str(Path(os.environ.get("HALLMARK_KAFKA_CACHE") or ROOT / ".cache" / "kafka") / "broker")
        plan.broker_port = int(os.environ.get("HALLMARK_KAFKA_PORT") or 9092)
        plan.kafka_bootstrap = f"127.0.0.1:{plan.broker_port}"
        running = _kafka("status", plan.broker_dir).returncode == 0
        if running:
            # Ours if an earlier `up` started it and no `down` stopped it; otherwise someone else's.
            plan.broker_started = bool(previous and previous.broker_started and previous.broker_dir == plan.broker_dir)
            print(f"Kafka: using the broker already running in {plan.broker_dir}", file=out)
        else:
            print(f"Kafka: starting a local broker on {plan.kafka_bootstrap} (data {plan.broker_dir})", file=out)
            result = _kafka("start", plan.broker_dir, plan.broker_port)
            if result.returncode != 0:
                raise ConfigurationError(f"could not start the Kafka broker: {result.stderr.strip()[-1500:]}")
            plan.broker_started = True

    plan.save()
    (state_dir / "state.json").unlink(missing_ok=True)
    with open(state_dir / "supervisor.log", "ab") as supervisor_log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "services.supervisor", "supervise", str(state_dir)],
            stdin=subprocess.DEVNULL, stdout=supervisor_log, stderr=subprocess.STDOUT, start_new_session=True)

    deadline = time.monotonic() + timeout
    waiting = set(COMPONENTS)
    try:
        while waiting and time.monotonic() < deadline:
            if supervisor.poll() is not None:
                break
            waiting = {name for name in waiting if not _livez(plan.url(name), 0.5)}
            if waiting:
                time.sleep(0.3)
    except KeyboardInterrupt:
        print(f"\nhallmark up: still starting in the background (supervisor pid {supervisor.pid}); "
              "'make status' shows it, 'make down' stops it", file=sys.stderr)
        return 130
    if waiting:
        why = "the supervisor exited" if supervisor.poll() is not None else f"not alive within {timeout:.0f} s"
        print(f"hallmark up: {', '.join(sorted(waiting))} {why}; stopping everything", file=sys.stderr)
        for name in sorted(waiting):
            print(f"--- {state_dir / (name + '.log')} (last lines)\n{_tail(state_dir / (name + '.log'))}",
                  file=sys.stderr)
        print(f"--- {state_dir / 'supervisor.log'}\n{_tail(state_dir / 'supervisor.log')}", file=sys.stderr)
        down(state_dir, out=sys.stderr)
        return 1

    print(f"\nHallmark is up in distributed mode: five processes over Kafka at {plan.kafka_bootstrap}, "
          f"one PostgreSQL database each ({db_prefix}<component>), supervisor pid {supervisor.pid}", file=out)
    for name in COMPONENTS:
        print(f"  {name:<13} {plan.url(name):<24} {' '.join(ROUTES[name])}", file=out)
    print(f"\n  a token          .venv/bin/hallmark token --sub ada --role admin   (key in {plan.data_dir})", file=out)
    print("  try it           curl -H \"Authorization: Bearer $(.venv/bin/hallmark token --sub ada --role admin "
          f"2>/dev/null)\" {plan.url('registry')}/v1/certificates", file=out)
    demo_url = f" --url http://{plan.host}:{base_port}" if base_port != DEFAULT_BASE_PORT else ""
    print(f"  the lifecycle    .venv/bin/hallmark demo --distributed{demo_url}", file=out)
    print(f"  processes, lag   make status      logs in {state_dir}", file=out)
    print("  stop everything  make down", file=out)
    return 0


def down(state_dir: Path, *, out=sys.stdout) -> int:
    state_dir = state_dir.resolve()
    plan = Plan.load(state_dir)
    state = read_state(state_dir)
    if plan is None:
        print(f"hallmark down: nothing was started from {state_dir}", file=out)
        return 0
    stopped = []
    supervisor_pid = state.get("supervisor", {}).get("pid")
    if alive(supervisor_pid, SUPERVISOR_MARKER):
        os.kill(supervisor_pid, signal.SIGTERM)  # it stops its processes, then exits
        deadline = time.monotonic() + STOP_GRACE_SECONDS + 15
        while alive(supervisor_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(supervisor_pid):
            os.kill(supervisor_pid, signal.SIGKILL)
        stopped.append(f"supervisor (pid {supervisor_pid})")
    # Whatever still runs: the supervisor stops its processes, but it may have been killed itself.
    state = read_state(state_dir)
    pids = {name: p.get("pid") for name, p in state.get("processes", {}).items()}
    leftovers = [(name, pid) for name, pid in pids.items() if alive(pid, _child_marker(name))]
    for _, pid in leftovers:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for _, pid in leftovers:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    if stopped or leftovers:
        stopped.extend(f"{name} (pid {pid})" for name, pid in pids.items() if pid)
    broker_stopped = plan.broker_started and bool(plan.broker_dir)
    if broker_stopped:
        result = _kafka("stop", plan.broker_dir)
        said = (result.stderr.strip().splitlines() or ["stopped"])[-1]
        stopped.append(f"the Kafka broker in {plan.broker_dir} ({said})")
        plan.broker_started = False
        plan.save()
    state_file = state_dir / "state.json"
    if state_file.exists():
        state = read_state(state_dir)
        state.setdefault("supervisor", {})["running"] = False
        if broker_stopped:
            state.setdefault("broker", {})["stopped_by_down"] = True
        for process in state.get("processes", {}).values():
            process["running"] = False
        _write_json(state_file, state)
    print("stopped: " + ("; ".join(stopped) if stopped else "nothing was running"), file=out)
    return 0


def _readyz(url: str, token: str | None) -> dict[str, Any] | None:
    import httpx

    try:
        response = httpx.get(f"{url}/readyz", timeout=5,
                             headers={"Authorization": f"Bearer {token}"} if token else {})
        return response.json()
    except (httpx.HTTPError, ValueError):
        return None


def status(state_dir: Path, *, out=sys.stdout, token: str | None = None) -> int:
    """Each process: pid, port, up or down, restarts; with an admin token, what /readyz says."""
    from services.settings import ConfigurationError, Settings
    from shared.http.auth import issue_token

    state_dir = state_dir.resolve()
    plan = Plan.load(state_dir)
    state = read_state(state_dir)
    if plan is None or not state:
        print(f"hallmark status: nothing started from {state_dir} ('make up' starts it)", file=out)
        return 3
    if token is None and not os.environ.get("HALLMARK_TOKEN"):
        try:
            secret = Settings(data_dir=Path(plan.data_dir)).local_secret(create=False)
            token = issue_token(secret, "hallmark-status", ["admin"], ttl_seconds=300)
        except ConfigurationError:
            token = None
    token = token or os.environ.get("HALLMARK_TOKEN")
    supervisor = state.get("supervisor", {})
    supervisor_up = alive(supervisor.get("pid"), SUPERVISOR_MARKER)
    print(f"supervisor  pid {supervisor.get('pid')}  {'up' if supervisor_up else 'down'}  ({state_dir})", file=out)
    broker = state.get("broker", {})
    whose = ("stopped by down" if broker.get("stopped_by_down") else
             "started by up" if broker.get("started_by_up") else "not started by up")
    print(f"kafka       {broker.get('bootstrap')}  {whose}"
          f"{', restarts ' + str(broker.get('restarts')) if broker.get('restarts') else ''}", file=out)
    print(f"{'process':<13} {'pid':>7} {'port':>6}  {'state':<5} {'restarts':>8}  ready", file=out)
    everything_up = supervisor_up
    for name in COMPONENTS:
        process = state.get("processes", {}).get(name, {})
        port = process.get("port") or port_of(name, plan.base_port)
        url = f"http://{plan.host}:{port}"
        running = alive(process.get("pid"), _child_marker(name)) and _livez(url, 1.0)
        everything_up &= running
        ready = _readyz(url, token) if running else None
        summary = "-" if ready is None else ready.get("status", "?")
        print(f"{name:<13} {process.get('pid') or '-':>7} {port:>6}  {'up' if running else 'down':<5} "
              f"{process.get('restarts', 0):>8}  {summary}", file=out)
        if ready and "checks" in ready:
            for topic, relay in ready.get("relays", {}).items():
                print(f"{'':<15}relay {topic}: published {relay.get('published')}, lag {relay.get('lag')}", file=out)
            for consumer, health in ready.get("consumers", {}).items():
                print(f"{'':<15}consumer {consumer}: applied {health.get('applied')}, lag {health.get('lag')}, "
                      f"parked {health.get('parked')}", file=out)
            for check, verdict in ready.get("checks", {}).items():
                if verdict != "ok":
                    print(f"{'':<15}! {check}: {verdict}", file=out)
    if not token:
        print("(no local signing key to mint an admin token: /readyz details left out; set HALLMARK_TOKEN)", file=out)
    return 0 if everything_up else 3


# -- the command line: `hallmark up|down|status` (services/cli.py) and `python -m services.supervisor` --


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("HALLMARK_UP_DIR") or DEFAULT_STATE_DIR),
                        help=f"where pids, ports and logs are kept (default $HALLMARK_UP_DIR or {DEFAULT_STATE_DIR})")
    if command == "up":
        parser.add_argument("--base-port", type=int,
                            default=int(os.environ.get("HALLMARK_UP_BASE_PORT") or DEFAULT_BASE_PORT),
                            help="the components listen on base+1..base+5 (default 8000: ports 8001-8005 of API.md)")
        parser.add_argument("--db-prefix", default=os.environ.get("HALLMARK_UP_DB_PREFIX") or "hallmark_",
                            help="each component's PostgreSQL database is <prefix><component> (default hallmark_)")
        parser.add_argument("--no-postgres", action="store_true",
                            help="do not run deploy/postgres.sh start (PostgreSQL runs elsewhere: HALLMARK_PG_*)")
        parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for every /livez")


def cli(args: argparse.Namespace) -> int:
    if args.command == "up":
        return up(args.state_dir, base_port=args.base_port, db_prefix=args.db_prefix,
                  postgres=not args.no_postgres, timeout=args.timeout)
    if args.command == "down":
        return down(args.state_dir)
    return status(args.state_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.supervisor")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("supervise", help="run the five processes in the foreground and restart those that die")
    run.add_argument("state_dir", type=Path)
    args = parser.parse_args(argv)
    return supervise(args.state_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
