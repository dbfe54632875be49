"""Where partners, their credentials, subscriptions, deliveries and the public change feed are kept:
tables in the registry component's views database (ADR 0014).

Partners are an integration edge, not certification records: their state is relational, and every
administrative act on them is appended to ``partner_audit`` (who, when, what). The change feed and
the deliveries derive from the registry's events, written in the certificate view's transaction, so
each change is recorded exactly once, and a rebuild of the view adds nothing (both are keyed by the
event's id).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any, Callable

from services.partners.domain import (
    PAUSE_AFTER_FAILED_DELIVERIES,
    PartnerConflict,
    Scopes,
    new_secret,
    same_secret,
    secret_hash,
    subscription_matches,
    webhook_secret,
)
from shared.errors import NotFound
from shared.views import Cursor, ViewDatabase

Now = Callable[[], datetime]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PartnerStore:
    def __init__(self, db: ViewDatabase, now: Now = _utc_now) -> None:
        self.db = db
        self.now = now
        serial = db.serial_primary_key
        with db.transaction() as c:
            for statement in (
                "CREATE TABLE IF NOT EXISTS partners (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,"
                " contact_email TEXT NOT NULL, scopes TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS partner_credentials (client_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL,"
                " kind TEXT NOT NULL, label TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT)",
                "CREATE TABLE IF NOT EXISTS partner_secrets (secret_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
                " created_at TEXT NOT NULL, expires_at TEXT)",
                f"CREATE TABLE IF NOT EXISTS partner_audit (seq {serial}, at TEXT NOT NULL, actor TEXT NOT NULL,"
                " partner_id TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS partner_calls (seq {serial}, at TEXT NOT NULL, partner_id TEXT NOT NULL,"
                " client_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, query TEXT NOT NULL, status INTEGER NOT NULL)",
                "CREATE INDEX IF NOT EXISTS partner_calls_by_partner ON partner_calls (partner_id, seq)",
                "CREATE TABLE IF NOT EXISTS webhook_subscriptions (id TEXT PRIMARY KEY, partner_id TEXT NOT NULL,"
                " url TEXT NOT NULL, events TEXT NOT NULL, filters TEXT NOT NULL, secret TEXT NOT NULL,"
                " status TEXT NOT NULL, failed_in_row INTEGER NOT NULL DEFAULT 0, paused_reason TEXT,"
                " created_at TEXT NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS public_changes (seq {serial}, message_id TEXT NOT NULL UNIQUE,"
                " number TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, certificate TEXT NOT NULL,"
                " restricted TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS webhook_deliveries (id TEXT PRIMARY KEY, subscription_id TEXT NOT NULL,"
                " partner_id TEXT NOT NULL, change_seq BIGINT NOT NULL, status TEXT NOT NULL,"
                " attempts INTEGER NOT NULL DEFAULT 0, first_attempt_at TEXT, next_attempt_at TEXT NOT NULL,"
                " last_status TEXT, created_at TEXT NOT NULL, delivered_at TEXT)",
                "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
                "CREATE TABLE IF NOT EXISTS webhook_attempts (delivery_id TEXT NOT NULL, at TEXT NOT NULL,"
                " status_code INTEGER, error TEXT, ms INTEGER NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS partner_notices (seq {serial}, partner_id TEXT NOT NULL, at TEXT NOT NULL,"
                " to_email TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS partner_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            ):
                c.execute(statement)

    # -- partners and credentials ---------------------------------------------------------------

    def _audit(self, c: Cursor, actor: str, partner_id: str, action: str, detail: dict[str, Any]) -> None:
        c.execute("INSERT INTO partner_audit (at, actor, partner_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                  (_iso(self.now()), actor, partner_id, action, json.dumps(detail, sort_keys=True)))

    def register(self, *, name: str, kind: str, contact_email: str, scopes: Scopes, actor: str) -> dict[str, Any]:
        partner_id = f"ptn_{secrets.token_hex(6)}"
        with self.db.transaction() as c:
            c.execute("SELECT id FROM partners WHERE name = ?", (name,))
            if c.fetchone() is not None:
                raise PartnerConflict(f"A partner named {name!r} is registered already")
            c.execute("INSERT INTO partners (id, name, kind, contact_email, scopes, created_at, created_by)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)", (partner_id, name, kind, contact_email,
                                                       json.dumps(scopes.as_dict()), _iso(self.now()), actor))
            self._audit(c, actor, partner_id, "registered", {"name": name, "kind": kind, "scopes": scopes.as_dict()})
        return self.partner(partner_id)

    def partner(self, partner_id: str) -> dict[str, Any]:
        with self.db.read() as c:
            c.execute("SELECT id, name, kind, contact_email, scopes, created_at FROM partners WHERE id = ?",
                      (partner_id,))
            row = c.fetchone()
            if row is None:
                raise NotFound(f"No partner {partner_id}")
            c.execute("SELECT client_id, kind, label, created_at, revoked_at FROM partner_credentials"
                      " WHERE partner_id = ? ORDER BY created_at", (partner_id,))
            credentials = [{"client_id": r[0], "kind": r[1], "label": r[2], "created_at": r[3], "revoked_at": r[4]}
                           for r in c.fetchall()]
            for credential in credentials:
                c.execute("SELECT created_at, expires_at FROM partner_secrets WHERE client_id = ? ORDER BY created_at",
                          (credential["client_id"],))
                credential["secrets"] = [{"created_at": r[0], "expires_at": r[1]} for r in c.fetchall()]
        return {"id": row[0], "name": row[1], "kind": row[2], "contact_email": row[3], "scopes": json.loads(row[4]),
                "created_at": row[5], "credentials": credentials}

    def partners(self) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT id FROM partners ORDER BY name")
            ids = [r[0] for r in c.fetchall()]
        return [self.partner(i) for i in ids]

    def scopes(self, partner_id: str) -> Scopes:
        return Scopes.of(self.partner(partner_id)["scopes"])

    def issue_credential(self, partner_id: str, kind: str, label: str, actor: str) -> dict[str, Any]:
        """A new client (client credentials) or API key; its secret is in this answer only."""
        self.partner(partner_id)
        client_id = f"{'pc' if kind == 'client_credentials' else 'pk'}_{secrets.token_hex(8)}"
        secret = new_secret("hs_" if kind == "client_credentials" else f"hk_{client_id}_")
        with self.db.transaction() as c:
            c.execute("INSERT INTO partner_credentials (client_id, partner_id, kind, label, created_at)"
                      " VALUES (?, ?, ?, ?, ?)", (client_id, partner_id, kind, label, _iso(self.now())))
            c.execute("INSERT INTO partner_secrets (secret_hash, client_id, created_at) VALUES (?, ?, ?)",
                      (secret_hash(secret), client_id, _iso(self.now())))
            self._audit(c, actor, partner_id, "credential issued", {"client_id": client_id, "kind": kind,
                                                                     "label": label})
        return {"client_id": client_id, "kind": kind, "label": label,
                ("client_secret" if kind == "client_credentials" else "api_key"): secret,
                "note": "shown once: Hallmark keeps only a hash of it"}

    def _credential(self, c: Cursor, partner_id: str, client_id: str) -> tuple[str, str | None]:
        c.execute("SELECT kind, revoked_at FROM partner_credentials WHERE client_id = ? AND partner_id = ?"
                  + self.db.lock_rows, (client_id, partner_id))
        row = c.fetchone()
        if row is None:
            raise NotFound(f"Partner {partner_id} has no credential {client_id}")
        return row[0], row[1]

    def rotate(self, partner_id: str, client_id: str, overlap_hours: float, actor: str) -> dict[str, Any]:
        """A new secret; the current ones stay valid for ``overlap_hours`` (0: no longer)."""
        from datetime import timedelta

        now = self.now()
        with self.db.transaction() as c:
            kind, revoked = self._credential(c, partner_id, client_id)
            if revoked:
                raise PartnerConflict(f"Credential {client_id} was revoked on {revoked}; issue a new one")
            secret = new_secret("hs_" if kind == "client_credentials" else f"hk_{client_id}_")
            until = _iso(now + timedelta(hours=overlap_hours))
            c.execute("UPDATE partner_secrets SET expires_at = ? WHERE client_id = ? AND (expires_at IS NULL"
                      " OR expires_at > ?)", (until, client_id, until))
            c.execute("INSERT INTO partner_secrets (secret_hash, client_id, created_at) VALUES (?, ?, ?)",
                      (secret_hash(secret), client_id, _iso(now)))
            self._audit(c, actor, partner_id, "credential rotated", {"client_id": client_id,
                                                                      "previous_valid_until": until})
        return {"client_id": client_id, ("client_secret" if kind == "client_credentials" else "api_key"): secret,
                "previous_secrets_valid_until": until, "note": "shown once: Hallmark keeps only a hash of it"}

    def revoke(self, partner_id: str, client_id: str, actor: str, reason: str) -> None:
        with self.db.transaction() as c:
            _, revoked = self._credential(c, partner_id, client_id)
            if revoked:
                raise PartnerConflict(f"Credential {client_id} was revoked already, on {revoked}")
            c.execute("UPDATE partner_credentials SET revoked_at = ?, revoked_by = ? WHERE client_id = ?",
                      (_iso(self.now()), actor, client_id))
            self._audit(c, actor, partner_id, "credential revoked", {"client_id": client_id, "reason": reason})

    def authenticate(self, client_id: str, secret: str, kind: str) -> tuple[str, Scopes] | None:
        """The partner a secret belongs to, if it is current: not revoked, not past its overlap."""
        now = _iso(self.now())
        with self.db.read() as c:
            c.execute("SELECT partner_id, kind, revoked_at FROM partner_credentials WHERE client_id = ?", (client_id,))
            row = c.fetchone()
            if row is None or row[1] != kind or row[2] is not None:
                return None
            c.execute("SELECT secret_hash FROM partner_secrets WHERE client_id = ? AND (expires_at IS NULL"
                      " OR expires_at > ?)", (client_id, now))
            hashes = [r[0] for r in c.fetchall()]
        if not any(same_secret(secret, h) for h in hashes):
            return None
        return row[0], self.scopes(row[0])

    def api_key(self, key: str) -> tuple[str, str] | None:
        """(partner id, client id) of a current API key, or None."""
        with self.db.read() as c:
            c.execute("SELECT s.client_id, k.partner_id FROM partner_secrets s JOIN partner_credentials k"
                      " ON k.client_id = s.client_id WHERE s.secret_hash = ? AND k.kind = 'api_key'"
                      " AND k.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?)",
                      (secret_hash(key), _iso(self.now())))
            row = c.fetchone()
        return None if row is None else (row[1], row[0])

    def active(self, client_id: str) -> bool:
        """Is the credential not revoked? (A token issued for it dies with it.)"""
        with self.db.read() as c:
            c.execute("SELECT revoked_at FROM partner_credentials WHERE client_id = ?", (client_id,))
            row = c.fetchone()
        return row is not None and row[0] is None

    def audit(self, partner_id: str) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT at, actor, action, detail FROM partner_audit WHERE partner_id = ? ORDER BY seq",
                      (partner_id,))
            return [{"at": r[0], "actor": r[1], "action": r[2], "detail": json.loads(r[3])} for r in c.fetchall()]

    # -- calls ------------------------------------------------------------------------------------

    def record_call(self, partner_id: str, client_id: str | None, method: str, path: str, query: str,
                    status: int) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT INTO partner_calls (at, partner_id, client_id, method, path, query, status)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)", (_iso(self.now()), partner_id, client_id, method, path,
                                                       query[:2000], status))

    def calls(self, partner_id: str, after: int | None, limit: int) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT seq, at, client_id, method, path, query, status FROM partner_calls WHERE partner_id = ?"
                      " AND seq > ? ORDER BY seq LIMIT ?", (partner_id, after or 0, limit))
            return [{"seq": int(r[0]), "at": r[1], "client_id": r[2], "method": r[3], "path": r[4], "query": r[5],
                     "status": int(r[6])} for r in c.fetchall()]

    # -- subscriptions ----------------------------------------------------------------------------

    def subscribe(self, partner_id: str, url: str, events: list[str], filters: dict[str, Any],
                  actor: str) -> dict[str, Any]:
        self.scopes(partner_id).contains(filters)
        subscription_id = f"sub_{secrets.token_hex(8)}"
        secret = webhook_secret()
        with self.db.transaction() as c:
            c.execute("INSERT INTO webhook_subscriptions (id, partner_id, url, events, filters, secret, status,"
                      " created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
                      (subscription_id, partner_id, url, json.dumps(events), json.dumps(filters, sort_keys=True),
                       secret, _iso(self.now())))
            self._audit(c, actor, partner_id, "subscribed", {"subscription_id": subscription_id, "url": url,
                                                             "events": events, "filters": filters})
        return {**self.subscription(partner_id, subscription_id), "secret": secret,
                "note": "the signing secret (Standard Webhooks) is shown once; keep it to verify deliveries"}

    def subscription(self, partner_id: str, subscription_id: str) -> dict[str, Any]:
        found = [s for s in self.subscriptions(partner_id) if s["id"] == subscription_id]
        if not found:
            raise NotFound(f"Partner {partner_id} has no subscription {subscription_id}")
        return found[0]

    def subscriptions(self, partner_id: str) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT id, url, events, filters, status, failed_in_row, paused_reason, created_at"
                      " FROM webhook_subscriptions WHERE partner_id = ? AND status != 'removed' ORDER BY created_at",
                      (partner_id,))
            return [{"id": r[0], "url": r[1], "events": json.loads(r[2]), "filters": json.loads(r[3]), "status": r[4],
                     "failed_deliveries_in_a_row": int(r[5]), "paused_reason": r[6], "created_at": r[7]}
                    for r in c.fetchall()]

    def set_subscription_status(self, partner_id: str, subscription_id: str, status: str, actor: str) -> dict:
        with self.db.transaction() as c:
            c.execute("SELECT status FROM webhook_subscriptions WHERE id = ? AND partner_id = ?" + self.db.lock_rows,
                      (subscription_id, partner_id))
            row = c.fetchone()
            if row is None or row[0] == "removed":
                raise NotFound(f"Partner {partner_id} has no subscription {subscription_id}")
            c.execute("UPDATE webhook_subscriptions SET status = ?, failed_in_row = 0, paused_reason = NULL"
                      " WHERE id = ?", (status, subscription_id))
            if status == "active":  # resumed: what failed while paused is tried again, with the same ids
                c.execute("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, first_attempt_at = NULL,"
                          " next_attempt_at = ? WHERE subscription_id = ? AND status = 'paused'",
                          (_iso(self.now()), subscription_id))
            self._audit(c, actor, partner_id, f"subscription {status}", {"subscription_id": subscription_id})
        return self.subscription(partner_id, subscription_id) if status != "removed" else {"id": subscription_id,
                                                                                         "status": "removed"}

    # -- the change feed and deliveries (in the certificate view's transaction) -------------------

    def record_change(self, c: Cursor, message_id: str, kind: str, at: str, certificate: dict[str, Any],
                      restricted: dict[str, Any]) -> None:
        c.execute("SELECT seq FROM public_changes WHERE message_id = ?", (message_id,))
        if c.fetchone() is not None:
            return  # a rebuild of the certificate view: recorded already, deliveries too
        c.execute("INSERT INTO public_changes (message_id, number, kind, at, certificate, restricted)"
                  " VALUES (?, ?, ?, ?, ?, ?)", (message_id, certificate["number"], kind, at,
                                                 json.dumps(certificate, sort_keys=True),
                                                 json.dumps(restricted, sort_keys=True)))
        c.execute("SELECT seq FROM public_changes WHERE message_id = ?", (message_id,))
        seq = int(c.fetchone()[0])
        c.execute("SELECT id, partner_id, events, filters, status FROM webhook_subscriptions"
                  " WHERE status IN ('active', 'paused')")
        for sub_id, partner_id, events, filters, status in c.fetchall():
            subscription = {"events": json.loads(events), "filters": json.loads(filters)}
            if subscription_matches(subscription, kind, certificate):
                # The webhook-id is the same for every attempt and replay: receivers tell duplicates by it.
                delivery_id = "msg_" + secret_hash(f"{sub_id}\n{message_id}")[:32]
                c.execute("INSERT INTO webhook_deliveries (id, subscription_id, partner_id, change_seq, status,"
                          " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (delivery_id, sub_id, partner_id, seq, "pending" if status == "active" else "paused",
                           at, _iso(self.now())))

    def changes(self, after: int, limit: int) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT seq, number, kind, at, certificate FROM public_changes WHERE seq > ? ORDER BY seq LIMIT ?",
                      (after, limit))
            return [{"seq": int(r[0]), "number": r[1], "kind": r[2], "at": r[3], "certificate": json.loads(r[4])}
                    for r in c.fetchall()]

    def change(self, seq: int) -> dict[str, Any]:
        with self.db.read() as c:
            c.execute("SELECT seq, number, kind, at, certificate, restricted FROM public_changes WHERE seq = ?", (seq,))
            r = c.fetchone()
        return {"seq": int(r[0]), "number": r[1], "kind": r[2], "at": r[3], "certificate": json.loads(r[4]),
                "restricted": json.loads(r[5])}

    # -- sending ----------------------------------------------------------------------------------

    def due(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT d.id, d.subscription_id, d.partner_id, d.change_seq, d.attempts, d.first_attempt_at,"
                      " s.url, s.secret FROM webhook_deliveries d JOIN webhook_subscriptions s"
                      " ON s.id = d.subscription_id WHERE d.status = 'pending' AND d.next_attempt_at <= ?"
                      " AND s.status = 'active' ORDER BY d.next_attempt_at, d.change_seq LIMIT ?",
                      (_iso(self.now()), limit))
            return [{"id": r[0], "subscription_id": r[1], "partner_id": r[2], "change_seq": int(r[3]),
                     "attempts": int(r[4]), "first_attempt_at": r[5], "url": r[6], "secret": r[7]}
                    for r in c.fetchall()]

    def attempted(self, delivery: dict[str, Any], status_code: int | None, error: str | None, ms: int,
                  next_at: datetime | None) -> None:
        """Record one attempt: delivered (2xx), to retry at ``next_at``, or given up (``next_at`` None)."""
        now = _iso(self.now())
        ok = status_code is not None and 200 <= status_code < 300
        with self.db.transaction() as c:
            c.execute("INSERT INTO webhook_attempts (delivery_id, at, status_code, error, ms) VALUES (?, ?, ?, ?, ?)",
                      (delivery["id"], now, status_code, error, ms))
            status = "delivered" if ok else ("pending" if next_at is not None else "failed")
            c.execute("UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,"
                      " first_attempt_at = COALESCE(first_attempt_at, ?), next_attempt_at = ?, last_status = ?,"
                      " delivered_at = ? WHERE id = ?",
                      (status, now, _iso(next_at) if next_at else now,
                       str(status_code) if status_code is not None else (error or "")[:200],
                       now if ok else None, delivery["id"]))
            if ok:
                c.execute("UPDATE webhook_subscriptions SET failed_in_row = 0 WHERE id = ?", (delivery["subscription_id"],))
            elif status == "failed":
                c.execute("UPDATE webhook_subscriptions SET failed_in_row = failed_in_row + 1 WHERE id = ?"
                          " AND status = 'active'", (delivery["subscription_id"],))
                c.execute("SELECT failed_in_row, url, partner_id FROM webhook_subscriptions WHERE id = ?",
                          (delivery["subscription_id"],))
                failed, url, partner_id = c.fetchone()
                if int(failed) >= PAUSE_AFTER_FAILED_DELIVERIES:
                    self._pause(c, delivery["subscription_id"], partner_id, url, int(failed))

    def _pause(self, c: Cursor, subscription_id: str, partner_id: str, url: str, failed: int) -> None:
        reason = f"{failed} deliveries in a row were given up after retrying for a day and a half"
        c.execute("UPDATE webhook_subscriptions SET status = 'paused', paused_reason = ? WHERE id = ?",
                  (reason, subscription_id))
        c.execute("UPDATE webhook_deliveries SET status = 'paused' WHERE subscription_id = ? AND status = 'pending'",
                  (subscription_id,))
        c.execute("SELECT contact_email, name FROM partners WHERE id = ?", (partner_id,))
        email, name = c.fetchone()
        c.execute("INSERT INTO partner_notices (partner_id, at, to_email, subject, body) VALUES (?, ?, ?, ?, ?)",
                  (partner_id, _iso(self.now()), email, f"Hallmark paused your webhook subscription {subscription_id}",
                   f"Dear {name},\n\nyour endpoint {url} did not accept {failed} deliveries in a row, each retried "
                   "for a day and a half, so the subscription is paused. Nothing is lost: the deliveries are kept. "
                   f"Resume it with POST /v1/partners/{partner_id}/subscriptions/{subscription_id}/resume once "
                   "the endpoint answers 2xx; what failed is then delivered again with the same webhook-id.\n"))
        self._audit(c, "hallmark", partner_id, "subscription paused", {"subscription_id": subscription_id,
                                                                        "reason": reason})

    def deliveries(self, partner_id: str, status: str | None, after: str | None, limit: int) -> list[dict[str, Any]]:
        sql = ("SELECT id, subscription_id, change_seq, status, attempts, first_attempt_at, next_attempt_at,"
               " last_status, created_at, delivered_at FROM webhook_deliveries WHERE partner_id = ?")
        params: list[Any] = [partner_id]
        if status:
            sql += " AND status = ?"
            params.append(status)
        if after:
            sql += " AND id > ?"
            params.append(after)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        with self.db.read() as c:
            c.execute(sql, params)
            rows = c.fetchall()
            out = []
            for r in rows:
                c.execute("SELECT at, status_code, error, ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY at",
                          (r[0],))
                attempts = [{"at": a[0], "status_code": a[1], "error": a[2], "ms": int(a[3])} for a in c.fetchall()]
                out.append({"id": r[0], "subscription_id": r[1], "change_seq": int(r[2]), "status": r[3],
                            "attempts": attempts, "first_attempt_at": r[5], "next_attempt_at": r[6],
                            "last_status": r[7], "created_at": r[8], "delivered_at": r[9]})
        return out

    def replay(self, partner_id: str, delivery_id: str, actor: str) -> dict[str, Any]:
        with self.db.transaction() as c:
            c.execute("SELECT status FROM webhook_deliveries WHERE id = ? AND partner_id = ?" + self.db.lock_rows,
                      (delivery_id, partner_id))
            row = c.fetchone()
            if row is None:
                raise NotFound(f"Partner {partner_id} has no delivery {delivery_id}")
            c.execute("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, first_attempt_at = NULL,"
                      " next_attempt_at = ? WHERE id = ?", (_iso(self.now()), delivery_id))
            self._audit(c, actor, partner_id, "delivery replayed", {"delivery_id": delivery_id, "was": row[0]})
        return {"id": delivery_id, "status": "pending", "note": "sent again with the same webhook-id"}

    def notices(self, partner_id: str) -> list[dict[str, Any]]:
        with self.db.read() as c:
            c.execute("SELECT at, to_email, subject, body FROM partner_notices WHERE partner_id = ? ORDER BY seq",
                      (partner_id,))
            return [{"at": r[0], "to": r[1], "subject": r[2], "body": r[3]} for r in c.fetchall()]

    # -- publishing the feed on Kafka ---------------------------------------------------------------

    def published_up_to(self) -> int:
        with self.db.read() as c:
            c.execute("SELECT value FROM partner_meta WHERE key = 'kafka_published_seq'")
            row = c.fetchone()
        return int(row[0]) if row else 0

    def mark_published(self, seq: int) -> None:
        with self.db.transaction() as c:
            c.execute("SELECT value FROM partner_meta WHERE key = 'kafka_published_seq'" + self.db.lock_rows)
            if c.fetchone() is None:
                c.execute("INSERT INTO partner_meta (key, value) VALUES ('kafka_published_seq', ?)", (str(seq),))
            else:
                c.execute("UPDATE partner_meta SET value = ? WHERE key = 'kafka_published_seq'", (str(seq),))
