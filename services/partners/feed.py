"""The change feed's source: each public change to a certificate, recorded in the certificate view's
transaction (exactly once), with the deliveries it owes to matching subscriptions."""

from __future__ import annotations

from typing import Any, Callable

from services.partners.domain import CHANGE_KINDS
from services.partners.store import PartnerStore
from services.projections.certificates import attention, public_view
from shared.contract.types import CERTIFICATE_ISSUED, CERTIFICATE_REVISED, CERTIFICATE_STATUS_CHANGED
from shared.evidence.entry import recorded_at
from shared.messages import Message
from shared.views import Cursor


def change_kind(message_type: str, data: dict[str, Any], before: dict[str, Any] | None,
                after: dict[str, Any]) -> str | None:
    """The public change a registry event makes to a certificate, or None (not a public change)."""
    if message_type == CERTIFICATE_ISSUED:
        return "issued"
    if message_type == CERTIFICATE_REVISED:
        assert before is not None
        changed = before["scope"] != after["scope"] or \
            [p["name"] for p in before["products"]] != [p["name"] for p in after["products"]]
        return "scope_changed" if changed else "revised"
    if message_type == CERTIFICATE_STATUS_CHANGED:
        status, previous = data["status"], (before or {}).get("status")
        if status == "active":  # a suspension lifted, or a withdrawal undone on an upheld appeal (R46)
            return {"suspended": "restored", "withdrawn": "reinstated"}.get(previous)
        return status if status in CHANGE_KINDS else None
    return None


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
