"""Web and worker (HALLMARK_ROLE): a web process serves and judges on what the worker stored; the worker
relays, consumes and sweeps. Web processes can therefore scale past one replica (ADR 0009)."""

from __future__ import annotations

import copy
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from services.bootstrap import Hallmark, bootstrap
from services.settings import Settings
from services.web import create_app
from tests.integration.test_kafka_knowledge import _major_then_grant_at_once, planned_across_services
from tests.support import Api, File, retried, wait_for

pytestmark = pytest.mark.kafka


@pytest.fixture
def web_and_worker(settings: Settings, kafka_bootstrap: str, kafka_prefix: str) -> Iterator[tuple[Api, Hallmark]]:
    settings.transport, settings.kafka_bootstrap, settings.kafka_prefix = "kafka", kafka_bootstrap, kafka_prefix
    worker_settings, web_settings = copy.copy(settings), copy.copy(settings)
    worker_settings.role, web_settings.role = "worker", "web"
    worker = bootstrap(worker_settings)
    web = bootstrap(web_settings)
    worker.start()
    try:
        with TestClient(create_app(web, run_pump=True), raise_server_exceptions=False) as client:
            assert web.pump is not None and not web.pump.running and not any(r._task for r in web.relays)
            yield Api(client, settings.local_secret(), lambda: None), worker
    finally:
        web.close()
        worker.close()


def test_a_web_process_judges_on_what_the_worker_applied(web_and_worker):
    api, _ = web_and_worker
    for _ in range(3):
        _major_then_grant_at_once(api)


def test_the_lifecycle_through_a_web_process(web_and_worker):
    api, _ = web_and_worker
    file = planned_across_services(api)
    file.ok(retried(lambda: file.team("Luc Lead", "lead_auditor")))
    file.ok(file.report())
    file.ok(retried(lambda: file.decide("grant")), 201)

    def certificate():
        items = api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id).json()["items"]
        return items[0]["number"] if items else None

    file.certificate = wait_for(certificate, timeout=15)
    assert file.certificate, "the worker issued no certificate"
    file.ok(retried(lambda: file.decide("suspend")), 201)
    assert wait_for(lambda: api.get(f"/public/v1/certificates/{file.certificate}").json()["status"] == "suspended",
                    timeout=15)


def test_a_web_process_fails_closed_on_what_the_worker_parked(web_and_worker, monkeypatch):
    api, worker = web_and_worker
    consumer = next(c for c in worker.consumers if c.name == "decisions<-audits")
    consumer.park_after_seconds = 0

    def broken(message):
        raise RuntimeError("cannot digest this audit event")

    monkeypatch.setattr(consumer.target, "policy", broken)
    file = planned_across_services(api)
    assert wait_for(lambda: consumer.health.parked, timeout=60), "the worker did not park"
    refused = api.post("/v1/decisions", {"subject": {"application_id": file.application_id}, "outcome": "refuse",
                                         "basis": [], "rationale": "r"}, *File.DECIDER)
    assert refused.status_code == 503 and refused.json()["type"].endswith("knowledge-stale"), refused.text
