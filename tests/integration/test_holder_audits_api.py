"""The holder's side of its audits through HTTP, on SQLite and PostgreSQL: read access scoped to its
organisation (R18, applied in audits), corrective actions (R34) and their review (R35), the overdue
worklist (R36), comments on the report within five working days (R37), and the current consultancy
declaration used for R2."""

from __future__ import annotations

from datetime import timedelta

from services.audits.domain import comments_until
from tests.support import File, today

HOLDER = "BE0123456789"  # application_body's applicant.registration_number
HOLDER_STAFF = ("Hanna Holder", "applicant")
ACTION = {"description": "Curing log kept per batch; staff trained",
          "evidence": [{"name": "Curing log batch 42", "reference": "CL-2026-042"}]}


def _slug(response) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


def with_finding(api, due: str | None = None) -> tuple[File, str]:
    file = File(api).planned()
    file.ok(file.team("Ann Auditor", "auditor"))
    body = {"severity": "major", "requirement": "PTV 21-601 §5.2", "description": "Curing log incomplete",
            "corrective_action_due": due or (today() + timedelta(days=14)).isoformat()}
    finding = file.ok(api.post(f"/v1/audits/{file.audit_id}/findings", body, *File.LEAD), 201)
    return file, finding["finding_id"]


def submit(api, file: File, finding_id: str, organisation: str | None = HOLDER, who=HOLDER_STAFF):
    return api.post(f"/v1/audits/{file.audit_id}/findings/{finding_id}/corrective-actions", ACTION, *who,
                    organisation=organisation)


def review(api, file: File, finding_id: str, ca_id: str, outcome: str, who=File.AUDITOR, organisation=None):
    return api.post(f"/v1/audits/{file.audit_id}/findings/{finding_id}/corrective-actions/{ca_id}/review",
                    {"outcome": outcome, "reason": "Curing log checked" if outcome == "accepted" else "No log for batch 43"},
                    *who, organisation=organisation)


def audit(api, file: File, who=File.ADMIN, organisation=None):
    return api.get(f"/v1/audits/{file.audit_id}", *who, organisation=organisation)


# -- R18 in audits ------------------------------------------------------------------------------------


def test_r18_the_holders_staff_read_their_files_audits_and_no_one_elses(api):
    file, finding_id = with_finding(api)
    read = audit(api, file, HOLDER_STAFF, organisation="be 0123.456.789")
    assert read.status_code == 200 and read.json()["findings"][0]["finding_id"] == finding_id
    for organisation in ("BE0999888777", None):
        refused = audit(api, file, HOLDER_STAFF, organisation=organisation)
        assert refused.status_code == 403 and _slug(refused) == "forbidden"
    assert api.get(f"/v1/audits/{file.audit_id}", "Pat Partner", "partner").status_code == 403


def test_r18_the_holder_reads_its_samples_and_results(api):
    file, _ = with_finding(api)
    sample = file.ok(api.post(f"/v1/audits/{file.audit_id}/samples", {
        "product": "Kerb KB 100", "batch": "B-1", "seal_number": "S-1", "taken_on": today().isoformat(),
        "laboratory": "LAB-0042"}, *File.LEAD), 201)
    assert api.get(f"/v1/samples/{sample['sample_id']}", *HOLDER_STAFF, organisation=HOLDER).status_code == 200
    other = api.get(f"/v1/samples/{sample['sample_id']}", *HOLDER_STAFF, organisation="BE0999888777")
    assert other.status_code == 403 and _slug(other) == "forbidden"


# -- R34, R35 ----------------------------------------------------------------------------------------


def test_r34_r35_the_holder_submits_the_team_reviews_and_acceptance_closes_the_finding(api):
    file, finding_id = with_finding(api)
    before = file.ok(audit(api, file))["version"]
    other = submit(api, file, finding_id, organisation="BE0999888777")
    assert other.status_code == 403 and _slug(other) == "forbidden"
    assert submit(api, file, finding_id, organisation=None).status_code == 403
    assert submit(api, file, finding_id, who=File.AUDITOR).status_code == 403  # staff do not answer for the holder
    assert api.post(f"/v1/audits/{file.audit_id}/findings/{finding_id}/corrective-actions", {"description": "x"},
                    *HOLDER_STAFF, organisation=HOLDER).status_code == 422  # evidence is required
    assert file.ok(audit(api, file))["version"] == before

    first = file.ok(submit(api, file, finding_id), 201)
    assert first["finding"]["corrective_actions"][0]["late"] is False
    pending = submit(api, file, finding_id)
    assert pending.status_code == 409 and _slug(pending) == "duplicate"
    ca_id = first["corrective_action_id"]
    by_holder = review(api, file, finding_id, ca_id, "accepted", who=HOLDER_STAFF, organisation=HOLDER)
    assert by_holder.status_code == 403
    outsider = review(api, file, finding_id, ca_id, "accepted", who=("Otto Other", "auditor"))
    assert outsider.status_code == 403 and _slug(outsider) == "forbidden"
    file.ok(review(api, file, finding_id, ca_id, "rejected"))
    again = file.ok(submit(api, file, finding_id), 201)
    accepted = file.ok(review(api, file, finding_id, again["corrective_action_id"], "accepted"))
    (finding,) = accepted["findings"]
    assert finding["status"] == "closed" and [ca["status"] for ca in finding["corrective_actions"]] == [
        "rejected", "accepted"]
    twice = review(api, file, finding_id, again["corrective_action_id"], "accepted")
    assert twice.status_code == 409 and _slug(twice) == "invalid-transition"
    # The closure reached decisions by the usual path: the major no longer blocks a grant (R4).
    file.ok(file.report())
    assert file.decide("grant").status_code == 201


# -- R36 ---------------------------------------------------------------------------------------------


def test_r36_an_overdue_finding_is_on_the_worklist_until_an_action_is_accepted(api, hallmark):
    due = today()
    file, finding_id = with_finding(api, due=due.isoformat())
    assert [i for i in file.ok(api.get("/v1/worklist", *File.ADMIN))["items"] if i["finding_id"] == finding_id] == []
    try:
        hallmark.clock.fixed_today = due + timedelta(days=3)
        (item,) = [i for i in file.ok(api.get("/v1/worklist", *File.OFFICER))["items"] if i["finding_id"] == finding_id]
        assert item == {"kind": "overdue_corrective_action", "audit_id": file.audit_id, "finding_id": finding_id,
                        "severity": "major", "requirement": "PTV 21-601 §5.2", "due": due.isoformat(),
                        "days_overdue": 3, "awaiting_review": False, "application_id": file.application_id,
                        "certificate_number": None}
        late = file.ok(submit(api, file, finding_id), 201)  # received late, marked so
        assert late["finding"]["corrective_actions"][0]["late"] is True
        file.ok(review(api, file, finding_id, late["corrective_action_id"], "accepted"))
        assert [i for i in file.ok(api.get("/v1/worklist", *File.ADMIN))["items"] if i["finding_id"] == finding_id] == []
    finally:
        hallmark.clock.fixed_today = None
    assert api.get("/v1/worklist", *HOLDER_STAFF, organisation=HOLDER).status_code == 403


# -- R37 ---------------------------------------------------------------------------------------------


def test_r37_the_holder_comments_within_five_working_days_then_the_report_is_final(api, hallmark):
    file, _ = with_finding(api)
    not_yet = api.post(f"/v1/audits/{file.audit_id}/report/comments", {"comment": "Early"}, *HOLDER_STAFF,
                       organisation=HOLDER)
    assert not_yet.status_code == 409 and _slug(not_yet) == "invalid-transition"
    file.ok(file.report(conclusion="nonconforming"))
    report = file.ok(audit(api, file, HOLDER_STAFF, organisation=HOLDER))["report"]
    until = comments_until(today())
    assert report["comments_until"] == until.isoformat() and report["final"] is False
    other = api.post(f"/v1/audits/{file.audit_id}/report/comments", {"comment": "Not ours"}, *HOLDER_STAFF,
                     organisation="BE0999888777")
    assert other.status_code == 403
    assert api.post(f"/v1/audits/{file.audit_id}/report/comments", {"comment": ""}, *HOLDER_STAFF,
                    organisation=HOLDER).status_code == 422
    try:
        hallmark.clock.fixed_today = until
        commented = file.ok(api.post(f"/v1/audits/{file.audit_id}/report/comments",
                                     {"comment": "Batch 42 was a trial batch."}, *HOLDER_STAFF, organisation=HOLDER), 201)
        assert commented["report"]["comments"][0]["comment"] == "Batch 42 was a trial batch."
        hallmark.clock.fixed_today = until + timedelta(days=1)
        final = api.post(f"/v1/audits/{file.audit_id}/report/comments", {"comment": "Too late"}, *HOLDER_STAFF,
                         organisation=HOLDER)
        assert final.status_code == 409 and _slug(final) == "invalid-transition"
        assert final.json()["comments_until"] == until.isoformat()
        report = file.ok(audit(api, file, HOLDER_STAFF, organisation=HOLDER))["report"]
        assert report["final"] is True and len(report["comments"]) == 1
    finally:
        hallmark.clock.fixed_today = None


# -- R2 with the current consultancy declaration -------------------------------------------------------


def test_r2_audits_uses_the_holders_current_consultancy_declaration(api):
    file = File(api).planned()
    declared = api.post(f"/v1/applications/{file.application_id}/consultancy", {"consultancy": [
        {"person": "Ann Auditor", "organisation": "QualiConsult BV", "until": None}]}, *HOLDER_STAFF,
        organisation=HOLDER)
    assert declared.status_code == 200, declared.text
    refused = file.team("Ann Auditor", "auditor")
    assert refused.status_code == 409 and _slug(refused) == "conflict-of-interest"
    assert file.team("Carla Consult", "auditor").status_code == 200  # no longer declared
