"""Idempotency-Key support, stored in the service's own event store.

The record of a keyed request is saved in the same atomic ``save()`` as the command's events, so a
retry can never apply a command twice, even across a crash between the effect and the answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain import natural_id


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    actor: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, actor: str, method: str, path: str, body: bytes) -> IdempotencyKey:
        digest = hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()
        return cls(key=key, actor=actor, fingerprint=digest)

    def record_id(self) -> UUID:
        return IdempotencyRecord.create_id(key=self.key, actor=self.actor)


class IdempotencyRecord(Aggregate):
    """The first answer given to a keyed request."""

    @event("Answered")
    def __init__(
        self, *, key: str, actor: str, fingerprint: str, status: int, body: dict[str, Any], reason: str
    ) -> None:
        self.key = key
        self.actor = actor
        self.fingerprint = fingerprint
        self.status = status
        self.body = body

    @staticmethod
    def create_id(key: str, actor: str, **_: Any) -> UUID:
        return natural_id("idempotency", f"{actor}\n{key}")
