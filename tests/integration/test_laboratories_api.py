"""Samples and laboratories through HTTP, on SQLite and PostgreSQL: R30 (a team member samples a product
of the file before the report), R31 (a laboratory sees and reports on its own samples only), R32
(immutable results, corrections, the same result posted again), R33 (a finding on a result), and the
report's subcontracted results."""

from __future__ import annotations

from tests.support import TODAY, File

LAB = "LAB-0042"
LAB_STAFF = ("Lars Laborant", "laboratory")


def _slug(response) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


def sample_body(**overrides):
    return {"product": "Kerb KB 100", "batch": "B-2026-0413", "seal_number": "S-000123",
            "taken_on": TODAY.isoformat(), "laboratory": LAB, **overrides}


def result_body(**overrides):
    return {"method": "EN 1340 annex F", "clause": "PTV 21-601 §5.3",
            "values": [{"quantity": "bending strength", "value": 3.1, "unit": "MPa"}],
            "conformity": "nonconforming", "accreditation": "BELAC 123-TEST", **overrides}


def sampled(api) -> tuple[File, dict]:
    file = File(api).planned()
    sample = file.ok(api.post(f"/v1/audits/{file.audit_id}/samples", sample_body(), *File.LEAD), 201)
    return file, sample


def version(api, file: File) -> int:
    return file.ok(api.get(f"/v1/audits/{file.audit_id}", *File.ADMIN))["version"]


def post_result(api, sample_id: str, laboratory: str = LAB, **overrides):
    return api.post(f"/v1/samples/{sample_id}/results", result_body(**overrides), *LAB_STAFF, organisation=laboratory)


# -- R30 ---------------------------------------------------------------------------------------------


def test_r30_a_team_member_samples_a_product_of_the_file(api):
    file, sample = sampled(api)
    assert sample["product"] == "Kerb KB 100" and sample["laboratory"] == LAB and sample["results"] == []
    audit = file.ok(api.get(f"/v1/audits/{file.audit_id}", *File.ADMIN))
    assert [s["sample_id"] for s in audit["samples"]] == [sample["sample_id"]]


def test_r30_refused_outside_the_team_for_another_product_or_after_the_report(api):
    file = File(api).planned()
    before = version(api, file)
    outsider = api.post(f"/v1/audits/{file.audit_id}/samples", sample_body(), "Otto Other", "auditor")
    assert outsider.status_code == 403 and _slug(outsider) == "forbidden"
    other_product = api.post(f"/v1/audits/{file.audit_id}/samples", sample_body(product="Paver PV 80"), *File.LEAD)
    assert other_product.status_code == 422 and _slug(other_product) == "invalid-command"
    malformed = api.post(f"/v1/audits/{file.audit_id}/samples", {**sample_body(), "laboratory": ""}, *File.LEAD)
    assert malformed.status_code == 422 and "laboratory" in malformed.text
    assert version(api, file) == before  # nothing recorded
    file.ok(file.report())
    late = api.post(f"/v1/audits/{file.audit_id}/samples", sample_body(), *File.LEAD)
    assert late.status_code == 409 and _slug(late) == "invalid-transition"


# -- R31 ---------------------------------------------------------------------------------------------


def test_r31_a_laboratory_sees_only_its_samples(api):
    file, sample = sampled(api)
    second = file.ok(api.post(f"/v1/audits/{file.audit_id}/samples", sample_body(seal_number="S-000124"),
                              *File.LEAD), 201)
    other = file.ok(api.post(f"/v1/audits/{file.audit_id}/samples",
                             sample_body(seal_number="S-000125", laboratory="LAB-0099"), *File.LEAD), 201)
    mine = file.ok(api.get("/v1/laboratory/samples", *LAB_STAFF, organisation=LAB))
    assert {s["sample_id"] for s in mine["items"]} == {sample["sample_id"], second["sample_id"]}
    first_page = file.ok(api.get("/v1/laboratory/samples", *LAB_STAFF, organisation=LAB, limit=1))
    assert len(first_page["items"]) == 1 and first_page["next_cursor"]
    rest = file.ok(api.get("/v1/laboratory/samples", *LAB_STAFF, organisation=LAB, limit=1,
                           cursor=first_page["next_cursor"]))
    assert {first_page["items"][0]["sample_id"], rest["items"][0]["sample_id"]} == {s["sample_id"] for s in mine["items"]}
    assert rest["next_cursor"] is None
    theirs = file.ok(api.get("/v1/laboratory/samples", *LAB_STAFF, organisation="LAB-0099"))
    assert [s["sample_id"] for s in theirs["items"]] == [other["sample_id"]]

    assert file.ok(api.get(f"/v1/samples/{sample['sample_id']}", *LAB_STAFF, organisation=LAB))["seal_number"] == "S-000123"
    hidden = api.get(f"/v1/samples/{sample['sample_id']}", *LAB_STAFF, organisation="LAB-0099")
    assert hidden.status_code == 403 and _slug(hidden) == "forbidden"
    assert api.get(f"/v1/samples/{sample['sample_id']}", *LAB_STAFF).status_code == 403  # no laboratory named
    assert api.get("/v1/samples/no-such-sample", *LAB_STAFF, organisation=LAB).status_code == 404
    assert api.get(f"/v1/samples/{sample['sample_id']}", *File.AUDITOR).status_code == 200  # the body's staff
    assert api.get("/v1/laboratory/samples", *File.AUDITOR).status_code == 403  # the laboratories' list is theirs
    assert api.get(f"/v1/audits/{file.audit_id}", *LAB_STAFF, organisation=LAB).status_code == 403


def test_r31_only_the_assigned_laboratory_posts_results(api):
    file, sample = sampled(api)
    refused = post_result(api, sample["sample_id"], laboratory="LAB-0099")
    assert refused.status_code == 403 and _slug(refused) == "forbidden"
    assert api.post(f"/v1/samples/{sample['sample_id']}/results", result_body(), *File.LEAD).status_code == 403
    assert file.ok(post_result(api, sample["sample_id"]), 201)["laboratory"] == LAB


# -- R32 ---------------------------------------------------------------------------------------------


def test_r32_results_are_immutable_corrections_and_repeats(api):
    file, sample = sampled(api)
    first = file.ok(post_result(api, sample["sample_id"]), 201)
    assert first["subcontracted"] is True and first["accreditation"] == "BELAC 123-TEST"
    before = version(api, file)
    again = post_result(api, sample["sample_id"])  # no Idempotency-Key: the same content is the same result
    assert again.status_code == 200 and again.json() == first
    assert version(api, file) == before
    different = post_result(api, sample["sample_id"], conformity="conforming")
    assert different.status_code == 409 and _slug(different) == "duplicate"
    unknown = post_result(api, sample["sample_id"], corrects="8d3d9f8e-0000-4000-8000-000000000000")
    assert unknown.status_code == 422 and _slug(unknown) == "invalid-command"
    assert version(api, file) == before
    correction = file.ok(post_result(api, sample["sample_id"], conformity="conforming", corrects=first["result_id"],
                                     values=[{"quantity": "bending strength", "value": 3.8, "unit": "MPa"}]), 201)
    read = file.ok(api.get(f"/v1/samples/{sample['sample_id']}", *LAB_STAFF, organisation=LAB))
    assert read["current_result"] == correction["result_id"]
    assert read["results"][0]["corrected_by"] == correction["result_id"]
    assert read["results"][0]["conformity"] == "nonconforming"  # kept as it was
    twice = post_result(api, sample["sample_id"], method="EN 1340 annex F (repeat)", corrects=first["result_id"])
    assert twice.status_code == 409 and _slug(twice) == "invalid-transition"


def test_r32_bad_results_are_422_and_change_nothing(api):
    file, sample = sampled(api)
    before = version(api, file)
    for body in (result_body(values=[]), result_body(conformity="fine"),
                 result_body(values=[{"quantity": "x", "value": "NaN", "unit": "MPa"}]),
                 {**result_body(), "extra": 1}):
        response = api.post(f"/v1/samples/{sample['sample_id']}/results", body, *LAB_STAFF, organisation=LAB)
        assert response.status_code == 422, body
    assert version(api, file) == before


# -- R33 and the report ---------------------------------------------------------------------------------


def test_r33_a_finding_on_a_current_nonconforming_result_and_the_subcontracted_report(api):
    file, sample = sampled(api)
    conforming = file.ok(post_result(api, sample["sample_id"], conformity="conforming"), 201)
    finding = {"severity": "major", "requirement": "PTV 21-601 §5.3", "description": "Bending strength below 3.5 MPa"}
    refused = api.post(f"/v1/audits/{file.audit_id}/findings", {**finding, "sample_result": conforming["result_id"]},
                       *File.LEAD)
    assert refused.status_code == 422 and _slug(refused) == "invalid-command"
    current = file.ok(post_result(api, sample["sample_id"], corrects=conforming["result_id"]), 201)  # nonconforming
    superseded = api.post(f"/v1/audits/{file.audit_id}/findings",
                          {**finding, "sample_result": conforming["result_id"]}, *File.LEAD)
    assert superseded.status_code == 409 and _slug(superseded) == "invalid-transition"
    recorded = file.ok(api.post(f"/v1/audits/{file.audit_id}/findings",
                                {**finding, "sample_result": current["result_id"]}, *File.LEAD), 201)
    file.ok(file.report(conclusion="nonconforming"))
    audit = file.ok(api.get(f"/v1/audits/{file.audit_id}", *File.ADMIN))
    (finding_read,) = audit["findings"]
    assert finding_read["finding_id"] == recorded["finding_id"] and finding_read["sample_result"] == current["result_id"]
    (line,) = audit["report"]["laboratory_results"]
    assert line["result_id"] == current["result_id"]
    assert (line["subcontracted"], line["laboratory"], line["accreditation"]) == (True, LAB, "BELAC 123-TEST")
