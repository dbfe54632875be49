"""Dead letters: parked messages survive a restart, keep their service failing closed, and operators
list, retry or discard them, each with who and why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.bootstrap import bootstrap
from services.web import create_app
from shared.application import ParkedMessage
from shared.bus import MAX_ATTEMPTS
from tests.support import Api, File

OPERATOR = ("Otto Operator", "admin")


def _park_next(consumer) -> None:
    """Drive one consumer until it parks the message it cannot apply."""
    consumer.park_after_seconds = 0
    parked_before = consumer.health.parked
    for _ in range(MAX_ATTEMPTS + 1):
        try:
            consumer.poll()
        except Exception:
            consumer.reset()
        if consumer.health.parked > parked_before:
            return
    raise AssertionError(f"{consumer.name} did not park")


def _file_with_parked_major(api, hallmark, monkeypatch) -> tuple[File, object, object]:
    file = File(api).planned()
    consumer = next(c for c in hallmark.consumers if c.name == "decisions<-audits")
    working = consumer.target.policy

    def broken(message):
        raise RuntimeError("cannot digest this audit event")

    monkeypatch.setattr(consumer.target, "policy", broken)
    file.ok(file.finding("major"), 201)  # decisions must learn this before any grant
    _park_next(consumer)
    monkeypatch.setattr(consumer.target, "policy", working)  # the consumer goes on; the major stays parked
    file.ok(file.report(conclusion="nonconforming"))
    return file, consumer, broken


def _restarted(hallmark):
    settings = hallmark.settings
    hallmark.close()
    again = bootstrap(settings)
    client = TestClient(create_app(again, run_pump=False), raise_server_exceptions=False)
    return again, client


def test_a_restarted_service_still_refuses_to_judge_while_a_message_is_parked(api, hallmark, monkeypatch):
    file, consumer, _ = _file_with_parked_major(api, hallmark, monkeypatch)
    assert file.decide("grant").status_code == 503

    again, client = _restarted(hallmark)
    try:
        with client:
            api2 = Api(client, again.settings.local_secret(), again.settle)
            file.api = api2
            refused = file.decide("grant")  # without the parked major, decisions would wrongly grant
            assert refused.status_code == 503, refused.text
            assert refused.json()["type"].endswith("knowledge-stale")
            assert refused.headers["Retry-After"]

            response = api2.get("/v1/operations/parked-messages", *OPERATOR)
            assert response.status_code == 200, response.text
            listed = response.json()["items"]
            assert [(p["consumer"], p["type"], p["status"]) for p in listed] == [
                ("decisions<-audits", "Audit.FindingRecorded", "parked")]
            assert "cannot digest" in listed[0]["error"]

            # The cause is fixed (the restarted service runs the working policy); the operator retries it.
            retried = api2.post("/v1/operations/parked-messages/retry", {
                "consumer": "decisions<-audits", "message_id": listed[0]["message_id"],
                "reason": "policy fixed in release 1.2.1"}, *OPERATOR)
            assert retried.status_code == 200, retried.text
            assert retried.json()["still_parked"] == 0
            assert api2.get("/v1/operations/parked-messages", *OPERATOR).json()["items"] == []

            # Decisions now knows the open major: the grant is refused by R4, no longer by staleness.
            refused = file.decide("grant")
            assert refused.status_code == 409 and refused.json()["type"].endswith("open-major-nonconformity")
            parked = again.decisions.find(ParkedMessage.create_id(listed[0]["message_id"]))
            assert (parked.status, parked.resolved_by, parked.resolution) == (
                "retried", "Otto Operator", "policy fixed in release 1.2.1")
    finally:
        again.close()


def test_discarding_a_parked_message_records_who_and_why_and_reopens_commands(api, hallmark, monkeypatch):
    file, consumer, _ = _file_with_parked_major(api, hallmark, monkeypatch)
    message_id = consumer.parked()[0]["message_id"]
    missing_reason = api.post("/v1/operations/parked-messages/discard",
                              {"consumer": consumer.name, "message_id": message_id}, *OPERATOR)
    assert missing_reason.status_code == 422
    not_admin = api.post("/v1/operations/parked-messages/discard",
                         {"consumer": consumer.name, "message_id": message_id, "reason": "x"}, *File.DECIDER)
    assert not_admin.status_code == 403
    assert file.decide("grant").status_code == 503

    discarded = api.post("/v1/operations/parked-messages/discard", {
        "consumer": consumer.name, "message_id": message_id, "reason": "duplicate of a corrected finding"},
        *OPERATOR)
    assert discarded.status_code == 200, discarded.text
    parked = hallmark.decisions.find(ParkedMessage.create_id(message_id))
    assert (parked.status, parked.resolved_by) == ("discarded", "Otto Operator")
    again = api.post("/v1/operations/parked-messages/discard", {
        "consumer": consumer.name, "message_id": message_id, "reason": "twice"}, *OPERATOR)
    assert again.status_code == 404 and again.headers["content-type"].startswith("application/problem+json")
    # The operator took responsibility for the gap: decisions judges again, on what it knows.
    assert file.decide("grant").status_code == 201


def test_a_retry_that_fails_again_changes_nothing(api, hallmark, monkeypatch):
    _, consumer, broken = _file_with_parked_major(api, hallmark, monkeypatch)
    monkeypatch.setattr(consumer.target, "policy", broken)  # the cause is not fixed yet
    message_id = consumer.parked()[0]["message_id"]
    before = hallmark.decisions.recorder.max_notification_id()
    failed = api.post("/v1/operations/parked-messages/retry", {
        "consumer": consumer.name, "message_id": message_id, "reason": "try again"}, *OPERATOR)
    assert failed.status_code == 409 and failed.json()["type"].endswith("retry-failed")
    assert "cannot digest" in failed.json()["detail"]
    assert hallmark.decisions.recorder.max_notification_id() == before
    assert [p["message_id"] for p in consumer.parked()] == [message_id]
    unknown = api.post("/v1/operations/parked-messages/retry", {
        "consumer": "nobody<-nothing", "message_id": message_id, "reason": "x"}, *OPERATOR)
    assert unknown.status_code == 404


def test_a_view_parks_survives_restart_and_retries(api, hallmark, monkeypatch):
    file = File(api)
    consumer = next(c for c in hallmark.consumers if c.name == "trail<-all")
    working = hallmark.trail.handle

    def broken(cursor, message):
        raise RuntimeError("trail table unwritable")

    monkeypatch.setattr(hallmark.trail, "handle", broken)
    file.create_scheme()
    _park_next(consumer)
    monkeypatch.setattr(hallmark.trail, "handle", working)
    [parked] = consumer.parked()

    again, client = _restarted(hallmark)
    try:
        with client:
            api2 = Api(client, again.settings.local_secret(), again.settle)
            response = api2.get("/v1/operations/parked-messages", *OPERATOR)
            assert response.status_code == 200, response.text
            listed = response.json()["items"]
            assert [(p["consumer"], p["message_id"]) for p in listed] == [("trail<-all", parked["message_id"])]
            ready = again.consumers[-1].health.parked
            assert ready == 1
            retried = api2.post("/v1/operations/parked-messages/retry", {
                "consumer": "trail<-all", "message_id": parked["message_id"], "reason": "disk replaced"}, *OPERATOR)
            assert retried.status_code == 200, retried.text
            types = [e["type"] for e in again.trail.all_entries()]
            assert "Scheme.Registered" in types
    finally:
        again.close()


@pytest.fixture(autouse=True)
def _no_background_pump(hallmark):
    assert hallmark.pump is not None and not hallmark.pump.running


def test_the_parked_listing_pages_and_refuses_forged_cursors(api, hallmark, monkeypatch):
    consumer = next(c for c in hallmark.consumers if c.name == "audits<-registry")

    def broken(message):
        raise RuntimeError("cannot digest schemes")

    monkeypatch.setattr(consumer.target, "policy", broken)
    for _ in range(3):
        File(api).create_scheme()
        _park_next(consumer)
    first = api.get("/v1/operations/parked-messages", *OPERATOR, limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get("/v1/operations/parked-messages", *OPERATOR, limit=2, cursor=first["next_cursor"]).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [p["message_id"] for p in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    import base64
    forged = base64.urlsafe_b64encode(b"parked:abc").decode().rstrip("=")
    assert api.get("/v1/operations/parked-messages", *OPERATOR, cursor=forged).status_code == 422
    assert api.get("/v1/operations/parked-messages", *OPERATOR, cursor="%%%").status_code == 422
