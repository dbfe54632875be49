"""The change feed's source: each public change to a certificate, recorded in the certificate view's
transaction (exactly once), with the deliveries it owes to matching subscriptions."""

from __future__ import annotations

from typing import Any, Callable

from services.partners.domain import change_kind
from services.partners.store import PartnerStore
from services.projections.certificates import attention, public_view
from shared.evidence.entry import recorded_at
from shared.messages import Message
from shared.views import Cursor

RESTRICTED = ("surveillance_due", "suspension_proposed", "withdrawal_proposed", "last_maintained")


def restricted_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What a partner with ``beyond_public`` also gets: the certificate's surveillance and what is due
    on it. Never personal data (R9 holds for partners too)."""
    return {**{k: doc.get(k) for k in RESTRICTED}, "attention": attention(doc)}


def change_recorder(store: PartnerStore) -> Callable[[Cursor, Message, dict[str, Any] | None, dict[str, Any]], None]:
    def record(c: Cursor, message: Message, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        kind = change_kind(message.type, message.data, before, after)
        if kind is not None:
            store.record_change(c, message.id, kind, recorded_at(message.time), public_view(after),
                                restricted_view(after))

    return record
