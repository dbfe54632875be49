"""System certification to ISO/IEC 17021-1 (issue 10, part 4a) through the domain: the catalogue's scheme types as
data, a system scheme's cycle, surveillance and levels (R60). Pure; every date is fixed."""

from __future__ import annotations

from typing import Any

import pytest

from services.applications.domain import check_organisation
from services.audits.domain import check_stage, levels_to_state
from services.decisions.domain import CertificationFile
from services.registry.application import load_catalogue
from services.registry.domain import Scheme
from shared.errors import InvalidCommand, InvalidTransition, OpenNonconformity
from tests.unit.factories import (
    APPLICANT,
    AUDIT_ID,
    LEAD,
    PRODUCTION_UNIT,
    PRODUCTS,
    REGISTRAR,
    SCHEME_DOCUMENTS,
    TODAY,
    make_audit,
    make_certificate,
    make_file,
    recorded,
    refused,
    staffed_audit,
)

CATALOGUE = load_catalogue()
SYSTEM = CATALOGUE.scheme_type("system")
PRODUCT = CATALOGUE.scheme_type("product")
LADDER = [1, 2, 3, 4, 5]


def system_scheme(**overrides: Any) -> Scheme:
    kwargs: dict[str, Any] = dict(
        code="skao-co2-ladder", mark="COPRO", title="CO2 Performance Ladder", certification_type="system",
        documents=SCHEME_DOCUMENTS, validity_months=36, surveillance_months=12, admission_months=0,
        max_suspension_months=6, actor=REGISTRAR, reason="scheme recognised by SKAO", scheme_type=SYSTEM,
        levels=LADDER,
    )
    kwargs.update(overrides)
    return Scheme(**kwargs)


# -- the catalogue carries the scheme types as data ------------------------------------------------------

def test_the_catalogue_gives_each_certification_type_its_rules():
    assert set(CATALOGUE.scheme_types) == set(CATALOGUE.certification_types)
    assert SYSTEM["subject"] == "organisation" and SYSTEM["initial_audits"] == ["stage1", "stage2"]
    assert (SYSTEM["cycle_months"], SYSTEM["surveillance_months"], SYSTEM["levelled"]) == (36, 12, True)
    assert PRODUCT["subject"] == "products" and "cycle_months" not in PRODUCT
    assert CATALOGUE.scheme_type("person")["subject"] == "person"
    assert CATALOGUE.scheme_type("unheard-of") == {}


# -- R60: a system scheme keeps to the type's cycle, surveillance and levels -----------------------------

def test_r60_a_system_scheme_registers_with_a_three_year_cycle_annual_surveillance_and_its_levels():
    scheme = system_scheme()
    (registered,) = recorded(scheme)
    assert scheme.levels == LADDER and scheme.scheme_type == SYSTEM
    assert registered.levels == LADDER and registered.scheme_type["grant_audit"] == "stage2"


def test_r60_a_system_scheme_may_be_surveilled_more_often_than_annually():
    assert system_scheme(surveillance_months=6).surveillance_months == 6


@pytest.mark.parametrize("overrides, field", [
    ({"validity_months": 24}, "validity_months"),
    ({"validity_months": 48}, "validity_months"),
    ({"surveillance_months": 18}, "surveillance_months"),
    ({"levels": None}, "levels"),
    ({"levels": []}, "levels"),
    ({"levels": [1, 1, 2]}, "levels"),
    ({"levels": [3, 2, 1]}, "levels"),
    ({"levels": [0, 1]}, "levels"),
])
def test_r60_a_system_scheme_is_refused_off_its_cycle_surveillance_or_levels(overrides, field):
    with pytest.raises(InvalidCommand) as refused:
        system_scheme(**overrides)
    assert "R60" in str(refused.value) and refused.value.extensions.get("field") == field


def test_r60_a_product_scheme_keeps_any_cycle_and_states_no_levels():
    scheme = system_scheme(code="benor-x", certification_type="product", scheme_type=PRODUCT, levels=None,
                           validity_months=60, surveillance_months=24)
    assert scheme.levels == [] and scheme.validity_months == 60
    with pytest.raises(InvalidCommand, match="R60"):
        system_scheme(code="benor-x", certification_type="product", scheme_type=PRODUCT, levels=[1, 2])


def test_r60_a_scheme_registered_before_types_had_rules_is_replayed_as_it_was():
    scheme = system_scheme(scheme_type=None, levels=None, validity_months=12)
    assert scheme.scheme_type == {} and scheme.levels == []


# -- R61: a system application is an organisation's, with no products -------------------------------------

def test_r61_an_organisation_applies_for_its_management_system_naming_no_products():
    check_organisation(scheme="SKAO-CO2", applicant=APPLICANT, production_unit=PRODUCTION_UNIT, products=[])


def test_r61_a_system_application_naming_products_is_refused():
    with pytest.raises(InvalidCommand, match="R61") as refused_:
        check_organisation(scheme="SKAO-CO2", applicant=APPLICANT, production_unit=PRODUCTION_UNIT, products=PRODUCTS)
    assert refused_.value.extensions["field"] == "products"


def test_r61_a_system_application_without_its_organisation_or_main_site_is_refused():
    for applicant, unit, field in ((None, PRODUCTION_UNIT, "applicant"), (APPLICANT, None, "production_unit")):
        with pytest.raises(InvalidCommand, match="R61") as refused_:
            check_organisation(scheme="SKAO-CO2", applicant=applicant, production_unit=unit, products=[])
        assert refused_.value.extensions["field"] == field


# -- R62: a system file is audited in stages ----------------------------------------------------------------

def test_r62_stage_1_opens_a_system_file_and_stage_2_follows_a_reported_stage_1():
    check_stage("stage1", scheme_type=SYSTEM, reported=[], on_certificate=False)
    check_stage("stage2", scheme_type=SYSTEM, reported=["stage1"], on_certificate=False)
    check_stage("surveillance", scheme_type=SYSTEM, reported=["stage1", "stage2"], on_certificate=True)


def test_r62_stage_2_before_a_reported_stage_1_is_refused():
    with pytest.raises(InvalidTransition, match="R62"):
        check_stage("stage2", scheme_type=SYSTEM, reported=[], on_certificate=False)
    with pytest.raises(InvalidTransition, match="R62"):
        check_stage("stage2", scheme_type=SYSTEM, reported=["surveillance"], on_certificate=False)


@pytest.mark.parametrize("kind, scheme_type, on_certificate", [
    ("initial", SYSTEM, False),       # a system file has no product initial audit
    ("extension", SYSTEM, True),
    ("stage1", PRODUCT, False),       # a product file has no stages
    ("stage2", PRODUCT, False),
    ("stage1", SYSTEM, True),         # stages evaluate the application, not a certificate
])
def test_r62_an_audit_of_a_kind_the_type_does_not_have_is_refused(kind, scheme_type, on_certificate):
    with pytest.raises(InvalidCommand, match="R62") as refused_:
        check_stage(kind, scheme_type=scheme_type, reported=["stage1"], on_certificate=on_certificate)
    assert refused_.value.extensions["field"] == "kind"


def test_r62_a_file_of_a_scheme_registered_before_types_had_rules_keeps_every_kind():
    for kind in ("initial", "surveillance", "stage1"):
        check_stage(kind, scheme_type={}, reported=[], on_certificate=False)


# -- R63: the stage 2 report states the level assessed; the grant rests on it ---------------------------

def reportable(kind: str):
    audit = make_audit(kind=kind)
    audit.collect_events()
    staffed = staffed_audit()
    for member in staffed.team:
        audit.assign(person=member["person"], role=member["role"], declaration=member["declaration"],
                     consultancy=[], today=TODAY, actor=REGISTRAR)
    audit.collect_events()
    return audit


def test_r63_the_stage_2_report_under_a_levelled_scheme_states_the_level_assessed():
    assert levels_to_state("stage2", scheme_type=SYSTEM, levels=LADDER) == LADDER
    assert levels_to_state("stage1", scheme_type=SYSTEM, levels=LADDER) is None
    audit = reportable("stage2")
    audit.issue_report(report_id="RPT-1", conclusion="conforming", recommendation="grant", summary="ladder 3",
                       today=TODAY, actor=LEAD, level_assessed=3, levels=LADDER)
    (reported,) = recorded(audit)
    assert reported.report["level_assessed"] == 3 and audit.report["level_assessed"] == 3


@pytest.mark.parametrize("kind, level, levels", [
    ("stage2", None, LADDER),   # the level is missing
    ("stage2", 6, LADDER),      # not one of the scheme's levels
    ("stage1", 3, None),        # a stage 1 report states no level
    ("initial", 3, None),
])
def test_r63_a_report_missing_its_level_or_stating_one_it_should_not_is_refused(kind, level, levels):
    audit = reportable(kind)
    error = refused(audit, InvalidCommand, audit.issue_report, report_id="RPT-1", conclusion="conforming",
                    recommendation="grant", summary="s", today=TODAY, actor=LEAD, level_assessed=level, levels=levels)
    assert "R63" in str(error)


STAGE1, STAGE2, INITIAL = "a0000000-0000-4000-8000-0000000000s1", "a0000000-0000-4000-8000-0000000000s2", AUDIT_ID


def system_file(*, assessed: int = 3, conclusion: str = "conforming", open_minor: bool = False) -> CertificationFile:
    file = make_file()  # an accepted application with an initial audit reported conforming (AUDIT_ID)
    file.note_agreement(agreement={"conditions_version": "1", "licence_version": "1", "accepted_on": "2026-01-01"})
    for audit_id, kind in ((STAGE1, "stage1"), (STAGE2, "stage2")):
        file.note_audit(audit_id=audit_id, kind=kind)
    file.note_report(audit_id=STAGE1, conclusion="conforming")
    if open_minor:
        file.note_finding(audit_id=STAGE2, finding_id="f-minor", severity="minor")
    file.note_report(audit_id=STAGE2, conclusion=conclusion, level_assessed=assessed)
    file.collect_events()
    return file


def test_r63_a_grant_rests_on_a_conforming_stage_2_and_states_a_level_up_to_the_one_assessed():
    file = system_file(assessed=3)
    for level in (1, 3):
        file.check_grant_basis(outcome="grant", basis=[STAGE1, STAGE2], level=level, scheme_type=SYSTEM,
                               levels=LADDER)


@pytest.mark.parametrize("basis, level, error", [
    ([STAGE1], 3, InvalidCommand),             # no stage 2
    ([INITIAL], 3, InvalidCommand),            # a product initial audit is no ground
    ([STAGE1, STAGE2, INITIAL], 3, InvalidCommand),
    ([STAGE2], 4, InvalidCommand),             # above the level assessed
    ([STAGE2], None, InvalidCommand),          # no level
    ([STAGE2], 9, InvalidCommand),             # not a level of the scheme
])
def test_r63_a_grant_without_its_stage_2_or_with_a_level_it_may_not_state_is_refused(basis, level, error):
    file = system_file(assessed=3)
    refused(file, error, file.check_grant_basis, outcome="grant", basis=basis, level=level, scheme_type=SYSTEM,
            levels=LADDER)


def test_r63_a_nonconforming_stage_2_or_one_with_an_open_minor_nonconformity_grants_nothing():
    file = system_file(conclusion="nonconforming")
    refused(file, InvalidCommand, file.check_grant_basis, outcome="grant", basis=[STAGE2], level=1,
            scheme_type=SYSTEM, levels=LADDER)
    file = system_file(open_minor=True)
    refused(file, OpenNonconformity, file.check_grant_basis, outcome="grant", basis=[STAGE2], level=1,
            scheme_type=SYSTEM, levels=LADDER)


def test_r63_no_level_outside_a_grant_under_a_levelled_scheme():
    file = make_file()
    file.check_grant_basis(outcome="grant", basis=[INITIAL], level=None, scheme_type=PRODUCT, levels=[])
    refused(file, InvalidCommand, file.check_grant_basis, outcome="grant", basis=[INITIAL], level=2,
            scheme_type=PRODUCT, levels=[])
    refused(file, InvalidCommand, file.check_grant_basis, outcome="maintain", basis=[INITIAL], level=2,
            scheme_type=SYSTEM, levels=LADDER)


# -- R64: the certificate carries the level -------------------------------------------------------------

def test_r64_a_system_certificate_carries_its_level_on_its_document_and_programme():
    certificate = make_certificate(level=3, products=[])
    (issued,) = recorded(certificate)
    assert issued.level == 3 and certificate.level == 3
    assert certificate.document(revision=None, today=TODAY)["level"] == 3
    assert certificate.programme(renewal_window_months=0, sampling_months=0, today=TODAY)["level"] == 3


def test_r64_a_product_certificate_has_no_level():
    certificate = make_certificate()
    assert certificate.level is None and certificate.document(revision=None, today=TODAY)["level"] is None
