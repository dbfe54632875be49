"""Rules R1-R10 through the HTTP API: the refused case answers 409 with the problem type of API.md
and records nothing; the allowed case goes through."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from shared.domain import add_months
from tests.support import TODAY, File


def _slug(response) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


@pytest.mark.parametrize("outcome,extra", [
    ("maintain", {}), ("suspend", {}), ("withdraw", {}), ("terminate", {}), ("renew", {}),
    ("extend_scope", {"scope": "Kerbs and gutters"}),
    ("reduce_scope", {"scope": "Kerbs KB 100 only", "products": [{"name": "Kerb KB 100", "type": "kerb"}]}),
])
def test_r1_a_later_evaluator_never_decides_any_outcome(api, outcome, extra):
    file = File(api).granted()
    file.plan(certificate_number=file.certificate)  # a surveillance audit after the grant
    file.ok(file.team("Ann Auditor", "lead_auditor"))
    file.ok(file.report(by=File.AUDITOR))
    refused = file.decide(outcome, by=("Ann Auditor", "decision_maker"), **extra)
    assert refused.status_code == 409 and _slug(refused) == "separation-of-duties"
    assert file.decide(outcome, **extra).status_code == 201


def test_r2_consultant_neither_reviews_nor_decides(api):
    file = File(api)
    file.create_scheme()
    file.submit(consultant="Olivia Officer")
    refused = api.post(f"/v1/applications/{file.application_id}/review",
                       {"outcome": "accepted", "reason": "ok"}, *File.OFFICER)
    assert refused.status_code == 409 and _slug(refused) == "conflict-of-interest"
    allowed = api.post(f"/v1/applications/{file.application_id}/review",
                       {"outcome": "accepted", "reason": "ok"}, "Otto Other", "applications_officer")
    assert allowed.status_code == 200


def test_r2_decider_who_advised_the_client_is_refused(api):
    file = File(api)
    file.create_scheme()
    file.submit(consultant="Dirk Decider")
    file.accept()
    file.plan()
    file.ok(file.team("Luc Lead", "lead_auditor"))
    file.ok(file.report())
    refused = file.decide("grant")
    assert refused.status_code == 409 and _slug(refused) == "conflict-of-interest"
    assert file.decide("grant", by=("Dora Other", "decision_maker")).status_code == 201


def test_r2_consultancy_older_than_two_years_does_not_disqualify(api):
    file = File(api)
    file.create_scheme()
    old = {"person": "Carla Consult", "organisation": "Q", "until": (TODAY - timedelta(days=3 * 365)).isoformat()}
    file.submit(consultancy=[old])
    file.accept()
    file.plan()
    assert file.team("Carla Consult", "lead_auditor").status_code == 200


def test_r2_auditor_without_independence_declaration_is_refused(api):
    file = File(api)
    file.create_scheme()
    file.submit()
    file.accept()
    file.plan()
    refused = file.team("Ivo Interested", "auditor", independent=False)
    assert refused.status_code == 409 and _slug(refused) == "conflict-of-interest"


def test_r3_effective_date_not_before_decision_date(api):
    file = File(api).evaluated()
    refused = file.decide("grant", effective_from=(TODAY - timedelta(days=1)).isoformat())
    assert refused.status_code == 409 and _slug(refused) == "effective-date"
    assert file.decide("grant", effective_from=TODAY.isoformat()).status_code == 201


def test_r4_no_restore_while_a_major_is_open(api):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    file.plan(certificate_number=file.certificate)
    file.ok(file.team("Ann Auditor", "lead_auditor"))
    major = file.ok(file.finding("major", by=File.AUDITOR), 201)["finding_id"]
    file.ok(file.report(by=File.AUDITOR, conclusion="nonconforming"))
    refused = file.decide("restore")
    assert refused.status_code == 409 and _slug(refused) == "open-major-nonconformity"
    file.ok(file.close(major, by=File.AUDITOR))
    assert file.decide("restore").status_code == 201
    assert api.get(f"/public/v1/certificates/{file.certificate}").json()["status"] == "active"


def test_r5_withdrawn_certificate_is_never_restored(api):
    file = File(api).granted()
    file.ok(file.decide("withdraw"), 201)
    refused = file.decide("restore")
    assert refused.status_code == 409 and _slug(refused) == "invalid-transition"
    refused = file.decide("suspend")
    assert refused.status_code == 409 and _slug(refused) == "invalid-transition"
    assert api.get(f"/public/v1/certificates/{file.certificate}").json()["status"] == "withdrawn"


def test_r5_an_application_is_granted_once(api):
    file = File(api).granted()
    again = file.decide("grant")
    assert again.status_code == 409 and _slug(again) == "invalid-transition"
    items = api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id).json()["items"]
    assert len(items) == 1


def test_r5_scope_change_supersedes_the_revision(api):
    file = File(api).granted()
    file.ok(file.decide("extend_scope", scope="Kerbs and gutters"), 201)
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["revision"] == 2 and cert["scope"] == "Kerbs and gutters" and cert["status"] == "active"
    assert [r["status"] for r in cert["revisions"]] == ["superseded", "active"]
    assert file.decide("extend_scope").status_code == 422  # a scope change states the new scope


def test_r6_overdue_suspension_is_flagged_for_withdrawal(api, hallmark):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    assert hallmark.sweep() == []  # within the maximum: nothing to flag
    hallmark.clock.fixed_today = TODAY + timedelta(days=6 * 31 + 1)
    try:
        assert hallmark.sweep() == [file.certificate]
        assert hallmark.sweep() == []  # flagged once
    finally:
        hallmark.clock.fixed_today = None
    hallmark.settle()
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["withdrawal_proposed"] is True and cert["status"] == "suspended"
    assert "withdrawal decision is due" in cert["attention"][0]
    worklist = api.get("/v1/certificates", *File.ADMIN, needs_attention="true").json()["items"]
    assert [c["number"] for c in worklist] == [file.certificate]


def test_r5_certificate_expires_after_validity_and_is_then_never_suspended(api, hallmark):
    file = File(api).granted()
    hallmark.clock.fixed_today = TODAY + timedelta(days=3 * 366 + 1)
    try:
        assert hallmark.sweep() == [file.certificate]
        hallmark.settle()
        refused = file.decide("suspend", effective_from=hallmark.clock.today().isoformat())
        assert refused.status_code == 409 and _slug(refused) == "invalid-transition"
    finally:
        hallmark.clock.fixed_today = None
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["status"] == "expired"
    assert cert["history"][-1]["decision_id"] is None  # no decision: the validity ended


def test_overdue_surveillance_is_visible_and_proposes_suspension(api, hallmark):
    file = File(api).granted()
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    due = cert["surveillance_due"]
    assert due == add_months(TODAY, 6).isoformat()  # the scheme's admission period closes with a surveillance

    hallmark.clock.fixed_today = date.fromisoformat(due)
    try:
        assert hallmark.sweep() == []  # due today is not overdue
        hallmark.clock.fixed_today = date.fromisoformat(due) + timedelta(days=1)
        assert hallmark.sweep() == [file.certificate]
        assert hallmark.sweep() == []
    finally:
        hallmark.clock.fixed_today = None
    hallmark.settle()
    assert api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()["suspension_proposed"] is True
    refused = file.decide("maintain")  # the initial audit is no surveillance
    assert refused.status_code == 422 and "surveillance" in refused.json()["detail"]
    file.plan(certificate_number=file.certificate)
    file.ok(file.team("Ann Auditor", "lead_auditor"))
    file.ok(file.report(by=File.AUDITOR))
    file.ok(file.decide("maintain"), 201)  # surveillance done, certification maintained
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["suspension_proposed"] is False and cert["surveillance_due"] > due


def test_new_document_version_sets_a_transition_deadline_until_renewal(api):
    file = File(api).granted()
    file.ok(api.post("/v1/schemes/commissions", {"code": "SC-KERBS", "name": "Sectoral commission for kerbs",
                                                 "schemes": [file.scheme]}, *File.ADMIN), 201)
    published = api.post(f"/v1/schemes/{file.scheme}/documents", {
        "kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": TODAY.isoformat(),
        "transition_deadline": (TODAY + timedelta(days=180)).isoformat(),
        "commission_decision": {"commission": "SC-KERBS", "reference": "SC-KERBS/2026/07",
                                "date": TODAY.isoformat()}}, *File.ADMIN)  # R53
    assert published.status_code == 201, published.text
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["transitions"] == [{"kind": "PTV", "ref": "PTV 21-601", "from_version": "2.0", "to_version": "3.0",
                                    "effective_from": TODAY.isoformat(),
                                    "deadline": (TODAY + timedelta(days=180)).isoformat()}]
    assert any("transition" in reason for reason in cert["attention"])
    assert api.get(f"/public/v1/certificates/{file.certificate}").json()["transitions"] == cert["transitions"]
    file.ok(file.decide("renew"), 201)  # the renewal evaluates against the documents in force
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["transitions"] == [] and {"PTV 21-601": "3.0"}.items() <= {d["ref"]: d["version"] for d in cert["documents"]}.items()


def test_r7_numbers_and_quick_codes_are_unique(api):
    numbers, codes = set(), set()
    for _ in range(3):
        file = File(api).granted()
        cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
        numbers.add(cert["number"])
        codes.add(cert["quick_code"])
        by_code = api.get(f"/public/v1/certificates/{cert['quick_code']}").json()
        assert by_code["number"] == cert["number"]
        assert api.get(f"/public/v1/certificates/{cert['number'].lower()}").json()["number"] == cert["number"]
    assert len(numbers) == 3 and len(codes) == 3


def test_r8_appeal_committee_excludes_those_involved(api):
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *File.ADMIN), 201)
    path = f"/v1/appeals/{appeal['id']}/decide"
    for involved in ("Dirk Decider", "Luc Lead"):
        refused = api.post(path, {"committee": ["Paula Public", involved], "outcome": "dismissed", "rationale": "r"},
                           *File.ADMIN)
        assert refused.status_code == 409 and _slug(refused) == "separation-of-duties"
    decided = api.post(path, {"committee": ["Paula Public", "Piet Public", "Uma User", "Ugo User"],
                              "outcome": "dismissed", "rationale": "Suspension well founded"}, *File.ADMIN)
    assert decided.status_code == 200 and decided.json()["status"] == "decided"
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["appeal_upheld"] is None  # dismissed: the suspension stands, nothing is due
    evidence = api.get("/v1/trail/impartiality", "Asha", "assessor", application_id=file.application_id).json()
    r8 = evidence["rules"]["R8"]
    assert r8["held"] and len(r8["checks"]) == 4
    assert "Dirk Decider" in r8["checks"][0]["involved_in_contested_decision"]


def test_r9_public_directory_shows_no_personal_data(api):
    file = File(api).granted()
    public = api.get(f"/public/v1/certificates/{file.certificate}").json()
    text = json.dumps(public)
    for person in ("Luc Lead", "Dirk Decider", "Carla Consult", "Olivia Officer", "Betonwerk Noord\""):
        assert person not in text
    assert file.application_id not in text
    assert public["holder"] == {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789"}
    listing = api.get("/public/v1/certificates", q="kerb").json()
    assert file.certificate in [c["number"] for c in listing["items"]]
    assert "Dirk Decider" not in json.dumps(listing)


def test_r10_every_event_names_actor_time_and_reason(api, hallmark):
    File(api).granted()
    for service in hallmark.services:
        for notification in service.recorder.select_notifications(start=None, limit=1000):
            message = service.message(notification)
            if message is None:
                continue
            assert message.actor, message.type
            assert message.reason, message.type
            assert message.time.tzinfo is not None


def test_public_validity_on_a_date(api, hallmark):
    file = File(api).granted()
    start = TODAY
    hallmark.clock.fixed_today = add_months(start, 36) + timedelta(days=1)  # asked after the validity ran out

    def valid_on(day):
        return api.get(f"/public/v1/certificates/{file.certificate}", on=day.isoformat()).json()["valid_on"]

    assert valid_on(start - timedelta(days=1)) == {**valid_on(start - timedelta(days=1)), "valid": False}
    assert valid_on(start)["valid"] is True
    assert valid_on(add_months(start, 36) - timedelta(days=1))["valid"] is True  # the last valid day
    assert valid_on(add_months(start, 36) + timedelta(days=1))["valid"] is False


def test_decisions_take_effect_when_taken(api):
    file = File(api).granted()
    for outcome, extra in (("suspend", {}), ("extend_scope", {"scope": "Kerbs and gutters"}), ("renew", {})):
        later = file.decide(outcome, effective_from=(TODAY + timedelta(days=10)).isoformat(), **extra)
        assert later.status_code == 422 and "takes effect on the decision date" in later.json()["detail"]
    cert = api.get(f"/public/v1/certificates/{file.certificate}").json()
    assert cert["status"] == "active" and cert["revision"] == 1
    file.ok(file.decide("suspend"), 201)
    assert api.get(f"/public/v1/certificates/{file.certificate}", on=TODAY.isoformat()).json()["valid_on"] == {
        "date": TODAY.isoformat(), "valid": False, "status": "suspended", "revision": 1}


def test_reduce_scope_ends_a_suspension_but_extension_does_not(api):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    extend = file.decide("extend_scope", scope="Kerbs and gutters")
    assert extend.status_code == 409 and _slug(extend) == "invalid-transition"
    file.ok(file.decide("reduce_scope", scope="Kerbs type KB 100 only",
                        products=[{"name": "Kerb KB 100", "type": "kerb"}]), 201)
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["status"] == "active" and cert["revision"] == 2 and cert["scope"] == "Kerbs type KB 100 only"


def test_public_search_pages_with_a_cursor(api):
    file = File(api)
    file.create_scheme()
    numbers = [File(api).granted().certificate for _ in range(3)]
    first = api.get("/public/v1/certificates", limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get("/public/v1/certificates", limit=2, cursor=first["next_cursor"]).json()
    seen = [c["number"] for c in first["items"] + second["items"]]
    assert sorted(seen) == sorted(numbers) and second["next_cursor"] is None
    assert api.get("/public/v1/certificates", cursor="%%%").status_code == 422


def test_only_the_holder_or_an_administrator_lodges_an_appeal(api):
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    body = {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV", "grounds": "Products conform"}
    stranger = api.post("/v1/appeals", body, "Other Manufacturer", "applicant")
    assert stranger.status_code == 403
    assert api.post("/v1/appeals", body, *File.APPLICANT).status_code == 201


def test_names_match_whatever_their_unicode_composition(api):
    file = File(api)
    file.create_scheme()
    file.submit(consultant="Zoe\u0308 Adviseur")  # decomposed ë
    file.accept()
    file.plan()
    refused = file.team("Zo\u00eb adviseur", "lead_auditor")  # composed ë, other case
    assert refused.status_code == 409 and _slug(refused) == "conflict-of-interest"


def test_search_wildcards_are_literal(api):
    File(api).granted()
    assert api.get("/public/v1/certificates", q="%").json()["items"] == []
    assert api.get("/public/v1/certificates", q="_").json()["items"] == []
    assert api.get("/public/v1/certificates", q="KB 100").json()["items"]


def test_information_requested_then_supplied_then_accepted(api):
    file = File(api)
    file.create_scheme()
    file.submit()
    asked = api.post(f"/v1/applications/{file.application_id}/review",
                     {"outcome": "information_requested", "reason": "Send the FPC manual"}, *File.OFFICER)
    assert asked.json()["status"] == "information_requested"
    early = api.post("/v1/audits", {"application_id": file.application_id, "kind": "initial",
                                    "planned_start": TODAY.isoformat()}, *File.LEAD)
    assert early.status_code == 409 and _slug(early) == "invalid-transition"
    stranger = api.post(f"/v1/applications/{file.application_id}/information", {"note": "x"}, "Other", "applicant")
    assert stranger.status_code == 403
    supplied = api.post(f"/v1/applications/{file.application_id}/information",
                        {"note": "FPC manual rev 4 attached"}, *File.APPLICANT)
    assert supplied.json()["status"] == "submitted"
    again = api.post(f"/v1/applications/{file.application_id}/information", {"note": "x"}, *File.APPLICANT)
    assert again.status_code == 409 and _slug(again) == "invalid-transition"
    assert file.accept()["status"] == "accepted"
    assert file.plan()["status"] == "planned"


def test_an_expired_certificate_is_not_revived_before_the_sweep(api, hallmark):
    file = File(api).granted()
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    after = date.fromisoformat(cert["valid_until"]) + timedelta(days=1)
    hallmark.clock.fixed_today = after
    try:
        renew = file.decide("renew", effective_from=after.isoformat())  # no sweep has run
        assert renew.status_code == 409 and _slug(renew) == "invalid-transition"
        assert "expired" in renew.json()["detail"]
    finally:
        hallmark.clock.fixed_today = None


def test_a_granted_application_is_closed_and_an_ended_certificate_is_not_audited(api):
    file = File(api).granted()
    application = api.get(f"/v1/applications/{file.application_id}", *File.OFFICER).json()
    assert application["status"] == "granted"
    late = api.post(f"/v1/applications/{file.application_id}/withdraw", {"reason": "too late"}, *File.APPLICANT)
    assert late.status_code == 409 and _slug(late) == "invalid-transition"
    file.ok(file.decide("withdraw"), 201)
    audit = api.post("/v1/audits", {"certificate_number": file.certificate, "kind": "surveillance",
                                    "planned_start": TODAY.isoformat()}, *File.LEAD)
    assert audit.status_code == 409 and _slug(audit) == "invalid-transition"


def test_an_appeal_committee_names_each_person_once(api):
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *File.ADMIN), 201)
    twice = api.post(f"/v1/appeals/{appeal['id']}/decide", {"committee": ["Paula Public", "paula  public"],
                                                            "outcome": "upheld", "rationale": "r"}, *File.ADMIN)
    assert twice.status_code == 422


def test_an_upheld_appeal_against_a_suspension_calls_for_a_corrective_decision(api):
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *File.ADMIN), 201)
    assert appeal["certificate_number"] == file.certificate
    file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {"committee": ["Paula Public", "Uma User"],
                                                            "outcome": "upheld", "rationale": "Tests conform"},
                     *File.ADMIN))
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["appeal_upheld"]["decision_id"] == suspended["id"]
    assert any("appeal upheld" in reason for reason in cert["attention"])
    file.ok(file.decide("restore"), 201)
    cert = api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN).json()
    assert cert["status"] == "active" and cert["appeal_upheld"] is None and cert["attention"] == []


def test_an_upheld_appeal_against_a_refusal_reopens_the_application(api):
    file = File(api).evaluated()
    refused = file.ok(file.decide("refuse"), 201)
    assert file.decide("grant").status_code == 409  # decided
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": refused["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Evidence overlooked"}, *File.APPLICANT), 201)
    file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {"committee": ["Paula Public", "Uma User"],
                                                            "outcome": "upheld", "rationale": "Overlooked"},
                     *File.ADMIN))
    assert file.decide("grant", by=("Dora Other", "decision_maker")).status_code == 201
