"""Signed checkpoints (C2SP tlog-checkpoint in C2SP signed-note, Ed25519; ADR 0010).

Known answers from Go's golang.org/x/mod/sumdb/note (its PeterNeumann example key and note) and the
C2SP signed-note spec's example. Then the round trip and every refusal, and last the independent check:
tests/evidence_verifier, a Go program on golang.org/x/mod/sumdb/note and .../tlog, is built and run on
checkpoints and proofs this library made, tampered ones included.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from shared.evidence.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteError,
    generate_key,
    key_id,
    load_key,
    open_checkpoint,
    parse_checkpoint,
    parse_vkey,
    sign_checkpoint,
    sign_note,
    verify_note,
    vkey,
)
from shared.evidence.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, verify_consistency, verify_inclusion

ROOT = Path(__file__).resolve().parents[2]
VERIFIER_SOURCE = ROOT / "tests" / "evidence_verifier"
ORIGIN = "hallmark/test-instance"

# golang.org/x/mod/sumdb/note example_test.go (ExampleSign, ExampleOpen).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

# https://c2sp.org/signed-note, "Example".
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = ("This is an example message.\n\n\u2014 example.com/foo "
             "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")

KEY = generate_key(ORIGIN)
ROOT_HASH = hashlib.sha256(b"a root").digest()
ROOT_B64 = base64.b64encode(ROOT_HASH).decode()
URL_SAFE_B64 = base64.urlsafe_b64encode(b"\xff" * 32).decode()


# --- Known answers ------------------------------------------------------------------------------


def test_go_note_packages_example_key_and_signature():
    key = load_key(GO_SKEY)
    assert key.name == "PeterNeumann" and key.key_id.hex() == "c74f20a3"
    assert key.vkey == GO_VKEY
    assert key.skey == GO_SKEY
    assert sign_note(GO_TEXT, key) == GO_NOTE  # Ed25519 is deterministic: byte for byte Go's output
    assert verify_note(GO_NOTE, GO_VKEY) == GO_TEXT
    assert verify_note(GO_NOTE.encode("utf-8"), [GO_VKEY]) == GO_TEXT


def test_the_signed_note_specs_example():
    assert verify_note(C2SP_NOTE, C2SP_VKEY) == "This is an example message.\n"
    verifier = parse_vkey(C2SP_VKEY)
    assert verifier.name == "example.com/foo" and verifier.key_id.hex() == "530d903a"
    assert str(verifier) == C2SP_VKEY


def test_key_id_and_key_formats():
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + KEY.public_key).digest()[:4]
    assert KEY.key_id == key_id(ORIGIN, KEY.public_key) == expected
    name, id_hex, encoded = KEY.vkey.split("+", 2)
    assert (name, id_hex) == (ORIGIN, expected.hex())
    assert base64.b64decode(encoded) == b"\x01" + KEY.public_key
    assert KEY.vkey == vkey(ORIGIN, KEY.public_key)
    assert KEY.skey.startswith(f"PRIVATE+KEY+{ORIGIN}+{expected.hex()}+")
    again = load_key(KEY.skey + "\n")  # as read from a file
    assert again.vkey == KEY.vkey and again.sign(b"x") == KEY.sign(b"x")
    assert KEY.skey not in repr(KEY)


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there", "nbsp\u00a0", "line\nbreak", "lone\ud800"])
def test_key_names_are_non_empty_without_spaces_or_plus(name):
    with pytest.raises(NoteError):
        generate_key(name)


@pytest.mark.parametrize("bad", [
    "PRIVATE+KEY+name+0000000+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # 7 hex digits
    "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # wrong id
    "PRIVATE+KEY+PeterNeumannX+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # wrong name
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # not Ed25519
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",  # not base64
    "PUBLIC+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    GO_VKEY,
])
def test_malformed_signer_keys_are_refused(bad):
    with pytest.raises(NoteError):
        load_key(bad)


@pytest.mark.parametrize("bad", [
    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # id does not match
    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # hex is lowercase
    "Peter+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short key
    "PeterNeumann+c74f20a3",
    GO_SKEY,
])
def test_malformed_verifier_keys_are_refused(bad):
    with pytest.raises(NoteError):
        parse_vkey(bad)


# --- Checkpoints: format and round trip ---------------------------------------------------------


def test_a_checkpoint_round_trips():
    note = sign_checkpoint(ORIGIN, 1234, ROOT_HASH, KEY)
    body = f"{ORIGIN}\n1234\n{ROOT_B64}\n"
    assert note.startswith(body + "\n\u2014 " + ORIGIN + " ")
    assert note.endswith("\n") and note.count("\n") == 5
    signature = base64.b64decode(note.rsplit(" ", 1)[1])
    assert len(signature) == 4 + 64 and signature[:4] == KEY.key_id
    assert verify_note(note, KEY.vkey) == body
    assert parse_checkpoint(body) == Checkpoint(ORIGIN, 1234, ROOT_HASH)
    assert open_checkpoint(note, KEY.vkey, origin=ORIGIN) == Checkpoint(ORIGIN, 1234, ROOT_HASH)


def test_the_empty_tree_and_extension_lines():
    note = sign_checkpoint(ORIGIN, 0, EMPTY_ROOT, KEY, extensions=["timestamp 2026-11-25T10:00:00Z"])
    checkpoint = open_checkpoint(note, KEY.vkey)
    assert checkpoint == Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("timestamp 2026-11-25T10:00:00Z",))
    assert note.startswith(f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ntimestamp ")


@pytest.mark.parametrize("body", [
    f"{ORIGIN}\n0012\n{ROOT_B64}\n",  # leading zeroes
    f"{ORIGIN}\n-1\n{ROOT_B64}\n",
    f"{ORIGIN}\n+1\n{ROOT_B64}\n",
    f"{ORIGIN}\n1 \n{ROOT_B64}\n",
    f"{ORIGIN}\n\u0661\n{ROOT_B64}\n",  # an Arabic-Indic digit
    f"{ORIGIN}\n12\n{base64.b64encode(ROOT_HASH[:31]).decode()}\n",  # 31 bytes
    f"{ORIGIN}\n12\n{ROOT_B64.rstrip('=')}\n",  # no padding
    f"{ORIGIN}\n12\n{URL_SAFE_B64}\n",  # URL-safe alphabet
    f"{ORIGIN}\n12\n{ROOT_B64}",  # no final newline
    f"{ORIGIN}\n12\n{ROOT_B64}\n\n",  # an empty extension line
    f"\n12\n{ROOT_B64}\n",  # no origin
    f"{ORIGIN}\n12\n",
    sign_checkpoint(ORIGIN, 12, ROOT_HASH, KEY),  # the signed note is not the body
])
def test_malformed_checkpoints_are_refused(body):
    with pytest.raises(CheckpointError):
        parse_checkpoint(body)


def test_a_non_canonical_root_encoding_is_refused():
    encoded = base64.b64encode(ROOT_HASH).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(encoded[-2]) ^ 1]  # one of the two unused low bits of the last digit
    other = encoded[:-2] + last + "="
    assert base64.b64decode(other) == ROOT_HASH
    with pytest.raises(CheckpointError):
        parse_checkpoint(f"{ORIGIN}\n12\n{other}\n")


def test_a_checkpoint_of_another_log_is_refused():
    note = sign_checkpoint("hallmark/other", 3, ROOT_HASH, KEY)
    assert open_checkpoint(note, KEY.vkey).origin == "hallmark/other"
    with pytest.raises(CheckpointError):
        open_checkpoint(note, KEY.vkey, origin=ORIGIN)


@pytest.mark.parametrize("args", [("", 1, ROOT_HASH), ("a\nb", 1, ROOT_HASH), (ORIGIN, -1, ROOT_HASH),
                                  (ORIGIN, True, ROOT_HASH), (ORIGIN, 1, ROOT_HASH[:31]), (ORIGIN, 1.0, ROOT_HASH)])
def test_nonsense_is_not_signed(args):
    with pytest.raises(CheckpointError):
        sign_checkpoint(*args, KEY)


def test_no_empty_extension_line_or_unterminated_text_is_signed():
    with pytest.raises(CheckpointError):
        sign_checkpoint(ORIGIN, 1, ROOT_HASH, KEY, extensions=[""])
    with pytest.raises(NoteError):
        sign_note("no final newline", KEY)
    with pytest.raises(NoteError):
        sign_note("a bell \x07\n", KEY)


# --- Refusals -----------------------------------------------------------------------------------


def test_a_changed_byte_anywhere_is_refused():
    note = sign_checkpoint(ORIGIN, 1234, ROOT_HASH, KEY).encode("utf-8")
    assert verify_note(note, KEY.vkey)
    for position in range(len(note)):
        for mask in (0x01, 0x02, 0x20, 0x80):
            changed = note[:position] + bytes([note[position] ^ mask]) + note[position + 1:]
            with pytest.raises(ValueError):
                open_checkpoint(changed, KEY.vkey, origin=ORIGIN)
        with pytest.raises(ValueError):
            open_checkpoint(note[:position] + note[position + 1:], KEY.vkey, origin=ORIGIN)  # a byte removed
        with pytest.raises(ValueError):
            open_checkpoint(note[:position] + b"0" + note[position:], KEY.vkey, origin=ORIGIN)  # one inserted


def test_a_wrong_key_is_refused():
    note = sign_checkpoint(ORIGIN, 5, ROOT_HASH, KEY)
    impostor = generate_key(ORIGIN)  # same name, another key: another key id, so "unknown"
    with pytest.raises(NoteError, match="no signature of a trusted key"):
        verify_note(note, impostor.vkey)
    with pytest.raises(NoteError):
        verify_note(sign_checkpoint(ORIGIN, 5, ROOT_HASH, impostor), KEY.vkey)


def test_a_wrong_key_name_is_refused():
    note = sign_checkpoint(ORIGIN, 5, ROOT_HASH, KEY)
    with pytest.raises(NoteError):
        verify_note(note, vkey("hallmark/another-instance", KEY.public_key))  # same key, other name
    renamed = note.replace(f"\u2014 {ORIGIN} ", "\u2014 hallmark/another-instance ")
    with pytest.raises(NoteError):
        verify_note(renamed, KEY.vkey)


def test_a_key_id_that_matches_with_a_bad_signature_refuses_the_whole_note():
    note = sign_checkpoint(ORIGIN, 5, ROOT_HASH, KEY)
    forged = base64.b64encode(KEY.key_id + bytes(64)).decode()
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(note + f"\u2014 {ORIGIN} {forged}\n", KEY.vkey)


def test_a_missing_signature_is_refused():
    note = sign_checkpoint(ORIGIN, 5, ROOT_HASH, KEY)
    body = note[: note.index("\n\n") + 1]
    for unsigned in (body, body + "\n", note[: note.index("\u2014")], note.replace("\u2014", "-")):
        with pytest.raises(NoteError):
            verify_note(unsigned, KEY.vkey)
    with pytest.raises(NoteError):
        verify_note(note, [])


def test_signatures_of_other_keys_are_ignored_but_one_of_ours_is_needed():
    witness = generate_key("witness.example/w1")
    note = sign_checkpoint(ORIGIN, 5, ROOT_HASH, KEY)
    cosigned = note + sign_note(note[: note.index("\n\n") + 1], witness).split("\n\n", 1)[1]
    assert cosigned.count("\u2014") == 2
    assert verify_note(cosigned, KEY.vkey) == verify_note(cosigned, witness.vkey) == note[: note.index("\n\n") + 1]
    assert verify_note(cosigned, [KEY.vkey, witness.vkey])
    only_witness = sign_note(note[: note.index("\n\n") + 1], witness)
    with pytest.raises(NoteError):
        verify_note(only_witness, KEY.vkey)


@pytest.mark.parametrize("note", [
    "text\x00\n\n\u2014 a AAAAAAAA\n",  # a control character
    "text\ud800\n\n\u2014 a AAAAAAAA\n",  # not UTF-8
    "text\r\n\n\u2014 a AAAAAAAA\n",
    "text\n\n\u2014 a AAAA\n",  # too short for an id and a signature
    "text\n\n\u2014 a  AAAAAAAA\n",
    "text\n\n\u2014 a\n",
    "text\n\n\u2014 a AAAAAAAA",
])
def test_malformed_notes_are_refused(note):
    with pytest.raises(NoteError):
        verify_note(note, KEY.vkey)


def test_a_note_that_is_not_utf8_is_refused():
    with pytest.raises(NoteError):
        verify_note(b"text\n\n\xe2\x80 a AAAAAAAA\n", KEY.vkey)


# --- The independent verifier (Go) --------------------------------------------------------------


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _python_verdict(check: dict, entries: list[bytes]) -> bool:
    """What this library says about a check the Go program is also given."""
    try:
        if check["kind"] == "checkpoint":
            checkpoint = open_checkpoint(check["note"], KEY.vkey, origin=ORIGIN)
            return MerkleTree([leaf_hash(e) for e in entries[: checkpoint.size]]).root() == checkpoint.root
        if check["kind"] == "inclusion":
            checkpoint = open_checkpoint(check["note"], KEY.vkey, origin=ORIGIN)
            proof = [base64.b64decode(p) for p in check["proof"]]
            leaf = leaf_hash(base64.b64decode(check["entry"]))
            return verify_inclusion(leaf, check["index"], checkpoint.size, proof, checkpoint.root)
        old = open_checkpoint(check["old"], KEY.vkey, origin=ORIGIN)
        new = open_checkpoint(check["note"], KEY.vkey, origin=ORIGIN)
        proof = [base64.b64decode(p) for p in check["proof"]]
        return verify_consistency(old.size, new.size, proof, old.root, new.root)
    except ValueError:
        return False


def test_an_independent_go_verifier_accepts_what_hallmark_signs_and_refuses_tampering(go_verifier):
    entries = [b"", b"\x00", b"entry 2", bytes(range(256))] + [b"hallmark entry %d" % i for i in range(4, 45)]
    tree = MerkleTree()
    signed: dict[int, str] = {}
    last = None
    for size in (1, 2, 7, 8, 13, 32, 45):  # the log signs as it grows, each consistent with the last
        while tree.size < size:
            tree.append(leaf_hash(entries[tree.size]))
        if last is not None:
            assert verify_consistency(last, size, tree.consistency_proof(last), tree.root(last), tree.root())
        signed[size] = sign_checkpoint(ORIGIN, size, tree.root(), KEY)
        last = size
    sizes = sorted(signed)
    latest = signed[45]

    def proof(hashes: list[bytes]) -> list[str]:
        return [_b64(x) for x in hashes]

    checks: list[tuple[dict, bool]] = []  # (check, whether it must pass)
    checks += [({"kind": "checkpoint", "note": signed[s]}, True) for s in sizes]
    for s in sizes:
        for index in range(s):
            checks.append(({"kind": "inclusion", "note": signed[s], "index": index, "entry": _b64(entries[index]),
                            "proof": proof(tree.inclusion_proof(index, s))}, True))
    for old in sizes:
        for new in sizes:
            if old <= new:
                checks.append(({"kind": "consistency", "old": signed[old], "note": signed[new],
                                "proof": proof(tree.consistency_proof(old, new))}, True))

    good = tree.inclusion_proof(9, 45)
    consistent = tree.consistency_proof(13, 45)
    body_13 = signed[13][: signed[13].index("\n\n") + 1]
    tampered = [
        {"kind": "checkpoint", "note": latest.replace("\n45\n", "\n44\n")},
        {"kind": "checkpoint", "note": latest.replace(ORIGIN, "hallmark/other")},
        {"kind": "checkpoint", "note": sign_checkpoint(ORIGIN, 45, tree.root(), generate_key(ORIGIN))},
        {"kind": "checkpoint", "note": sign_checkpoint(ORIGIN, 45, tree.root(), KEY).split("\n\n")[0] + "\n"},
        {"kind": "checkpoint", "note": sign_note(body_13, generate_key("witness.example/w"))},
        {"kind": "checkpoint", "note": sign_checkpoint(ORIGIN, 8, tree.root(7), KEY)},  # signed, but a lie
        {"kind": "checkpoint", "note": sign_checkpoint(ORIGIN, 45, tree.root(), generate_key("hallmark/x"))},
        {"kind": "inclusion", "note": latest, "index": 9, "entry": _b64(entries[10]), "proof": proof(good)},
        {"kind": "inclusion", "note": latest, "index": 9, "entry": _b64(entries[9] + b" "), "proof": proof(good)},
        {"kind": "inclusion", "note": latest, "index": 10, "entry": _b64(entries[9]), "proof": proof(good)},
        {"kind": "inclusion", "note": latest, "index": 9, "entry": _b64(entries[9]), "proof": proof(good[:-1])},
        {"kind": "inclusion", "note": latest, "index": 9, "entry": _b64(entries[9]),
         "proof": proof(good + [tree.root()])},
        {"kind": "inclusion", "note": latest, "index": 9, "entry": _b64(entries[9]),
         "proof": proof([tree.root(), *good])},
        {"kind": "inclusion", "note": latest, "index": 9, "entry": _b64(entries[9]),
         "proof": proof([*good[:2], bytes(32), *good[3:]])},
        {"kind": "inclusion", "note": signed[32], "index": 9, "entry": _b64(entries[9]), "proof": proof(good)},
        {"kind": "inclusion", "note": latest, "index": 44, "entry": _b64(entries[44]),
         "proof": proof(tree.inclusion_proof(44, 45)[:-1])},
        {"kind": "consistency", "old": signed[13], "note": latest, "proof": proof(consistent[:-1])},
        {"kind": "consistency", "old": signed[13], "note": latest, "proof": proof(consistent + consistent[-1:])},
        {"kind": "consistency", "old": signed[13], "note": latest, "proof": proof(consistent[::-1])},
        {"kind": "consistency", "old": signed[8], "note": latest, "proof": proof(consistent)},
        {"kind": "consistency", "old": latest, "note": signed[13], "proof": proof(consistent)},
        {"kind": "consistency", "old": signed[13], "note": signed[32], "proof": proof(consistent)},
        {"kind": "consistency", "old": signed[32], "note": signed[32], "proof": proof(consistent[:1])},
        {"kind": "consistency", "old": signed[1], "note": latest, "proof": []},
        {"kind": "consistency", "old": sign_checkpoint(ORIGIN, 13, tree.root(12), KEY), "note": latest,
         "proof": proof(consistent)},  # a forked past: no proof joins it to the present
    ]
    checks += [(check, False) for check in tampered]

    request = {"vkey": KEY.vkey, "origin": ORIGIN, "entries": [_b64(e) for e in entries],
               "checks": [check for check, _ in checks]}
    started = time.monotonic()
    ran = subprocess.run([str(go_verifier)], input=json.dumps(request), capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    results = json.loads(ran.stdout)["results"]
    assert len(results) == len(checks)
    print(f"Go verifier: {len(checks)} checks in {time.monotonic() - started:.2f}s")

    wrong = []
    for (check, must_pass), result in zip(checks, results, strict=True):
        python = _python_verdict(check, entries)
        if result["ok"] != must_pass or python != must_pass:
            shown = {k: v for k, v in check.items() if k in ("kind", "index")}
            wrong.append(f"{shown} must {'pass' if must_pass else 'fail'}: go={result} python={python}")
    assert not wrong, "\n".join(wrong[:20])
    go_roots = {r["size"]: base64.b64decode(r["root"]) for r in results[: len(sizes)]}
    assert go_roots == {s: tree.root(s) for s in sizes}


def test_go_accepts_a_non_canonical_signature_encoding_that_python_refuses(go_verifier):
    """Not a forgery (the text and the signature bytes are unchanged), but a second spelling of one
    note: Go's base64 decoder ignores the unused low bits of the last digit; ours refuses them, so that
    every changed byte of a note is refused."""
    note = sign_checkpoint(ORIGIN, 1, leaf_hash(b"e"), KEY)
    head, encoded = note[:-1].rsplit(" ", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert encoded.endswith("=") and not encoded.endswith("==")  # 68 bytes: the third digit has 2 spare bits
    respelled = f"{head} {encoded[:-2]}{alphabet[alphabet.index(encoded[-2]) ^ 1]}=\n"
    request = {"vkey": KEY.vkey, "origin": ORIGIN, "entries": [_b64(b"e")],
               "checks": [{"kind": "checkpoint", "note": respelled}]}
    ran = subprocess.run([str(go_verifier)], input=json.dumps(request), capture_output=True, text=True, timeout=60)
    assert json.loads(ran.stdout)["results"] == [{"ok": True, "size": 1, "root": _b64(leaf_hash(b"e"))}]
    with pytest.raises(NoteError, match="canonical"):
        verify_note(respelled, KEY.vkey)
