"""The holder's side over HTTP, on SQLite and PostgreSQL: R18 (the holder's organisation), R19 (the
certification agreement), the consultancy declaration kept current, R20 and R21 (the holder's requests,
the applications officer's worklist), and the holder's dossier (R22: no declarations, no complaints)."""

from __future__ import annotations

import io

from tests.support import Api, File, application_body, today

ORG = "BE0123456789"  # application_body's holder
OTHER = "BE0999999999"
BEA = ("Bea Betonwerk", "applicant")  # the holder's staff: submits
KOEN = ("Koen Collega", "applicant")  # the holder's staff: did not submit
OFFICER = File.OFFICER


def problem(response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    if slug:
        assert body["type"].endswith(slug), body
    return body


def submitted(api: Api) -> tuple[File, str]:
    file = File(api)
    file.create_scheme()
    answer = api.post("/v1/applications", application_body(file.scheme), *BEA, organisation=ORG)
    assert answer.status_code == 201, answer.text
    file.application_id = answer.json()["id"]
    return file, file.application_id


def granted(api: Api) -> File:
    file = File(api).granted()
    assert file.certificate
    return file


# -- R18 -------------------------------------------------------------------------------------------------


def test_r18_the_holders_staff_see_and_act_on_their_organisations_applications(api):
    file, app_id = submitted(api)
    seen = api.get(f"/v1/applications/{app_id}", *KOEN, organisation=ORG)
    assert seen.status_code == 200 and seen.json()["submitted_by"] == BEA[0]
    listed = api.get("/v1/applications", *KOEN, organisation=ORG).json()
    assert app_id in [a["id"] for a in listed["items"]]
    staff = api.get("/v1/applications", *OFFICER, registration_number=ORG).json()
    assert app_id in [a["id"] for a in staff["items"]]
    withdrawn = api.post(f"/v1/applications/{app_id}/withdraw", {"reason": "plant sold"}, *KOEN, organisation=ORG)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


def test_r18_another_holder_and_a_colleague_without_the_claim_are_refused(api):
    file, app_id = submitted(api)
    problem(api.get(f"/v1/applications/{app_id}", *KOEN, organisation=OTHER), 403, "forbidden")
    problem(api.get(f"/v1/applications/{app_id}", *KOEN), 403, "forbidden")
    assert api.get(f"/v1/applications/{app_id}", *BEA).status_code == 200  # without the claim: the submitter
    assert app_id not in [a["id"] for a in api.get("/v1/applications", *KOEN, organisation=OTHER).json()["items"]]
    problem(api.post(f"/v1/applications/{app_id}/withdraw", {"reason": "x"}, *KOEN, organisation=OTHER), 403)
    assert api.get(f"/v1/applications/{app_id}", *OFFICER).json()["status"] == "submitted"
    foreign = api.post("/v1/applications", application_body(file.scheme), *KOEN, organisation=OTHER)
    problem(foreign, 403, "forbidden")


def test_the_applications_list_pages(api):
    file, first = submitted(api)
    second = api.post("/v1/applications", application_body(file.scheme), *KOEN, organisation=ORG).json()["id"]
    page = api.get("/v1/applications", *KOEN, organisation=ORG, limit=1).json()
    assert page["next_cursor"]
    rest = api.get("/v1/applications", *KOEN, organisation=ORG, limit=200, cursor=page["next_cursor"]).json()
    ids = [a["id"] for a in page["items"] + rest["items"]]
    assert ids.index(first) < ids.index(second)
    problem(api.get("/v1/applications", *KOEN, organisation=ORG, cursor="bm9wZQ"), 422)


# -- R19 -------------------------------------------------------------------------------------------------


def test_r19_the_agreement_with_the_submission_and_new_versions_later(api):
    file, app_id = submitted(api)
    application = api.get(f"/v1/applications/{app_id}", *OFFICER).json()
    assert application["agreement"] == {"conditions_version": "2026-01", "licence_version": "2026-01",
                                        "accepted_on": today().isoformat()}
    accepted = api.post(f"/v1/applications/{app_id}/agreement",
                        {"conditions_version": "2026-07", "licence_version": "2026-01"}, *KOEN, organisation=ORG)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["agreement"]["conditions_version"] == "2026-07"
    trail = api.get("/v1/audit-trail", "Asha", "assessor", application_id=app_id).json()["entries"]
    (entry,) = [e for e in trail if e["type"] == "Application.AgreementAccepted"]
    assert entry["actor"] == KOEN[0] and entry["data"]["accepted_on"] == today().isoformat()


def test_r19_the_same_versions_twice_are_a_duplicate(api):
    file, app_id = submitted(api)
    again = api.post(f"/v1/applications/{app_id}/agreement",
                     {"conditions_version": "2026-01", "licence_version": "2026-01"}, *KOEN, organisation=ORG)
    problem(again, 409, "duplicate")
    problem(api.post(f"/v1/applications/{app_id}/agreement", {"conditions_version": "2026-09",
                                                              "licence_version": "2026-09"}, *KOEN, organisation=OTHER),
            403, "forbidden")
    problem(api.post(f"/v1/applications/{app_id}/agreement", {"conditions_version": "2026-09"}, *KOEN,
                     organisation=ORG), 422)
    problem(api.post(f"/v1/applications/{app_id}/agreement", {"conditions_version": "2026-09",
                                                              "licence_version": "2026-09"}, *OFFICER), 403)
    assert len(api.get(f"/v1/applications/{app_id}", *OFFICER).json()["agreements"]) == 1


def test_an_application_without_agreement_accepts_it_later(api):
    file = File(api)
    file.create_scheme()
    body = application_body(file.scheme)
    del body["agreement"]
    app_id = api.post("/v1/applications", body, *BEA, organisation=ORG).json()["id"]
    assert api.get(f"/v1/applications/{app_id}", *OFFICER).json()["agreement"] is None
    accepted = api.post(f"/v1/applications/{app_id}/agreement",
                        {"conditions_version": "2026-01", "licence_version": "2026-01"}, *BEA, organisation=ORG)
    assert accepted.status_code == 200 and accepted.json()["agreement"]["accepted_on"] == today().isoformat()


# -- the consultancy declaration, kept current ------------------------------------------------------------


def test_the_holder_keeps_its_consultancy_declaration_current(api):
    file, app_id = submitted(api)
    current = [{"person": "Nina New", "organisation": "Advies BV", "until": None}]
    answer = api.post(f"/v1/applications/{app_id}/consultancy", {"consultancy": current}, *KOEN, organisation=ORG)
    assert answer.status_code == 200, answer.text
    assert answer.json()["consultancy"] == current
    problem(api.post(f"/v1/applications/{app_id}/consultancy", {"consultancy": current}, *KOEN, organisation=OTHER),
            403, "forbidden")
    problem(api.post(f"/v1/applications/{app_id}/consultancy", {"consultancy": [{"until": None}]}, *KOEN,
                     organisation=ORG), 422)
    assert api.get(f"/v1/applications/{app_id}", *OFFICER).json()["consultancy"] == current


# -- R20, R21: the holder's requests -------------------------------------------------------------------------


def test_r20_a_termination_request_reaches_the_officer_and_a_decision_closes_it(api):
    file = granted(api)
    asked = api.post(f"/v1/applications/{file.application_id}/requests",
                     {"kind": "terminate", "reason": "production stops"}, *KOEN, organisation=ORG)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["kind"], request["certificate_number"], request["status"]) == \
        ("terminate", file.certificate, "open")
    worklist = api.get("/v1/requests", *OFFICER, status="open").json()["items"]
    assert request["request_id"] in [r["request_id"] for r in worklist]
    problem(api.get("/v1/requests", *KOEN, organisation=ORG), 403)

    file.ok(file.decide("terminate"), 201)
    assert request["request_id"] not in [r["request_id"] for r in
                                         api.get("/v1/requests", *OFFICER, status="open").json()["items"]]
    (decided,) = [r for r in api.get("/v1/requests", *OFFICER, status="decided").json()["items"]
                  if r["request_id"] == request["request_id"]]
    assert decided["decision"]["outcome"] == "terminate"


def test_r20_a_request_on_a_file_without_certificate_is_refused(api):
    file, app_id = submitted(api)
    problem(api.post(f"/v1/applications/{app_id}/requests", {"kind": "terminate", "reason": "r"}, *KOEN,
                     organisation=ORG), 409, "invalid-transition")
    assert api.get("/v1/applications/" + app_id, *OFFICER).json()["requests"] == []


def test_r21_a_reduction_names_certified_products_and_an_extension_new_ones(api):
    file = granted(api)
    path = f"/v1/applications/{file.application_id}/requests"
    problem(api.post(path, {"kind": "reduce_scope", "products": [{"name": "Unknown", "type": "kerb"}],
                            "reason": "r"}, *KOEN, organisation=ORG), 422, "invalid-command")
    problem(api.post(path, {"kind": "extend_scope", "products": [{"name": "Kerb KB 100", "type": "kerb"}],
                            "reason": "r"}, *KOEN, organisation=ORG), 422, "invalid-command")
    problem(api.post(path, {"kind": "grow", "reason": "r"}, *KOEN, organisation=ORG), 422)
    extension = api.post(path, {"kind": "extend_scope", "products": [{"name": "Kerb KB 150", "type": "kerb"}],
                                "reason": "new line"}, *KOEN, organisation=ORG)
    assert extension.status_code == 201, extension.text
    assert [r["kind"] for r in api.get(f"/v1/applications/{file.application_id}", *OFFICER).json()["requests"]] == \
        ["extend_scope"]


# -- the holder's dossier --------------------------------------------------------------------------------------


def test_the_holders_dossier_shows_the_file_without_declarations(api):
    file = granted(api)
    file.ok(file.api.post("/v1/applications/" + file.application_id + "/requests",
                          {"kind": "terminate", "reason": "stop"}, *KOEN, organisation=ORG), 201)
    listed = api.get("/v1/holder/files", *KOEN, organisation=ORG).json()["items"]
    (summary,) = [f for f in listed if f["application_id"] == file.application_id]
    assert summary["status"] == "granted" and summary["certificates"][0]["number"] == file.certificate
    assert summary["open_requests"] == 1

    dossier = api.get(f"/v1/holder/files/{file.application_id}", *KOEN, organisation=ORG)
    assert dossier.status_code == 200, dossier.text
    body = dossier.json()
    assert body["application"]["agreement"]["conditions_version"] == "2026-01"
    (audit,) = body["audits"]
    assert audit["team"][0]["person"] == "Luc Lead" and audit["report"]["conformity_statement"] == "conforming"
    assert '"declaration"' not in dossier.text and '"independent"' not in dossier.text  # R22
    assert [d["outcome"] for d in body["decisions"]] == ["grant"]
    (certificate,) = body["certificates"]
    assert certificate["status"] == "active" and certificate["valid_until"]
    assert body["timeline"][0]["type"] == "Application.Submitted"
    assert api.get(f"/v1/holder/files/{file.application_id}", *OFFICER).status_code == 200


def test_the_holders_dossier_is_the_holders_own(api):
    file = granted(api)
    problem(api.get(f"/v1/holder/files/{file.application_id}", *KOEN, organisation=OTHER), 403, "forbidden")
    problem(api.get(f"/v1/holder/files/{file.application_id}", *KOEN), 403, "forbidden")
    problem(api.get("/v1/holder/files", *KOEN), 403, "forbidden")
    assert api.get("/v1/holder/files", *KOEN, organisation=OTHER).json()["items"] == []
    problem(api.get("/v1/holder/files/not-a-file", *OFFICER), 404)
    problem(api.get("/v1/holder/files", *OFFICER, cursor="bm9wZQ"), 422)


def test_the_holders_dossier_is_rebuilt_the_same(api, hallmark):
    from services.rebuild import rebuild

    file = granted(api)
    before = api.get(f"/v1/holder/files/{file.application_id}", *OFFICER).json()
    rebuild(hallmark, "holder", out=io.StringIO())
    assert api.get(f"/v1/holder/files/{file.application_id}", *OFFICER).json() == before
