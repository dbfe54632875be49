"""Signed webhooks (Standard Webhooks) to a real HTTP receiver that verifies them with the
standardwebhooks package's own verifier; retries with back-off, the delivery log, replay with the
same webhook-id, pausing a failing subscription, and no delivery lost across a restart (ADR 0014)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook

from services.bootstrap import bootstrap
from tests.integration.test_partners import ADMIN, register
from tests.support import File


class Receiver:
    """A partner's endpoint: refuses the first ``refuse`` requests with 503, then verifies each delivery's
    signature with the standardwebhooks package and keeps what it accepted."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.secret: str | None = None
        self.received: list[tuple[dict, dict]] = []  # (headers, verified payload)
        self.refused = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                if receiver.refused < receiver.refuse:
                    receiver.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except Exception:
                    receiver.bad_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.received.append((headers, payload))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hallmark"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Clock:
    """The partners' clock, moved forward by the test instead of waiting for back-off."""

    def __init__(self, store) -> None:
        self.real, self.offset = store.now, timedelta()
        store.now = lambda: self.real() + self.offset

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


def subscribe(api, partner_id, url, **extra) -> dict:
    answer = api.post(f"/v1/partners/{partner_id}/subscriptions", {"url": url, **extra}, *ADMIN)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_suspension_reaches_the_partner_signed_and_in_the_change_feed(api, hallmark, receiver):
    partner = register(api)
    receiver.secret = subscribe(api, partner["id"], receiver.url, events=["suspended", "restored"])["secret"]
    file = File(api).granted()
    assert receiver.received == []  # issued: not subscribed
    file.ok(file.decide("suspend"), 201)
    assert len(receiver.received) == 1 and receiver.bad_signatures == 0
    headers, payload = receiver.received[0]
    assert payload["type"] == "certificate.suspended"
    assert payload["data"]["number"] == file.certificate and payload["data"]["certificate"]["status"] == "suspended"
    assert "restricted" not in payload["data"]  # the public view only, for a partner without beyond_public
    assert headers["webhook-id"].startswith("msg_")
    feed = api.get("/public/v1/changes").json()["items"]
    assert [(c["kind"], c["number"]) for c in feed] == [("issued", file.certificate), ("suspended", file.certificate)]
    assert feed[1]["seq"] == payload["data"]["change_seq"] and feed[1]["certificate"] == payload["data"]["certificate"]
    text = json.dumps(feed)
    for person in ("Luc Lead", "Dirk Decider", "Carla Consult", "Ann Auditor"):
        assert person not in text  # R9


def test_a_refusing_endpoint_is_retried_with_back_off_and_every_attempt_is_logged(api, hallmark):
    receiver = Receiver(refuse=3)
    try:
        clock = Clock(hallmark.partners)
        partner = register(api)
        receiver.secret = subscribe(api, partner["id"], receiver.url, events=["issued"])["secret"]
        File(api).granted()
        assert receiver.refused == 1 and receiver.received == []
        hallmark.settle()
        assert receiver.refused == 1  # not due yet: back-off
        for seconds in (6, 36, 150):  # 5 s, 30 s, 2 min, each with up to 20 % spread
            clock.advance(seconds=seconds)
            hallmark.settle()
        assert receiver.refused == 3 and len(receiver.received) == 1
        [delivery] = api.get(f"/v1/partners/{partner['id']}/deliveries", *ADMIN).json()["items"]
        assert delivery["status"] == "delivered"
        assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503, 204]
        assert receiver.received[0][0]["webhook-id"] == delivery["id"]
    finally:
        receiver.close()


def test_a_replay_carries_the_same_webhook_id(api, hallmark, receiver):
    partner = register(api)
    receiver.secret = subscribe(api, partner["id"], receiver.url)["secret"]
    File(api).granted()
    [delivery] = api.get(f"/v1/partners/{partner['id']}/deliveries", *ADMIN).json()["items"]
    replayed = api.post(f"/v1/partners/{partner['id']}/deliveries/{delivery['id']}/replay", {}, *ADMIN)
    assert replayed.status_code == 200
    hallmark.settle()
    ids = [h["webhook-id"] for h, _ in receiver.received]
    assert ids == [delivery["id"], delivery["id"]]  # the receiver can tell the duplicate
    assert receiver.received[0][1] == receiver.received[1][1]


def test_a_subscription_that_keeps_failing_is_paused_and_its_owner_told(api, hallmark):
    clock = Clock(hallmark.partners)
    partner = register(api)
    subscription = subscribe(api, partner["id"], "http://127.0.0.1:9/closed", events=["issued"])
    for _ in range(5):
        File(api).granted()
    for _ in range(40):  # a day and a half of retries, in steps of the longest back-off
        clock.advance(hours=1)
        hallmark.settle()
    [paused] = api.get(f"/v1/partners/{partner['id']}/subscriptions", *ADMIN).json()["items"]
    assert paused["status"] == "paused" and "in a row" in paused["paused_reason"]
    failed = api.get(f"/v1/partners/{partner['id']}/deliveries", *ADMIN, status="failed").json()["items"]
    assert len(failed) == 5 and all(len(d["attempts"]) >= 8 for d in failed)
    [notice] = api.get(f"/v1/partners/{partner['id']}/notices", *ADMIN).json()["items"]
    assert notice["to"] == "it@awv.example" and subscription["id"] in notice["subject"]
    File(api).granted()  # while paused: kept, not sent
    assert api.get(f"/v1/partners/{partner['id']}/deliveries", *ADMIN, status="paused").json()["items"]


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_restart_mid_delivery_loses_nothing(api, hallmark, settings):
    receiver = Receiver(refuse=1)
    try:
        partner = register(api)
        receiver.secret = subscribe(api, partner["id"], receiver.url, events=["issued", "suspended"])["secret"]
        file = File(api).granted()
        assert receiver.refused == 1 and receiver.received == []  # refused: pending, due in 5 s
        hallmark.close()  # Hallmark stops with the delivery pending
        again = bootstrap(settings)
        try:
            clock = Clock(again.partners)
            clock.advance(seconds=10)
            again.settle()
            assert len(receiver.received) == 1 and receiver.received[0][1]["data"]["number"] == file.certificate
        finally:
            again.close()
    finally:
        receiver.close()


def test_the_change_feed_pages_in_order_and_replays(api, hallmark):
    files = [File(api).granted() for _ in range(3)]
    files[0].ok(files[0].decide("suspend"), 201)
    first = api.get("/public/v1/changes", limit=2).json()
    assert [c["kind"] for c in first["items"]] == ["issued", "issued"] and first["more"]
    rest = api.get("/public/v1/changes", after=first["next_cursor"], limit=2).json()
    assert [c["kind"] for c in rest["items"]] == ["issued", "suspended"]
    again = api.get("/public/v1/changes", after=first["next_cursor"], limit=2).json()
    assert again["items"] == rest["items"]  # replayable
    seqs = [c["seq"] for c in first["items"] + rest["items"]]
    assert seqs == sorted(seqs)
    end = api.get("/public/v1/changes", after=rest["next_cursor"]).json()
    assert end["items"] == [] and end["next_cursor"] == rest["next_cursor"]  # poll from here
    assert api.get("/public/v1/changes", after="garbage").status_code == 422
