"""Impartiality evidence for one certification file, derived from its audit trail.

An assessor must see, not be told, that R1, R2 and R8 held: who reviewed, evaluated, decided and
sat on an appeal committee, what the applicant declared, what the staff interest register held (R58), and each
check with the facts it used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any, Sequence

from shared.contract.types import STAFF_INTEREST_ENDED, STAFF_INTEREST_REGISTERED
from shared.domain import advisers_within_cooling_off, interests_within_cooling_off, same_person

REGISTER_TYPES = (STAFF_INTEREST_REGISTERED, STAFF_INTEREST_ENDED)


def _day(entry: dict[str, Any], zone: tzinfo) -> date:
    """The calendar day of an act in the certification body's zone, as the rules were applied."""
    return datetime.fromisoformat(entry["at"]).astimezone(zone).date()


def _position(entry: dict[str, Any]) -> tuple[int, str]:
    return (int(entry["seq"]) if "seq" in entry else -1, str(entry.get("at", "")))


def impartiality(entries: list[dict[str, Any]], zone: tzinfo = UTC,
                 register: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``entries``: the file's trail; ``register``: the staff interest register's entries (StaffInterest.*), each
    applied from its place in the log on, so a check uses the register as it stood when the act was recorded."""
    register = [*register, *(e for e in entries if e["type"] in REGISTER_TYPES)]  # an evidence pack carries them
    entries = [e for e in entries if e["type"] not in REGISTER_TYPES]
    consultancy: list[dict[str, Any]] = []
    holder: str | None = None  # the holder's registration number, which the register names
    interests: dict[str, dict[str, Any]] = {}  # the register as it stood
    pending = sorted(register, key=_position)
    participants: list[dict[str, Any]] = []
    evaluators: list[str] = []
    deciders: dict[str, str] = {}  # decision id -> decider
    contested: dict[str, str] = {}  # appeal id -> decision id
    r1, r2, r8 = [], [], []

    def check_r2(person: str, role: str, entry: dict[str, Any]) -> None:
        day = _day(entry, zone)
        advisers = advisers_within_cooling_off(consultancy, day)
        conflict = [a for a in advisers if same_person(a, person)]
        registered = [i for i in interests_within_cooling_off(interests.values(), holder, day)
                      if same_person(i["person"], person)]
        r2.append({"person": person, "role": role, "event_id": entry["event_id"], "at": entry["at"],
                   "declared_advisers_then": advisers, "staff_register_interests_then": registered,
                   "held": not conflict and not registered})

    def learn_register(upto: dict[str, Any]) -> None:
        """Applies the register's entries recorded before ``upto``."""
        while pending and _position(pending[0]) < _position(upto):
            found = pending.pop(0)
            data = found["data"]
            if found["type"] == STAFF_INTEREST_REGISTERED:
                interests[found["subject"]] = {
                    "interest_id": found["subject"], "person": data["person"], "organisation": data["organisation"],
                    "kind": data["kind"], "since": data["since"], "until": data.get("until"),
                    "event_id": found.get("event_id")}
            elif found["subject"] in interests:
                interests[found["subject"]] = {**interests[found["subject"]], "until": data["until"]}

    for entry in entries:
        data, kind = entry["data"], entry["type"]
        learn_register(entry)
        if kind == "Application.Submitted":
            consultancy = data.get("consultancy", [])
            holder = (data.get("applicant") or {}).get("registration_number")
        elif kind == "Application.Reviewed":
            participants.append({"person": entry["actor"], "role": "application reviewer", "event_id": entry["event_id"]})
            check_r2(entry["actor"], "application reviewer", entry)
        elif kind == "Audit.TeamMemberAssigned":
            person = data["person"]
            evaluators.append(person)
            participants.append({"person": person, "role": data["role"], "audit_id": entry["subject"],
                                 "independence_declared": bool(data["declaration"].get("independent")),
                                 "event_id": entry["event_id"]})
            check_r2(person, data["role"], entry)
        elif kind == "Decision.Recorded":
            decider = entry["actor"]
            deciders[entry["subject"]] = decider
            participants.append({"person": decider, "role": "decision maker", "outcome": data["outcome"],
                                 "event_id": entry["event_id"]})
            involved = [e for e in evaluators if same_person(e, decider)]
            r1.append({"decision_id": entry["subject"], "outcome": data["outcome"], "decider": decider,
                       "evaluators_then": sorted(set(evaluators)), "held": not involved})
            check_r2(decider, "decision maker", entry)
        elif kind == "Appeal.Lodged":
            contested[entry["subject"]] = data["decision_id"]
        elif kind == "Appeal.Decided":
            involved = [deciders.get(contested.get(entry["subject"], ""), ""), *evaluators]
            for member in data.get("committee", []):
                participants.append({"person": member, "role": "appeal committee", "event_id": entry["event_id"]})
                r8.append({"appeal_id": entry["subject"], "member": member,
                           "involved_in_contested_decision": sorted({p for p in involved if p}),
                           "held": not any(same_person(member, p) for p in involved if p)})
                check_r2(member, "appeal committee", entry)

    def rule(title: str, checks: list[dict[str, Any]]) -> dict[str, Any]:
        return {"title": title, "held": all(c["held"] for c in checks), "checks": checks}

    return {
        "declared_consultancy": consultancy,
        "participants": participants,
        "rules": {
            "R1": rule("the decision maker, who reviews the file and decides, took no part in its evaluation", r1),
            "R2": rule("nobody who advised the client in the two years before took part (its declaration and the "
                       "staff interest register, R58)", r2),
            "R8": rule("appeals were decided by people not involved in the contested decision", r8),
        },
    }
