"""Governance through the HTTP API, on both stores: the appeal committee convened (R54), its members' recorded
votes (R56) and the outcome that follows from them (R55); the staff interest register (R57) and R2 reading it for
every role it covers (R58). Each rule allowed and refused; a refusal answers a problem and records nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.domain import years_before
from tests.support import Api, File, application_body, problem, retried, today

ORG = {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789"}  # application_body's holder
OTHER_ORG = {"name": "Steenbakkerij Zuid BV", "registration_number": "BE0999888777"}
STAN = "Stan Staff"  # staff with an interest in the holder that the holder never declared
CHAIR, PAULA, UMA = "Chris Chair", "Paula Public", "Uma User"
MEMBERS = [{"person": CHAIR, "role": "chair", "organisation": "FOD Economie"},
           {"person": PAULA, "role": "member", "organisation": "Wegen en Verkeer"},
           {"person": UMA, "role": "member"}]


def recorded(hallmark, service: str = "decisions") -> int:
    return getattr(hallmark, service).recorder.max_notification_id() or 0


def suspended_under_appeal(api: Api) -> tuple[File, dict[str, Any]]:
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *File.APPLICANT), 201)
    return file, appeal


def convene(api: Api, appeal: dict[str, Any], members=None):
    return api.post(f"/v1/appeals/{appeal['id']}/committee",
                    {"members": members or MEMBERS, "reason": "Two public members and a user"}, *File.ADMIN)


def vote(api: Api, appeal: dict[str, Any], member: str, choice: str, by: tuple[str, ...] | None = None):
    body = {"vote": choice, "reason": f"{member}: {choice}"}
    if by:
        body["member"] = member
    return api.post(f"/v1/appeals/{appeal['id']}/votes", body, *(by or (member, "decision_maker")))


def decide(api: Api, appeal: dict[str, Any], **extra: Any):
    return api.post(f"/v1/appeals/{appeal['id']}/decide", {"rationale": "As the committee voted", **extra},
                    *File.ADMIN)


def register(api: Api, person: str = STAN, organisation=None, kind: str = "employed", since: str = "2020-01-01",
             until: str | None = None, by: tuple[str, str] = File.ADMIN):
    body = {"person": person, "organisation": organisation or ORG, "kind": kind, "since": since,
            "reason": "Declared at the annual impartiality review"}
    if until:
        body["until"] = until
    return api.post("/v1/staff/interests", body, *by)


# -- R54, R55, R56: the committee and its vote -------------------------------------------------------------------


def test_r54_r55_r56_a_convened_committee_votes_and_the_majority_decides(api, hallmark):
    file, appeal = suspended_under_appeal(api)
    convened = file.ok(convene(api, appeal))
    assert convened["status"] == "convened" and [m["role"] for m in convened["members"]] == ["chair", "member", "member"]
    assert convened["members"][0] == {"person": CHAIR, "role": "chair", "organisation": "FOD Economie"}
    file.ok(vote(api, appeal, CHAIR, "dismissed"))
    file.ok(vote(api, appeal, PAULA, "upheld"))
    file.ok(vote(api, appeal, UMA, "upheld", by=File.ADMIN))  # the secretary records Uma's vote
    decided = file.ok(decide(api, appeal))
    assert decided["status"] == "decided" and decided["outcome"] == "upheld"
    assert decided["committee"] == [CHAIR, PAULA, UMA]
    assert decided["tally"] == {"upheld": 2, "dismissed": 1, "abstain": 0, "outcome": "upheld",
                                "chairs_casting_vote": False}
    staff = file.ok(api.get(f"/v1/appeals/{appeal['id']}", *File.DECIDER))
    assert [(v["member"], v["vote"], v["by"]) for v in staff["votes"]] == [
        (CHAIR, "dismissed", CHAIR), (PAULA, "upheld", PAULA), (UMA, "upheld", File.ADMIN[0])]
    # The upheld appeal calls for a corrective decision, as in the earlier form.
    assert file.ok(api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))["appeal_upheld"]["appeal_id"] == \
        appeal["id"]
    # Every step is in the file's trail with its actor and reason (R10).
    entries = file.ok(api.get("/v1/audit-trail", *File.ADMIN, application_id=file.application_id))["entries"]
    steps = [(e["type"], e["actor"]) for e in entries if e["type"].startswith("Appeal.")]
    assert steps == [("Appeal.Lodged", File.APPLICANT[0]), ("Appeal.CommitteeConvened", File.ADMIN[0]),
                     ("Appeal.VoteRecorded", CHAIR), ("Appeal.VoteRecorded", PAULA),
                     ("Appeal.VoteRecorded", File.ADMIN[0]), ("Appeal.Decided", File.ADMIN[0])]
    assert all(e["reason"] for e in entries if e["type"].startswith("Appeal."))
    # R8 evidence counts the convened members.
    r8 = file.ok(api.get("/v1/trail/impartiality", "Asha", "assessor", application_id=file.application_id))
    assert r8["rules"]["R8"]["held"] and len(r8["rules"]["R8"]["checks"]) == 3
    assert recorded(hallmark) > 0


def test_r55_the_chairs_vote_breaks_a_tie(api):
    file, appeal = suspended_under_appeal(api)
    file.ok(convene(api, appeal))
    for member, choice in ((CHAIR, "dismissed"), (PAULA, "upheld"), (UMA, "abstain")):
        file.ok(vote(api, appeal, member, choice))
    decided = file.ok(decide(api, appeal, outcome="dismissed"))
    assert decided["outcome"] == "dismissed" and decided["tally"]["chairs_casting_vote"] is True


def test_r54_a_committee_under_quorum_without_a_chair_or_with_an_involved_member_is_refused(api, hallmark):
    file, appeal = suspended_under_appeal(api)
    file.ok(register(api), 201)
    before = recorded(hallmark)
    problem(convene(api, appeal, MEMBERS[:2]), 422, "invalid-command")
    problem(convene(api, appeal, [{**m, "role": "member"} for m in MEMBERS]), 422, "invalid-command")
    problem(convene(api, appeal, [*MEMBERS[:2], {"person": "Dirk Decider", "role": "member"}]), 409,
            "separation-of-duties")  # R8
    problem(convene(api, appeal, [*MEMBERS[:2], {"person": "Betonwerk Noord", "role": "member"}]), 409,
            "conflict-of-interest")  # R12
    problem(convene(api, appeal, [*MEMBERS[:2], {"person": "Carla Consult", "role": "member"}]), 409,
            "conflict-of-interest")  # R2, the holder's declaration
    staff = problem(convene(api, appeal, [*MEMBERS[:2], {"person": STAN, "role": "member"}]), 409,
                    "conflict-of-interest")  # R2, the staff register (R58)
    assert "staff interest register" in staff["detail"] and staff["source"] == "staff_interest_register"
    assert recorded(hallmark) == before
    assert file.ok(api.get(f"/v1/appeals/{appeal['id']}", *File.ADMIN))["members"] == []
    problem(api.post(f"/v1/appeals/{appeal['id']}/committee", {"members": MEMBERS, "reason": "r"}, *File.DECIDER),
            403, "forbidden")


def test_r55_r56_votes_are_refused_out_of_turn_and_nothing_is_recorded(api, hallmark):
    file, appeal = suspended_under_appeal(api)
    problem(vote(api, appeal, PAULA, "upheld"), 409, "invalid-transition")  # no committee convened
    file.ok(convene(api, appeal))
    before = recorded(hallmark)
    problem(vote(api, appeal, "Ugo User", "upheld"), 403, "forbidden")  # not a member
    problem(api.post(f"/v1/appeals/{appeal['id']}/votes", {"member": PAULA, "vote": "upheld", "reason": "r"},
                     UMA, "decision_maker"), 403, "forbidden")  # another member's vote
    problem(api.post(f"/v1/appeals/{appeal['id']}/votes", {"vote": "maybe", "reason": "r"}, PAULA, "decision_maker"),
            422, "invalid-request")
    problem(decide(api, appeal), 409, "invalid-transition")  # nobody has voted yet
    assert recorded(hallmark) == before
    file.ok(vote(api, appeal, PAULA, "upheld"))
    problem(vote(api, appeal, PAULA, "dismissed"), 409, "duplicate")  # once
    file.ok(vote(api, appeal, CHAIR, "upheld"))
    waiting = problem(decide(api, appeal), 409, "invalid-transition")
    assert waiting["waiting_for"] == [UMA]
    file.ok(vote(api, appeal, UMA, "dismissed"))
    before = recorded(hallmark)
    problem(decide(api, appeal, outcome="dismissed"), 422, "invalid-command")  # the votes say upheld
    problem(decide(api, appeal, committee=[CHAIR, PAULA]), 422, "invalid-command")
    assert recorded(hallmark) == before
    assert file.ok(decide(api, appeal, outcome="upheld", committee=[UMA, PAULA, CHAIR]))["outcome"] == "upheld"
    problem(vote(api, appeal, UMA, "upheld"), 409, "invalid-transition")  # decided


def test_the_earlier_form_still_decides_an_appeal_without_a_convened_committee(api):
    file, appeal = suspended_under_appeal(api)
    decided = file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {
        "committee": [PAULA, UMA], "outcome": "dismissed", "rationale": "Suspension well founded"}, *File.ADMIN))
    assert decided["outcome"] == "dismissed" and decided["votes"] == [] and decided["tally"] is None
    other_file, other = suspended_under_appeal(api)
    problem(api.post(f"/v1/appeals/{other['id']}/decide", {"committee": [PAULA], "rationale": "r"}, *File.ADMIN),
            422, "invalid-command")  # without a convened committee, the outcome is stated


# -- R57: the register -------------------------------------------------------------------------------------------


def test_r57_an_admin_registers_lists_and_ends_an_interest(api, hallmark):
    registered = register(api, kind="consultancy", since=(today() - timedelta(days=100)).isoformat())
    interest = File(api).ok(registered, 201)
    assert (interest["person"], interest["kind"], interest["status"], interest["until"]) == (
        STAN, "consultancy", "ongoing", None)
    other = File(api).ok(register(api, person="Olga Other", organisation=OTHER_ORG, kind="financial"), 201)
    listing = File(api).ok(api.get("/v1/staff/interests", *File.OFFICER))
    assert [i["id"] for i in listing["items"]] == [interest["id"], other["id"]]
    by_org = File(api).ok(api.get("/v1/staff/interests", *File.ADMIN, registration_number="be 0123.456.789"))
    assert [i["id"] for i in by_org["items"]] == [interest["id"]]
    by_person = File(api).ok(api.client.get("/v1/staff/interests", params={"person": " olga  other"},
                                            headers=api.headers(*File.ADMIN)))
    assert [i["id"] for i in by_person["items"]] == [other["id"]]
    first = File(api).ok(api.get("/v1/staff/interests", *File.ADMIN, limit=1))
    second = File(api).ok(api.get("/v1/staff/interests", *File.ADMIN, limit=1, cursor=first["next_cursor"]))
    assert [i["id"] for i in first["items"] + second["items"]] == [interest["id"], other["id"]]
    assert second["next_cursor"] is None
    ended = File(api).ok(api.post(f"/v1/staff/interests/{interest['id']}/end", {"reason": "Contract ended"},
                                  *File.ADMIN))
    assert ended["status"] == "ended" and ended["until"] == today().isoformat()
    assert ended["ended"]["by"] == File.ADMIN[0]
    assert File(api).ok(api.get(f"/v1/staff/interests/{interest['id']}", *File.DECIDER))["until"] == \
        today().isoformat()
    entries = File(api).ok(api.get("/v1/trail/entries/0", *File.ADMIN))  # the log is readable (smoke)
    assert entries


def test_r57_refusals_record_nothing(api, hallmark):
    before = recorded(hallmark)
    problem(register(api, by=File.DECIDER), 403, "forbidden")
    problem(register(api, since=(today() + timedelta(days=1)).isoformat()), 422, "invalid-command")
    problem(register(api, since="2024-01-01", until="2023-12-31"), 422, "invalid-command")
    problem(register(api, until=(today() + timedelta(days=1)).isoformat()), 422, "invalid-command")
    problem(register(api, kind="friendship"), 422, "invalid-request")
    assert recorded(hallmark) == before
    interest = File(api).ok(register(api), 201)
    before = recorded(hallmark)
    problem(register(api, person="stan  STAFF", organisation={"name": "Betonwerk", "registration_number": "be0123456789"}),
            409, "duplicate")
    problem(api.post(f"/v1/staff/interests/{interest['id']}/end", {"until": "2019-12-31", "reason": "r"}, *File.ADMIN),
            422, "invalid-command")
    problem(api.post(f"/v1/staff/interests/{interest['id']}/end", {"reason": "r"}, *File.DECIDER), 403, "forbidden")
    problem(api.post("/v1/staff/interests/no-such-interest/end", {"reason": "r"}, *File.ADMIN), 404, "not-found")
    assert recorded(hallmark) == before
    File(api).ok(api.post(f"/v1/staff/interests/{interest['id']}/end", {"reason": "Left"}, *File.ADMIN))
    problem(api.post(f"/v1/staff/interests/{interest['id']}/end", {"reason": "again"}, *File.ADMIN), 409,
            "invalid-transition")
    problem(api.get("/v1/staff/interests", "Hanna Holder", "applicant"), 403, "forbidden")


# -- R58: R2 reads the register, in every service --------------------------------------------------------------


def test_r58_the_register_refuses_stan_as_reviewer_auditor_decider_handler_and_committee_member(api, hallmark):
    File(api).ok(register(api), 201)
    file = File(api)
    file.create_scheme()
    file.submit()  # the holder declares Carla Consult only
    before = recorded(hallmark, "applications")
    refused = problem(api.post(f"/v1/applications/{file.application_id}/review",
                               {"outcome": "accepted", "reason": "complete"}, STAN, "applications_officer"),
                      409, "conflict-of-interest")
    assert "staff interest register" in refused["detail"] and refused["interest_id"]
    assert recorded(hallmark, "applications") == before
    file.accept()
    file.plan()
    before = recorded(hallmark, "audits")
    problem(file.team(STAN, "auditor"), 409, "conflict-of-interest")
    assert recorded(hallmark, "audits") == before
    file.ok(file.team(File.LEAD[0], "lead_auditor"))
    file.ok(file.report())
    before = recorded(hallmark)
    problem(file.decide("grant", by=(STAN, "decision_maker")), 409, "conflict-of-interest")
    assert recorded(hallmark) == before
    file.ok(file.decide("grant"), 201)
    file.certificate = file.ok(api.get("/v1/certificates", *File.ADMIN,
                                       application_id=file.application_id))["items"][0]["number"]
    complaint = file.ok(api.post("/v1/complaints", {
        "subject": {"kind": "certificate", "certificate_number": file.certificate},
        "complainant": {"name": "Karel Klager", "email": "karel@example.be"},
        "description": "Kerbs crumble"}, *File.ADMIN), 201)
    path = f"/v1/complaints/{complaint['id']}"
    file.ok(api.post(f"{path}/acknowledgement", {"reason": "Received"}, *File.ADMIN))
    file.ok(api.post(f"{path}/admissibility", {"admissible": True, "reason": "About a certificate"}, *File.ADMIN))
    before = recorded(hallmark)
    problem(api.post(f"{path}/handler", {"handler": STAN, "reason": "r"}, *File.ADMIN), 409, "conflict-of-interest")
    assert recorded(hallmark) == before
    file.ok(api.post(f"{path}/handler", {"handler": "Hugo Handler", "reason": "Not involved"}, *File.ADMIN))
    problem(api.post(f"{path}/outcome", {"outcome": "unfounded", "rationale": "r"}, STAN, "decision_maker"), 409,
            "conflict-of-interest")


def test_r58_an_interest_elsewhere_or_ended_over_two_years_ago_does_not_refuse(api):
    File(api).ok(register(api, organisation=OTHER_ORG), 201)
    long_ago = years_before(today(), 2) - timedelta(days=1)
    File(api).ok(register(api, kind="family", since="2015-01-01", until=long_ago.isoformat()), 201)
    file = File(api)
    file.create_scheme()
    file.submit()
    file.ok(api.post(f"/v1/applications/{file.application_id}/review", {"outcome": "accepted", "reason": "complete"},
                     STAN, "applications_officer"))
    file.plan()
    file.ok(file.team(STAN, "auditor"))
    # Registered afterwards, an interest in the holder does not make the earlier acts breaches: the evidence judges
    # each act by the register as it stood, and shows the facts it used.
    File(api).ok(register(api, kind="financial"), 201)
    evidence = file.ok(api.get("/v1/trail/impartiality", "Asha", "assessor", application_id=file.application_id))
    stan = [c for c in evidence["rules"]["R2"]["checks"] if c["person"] == STAN]
    assert [(c["role"], c["held"], c["staff_register_interests_then"]) for c in stan] == [
        ("application reviewer", True, []), ("auditor", True, [])]
    assert "staff interest register" in evidence["rules"]["R2"]["title"]
    problem(file.team("stan staff", "technical_expert"), 409, "conflict-of-interest")  # from now on, refused


def test_r58_an_ended_interest_still_refuses_within_two_years_of_its_end(api):
    interest = File(api).ok(register(api), 201)
    File(api).ok(api.post(f"/v1/staff/interests/{interest['id']}/end", {"reason": "Left the company"}, *File.ADMIN))
    file = File(api)
    file.create_scheme()
    file.submit()
    problem(api.post(f"/v1/applications/{file.application_id}/review", {"outcome": "accepted", "reason": "r"},
                     STAN, "applications_officer"), 409, "conflict-of-interest")


def test_r58_a_files_evidence_pack_carries_the_register_entries_about_its_holder_and_verifies(api, hallmark):
    import io
    import json
    import zipfile

    from services.projections.evidence import verify_offline

    about = File(api).ok(register(api, kind="financial"), 201)
    File(api).ok(api.post(f"/v1/staff/interests/{about['id']}/end", {"reason": "Shares sold"}, *File.ADMIN))
    File(api).ok(register(api, person="Olga Other", organisation=OTHER_ORG), 201)  # about another organisation
    file = File(api).granted()
    response = api.get("/v1/trail/evidence-pack", "Asha", "assessor", application_id=file.application_id)
    assert response.status_code == 200, response.text
    verdict = verify_offline(response.content, trusted_vkey=hallmark.trail.log.key.vkey)
    assert verdict.ok, verdict.problems
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        lines = [json.loads(line) for line in archive.read("entries.jsonl").decode().splitlines()]
        report = archive.read("report.html").decode()
    trail = api.get("/v1/audit-trail", "Asha", "assessor", application_id=file.application_id).json()["entries"]
    assert len(lines) == len(trail) + 2  # the holder's interest, registered and ended; not Olga's
    assert [line["index"] for line in lines] == sorted(line["index"] for line in lines)
    assert "Staff register: their interests in the holder then (R58)" in report
    assert verdict.summary["impartiality"]["R2"] is True  # Stan took no part in this file


# -- R58 over Kafka: the register travels to applications and audits and is never judged stale -------------------


@pytest.mark.kafka
def test_r58_over_kafka_a_registered_interest_is_known_to_the_next_review_and_team_assignment(
        settings, kafka_bootstrap, kafka_prefix):

    from fastapi.testclient import TestClient

    from services.bootstrap import bootstrap
    from services.web import create_app

    settings.transport, settings.kafka_bootstrap, settings.kafka_prefix = "kafka", kafka_bootstrap, kafka_prefix
    system = bootstrap(settings)
    try:
        with TestClient(create_app(system, run_pump=True), raise_server_exceptions=False) as client:
            api = Api(client, system.settings.local_secret(), lambda: None)
            file = File(api)
            file.create_scheme()
            file.application_id = file.ok(retried(lambda: api.post(
                "/v1/applications", application_body(file.scheme), *File.APPLICANT)), 201)["id"]
            File(api).ok(register(api), 201)
            # At once, on applications and on audits: Stan is refused, from the register learnt over Kafka.
            problem(retried(lambda: api.post(f"/v1/applications/{file.application_id}/review",
                                             {"outcome": "accepted", "reason": "complete"}, STAN,
                                             "applications_officer")), 409, "conflict-of-interest")
            file.ok(retried(lambda: api.post(f"/v1/applications/{file.application_id}/review",
                                             {"outcome": "accepted", "reason": "complete"}, *File.OFFICER)))
            file.audit_id = file.ok(retried(lambda: api.post("/v1/audits", {
                "application_id": file.application_id, "kind": "initial", "planned_start": today().isoformat()},
                *File.LEAD)), 201)["id"]
            problem(retried(lambda: file.team(STAN, "auditor")), 409, "conflict-of-interest")
    finally:
        system.close()


def test_the_holder_sees_the_committee_and_outcome_of_its_appeal_never_the_votes(api):
    file, appeal = suspended_under_appeal(api)
    file.ok(convene(api, appeal))
    for member, choice in ((CHAIR, "upheld"), (PAULA, "dismissed"), (UMA, "upheld")):
        file.ok(vote(api, appeal, member, choice))
    file.ok(decide(api, appeal))
    dossier = file.ok(api.get(f"/v1/holder/files/{file.application_id}", "Hanna Holder", "applicant",
                              organisation=ORG["registration_number"]))
    types = [step["type"] for step in dossier["timeline"]]
    assert "Appeal.CommitteeConvened" in types and "Appeal.Decided" in types
    assert "Appeal.VoteRecorded" not in types and "dismissed" not in str(dossier["timeline"])
    (seen,) = [a for a in dossier["appeals"] if a["id"] == appeal["id"]]
    assert (seen["outcome"], seen["committee"]) == ("upheld", [CHAIR, PAULA, UMA])
