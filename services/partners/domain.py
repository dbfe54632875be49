"""Partners of the register (ADR 0014): organisations that follow certificates (public buyers,
contractors' procurement systems, mark owners such as BENOR, sister bodies) with credentials of
their own, webhooks and a change feed. Rules only: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import DomainError, InvalidCommand

# What a partner may follow, and what its webhooks may be filtered by.
FILTERS = ("marks", "schemes", "holders", "numbers")
# The public certificate changes, as the change feed and webhooks name them.
CHANGE_KINDS = ("issued", "revised", "scope_changed", "suspended", "restored", "withdrawn", "reinstated", "expired",
                "terminated")
PARTNER_KINDS = ("public_buyer", "procurement_platform", "mark_owner", "sister_body", "laboratory", "other")

TOKEN_TTL_SECONDS = 15 * 60
MAX_OVERLAP_HOURS = 30 * 24
# Webhook retries: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 3 h until a day and a half has
# passed since the first attempt (at least a day, as the issue asks).
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600, 3 * 3600)
GIVE_UP_AFTER = timedelta(hours=36)
PAUSE_AFTER_FAILED_DELIVERIES = 5  # deliveries given up in a row: the subscription is paused, its owner told


class PartnerConflict(DomainError):
    """The partner's records do not allow this (a name taken, a credential revoked already)."""

    slug = "partner-conflict"
    title = "Not possible for this partner"
    status = 409


class OutOfScope(DomainError):
    """A partner asked for what its scopes do not cover."""

    slug = "out-of-scope"
    title = "Outside the partner's scopes"
    status = 403


@dataclass(frozen=True)
class Scopes:
    """Which marks, schemes, holders (registration numbers) or certificate numbers a partner follows;
    an empty filter means any. ``beyond_public``: whether it sees more than the public view (R9 still
    holds: never personal data)."""

    marks: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    holders: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    beyond_public: bool = False

    @classmethod
    def of(cls, value: dict[str, Any]) -> Scopes:
        return cls(**{k: tuple(sorted(set(value.get(k) or ()))) for k in FILTERS},
                   beyond_public=bool(value.get("beyond_public")))

    def as_dict(self) -> dict[str, Any]:
        return {**{k: list(getattr(self, k)) for k in FILTERS}, "beyond_public": self.beyond_public}

    def covers(self, change: dict[str, Any]) -> bool:
        """Does a change (its public view) fall within these scopes?"""
        return _matches(self.as_dict(), change)

    def contains(self, filters: dict[str, Any]) -> None:
        """A subscription's filters must stay within the partner's scopes: refused otherwise."""
        for key in FILTERS:
            allowed, asked = set(getattr(self, key)), set(filters.get(key) or ())
            if allowed and not asked:
                raise OutOfScope(f"This partner follows only {key} {', '.join(sorted(allowed))}: "
                                 f"name them in the subscription's '{key}'")
            if allowed and asked - allowed:
                raise OutOfScope(f"{key} {', '.join(sorted(asked - allowed))} are outside this partner's scopes")

    def text(self) -> str:
        """The OAuth ``scope`` string: space-separated ``<filter>:<value>`` items."""
        items = [f"{key[:-1]}:{value}" for key in FILTERS for value in getattr(self, key)]
        return " ".join(["certificates:read", *(["certificates:restricted"] if self.beyond_public else []), *items])


def _matches(filters: dict[str, Any], change: dict[str, Any]) -> bool:
    subject = {
        "marks": change.get("mark"), "schemes": change.get("scheme"),
        "holders": (change.get("holder") or {}).get("registration_number"), "numbers": change.get("number"),
    }
    return all(not filters.get(key) or subject[key] in filters[key] for key in FILTERS)


def subscription_matches(subscription: dict[str, Any], kind: str, change: dict[str, Any]) -> bool:
    return kind in subscription["events"] and _matches(subscription["filters"], change)


def check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(CHANGE_KINDS))
    if unknown:
        raise InvalidCommand(f"unknown event(s) {', '.join(unknown)}; events are {', '.join(CHANGE_KINDS)}",
                             field="events")
    return sorted(set(events)) or list(CHANGE_KINDS)


def check_url(url: str, allow_http: bool) -> str:
    """A webhook goes to an https URL (http only where the operator allows it, e.g. tests)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in (("https", "http") if allow_http else ("https",)) or not parts.hostname:
        raise InvalidCommand("the webhook url must be an absolute https:// URL", field="url")
    if parts.username or parts.password:
        raise InvalidCommand("the webhook url must not carry credentials", field="url")
    return url


# -- secrets ------------------------------------------------------------------------------------------

def new_secret(prefix: str) -> str:
    """A credential's secret, shown once: 256 random bits."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


def secret_hash(secret: str) -> str:
    """Secrets are stored only as hashes. They are 256 random bits, so a fast hash (SHA-256) suffices:
    there is nothing to guess by brute force, which a slow password hash would guard against."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)


def webhook_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and base64 of 32 random bytes."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def next_attempt(first: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try a failed delivery again, or None to give up (after GIVE_UP_AFTER)."""
    delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
    # Spread retries a little, so that a partner's recovery is not met by every retry at once.
    at = now + timedelta(seconds=delay * (1 + secrets.randbelow(20) / 100))
    return None if at - first > GIVE_UP_AFTER else at
