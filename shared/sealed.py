"""Sealed names of people (ADR 0011), without I/O: what a sealed value looks like, how data is walked
for the names it holds, and how one is opened with its person's key. ``shared.people`` keeps the keys."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESSIV

# Where events and the records kept beside them name people: a name, or a list of names.
PERSON_FIELDS = frozenset({"actor", "submitted_by", "person", "appellant", "by", "approved_by", "decided_by", "lodged_by",
                           "resolved_by", "decider", "member", "complainant"})
PERSON_LISTS = frozenset({"involved", "committee", "evaluators_then"})


class ErasedName(str):
    """What a sealed name of an erased person reads as. It remembers its sealed form, so an event
    that is read and written again (a relay, a re-publication) keeps exactly the stored bytes."""

    sealed: dict[str, str]

    def __new__(cls, sealed: dict[str, str]) -> ErasedName:
        name = super().__new__(cls, f"[erased person {sealed['person']}]")
        name.sealed = sealed
        return name


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"person", "sealed"} and \
        isinstance(value["person"], str) and isinstance(value["sealed"], str)


def open_with(key: bytes, sealed: dict[str, str]) -> str:
    """The name inside a sealed value, with that person's key (raises InvalidTag on a wrong key or
    an altered value): what an evidence pack's verifier does with the pack's openings."""
    raw = base64.b64decode(sealed["sealed"], validate=True)
    return AESSIV(key).decrypt(raw, [sealed["person"].encode()]).decode("utf-8")


def walk(value: Any, on_name: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        if is_sealed(value):
            return on_name(value)
        return {k: walk(v, on_name, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in PERSON_LISTS:
            return [on_name(v) if isinstance(v, str) or is_sealed(v) else walk(v, on_name) for v in value]
        return [walk(v, on_name) for v in value]
    if isinstance(value, str) and key in PERSON_FIELDS:
        return on_name(value)
    return value


def as_names(data: Any) -> Any:
    """``data`` with every sealed name replaced by a stand-in string (for checks of shape only)."""
    return walk(data, lambda value: f"[sealed {value['person']}]" if is_sealed(value) else value)
