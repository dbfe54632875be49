"""The change feed on Kafka for partners (distributed mode, ADR 0014): every public certificate change
as a CloudEvent on ``<prefix>public.certificate-changes``, in the feed's order, at least once (a
consumer tells a repeat by ``ce_id``)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from services.partners.store import PartnerStore

log = logging.getLogger(__name__)
SOURCE = "hallmark/registry"


def changes_topic(prefix: str) -> str:
    return f"{prefix}public.certificate-changes"


def change_record(change: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and CloudEvents 1.0 binary-mode headers of one change."""
    headers = {
        "ce_specversion": "1.0",
        "ce_id": f"{SOURCE}/changes/{change['seq']}",
        "ce_source": SOURCE,
        "ce_type": f"certificate.{change['kind']}",
        "ce_subject": change["number"],
        "ce_time": change["at"],
        "content-type": "application/json",
        "ce_hallmarkchangeseq": str(change["seq"]),
    }
    value = json.dumps({"change_seq": change["seq"], "number": change["number"], "kind": change["kind"],
                        "certificate": change["certificate"]}, sort_keys=True, separators=(",", ":")).encode()
    return change["number"].encode(), value, [(k, v.encode()) for k, v in headers.items()]


class ChangePublisher:
    def __init__(self, store: PartnerStore, bootstrap: str, io: Any, prefix: str) -> None:
        self.store, self.bootstrap, self.io, self.topic = store, bootstrap, io, changes_topic(prefix)

    def publish(self) -> int:
        """Publish what the feed holds beyond what was published; returns how many records went out."""
        done = self.store.published_up_to()
        changes = self.store.changes(done, 500)
        if not changes:
            return 0
        self.io.run(self._send(changes), timeout=60)
        self.store.mark_published(changes[-1]["seq"])
        return len(changes)

    async def _send(self, changes: list[dict[str, Any]]) -> None:
        for change in changes:  # in order: one partition, and each waits for its acknowledgement
            key, value, headers = change_record(change)
            await self.io.send(self.bootstrap, self.topic, key, value, headers)
        await asyncio.sleep(0)
