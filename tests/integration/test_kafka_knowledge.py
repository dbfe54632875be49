"""Knowledge across services joined only by Kafka, with relays and consumers running in the background
as they do in separate processes: a fact answered by one service is known to the next command of
another, consistency tokens are honoured, and nothing is judged on stale knowledge (ADR 0009)."""

from __future__ import annotations

from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from services.bootstrap import Hallmark, bootstrap
from services.settings import Settings
from services.web import create_app
from tests.support import Api, File, application_body, retried, scheme_body, today

pytestmark = pytest.mark.kafka


@pytest.fixture
def live(settings: Settings, kafka_bootstrap: str, kafka_prefix: str) -> Iterator[tuple[Api, Hallmark]]:
    settings.transport = "kafka"
    settings.kafka_bootstrap = kafka_bootstrap
    settings.kafka_prefix = kafka_prefix
    system = bootstrap(settings)
    with TestClient(create_app(system, run_pump=True), raise_server_exceptions=False) as client:
        yield Api(client, system.settings.local_secret(), lambda: None), system  # nothing settled by hand
    system.close()


def test_a_major_finding_answered_is_known_to_the_next_grant(live):
    api, _ = live
    for _ in range(5):
        _major_then_grant_at_once(api)


def planned_across_services(api: Api) -> File:
    """Scheme, application, acceptance and an initial audit, each command retried while the facts it
    needs travel from the service that recorded them."""
    file = File(api)
    file.create_scheme()
    file.application_id = file.ok(retried(lambda: api.post(
        "/v1/applications", application_body(file.scheme), *File.APPLICANT)), 201)["id"]
    file.ok(retried(lambda: api.post(f"/v1/applications/{file.application_id}/review",
                                    {"outcome": "accepted", "reason": "complete"}, *File.OFFICER)))
    file.audit_id = file.ok(retried(lambda: api.post("/v1/audits", {
        "application_id": file.application_id, "kind": "initial", "planned_start": today().isoformat()},
        *File.LEAD)), 201)["id"]
    return file


def _major_then_grant_at_once(api: Api) -> None:
    file = planned_across_services(api)
    reported = file.audit_id
    file.ok(retried(lambda: file.team("Luc Lead", "lead_auditor")))
    file.ok(file.report())
    file.audit_id = file.ok(api.post("/v1/audits", {
        "application_id": file.application_id, "kind": "special", "planned_start": today().isoformat()},
        *File.LEAD), 201)["id"]
    file.ok(file.team("Luc Lead", "lead_auditor"))
    assert file.finding("major").status_code == 201
    # At once, on decisions: the grant must never pass while the major stands.
    file.audit_id = reported
    grant = retried(lambda: file.decide("grant"))
    assert grant.status_code == 409 and grant.json()["type"].endswith("open-major-nonconformity"), grant.text


def test_a_command_answers_a_consistency_token_that_another_service_honours(live):
    api, system = live
    scheme = api.post("/v1/schemes", scheme_body(), *File.ADMIN)
    assert scheme.status_code == 201
    service, position = scheme.headers["Hallmark-Position"].split(":")
    assert service == "registry" and int(position) > 0
    body = application_body(scheme.json()["code"])
    # With the token, applications first applies the registry's event: no not-yet-known.
    submitted = api.client.post("/v1/applications", json=body, headers={
        **api.headers(*File.APPLICANT), "Hallmark-After": scheme.headers["Hallmark-Position"]})
    assert submitted.status_code == 201, submitted.text
    bad = api.client.post("/v1/applications", json=body, headers={
        **api.headers(*File.APPLICANT), "Hallmark-After": "registry;1"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    unreachable = api.client.post("/v1/applications", json=body, headers={
        **api.headers(*File.APPLICANT), "Hallmark-After": "registry:999999999"})
    assert unreachable.status_code == 409 and unreachable.json()["type"].endswith("not-yet-known")
    assert unreachable.headers["Retry-After"]
