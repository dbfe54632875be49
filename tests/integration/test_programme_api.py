"""Scheme-driven evaluation through the HTTP API, on both stores: R48 (an admission period with its own
surveillance frequency), R49 (the certificate's surveillance programme, for staff and the holder's staff) and
R50 (a TRA/PTV transition deadline that passes flags the certificate for a suspension decision), R51 (a renewal
on a renewal audit reported inside the scheme's window), R52 (no maintenance or renewal over an open
nonconformity of its basis) and R53 (a TRA/PTV version published on a responsible sectoral commission's decision).
A refusal answers a problem and records nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.domain import add_months
from tests.support import File, problem, scheme_body, today

ORG = "BE0123456789"  # application_body's holder
KOEN = ("Koen Collega", "applicant")  # the holder's staff
PROGRAMME = {"admission_surveillance_months": 3, "renewal_window_months": 4, "sampling_months": 2}


def granted(file: File, **scheme: Any) -> File:
    """Granted under a scheme with an admission frequency, a renewal window and a sampling frequency."""
    file.create_scheme(**{**PROGRAMME, **scheme})
    file.submit()
    file.accept()
    file.plan()
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    items = file.ok(file.api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id))["items"]
    file.certificate = items[0]["number"]
    return file


def commission(file: File, code: str = "SC-KERBS", **responsible: Any) -> dict[str, Any]:
    """R53: the sectoral commission responsible for the file's scheme (or ``responsible``: schemes, marks)."""
    return file.ok(file.api.post("/v1/schemes/commissions", {
        "code": code, "name": "Sectoral commission for precast concrete kerbs",
        **(responsible or {"schemes": [file.scheme]})}, *File.ADMIN), 201)


def decided(code: str = "SC-KERBS", on: date | None = None) -> dict[str, str]:
    return {"commission": code, "reference": f"{code}/2026/07", "date": (on or today()).isoformat()}


def publish_ptv(file: File, deadline: date, **overrides: Any):
    """PTV 21-601 version 3.0 with a transition deadline, on the decision of the sectoral commission (R53)."""
    if "commission_decision" not in overrides:
        commission(file)
    body = {"kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": today().isoformat(),
            "transition_deadline": deadline.isoformat(), "commission_decision": decided(), **overrides}
    return file.api.post(f"/v1/schemes/{file.scheme}/documents", {k: v for k, v in body.items() if v is not None},
                         *File.ADMIN)


def staff_view(file: File) -> dict[str, Any]:
    return file.ok(file.api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))


# -- R48 ------------------------------------------------------------------------------------------------------


def test_r48_the_admission_frequency_sets_the_surveillance_due_until_the_admission_period_ends(api):
    file = granted(File(api))
    scheme = file.ok(api.get(f"/v1/schemes/{file.scheme}", *File.ADMIN))
    assert {k: scheme[k] for k in PROGRAMME} == PROGRAMME
    assert staff_view(file)["surveillance_due"] == add_months(today(), 3).isoformat()
    file.plan(certificate_number=file.certificate)  # a surveillance audit during admission
    file.ok(file.team("Ann Auditor", "lead_auditor"))
    file.ok(file.report(by=File.AUDITOR))
    file.ok(file.decide("maintain"), 201)
    assert staff_view(file)["surveillance_due"] == add_months(today(), 3).isoformat()  # still every 3 months


def test_r48_an_admission_frequency_longer_than_the_admission_period_is_refused(api):
    scheme = scheme_body(admission_surveillance_months=9)  # the admission period is 6 months
    body = problem(api.post("/v1/schemes", scheme, *File.ADMIN), 422, "invalid-command")
    assert "R48" in body["detail"]
    problem(api.get(f"/v1/schemes/{scheme['code']}", *File.ADMIN), 404, "not-found")  # nothing recorded


# -- R49 ------------------------------------------------------------------------------------------------------


def test_r49_the_programme_is_shown_to_staff_and_to_the_holders_staff(api):
    file = granted(File(api))
    programme = file.ok(api.get(f"/v1/certificates/{file.certificate}/programme", *File.ADMIN))
    start = today()
    assert [(p["due"], p["period"]) for p in programme["planned_surveillance"][:3]] == [
        (add_months(start, 3).isoformat(), "admission"), (add_months(start, 6).isoformat(), "admission"),
        (add_months(start, 18).isoformat(), "regular")]  # the scheme's regular frequency is 12 months
    valid_until = add_months(start, 36).isoformat()
    assert programme["valid_until"] == valid_until
    assert programme["renewal"] == {"audit_kind": "renewal",
                                    "window": {"opens": add_months(start, 32).isoformat(), "closes": valid_until}}
    assert programme["sampling_months"] == 2
    assert programme["admission"] == {"until": add_months(start, 6).isoformat(), "surveillance_months": 3}
    holder = file.ok(api.get(f"/v1/certificates/{file.certificate}/programme", *KOEN, organisation=ORG))
    assert holder["planned_surveillance"] == programme["planned_surveillance"]


def test_r49_the_programme_is_refused_to_another_organisation_and_to_the_public(api):
    file = granted(File(api))
    problem(api.get(f"/v1/certificates/{file.certificate}/programme", *KOEN, organisation="BE0999999999"),
            403, "forbidden")
    assert api.get(f"/v1/certificates/{file.certificate}/programme").status_code == 401
    problem(api.get("/v1/certificates/BENOR-99999/programme", *File.ADMIN), 404, "not-found")


def test_r49_a_renewal_window_as_long_as_the_validity_is_refused(api):
    scheme = scheme_body(renewal_window_months=36)  # the validity is 36 months
    assert "R49" in problem(api.post("/v1/schemes", scheme, *File.ADMIN), 422, "invalid-command")["detail"]
    problem(api.get(f"/v1/schemes/{scheme['code']}", *File.ADMIN), 404, "not-found")


# -- R50 ------------------------------------------------------------------------------------------------------


def test_r50_a_passed_transition_deadline_flags_the_certificate_until_it_moves(api, hallmark):
    file = granted(File(api), renewal_window_months=0)  # renewed on the initial audit (no window, R51)
    deadline = today() + timedelta(days=20)
    file.ok(publish_ptv(file, deadline), 201)
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
    assert cert["transitions_overdue"] == [{"kind": "PTV", "ref": "PTV 21-601", "version": "3.0",
                                            "from_version": "2.0", "deadline": deadline.isoformat()}]
    public = file.ok(api.get(f"/public/v1/certificates/{file.certificate}"))
    assert public["transitions"] == cert["transitions"] and "transitions_overdue" not in public  # staff only
    assert any("R50" in reason and "suspension decision is proposed" in reason for reason in cert["attention"])
    worklist = api.get("/v1/certificates", *File.ADMIN, needs_attention="true").json()["items"]
    assert file.certificate in [c["number"] for c in worklist]
    programme = file.ok(api.get(f"/v1/certificates/{file.certificate}/programme", *File.ADMIN))
    assert [(t["version"], t["from_version"]) for t in programme["transitions_overdue"]] == [("3.0", "2.0")]
    file.ok(file.decide("renew"), 201)  # the renewal moves the certificate to the documents in force
    cert = staff_view(file)
    assert cert["transitions"] == [] and cert["transitions_overdue"] == []
    assert not any("R50" in reason for reason in cert["attention"])
    assert file.ok(api.get(f"/v1/certificates/{file.certificate}/programme", *File.ADMIN))["transitions_overdue"] == []


def test_r50_a_certificate_already_on_the_new_version_is_not_flagged(api, hallmark):
    file = granted(File(api), renewal_window_months=0)  # renewed on the initial audit (no window, R51)
    deadline = today() + timedelta(days=20)
    file.ok(publish_ptv(file, deadline), 201)
    file.ok(file.decide("renew"), 201)  # moved before the deadline
    hallmark.clock.fixed_today = deadline + timedelta(days=1)
    try:
        assert file.certificate not in hallmark.sweep()
    finally:
        hallmark.clock.fixed_today = None
    hallmark.settle()
    assert not any("R50" in reason for reason in staff_view(file)["attention"])


# -- R51 ------------------------------------------------------------------------------------------------------


def renewal_audit(file: File) -> str:
    file.plan("renewal", certificate_number=file.certificate)
    file.ok(file.team("Ann Auditor", "lead_auditor"))
    file.ok(file.report(by=File.AUDITOR))
    return file.audit_id or ""


def test_r51_a_renewal_rests_on_a_renewal_audit_reported_inside_the_window(api, hallmark):
    file = granted(File(api))  # valid 36 months; renewal window 4 months before expiry
    valid_until = date.fromisoformat(staff_view(file)["valid_until"])
    early = renewal_audit(file)  # reported today: years before the window opens
    body = problem(file.decide("renew", basis=[early]), 422, "invalid-command")
    assert "R51" in body["detail"]
    in_window = add_months(valid_until, -1)
    hallmark.clock.fixed_today = in_window
    try:
        refused = file.decide("renew", basis=[early], effective_from=in_window.isoformat())  # still the early one
        assert "R51" in problem(refused, 422, "invalid-command")["detail"]
        audit = renewal_audit(file)
        renewed = file.ok(file.decide("renew", basis=[audit], effective_from=in_window.isoformat()), 201)
    finally:
        hallmark.clock.fixed_today = None
    assert renewed["outcome"] == "renew"
    assert staff_view(file)["valid_until"] == add_months(valid_until, 36).isoformat()  # from the old expiry


# -- R52 ------------------------------------------------------------------------------------------------------


def test_r52_a_maintenance_on_a_surveillance_with_an_open_minor_is_refused_until_it_is_closed(api):
    file = granted(File(api), admission_surveillance_months=0)  # surveillance due in 6 months, then every 12 (no admission frequency)
    file.plan(certificate_number=file.certificate)
    file.ok(file.team("Ann Auditor", "lead_auditor"))
    finding = file.ok(file.finding("minor", by=File.AUDITOR), 201)
    file.ok(file.report(by=File.AUDITOR))  # a conforming report may leave a minor open (R14 is about majors)
    before = staff_view(file)["surveillance_due"]
    body = problem(file.decide("maintain"), 409, "open-nonconformity")
    assert "R52" in body["detail"] and body["open_findings"] == [finding["finding_id"]]
    assert staff_view(file)["surveillance_due"] == before  # nothing recorded
    file.ok(file.close(finding["finding_id"], by=File.AUDITOR))
    file.ok(file.decide("maintain"), 201)
    assert staff_view(file)["surveillance_due"] != before


# -- R53 ------------------------------------------------------------------------------------------------------


def test_r53_a_ptv_version_is_published_on_the_decision_of_a_commission_responsible_for_the_scheme(api):
    file = granted(File(api))
    registered = commission(file)
    assert (registered["code"], registered["schemes"], registered["marks"]) == ("SC-KERBS", [file.scheme], [])
    assert file.ok(api.get("/v1/schemes/commissions/sc-kerbs", *File.ADMIN))["schemes"] == [file.scheme]
    published = file.ok(publish_ptv(file, today() + timedelta(days=90), commission_decision=decided()), 201)
    assert published["commission_decisions"] == [{"kind": "PTV", "ref": "PTV 21-601", "version": "3.0",
                                                   **decided()}]
    assert any(d["version"] == "3.0" for d in published["documents"])


def test_r53_a_commission_for_the_sector_publishes_the_schemes_of_its_mark(api):
    file = granted(File(api))
    commission(file, "SC-BENOR", marks=["BENOR"])
    file.ok(publish_ptv(file, today() + timedelta(days=90), commission_decision=decided("SC-BENOR")), 201)


def test_r53_a_ptv_version_without_a_decision_or_by_another_commission_is_refused(api):
    file = granted(File(api))
    other = File(api)
    other.create_scheme()
    commission(other, "SC-OTHER")  # responsible for another scheme only
    commission(file, "SC-COPRO", marks=["COPRO"])  # another sector
    commission(file)  # SC-KERBS, responsible: its decision must still be dated and taken by today
    deadline = today() + timedelta(days=90)
    before = file.ok(api.get(f"/v1/schemes/{file.scheme}", *File.ADMIN))
    assert "R53" in problem(publish_ptv(file, deadline, commission_decision=None), 422, "invalid-command")["detail"]
    problem(publish_ptv(file, deadline, commission_decision=decided("SC-OTHER")), 403, "forbidden")
    problem(publish_ptv(file, deadline, commission_decision=decided("SC-COPRO")), 403, "forbidden")
    problem(publish_ptv(file, deadline, commission_decision=decided("SC-NOBODY")), 404, "not-found")
    problem(publish_ptv(file, deadline, commission_decision=decided(on=today() + timedelta(days=1))),
            422, "invalid-command")
    problem(publish_ptv(file, deadline, commission_decision={"commission": "SC-OTHER", "reference": "x"}),
            422, "invalid-request")  # the decision's date is missing
    after = file.ok(api.get(f"/v1/schemes/{file.scheme}", *File.ADMIN))
    assert after["version"] == before["version"] and after["commission_decisions"] == []  # nothing recorded


def test_r53_only_an_admin_registers_a_commission_and_only_for_known_schemes_once(api):
    file = granted(File(api))
    body = {"code": "SC-KERBS", "name": "Sectoral commission for kerbs", "schemes": [file.scheme]}
    problem(api.post("/v1/schemes/commissions", body, "Rita Registrar", "registry_officer"), 403, "forbidden")
    problem(api.post("/v1/schemes/commissions", {**body, "schemes": ["PTV-NOSUCH"]}, *File.ADMIN), 404, "not-found")
    problem(api.post("/v1/schemes/commissions", {**body, "schemes": [], "marks": ["NOPE"]}, *File.ADMIN),
            422, "invalid-command")
    problem(api.post("/v1/schemes/commissions", {**body, "schemes": []}, *File.ADMIN), 422, "invalid-command")
    file.ok(api.post("/v1/schemes/commissions", body, *File.ADMIN), 201)
    problem(api.post("/v1/schemes/commissions", body, *File.ADMIN), 409, "duplicate")


def test_an_admin_runs_the_sweep_now_over_http_and_its_flags_carry_the_admins_name(api, hallmark):
    """POST /v1/certificates/sweep: the daily checks at once (R50 here), by an admin only; the flag's event
    names who ran it, and a second run flags nothing new."""
    file = granted(File(api), renewal_window_months=0)
    deadline = today() + timedelta(days=20)
    file.ok(publish_ptv(file, deadline), 201)
    problem(api.post("/v1/certificates/sweep", {}, *File.DECIDER), 403, "forbidden")
    hallmark.clock.fixed_today = deadline + timedelta(days=1)
    try:
        assert file.ok(api.post("/v1/certificates/sweep", {}, *File.ADMIN))["changed"] == [file.certificate]
        assert file.ok(api.post("/v1/certificates/sweep", {}, *File.ADMIN))["changed"] == []
    finally:
        hallmark.clock.fixed_today = None
    hallmark.settle()
    trail = file.ok(api.get("/v1/audit-trail", *File.ADMIN, certificate_number=file.certificate))["entries"]
    flagged = [e for e in trail if e["type"].endswith("TransitionOverdue")]
    assert len(flagged) == 1 and flagged[0]["actor"] == File.ADMIN[0], flagged


def test_r50_a_certificate_issued_on_the_old_version_before_the_new_one_takes_effect_is_flagged(api, hallmark):
    """Granted after a new PTV version is published but before it takes effect, the certificate refers to the
    version in force: it had no certificate in the view when the version was published, and is still flagged
    once the deadline passes (the sweep visits it for that deadline, not only for its own dates)."""
    file = File(api)
    file.create_scheme(**{**PROGRAMME, "renewal_window_months": 0})
    file.submit()
    file.accept()
    file.plan()
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    file.ok(file.report())
    deadline = today() + timedelta(days=40)
    file.ok(publish_ptv(file, deadline, effective_from=(today() + timedelta(days=10)).isoformat()), 201)
    file.ok(file.decide("grant"), 201)
    file.certificate = file.ok(api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id))["items"][0]["number"]
    hallmark.settle()
    assert {(d["ref"], d["version"]) for d in staff_view(file)["documents"]} >= {("PTV 21-601", "2.0")}
    assert file.certificate not in hallmark.certificates.due(deadline)
    hallmark.clock.fixed_today = deadline + timedelta(days=1)
    try:
        assert file.certificate in hallmark.certificates.due(deadline + timedelta(days=1))
        assert file.certificate in hallmark.sweep()
        assert file.certificate not in hallmark.sweep()  # flagged once
    finally:
        hallmark.clock.fixed_today = None
    hallmark.settle()
    assert [(t["version"], t["from_version"]) for t in staff_view(file)["transitions_overdue"]] == [("3.0", "2.0")]


def test_the_sweep_visits_only_the_certificates_with_a_date_due(api, hallmark):
    """The hourly sweep reads the view's due dates instead of loading every active certificate: an active
    certificate is visited from the day after the first of its dates (surveillance, expiry), a suspended one
    every time, a withdrawn one never."""
    quiet, suspended, withdrawn = granted(File(api)), granted(File(api)), granted(File(api))
    suspended.ok(suspended.decide("suspend"), 201)
    withdrawn.ok(withdrawn.decide("withdraw"), 201)
    hallmark.settle()
    surveillance_due = date.fromisoformat(staff_view(quiet)["surveillance_due"])
    mine = {quiet.certificate, suspended.certificate, withdrawn.certificate}
    assert set(hallmark.certificates.due(today())) & mine == {suspended.certificate}
    assert set(hallmark.certificates.due(surveillance_due)) & mine == {suspended.certificate}
    assert set(hallmark.certificates.due(surveillance_due + timedelta(days=1))) & mine == \
        {quiet.certificate, suspended.certificate}
    visited: list[list[str]] = []
    sweep = hallmark.registry.sweep
    hallmark.registry.sweep = lambda numbers, actor: visited.append(numbers) or sweep(numbers, actor=actor)
    try:
        hallmark.sweep()
    finally:
        hallmark.registry.sweep = sweep
    assert set(visited[0]) & mine == {suspended.certificate}
