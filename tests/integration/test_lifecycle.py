"""The whole certification lifecycle through the HTTP API, across the four services (issue's
'done when' path), on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.support import File


def test_full_lifecycle_with_every_rule_on_the_way(api):
    file = File(api)
    file.create_scheme()
    submitted = file.submit(consultant="Carla Consult")
    assert submitted["status"] == "submitted"
    assert file.accept()["status"] == "accepted"
    assert file.plan()["status"] == "planned"
    file.ok(file.team("Luc Lead", "lead_auditor"))

    conflict = file.team("Carla Consult", "auditor")
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("conflict-of-interest")

    minor = file.ok(file.finding("minor"), 201)["finding_id"]
    file.ok(file.close(minor))
    major = file.ok(file.finding("major"), 201)["finding_id"]
    file.ok(file.report(conclusion="nonconforming"))

    by_lead = file.decide("grant", by=("Luc Lead", "decision_maker"))
    assert by_lead.status_code == 409
    assert by_lead.json()["type"].endswith("separation-of-duties")

    blocked = file.decide("grant")
    assert blocked.status_code == 409
    assert blocked.json()["type"].endswith("open-major-nonconformity")
    assert major in blocked.json()["open_findings"]

    file.ok(file.close(major))
    decision = file.ok(file.decide("grant"), 201)
    assert decision["decided_by"] == "Dirk Decider"

    items = file.ok(api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id))["items"]
    assert [c["status"] for c in items] == ["active"]
    file.certificate = number = items[0]["number"]
    assert len(items[0]["quick_code"]) == 8

    public = file.ok(api.get(f"/public/v1/certificates/{number}"))
    assert public["status"] == "active"

    file.ok(file.decide("suspend"), 201)
    assert file.ok(api.get(f"/public/v1/certificates/{number}"))["status"] == "suspended"

    trail = file.ok(api.get("/v1/audit-trail", *("Asha Assessor", "assessor"), certificate_number=number))
    types = [e["type"] for e in trail["entries"]]
    for expected in ("Application.Submitted", "Application.Reviewed", "Audit.Planned", "Audit.TeamMemberAssigned",
                     "Audit.FindingRecorded", "Audit.FindingClosed", "Audit.Reported", "Decision.Recorded",
                     "Certificate.Issued", "Certificate.StatusChanged"):
        assert expected in types, expected
    actors = {e["actor"] for e in trail["entries"]}
    assert {"Betonwerk Noord", "Olivia Officer", "Luc Lead", "Dirk Decider"} <= actors
    assert all(e["actor"] and e["at"] for e in trail["entries"])
    seqs = [e["seq"] for e in trail["entries"]]
    assert seqs == sorted(seqs)
    evidence = file.ok(api.get("/v1/trail/impartiality", *("Asha Assessor", "assessor"), certificate_number=number))
    rules = evidence["rules"]
    assert all(rule["held"] for rule in rules.values()), rules
    r1 = rules["R1"]["checks"]
    assert [c["decider"] for c in r1] == ["Dirk Decider", "Dirk Decider"] and "Luc Lead" in r1[0]["evaluators_then"]
    r2 = rules["R2"]["checks"]
    assert {c["person"] for c in r2} == {"Olivia Officer", "Luc Lead", "Dirk Decider"}
    assert all(c["declared_advisers_then"] == ["Carla Consult"] for c in r2)
    # the refused commands recorded nothing
    assert types.count("Decision.Recorded") == 2
    assert not any(e["type"] == "Audit.TeamMemberAssigned" and e["data"]["person"] == "Carla Consult"
                   for e in trail["entries"])
