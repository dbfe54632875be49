"""The canonical bytes of one log entry (ADR 0011): what a leaf of the transparency log commits to.

An entry is the UTF-8 of one JSON object written canonically (keys sorted, no whitespace, strings as
they are, ``shared.messages.canonical_json``)::

    {"actor": ..., "data": {...}, "event_id": "registry/<subject>/<version>", "reason": "...",
     "recorded_at": "2026-11-25T10:01:02.123456+00:00", "service": "registry",
     "subject": "<aggregate id>", "type": "Certificate.Issued", "v": 1}

- ``service``, ``event_id`` (``<service>/<subject>/<version>``), ``type``, ``subject``: which stored
  event this is; ``recorded_at``: when its service recorded it, in UTC with microseconds;
- ``actor`` and ``reason``: who did it and why (taken out of ``data``, where events carry them);
- ``data``: the rest of the event as published;
- names of people, wherever they stand (the actor, team members, advisers, committee members...),
  appear only *sealed* (``shared.people``): ``{"person": "<pseudonym>", "sealed": "<base64>"}``, the
  name encrypted under that person's own key. Destroying the key erases the person; the entry's bytes,
  and so every proof and checkpoint, stay as they were.

The same bytes come from the live message (the log appends them), from the event stores (``trail
verify`` recomputes them) and from the trail view's row: all three must agree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Callable

from shared.messages import canonical_json

ENTRY_VERSION = 1
LOG_STARTED = "Log.Started"  # entry 0 of a log that replaced a lost one (ADR 0011)

Seal = Callable[[dict[str, Any]], dict[str, Any]]


def no_seal(data: dict[str, Any]) -> dict[str, Any]:
    return data


def recorded_at(time: datetime | str) -> str:
    """One spelling of an event's time: UTC, microseconds, ``+00:00``."""
    moment = datetime.fromisoformat(time) if isinstance(time, str) else time
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_bytes(*, service: str, event_id: str, type: str, subject: str, time: datetime | str,
                data: dict[str, Any], seal: Seal = no_seal) -> bytes:
    sealed = dict(seal(dict(data)))
    actor = sealed.pop("actor", "")
    reason = sealed.pop("reason", "")
    return canonical_json({
        "v": ENTRY_VERSION, "service": service, "event_id": event_id, "type": type, "subject": subject,
        "recorded_at": recorded_at(time), "actor": actor, "reason": reason, "data": sealed,
    }).encode("utf-8")


def message_entry(message: Any, seal: Seal = no_seal) -> bytes:
    """The entry of a published event (``shared.messages.Message``)."""
    return entry_bytes(service=message.source, event_id=message.id, type=message.type, subject=message.subject,
                       time=message.time, data=message.data, seal=seal)


class EntryError(ValueError):
    pass


def decode_entry(entry: bytes) -> dict[str, Any]:
    """The entry's fields; refuses bytes that are not exactly the canonical form of a known version."""
    try:
        fields = json.loads(entry.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EntryError(f"not a log entry (JSON in UTF-8): {error}") from None
    if not isinstance(fields, dict) or fields.get("v") != ENTRY_VERSION:
        raise EntryError(f"not a version {ENTRY_VERSION} log entry")
    if canonical_json(fields).encode("utf-8") != entry:
        raise EntryError("the entry is not in canonical form (sorted keys, no whitespace)")
    return fields
