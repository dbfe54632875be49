"""The seam between services: ordered feeds of messages and the consumers that follow them.

Kafka semantics, whatever the transport: a feed is a set of streams (a service's notification
log embedded; topic partitions on Kafka); each stream is ordered and read at least once; a consumer
keeps its position per stream in its own store, written in the same transaction as its effect, and
resumes from there. Embedded mode reads the upstream services' notification logs in-process.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from shared.errors import NotFound
from shared.messages import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    messages: list[Message]
    # The last position read, published or not, so a consumer skips past internal records.
    last_position: int | None


class Feed(Protocol):
    """An upstream service's published events."""

    source: str

    def streams(self) -> list[str]: ...

    def read(self, stream: str, after: int | None, limit: int) -> Batch: ...


class LocalFeed:
    """Embedded transport: the upstream application's own notification log."""

    def __init__(self, app) -> None:  # app: shared.application.ServiceApplication
        self.app = app
        self.source = app.name

    def streams(self) -> list[str]:
        return [self.app.name]

    def read(self, stream: str, after: int | None, limit: int) -> Batch:
        notifications = self.app.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=after is None
        )
        messages = [m for m in (self.app.message(n) for n in notifications) if m is not None]
        return Batch(messages, notifications[-1].id if notifications else after)

    def head(self, stream: str) -> int:
        return self.app.recorder.max_notification_id() or 0

    def fetch(self, stream: str, position: int) -> Message | None:
        """The message at one position of the stream (to retry a parked one), or None."""
        notifications = self.app.recorder.select_notifications(start=position, stop=position, limit=1)
        return next((m for m in (self.app.message(n) for n in notifications) if m is not None), None)


class Target(Protocol):
    """Something that applies messages exactly once and remembers, per stream, how far it got."""

    def position(self, stream: str) -> int | None: ...

    def apply(self, message: Message) -> None: ...

    def park(self, message: Message, error: str) -> None:
        """Keep a message that cannot be applied, with the reason, and move past it (one transaction)."""

    def parked_messages(self, streams: Iterable[str]) -> list[dict]:
        """The messages still parked on these streams, read from the target's store."""

    def retry_parked(self, message: Message, actor: str, reason: str) -> None:
        """Apply a parked message now, recording who asked and why; nothing changes if it fails again."""

    def discard_parked(self, message_id: str, actor: str, reason: str) -> None:
        """Give up on a parked message, recording who decided and why."""


# A message that keeps failing (this many attempts, over at least this long, so a passing outage of
# a database is ridden out) is parked: kept in the target's store with the error, and the stream goes
# on. The target's service then refuses commands (knowledge-stale) until an operator has dealt with it.
MAX_ATTEMPTS = 5
PARK_AFTER_SECONDS = 60.0


@dataclass
class ConsumerHealth:
    applied: int = 0
    parked: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    last_error: str | None = None
    restarts: int = 0  # by the watchdog, after a stall


class Consumer:
    """Follows some feeds into one target. ``merge_by_time`` interleaves streams by event time
    (used by the audit trail) while keeping each stream's own order."""

    def __init__(
        self, name: str, feeds: Iterable[Feed], target: Target, *, merge_by_time: bool = False,
        park_after_seconds: float = PARK_AFTER_SECONDS, record_positions: bool = False,
    ) -> None:
        self.name = name
        self.feeds = list(feeds)
        self.target = target
        self.merge_by_time = merge_by_time
        self.health = ConsumerHealth()
        self._cursor: dict[str, int | None] = {}
        self._origin_mark: dict[str, int] = {}  # stream -> highest upstream position applied (Kafka)
        self.park_after_seconds = park_after_seconds
        # Over Kafka with web processes: store how far each stream was read even when nothing was
        # applied, since they judge commands on the stored positions (ADR 0009).
        self.record_positions = record_positions
        self._failures: dict[str, tuple[int, float]] = {}  # message id -> (failures, first failure)
        self.retry_at = 0.0  # back off while failing
        self.failing_since: float | None = None
        # Parked messages are facts in the target's store: a restarted consumer still counts them.
        self.health.parked = len(self.parked())

    def reset(self) -> None:
        self._cursor.clear()
        self._origin_mark.clear()

    def _sent_twice(self, message: Message) -> bool:
        """Whether a relayed message repeats an event already applied from its stream: the relay sends
        again what the broker acknowledged but it had not recorded yet, at new offsets, and an upstream
        position never decreases within a stream otherwise."""
        if message.origin_position is None:
            return False
        return message.origin_position <= self._origin_mark_of(message.stream)

    def _origin_mark_of(self, stream: str) -> int:
        """The highest upstream position applied from a relayed stream; on start, read from the record at
        the position the target stored."""
        if stream not in self._origin_mark:
            stored = self.target.position(stream)
            feed = next(f for f in self.feeds if stream in f.streams())
            last = feed.fetch(stream, stored) if stored else None
            self._origin_mark[stream] = (last.origin_position or 0) if last else 0
        return self._origin_mark[stream]

    def streams(self) -> list[str]:
        return [stream for feed in self.feeds for stream in feed.streams()]

    # -- dead letters: list, retry, discard (operators, with a reason) ---------------------------

    def parked(self) -> list[dict]:
        return self.target.parked_messages(self.streams())

    def _parked_entry(self, message_id: str) -> dict:
        entry = next((p for p in self.parked() if p["message_id"] == message_id), None)
        if entry is None:
            raise NotFound(f"Consumer {self.name} holds no parked message {message_id}")
        return entry

    def retry(self, message_id: str, actor: str, reason: str) -> None:
        """Apply a parked message again, now. Raises (and records nothing) if it still fails."""
        entry = self._parked_entry(message_id)
        feed = next(f for f in self.feeds if entry["stream"] in f.streams())
        message = feed.fetch(entry["stream"], entry["position"])
        if message is None or message.id != message_id:
            raise NotFound(f"Message {message_id} is no longer in stream {entry['stream']}; discard it instead")
        self.target.retry_parked(message, actor, reason)
        self.health.parked = len(self.parked())

    def discard(self, message_id: str, actor: str, reason: str) -> None:
        self._parked_entry(message_id)
        self.target.discard_parked(message_id, actor, reason)
        self.health.parked = len(self.parked())

    def back_off(self) -> None:
        """Retry a failing consumer after 0.5 s, doubling up to 15 s."""
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        self.retry_at = now + min(15.0, 0.5 * 2 ** min(5, int((now - self.failing_since) // 1)))

    def _after(self, stream: str) -> int | None:
        if stream not in self._cursor:
            self._cursor[stream] = self.target.position(stream)
        return self._cursor[stream]

    def positions(self) -> dict[str, int]:
        """How far the consumer has read each stream (0: nothing yet), without moving anything."""
        return {
            stream: (self._cursor[stream] if stream in self._cursor else self.target.position(stream)) or 0
            for feed in self.feeds for stream in feed.streams()
        }

    def poll(self, limit: int = 200) -> int:
        """Apply what is available now; return how many messages were applied."""
        batches: list[tuple[str, Batch]] = []
        for feed in self.feeds:
            for stream in feed.streams():
                batches.append((stream, feed.read(stream, self._after(stream), limit)))
        if self.merge_by_time:
            ordered: Iterable[Message] = heapq.merge(
                *(b.messages for _, b in batches), key=lambda m: (m.time, m.source)
            )
        else:
            ordered = (m for _, b in batches for m in b.messages)
        applied = 0
        for message in ordered:
            if self._sent_twice(message):
                self._cursor[message.stream] = message.position
                continue
            try:
                self.target.apply(message)
            except Exception as error:
                failures, since = self._failures.get(message.id, (0, time.monotonic()))
                self._failures[message.id] = (failures + 1, since)
                if failures + 1 < MAX_ATTEMPTS or time.monotonic() - since < self.park_after_seconds:
                    raise
                log.error("consumer %s parks %s after %d failures: %s", self.name, message.id, failures, error)
                self.target.park(message, f"{type(error).__name__}: {error}")
                self.health.parked = len(self.parked())
                feed = next(f for f in self.feeds if message.stream in f.streams())
                if hasattr(feed, "dead_letter"):  # Kafka: also to the dead-letter topic, error in headers
                    try:
                        feed.dead_letter(message, f"{type(error).__name__}: {error}", self.name)
                    except Exception:  # the fact is in the store; the topic is a copy for operators
                        log.exception("consumer %s could not copy %s to the dead-letter topic", self.name, message.id)
            self._failures.pop(message.id, None)
            self._cursor[message.stream] = message.position
            if message.origin_position is not None:
                self._origin_mark[message.stream] = message.origin_position
            applied += 1
        for stream, batch in batches:
            if batch.last_position is not None:
                self._cursor[stream] = max(self._cursor.get(stream) or 0, batch.last_position)
        if applied:
            self.health.applied += applied
            self.health.last_progress = time.monotonic()
        if self.record_positions and hasattr(self.target, "remember"):
            for stream, batch in batches:
                if batch.messages and self._cursor.get(stream):
                    self.target.remember(stream, self._cursor[stream])
        return applied

    def heads(self) -> dict[str, int]:
        """The last position of each stream now, as its transport reports it."""
        return {stream: feed.head(stream) for feed in self.feeds for stream in feed.streams()}

    def has_applied(self, wanted: dict[str, int]) -> bool:
        """Whether the upstream positions in ``wanted`` (source -> position written there) are applied."""
        for feed in self.feeds:
            position = wanted.get(feed.source)
            if position is None:
                continue
            for stream in feed.streams():
                if not getattr(feed, "relayed", False):  # embedded: the stream position is the upstream one
                    mark = self.positions()[stream]
                else:
                    mark = self._origin_mark_of(stream)
                if mark < position:
                    return False
        return True

    def lag(self) -> int:
        """How many notifications the consumer has still to read (published or not)."""
        done = self.positions()
        return sum(max(0, feed.head(stream) - done[stream])
                   for feed in self.feeds if hasattr(feed, "head") for stream in feed.streams())


class Pump:
    """Runs consumers in one background thread; woken on every commit, polling as a fallback."""

    def __init__(self, consumers: Iterable[Consumer], *, idle_wait: float = 0.25) -> None:
        self.consumers = list(consumers)
        self.idle_wait = idle_wait
        self.ticks: list[tuple[float, Callable[[], None]]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()

    def every(self, seconds: float, job: Callable[[], None]) -> None:
        self.ticks.append((seconds, job))

    def wake(self) -> None:
        self._wake.set()

    def watchdog(self, stall_seconds: float = 30.0) -> list[str]:
        """Restart the transport of a consumer that made no progress for ``stall_seconds`` while its
        streams have lag (aiokafka consumers are known to stop silently). Returns those restarted."""
        restarted = []
        now = time.monotonic()
        with self._lock:
            for consumer in self.consumers:
                if now - consumer.health.last_progress < stall_seconds:
                    continue
                try:
                    lagging = consumer.lag() > 0
                except Exception:
                    lagging = True
                if not lagging:
                    consumer.health.last_progress = now
                    continue
                for feed in consumer.feeds:
                    if hasattr(feed, "restart"):
                        feed.restart()
                consumer.reset()
                consumer.health.restarts += 1
                consumer.health.last_progress = now
                restarted.append(consumer.name)
                log.warning("watchdog restarted consumer %s: no progress for %.0f s with lag", consumer.name,
                            stall_seconds)
        return restarted

    def consumer(self, name: str) -> Consumer:
        for consumer in self.consumers:
            if consumer.name == name:
                return consumer
        raise NotFound(f"No consumer {name}; consumers are {', '.join(c.name for c in self.consumers)}")

    def operate(self, name: str, job: Callable[[Consumer], None]) -> None:
        """Run an operator's action on one consumer while no poll is under way."""
        with self._lock:
            job(self.consumer(name))
        self.wake()

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Apply everything pending (used by tests and by the rebuild command)."""
        total = 0
        for _ in range(max_rounds):
            applied = self._round()
            total += applied
            if not applied:
                return total
        return total

    def feeding(self, target: object) -> list[Consumer]:
        """The consumers that feed ``target``: a service (through its policy) or a view."""
        return [c for c in self.consumers if c.target is target or getattr(c.target, "app", None) is target]

    def catch_up(self, target: object, deadline_seconds: float = 5.0,
                 wanted: dict[str, int] | None = None, read_only: bool = False) -> tuple[list[str], list[str]]:
        """Apply, now, everything the upstream services had published when this call began, for the
        consumers that feed ``target`` (a service, or a view): the heads of their streams are read first
        (over Kafka, the end offsets asked of the broker), then the consumers poll until they reach them.
        ``wanted`` (source -> upstream position, a client's consistency token) must be applied as well.

        Returns the consumers that failed (their knowledge cannot be trusted) and those still behind
        when the deadline passed (the facts may be on their way)."""
        failed, behind = [], []
        deadline = time.monotonic() + deadline_seconds
        with contextlib.nullcontext() if read_only else self._lock:
            for consumer in self.feeding(target):
                try:
                    heads = consumer.heads()
                    while True:
                        if read_only:  # a web process: the worker applies, the stored positions tell
                            consumer.reset()
                        else:
                            consumer.poll()
                        done = consumer.positions()
                        if all(done[s] >= h for s, h in heads.items()) and consumer.has_applied(wanted or {}):
                            break
                        if time.monotonic() > deadline:
                            behind.append(consumer.name)
                            break
                        time.sleep(0.02 if read_only else 0.005)
                except Exception as error:
                    consumer.health.last_error = f"{type(error).__name__}: {error}"
                    consumer.reset()
                    failed.append(consumer.name)
                    log.exception("consumer %s failed while catching up", consumer.name)
        return failed, behind

    def caught_up(self, target_app: object, source: str) -> bool:
        """Whether ``target_app`` has applied everything ``source`` has published so far."""
        followers = [c for c in self.feeding(target_app) if any(f.source == source for f in c.feeds)]
        return bool(followers) and all(c.lag() == 0 and c.health.last_error is None for c in followers)

    def _round(self) -> int:
        applied = 0
        with self._lock:
            for consumer in self.consumers:
                if time.monotonic() < consumer.retry_at:
                    continue
                try:
                    applied += consumer.poll()
                    consumer.health.last_error = None
                    consumer.failing_since = None
                except Exception as error:  # keep the others running; retry this one later
                    consumer.health.last_error = f"{type(error).__name__}: {error}"
                    consumer.reset()
                    consumer.back_off()
                    log.exception("consumer %s failed; will retry", consumer.name)
        return applied

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="hallmark-pump", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        last_tick = {i: float("-inf") for i in range(len(self.ticks))}  # periodic jobs also run at start
        while not self._stop.is_set():
            self._wake.clear()
            busy = self._round()
            now = time.monotonic()
            for i, (seconds, job) in enumerate(self.ticks):
                if now - last_tick[i] >= seconds:
                    last_tick[i] = now
                    try:
                        job()
                    except Exception:
                        log.exception("periodic job failed; will retry")
            if not busy:
                self._wake.wait(self.idle_wait)
