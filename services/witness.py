"""A witness: a second party that keeps every checkpoint it saw of Hallmark's log and checks that each
new one extends the last (ADR 0011). A log that only its owner watches proves little; a witness that
kept checkpoint (n, root) can prove a rewrite, because Hallmark cannot produce a consistency proof from
(n, root) to a tree that changed any of the first n entries.

``hallmark trail witness --url URL`` does one round: it pins the log's public key the first time, reads
the latest checkpoint, verifies its signature, asks for a consistency proof from the last checkpoint it
kept (an assessor's token, HALLMARK_TOKEN, since proofs are for assessors), verifies the proof and
appends the checkpoint to its state file. Run it from cron, or on every record of the checkpoint topic.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.evidence.checkpoint import CheckpointError, NoteError, open_checkpoint
from shared.evidence.entry import decode_entry
from shared.evidence.merkle import verify_consistency


@dataclass
class Round:
    ok: bool
    said: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None


class WitnessState:
    """The witness's own record: the pinned key and every checkpoint it accepted, one JSON line each."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def vkey(self) -> str | None:
        return next((line["vkey"] for line in self.lines() if "vkey" in line), None)

    def last(self) -> dict[str, Any] | None:
        seen = [line for line in self.lines() if "note" in line]
        return seen[-1] if seen else None

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def witness_round(client: Any, state: WitnessState, headers: dict[str, str] | None = None) -> Round:
    """One round against a Hallmark at ``client`` (an httpx.Client with its base URL)."""
    headers = headers or {}
    result = Round(ok=True)
    key = client.get("/v1/trail/public-key").json()
    pinned = state.vkey()
    if pinned is None:
        state.append({"vkey": key["vkey"]})
        pinned = key["vkey"]
        result.said.append(f"pinned the log's key {key['vkey']} (compare it with what the body publishes)")
    elif key["vkey"] != pinned:
        return Round(False, [f"the log now shows key {key['vkey']}, not the key pinned {pinned}: investigate"])
    note = client.get("/v1/trail/checkpoint").text
    try:
        new = open_checkpoint(note, pinned)
    except (CheckpointError, NoteError) as error:
        return Round(False, [f"the checkpoint does not verify with the pinned key: {error}"])
    result.checkpoint = {"origin": new.origin, "size": new.size, "root": base64.b64encode(new.root).decode()}
    last = state.last()
    if last is not None:
        old = open_checkpoint(last["note"], pinned)
        if old.origin != new.origin:
            entry = client.get("/v1/trail/entries/0", headers=headers)
            started = decode_entry(base64.b64decode(entry.json()["entry"])) if entry.status_code == 200 else None
            previous = (started or {}).get("data", {}).get("previous_checkpoint")
            if previous is None:
                return Round(False, [f"the log changed from {old.origin} to {new.origin} and its entry 0 holds no "
                                     "previous checkpoint: a silent replacement"])
            kept = open_checkpoint(previous, pinned)
            if kept.origin != old.origin or kept.size < old.size:
                return Round(False, [f"{new.origin} began from checkpoint {kept.size} of {kept.origin}, older than "
                                     f"checkpoint {old.size} of {old.origin} that this witness kept: entries were lost"])
            result.said.append(f"the log was replaced by {new.origin}, cross-signed by checkpoint {kept.size} of "
                               f"{kept.origin} (ADR 0011); entries {old.size}..{kept.size - 1} of the old log are "
                               "not checked here")
        elif new.size < old.size:
            return Round(False, [f"checkpoint {new.size} is smaller than checkpoint {old.size} kept: the log shrank"])
        elif new.size == old.size:
            if new.root != old.root:
                return Round(False, [f"two checkpoints of size {new.size} with different roots: a forked log"])
            result.said.append(f"no new entries since checkpoint {new.size}")
            return result
        elif old.size == 0:
            result.said.append(f"checkpoint {new.size} extends the empty tree kept (no proof needed)")
        else:
            answer = client.get("/v1/trail/proof/consistency", params={"from": old.size, "to": new.size},
                                headers=headers)
            if answer.status_code != 200:
                return Round(False, [f"no consistency proof from {old.size} to {new.size} "
                                     f"({answer.status_code}: {answer.text[:200]}); set HALLMARK_TOKEN to an "
                                     "assessor's token"])
            proof = [base64.b64decode(h) for h in answer.json()["proof"]]
            if not verify_consistency(old.size, new.size, proof, old.root, new.root):
                return Round(False, [f"checkpoint {new.size} does not extend checkpoint {old.size} kept: the first "
                                     f"{old.size} entries were changed"])
            result.said.append(f"checkpoint {new.size} extends checkpoint {old.size} (consistency proof verified)")
    else:
        result.said.append(f"first checkpoint kept: {new.origin} size {new.size}")
    state.append({"note": note, **result.checkpoint})
    return result
