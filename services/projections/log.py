"""The audit trail's transparency log (ADR 0011): every published event of every service, appended
once, in the order the log received it, as a leaf of an RFC 9162 Merkle tree with signed C2SP
checkpoints.

The log is a record to keep, not a view: its tables are never dropped by a rebuild (a rebuilt trail
view finds each event's index by its id), and its order is only ever the order of appending. A
database that lost its log is found at start-up, against the checkpoints kept outside it (the journal
file, and the checkpoint topic over Kafka); it is recovered by an explicit new log whose first entry
holds the old log's last checkpoint, never by a quiet rewrite.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.errors import NotFound
from shared.evidence.checkpoint import SigningKey, open_checkpoint, sign_checkpoint
from shared.evidence.entry import LOG_STARTED, entry_bytes
from shared.evidence.merkle import MerkleTree, leaf_hash, verify_consistency
from shared.views import Cursor, ViewDatabase

log = logging.getLogger(__name__)


class LogInconsistent(RuntimeError):
    """The stored log no longer extends what was signed: nothing more is signed (an alarm)."""


class LogLost(RuntimeError):
    """The projections database holds less of the log than was signed: it was lost or rolled back."""


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: str


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class CheckpointJournal:
    """Every checkpoint the log signed, in a file outside the database, one JSON line each
    (``{"note": <signed note>}``): what the log must still extend after a restart. Over Kafka the
    checkpoint topic keeps them too."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, note: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"note": note}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def notes(self) -> list[str]:
        if not self.path.exists():
            return []
        notes = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                notes.append(json.loads(line)["note"])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash while it was written
        return notes

    def last(self) -> str | None:
        notes = self.notes()
        return notes[-1] if notes else None


class TransparencyLog:
    tables = ("log_entries", "log_checkpoints", "log_epochs")

    def __init__(self, db: ViewDatabase, key: SigningKey, instance: str, journal: CheckpointJournal | None = None,
                 topic: Any = None) -> None:
        self.db = db
        self.key = key
        self.instance = instance
        self.journal = journal
        self.topic = topic  # shared.kafka.CheckpointTopic: where else each checkpoint goes, over Kafka
        self._lock = threading.RLock()
        self._tree = MerkleTree()
        self._tree_epoch = 0
        self._known_epoch = 0  # 0: not known yet (no log begun, or not read)
        self.alarm: str | None = None  # set when the stored log stopped extending what was signed
        self.signs = True  # False in a web process (HALLMARK_ROLE=web): only the worker signs
        with db.transaction() as c:
            c.execute("CREATE TABLE IF NOT EXISTS log_epochs (epoch INTEGER PRIMARY KEY, origin TEXT NOT NULL,"
                      " started_at TEXT NOT NULL, previous_checkpoint TEXT, actor TEXT, reason TEXT)")
            c.execute("CREATE TABLE IF NOT EXISTS log_entries (epoch INTEGER NOT NULL, idx BIGINT NOT NULL,"
                      " event_id TEXT NOT NULL, entry TEXT NOT NULL, leaf_hash TEXT NOT NULL,"
                      " PRIMARY KEY (epoch, idx), UNIQUE (epoch, event_id))")
            c.execute("CREATE TABLE IF NOT EXISTS log_checkpoints (epoch INTEGER NOT NULL, size BIGINT NOT NULL,"
                      " root TEXT NOT NULL, note TEXT NOT NULL, signed_at TEXT NOT NULL, PRIMARY KEY (epoch, size))")

    # -- the epoch (which log this is) ------------------------------------------------------------

    def origin_of(self, epoch: int) -> str:
        return f"hallmark/{self.instance}" if epoch == 1 else f"hallmark/{self.instance}/log-{epoch}"

    def _epoch_of(self, origin: str) -> int:
        base = f"hallmark/{self.instance}"
        if origin == base:
            return 1
        tail = origin.removeprefix(base + "/log-")
        return int(tail) if tail != origin and tail.isdigit() else 0

    @property
    def origin(self) -> str:
        return self.origin_of(self.epoch)

    @property
    def epoch(self) -> int:
        with self.db.read() as c:
            return self._epoch(c)

    def _epoch(self, c: Cursor) -> int:
        """The current log's number. It changes only when a log is started (open, recover), which
        happens with Hallmark stopped, so once known it is kept: appends and reads ask no more."""
        if self._known_epoch:
            return self._known_epoch
        c.execute("SELECT MAX(epoch) FROM log_epochs")
        row = c.fetchone()
        epoch = int(row[0]) if row and row[0] is not None else 0
        self._known_epoch = epoch
        return epoch

    def open(self) -> None:
        """At start-up: begin the first log, or check that the stored one still extends the last
        checkpoint kept outside the database. Raises ``LogLost`` when it does not."""
        kept = {where: keeper.last() for where, keeper in self._keepers()}
        kept = {where: note for where, note in kept.items() if note is not None}
        with self.db.transaction() as c:
            epoch = self._epoch(c)
            if epoch == 0 and not kept:
                c.execute("INSERT INTO log_epochs (epoch, origin, started_at) VALUES (1, ?, ?)",
                          (self.origin_of(1), _now()))
        for where, note in kept.items():
            self._check_extends(note, where)
        self.checkpoint()

    def _keepers(self) -> list[tuple[str, Any]]:
        """Where signed checkpoints are kept outside the database."""
        keepers: list[tuple[str, Any]] = []
        if self.journal is not None:
            keepers.append((str(self.journal.path), self.journal))
        if self.topic is not None:
            keepers.append((f"Kafka topic {self.topic.topic}", self.topic))
        return keepers

    def last_kept(self) -> str | None:
        """The newest checkpoint kept outside the database (the largest tree of the newest log)."""
        notes = [note for _, keeper in self._keepers() for note in [keeper.last()] if note]
        if not notes:
            return None
        def rank(note: str) -> tuple[int, int]:
            checkpoint = open_checkpoint(note, self.key.vkey)
            return self._epoch_of(checkpoint.origin), checkpoint.size
        return max(notes, key=rank)  # a fresh log signs its empty tree; a restarted one anything not yet signed

    def _check_extends(self, note: str, where: str) -> None:
        kept = open_checkpoint(note, self.key.vkey)
        epoch = self.epoch
        size = self.size()
        if epoch == 0 or kept.origin != self.origin:
            known = [self.origin_of(e) for e in range(1, epoch + 1)]
            if kept.origin in known:
                return  # an older log's checkpoint; the current log began from it
            raise LogLost(
                f"the projections database holds no log {kept.origin!r}, which signed {kept.size} entries "
                f"(last checkpoint in {where}): the database was lost or replaced. Start a new log, cross-signed "
                "by that checkpoint: 'hallmark trail recover --reason \"...\"' (ADR 0011)")
        if size < kept.size or self.tree().root(kept.size) != kept.root:
            raise LogLost(
                f"log {kept.origin!r} holds {size} entries but signed {kept.size} with another root (last "
                f"checkpoint in {where}): the database was rolled back or rewritten. Keep it for the "
                "investigation and start a new log: 'hallmark trail recover --reason \"...\"' (ADR 0011)")

    def recover(self, actor: str, reason: str) -> str:
        """Start a new log whose entry 0 holds the last checkpoint of the log that was lost; the trail
        view must then be rebuilt so that every event is appended to the new log."""
        last_kept = self.last_kept()
        with self.db.transaction() as c:
            lost = self._epoch_of(open_checkpoint(last_kept, self.key.vkey).origin) if last_kept else 0
            epoch = max(self._epoch(c), lost) + 1
            self._known_epoch = epoch
            origin = self.origin_of(epoch)
            c.execute("INSERT INTO log_epochs (epoch, origin, started_at, previous_checkpoint, actor, reason)"
                      " VALUES (?, ?, ?, ?, ?, ?)", (epoch, origin, _now(), last_kept, actor, reason))
            started = entry_bytes(service="projections", event_id=f"projections/{origin}/0", type=LOG_STARTED,
                                  subject=origin, time=datetime.now(UTC),
                                  data={"actor": actor, "reason": reason, "origin": origin,
                                        "previous_checkpoint": last_kept})
            self._insert(c, epoch, 0, f"projections/{origin}/0", started)
        self.checkpoint()
        return origin

    # -- appending ----------------------------------------------------------------------------------

    def append(self, c: Cursor, event_id: str, entry: bytes) -> int:
        """Inside the caller's transaction: the entry's index, appending it unless the log has it."""
        epoch = self._epoch(c)
        c.execute("SELECT idx FROM log_entries WHERE epoch = ? AND event_id = ?", (epoch, event_id))
        row = c.fetchone()
        if row is not None:
            return int(row[0])
        c.execute("SELECT MAX(idx) FROM log_entries WHERE epoch = ?", (epoch,))
        top = c.fetchone()[0]
        index = 0 if top is None else int(top) + 1
        self._insert(c, epoch, index, event_id, entry)
        return index

    @staticmethod
    def _insert(c: Cursor, epoch: int, index: int, event_id: str, entry: bytes) -> None:
        c.execute("INSERT INTO log_entries (epoch, idx, event_id, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
                  (epoch, index, event_id, entry.decode("utf-8"), leaf_hash(entry).hex()))

    def index_of(self, event_id: str) -> int | None:
        with self.db.read() as c:
            c.execute("SELECT idx FROM log_entries WHERE epoch = ? AND event_id = ?", (self._epoch(c), event_id))
            row = c.fetchone()
        return None if row is None else int(row[0])

    # -- reading ----------------------------------------------------------------------------------

    def size(self) -> int:
        with self.db.read() as c:
            c.execute("SELECT COUNT(*) FROM log_entries WHERE epoch = ?", (self._epoch(c),))
            return int(c.fetchone()[0])

    def entry(self, index: int) -> bytes:
        with self.db.read() as c:
            c.execute("SELECT entry FROM log_entries WHERE epoch = ? AND idx = ?", (self._epoch(c), index))
            row = c.fetchone()
        if row is None:
            raise NotFound(f"The log {self.origin} has no entry {index} (it holds {self.size()})")
        return row[0].encode("utf-8")

    def entries(self, epoch: int | None = None) -> list[tuple[int, str, bytes, str]]:
        """(index, event id, entry, stored leaf hash) of the whole log, in index order."""
        with self.db.read() as c:
            epoch = self._epoch(c) if epoch is None else epoch
            c.execute("SELECT idx, event_id, entry, leaf_hash FROM log_entries WHERE epoch = ? ORDER BY idx", (epoch,))
            return [(int(r[0]), r[1], r[2].encode("utf-8"), r[3]) for r in c.fetchall()]

    def tree(self) -> MerkleTree:
        """The tree as this process appended or read it: grown from the stored leaf hashes it has not
        seen yet. (Entries it already holds are not read again: a later edit in the database does not
        change what it proves or signs; ``verify`` finds such edits.)"""
        with self._lock:
            with self.db.read() as c:
                epoch = self._epoch(c)
                if epoch != self._tree_epoch:
                    self._tree, self._tree_epoch = MerkleTree(), epoch
                c.execute("SELECT idx, leaf_hash FROM log_entries WHERE epoch = ? AND idx >= ? ORDER BY idx",
                          (epoch, self._tree.size))
                for index, hashed in c.fetchall():
                    if int(index) != self._tree.size:
                        break  # a gap: entries are appended in index order, so this one is not committed yet
                    self._tree.append(bytes.fromhex(hashed))
            return self._tree

    def checkpoints(self, epoch: int | None = None) -> list[SignedCheckpoint]:
        with self.db.read() as c:
            epoch = self._epoch(c) if epoch is None else epoch
            c.execute("SELECT size, root, note, signed_at FROM log_checkpoints WHERE epoch = ? ORDER BY size", (epoch,))
            return [SignedCheckpoint(int(r[0]), bytes.fromhex(r[1]), r[2], r[3]) for r in c.fetchall()]

    def latest(self) -> SignedCheckpoint:
        with self.db.read() as c:
            epoch = self._epoch(c)
            c.execute("SELECT size, root, note, signed_at FROM log_checkpoints WHERE epoch = ? ORDER BY size DESC"
                      " LIMIT 1", (epoch,))
            row = c.fetchone()
        if row is None:
            raise NotFound("The log has signed no checkpoint yet; retry in a few seconds")
        return SignedCheckpoint(int(row[0]), bytes.fromhex(row[1]), row[2], row[3])

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.tree().inclusion_proof(index, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self.tree().consistency_proof(old, new)

    # -- signing ----------------------------------------------------------------------------------

    def checkpoint(self) -> SignedCheckpoint | None:
        """Sign the tree as it stands if it grew since the last checkpoint; never a tree that does not
        extend the last one (ADR 0010: consistency is proved before signing)."""
        if not self.signs:
            return None
        with self._lock:
            tree = self.tree()
            with self.db.transaction() as c:
                epoch = self._epoch(c)
                if epoch == 0:
                    return None
                c.execute("SELECT size, root FROM log_checkpoints WHERE epoch = ? ORDER BY size DESC LIMIT 1"
                          + self.db.lock_rows, (epoch,))
                row = c.fetchone()
                size = tree.size
                if row is not None:
                    last_size, last_root = int(row[0]), bytes.fromhex(row[1])
                    if size == last_size and tree.root(size) == last_root:
                        return None
                    extends = size > last_size and (last_size == 0 or verify_consistency(
                        last_size, size, tree.consistency_proof(last_size, size), last_root, tree.root(size)))
                    if not extends:
                        self.alarm = (f"the stored log ({size} entries) does not extend checkpoint {last_size}: "
                                      "nothing more is signed; run 'hallmark trail verify'")
                        log.error("transparency log: %s", self.alarm)
                        raise LogInconsistent(self.alarm)
                root = tree.root(size)
                note = sign_checkpoint(self.origin_of(epoch), size, root, self.key)
                signed = SignedCheckpoint(size, root, note, _now())
                c.execute("INSERT INTO log_checkpoints (epoch, size, root, note, signed_at) VALUES (?, ?, ?, ?, ?)",
                          (epoch, size, root.hex(), note, signed.signed_at))
            # Kept outside the database once committed: what the log must extend after a restart.
            if self.journal is not None:
                self.journal.append(note)
            if self.topic is not None:
                try:
                    self.topic.publish(note)
                except Exception:  # the checkpoint stands; the next one is published again
                    log.exception("transparency log: could not publish checkpoint %s", size)
            return signed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
