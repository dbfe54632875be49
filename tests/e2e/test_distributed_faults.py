"""Faults in distributed mode, with nothing lost and nothing applied twice.

`hallmark up` runs the five components as separate processes on a Kafka broker of this test's own.
While a stream of commands runs (HALLMARK_FAULT_COMMANDS, default 5,000, sent by a few threads:
schemes registered, applications submitted and reviewed, and now and then a whole file through audit,
grant and suspension), the test kills -9 in turn (a) a consumer process (decisions), (b) a service
with its relay (registry, which also holds the certificate view) and (c) the broker; the supervisor
restarts the processes, the test the broker. Every command is retried with its Idempotency-Key while
it gets no answer, 503 or 409 not-yet-known. Then, read from the stores themselves:

- every command answered 2xx is in its service's store, once;
- every stored published event is in the audit trail exactly once (projections' trail_entries);
- every certificate is in exactly the state its decisions imply (store, staff view, public lookup);
- no grant produced two certificates, and no decision was applied twice.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import pytest

from services.settings import Settings
from tests.e2e.conftest import Distributed, distributed_mode
from tests.support import TODAY, application_body, scheme_body

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

COMMANDS = int(os.environ.get("HALLMARK_FAULT_COMMANDS") or 5000)
THREADS = int(os.environ.get("HALLMARK_FAULT_THREADS") or 6)
BATCH = 20  # applications submitted per scheme registered; half of them are reviewed
COMMAND_TIMEOUT = 180.0  # seconds a command is retried, across restarts, before the test gives up on it

ADMIN = ("Ada Admin", "admin")
APPLICANT = ("Betonwerk Noord", "applicant")
OFFICER = ("Olivia Officer", "applications_officer")
LEAD = ("Luc Lead", "auditor")
DECIDER = ("Dirk Decider", "decision_maker")


@dataclass
class Stream:
    """The command stream: jobs (a batch of applications under a new scheme, or a whole file) taken by a
    few threads; each job's commands in order, each passing on what it learnt (Hallmark-After)."""

    d: Distributed
    total: int
    jobs: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: int = 0
    planned: int = 0
    # What each 2xx answer promises to be stored: (service, event type, subject or scheme code)
    accepted: list[tuple[str, str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        i = 0
        while self.planned < self.total:
            if i % 5 == 4:
                suspend = i % 10 == 9
                self.jobs.put(("file", suspend))
                self.planned += 8 if suspend else 7
            else:
                self.jobs.put(("batch", None))
                self.planned += 1 + BATCH + BATCH // 2
            i += 1

    def post(self, client: httpx.Client, after: dict[str, int], component: str, path: str, who: tuple[str, str],
             body: dict, event: str, key: Callable[[dict], str]) -> dict | None:
        response = self.d.call(component, "POST", path, who, body, after=after, client=client,
                               timeout=COMMAND_TIMEOUT, stats=self.stats)
        with self.lock:
            self.answered += 1
            if response.status_code in (200, 201):
                answer = response.json()
                self.accepted.append((component, event, key(answer)))
                return answer
            self.failed.append(f"POST {component}{path}: {response.status_code} {response.text[:300]}")
            return None

    def batch(self, client: httpx.Client) -> None:
        after: dict[str, int] = {}
        scheme = self.post(client, after, "registry", "/v1/schemes", ADMIN, scheme_body(), "Scheme.Registered",
                           lambda a: a["code"])
        if scheme is None:
            return
        for n in range(BATCH):
            application = self.post(client, after, "applications", "/v1/applications", APPLICANT,
                                    application_body(scheme["code"]), "Application.Submitted", lambda a: a["id"])
            if application is not None and n % 2 == 0:
                self.post(client, after, "applications", f"/v1/applications/{application['id']}/review", OFFICER,
                          {"outcome": "accepted", "reason": "complete"}, "Application.Reviewed", lambda a: a["id"])

    def file(self, client: httpx.Client, suspend: bool) -> None:
        after: dict[str, int] = {}
        scheme = self.post(client, after, "registry", "/v1/schemes", ADMIN, scheme_body(), "Scheme.Registered",
                           lambda a: a["code"])
        application = scheme and self.post(client, after, "applications", "/v1/applications", APPLICANT,
                                           application_body(scheme["code"]), "Application.Submitted",
                                           lambda a: a["id"])
        if not application:
            return
        app_id = application["id"]
        reviewed = self.post(client, after, "applications", f"/v1/applications/{app_id}/review", OFFICER,
                             {"outcome": "accepted", "reason": "complete"}, "Application.Reviewed", lambda a: a["id"])
        audit = reviewed and self.post(client, after, "audits", "/v1/audits", LEAD, {
            "application_id": app_id, "kind": "initial", "planned_start": TODAY.isoformat()}, "Audit.Planned",
            lambda a: a["id"])
        if not audit:
            return
        audit_id = audit["id"]
        team = self.post(client, after, "audits", f"/v1/audits/{audit_id}/team", OFFICER, {
            "person": "Luc Lead", "role": "lead_auditor", "declaration": {"independent": True, "interests": []}},
            "Audit.TeamMemberAssigned", lambda a: a["id"])
        report = team and self.post(client, after, "audits", f"/v1/audits/{audit_id}/report", LEAD, {
            "conclusion": "conforming", "recommendation": "grant", "summary": "FPC in place"}, "Audit.Reported",
            lambda a: a["id"])
        grant = report and self.post(client, after, "decisions", "/v1/decisions", DECIDER, {
            "subject": {"application_id": app_id}, "outcome": "grant", "basis": [audit_id],
            "rationale": "Evaluation complete"}, "Decision.Recorded",
            lambda a: a["id"])
        if not grant:
            return
        record = {"application_id": app_id, "grant": grant["id"], "suspend": None}
        with self.lock:
            self.files.append(record)
        if not suspend:
            return
        number = self.certificate_of(client, app_id)
        if number is None:
            return
        suspended = self.post(client, after, "decisions", "/v1/decisions", DECIDER, {
            "subject": {"certificate_number": number}, "outcome": "suspend", "basis": [audit_id],
            "rationale": "Nonconforming products on site"},
            "Decision.Recorded", lambda a: a["id"])
        record["suspend"] = suspended and suspended["id"]

    def certificate_of(self, client: httpx.Client, app_id: str) -> str | None:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while time.monotonic() < deadline:
            response = self.d.call("registry", "GET", "/v1/certificates", ADMIN, client=client, timeout=COMMAND_TIMEOUT,
                                   application_id=app_id)
            if response.status_code == 200 and response.json()["items"]:
                return response.json()["items"][0]["number"]
            time.sleep(0.2)
        with self.lock:
            self.failed.append(f"no certificate listed for application {app_id} within {COMMAND_TIMEOUT} s")
        return None

    def worker(self) -> None:
        with httpx.Client() as client:
            while True:
                try:
                    kind, suspend = self.jobs.get_nowait()
                except queue.Empty:
                    return
                try:
                    self.batch(client) if kind == "batch" else self.file(client, suspend)
                except Exception as error:  # the test reports it; the other threads go on
                    with self.lock:
                        self.failed.append(f"{kind} job: {type(error).__name__}: {error}")


def _stored(d: Distributed) -> dict[str, list]:
    """Every published event in each service's own event store, read back as messages."""
    from services.bootstrap import APPLICATIONS

    stored = {}
    for name, cls in APPLICATIONS.items():
        settings = Settings(store="postgres", data_dir=d.data_dir)
        settings.pg_dbname = d.database(name)
        app = cls(env=settings.store_env(name))
        try:
            messages, start = [], None
            while True:
                page = app.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=start is None)
                messages += [m for m in (app.message(n) for n in page) if m is not None]
                if len(page) < 1000:
                    break
                start = page[-1].id
            stored[name] = messages
        finally:
            app.close()
    return stored


def _trail_event_ids(d: Distributed) -> list[str]:
    import psycopg

    settings = Settings()
    settings.pg_dbname = d.database("projections")
    with psycopg.connect(settings.pg_conninfo) as conn:
        rows = conn.execute(f'SELECT event_id FROM "{settings.pg_schema_prefix}projections".trail_entries').fetchall()
    return [r[0] for r in rows]


def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_kill_a_consumer_a_relay_and_the_broker_during_a_stream_of_commands(tmp_path, own_kafka, kafka_prefix):
    timings: dict[str, float] = {}
    with distributed_mode(tmp_path, own_kafka.bootstrap, kafka_prefix) as d:
        stream = Stream(d, COMMANDS)
        threads = [threading.Thread(target=stream.worker, name=f"commands-{i}") for i in range(THREADS)]
        began = time.monotonic()
        for thread in threads:
            thread.start()

        def reach(share: float) -> None:
            _wait_until(lambda: stream.answered >= share * stream.planned or not any(t.is_alive() for t in threads),
                        timeout=900)

        # (a) a consumer process: decisions follows applications, audits and registry
        reach(0.2)
        old = d.kill("decisions")
        timings["decisions back after kill -9 (s)"] = d.wait_restarted("decisions", old)
        # (b) a service with its relay (and the certificate view it holds)
        reach(0.45)
        old = d.kill("registry")
        timings["registry back after kill -9 (s)"] = d.wait_restarted("registry", old)
        # (c) the broker
        reach(0.7)
        own_kafka.kill()
        at_kill = stream.answered
        time.sleep(2)
        started = time.monotonic()
        own_kafka.start()
        timings["broker start after kill -9 (s)"] = time.monotonic() - started
        timings["commands answered while the broker was down"] = stream.answered - at_kill

        for thread in threads:
            thread.join()
        timings["stream (s)"] = time.monotonic() - began
        timings["commands/s"] = stream.answered / timings["stream (s)"]
        assert not stream.failed, f"{len(stream.failed)} command(s) not accepted: {stream.failed[:5]}"
        assert stream.answered == stream.planned >= COMMANDS

        started = time.monotonic()
        details = d.wait_quiet(timeout=240)
        timings["quiet after the stream (s)"] = time.monotonic() - started
        parked = {f"{c}: {name}": h["parked"] for c, r in details.items()
                  for name, h in r.get("consumers", {}).items() if h["parked"]}
        assert not parked, parked
        restarts = {name: p["restarts"] for name, p in d.state()["processes"].items()}
        assert restarts["decisions"] >= 1 and restarts["registry"] >= 1, restarts

        started = time.monotonic()
        stored = _stored(d)
        messages = [m for ms in stored.values() for m in ms]

        # Every accepted command is in its store, once; nothing stored that no command asked for.
        def key(m) -> tuple[str, str, str]:
            return m.source, m.type, m.data["code"] if m.type == "Scheme.Registered" else m.subject

        in_store = Counter(key(m) for m in messages)
        promised = Counter(stream.accepted)
        missing = [k for k in promised if k not in in_store]
        assert not missing, f"{len(missing)} accepted command(s) not in the stores: {missing[:5]}"
        kinds = {k[:2] for k in promised}
        twice = {k: n for k, n in in_store.items() if k[:2] in kinds and n != promised[k]}
        assert not twice, f"stored other than once per accepted command: {list(twice.items())[:5]}"

        # Every stored event is in the audit trail exactly once.
        trail = _trail_event_ids(d)
        ids = [m.id for m in messages]
        assert len(ids) == len(set(ids))
        assert len(trail) == len(set(trail)), "an event is twice in the trail"
        assert set(trail) == set(ids), (f"missing from the trail: {list(set(ids) - set(trail))[:5]}; "
                                        f"in the trail but not stored: {list(set(trail) - set(ids))[:5]}")

        # Every certificate is in exactly the state its decisions imply; no grant produced two certificates.
        decisions = [m for m in stored["decisions"] if m.type == "Decision.Recorded"]
        registry = stored["registry"]
        issued = [m for m in registry if m.type == "Certificate.Issued"]
        assert not [m for m in registry if m.type == "Certificate.DecisionNotApplied"]
        grants = {m.subject: m for m in decisions if m.data["outcome"] == "grant"}
        assert set(grants) == {f["grant"] for f in stream.files}
        assert sorted(m.data["decision_id"] for m in issued) == sorted(grants), "a grant issued 0 or 2+ certificates"
        assert len({m.data["application_id"] for m in issued}) == len(issued)
        expected = {m.data["number"]: "active" for m in issued}
        changes = Counter()
        for m in decisions:  # in the order decided
            if m.data["outcome"] == "suspend":
                expected[m.data["certificate_number"]] = "suspended"
        for m in registry:
            if m.type == "Certificate.StatusChanged":
                changes[m.data["number"]] += 1
                assert m.data["status"] == "suspended" and m.data["decision_id"] in {
                    f["suspend"] for f in stream.files}, m
        assert changes == Counter({n for n, s in expected.items() if s == "suspended"}), "a suspension applied twice"
        assert sum(1 for f in stream.files if f["suspend"]) == sum(changes.values())
        with httpx.Client() as client:
            for number, status in expected.items():
                staff = d.call("registry", "GET", f"/v1/certificates/{number}", ADMIN, client=client).json()
                public = d.call("registry", "GET", f"/public/v1/certificates/{number}", client=client).json()
                assert (staff["status"], public["status"]) == (status, status), (number, staff, public)
            for grant in grants.values():
                items = d.call("registry", "GET", "/v1/certificates", ADMIN, client=client,
                               application_id=grant.data["application_id"]).json()["items"]
                assert len(items) == 1, items
            verify = d.call("projections", "GET", "/v1/trail/verify", ADMIN, client=client, timeout=120).json()
            assert verify["ok"], verify
        timings["verification (s)"] = time.monotonic() - started

    print(f"\n{stream.answered} commands ({len(stream.accepted)} accepted) by {THREADS} threads; "
          f"{len(stream.files)} files granted, {sum(1 for f in stream.files if f['suspend'])} suspended; "
          f"{len(messages)} events stored, {len(trail)} in the trail")
    print("retries: " + ", ".join(f"{k} {v}" for k, v in sorted(stream.stats.items())))
    for name, value in timings.items():
        print(f"{name}: {value:.1f}")
