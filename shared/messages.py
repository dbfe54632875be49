"""The integration message: what one service's recorded event looks like to every other service.

A message is a CloudEvents-shaped envelope around one stored domain event. The embedded seam
builds it straight from the upstream notification log; the Kafka seam carries the same fields in
CloudEvents binary mode. Consumers only ever see ``Message``, never another service's classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class Message:
    stream: str  # the ordered stream this came from, the consumer's tracking name
    position: int  # strictly increasing within the stream
    source: str  # the service that recorded it
    type: str  # e.g. "Application.Submitted"
    subject: str  # the aggregate id: order is guaranteed per subject
    version: int  # the aggregate version this event created
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)
    # Over Kafka: the upstream notification id (``position`` is then the offset + 1), which only grows
    # within a partition, so an event the relay sent twice is recognised. None: same as ``position``.
    origin_position: int | None = None
    traceparent: str | None = None  # W3C trace context of the command that recorded it, where known

    @property
    def id(self) -> str:
        """Deterministic per stored event: equal ids are the same event, whatever the transport."""
        return f"{self.source}/{self.subject}/{self.version}"

    @property
    def actor(self) -> str:
        return str(self.data.get("actor") or "")

    @property
    def reason(self) -> str:
        return str(self.data.get("reason") or "")

    @property
    def aggregate(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.type.split(".", 1)[-1]


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    return value


def canonical_json(value: Any) -> str:
    """One byte-exact JSON form for hashing and comparison."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def message_from_event(stream: str, position: int, source: str, event: Any) -> Message:
    data = {k: to_jsonable(v) for k, v in event.__dict__.items() if k not in _ENVELOPE}
    return Message(
        stream=stream,
        position=position,
        source=source,
        type=type(event).__qualname__,
        subject=str(event.originator_id),
        version=int(event.originator_version),
        time=event.timestamp,
        data=data,
    )
