"""Domain vocabulary shared by the services: people, declarations, dates. Imports no I/O."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any, Iterable
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import ConflictOfInterest

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


# The staff interest register (R57, R58): the kinds of relation a member of the body's staff declares with an
# organisation the body certifies (ISO/IEC 17065 4.2.3, 4.2.10).
INTEREST_KINDS = ("employed", "consultancy", "financial", "family", "other")


def registration_key(registration_number: str | None) -> str:
    """One form of a company registration number: ``BE 0123.456.789`` and ``be0123456789`` are one organisation."""
    return "".join(ch for ch in (registration_number or "").upper() if ch.isalnum())


def interests_within_cooling_off(interests: Iterable[dict[str, Any]], registration_number: str | None,
                                 today: date) -> list[dict[str, Any]]:
    """R58: the staff register's interests in the organisation ``registration_number`` that held at some time in the
    cooling-off period before ``today`` (begun by today, and not ended before it began). An interest with no
    ``until`` is ongoing."""
    key = registration_key(registration_number)
    if not key:
        return []
    horizon = years_before(today, COOLING_OFF_YEARS)
    found = []
    for interest in interests:
        if registration_key(interest["organisation"]["registration_number"]) != key:
            continue
        until = interest.get("until")
        if date.fromisoformat(str(interest["since"])) > today:
            continue
        if until is not None and date.fromisoformat(str(until)) < horizon:
            continue
        found.append(interest)
    return found


def check_staff_register(person: str, interests: Iterable[dict[str, Any]], acting_as: str) -> None:
    """R2 as the staff interest register tells it (R58): ``interests`` are those in the file's organisation within
    the cooling-off period (interests_within_cooling_off); a person holding one may not act as ``acting_as``."""
    for interest in interests:
        if same_person(interest["person"], person):
            organisation = interest["organisation"]
            period = f"since {interest['since']}" + (f" until {interest['until']}" if interest.get("until") else "")
            raise ConflictOfInterest(
                f"R2 (staff interest register): {person} has a registered {interest['kind']} interest in "
                f"{organisation['name']} ({organisation['registration_number']}), {period}, within the last "
                f"{COOLING_OFF_YEARS} years, and may not act as {acting_as} on its file",
                source="staff_interest_register", interest_id=interest["interest_id"])


class StaffInterests(Aggregate):
    """What a service knows of the staff interest register that decisions keeps (R58): every interest registered,
    with its end once ended. One per service store; learnt from ``StaffInterest.Registered`` and ``.Ended`` (in
    decisions, kept with the register's own events in the same transaction). Internal to the service."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return natural_id("staff-interests", "register")

    @event("Opened")
    def __init__(self) -> None:
        self.interests: dict[str, dict[str, Any]] = {}  # interest id -> person, organisation, kind, since, until

    @event("InterestLearnt")
    def learn(self, interest_id: str, person: str, organisation: dict[str, Any], kind: str, since: str,
              until: str | None) -> None:
        self.interests[interest_id] = {"interest_id": interest_id, "person": person, "organisation": organisation,
                                       "kind": kind, "since": str(since), "until": str(until) if until else None}

    @event("EndLearnt")
    def learn_end(self, interest_id: str, until: str) -> None:
        if interest_id in self.interests:
            self.interests[interest_id] = {**self.interests[interest_id], "until": str(until)}

    def learn_fact(self, *, ended: bool, interest_id: str, data: dict[str, Any]) -> None:
        """One fact of decisions' register as its event carries it: ``StaffInterest.Registered``, or ``.Ended``."""
        if ended:
            self.learn_end(interest_id=interest_id, until=data["until"])
        else:
            self.learn(interest_id=interest_id, person=data["person"], organisation=data["organisation"],
                       kind=data["kind"], since=data["since"], until=data.get("until"))

    def within_cooling_off(self, registration_number: str | None, today: date) -> list[dict[str, Any]]:
        return interests_within_cooling_off(self.interests.values(), registration_number, today)


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
