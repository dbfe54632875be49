"""Exactly-once, idempotency, concurrency, restart, rebuild and tamper evidence."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from services.bootstrap import bootstrap
from shared.errors import DomainError
from tests.support import File, application_body, scheme_body, today


def _events(hallmark, service) -> list:
    app = getattr(hallmark, service)
    return [m for m in (app.message(n) for n in app.recorder.select_notifications(start=None, limit=10_000)) if m]


def _trail_content(hallmark) -> list:
    return sorted(({k: v for k, v in e.items() if k != "seq"} for e in hallmark.trail.all_entries()),
                  key=lambda e: (e["service"], e["position"]))


# -- idempotency ----------------------------------------------------------------------------------

def test_idempotency_key_replays_the_first_answer_and_changes_nothing(api, hallmark):
    body = scheme_body()
    first = api.post("/v1/schemes", body, "Ada", "admin", key="k-1")
    again = api.post("/v1/schemes", body, "Ada", "admin", key="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert [m.type for m in _events(hallmark, "registry")] == ["Scheme.Registered"]


def test_idempotency_key_reused_for_another_request_is_refused(api, hallmark):
    api.post("/v1/schemes", scheme_body(), "Ada", "admin", key="k-2")
    reused = api.post("/v1/schemes", scheme_body(), "Ada", "admin", key="k-2")
    assert reused.status_code == 422 and reused.json()["type"].endswith("idempotency-key-reused")
    assert len(_events(hallmark, "registry")) == 1


def test_idempotent_finding_is_recorded_once(api, hallmark):
    file = File(api).planned()
    body = {"severity": "major", "requirement": "§7", "description": "no ITT"}
    ids = {api.post(f"/v1/audits/{file.audit_id}/findings", body, *File.LEAD, key="f-1").json()["finding_id"]
           for _ in range(3)}
    assert len(ids) == 1
    assert [m.type for m in _events(hallmark, "audits")].count("Audit.FindingRecorded") == 1


# -- concurrency -----------------------------------------------------------------------------------

def _race(n: int, command) -> Counter:
    barrier = threading.Barrier(n)
    results: list = []

    def run() -> None:
        barrier.wait()
        results.append(command())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(results)


def test_concurrent_conflicting_decisions_exactly_one_wins(api, hallmark):
    file = File(api).evaluated()

    request = {"subject": {"application_id": file.application_id}, "outcome": "grant", "basis": [file.audit_id],
               "rationale": "r", "effective_from": today()}

    def grant() -> str:
        try:
            return str(hallmark.decisions.decide(request, "Dirk Decider").status)
        except DomainError as error:
            return error.slug

    results = _race(12, grant)
    assert results["201"] == 1, results
    assert set(results) == {"201", "invalid-transition"}, results
    hallmark.settle()
    assert [m.data["outcome"] for m in _events(hallmark, "decisions") if m.type == "Decision.Recorded"] == ["grant"]
    items = hallmark.certificates.search(application_id=file.application_id)
    assert len(items) == 1 and items[0]["status"] == "active"


def test_concurrent_reviews_exactly_one_wins(api, hallmark):
    file = File(api)
    file.create_scheme()
    file.submit()

    def review(outcome: str) -> str:
        try:
            return str(hallmark.applications.review(file.application_id, outcome, "r", "Olivia Officer").status)
        except DomainError as error:
            return error.slug

    results = _race(12, lambda: review("accepted"))
    assert results == Counter({"200": 1, "invalid-transition": 11}), results
    assert [m.type for m in _events(hallmark, "applications")].count("Application.Reviewed") == 1


# -- exactly once across redelivery and restart ----------------------------------------------------

def test_redelivered_messages_are_applied_once(api, hallmark):
    File(api).granted()
    decisions = _events(hallmark, "decisions")
    registry_consumer = next(c for c in hallmark.consumers if c.name == "registry<-decisions")
    trail_consumer = next(c for c in hallmark.consumers if c.name == "trail<-all")
    before_registry = len(_events(hallmark, "registry"))
    before_trail = len(hallmark.trail.all_entries())
    for message in decisions:  # at-least-once transport delivering everything again
        registry_consumer.target.apply(message)
        trail_consumer.target.apply(message)
    assert len(_events(hallmark, "registry")) == before_registry
    assert len(hallmark.trail.all_entries()) == before_trail


def test_restart_mid_flow_applies_every_pending_effect_exactly_once(settings):
    first = bootstrap(settings)
    try:
        registry = first.registry
        outcome = registry.register_scheme({**scheme_body(), "documents": scheme_body()["documents"]}, "Ada")
        code = outcome.body["code"]
        first.settle()
        form = application_body(code)
        application_id = first.applications.submit(form, "Bea").body["id"]
        first.settle()
        first.applications.review(application_id, "accepted", "ok", "Olivia Officer")
        first.settle()
        audit_id = first.audits.plan({"application_id": application_id, "kind": "initial",
                                      "planned_start": today()}, "Luc").body["id"]
        first.audits.assign(audit_id, "Luc", "lead_auditor", {"independent": True, "interests": []}, "Olivia")
        first.audits.report(audit_id, {"conclusion": "conforming", "recommendation": "grant", "summary": "s"}, "Luc")
        first.settle()
        first.decisions.decide({"subject": {"application_id": application_id}, "outcome": "grant",
                                "basis": [audit_id], "rationale": "ok",
                                "effective_from": today()}, "Dirk")
        # The process stops after the registry applied the grant but before anyone else caught up.
        next(c for c in first.consumers if c.name == "registry<-decisions").poll()
    finally:
        first.close()

    second = bootstrap(settings)
    try:
        second.settle()
        second.settle()
        certificates = second.certificates.search(application_id=application_id)
        assert len(certificates) == 1 and certificates[0]["status"] == "active"
        assert [m.type for m in _events(second, "registry")].count("Certificate.Issued") == 1
        trail = second.trail.all_entries()
        assert len(trail) == len({e["event_id"] for e in trail})
        assert len(trail) == sum(len(_events(second, s)) for s in ("applications", "audits", "decisions", "registry"))
        assert second.verify_trail()["ok"]
    finally:
        second.close()


# -- failures: dead letters and fail-closed commands -------------------------------------------------

def test_a_message_that_keeps_failing_is_parked_and_the_stream_goes_on(api, hallmark):
    from shared.application import ParkedMessage, PolicyTarget
    from shared.bus import MAX_ATTEMPTS, Consumer
    from shared.domain import natural_id

    # Straight to the registry, unsettled: audits' own consumer (which learns schemes, R62) has not read them.
    first, second = scheme_body(), scheme_body()
    for body in (first, second):
        hallmark.registry.register_scheme(body, "Ada Admin")
    seen = []

    def policy(message):
        if message.data.get("code") == first["code"]:
            raise ValueError("cannot digest this scheme")
        seen.append(message.data.get("code"))
        return []

    consumer = Consumer("test<-registry", [hallmark.feeds["registry"]], PolicyTarget(hallmark.audits, policy),
                        park_after_seconds=0)
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(ValueError):
            consumer.poll()
        consumer.reset()
    consumer.poll()
    assert consumer.health.parked == 1 and seen == [second["code"]]
    registered = [m for m in _events(hallmark, "registry") if m.data.get("code") == first["code"]][0]
    parked = hallmark.audits.find(natural_id("parked", registered.id))
    assert isinstance(parked, ParkedMessage) and "cannot digest" in parked.error
    assert hallmark.audits.position("registry") >= registered.position


def test_a_transient_failure_is_retried_not_parked(api, hallmark):
    from shared.application import PolicyTarget
    from shared.bus import MAX_ATTEMPTS, Consumer

    hallmark.registry.register_scheme(scheme_body(), "Ada Admin")  # unsettled: audits' own consumer has not read it
    calls = []

    def flaky(message):
        calls.append(message.id)
        if len(calls) <= MAX_ATTEMPTS + 2:
            raise ConnectionError("database restarting")
        return []

    consumer = Consumer("test<-registry", [hallmark.feeds["registry"]], PolicyTarget(hallmark.audits, flaky))
    for _ in range(MAX_ATTEMPTS + 2):
        with pytest.raises(ConnectionError):
            consumer.poll()
        consumer.reset()
    assert consumer.poll() == 1 and consumer.health.parked == 0


def test_a_service_whose_knowledge_cannot_be_updated_refuses_to_judge(api, hallmark, monkeypatch):
    file = File(api).planned()
    consumer = next(c for c in hallmark.consumers if c.name == "decisions<-audits")

    def broken(message):
        raise RuntimeError("audits feed unreadable")

    monkeypatch.setattr(consumer.target, "policy", broken)
    file.ok(file.finding("major"), 201)  # a fact decisions cannot learn while its consumer is broken
    before = len(_events(hallmark, "decisions"))
    refused = file.decide("grant")
    assert refused.status_code == 503 and refused.json()["type"].endswith("knowledge-stale")
    assert "decisions<-audits" in refused.json()["detail"]
    assert len(_events(hallmark, "decisions")) == before
    assert api.get("/readyz").status_code == 503


def test_a_view_whose_version_changed_is_rebuilt_at_start(settings):
    from services.projections.certificates import CertificateView

    first = bootstrap(settings)
    try:
        code = first.registry.register_scheme(scheme_body(), "Ada").body["code"]
        first.settle()
        assert first.trail.all_entries()
    finally:
        first.close()
    original = CertificateView.version
    try:
        CertificateView.version = original + 1
        second = bootstrap(settings)
        try:
            assert second.certificates.position("registry") is None  # dropped: the pump replays it
            assert second.trail.all_entries()  # other views untouched
            second.settle()
            assert second.certificates.position("registry") is not None
        finally:
            second.close()
    finally:
        CertificateView.version = original
    assert code


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_service_can_be_pointed_at_its_own_store(settings, monkeypatch, tmp_path):
    elsewhere = tmp_path / "registry-elsewhere.db"
    monkeypatch.setenv("REGISTRY_SQLITE_DBNAME", str(elsewhere))
    hallmark = bootstrap(settings)
    try:
        hallmark.registry.register_scheme(scheme_body(), "Ada")
    finally:
        hallmark.close()
    assert elsewhere.exists() and not (settings.data_dir / "registry.db").exists()


@pytest.mark.postgres
def test_a_server_and_a_rebuild_never_share_views_on_postgres(tmp_path):
    """The advisory lock holds across processes and hosts: a second holder is refused, naming why."""
    from services.settings import ConfigurationError
    from tests.conftest import drop_schemas, make_settings

    first, second = make_settings("postgres", tmp_path), make_settings("postgres", tmp_path)
    second.pg_schema_prefix = first.pg_schema_prefix
    try:
        with first.exclusive("running Hallmark"):
            with pytest.raises(ConfigurationError, match="holds"):
                with second.exclusive("a rebuild"):
                    pass
            other = make_settings("postgres", tmp_path)  # another instance (schema prefix): its own lock
            with other.exclusive("running Hallmark"):
                pass
        with second.exclusive("a rebuild"):  # released with the first
            pass
    finally:
        drop_schemas(first)


@pytest.mark.postgres
def test_a_restarted_server_waits_for_the_lock_a_killed_one_left_behind(tmp_path):
    """kill -9 leaves the dead process's session, and its lock, until PostgreSQL notices the closed
    connection. A server started again at once (the supervisor's first back-off is 0.5 s) waits for it
    instead of exiting; a rebuild, which nobody restarts, is still refused at once."""
    import signal
    import subprocess
    import sys

    from services.settings import ConfigurationError
    from tests.conftest import drop_schemas, make_settings

    first, second = make_settings("postgres", tmp_path), make_settings("postgres", tmp_path)
    second.pg_schema_prefix = first.pg_schema_prefix
    script = (
        "import sys, time\n"
        "from tests.conftest import make_settings\n"
        "from pathlib import Path\n"
        "s = make_settings('postgres', Path(sys.argv[1])); s.pg_schema_prefix = sys.argv[2]\n"
        "with s.exclusive('running Hallmark'):\n"
        "    print('held', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), first.pg_schema_prefix],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigurationError, match="holds"):
            with second.exclusive("a rebuild"):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        with second.exclusive("running Hallmark", wait=20):
            with pytest.raises(ConfigurationError, match="kept it for 1 s"):
                with first.exclusive("running Hallmark", wait=1):  # a live holder: refused once the wait is over
                    pass
    finally:
        holder.kill()
        drop_schemas(first)
