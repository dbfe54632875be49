"""System certification to ISO/IEC 17021-1 (the SKAO CO2 Performance Ladder) through the HTTP API, on both stores:
the catalogue's scheme types, a system scheme's cycle, surveillance and levels (R60), an organisation's application
with no products (R61), stage 1 and stage 2 audits (R62), the stage 2 report's level and the grant resting on it
(R63), and the level on the certificate, its public lookup, directory page and document (R64). A refusal answers a
problem and records nothing."""

from __future__ import annotations

from typing import Any

import pytest

from services.audits.domain import AuditedFile
from shared.domain import add_months
from shared.errors import NotYetKnown
from tests.support import File, problem, scheme_body, today

LADDER = [1, 2, 3, 4, 5]
SITES = "Head office Kaai 1, 2000 Antwerpen; yard Industrieweg 5, 9060 Zelzate; all projects executed from them"


def ladder_body(**overrides: Any) -> dict[str, Any]:
    return scheme_body(**{"mark": "COPRO", "title": "CO2 Performance Ladder", "certification_type": "system",
                          "validity_months": 36, "surveillance_months": 12, "admission_months": 0,
                          "levels": LADDER, **overrides})


class SystemFile(File):
    """A file under a CO2 Performance Ladder scheme: an organisation, its sites in the scope, no products."""

    def create_scheme(self, **overrides: Any) -> dict[str, Any]:
        body = self.ok(self.api.post("/v1/schemes", ladder_body(**overrides), *self.ADMIN), 201)
        self.scheme = body["code"]
        return body

    def submit(self, **overrides: Any) -> dict[str, Any]:
        return super().submit(**{"products": [], "scope": SITES, **overrides})

    def stage(self, kind: str, level: int | None = None, conclusion: str = "conforming") -> str:
        """A stage audit planned, led by Luc Lead and reported (stating ``level`` when given)."""
        self.plan(kind, application_id=self.application_id)
        self.ok(self.team(*self.LEAD[:1], "lead_auditor"))
        self.ok(self.report_level(level, conclusion))
        assert self.audit_id is not None
        return self.audit_id

    def report_level(self, level: int | None, conclusion: str = "conforming"):
        body = {"conclusion": conclusion, "recommendation": "grant", "summary": "CO2 management system in place",
                **({"level_assessed": level} if level is not None else {})}
        return self.api.post(f"/v1/audits/{self.audit_id}/report", body, *self.LEAD)

    def staged(self, level: int = 3) -> tuple[str, str]:
        self.create_scheme()
        self.submit()
        self.accept()
        return self.stage("stage1"), self.stage("stage2", level)

    def grant(self, basis: list[str], level: int | None):
        return self.decide("grant", basis=basis, **({"level": level} if level is not None else {}))


def certified(api, level: int = 3, assessed: int = 3) -> SystemFile:
    file = SystemFile(api)
    stage1, stage2 = file.staged(assessed)
    file.ok(file.grant([stage1, stage2], level), 201)
    items = file.ok(api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id))["items"]
    file.certificate = items[0]["number"]
    return file


# -- the catalogue -------------------------------------------------------------------------------------------


def test_the_catalogue_carries_the_scheme_types_as_data(api):
    catalogue = File(api).ok(api.get("/v1/catalogue", *File.ADMIN))
    assert set(catalogue["scheme_types"]) == set(catalogue["certification_types"])
    system = catalogue["scheme_types"]["system"]
    assert (system["subject"], system["initial_audits"], system["cycle_months"], system["surveillance_months"]) == (
        "organisation", ["stage1", "stage2"], 36, 12)
    assert catalogue["marks"] and catalogue["document_kinds"]  # the existing keys keep their shape


# -- R60 -----------------------------------------------------------------------------------------------------


def test_r60_a_system_scheme_is_registered_with_its_cycle_surveillance_and_levels(api):
    file = SystemFile(api)
    scheme = file.create_scheme()
    assert scheme["levels"] == LADDER and scheme["scheme_type"]["grant_audit"] == "stage2"
    assert file.ok(api.get(f"/v1/schemes/{file.scheme}", *File.ADMIN))["levels"] == LADDER


def test_r60_a_system_scheme_off_its_cycle_surveillance_or_levels_is_refused(api):
    for overrides, field in (({"validity_months": 24}, "validity_months"),
                             ({"surveillance_months": 18}, "surveillance_months"),
                             ({"levels": None}, "levels"), ({"levels": [3, 2, 1]}, "levels")):
        body = ladder_body(**overrides)
        refused = problem(api.post("/v1/schemes", body, *File.ADMIN), 422, "invalid-command")
        assert "R60" in refused["detail"] and refused["field"] == field
        problem(api.get(f"/v1/schemes/{body['code']}", *File.ADMIN), 404, "not-found")  # nothing recorded
    body = scheme_body(levels=[1, 2])  # a product scheme has no levels
    assert "R60" in problem(api.post("/v1/schemes", body, *File.ADMIN), 422, "invalid-command")["detail"]


# -- R61 -----------------------------------------------------------------------------------------------------


def test_r61_an_organisation_applies_with_its_sites_in_the_scope_and_no_products(api):
    file = SystemFile(api)
    file.create_scheme()
    application = file.submit()
    assert application["products"] == [] and application["scope"] == SITES


def test_r61_a_system_application_naming_products_or_a_product_application_naming_none_is_refused(api):
    file = SystemFile(api)
    file.create_scheme()
    body = {"scheme": file.scheme, "applicant": {"name": "Bouw NV", "registration_number": "BE0123456789",
                                                 "address": "Kaai 1, 2000 Antwerpen"},
            "production_unit": {"name": "Head office", "address": "Kaai 1, 2000 Antwerpen"},
            "products": [{"name": "Kerb KB 100", "type": "kerb"}], "scope": SITES}
    refused = problem(api.post("/v1/applications", body, *File.APPLICANT), 422, "invalid-command")
    assert "R61" in refused["detail"] and refused["field"] == "products"
    product = File(api)
    product.create_scheme()
    problem(api.post("/v1/applications", {**body, "scheme": product.scheme, "products": []}, *File.APPLICANT),
            422, "invalid-command")
    listed = file.ok(api.get("/v1/applications", *File.ADMIN, registration_number="BE0123456789"))["items"]
    assert not [a for a in listed if a["scheme"] in (file.scheme, product.scheme)]  # nothing recorded


# -- R62 -----------------------------------------------------------------------------------------------------


def test_r62_stage_2_follows_a_reported_stage_1_of_the_same_file(api):
    file = SystemFile(api)
    stage1, stage2 = file.staged()
    assert file.ok(api.get(f"/v1/audits/{stage2}", *File.ADMIN))["kind"] == "stage2"
    assert file.ok(api.get(f"/v1/audits/{stage1}", *File.ADMIN))["status"] == "reported"


def test_r62_stage_2_before_stage_1_is_reported_and_audits_of_another_type_are_refused(api):
    file = SystemFile(api)
    file.create_scheme()
    file.submit()
    file.accept()
    body = {"application_id": file.application_id, "planned_start": today().isoformat()}
    assert "R62" in problem(api.post("/v1/audits", {**body, "kind": "stage2"}, *File.LEAD), 409,
                            "invalid-transition")["detail"]
    file.plan("stage1", application_id=file.application_id)  # planned, not reported
    problem(api.post("/v1/audits", {**body, "kind": "stage2"}, *File.LEAD), 409, "invalid-transition")
    refused = problem(api.post("/v1/audits", {**body, "kind": "initial"}, *File.LEAD), 422, "invalid-command")
    assert "R62" in refused["detail"] and refused["field"] == "kind"
    product = File(api)
    product.create_scheme()
    product.submit()
    product.accept()
    problem(api.post("/v1/audits", {"application_id": product.application_id, "planned_start": today().isoformat(),
                                    "kind": "stage1"}, *File.LEAD), 422, "invalid-command")


# -- R63 -----------------------------------------------------------------------------------------------------


def test_r63_the_stage_2_report_states_the_level_and_the_grant_rests_on_it(api):
    file = certified(api, level=2, assessed=3)
    stage2 = file.audit_id
    assert file.ok(api.get(f"/v1/audits/{stage2}", *File.ADMIN))["report"]["level_assessed"] == 3
    decisions = file.ok(api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))["history"]
    decision = file.ok(api.get(f"/v1/decisions/{decisions[0]['decision_id']}", *File.ADMIN))
    assert decision["level"] == 2 and decision["basis"][-1] == stage2


def test_r63_a_stage_2_report_without_its_level_is_refused(api):
    file = SystemFile(api)
    file.create_scheme()
    file.submit()
    file.accept()
    file.stage("stage1")
    file.plan("stage2", application_id=file.application_id)
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    assert "R63" in problem(file.report_level(None), 422, "invalid-command")["detail"]
    problem(file.report_level(6), 422, "invalid-command")
    assert file.ok(api.get(f"/v1/audits/{file.audit_id}", *File.ADMIN))["status"] == "planned"


def test_r63_a_grant_without_a_conforming_stage_2_or_above_the_level_assessed_is_refused(api):
    file = SystemFile(api)
    stage1, stage2 = file.staged(level=3)
    for basis, level in (([stage1], 3), ([stage1, stage2], 4), ([stage1, stage2], None), ([stage2], 7)):
        refused = problem(file.grant(basis, level), 422, "invalid-command")
        assert "R63" in refused["detail"]
    assert file.ok(api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id))["items"] == []


def test_r63_an_open_minor_nonconformity_of_stage_2_blocks_the_grant(api):
    file = SystemFile(api)
    file.create_scheme()
    file.submit()
    file.accept()
    stage1 = file.stage("stage1")
    file.plan("stage2", application_id=file.application_id)
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    finding = file.ok(file.finding("minor"), 201)["finding_id"]
    file.ok(file.report_level(3))
    problem(file.grant([stage1, file.audit_id], 3), 409, "open-nonconformity")
    file.ok(file.close(finding))
    file.ok(file.grant([stage1, file.audit_id], 3), 201)


def test_r63_a_product_grant_states_no_level(api):
    file = File(api).evaluated()
    assert "R63" in problem(file.decide("grant", level=2), 422, "invalid-command")["detail"]


# -- R64 -----------------------------------------------------------------------------------------------------


def test_r64_the_certificate_its_public_lookup_directory_page_and_document_carry_the_level(api):
    file = certified(api, level=3)
    staff = file.ok(api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))
    assert staff["level"] == 3 and staff["products"] == [] and staff["scope"] == SITES
    public = file.ok(api.get(f"/public/v1/certificates/{file.certificate}"))
    assert public["level"] == 3
    page = api.client.get(f"/certificates/{file.certificate}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Level certified" in page.text
    found = api.get("/public/v1/certificates", q="Betonwerk").json()["items"]  # the organisation, no products
    assert [(c["number"], c["level"]) for c in found] == [(file.certificate, 3)]
    assert file.certificate in api.client.get("/", params={"q": "Betonwerk"}).text  # the directory's search page
    document = api.get(f"/v1/certificates/{file.certificate}/document", *File.ADMIN)
    assert document.status_code == 200 and "Level 3" in document.text
    programme = file.ok(api.get(f"/v1/certificates/{file.certificate}/programme", *File.ADMIN))
    assert programme["level"] == 3 and programme["surveillance_months"] == 12
    # Annual surveillance over the 3-year cycle, from the scheme programme (R48, R49).
    assert [p["due"] for p in programme["planned_surveillance"]] == [
        add_months(today(), 12).isoformat(), add_months(today(), 24).isoformat()]
    assert programme["valid_until"] == add_months(today(), 36).isoformat()


def test_r64_a_product_certificate_shows_no_level(api):
    file = File(api).granted()
    assert file.ok(api.get(f"/public/v1/certificates/{file.certificate}"))["level"] is None
    page = api.client.get(f"/certificates/{file.certificate}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Level certified" not in page.text


# -- upgrade: schemes registered before audits learnt them ----------------------------------------------------


def test_a_scheme_audits_never_learnt_waits_until_caught_up_then_counts_as_a_product_scheme(hallmark):
    audits = next(service for service in hallmark.services if service.name == "audits")
    file = AuditedFile(application_id="a-1", status="accepted", consultancy=[], products=[], organisation=None,
                       examination=None, scheme="OLD-SCHEME")
    audits.upstream_current = lambda source: False
    with pytest.raises(NotYetKnown):
        audits.scheme_of(file)  # the registry's events may still be on their way
    audits.upstream_current = lambda source: source == "registry"
    assert audits.scheme_of(file) == ({}, [])  # registered before types had rules: a product scheme
