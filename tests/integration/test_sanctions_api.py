"""The sanctions ladder through the HTTP API, on both stores: R40 (a warning), R41-R43 (a conditional
withdrawal, lifted by a restoration or flagged past its deadline), R44 (a suspension's conditions and end
date within the scheme's maximum, public), R45 (a voluntary suspension at the holder's request), R46 (a
withdrawn certificate reinstated on an upheld appeal) and R47 (scope changes change the products shown).
A refusal answers a problem and records nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain import add_months
from tests.support import Api, File, problem, today

ORG = "BE0123456789"  # application_body's holder
KOEN = ("Koen Collega", "applicant")  # the holder's staff


def staff_view(file: File) -> dict[str, Any]:
    return file.ok(file.api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))


def public_view(file: File) -> dict[str, Any]:
    return file.ok(file.api.get(f"/public/v1/certificates/{file.certificate}"))


def verification(file: File) -> str:
    """A special audit of the certificate, reported conforming: what a restoration rests on."""
    file.plan("special", certificate_number=file.certificate)
    file.ok(file.team(File.LEAD[0], "lead_auditor"))
    file.ok(file.report())
    return file.audit_id or ""


def events_of(api: Api, file: File) -> int:
    return len(staff_view(file)["history"])


# -- R40 ------------------------------------------------------------------------------------------------------


def test_r40_a_warning_keeps_the_status_and_only_staff_see_it(api):
    file = File(api).granted()
    warned = file.ok(file.decide("warning", basis=[], rationale="Corrective actions late twice this year"), 201)
    assert warned["outcome"] == "warning"
    cert = staff_view(file)
    assert cert["status"] == "active"
    assert cert["warnings"] == [{"decision_id": warned["id"], "on": today().isoformat(),
                                 "rationale": "Corrective actions late twice this year"}]
    public = public_view(file)
    assert public["status"] == "active" and "warnings" not in public
    assert "Corrective actions" not in str(public)


def test_r40_a_warning_on_a_withdrawn_certificate_is_refused(api):
    file = File(api).granted()
    file.ok(file.decide("withdraw"), 201)
    problem(file.decide("warning", basis=[]), 409, "invalid-transition")
    assert staff_view(file)["warnings"] == []


# -- R41, R42, R43 --------------------------------------------------------------------------------------------


def test_r41_r42_a_conditional_withdrawal_is_lifted_by_a_restoration_on_a_verification(api):
    file = File(api).granted()
    deadline = (today() + timedelta(days=30)).isoformat()
    decided = file.ok(file.decide("conditional_withdrawal", basis=[], conditions="Close NC-3 and retest batch 42",
                                  deadline=deadline), 201)
    assert (decided["deadline"], decided["conditions"]) == (deadline, "Close NC-3 and retest batch 42")
    cert = staff_view(file)
    assert cert["status"] == "active"
    assert cert["conditional_withdrawal"] == {"decision_id": decided["id"], "since": today().isoformat(),
                                              "deadline": deadline, "conditions": "Close NC-3 and retest batch 42",
                                              "overdue": False}
    assert "conditional_withdrawal" not in public_view(file) and public_view(file)["status"] == "active"
    problem(file.decide("conditional_withdrawal", basis=[], conditions="again", deadline=deadline), 409,
            "invalid-transition")  # one pending at a time

    problem(file.decide("restore"), 422, "invalid-command")  # rests on the grant's audit: earlier (R42)
    audit = verification(file)
    file.ok(file.decide("restore", basis=[audit]), 201)
    cert = staff_view(file)
    assert cert["status"] == "active" and cert["conditional_withdrawal"] is None
    problem(file.decide("restore", basis=[audit]), 409, "invalid-transition")  # nothing left to lift


def test_r41_a_conditional_withdrawal_without_a_later_deadline_is_refused(api):
    file = File(api).granted()
    before = events_of(api, file)
    problem(file.decide("conditional_withdrawal", basis=[], conditions="Close NC-3"), 422, "invalid-command")
    problem(file.decide("conditional_withdrawal", basis=[], conditions="Close NC-3", deadline=today().isoformat()),
            422, "invalid-command")
    problem(file.decide("conditional_withdrawal", basis=[], deadline=(today() + timedelta(days=9)).isoformat()),
            422, "invalid-command")
    problem(file.decide("suspend", deadline=(today() + timedelta(days=9)).isoformat()), 422, "invalid-command")
    cert = staff_view(file)
    assert cert["conditional_withdrawal"] is None and cert["status"] == "active" and events_of(api, file) == before


def test_r43_a_conditional_withdrawal_past_its_deadline_is_flagged_for_withdrawal(api, hallmark):
    file = File(api).granted()
    deadline = today() + timedelta(days=30)
    file.ok(file.decide("conditional_withdrawal", basis=[], conditions="Close NC-3", deadline=deadline.isoformat()),
            201)
    hallmark.clock.fixed_today = deadline
    try:
        assert file.certificate not in hallmark.sweep()  # on the deadline: still in time
        hallmark.clock.fixed_today = deadline + timedelta(days=1)
        assert file.certificate in hallmark.sweep()
        assert file.certificate not in hallmark.sweep()  # flagged once
    finally:
        hallmark.clock.fixed_today = None
    hallmark.settle()
    cert = staff_view(file)
    assert cert["conditional_withdrawal"]["overdue"] is True and cert["status"] == "active"
    assert any("R43" in reason and "withdrawal decision is due" in reason for reason in cert["attention"])
    worklist = api.get("/v1/certificates", *File.ADMIN, needs_attention="true").json()["items"]
    assert file.certificate in [c["number"] for c in worklist]
    file.ok(file.decide("withdraw"), 201)
    assert staff_view(file)["attention"] == []


# -- R44 ------------------------------------------------------------------------------------------------------


def test_r44_a_suspension_with_conditions_and_an_end_date_shows_the_end_date_publicly(api, hallmark):
    file = File(api).granted()
    until = add_months(today(), 6)  # the scheme's maximum, exactly
    suspended = file.ok(file.decide("suspend", conditions="Recalibrate the press", until=until.isoformat()), 201)
    assert (suspended["until"], suspended["conditions"], suspended["voluntary"]) == \
        (until.isoformat(), "Recalibrate the press", False)
    cert = staff_view(file)
    assert cert["suspension"]["until"] == until.isoformat()
    assert cert["suspension"]["conditions"] == "Recalibrate the press"
    public = public_view(file)
    assert public["status"] == "suspended" and public["suspended_until"] == until.isoformat()
    assert "Recalibrate" not in str(public)  # the conditions are not public

    hallmark.clock.fixed_today = until + timedelta(days=1)
    try:
        assert file.certificate in hallmark.sweep()
    finally:
        hallmark.clock.fixed_today = None
    hallmark.settle()
    assert any("R44" in reason for reason in staff_view(file)["attention"])

    file.ok(file.decide("restore", basis=[verification(file)]), 201)
    assert public_view(file)["suspended_until"] is None and staff_view(file)["suspension"] is None


def test_r44_a_suspension_ending_past_the_schemes_maximum_is_refused(api):
    file = File(api).granted()
    too_late = add_months(today(), 6) + timedelta(days=1)
    body = problem(file.decide("suspend", until=too_late.isoformat()), 422, "invalid-command")
    assert "R44" in body["detail"]
    problem(file.decide("suspend", until=today().isoformat()), 422, "invalid-command")
    problem(file.decide("withdraw", until=(today() + timedelta(days=5)).isoformat()), 422, "invalid-command")
    assert staff_view(file)["status"] == "active" and public_view(file)["suspended_until"] is None


# -- R45 ------------------------------------------------------------------------------------------------------


def ask_suspension(file: File):
    return file.api.post(f"/v1/applications/{file.application_id}/requests",
                         {"kind": "suspend", "reason": "Plant shut for three months of works"}, *KOEN,
                         organisation=ORG)


def test_r45_a_voluntary_suspension_answers_the_holders_request_and_closes_it(api):
    file = File(api).granted()
    request = file.ok(ask_suspension(file), 201)
    assert (request["kind"], request["certificate_number"], request["status"]) == ("suspend", file.certificate, "open")
    open_ids = [r["request_id"] for r in api.get("/v1/requests", *File.OFFICER, status="open").json()["items"]]
    assert request["request_id"] in open_ids

    file.ok(file.decide("suspend", basis=[]), 201)  # an imposed suspension does not answer the request
    file.ok(file.decide("restore", basis=[verification(file)]), 201)
    assert request["request_id"] in [r["request_id"] for r in
                                      api.get("/v1/requests", *File.OFFICER, status="open").json()["items"]]

    until = (today() + timedelta(days=90)).isoformat()
    decided = file.ok(file.decide("suspend", basis=[], voluntary=True, request_id=request["request_id"],
                                  until=until), 201)
    assert (decided["voluntary"], decided["request_id"]) == (True, request["request_id"])
    (closed,) = [r for r in api.get("/v1/requests", *File.OFFICER, status="decided").json()["items"]
                 if r["request_id"] == request["request_id"]]
    assert closed["decision"] == {"decision_id": decided["id"], "outcome": "suspend"}
    cert = staff_view(file)
    assert cert["status"] == "suspended" and cert["suspension"]["voluntary"] is True
    assert cert["suspension"]["request_id"] == request["request_id"]
    assert public_view(file)["suspended_until"] == until


def test_r45_a_voluntary_suspension_without_the_holders_request_is_refused(api):
    file = File(api).granted()
    problem(file.decide("suspend", basis=[], voluntary=True), 422, "invalid-command")
    problem(file.decide("suspend", basis=[], voluntary=True, request_id="5e0c1c1e-0a51-4d5e-9a51-0d3c2b9a4e78"),
            422, "invalid-command")
    terminate = file.ok(api.post(f"/v1/applications/{file.application_id}/requests",
                                 {"kind": "terminate", "reason": "stop"}, *KOEN, organisation=ORG), 201)
    problem(file.decide("suspend", basis=[], voluntary=True, request_id=terminate["request_id"]), 422,
            "invalid-command")
    assert staff_view(file)["status"] == "active"


def test_r45_a_suspension_request_on_a_suspended_certificate_is_refused(api):
    file = File(api).granted()
    file.ok(file.decide("suspend", basis=[]), 201)
    problem(ask_suspension(file), 409, "invalid-transition")
    assert file.ok(api.get(f"/v1/applications/{file.application_id}", *File.OFFICER))["requests"] == []


# -- R46 ------------------------------------------------------------------------------------------------------


def withdrawn_and_appealed(api: Api, outcome: str = "upheld") -> tuple[File, dict[str, Any], dict[str, Any]]:
    file = File(api).granted()
    withdrawal = file.ok(file.decide("withdraw"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": withdrawal["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "The retest conformed"}, *File.ADMIN), 201)
    file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {"committee": ["Paula Public", "Uma User"],
                                                            "outcome": outcome, "rationale": "Retest conformed"},
                     *File.ADMIN))
    return file, withdrawal, appeal


def test_r46_a_withdrawn_certificate_is_reinstated_on_the_upheld_appeal_and_the_trail_links_them(api):
    file, withdrawal, appeal = withdrawn_and_appealed(api)
    cert = staff_view(file)
    assert cert["status"] == "withdrawn" and cert["appeal_upheld"]["decision_id"] == withdrawal["id"]
    reinstated = file.ok(file.decide("reinstate", basis=[], appeal_id=appeal["id"]), 201)
    assert reinstated["appeal_id"] == appeal["id"]
    cert = staff_view(file)
    assert cert["status"] == "active" and cert["appeal_upheld"] is None and cert["attention"] == []
    assert cert["history"][-1]["appeal_id"] == appeal["id"]
    assert cert["history"][-1]["decision_id"] == reinstated["id"]
    assert public_view(file)["status"] == "active"
    problem(file.decide("reinstate", basis=[], appeal_id=appeal["id"]), 409, "invalid-transition")  # once
    # Partners following the certificate are told: the change feed (and webhooks) say 'reinstated'.
    changes = [c for c in file.api.get("/public/v1/changes", limit=100).json()["items"]
               if c["certificate"]["number"] == file.certificate]
    assert [c["kind"] for c in changes] == ["issued", "withdrawn", "reinstated"]


def test_r46_a_reinstatement_without_an_upheld_appeal_against_the_withdrawal_is_refused(api):
    file, _, appeal = withdrawn_and_appealed(api, outcome="dismissed")
    problem(file.decide("reinstate", basis=[], appeal_id=appeal["id"]), 422, "invalid-command")
    problem(file.decide("restore"), 409, "invalid-transition")  # a withdrawal is never restored (R5)
    assert staff_view(file)["status"] == "withdrawn"
    active = File(api).granted()
    problem(active.decide("reinstate", basis=[], appeal_id=appeal["id"]), 409, "invalid-transition")


# -- R47 ------------------------------------------------------------------------------------------------------


def test_r47_the_directory_shows_the_products_of_the_current_revision(api):
    file = File(api).granted()
    two = [{"name": "Kerb KB 100", "type": "kerb"}, {"name": "Gutter Zelda", "type": "gutter"}]
    file.ok(file.decide("extend_scope", scope="Kerbs KB 100 and gutters Zelda", products=two), 201)
    public = public_view(file)
    assert [p["name"] for p in public["products"]] == ["Kerb KB 100", "Gutter Zelda"] and public["revision"] == 2
    found = api.get("/public/v1/certificates", q="Zelda").json()["items"]
    assert [c["number"] for c in found] == [file.certificate]

    file.ok(file.decide("reduce_scope", scope="Kerbs KB 100 only", products=two[:1]), 201)
    public = public_view(file)
    assert [p["name"] for p in public["products"]] == ["Kerb KB 100"] and public["revision"] == 3
    assert api.get("/public/v1/certificates", q="Zelda").json()["items"] == []


def test_r47_a_reduction_naming_an_uncertified_product_changes_nothing(api):
    file = File(api).granted()
    problem(file.decide("reduce_scope", scope="x", products=[{"name": "Kerb KB 999", "type": "kerb"}]), 422,
            "invalid-command")
    public = public_view(file)
    assert [p["name"] for p in public["products"]] == ["Kerb KB 100"] and public["revision"] == 1
