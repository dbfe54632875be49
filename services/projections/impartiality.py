"""Impartiality evidence for one certification file, derived from its audit trail.

An assessor must see, not be told, that R1, R2 and R8 held: who reviewed, evaluated, decided and
sat on an appeal committee, what the applicant declared, and each check with the facts it used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any

from shared.domain import advisers_within_cooling_off, same_person


def _day(entry: dict[str, Any], zone: tzinfo) -> date:
    """The calendar day of an act in the certification body's zone, as the rules were applied."""
    return datetime.fromisoformat(entry["at"]).astimezone(zone).date()


def impartiality(entries: list[dict[str, Any]], zone: tzinfo = UTC) -> dict[str, Any]:
    consultancy: list[dict[str, Any]] = []
    participants: list[dict[str, Any]] = []
    evaluators: list[str] = []
    deciders: dict[str, str] = {}  # decision id -> decider
    contested: dict[str, str] = {}  # appeal id -> decision id
    r1, r2, r8 = [], [], []

    def check_r2(person: str, role: str, entry: dict[str, Any]) -> None:
        advisers = advisers_within_cooling_off(consultancy, _day(entry, zone))
        conflict = [a for a in advisers if same_person(a, person)]
        r2.append({"person": person, "role": role, "event_id": entry["event_id"], "at": entry["at"],
                   "declared_advisers_then": advisers, "held": not conflict})

    for entry in entries:
        data, kind = entry["data"], entry["type"]
        if kind == "Application.Submitted":
            consultancy = data.get("consultancy", [])
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
            "R2": rule("nobody who advised the client in the two years before took part", r2),
            "R8": rule("appeals were decided by people not involved in the contested decision", r8),
        },
    }
