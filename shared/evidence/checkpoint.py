"""Checkpoints: C2SP ``tlog-checkpoint`` bodies in C2SP ``signed-note`` notes, signed with Ed25519.

A checkpoint (https://c2sp.org/tlog-checkpoint) is the note text::

    hallmark/<instance>          origin: the log's identity
    1234                         tree size, decimal, no leading zeroes
    <base64 of the 32-byte root> RFC 9162 root hash, standard base64
    [extension lines]            optional, non-empty, not recommended

A signed note (https://c2sp.org/signed-note) is that text, a blank line, then signature lines
``— <key name> <base64(key id (4 bytes, big-endian) || Ed25519 signature of the text)>``, the em dash
being U+2014. The key id is ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]``. The
log's key name is its origin.

Keys use the formats of Go's ``golang.org/x/mod/sumdb/note``, so that Go verifiers (and anything
else speaking the note formats) take them as they are:

- verifier key (public, "vkey"): ``<name>+<hex key id>+<base64(0x01 || public key)>``;
- signer key (private, "skey"): ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>``.
  This one line is how Hallmark stores its private key (a file in the data folder, or a secret):
  it carries the key name with the key, and ``note.NewSigner`` in Go reads it too. It is a secret.

No I/O here: callers read and write the key and the checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from shared.evidence.merkle import HASH_SIZE

ED25519 = 0x01  # the signed-note signature type of Ed25519
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16; Go's note package stops at 100
_SIZE = re.compile(r"0|[1-9][0-9]*")
_HEX_ID = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """A note, a key or a signature is malformed, or the note carries no valid signature of the key."""


class CheckpointError(ValueError):
    """A note's text is not a well-formed checkpoint, or not the checkpoint expected."""


# --- Keys ---------------------------------------------------------------------------------------


def _valid_name(name: object) -> bool:
    """Key names are non-empty and contain no Unicode space and no plus sign."""
    return (
        isinstance(name, str) and name != "" and "+" not in name
        and not any(c.isspace() or unicodedata.category(c) in ("Zs", "Cs") or ord(c) < 0x20 for c in name)
    )


def _b64decode(text: str) -> bytes:
    """Strict standard base64: the alphabet, padding, and the one canonical spelling of the bytes."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as error:
        raise NoteError("not standard base64") from error
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError("not the canonical base64 of its bytes")
    return raw


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte id of an Ed25519 key under a name (signed-note, Ed25519 signatures)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def vkey(name: str, public_key: bytes) -> str:
    """The verifier key of an Ed25519 public key (raw 32 bytes) under a name."""
    if not _valid_name(name):
        raise NoteError(f"{name!r} is not a valid key name")
    if len(public_key) != 32:
        raise NoteError("an Ed25519 public key has 32 bytes")
    encoded = base64.b64encode(bytes([ED25519]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: bytes

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        return vkey(self.name, self.public_key)


def parse_vkey(text: str) -> VerifierKey:
    """Reads ``<name>+<hex key id>+<base64(0x01 || public key)>``; the id must match name and key."""
    parts = text.split("+", 2) if isinstance(text, str) else []
    if len(parts) != 3 or not _valid_name(parts[0]) or not _HEX_ID.fullmatch(parts[1]):
        raise NoteError("a verifier key is <name>+<8 hex digits>+<base64 key>")
    name, id_hex, encoded = parts
    raw = _b64decode(encoded)
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("not an Ed25519 verifier key (type 0x01 and 32 bytes)")
    public_key = raw[1:]
    if key_id(name, public_key).hex() != id_hex:
        raise NoteError("the verifier key's id does not match its name and key")
    return VerifierKey(name, bytes.fromhex(id_hex), public_key)


class SigningKey:
    """An Ed25519 private key with the name it signs under."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _valid_name(name):
            raise NoteError(f"{name!r} is not a valid key name (non-empty, no spaces, no '+')")
        self.name = name
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(name, self.public_key)

    @property
    def vkey(self) -> str:
        return vkey(self.name, self.public_key)

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self.key_id, self.public_key)

    @property
    def skey(self) -> str:
        """The private key as one line (a secret): ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
        seed = self._private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(bytes([ED25519]) + seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def __repr__(self) -> str:  # never the private key
        return f"SigningKey({self.vkey!r})"


def generate_key(name: str) -> SigningKey:
    return SigningKey(name, Ed25519PrivateKey.generate())


def load_key(skey: str) -> SigningKey:
    """Reads a signer key as ``generate_key(...).skey`` (or Go's ``note.GenerateKey``) wrote it."""
    parts = skey.strip().split("+", 4) if isinstance(skey, str) else []
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _HEX_ID.fullmatch(parts[3]):
        raise NoteError("a signer key is PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>")
    raw = _b64decode(parts[4])
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("not an Ed25519 signer key (type 0x01 and a 32-byte seed)")
    key = SigningKey(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if key.key_id.hex() != parts[3]:
        raise NoteError("the signer key's id does not match its name and key")
    return key


# --- Signed notes -------------------------------------------------------------------------------


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise NoteError("a note is valid UTF-8") from error
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note contains no control characters other than newline")


def sign_note(text: str, key: SigningKey) -> str:
    """The signed note: text, a blank line, and the key's signature line."""
    _check_text(text)
    payload = key.key_id + key.sign(text.encode("utf-8"))
    return f"{text}\n{SIGNATURE_PREFIX}{key.name} {base64.b64encode(payload).decode('ascii')}\n"


def verify_note(note: str | bytes, vkeys: str | Iterable[str]) -> str:
    """Checks a signed note against trusted verifier key(s) and returns its text (with its final newline).

    As the signed-note spec says: signatures of unknown keys (another name or another id) are ignored;
    a signature of a known key must verify, or the whole note is refused; and at least one known key
    must have signed. Raises ``NoteError`` otherwise.
    """
    known = {}
    for text in [vkeys] if isinstance(vkeys, str) else vkeys:
        verifier = parse_vkey(text)
        known[(verifier.name, verifier.key_id)] = verifier
    if not known:
        raise NoteError("no verifier key given")
    if isinstance(note, (bytes, bytearray)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError as error:
            raise NoteError("a note is UTF-8") from error
    if not isinstance(note, str):
        raise NoteError("a note is text")
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a note has a blank line before its signatures")
    text, signatures = note[: split + 1], note[split + 2:]
    if not signatures:
        raise NoteError("a note has at least one signature line")
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    message = text.encode("utf-8")
    verified = set()
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("a signature line starts with an em dash and a space")
        name, space, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
        if not space or not _valid_name(name) or not encoded:
            raise NoteError("a signature line is '\u2014 <key name> <base64 signature>'")
        raw = _b64decode(encoded)
        if len(raw) < 5:
            raise NoteError("a signature is a 4-byte key id and the signature")
        verifier = known.get((name, raw[:4]))
        if verifier is None:
            continue  # another key's signature (a witness, a rotated key): not ours to judge
        if not verifier.verify(message, raw[4:]):
            raise NoteError(f"the signature of {name}+{raw[:4].hex()} does not verify")
        verified.add((name, raw[:4]))
    if not verified:
        raise NoteError("no signature of a trusted key")
    return text


# --- Checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise CheckpointError("the origin is one non-empty line")
        if any(ord(c) < 0x20 for c in self.origin):
            raise CheckpointError("the origin contains no control characters")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise CheckpointError("the tree size is a non-negative integer")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"the root hash has {HASH_SIZE} bytes")
        for line in self.extensions:
            if not isinstance(line, str) or not line or "\n" in line or any(ord(c) < 0x20 for c in line):
                raise CheckpointError("an extension line is one non-empty line")

    def text(self) -> str:
        """The note text (the checkpoint body), every line ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Reads a checkpoint body: the text ``verify_note`` returned, not the signed note itself."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise CheckpointError("a checkpoint's text ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise CheckpointError("a checkpoint is at least three non-empty lines (origin, size, root hash)")
    origin, size, encoded, *extensions = lines
    if not _SIZE.fullmatch(size):
        raise CheckpointError(f"tree size {size[:40]!r} is not a decimal number without leading zeroes")
    try:
        root = _b64decode(encoded)
    except NoteError as error:
        raise CheckpointError(f"the root hash is not base64: {error}") from error
    return Checkpoint(origin, int(size), root, tuple(extensions))


def sign_checkpoint(origin: str, size: int, root: bytes, key: SigningKey, extensions: Iterable[str] = ()) -> str:
    """The signed note of the checkpoint, as a log publishes it (byte for byte).

    The caller must not sign a size whose tree is not consistent with the last checkpoint it
    signed (ADR 0010): prove consistency first."""
    return sign_note(Checkpoint(origin, size, bytes(root), tuple(extensions)).text(), key)


def open_checkpoint(note: str | bytes, vkeys: str | Iterable[str], origin: str | None = None) -> Checkpoint:
    """``verify_note`` then ``parse_checkpoint``; with ``origin``, the checkpoint must be that log's."""
    checkpoint = parse_checkpoint(verify_note(note, vkeys))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint is of {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
