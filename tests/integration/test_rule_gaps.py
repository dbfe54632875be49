"""Rule gaps found by trying to break Hallmark: each refused through the API, and nothing recorded."""

from __future__ import annotations

from tests.support import File


def _slug(response) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


def _count(hallmark, service: str) -> int:
    return getattr(hallmark, service).recorder.max_notification_id() or 0


def _suspended_under_appeal(api) -> tuple[File, dict, dict]:
    file = File(api).granted()
    suspended = file.ok(file.decide("suspend"), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *File.APPLICANT), 201)
    return file, suspended, appeal


def test_a_decision_is_appealed_once(api, hallmark):
    file, suspended, first = _suspended_under_appeal(api)
    before = _count(hallmark, "decisions")
    second = api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                      "grounds": "Once more"}, *File.APPLICANT)
    assert second.status_code == 409 and _slug(second) == "duplicate"
    assert second.json()["appeal_id"] == first["id"]
    assert _count(hallmark, "decisions") == before


def test_the_holders_own_people_do_not_sit_on_the_committee_of_their_appeal(api, hallmark):
    file, _, appeal = _suspended_under_appeal(api)
    before = _count(hallmark, "decisions")
    for member in ("Betonwerk Noord", "betonwerk\u00a0noord", "Betonwerk Noord NV"):  # submitter, lodger, appellant
        refused = api.post(f"/v1/appeals/{appeal['id']}/decide", {
            "committee": ["Paula Public", member], "outcome": "upheld", "rationale": "r"}, *File.ADMIN)
        assert refused.status_code == 409 and _slug(refused) == "conflict-of-interest", (member, refused.text)
    assert _count(hallmark, "decisions") == before
    file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {
        "committee": ["Paula Public", "Uma User"], "outcome": "dismissed", "rationale": "r"}, *File.ADMIN))


def test_an_unknown_certificate_is_not_found_once_the_registry_is_current(api, hallmark):
    file = File(api).granted()
    before = _count(hallmark, "decisions")
    unknown = api.post("/v1/decisions", {"subject": {"certificate_number": "BENOR-99999"}, "outcome": "suspend",
                                         "basis": [], "rationale": "r"}, *File.DECIDER)
    assert unknown.status_code == 404 and "BENOR-99999" in unknown.json()["detail"]
    assert "Retry-After" not in unknown.headers
    assert _count(hallmark, "decisions") == before
    assert file.decide("suspend").status_code == 201


def test_a_report_does_not_state_conformity_over_an_open_major(api, hallmark):
    file = File(api).planned()
    major = file.ok(file.finding("major"), 201)["finding_id"]
    before = _count(hallmark, "audits")
    refused = file.report(conclusion="conforming")
    assert refused.status_code == 409 and _slug(refused) == "open-major-nonconformity"
    assert refused.json()["open_findings"] == [major]
    assert _count(hallmark, "audits") == before
    file.ok(file.report(conclusion="nonconforming"))


def test_a_reduced_scope_shows_only_the_products_that_remain(api):
    file = File(api)
    file.create_scheme()
    file.submit(products=[{"name": "Kerb KB 100", "type": "kerb"}, {"name": "Gutter GT 30", "type": "gutter"}])
    file.accept()
    file.plan()
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    file.certificate = api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id).json()["items"][0]["number"]
    hits = api.get("/public/v1/certificates", q="Gutter GT 30").json()["items"]
    assert file.certificate in [c["number"] for c in hits]
    missing = file.decide("reduce_scope", scope="Kerbs only")
    assert missing.status_code == 422 and "products" in missing.json()["detail"]
    foreign = file.decide("reduce_scope", scope="Kerbs only", products=[{"name": "Paver PV 8", "type": "paver"}])
    assert foreign.status_code == 422
    file.ok(file.decide("reduce_scope", scope="Kerbs only", products=[{"name": "Kerb KB 100", "type": "kerb"}]), 201)
    public = api.get(f"/public/v1/certificates/{file.certificate}").json()
    assert [p["name"] for p in public["products"]] == ["Kerb KB 100"]
    assert public["scope"] == "Kerbs only"
    hits = api.get("/public/v1/certificates", q="Gutter GT 30").json()["items"]
    assert file.certificate not in [c["number"] for c in hits]


def test_restoration_rests_on_a_verification_after_the_suspension(api):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    stale = file.decide("restore")  # the initial audit predates the suspension
    assert stale.status_code == 422 and "after" in stale.json()["detail"]
    file.plan(kind="special", certificate_number=file.certificate)
    file.ok(file.team("Ann Auditor", "lead_auditor"))
    file.ok(file.report(by=File.AUDITOR))
    file.ok(file.decide("restore"), 201)
