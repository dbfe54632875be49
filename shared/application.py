"""The base of every service's eventsourcing application.

Commands go through ``execute``: load, call the domain, save atomically (with the idempotency
record when a key was given), re-run on an optimistic-concurrency clash so the loser of a race gets
the domain's own answer. Other services' events go through ``process``: the policy's effects and
the consumer's position are saved in one transaction, so a message is applied exactly once.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, ClassVar, Iterable, Iterator
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Notification,
    ProcessRecorder,
    Tracking,
    Transcoding,
)
from eventsourcing.utils import get_topic

from shared import telemetry
from shared.clock import Clock
from shared.domain import natural_id
from shared.errors import ConcurrentModification, DomainError, InvalidTransition, NotFound
from shared.idempotency import IdempotencyKey, IdempotencyRecord
from shared.messages import Message, message_from_event

log = logging.getLogger(__name__)

ATTEMPTS = 8


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class IdempotencyKeyReused(DomainError):
    slug = "idempotency-key-reused"
    title = "Idempotency-Key reused for a different request"
    status = 422


@dataclass
class Outcome:
    """What a command answers, and what it changed."""

    status: int
    body: dict[str, Any]
    changed: list[Aggregate] = field(default_factory=list)
    # The consistency token: the service and the position of the last published event the command
    # recorded. A client passes it on (Hallmark-After) so another service waits until it has applied it.
    written: tuple[str, int] | None = None


Policy = Callable[[Message], Iterable[Aggregate]]


class SealingMapper(Mapper):
    """Seals every person's name before an event is stored, and opens it when the event is read
    (``shared.people``): a store holds no name in the clear, and erasing a person's key erases them."""

    def __init__(self, vault: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vault = vault

    def to_stored_event(self, domain_event: Any) -> Any:
        sealed = object.__new__(type(domain_event))
        sealed.__dict__.update(self.vault.seal_data(dict(vars(domain_event))))
        return super().to_stored_event(sealed)

    def to_domain_event(self, stored_event: Any) -> Any:
        domain_event = super().to_domain_event(stored_event)
        domain_event.__dict__.update(self.vault.open_data(dict(vars(domain_event))))
        return domain_event


class ServiceApplication(Application):
    """One Hallmark service's event store and use cases."""

    name: ClassVar[str]
    # Aggregates whose events are the service's published contract; the rest stay internal.
    published: ClassVar[tuple[type[Aggregate], ...]] = ()

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None, vault: Any = None) -> None:
        self.vault = vault  # shared.people.PeopleVault: names are stored sealed (ADR 0011); None: in the clear
        super().__init__(env)
        self.clock = clock or Clock()
        self._on_recorded: list[Callable[[], None]] = []
        # Installed by the composition root: brings this service's knowledge of other services up to
        # date before a command is judged, so a client that just changed something upstream is never
        # refused on stale knowledge (read-your-writes across services).
        self.synchronise: Callable[[], None] = lambda: None
        # Installed by the composition root: whether this service has applied everything the named
        # upstream service has published so far, so "unknown" can be told from "not yet received".
        self.upstream_current: Callable[[str], bool] = lambda source: False
        # Installed by the composition root over Kafka: wait, bounded, until the relay has published
        # what a command recorded, so that once the command is answered other services can know it.
        self.after_commit: Callable[[int], None] = lambda position: None
        self._traceparents: OrderedDict[int, str] = OrderedDict()  # notification id -> W3C trace context
        self._published_names = {cls.__qualname__ for cls in self.published}
        self._parked: dict[UUID, Any] | None = None
        self._parked_seen: int | None = None

    # -- infrastructure -----------------------------------------------------------------------

    def construct_mapper(self) -> Mapper:
        mapper = super().construct_mapper()
        if self.vault is None:
            return mapper
        return SealingMapper(self.vault, transcoder=mapper.transcoder, compressor=mapper.compressor,
                             cipher=mapper.cipher)

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def on_recorded(self, callback: Callable[[], None]) -> None:
        """Call back after every commit, so consumers can wake instead of waiting for a poll."""
        self._on_recorded.append(callback)

    def _recorded(self) -> None:
        for callback in self._on_recorded:
            callback()

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder

    def check_ready(self) -> None:
        self.recorder.max_notification_id()

    def notifications_after(self, seen: int | None, topics: Iterable[str]) -> Iterator[Any]:
        """Every stored notification of these topics after ``seen`` (all of them for None), in order, read a
        page at a time: what an in-process index reads to catch up with the store."""
        topics = list(topics)
        while True:
            page = self.recorder.select_notifications(start=seen, limit=500, topics=topics,
                                                      inclusive_of_start=seen is None)
            yield from page
            if len(page) < 500:
                return
            seen = page[-1].id

    def parked_messages(self) -> list[Any]:
        """Every message this service ever parked (ParkedMessage), with its resolution: read back from
        the store, then only what was recorded since (by this process or another: web and worker)."""
        if self._parked is None:
            self._parked, self._parked_seen = {}, None
        changed = set()
        for notification in self.notifications_after(self._parked_seen, PARKED_TOPICS):
            changed.add(notification.originator_id)
            self._parked_seen = notification.id
        for aggregate_id in changed:
            self._parked[aggregate_id] = self.repository.get(aggregate_id)
        return list(self._parked.values())

    def note_parked(self, parked: Any) -> None:
        if self._parked is not None:
            self._parked[parked.id] = parked

    def remember(self, stream: str, position: int) -> None:
        """Record how far a consumer has read a stream when what it read had no effect to record with
        it, so that processes that only read the store (web) see the position."""
        if position > (self.position(stream) or 0):
            try:
                self.process_recorder.insert_events(
                    [], tracking=Tracking(application_name=stream, notification_id=position))
            except IntegrityError:
                pass  # someone recorded it (or further) meanwhile

    # -- reading ------------------------------------------------------------------------------

    def load(self, aggregate_id: UUID, what: str, label: str | None = None) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {label or aggregate_id} does not exist") from None

    def load_as(self, kind: type[Aggregate], raw_id: str) -> Any:
        """The aggregate of type ``kind`` with this id, or NotFound naming it (bad ids included)."""
        try:
            aggregate_id = UUID(str(raw_id))
        except ValueError:
            raise NotFound(f"{kind.__name__} {raw_id} does not exist") from None
        aggregate = self.load(aggregate_id, kind.__name__, str(raw_id))
        if not isinstance(aggregate, kind):
            raise NotFound(f"{kind.__name__} {raw_id} does not exist")
        return aggregate

    def find(self, aggregate_id: UUID) -> Any | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _is_published(self, topic: str) -> bool:
        return topic.rsplit(":", 1)[-1].split(".", 1)[0] in self._published_names

    def traceparent_of(self, notification_id: int) -> str | None:
        """The trace context of the command that recorded a notification, while this process remembers."""
        return self._traceparents.get(notification_id)

    def message(self, notification: Notification) -> Message | None:
        """The published message for a stored event, or None for the service's internal records."""
        if not self._is_published(notification.topic):
            return None
        event = self.mapper.to_domain_event(notification)
        return message_from_event(self.name, notification.id, self.name, event)

    # -- commands -----------------------------------------------------------------------------

    def execute(self, command: Callable[[], Outcome], idempotency: IdempotencyKey | None = None) -> Outcome:
        use_case = command.__qualname__.split(".")[-3] if command.__qualname__.count(".") >= 2 else command.__qualname__
        with telemetry.span(f"{self.name}.{use_case}", **{"hallmark.service": self.name}):
            return self._execute(command, idempotency)

    def _execute(self, command: Callable[[], Outcome], idempotency: IdempotencyKey | None) -> Outcome:
        self.synchronise()
        for _ in range(ATTEMPTS):
            if idempotency is not None:
                prior = self._prior_answer(idempotency)
                if prior is not None:
                    return prior
            outcome = command()
            records: list[Aggregate] = []
            if idempotency is not None:
                records.append(
                    IdempotencyRecord(
                        key=idempotency.key,
                        actor=idempotency.actor,
                        fingerprint=idempotency.fingerprint,
                        status=outcome.status,
                        body=outcome.body,
                        reason="first answer to a keyed request",
                    )
                )
            try:
                recordings = self.save(*outcome.changed, *records)
            except IntegrityError:
                log.info("optimistic concurrency clash in %s, re-running the command", self.name)
                continue
            published = [r.notification.id for r in recordings if self._is_published(r.notification.topic)]
            traceparent = telemetry.current_traceparent()
            if traceparent:
                for notification_id in published:
                    self._traceparents[notification_id] = traceparent
                while len(self._traceparents) > 10_000:
                    self._traceparents.popitem(last=False)
            self._recorded()
            if published:
                outcome.written = (self.name, max(published))
                self.after_commit(max(published))
            return outcome
        raise ConcurrentModification(f"{self.name}: the record kept changing under this command; retry")

    def _prior_answer(self, idempotency: IdempotencyKey) -> Outcome | None:
        record = self.find(idempotency.record_id())
        if record is None:
            return None
        if record.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {idempotency.key!r} was first used for a different request; "
                "use a new key for a new request"
            )
        return Outcome(status=record.status, body=record.body)

    # -- other services' events ---------------------------------------------------------------

    def position(self, stream: str) -> int | None:
        return self.process_recorder.max_tracking_id(stream)

    def process(self, message: Message, policy: Policy) -> bool:
        """Apply a policy to one message exactly once. Returns False if it was already applied."""
        with telemetry.span(f"{self.name} process {message.type}", parent=message.traceparent, **{
            "messaging.operation.type": "process", "messaging.destination.name": message.stream.rsplit(":", 1)[0],
            "messaging.message.id": message.id, "hallmark.stream": message.stream,
            "hallmark.position": message.position,
        }):
            return self._process(message, policy)

    def _process(self, message: Message, policy: Policy) -> bool:
        for _ in range(ATTEMPTS):
            done = self.position(message.stream)
            if done is not None and message.position <= done:
                return False
            changed = list(policy(message))
            if not changed:
                return True  # nothing to record; the consumer remembers the position in memory
            processing = ProcessingEvent(Tracking(application_name=message.stream, notification_id=message.position))
            processing.collect_events(*changed)
            try:
                self._record(processing)
            except IntegrityError:
                continue
            self._recorded()
            return True
        raise ConcurrentModification(f"{self.name}: could not apply {message.id}")


class ParkedMessage(Aggregate):
    """A message from another service that this service's policy could not apply (dead letter).

    A fact in the service's own store: it survives restarts, so a restarted service still refuses
    commands (knowledge-stale) until an operator has retried or discarded it, saying why."""

    @staticmethod
    def create_id(message_id: str, **_: Any) -> UUID:
        return natural_id("parked", message_id)

    @event("Parked")
    def __init__(self, *, message_id: str, stream: str, position: int, type: str, error: str) -> None:
        self.message_id = message_id
        self.stream = stream
        self.position = position
        self.type = type
        self.error = error
        self.status = "parked"
        self.resolved_by: str | None = None
        self.resolution: str | None = None

    def _check_open(self) -> None:
        if self.status != "parked":
            raise InvalidTransition(f"Parked message {self.message_id} was already {self.status} by {self.resolved_by}")

    def retry(self, *, actor: str, reason: str) -> None:
        self._check_open()
        self._retried(actor=actor, reason=reason)

    def discard(self, *, actor: str, reason: str) -> None:
        self._check_open()
        self._discarded(actor=actor, reason=reason)

    @event("Retried")
    def _retried(self, actor: str, reason: str) -> None:
        self.status, self.resolved_by, self.resolution = "retried", actor, reason

    @event("Discarded")
    def _discarded(self, actor: str, reason: str) -> None:
        self.status, self.resolved_by, self.resolution = "discarded", actor, reason


def parked_view(parked: ParkedMessage) -> dict[str, Any]:
    return {
        "message_id": parked.message_id, "stream": parked.stream, "position": parked.position,
        "type": parked.type, "error": parked.error, "status": parked.status,
        "parked_at": parked.created_on.isoformat(), "resolved_by": parked.resolved_by, "resolution": parked.resolution,
    }


PARKED_TOPICS = tuple(get_topic(e) for e in (ParkedMessage.Parked, ParkedMessage.Retried, ParkedMessage.Discarded))


class PolicyTarget:
    """A service's policy as a consumer target: its effects and position are saved together."""

    def __init__(self, app: ServiceApplication, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    def position(self, stream: str) -> int | None:
        return self.app.position(stream)

    def apply(self, message: Message) -> None:
        self.app.process(message, self.policy)

    def remember(self, stream: str, position: int) -> None:
        self.app.remember(stream, position)

    def park(self, message: Message, error: str) -> None:
        self.app.process(message, lambda m: [ParkedMessage(
            message_id=m.id, stream=m.stream, position=m.position, type=m.type, error=error)])
        parked = self.app.find(ParkedMessage.create_id(message.id))
        if parked is not None:
            self.app.note_parked(parked)

    def parked_messages(self, streams: Iterable[str]) -> list[dict[str, Any]]:
        """The messages still parked on these streams, read back from the store (they survive restarts)."""
        wanted = set(streams)
        return [parked_view(p) for p in self.app.parked_messages() if p.status == "parked" and p.stream in wanted]

    def retry_parked(self, message: Message, actor: str, reason: str) -> None:
        """Apply a parked message now, out of its original order, with the operator's reason, in one
        transaction. If it fails again, nothing is recorded and the error is raised."""
        parked = self.app.load(ParkedMessage.create_id(message.id), "Parked message", message.id)
        parked.retry(actor=actor, reason=reason)
        self.app.save(*self.policy(message), parked)
        self.app.note_parked(parked)

    def discard_parked(self, message_id: str, actor: str, reason: str) -> None:
        parked = self.app.load(ParkedMessage.create_id(message_id), "Parked message", message_id)
        parked.discard(actor=actor, reason=reason)
        self.app.save(parked)
        self.app.note_parked(parked)
