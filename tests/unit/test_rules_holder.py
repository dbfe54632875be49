"""The holder's side, through the domain: R18 (the holder's organisation), R19 (the certification
agreement), R20 and R21 (the holder's requests), the consultancy declaration kept current, and R22 (what
the holder's dossier leaves out). Pure: no store, no clock; every date is fixed."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from services.applications.domain import KnownCertificate, check_acting_for, organisation_key
from services.projections.holder import dossier, shown, summary
from shared.errors import Duplicate, InvalidCommand, InvalidTransition, NotPermitted
from tests.unit.factories import (
    APPLICANT,
    APPLICANT_PERSON,
    NUMBER,
    OFFICER,
    PRODUCTS,
    TODAY,
    make_application,
    recorded,
    refused,
)

ORGANISATION = APPLICANT["registration_number"]  # BE0123456789
COLLEAGUE = "Koen Collega"  # the holder's staff, not the person who submitted
REQUEST_ID = "5e0c1c1e-0a51-4d5e-9a51-0d3c2b9a4e77"


@pytest.fixture
def application():
    application = make_application()
    recorded(application)
    return application


def certificate(status: str = "active", products: list[dict[str, Any]] = PRODUCTS) -> dict[str, Any]:
    return {"number": NUMBER, "status": status, "products": products}


def ask(application, kind: str, products=None, cert=None, actor: str = COLLEAGUE, organisation=ORGANISATION):
    return application.request_change(request_id=REQUEST_ID, kind=kind, products=products, reason="as we wish",
                                      certificate=certificate() if cert is None else cert, today=TODAY, actor=actor,
                                      organisation=organisation)


# -- R18: the holder's organisation ----------------------------------------------------------------


@pytest.mark.parametrize("organisation", ["BE0123456789", "be 0123.456.789"])
def test_r18_a_colleague_acting_for_the_holder_acts_on_its_application(application, organisation):
    assert application.is_holders(COLLEAGUE, organisation)
    application.withdraw(reason="plant sold", actor=COLLEAGUE, on_behalf_of_applicant=True, organisation=organisation)
    (event,) = recorded(application)
    assert type(event).__name__ == "Withdrawn" and event.actor == COLLEAGUE


def test_r18_another_holders_staff_is_refused(application):
    refused(application, NotPermitted, application.withdraw, reason="not ours", actor=COLLEAGUE,
            on_behalf_of_applicant=True, organisation="BE0999999999")
    refused(application, NotPermitted, application.check_holder, person=APPLICANT_PERSON,
            organisation="BE0999999999")
    assert application.status == "submitted"


def test_r18_without_the_claim_only_the_submitter(application):
    assert application.is_holders(APPLICANT_PERSON, None)
    refused(application, NotPermitted, application.supply_information, note="n", actor=COLLEAGUE,
            on_behalf_of_applicant=True, organisation=None)


def test_r18_a_holder_submits_for_its_own_organisation_only():
    check_acting_for(APPLICANT, "BE0123456789")
    check_acting_for(APPLICANT, None)  # the body's staff, or a holder without the claim
    with pytest.raises(NotPermitted, match="R18"):
        check_acting_for(APPLICANT, "BE0999999999")
    assert organisation_key(" be-0123.456.789 ") == "BE0123456789"


# -- R19: the certification agreement -----------------------------------------------------------------


def test_r19_the_agreement_accepted_with_the_application_is_known():
    application = make_application()
    (event,) = recorded(application)
    assert event.agreement == {"conditions_version": "2026-01", "licence_version": "2026-01", "accepted_on": "2026-06-01"}
    assert application.agreement == event.agreement
    assert make_application(agreement=None).agreement is None


def test_r19_new_versions_are_accepted_once(application):
    application.accept_agreement(conditions_version="2026-07", licence_version="2026-01", today=TODAY,
                                 actor=COLLEAGUE, organisation=ORGANISATION)
    (event,) = recorded(application)
    assert type(event).__name__ == "AgreementAccepted"
    assert (event.conditions_version, event.licence_version, event.accepted_on) == ("2026-07", "2026-01", TODAY)
    assert event.actor == COLLEAGUE and "2026-07" in event.reason
    assert [a["conditions_version"] for a in application.agreements] == ["2026-01", "2026-07"]
    refused(application, Duplicate, application.accept_agreement, conditions_version="2026-07",
            licence_version="2026-01", today=TODAY, actor=COLLEAGUE, organisation=ORGANISATION)
    refused(application, Duplicate, application.accept_agreement, conditions_version="2026-01",
            licence_version="2026-01", today=TODAY, actor=COLLEAGUE, organisation=ORGANISATION)


def test_r19_only_the_holder_accepts_and_not_on_a_closed_file(application):
    refused(application, NotPermitted, application.accept_agreement, conditions_version="2026-07",
            licence_version="2026-07", today=TODAY, actor=COLLEAGUE, organisation="BE0999999999")
    application.withdraw(reason="plant sold", actor=APPLICANT_PERSON, on_behalf_of_applicant=True)
    recorded(application)
    refused(application, InvalidTransition, application.accept_agreement, conditions_version="2026-07",
            licence_version="2026-07", today=TODAY, actor=APPLICANT_PERSON, organisation=None)


# -- the consultancy declaration, kept current ---------------------------------------------------------


def test_the_holder_replaces_its_consultancy_declaration(application):
    current = [{"person": "Nina New", "organisation": "Advies BV", "until": None}]
    application.declare_consultancy(consultancy=current, actor=COLLEAGUE, organisation=ORGANISATION)
    (event,) = recorded(application)
    assert type(event).__name__ == "ConsultancyDeclared" and event.consultancy == current and event.reason
    assert application.consultancy == current


def test_the_consultancy_declaration_is_the_holders_own(application):
    refused(application, NotPermitted, application.declare_consultancy, consultancy=[], actor=OFFICER,
            organisation=None)
    refused(application, NotPermitted, application.declare_consultancy, consultancy=[], actor=COLLEAGUE,
            organisation="BE0999999999")


# -- R20: a request concerns a certificate in force ------------------------------------------------------


@pytest.mark.parametrize("status", ["active", "suspended"])
def test_r20_a_termination_of_a_certificate_in_force_is_requested(application, status):
    ask(application, "terminate", cert=certificate(status))
    (event,) = recorded(application)
    assert type(event).__name__ == "ChangeRequested"
    assert (event.kind, event.products, event.certificate_number, event.requested_on) == \
        ("terminate", None, NUMBER, TODAY)
    assert event.actor == COLLEAGUE and event.reason == "as we wish"
    assert application.requests[REQUEST_ID]["status"] == "open"
    assert application.open_requests("terminate", NUMBER) == [REQUEST_ID]


def test_r20_a_request_without_a_certificate_is_refused(application):
    refused(application, InvalidTransition, application.request_change, request_id=REQUEST_ID, kind="terminate",
            products=None, reason="r", certificate=None, today=TODAY, actor=COLLEAGUE, organisation=ORGANISATION)


@pytest.mark.parametrize("status", ["withdrawn", "terminated", "expired"])
def test_r20_a_request_on_a_certificate_no_longer_in_force_is_refused(application, status):
    refused(application, InvalidTransition, partial(ask, application), kind="terminate", cert=certificate(status))


def test_r20_only_the_holder_requests(application):
    refused(application, NotPermitted, partial(ask, application), kind="terminate", organisation="BE0999999999")


# -- R21: the products a request names ---------------------------------------------------------------------


def test_r21_a_reduction_names_the_certified_products_that_remain(application):
    ask(application, "reduce_scope", products=[{"name": "vdm  kerb 100", "type": "KERB"}])
    (event,) = recorded(application)
    assert event.kind == "reduce_scope" and event.products == [{"name": "vdm  kerb 100", "type": "KERB"}]


@pytest.mark.parametrize("products", [
    [{"name": "Unknown Kerb", "type": "kerb"}],  # not certified
    PRODUCTS,  # all of them: no reduction
    [],  # none
    None,
])
def test_r21_a_reduction_naming_other_products_is_refused(application, products):
    refused(application, InvalidCommand, partial(ask, application), kind="reduce_scope", products=products)


def test_r21_an_extension_names_products_to_add(application):
    ask(application, "extend_scope", products=[{"name": "VDM Kerb 200", "type": "kerb"}])
    (event,) = recorded(application)
    assert event.kind == "extend_scope"


@pytest.mark.parametrize("products", [[PRODUCTS[0]], [], None,
                                      [{"name": "New", "type": "kerb"}, {"name": "new", "type": "Kerb"}]])
def test_r21_an_extension_naming_certified_or_no_products_is_refused(application, products):
    refused(application, InvalidCommand, partial(ask, application), kind="extend_scope", products=products)


def test_r21_a_termination_names_no_products(application):
    refused(application, InvalidCommand, partial(ask, application), kind="terminate", products=[PRODUCTS[0]])


def test_a_decision_of_the_kind_requested_closes_the_request(application):
    ask(application, "terminate")
    recorded(application)
    application.note_request_decided(request_id=REQUEST_ID, decision_id="d-1", outcome="terminate",
                                     actor="Dirk Decider", reason="terminate decided by decision d-1")
    (event,) = recorded(application)
    assert event.actor == "Dirk Decider"
    assert application.requests[REQUEST_ID]["status"] == "decided"
    assert application.open_requests("terminate", NUMBER) == []


def test_applications_learns_the_certificate_in_force():
    known = KnownCertificate(number=NUMBER, application_id="a", products=PRODUCTS)
    known.learn_status("suspended")
    assert known.as_known() == certificate("suspended")
    known.learn_revision(products=[PRODUCTS[0]])
    assert known.as_known() == certificate("active", [PRODUCTS[0]])


# -- R22: what the holder's dossier leaves out --------------------------------------------------------------


def event(type_: str, subject: str, at: str = "2026-06-01T10:00:00+00:00", **data: Any) -> dict[str, Any]:
    return {"type": type_, "subject": subject, "at": at, "data": {"actor": "Someone", "reason": "why", **data}}


def test_r22_declarations_and_complaints_are_left_out():
    assert shown({"person": "Luc", "declaration": {"independent": True, "interests": ["x"]}}) == {"person": "Luc"}
    assert shown({"outcome": "suspend", "complaint_id": "c-1", "basis": [{"complaint_id": "c"}]}) == \
        {"outcome": "suspend", "basis": [{}]}


def test_r22_the_dossier_folds_every_audit_event_it_is_shown():
    submitted = dict(scheme="S", applicant=APPLICANT, production_unit={"name": "P", "address": "A"},
                     products=PRODUCTS, scope="kerbs", consultancy=[], submitted_by=APPLICANT_PERSON,
                     agreement={"conditions_version": "2026-01", "licence_version": "2026-01",
                                "accepted_on": "2026-06-01"})
    events = [
        event("Application.Submitted", "app", **submitted),
        event("Audit.Planned", "aud", application_id="app", kind="initial", planned_start="2026-06-02",
              certificate_number=None),
        event("Audit.TeamMemberAssigned", "aud", person="Luc Lead", role="lead_auditor", declared_on="2026-06-02"),
        event("Audit.FindingRecorded", "aud", finding_id="f1", severity="minor", requirement="§5",
              description="log"),
        event("Audit.SampleTaken", "aud", sample_id="s1", product="VDM Kerb 100", laboratory="LAB-1"),
        event("Audit.SampleResultRecorded", "aud", sample_id="s1", result_id="r1", conformity="conforming"),
        event("Audit.CorrectiveActionSubmitted", "aud", finding_id="f1", corrective_action_id="ca1",
              description="new log"),
        event("Audit.CorrectiveActionReviewed", "aud", finding_id="f1", corrective_action_id="ca1",
              outcome="accepted"),
        event("Audit.SomethingNew", "aud", detail="kept as it is"),
        event("Certificate.Issued", "cert", number=NUMBER, application_id="app", valid_from="2026-06-03",
              valid_until="2029-06-02", products=PRODUCTS, scope="kerbs"),
        event("Certificate.StatusChanged", "cert", number=NUMBER, status="suspended", effective_from="2026-06-04"),
    ]
    file = dossier("app", {"name": APPLICANT["name"], "registration_number": ORGANISATION}, events)
    assert file["application"]["status"] == "submitted" and file["application"]["agreement"]["licence_version"]
    (audit,) = file["audits"]
    assert audit["team"] == [{"person": "Luc Lead", "role": "lead_auditor", "assigned_on": "2026-06-02"}]
    (finding,) = audit["findings"]
    assert finding["corrective_actions"][0]["review"]["outcome"] == "accepted"
    assert audit["samples"][0]["results"][0]["conformity"] == "conforming"
    assert [e["type"] for e in audit["events"]][-1] == "Audit.SomethingNew"
    (cert,) = file["certificates"]
    assert (cert["number"], cert["status"], cert["valid_until"]) == (NUMBER, "suspended", "2029-06-02")
    assert len(file["timeline"]) == len(events)
    assert summary(file)["open_findings"] == 1 and summary(file)["certificates"][0]["status"] == "suspended"
