"""The impartiality evidence shows a breach when the trail holds one (it is not a constant 'held')."""

from __future__ import annotations

from services.projections.impartiality import impartiality


def entry(kind: str, actor: str, subject: str = "s", at: str = "2026-06-01T10:00:00+00:00", **data):
    return {"type": kind, "actor": actor, "subject": subject, "at": at, "event_id": f"{kind}/{subject}",
            "data": {"actor": actor, **data}}


def test_a_decider_who_evaluated_and_an_adviser_on_the_team_show_as_breaches():
    entries = [
        entry("Application.Submitted", "Bea", consultancy=[{"person": "Carla", "until": "2026-01-01"}]),
        entry("Audit.TeamMemberAssigned", "Olivia", subject="a1", person="Luc", role="lead_auditor",
              declaration={"independent": True}),
        entry("Audit.TeamMemberAssigned", "Olivia", subject="a1", person="carla", role="auditor",
              declaration={"independent": True}),
        entry("Decision.Recorded", "Luc", subject="d1", outcome="grant"),
        entry("Appeal.Lodged", "Bea", subject="p1", decision_id="d1"),
        entry("Appeal.Decided", "Ada", subject="p1", committee=["Paula", "Luc"]),
    ]
    rules = impartiality(entries)["rules"]
    assert [c["held"] for c in rules["R1"]["checks"]] == [False]
    r2 = rules["R2"]
    assert not r2["held"] and [c["person"] for c in r2["checks"] if not c["held"]] == ["carla"]
    r8 = rules["R8"]
    assert [c["held"] for c in r8["checks"]] == [True, False]


def test_a_clean_file_holds_and_old_consultancy_does_not_count():
    entries = [
        entry("Application.Submitted", "Bea", consultancy=[{"person": "Carla", "until": "2023-01-01"}]),
        entry("Audit.TeamMemberAssigned", "Olivia", subject="a1", person="Carla", role="lead_auditor",
              declaration={"independent": True}),
        entry("Decision.Recorded", "Dirk", subject="d1", outcome="grant"),
    ]
    assert all(rule["held"] for rule in impartiality(entries)["rules"].values())
