"""Domain vocabulary shared by the services: people, declarations, dates. Imports no I/O."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any, Iterable
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

HALLMARK_NAMESPACE = uuid5(NAMESPACE_URL, "urn:hallmark")

# How far back a consultancy or employment relation disqualifies a person (ISO/IEC 17065 4.2.10).
COOLING_OFF_YEARS = 2


def natural_id(kind: str, key: str) -> UUID:
    """Deterministic aggregate id for a natural key, so the event store itself refuses duplicates."""
    return uuid5(HALLMARK_NAMESPACE, f"{kind}:{key}")


def same_person(a: str, b: str) -> bool:
    return person_key(a) == person_key(b)


# Code points that show as nothing but are not format characters (category Cf): the rest of
# Unicode's Default_Ignorable_Code_Point (combining grapheme joiner, Hangul fillers, Khmer inherent
# vowels, Mongolian and other variation selectors).
_INVISIBLE = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0,
                        *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def _shows_nothing(char: str) -> bool:
    if char.isspace():
        return False  # NBSP, tabs, ideographic space and the like separate words: folded below
    return unicodedata.category(char) in ("Cf", "Cc") or ord(char) in _INVISIBLE


def person_key(name: str) -> str:
    """One form per person's name, the only one R1, R2 and R8 compare (ADR 0007).

    Two spellings that look alike to a reader get one key: compatibility forms (fullwidth letters,
    ligatures) and combining accents are normalised (NFKC), characters that show as nothing (format
    characters such as U+200B, U+00AD, U+2060, U+FEFF, bidi controls, variation selectors) are
    dropped, case is folded (then NFKC again, which case folding can undo), and every run of
    whitespace, NBSP and the other Unicode spaces included, is one space.
    """
    visible = "".join(char for char in unicodedata.normalize("NFKC", name) if not _shows_nothing(char))
    return " ".join(unicodedata.normalize("NFKC", visible.casefold()).split())


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def advisers_within_cooling_off(consultancy: Iterable[dict[str, Any]], today: date) -> list[str]:
    """People who advised or employed the client within the cooling-off period before ``today``.

    A declaration with no ``until`` is an ongoing relation.
    """
    horizon = years_before(today, COOLING_OFF_YEARS)
    people = []
    for entry in consultancy:
        until = entry.get("until")
        if until is None or date.fromisoformat(str(until)) >= horizon:
            people.append(entry["person"])
    return people


def current_documents(documents: Iterable[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """The latest version in effect on ``today`` of each scheme document (TRA, PTV, ...): a version
    published with a later effective date does not count until that date."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for document in sorted(documents, key=lambda d: str(d["effective_from"])):
        if str(document["effective_from"]) > today.isoformat():
            continue
        latest[(document["kind"], document["ref"])] = document
    return list(latest.values())


class FileLink(Aggregate):
    """Which certification file (application) a certificate or an audit belongs to, as learnt from
    another service's events. Internal to the service that keeps it."""

    @staticmethod
    def create_id(kind: str, key: str, **_: Any) -> UUID:
        return natural_id(f"{kind}-link", key)

    @event("Learnt")
    def __init__(self, *, kind: str, key: str, application_id: str) -> None:
        self.kind = kind
        self.key = key
        self.application_id = application_id
        self.status: str | None = None

    @event("StatusLearnt")
    def learn_status(self, status: str) -> None:
        """The linked record's current status (a certificate's), where the service needs it."""
        self.status = status
