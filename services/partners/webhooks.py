"""Webhook deliveries (Standard Webhooks): the registry's public certificate changes, signed and sent
to partners' endpoints, retried with exponential back-off for a day and a half, every attempt kept.

A delivery is stored, in the certificate view's transaction, before anything is sent; the sender
only reads due deliveries and records each attempt afterwards. A restart at any moment therefore
loses nothing: at worst an attempt whose answer was not recorded is made again, with the same
``webhook-id``, which receivers use to tell a duplicate (at-least-once delivery).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from services.partners.domain import next_attempt
from services.partners.store import PartnerStore

log = logging.getLogger(__name__)
USER_AGENT = "Hallmark-Webhooks/1"


def payload(store: PartnerStore, change_seq: int, beyond_public: bool) -> dict[str, Any]:
    """The body: Standard Webhooks' ``type``, ``timestamp`` and ``data``."""
    change = store.change(change_seq)
    data = {"change_seq": change["seq"], "number": change["number"], "kind": change["kind"],
            "certificate": change["certificate"]}
    if beyond_public:
        data["restricted"] = change["restricted"]
    return {"type": f"certificate.{change['kind']}", "timestamp": change["at"], "data": data}


class Dispatcher:
    def __init__(self, store: PartnerStore, timeout: float = 10.0, interval: float = 0.5) -> None:
        self.store = store
        self.timeout = timeout
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def send_due(self) -> int:
        """Send every delivery that is due now; returns how many were attempted."""
        sent = 0
        for delivery in self.store.due():
            self._attempt(delivery)
            sent += 1
        return sent

    def _attempt(self, delivery: dict[str, Any]) -> None:
        scopes = self.store.scopes(delivery["partner_id"])
        body = json.dumps(payload(self.store, delivery["change_seq"], scopes.beyond_public), sort_keys=True,
                          separators=(",", ":"))
        sent_at = datetime.now(UTC)
        signature = Webhook(delivery["secret"]).sign(delivery["id"], sent_at, body)
        headers = {"webhook-id": delivery["id"], "webhook-timestamp": str(int(sent_at.timestamp())),
                   "webhook-signature": signature, "content-type": "application/json"}
        started = time.monotonic()
        status, error = None, None
        try:
            response = self._client.post(delivery["url"], content=body.encode(), headers=headers)
            status = response.status_code
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:300]
        ms = round((time.monotonic() - started) * 1000)
        ok = status is not None and 200 <= status < 300
        now = self.store.now()
        first = datetime.fromisoformat(delivery["first_attempt_at"]) if delivery["first_attempt_at"] else now
        self.store.attempted(delivery, status, error, ms, None if ok else next_attempt(first, delivery["attempts"] + 1,
                                                                                      now))
        if not ok:
            log.info("webhook %s to %s failed (%s); attempt %d", delivery["id"], delivery["url"], status or error,
                     delivery["attempts"] + 1)

    # -- the sender thread ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="hallmark-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.send_due() == 0:
                    self._stop.wait(self.interval)
            except Exception:  # the database restarting, say: try again shortly
                log.exception("webhook sender failed; retrying")
                self._stop.wait(2.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._client.close()
