"""One contract for the seam, run against both transports: the embedded feed (an upstream service's
notification log, in-process) and Apache Kafka (the relay publishing that log to a real broker, and
a KafkaFeed reading it back). The two cannot drift apart while these pass on both."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

import pytest

from services.registry.application import Registry
from shared.bus import MAX_ATTEMPTS, Batch, Consumer, LocalFeed
from shared.messages import Message
from tests.support import scheme_body


@dataclass
class MemoryTarget:
    """The Target contract, kept in memory: what was applied, in order, and the position per stream."""

    positions: dict[str, int] = field(default_factory=dict)
    applied: list[Message] = field(default_factory=list)
    parked: list[tuple[Message, str]] = field(default_factory=list)
    poison: str | None = None  # a scheme code whose events fail

    def position(self, stream: str) -> int | None:
        return self.positions.get(stream)

    def apply(self, message: Message) -> None:
        if self.poison and message.data.get("code") == self.poison:
            raise ValueError("cannot digest this scheme")
        if message.position <= self.positions.get(message.stream, 0):
            return
        self.applied.append(message)
        self.positions[message.stream] = message.position

    def park(self, message: Message, error: str) -> None:
        self.parked.append((message, error))
        self.positions[message.stream] = message.position

    def parked_messages(self, streams) -> list[dict]:
        return [{"message_id": m.id, "stream": m.stream, "position": m.position} for m, _ in self.parked]


class Transport:
    """An upstream registry and the feed a downstream consumer reads it through."""

    def __init__(self, kind: str, registry: Registry, bootstrap: str | None = None, prefix: str | None = None):
        self.kind = kind
        self.registry = registry
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.io = None
        self.relay = None
        self.feeds: list = []
        if kind == "kafka":
            from shared.kafka import KafkaIO, Relay, ensure_topics

            self.io = KafkaIO()
            self.io.run(ensure_topics(bootstrap, ["registry"], prefix=prefix))
            self.relay = Relay(registry, bootstrap, self.io, prefix=prefix)

    def feed(self):
        if self.kind == "local":
            return LocalFeed(self.registry)
        from shared.kafka import KafkaFeed

        feed = KafkaFeed("registry", self.bootstrap, self.io, prefix=self.prefix)
        self.feeds.append(feed)
        return feed

    def publish(self) -> None:
        if self.relay is not None:
            self.relay.drain()

    def close(self) -> None:
        for feed in self.feeds:
            feed.close()
        if self.io is not None:
            self.io.close()


@pytest.fixture
def over_kafka(tmp_path, kafka_bootstrap, kafka_prefix) -> Iterator[Transport]:
    """A registry and the Kafka transport only: relay-specific behaviour."""
    registry = Registry(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "r.db")})
    transport = Transport("kafka", registry, kafka_bootstrap, kafka_prefix)
    yield transport
    transport.close()
    registry.close()


@pytest.fixture(params=["local", pytest.param("kafka", marks=pytest.mark.kafka)])
def transport(request, tmp_path) -> Iterator[Transport]:
    registry = Registry(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "r.db")})
    if request.param == "kafka":
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        t = Transport("kafka", registry, bootstrap, request.getfixturevalue("kafka_prefix"))
    else:
        t = Transport("local", registry)
    yield t
    t.close()
    registry.close()


def _register(registry: Registry, n: int) -> list[str]:
    codes = []
    for _ in range(n):
        codes.append(registry.register_scheme(_spec(), "Ada Admin").body["code"])
    return codes


def _spec() -> dict:
    body = scheme_body()
    body["documents"] = [{**d, "effective_from": d["effective_from"]} for d in body["documents"]]
    return body


def _published(registry: Registry) -> list[Message]:
    return [m for m in (registry.message(n) for n in registry.recorder.select_notifications(start=None, limit=10_000))
            if m is not None]


def _drain(consumer: Consumer, expected: int, rounds: int = 200) -> None:
    for _ in range(rounds):
        consumer.poll()
        if len(consumer.target.applied) >= expected:
            return
        time.sleep(0.05)


def _key(message: Message) -> tuple:
    return (message.id, message.type, message.subject, message.version, message.data)


def test_every_published_event_arrives_once_and_in_order(transport):
    _register(transport.registry, 5)
    code = transport.registry.message(transport.registry.recorder.select_notifications(start=None, limit=1)[0]).data[
        "code"]
    transport.registry.register_commission(  # R53: a PTV version is published on a sectoral commission's decision
        {"code": "SC-KERBS", "name": "Sectoral commission for kerbs", "schemes": [code], "marks": []}, "Ada Admin")
    transport.registry.publish_document(
        code, {"kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": date(2025, 6, 1),
               "transition_deadline": None,
               "commission_decision": {"commission": "SC-KERBS", "reference": "SC-KERBS/2025/05",
                                       "date": date(2025, 5, 1)}}, "Ada Admin")
    transport.publish()
    target = MemoryTarget()
    consumer = Consumer("test", [transport.feed()], target)
    expected = _published(transport.registry)
    _drain(consumer, len(expected))
    assert [_key(m) for m in target.applied] == [_key(m) for m in expected]
    assert consumer.poll() == 0 and consumer.lag() == 0


def test_a_new_consumer_resumes_from_the_stored_position(transport):
    _register(transport.registry, 3)
    transport.publish()
    target = MemoryTarget()
    _drain(Consumer("test", [transport.feed()], target), 3)
    _register(transport.registry, 2)
    transport.publish()
    again = Consumer("test", [transport.feed()], target)  # a restart: only the stored positions remain
    _drain(again, 5)
    assert [m.id for m in target.applied] == [m.id for m in _published(transport.registry)]


def _until_parked(consumer: Consumer, applied: int) -> None:
    """Poll through the failures until the poison is parked and ``applied`` others went through."""
    for _ in range(MAX_ATTEMPTS + 200):
        try:
            consumer.poll()
        except ValueError:
            consumer.reset()
        if len(consumer.target.applied) == applied and consumer.target.parked:
            return
        time.sleep(0.02)


def test_a_poison_message_is_parked_and_the_stream_goes_on(transport):
    codes = _register(transport.registry, 3)
    transport.publish()
    target = MemoryTarget(poison=codes[1])
    _until_parked(Consumer("test", [transport.feed()], target, park_after_seconds=0), applied=2)
    assert [m.data["code"] for m in target.applied] == [codes[0], codes[2]]
    assert [m.data["code"] for m, _ in target.parked] == [codes[1]] and "cannot digest" in target.parked[0][1]


@pytest.mark.kafka
def test_events_the_relay_sends_twice_have_no_second_effect(over_kafka):
    transport = over_kafka
    registry = transport.registry
    _register(registry, 3)
    transport.publish()
    target = MemoryTarget()
    _drain(Consumer("test", [transport.feed()], target), 3)
    # The relay crashed after the broker acknowledged, before it recorded how far it got: a new relay
    # whose record is behind sends everything again, at new offsets.
    from shared.kafka import Relay

    behind = Relay(registry, transport.bootstrap, transport.io, prefix=transport.prefix)
    behind.tracking_name = "relay:lost-its-record"
    behind.drain()
    _register(registry, 1)
    transport.publish()
    consumer = Consumer("test", [transport.feed()], target)  # restarted: derives its mark from the store
    _drain(consumer, 4)
    for _ in range(10):
        consumer.poll()
    assert [m.id for m in target.applied] == [m.id for m in _published(registry)]
    assert len({m.id for m in target.applied}) == 4
    head = transport.feed().head(f"{transport.prefix}registry.events:0")
    assert head == 7  # 3 + 3 sent again + 1: the duplicates are in the topic, not in the effects


@pytest.mark.kafka
def test_a_parked_message_is_copied_to_the_dead_letter_topic_with_its_error(over_kafka):
    transport = over_kafka
    registry = transport.registry
    codes = _register(registry, 2)
    transport.publish()
    target = MemoryTarget(poison=codes[0])
    consumer = Consumer("test<-registry", [transport.feed()], target, park_after_seconds=0)
    _until_parked(consumer, applied=1)
    assert [m.data["code"] for m in target.applied] == [codes[1]]  # the stream went on

    from aiokafka import TopicPartition

    from shared.kafka import dead_letter_topic, from_record

    async def read_dead_letters():
        from aiokafka import AIOKafkaConsumer

        reader = AIOKafkaConsumer(bootstrap_servers=transport.bootstrap, enable_auto_commit=False)
        await reader.start()
        tp = TopicPartition(dead_letter_topic(f"{transport.prefix}registry.events"), 0)
        reader.assign([tp])
        reader.seek(tp, 0)
        try:
            return (await reader.getmany(tp, timeout_ms=5000)).get(tp, [])
        finally:
            await reader.stop()

    [record] = transport.io.run(read_dead_letters())
    headers = dict(record.headers)
    assert b"cannot digest" in headers["hallmark_error"] and headers["hallmark_consumer"] == b"test<-registry"
    assert from_record(record).id == target.parked[0][0].id


@pytest.mark.kafka
def test_the_watchdog_restarts_a_consumer_that_stalls_with_lag(over_kafka, monkeypatch):
    from shared.bus import Pump

    transport = over_kafka
    registry = transport.registry
    _register(registry, 3)
    transport.publish()
    target = MemoryTarget()
    feed = transport.feed()
    consumer = Consumer("test", [feed], target)
    pump = Pump([consumer])
    real_read = type(feed).read
    monkeypatch.setattr(type(feed), "read", lambda self, stream, after, limit: Batch([], after))  # stopped silently
    pump.run_until_idle()
    assert target.applied == [] and consumer.lag() == 3
    assert pump.watchdog(stall_seconds=3600) == []  # not stalled long enough yet
    consumer.health.last_progress -= 3601
    assert pump.watchdog(stall_seconds=3600) == ["test"] and consumer.health.restarts == 1
    monkeypatch.setattr(type(feed), "read", real_read)
    _drain(consumer, 3)
    assert len(target.applied) == 3


@pytest.mark.kafka
def test_the_relay_rides_out_a_store_failure_and_reports_it(over_kafka, monkeypatch):
    transport = over_kafka
    registry = transport.registry
    relay = transport.relay
    real = registry.recorder.select_notifications
    failures = []

    def flaky(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise ConnectionError("the database restarted")
        return real(*args, **kwargs)

    try:
        monkeypatch.setattr(registry.recorder, "select_notifications", flaky)
        relay.start()
        _register(registry, 1)
        deadline = time.monotonic() + 20
        while relay.lag() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures and relay.lag() == 0 and relay.health.published == 1
        assert relay.health.last_error is None  # failed once, reported, then recovered
    finally:
        relay.stop()


@pytest.mark.kafka
def test_topics_that_cannot_be_created_are_an_error(kafka_bootstrap, kafka_prefix):
    from aiokafka.errors import KafkaError

    from shared.kafka import KafkaIO, ensure_topics

    io = KafkaIO()
    try:
        with pytest.raises(KafkaError, match="could not create"):
            io.run(ensure_topics(kafka_bootstrap, ["registry"], partitions=0, prefix=kafka_prefix))
        assert io.run(ensure_topics(kafka_bootstrap, ["registry"], prefix=kafka_prefix)) == [
            f"{kafka_prefix}registry.events"]
    finally:
        io.close()
