"""The Kafka transport of the seam: a relay that publishes a service's notification log to its topic,
and a feed that reads a topic back as ordered streams, with the same contract as the embedded
``LocalFeed`` (``shared/bus.py``).

- One topic per service, ``hallmark.<service>.events``; the Kafka key is the aggregate id, so one
  aggregate's events stay in one partition, in order.
- Records are CloudEvents 1.0 in binary content mode: every attribute in a ``ce_*`` header, the
  event's data as the JSON value. ``ce_id`` is the stored event's deterministic id
  (``source/subject/version``); ``hallmark_position`` carries the upstream notification id.
- A stream is ``topic:partition``; a message's position in it is ``offset + 1`` (so 0 still means
  "nothing applied"). A relay that crashed after the broker acknowledged but before it recorded its
  progress sends some events again, at new offsets: consumers recognise them because their upstream
  position does not exceed the highest one already applied on that partition (``Consumer`` keeps
  that mark, and re-derives it on start from the record at its stored offset).
- aiokafka is asyncio-only; Hallmark's consumers and eventsourcing are synchronous. ``KafkaIO`` runs
  one event loop in a background thread per process, and the sync facade submits coroutines to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Awaitable, Callable, Iterable, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from eventsourcing.persistence import Tracking

from shared import contract
from shared.bus import Batch
from shared.contract import TOPIC_PREFIX, topic_for
from shared.messages import Message, canonical_json

log = logging.getLogger(__name__)

T = TypeVar("T")

SPECVERSION = "1.0"
POSITION_HEADER = "hallmark_position"
# Explicit topic configuration (ADR 0009): the event stores are the source of truth and a topic is
# their published copy, kept whole so that any consumer can rebuild from offset 0.
TOPIC_CONFIG = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
    "min.insync.replicas": "1",
    "message.timestamp.type": "CreateTime",
}


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlt"


def stream_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def parse_stream(stream: str) -> TopicPartition:
    topic, _, partition = stream.rpartition(":")
    return TopicPartition(topic, int(partition))


def _same(value: Any) -> Any:
    return value


# -- CloudEvents binary content mode --------------------------------------------------------------


def to_record(message: Message, traceparent: str | None = None,
              seal: Callable[[Any], Any] | None = None) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers of the Kafka record for one published event. ``seal``: names of people
    go on the wire sealed, as they are stored (``shared.people``)."""
    headers = {
        "ce_specversion": SPECVERSION,
        "ce_id": message.id,
        "ce_source": contract.source_for(message.source),
        "ce_type": message.type,
        "ce_subject": message.subject,
        "ce_time": message.time.isoformat(),
        "ce_partitionkey": message.subject,
        "content-type": "application/json",
        "ce_hallmarkversion": str(message.version),
        "ce_dataschema": contract.schema_uri(message.type),
        POSITION_HEADER: str(message.origin_position or message.position),
    }
    if traceparent:
        headers["traceparent"] = traceparent
    value = canonical_json(seal(message.data) if seal else message.data).encode()
    return message.subject.encode(), value, [(k, v.encode()) for k, v in headers.items()]


def from_record(record: Any, open: Callable[[Any], Any] | None = None) -> Message:
    headers = {k: v.decode() for k, v in (record.headers or ())}
    missing = [h for h in ("ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", POSITION_HEADER) if h not in headers]
    if missing:
        raise ValueError(f"record {record.topic}:{record.partition}@{record.offset} lacks {', '.join(missing)}")
    source = headers["ce_source"].removeprefix("hallmark/")
    return Message(
        stream=stream_name(record.topic, record.partition),
        position=record.offset + 1,
        source=source,
        type=headers["ce_type"],
        subject=headers["ce_subject"],
        version=int(headers.get("ce_hallmarkversion") or headers["ce_id"].rsplit("/", 1)[-1]),
        time=datetime.fromisoformat(headers["ce_time"]),
        data=(open or _same)(json.loads(record.value or b"{}")),
        origin_position=int(headers[POSITION_HEADER]),
        traceparent=headers.get("traceparent"),
    )


# -- one asyncio loop per process, used from synchronous code ------------------------------------


class KafkaIO:
    """A background event loop for aiokafka; ``run`` blocks the caller until a coroutine is done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._offsets: dict[str, AIOKafkaConsumer] = {}
        self._producers: dict[str, AIOKafkaProducer] = {}
        self._thread = threading.Thread(target=self.loop.run_forever, name="hallmark-kafka-io", daemon=True)
        self._thread.start()

    def run(self, coroutine: Awaitable[T], timeout: float = 30.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    async def end_offsets(self, bootstrap: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The current end offsets, asked of the broker by a client that fetches nothing, so the answer
        does not wait behind a fetch in flight."""
        client = self._offsets.get(bootstrap)
        if client is None:
            client = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
            await client.start()
            self._offsets[bootstrap] = client
        return await client.end_offsets(partitions)

    async def send(self, bootstrap: str, topic: str, key: bytes, value: bytes,
                   headers: list[tuple[str, bytes]]) -> None:
        """One record, acknowledged by all in-sync replicas (dead letters: rare, no relay ordering)."""
        producer = self._producers.get(bootstrap)
        if producer is None:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
            await producer.start()
            self._producers[bootstrap] = producer
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)

    def spawn(self, coroutine: Awaitable[Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]

    def close(self) -> None:
        for client in [*self._offsets.values(), *self._producers.values()]:
            try:
                self.run(client.stop(), timeout=5)
            except Exception:
                pass
        self._offsets.clear()
        self._producers.clear()
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


def checkpoint_topic(prefix: str = TOPIC_PREFIX) -> str:
    """Where the transparency log publishes every checkpoint it signs, for partners and witnesses
    (ADR 0011): one partition, kept forever, each record a signed note as text."""
    return f"{prefix}trail.checkpoints"


async def ensure_topics(bootstrap: str, services: Iterable[str], partitions: int = 1,
                        prefix: str = TOPIC_PREFIX, replication: int = 1) -> list[str]:
    """Create each service's topic (and the checkpoint topic) with its explicit configuration;
    existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topic_for(s, prefix) for s in services]
        missing = [t for t in wanted if t not in existing]
        missing_dlt = [dead_letter_topic(t) for t in wanted if dead_letter_topic(t) not in existing]
        # One partition each: the log's checkpoints, and the partners' change feed (its order matters).
        missing_dlt += [t for t in [checkpoint_topic(prefix), f"{prefix}public.certificate-changes"]
                        if t not in existing]
        if missing or missing_dlt:
            response = await admin.create_topics(
                [NewTopic(t, partitions, replication, topic_configs=TOPIC_CONFIG) for t in missing]
                + [NewTopic(t, 1, replication, topic_configs=TOPIC_CONFIG) for t in missing_dlt])
            refused = [(topic, code, message) for topic, code, *rest in response.topic_errors
                       for message in [rest[0] if rest else ""]
                       if code not in (0, TopicAlreadyExistsError.errno)]  # already there: created by another
            if refused:
                raise KafkaError("could not create " + "; ".join(f"{t} (error {c}: {m})" for t, c, m in refused))
        return wanted
    finally:
        await admin.close()


class CheckpointTopic:
    """The log's checkpoints on Kafka: published as they are signed, and the last one read back at
    start-up, so that a projections database that lost its log is found even without the journal."""

    def __init__(self, bootstrap: str, io: KafkaIO, prefix: str = TOPIC_PREFIX) -> None:
        self.bootstrap, self.io, self.topic = bootstrap, io, checkpoint_topic(prefix)

    def publish(self, note: str) -> None:
        origin = note.split("\n", 1)[0]
        self.io.run(self.io.send(self.bootstrap, self.topic, origin.encode(), note.encode(),
                                 [("content-type", b"text/plain; charset=utf-8")]), timeout=15)

    def notes(self) -> list[str]:
        return self.io.run(self._read(), timeout=30)

    def last(self) -> str | None:
        notes = self.notes()
        return notes[-1] if notes else None

    async def _read(self) -> list[str]:
        partition = TopicPartition(self.topic, 0)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            consumer.assign([partition])
            end = (await consumer.end_offsets([partition]))[partition]
            consumer.seek(partition, (await consumer.beginning_offsets([partition]))[partition])
            notes: list[str] = []
            while end and await consumer.position(partition) < end:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                notes += [r.value.decode() for r in batch.get(partition, [])]
            return notes
        finally:
            await consumer.stop()


# -- reading: a topic as a Feed -------------------------------------------------------------------


class KafkaFeed:
    """An upstream service's topic as a ``Feed``: its partitions are the streams.

    Each feed owns one consumer with manually assigned partitions and no committed offsets: the
    position that counts is the one the target stored with its effect, and ``read`` seeks to it."""

    relayed = True  # messages carry their upstream position (``origin_position``)

    def __init__(self, source: str, bootstrap: str, io: KafkaIO, *, partitions: int = 1,
                 prefix: str = TOPIC_PREFIX, vault: Any = None) -> None:
        self.source = source
        self.vault = vault  # opens the sealed names of people (shared.people)
        self.topic = topic_for(source, prefix)
        self.bootstrap = bootstrap
        self.io = io
        self.partitions = [TopicPartition(self.topic, p) for p in range(partitions)]
        self._consumer: AIOKafkaConsumer | None = None
        self._next: dict[TopicPartition, int] = {}  # the offset the consumer will return next

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                auto_offset_reset="none", isolation_level="read_committed", fetch_max_wait_ms=100,
            )
            await consumer.start()
            consumer.assign(self.partitions)
            self._consumer = consumer
            self._next.clear()
        return self._consumer

    def streams(self) -> list[str]:
        return [stream_name(tp.topic, tp.partition) for tp in self.partitions]

    def read(self, stream: str, after: int | None, limit: int) -> Batch:
        return self.io.run(self._read(parse_stream(stream), after or 0, limit))

    async def _read(self, tp: TopicPartition, offset: int, limit: int, wait_ms: int = 0) -> Batch:
        consumer = await self._started()
        if self._next.get(tp) != offset:
            consumer.seek(tp, offset)
            self._next[tp] = offset
        records = (await consumer.getmany(tp, timeout_ms=wait_ms, max_records=limit)).get(tp, [])
        known_end = consumer.highwater(tp)  # from the last fetch response: no request
        if not records and known_end is None:  # nothing fetched yet: ask the broker
            known_end = (await self.io.end_offsets(self.bootstrap, [tp]))[tp]
        if not records and wait_ms == 0 and known_end is not None and offset < known_end:
            # The stream has more than what was fetched so far (just after a seek): wait for it, briefly,
            # so that a read returns nothing only when the reader is at the end of the stream.
            records = (await consumer.getmany(tp, timeout_ms=2000, max_records=limit)).get(tp, [])
        if records:
            self._next[tp] = records[-1].offset + 1
        messages = [from_record(r, self.vault.open_data if self.vault else None) for r in records]
        return Batch(messages, messages[-1].position if messages else (offset or None))

    def head(self, stream: str) -> int:
        """The position of the last record in the stream (0 when empty): what a caught-up reader has read."""
        return self.io.run(self._head(parse_stream(stream)))

    async def _head(self, tp: TopicPartition) -> int:
        return (await self.io.end_offsets(self.bootstrap, [tp]))[tp]

    def fetch(self, stream: str, position: int) -> Message | None:
        """The message at one position (a parked one to retry, or the mark to resume from)."""
        return self.io.run(self._fetch(parse_stream(stream), position))

    async def _fetch(self, tp: TopicPartition, position: int) -> Message | None:
        batch = await self._read(tp, position - 1, 1, wait_ms=5000)
        self._next.pop(tp, None)  # the next read seeks again to where its caller stands
        return batch.messages[0] if batch.messages and batch.messages[0].position == position else None

    def restart(self) -> None:
        """Drop the Kafka consumer; the next read starts a new one and seeks to the stored position."""
        self.close()

    def dead_letter(self, message: Message, error: str, consumer: str) -> None:
        """Copy a parked message to ``<topic>.dlt`` with the error, the consumer and the time in headers."""
        key, value, headers = to_record(message, message.traceparent, self.vault.seal_data if self.vault else None)
        headers += [("hallmark_error", error[:2000].encode()), ("hallmark_consumer", consumer.encode()),
                    ("hallmark_parked_at", datetime.now(UTC).isoformat().encode()),
                    ("hallmark_offset", str(message.position - 1).encode())]
        self.io.run(self.io.send(self.bootstrap, dead_letter_topic(self.topic), key, value, headers))

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self.io.run(self._consumer.stop(), timeout=10)
            except Exception:  # closing is best effort
                log.warning("kafka consumer of %s did not stop cleanly", self.topic)
            self._consumer = None


# -- writing: the relay ---------------------------------------------------------------------------


@dataclass
class RelayHealth:
    published: int = 0
    last_error: str | None = None
    last_progress: float = field(default_factory=time.monotonic)


class Relay:
    """Publishes one service's notification log to its topic, in order, with an idempotent producer
    (acks=all), and records how far it got in the service's own store only after the broker
    acknowledged. Killing the relay, its service or the broker at any moment loses nothing: the
    relay starts again from what it recorded, and consumers recognise what it sends twice."""

    BATCH = 500

    def __init__(self, app: Any, bootstrap: str, io: KafkaIO, *, prefix: str = TOPIC_PREFIX,
                 traceparents: Callable[[int], str | None] | None = None) -> None:
        self.app = app  # shared.application.ServiceApplication
        self.bootstrap = bootstrap
        self.io = io
        self.topic = topic_for(app.name, prefix)
        self.tracking_name = f"relay:{self.topic}"
        self.health = RelayHealth()
        self.traceparents = traceparents or (lambda notification_id: None)
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._task: Future[Any] | None = None
        self._stopping = False
        self._published_up_to = 0
        self._published = threading.Condition()

    # progress in the service's own store
    def position(self) -> int:
        return self.app.process_recorder.max_tracking_id(self.tracking_name) or 0

    def lag(self) -> int:
        return max(0, (self.app.recorder.max_notification_id() or 0) - self.position())

    def _record(self, notification_id: int) -> None:
        self.app.process_recorder.insert_events(
            [], tracking=Tracking(application_name=self.tracking_name, notification_id=notification_id))

    async def _producer_started(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all", linger_ms=2,
                max_batch_size=1 << 20, request_timeout_ms=15000,
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception:
                pass

    async def publish_pending(self) -> int:
        """Publish what is recorded and not yet published; return how many notifications it moved past
        (internal records included, so a batch of only those does not look like an idle log)."""
        start = await asyncio.to_thread(self.position)
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications, start=start, limit=self.BATCH, inclusive_of_start=False)
        if not notifications:
            return 0
        producer = await self._producer_started()
        pending = []
        for notification in notifications:
            message = self.app.message(notification)
            if message is None:
                continue  # the service's internal records are not published
            vault = getattr(self.app, "vault", None)
            key, value, headers = to_record(message, self.traceparents(notification.id),
                                            vault.seal_data if vault else None)
            pending.append(await producer.send(self.topic, value=value, key=key, headers=headers))
        if pending:
            await asyncio.gather(*pending)  # every record acknowledged by the broker (acks=all)
        await asyncio.to_thread(self._record, notifications[-1].id)
        with self._published:
            self._published_up_to = max(self._published_up_to, notifications[-1].id)
            self._published.notify_all()
        self.health.published += len(pending)
        self.health.last_progress = time.monotonic()
        return len(notifications)

    async def run(self, idle_wait: float = 0.2) -> None:
        failures = 0
        while not self._stopping:
            try:
                sent = await self.publish_pending()
                self.health.last_error = None
                failures = 0
                if sent == 0:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), idle_wait)
                    except asyncio.TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker, the store, anything: report, back off, go on
                failures += 1
                self.health.last_error = f"{type(error).__name__}: {error}"
                log.warning("relay %s failing (%s); retrying with a new producer", self.topic,
                            self.health.last_error)
                await self._reset_producer()  # e.g. OutOfOrderSequenceNumber after a broker blip
                await asyncio.sleep(min(10.0, 0.2 * 2 ** min(failures, 6)))
        await self._reset_producer()

    def wake(self) -> None:
        self.io.loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = self.io.spawn(self.run())

    def stop(self) -> None:
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                self._task.result(timeout=15)
            except Exception:
                log.warning("relay %s did not stop cleanly", self.topic)
            self._task = None
        if self._producer is not None and self.io.loop.is_running():  # driven by drain() only
            try:
                self.io.run(self._reset_producer(), timeout=10)
            except Exception:
                log.warning("relay %s: producer did not close cleanly", self.topic)

    def wait_published(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until the event at ``position`` is acknowledged by the broker; False if not in time.
        A relay that is not running (tests that drive it by hand) does not make anyone wait."""
        if self._task is None:
            return False
        self.wake()
        with self._published:
            if self._published_up_to >= position:
                return True
            self._published.wait_for(lambda: self._published_up_to >= position or self._stopping, timeout)
            if self._published_up_to >= position:
                return True
        if self.position() >= position:  # published by another relay of this service (a restart)
            return True
        log.warning("relay %s has not published position %d within %.1f s; the command is recorded and will "
                    "be published when the relay recovers", self.topic, position, timeout)
        return False

    def wait_recorded(self, position: int, timeout: float = 5.0) -> bool:
        """A web process: wait until the worker's relay has recorded (after the broker's ack) ``position``."""
        deadline = time.monotonic() + timeout
        while self.position() < position:
            if time.monotonic() > deadline:
                log.warning("the worker's relay %s has not published position %d within %.1f s", self.topic,
                            position, timeout)
                return False
            time.sleep(0.01)
        return True

    def drain(self, timeout: float = 30.0) -> None:
        """Publish everything recorded so far (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        while self.lag() and time.monotonic() < deadline:
            self.io.run(self.publish_pending(), timeout=timeout)
