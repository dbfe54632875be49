"""Evidence packs (ADR 0011): a certification file, or a period, taken away as one zip that verifies
with nothing but the zip and Hallmark's public key: no network, no database.

A pack holds::

    README.txt          how to verify it, with Hallmark or with any RFC 9162 / signed-note verifier
    manifest.json       what was selected, the log, the checkpoint, every entry's index, and the
                        SHA-256 of every other file of the pack
    manifest.sig        a C2SP signed note by the log's key over the manifest's SHA-256
    checkpoint.txt      the signed checkpoint every inclusion proof is against, byte for byte
    public-key.json     {"name", "public_key" (raw Ed25519, base64), "vkey"}
    entries.jsonl       one line per entry, in log order: {"index", "entry" (base64), "inclusion_proof"}
    openings.json       the names behind sealed persons (ADR 0011), for persons not erased
    report.html         the report for people, rendered from exactly these entries

``verify_pack`` checks the checkpoint's signature, every inclusion proof, the order, the manifest
and its signature, every file's digest, and re-renders the report to compare it byte for byte. The
first problem names the entry (its index and event id) where there is one.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

from services.projections.impartiality import REGISTER_TYPES
from services.projections.log import b64
from shared.contract.types import APPLICATION_SUBMITTED, STAFF_INTEREST_REGISTERED
from shared.domain import person_key, registration_key
from shared.errors import NotFound, NotYetKnown
from shared.evidence.checkpoint import CheckpointError, NoteError, open_checkpoint, parse_vkey, sign_note, verify_note
from shared.evidence.entry import EntryError, decode_entry
from shared.evidence.merkle import leaf_hash, verify_inclusion

FORMAT = "hallmark-evidence-pack/1"
FILES = ("README.txt", "checkpoint.txt", "public-key.json", "entries.jsonl", "openings.json", "report.html")
# The zip's entries carry this fixed time: the same selection gives the same bytes.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)

Opener = Callable[[Any], Any]  # replaces sealed persons in decoded data by their names (or "[erased ...]")

README = """Hallmark evidence pack
======================

{selection}, as recorded in the transparency log {origin}.
{count} entries, each with an RFC 9162 inclusion proof against the signed checkpoint of size {size}.

Verify it (no network, no database needed):

    hallmark evidence verify {name}

or with any RFC 9162 and C2SP signed-note verifier (for example Go's golang.org/x/mod/sumdb/note
and .../tlog): check checkpoint.txt with the public key in public-key.json (compare its vkey with the
one Hallmark publishes at /v1/trail/public-key), then, for each line of entries.jsonl, the leaf hash
SHA-256(0x00 || entry) against the checkpoint's root with its inclusion proof. manifest.sig is a signed
note by the same key over the SHA-256 of manifest.json, which holds the SHA-256 of every other file.

report.html is the report for people; it prints well. `hallmark evidence verify` renders it again
from the entries and compares it byte for byte.
"""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_note_text(origin: str, manifest: bytes) -> str:
    """The signed note over a pack's manifest. Its second line is not a number, so it can never be
    read as a checkpoint of the log, although the same key signs both."""
    return f"{origin} evidence pack\nsha256:{_sha256(manifest)}\n"


def report_rows(decoded: list[dict[str, Any]], opener: Opener) -> list[dict[str, Any]]:
    """Entries in the shape of the audit trail's rows, persons opened, for the report."""
    rows = []
    for entry in decoded:
        data = opener(entry["data"])
        actor, reason = opener(entry["actor"]), entry["reason"]
        rows.append({"index": entry["index"], "event_id": entry["event_id"], "at": entry["recorded_at"],
                     "service": entry["service"], "type": entry["type"], "subject": entry["subject"],
                     "actor": actor, "reason": reason, "data": {**data, "actor": actor, "reason": reason}})
    return rows


def build_pack(*, selection: str, origin: str, checkpoint_note: str, key: Any, entries: list[tuple[int, bytes]],
               proofs: list[list[bytes]], openings: dict[str, Any], opener: Opener,
               render: Callable[[dict, list[dict]], str], name: str = "pack.zip") -> bytes:
    """The zip, deterministic for the same input. ``key``: the log's SigningKey."""
    checkpoint = open_checkpoint(checkpoint_note, key.vkey, origin)
    lines = "".join(json.dumps({"index": index, "entry": b64(entry), "inclusion_proof": [b64(h) for h in proof]},
                               sort_keys=True) + "\n" for (index, entry), proof in zip(entries, proofs, strict=True))
    decoded = [{**decode_entry(entry), "index": index} for index, entry in entries]
    summary = {"selection": selection, "origin": origin, "key_name": key.name, "entries_count": len(entries),
               "checkpoint": {"size": checkpoint.size, "root": b64(checkpoint.root)}}
    files = {
        "README.txt": README.format(selection=selection, origin=origin, count=len(entries), size=checkpoint.size,
                                    name=name).encode(),
        "checkpoint.txt": checkpoint_note.encode(),
        "public-key.json": json.dumps({"name": key.name, "public_key": b64(key.public_key), "vkey": key.vkey},
                                      indent=2, sort_keys=True).encode(),
        "entries.jsonl": lines.encode(),
        "openings.json": json.dumps(openings, indent=2, sort_keys=True, ensure_ascii=False).encode(),
        "report.html": render(summary, report_rows(decoded, opener)).encode(),
    }
    manifest = json.dumps({"format": FORMAT, **summary, "indices": [index for index, _ in entries],
                           "files": {n: _sha256(files[n]) for n in FILES}}, indent=2, sort_keys=True).encode()
    files["manifest.json"] = manifest
    files["manifest.sig"] = sign_note(manifest_note_text(origin, manifest), key).encode()
    return _container(files)


ORDER = ("README.txt", "manifest.json", "manifest.sig", *FILES[1:])


def _container(files: dict[str, bytes]) -> bytes:
    """The zip as Hallmark writes it: stored (not compressed, so that no zlib version changes a byte),
    files in a fixed order with a fixed time. The verifier writes it again and compares every byte, so
    even a change in the zip's own headers, which unzip tools ignore, is found."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for file_name in ORDER:
            info = zipfile.ZipInfo(file_name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[file_name])
    return out.getvalue()


@dataclass
class Verdict:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    first_bad_entry: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def fail(self, problem: str, index: int | None = None, event_id: str | None = None) -> None:
        self.ok = False
        self.problems.append(problem)
        if self.first_bad_entry is None and index is not None:
            self.first_bad_entry = {"index": index, "event_id": event_id}


def verify_pack(data: bytes, *, trusted_vkey: str | None = None, opener_for: Callable[[dict], Opener],
                render: Callable[[dict, list[dict]], str], impartiality: Callable[[list[dict]], dict]) -> Verdict:
    """Everything offline. ``trusted_vkey``: the key the assessor got from Hallmark (else the pack's own,
    which then only proves the pack is intact, not whose it is)."""
    verdict = Verdict()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        files = {n: archive.read(n) for n in archive.namelist()}
    except Exception as error:  # noqa: BLE001 - a damaged zip fails in many ways (CRC, zlib, headers)
        verdict.fail(f"not a readable zip ({type(error).__name__}: {error}): the pack was damaged")
        return verdict
    missing = [n for n in ORDER if n not in files]
    if missing:
        verdict.fail(f"the pack lacks {', '.join(missing)}")
        return verdict
    if set(files) != set(ORDER) or _container(files) != data:
        verdict.fail("the zip is not as Hallmark wrote it (a header, a file name or an extra file was changed "
                     "or added); the checks below say whether the evidence itself was")
    try:
        manifest = json.loads(files["manifest.json"])
        key = json.loads(files["public-key.json"])
        vkey = parse_vkey(key["vkey"])
    except (ValueError, KeyError, TypeError, NoteError) as error:
        verdict.fail(f"manifest.json or public-key.json is unreadable: {error}")
        return verdict
    if trusted_vkey is not None and key["vkey"].strip() != trusted_vkey.strip():
        verdict.fail("the pack's public key is not the key you trust (compare with /v1/trail/public-key)")
        return verdict
    if b64(vkey.public_key) != key.get("public_key") or vkey.name != key.get("name"):
        verdict.fail("public-key.json contradicts itself (name, raw key and vkey differ)")
    origin = manifest.get("origin", "")
    try:
        checkpoint = open_checkpoint(files["checkpoint.txt"], key["vkey"], origin)
    except (CheckpointError, NoteError) as error:
        verdict.fail(f"checkpoint.txt does not verify with the log's key: {error}")
        return verdict
    verdict.summary = {"selection": manifest.get("selection"), "origin": origin, "checkpoint_size": checkpoint.size}

    # Every entry: decodable, in increasing index order, included in the signed tree.
    decoded: list[dict[str, Any]] = []
    previous = -1
    for number, line in enumerate(files["entries.jsonl"].decode("utf-8", "replace").splitlines(), start=1):
        try:
            record = json.loads(line)
            index, entry = record["index"], base64.b64decode(record["entry"], validate=True)
            proof = [base64.b64decode(h, validate=True) for h in record["inclusion_proof"]]
        except (ValueError, KeyError, TypeError) as error:
            verdict.fail(f"entries.jsonl line {number} is unreadable: {error}")
            return verdict
        event_id = None
        try:
            fields = decode_entry(entry)
            event_id = fields.get("event_id")
        except EntryError as error:
            verdict.fail(f"entry #{index} is not a log entry: {error}", index, event_id)
            continue
        if not isinstance(index, int) or index <= previous:
            verdict.fail(f"entry #{index} ({event_id}) is out of log order (after #{previous})", index, event_id)
        if not verify_inclusion(leaf_hash(entry), index, checkpoint.size, proof, checkpoint.root):
            verdict.fail(f"entry #{index} ({event_id}) is not the entry the log holds at index {index} under "
                         f"checkpoint {checkpoint.size}: it was edited or moved", index, event_id)
        previous = index if isinstance(index, int) else previous
        decoded.append({**fields, "index": index})
    listed = manifest.get("indices", [])
    present = [e["index"] for e in decoded]
    if listed != present:
        gone = sorted(set(listed) - set(present))
        extra = sorted(set(present) - set(listed))
        first = (gone or extra or [None])[0]
        verdict.fail(f"the entries are not the ones the manifest lists (missing: {gone[:5]}, not listed: {extra[:5]}, "
                     "or in another order)", first, None)

    # The manifest, signed, and every file's digest.
    try:
        signed_text = verify_note(files["manifest.sig"], key["vkey"])
        if signed_text != manifest_note_text(origin, files["manifest.json"]):
            verdict.fail("manifest.sig was not signed over this manifest.json")
    except NoteError as error:
        verdict.fail(f"manifest.sig does not verify: {error}")
    for name, digest in (manifest.get("files") or {}).items():
        if name in files and _sha256(files[name]) != digest:
            verdict.fail(f"{name} is not the file the pack was made with (SHA-256 differs)")
    if set(manifest.get("files") or {}) != set(FILES):
        verdict.fail("the manifest does not list every file of the pack")
    if manifest.get("checkpoint", {}).get("size") != checkpoint.size:
        verdict.fail("the manifest names another checkpoint than checkpoint.txt")

    # The report: made from exactly these entries.
    try:
        openings = json.loads(files["openings.json"])
        opener = opener_for(openings)
        rows = report_rows(decoded, opener)
        summary = {k: manifest.get(k) for k in ("selection", "origin", "key_name", "entries_count", "checkpoint")}
        if render(summary, rows).encode() != files["report.html"]:
            verdict.fail("report.html was not made from these entries (rendering them again gives another report)")
        verdict.summary["impartiality"] = {rule: check["held"] for rule, check in impartiality(rows)["rules"].items()}
    except Exception as error:  # a broken opening or entry data the report cannot read
        verdict.fail(f"the report cannot be rendered from these entries: {type(error).__name__}: {error}")
    verdict.summary["entries"] = len(decoded)
    return verdict


# -- making a pack from the live log ------------------------------------------------------------------

def _same(value: Any) -> Any:
    return value


def select(trail: Any, *, application_id: str | None = None, certificate_number: str | None = None,
           start: str | None = None, end: str | None = None) -> tuple[str, list[int]]:
    """What a pack holds: a certification file (by application or certificate) or a period (ISO UTC
    bounds, end exclusive). Returns a label and the log indices."""
    if certificate_number:
        application_id = trail.file_of_certificate(certificate_number)
        if application_id is None:
            raise NotFound(f"Certificate {certificate_number} has no file in the audit trail")
        label = f"certificate {certificate_number} (file {application_id})"
        rows = trail.entries(application_id)
    elif application_id:
        label = f"application {application_id}"
        rows = trail.entries(application_id)
    else:
        assert start is not None and end is not None
        label = f"every entry recorded from {start} to {end} (UTC, end excluded)"
        rows = trail.between(start, end)
    if not rows:
        raise NotFound(f"The audit trail holds nothing for {label}")
    if application_id:  # the staff register's entries about the holder, which R2's evidence reads (R58)
        rows = [*rows, *register_entries_about(rows, trail.of_types(REGISTER_TYPES))]
    return label, sorted({row["index"] for row in rows})


def register_entries_about(rows: list[dict[str, Any]], register: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The staff interest register's entries (registered, ended) of interests in the file's holder."""
    holders = {registration_key((row["data"].get("applicant") or {}).get("registration_number"))
               for row in rows if row["type"] == APPLICATION_SUBMITTED} - {""}
    about = {row["subject"] for row in register if row["type"] == STAFF_INTEREST_REGISTERED
             and registration_key(row["data"]["organisation"]["registration_number"]) in holders}
    return [row for row in register if row["subject"] in about]


def make_pack(trail: Any, label: str, indices: list[int], *, name: str = "pack.zip") -> bytes:
    from services.projections.report import render_report

    log = trail.log
    log.checkpoint()  # entries appended in the last second are signed now
    checkpoint = log.latest()
    if indices and checkpoint.size <= max(indices):
        raise NotYetKnown("The newest entries of this selection are not signed yet; retry in a second")
    entries = [(index, log.entry(index)) for index in indices]
    proofs = [log.inclusion_proof(index, checkpoint.size) for index in indices]
    vault = trail.vault
    openings = vault.openings([decode_entry(entry) for _, entry in entries]) if vault else {}
    return build_pack(selection=label, origin=log.origin, checkpoint_note=checkpoint.note, key=log.key,
                      entries=entries, proofs=proofs, openings=openings, opener=vault.open_data if vault else _same,
                      render=render_report, name=name)


def verify_offline(data: bytes, trusted_vkey: str | None = None, zone: str = "Europe/Brussels") -> Verdict:
    """``verify_pack`` with Hallmark's report and impartiality checks: what ``hallmark evidence verify`` runs."""
    from zoneinfo import ZoneInfo

    from services.projections.impartiality import impartiality
    from services.projections.report import render_report

    return verify_pack(data, trusted_vkey=trusted_vkey, opener_for=opener_from, render=render_report,
                       impartiality=lambda rows: impartiality(rows, ZoneInfo(zone)))


def opener_from(openings: dict[str, Any]) -> Opener:
    """Opens the sealed names of a pack with its openings (each person's key), offline; a person
    without an opening was erased. An opening that does not open its person's sealed name, or
    names someone else, is refused."""
    from shared.sealed import ErasedName, is_sealed, open_with, walk

    keys = {person: base64.b64decode(opening["key"], validate=True) for person, opening in openings.items()}

    def open_one(value: Any) -> Any:
        if not is_sealed(value):
            return value
        key = keys.get(value["person"])
        if key is None:
            return ErasedName(value)
        name = open_with(key, value)  # raises on a key or a sealed value that was changed
        if name != openings[value["person"]]["name"] and \
                person_key(name) != person_key(openings[value["person"]]["name"]):
            raise ValueError(f"the opening of {value['person']} names someone else")
        return name

    return lambda data: walk(data, open_one)
