"""Complaints (ISO/IEC 17065 7.13) and the certification-agreement gate, through the decisions domain:
R23 identified complainant and subject, R24 order of the steps, R25 handlers not involved, R26 closed
after outcome and notices, R27 an outcome cites sanction decisions of the file, R28 no grant without the
agreement, R29 a special audit of the file. Pure: no I/O, dates fixed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.decisions.domain import CertificationFile, Complaint, ComplaintRegister, check_complaint
from shared.errors import (
    AgreementMissing,
    ConflictOfInterest,
    InvalidCommand,
    InvalidTransition,
    SeparationOfDuties,
)
from tests.unit.factories import (
    APPLICATION_ID,
    AUDIT_ID,
    AUDITOR,
    CONSULTANT,
    DECIDER,
    LEAD,
    NUMBER,
    OLD_CONSULTANT,
    TODAY,
    assert_attributed,
    decide_kwargs,
    make_file,
    recorded,
    refused,
)

STAFF = "Sara Secretary"
HANDLER = "Hugo Handler"
COMPLAINANT = "Karel Klager"
OTHER_FILE = "0b1e2c3d-0000-4000-8000-00000000aaaa"
SPECIAL_ID = "a0d17000-0000-4000-8000-0000000000c1"
AGREEMENT = {"conditions_version": "2026-01", "licence_version": "2026-01", "accepted_on": "2026-05-01"}


def subject(kind: str = "certificate", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"kind": kind, "certificate_number": None, "holder": None, "mark": None, "misuser": None}
    if kind == "certificate":
        values["certificate_number"] = NUMBER
    elif kind == "holder":
        values["holder"] = {"name": "Betonfabriek Vandamme NV", "registration_number": "BE0123456789"}
    elif kind == "mark_misuse":
        values.update(mark="BENOR", misuser="Namaak Beton BV")
    values.update(overrides)
    return values


def make_complaint(kind: str = "certificate", *, complainant: str = COMPLAINANT, channel: str = "public") -> Complaint:
    return Complaint(
        reference="C-2026-0001", subject=subject(kind), complainant=complainant, email="karel@example.be", address=None,
        description="Kerbs delivered under the mark crumble after one winter", received_on=TODAY, channel=channel,
        application_id=APPLICATION_ID if kind in ("certificate", "holder") else None,
        actor=complainant if channel == "public" else STAFF, reason="complaint C-2026-0001 received",
    )


def involvement(file: CertificationFile | None = None) -> dict[str, list[str]]:
    """What the application layer passes from the file concerned: who was involved, who advised."""
    file = file or make_file()
    return {"involved": file.involved_people(), "advisers": file.advisers(TODAY)}


def investigating(kind: str = "certificate", **kwargs: Any) -> Complaint:
    complaint = make_complaint(kind, **kwargs)
    complaint.acknowledge(today=TODAY, actor=STAFF, reason="received, we will come back to you")
    complaint.decide_admissibility(admissible=True, today=TODAY, actor=STAFF, reason="concerns a certified product")
    complaint.assign_handler(person=HANDLER, today=TODAY, actor=STAFF, reason="independent of the file",
                             **involvement())
    recorded(complaint)
    return complaint


def decided(kind: str = "certificate", outcome: str = "unfounded") -> Complaint:
    complaint = investigating(kind)
    complaint.decide_outcome(outcome=outcome, decisions=[], today=TODAY, actor=HANDLER, rationale="samples conform",
                             **involvement())
    recorded(complaint)
    return complaint


# -- R23 an identified complainant and a subject ------------------------------------------------------------


def lodging(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(subject=subject(), complainant=COMPLAINANT, email="karel@example.be", address=None,
                                  description="Kerbs crumble")
    values.update(overrides)
    return values


@pytest.mark.parametrize("kind", ["body", "certificate", "holder", "mark_misuse"])
def test_r23_an_identified_complainant_lodges_a_complaint_of_each_kind(kind):
    check_complaint(**lodging(subject=subject(kind)))
    check_complaint(**lodging(subject=subject(kind), email=None, address="Dorpstraat 1, 9000 Gent"))
    complaint = make_complaint(kind)
    (event,) = recorded(complaint)
    assert type(event).__name__ == "Lodged" and complaint.status == "lodged"
    assert complaint.history[0]["step"] == "lodged"


@pytest.mark.parametrize("overrides", [
    {"complainant": ""},  # anonymous
    {"complainant": "   "},
    {"email": None, "address": None},  # no way to answer
    {"email": " ", "address": ""},
    {"subject": subject("certificate", certificate_number=None)},
    {"subject": subject("holder", holder={"name": "Vandamme", "registration_number": ""})},
    {"subject": subject("mark_misuse", misuser=None)},
    {"subject": subject("mark_misuse", mark=None)},
    {"subject": subject("body", holder={"name": "X", "registration_number": "BE1"})},
    {"subject": subject("product")},
], ids=["anonymous", "blank-name", "no-contact", "blank-contact", "certificate-without-number",
        "holder-without-registration", "misuse-without-misuser", "misuse-without-mark", "body-naming-a-holder",
        "unknown-kind"])
def test_r23_an_anonymous_or_incomplete_complaint_is_refused(overrides):
    with pytest.raises(InvalidCommand):
        check_complaint(**lodging(**overrides))


def test_the_register_numbers_complaints_per_year_of_receipt():
    register = ComplaintRegister(actor=STAFF, reason="the first complaint received")
    assert register.next_reference(TODAY) == "C-2026-0001"
    register.enter(complaint_id="c1", reference="C-2026-0001", received_on=TODAY, actor=STAFF, reason="entered")
    assert register.next_reference(TODAY) == "C-2026-0002"
    assert register.next_reference(date(2027, 1, 4)) == "C-2027-0001"
    assert register.entries == ["c1"] and register.references == {"C-2026-0001": "c1"}
    assert_attributed(ComplaintRegister, register.collect_events())


# -- R24 the steps in order ---------------------------------------------------------------------------------


def test_r24_the_steps_go_in_order_and_each_is_recorded():
    complaint = decided("certificate")
    complaint.notify(recipient="complainant", summary="unfounded: the samples conform", today=TODAY, actor=STAFF)
    complaint.notify(recipient="holder", summary="a complaint about your kerbs was unfounded", today=TODAY, actor=STAFF)
    complaint.close(today=TODAY, actor=STAFF, reason="outcome notified")
    recorded(complaint)
    assert complaint.status == "closed" and complaint.closed_on == TODAY
    assert [h["step"] for h in complaint.history] == [
        "lodged", "acknowledged", "admissible", "handler_assigned", "outcome_decided", "notified", "notified", "closed"]


def test_r24_a_step_out_of_order_is_refused():
    complaint = make_complaint()
    recorded(complaint)
    refused(complaint, InvalidTransition, complaint.decide_admissibility, admissible=True, today=TODAY, actor=STAFF,
            reason="r")
    refused(complaint, InvalidTransition, complaint.assign_handler, person=HANDLER, today=TODAY, actor=STAFF,
            reason="r", **involvement())
    refused(complaint, InvalidTransition, complaint.decide_outcome, outcome="unfounded", decisions=[], today=TODAY,
            actor=HANDLER, rationale="r", **involvement())
    refused(complaint, InvalidTransition, complaint.notify, recipient="complainant", summary="s", today=TODAY,
            actor=STAFF)
    refused(complaint, InvalidTransition, complaint.close, today=TODAY, actor=STAFF, reason="r")
    complaint.acknowledge(today=TODAY, actor=STAFF, reason="received")
    recorded(complaint)
    refused(complaint, InvalidTransition, complaint.acknowledge, today=TODAY, actor=STAFF, reason="again")


def test_r24_an_inadmissible_complaint_is_closed_and_only_the_complainant_is_told():
    complaint = make_complaint()
    complaint.acknowledge(today=TODAY, actor=STAFF, reason="received")
    complaint.decide_admissibility(admissible=False, today=TODAY, actor=STAFF, reason="not about certification")
    recorded(complaint)
    assert complaint.status == "closed" and complaint.admissible is False
    refused(complaint, InvalidTransition, complaint.assign_handler, person=HANDLER, today=TODAY, actor=STAFF,
            reason="r", **involvement())
    refused(complaint, InvalidTransition, complaint.notify, recipient="holder", summary="s", today=TODAY, actor=STAFF)
    complaint.notify(recipient="complainant", summary="inadmissible: not about certification", today=TODAY,
                     actor=STAFF)
    recorded(complaint)


def test_r24_a_handler_may_be_replaced_while_investigating_and_links_a_special_audit():
    complaint = investigating()
    complaint.assign_handler(person="Hanna Other", today=TODAY, actor=STAFF, reason="Hugo on leave", **involvement())
    complaint.link_audit(audit_id=SPECIAL_ID, audit_kind="special", audit_application_id=APPLICATION_ID, today=TODAY,
                         actor=STAFF, reason="unannounced sampling at the plant")
    recorded(complaint)
    assert complaint.handler == "Hanna Other" and complaint.audits == [SPECIAL_ID]
    refused(complaint, InvalidTransition, complaint.link_audit, audit_id=SPECIAL_ID, audit_kind="special",
            audit_application_id=APPLICATION_ID, today=TODAY, actor=STAFF, reason="again")


# -- R25 handlers not involved in the subject ---------------------------------------------------------------


def admissible(kind: str = "certificate", **kwargs: Any) -> Complaint:
    complaint = make_complaint(kind, **kwargs)
    complaint.acknowledge(today=TODAY, actor=STAFF, reason="received")
    complaint.decide_admissibility(admissible=True, today=TODAY, actor=STAFF, reason="admissible")
    recorded(complaint)
    return complaint


@pytest.mark.parametrize("person", [LEAD, AUDITOR, " arno  AUDITOR "])
def test_r25_an_evaluator_of_the_file_neither_handles_nor_decides(person):
    complaint = admissible()
    refused(complaint, SeparationOfDuties, complaint.assign_handler, person=person, today=TODAY, actor=STAFF,
            reason="r", **involvement())
    complaint = investigating()
    refused(complaint, SeparationOfDuties, complaint.decide_outcome, outcome="unfounded", decisions=[], today=TODAY,
            actor=person, rationale="r", **involvement())


def test_r25_whoever_decided_on_the_file_does_not_handle_a_complaint_about_it():
    file = make_file(certificate_status="active")
    file.take(decision_id="d-1", outcome="suspend", certificate_number=NUMBER, actor=DECIDER, reason="suspend")
    complaint = admissible()
    refused(complaint, SeparationOfDuties, complaint.assign_handler, person=DECIDER, today=TODAY, actor=STAFF,
            reason="r", **involvement(file))
    complaint.assign_handler(person=HANDLER, today=TODAY, actor=STAFF, reason="independent", **involvement(file))
    recorded(complaint)


def test_r25_the_complainant_neither_handles_nor_decides():
    complaint = admissible(complainant=COMPLAINANT)
    refused(complaint, ConflictOfInterest, complaint.assign_handler, person="karel  klager", today=TODAY, actor=STAFF,
            reason="r", **involvement())
    complaint = investigating(channel="staff")
    refused(complaint, ConflictOfInterest, complaint.decide_outcome, outcome="unfounded", decisions=[], today=TODAY,
            actor=COMPLAINANT, rationale="r", **involvement())


def test_r25_a_recent_adviser_of_the_holder_is_refused_an_old_one_is_not():
    complaint = admissible()
    refused(complaint, ConflictOfInterest, complaint.assign_handler, person=CONSULTANT, today=TODAY, actor=STAFF,
            reason="r", **involvement())
    complaint.assign_handler(person=OLD_CONSULTANT, today=TODAY, actor=STAFF, reason="advised more than two years ago",
                             **involvement())
    recorded(complaint)


def test_r25_uses_the_holders_current_consultancy_declaration():
    file = make_file()
    file.note_consultancy(consultancy=[{"person": HANDLER, "organisation": "Advies NV", "until": None}])
    assert [type(e).__name__ for e in file.collect_events()] == ["ConsultancyNoted"]
    assert file.advisers(TODAY) == [HANDLER]  # the declaration at submission is replaced
    complaint = admissible()
    refused(complaint, ConflictOfInterest, complaint.assign_handler, person=HANDLER, today=TODAY, actor=STAFF,
            reason="r", **involvement(file))
    refused(file, ConflictOfInterest, file.check_decision, **decide_kwargs(decider=HANDLER))  # R2 too


# -- R26 closed after the outcome and the notices ----------------------------------------------------------


@pytest.mark.parametrize("kind, required", [("certificate", ["complainant", "holder"]),
                                            ("holder", ["complainant", "holder"]),
                                            ("body", ["complainant"]), ("mark_misuse", ["complainant"])])
def test_r26_a_complaint_is_closed_only_once_every_notice_is_sent(kind, required):
    complaint = decided(kind)
    assert complaint.notices_missing() == required
    error = refused(complaint, InvalidTransition, complaint.close, today=TODAY, actor=STAFF, reason="r")
    assert error.extensions["missing_notices"] == required
    for recipient in required[:-1]:
        complaint.notify(recipient=recipient, summary="outcome", today=TODAY, actor=STAFF)
        recorded(complaint)
    refused(complaint, InvalidTransition, complaint.close, today=TODAY, actor=STAFF, reason="r")
    complaint.notify(recipient=required[-1], summary="outcome", today=TODAY, actor=STAFF)
    complaint.close(today=TODAY, actor=STAFF, reason="outcome notified")
    recorded(complaint)
    assert complaint.status == "closed"


@pytest.mark.parametrize("kind", ["body", "mark_misuse"])
def test_r26_no_holder_is_notified_of_a_complaint_that_concerns_none(kind):
    complaint = decided(kind)
    refused(complaint, InvalidCommand, complaint.notify, recipient="holder", summary="s", today=TODAY, actor=STAFF)


# -- R27 an outcome cites sanction decisions of the file ---------------------------------------------------


def test_r27_a_well_founded_complaint_cites_the_sanctions_taken():
    complaint = investigating()
    complaint.decide_outcome(
        outcome="well_founded", today=TODAY, actor=HANDLER, rationale="samples fail PTV 21-601 §5",
        decisions=[{"id": "d-s", "outcome": "suspend", "application_id": APPLICATION_ID}], **involvement())
    (event,) = recorded(complaint)
    assert event.decision_ids == ["d-s"] and complaint.outcome["outcome"] == "well_founded"


@pytest.mark.parametrize("outcome, cited, error", [
    ("unfounded", [{"id": "d-s", "outcome": "suspend", "application_id": APPLICATION_ID}], InvalidCommand),
    ("well_founded", [{"id": "d-g", "outcome": "grant", "application_id": APPLICATION_ID}], InvalidCommand),
    ("well_founded", [{"id": "d-s", "outcome": "suspend", "application_id": OTHER_FILE}], InvalidCommand),
    ("well_founded", [{"id": "d-s", "outcome": "suspend", "application_id": APPLICATION_ID}] * 2, InvalidCommand),
], ids=["unfounded-with-a-sanction", "not-a-sanction", "another-file", "twice"])
def test_r27_an_outcome_cites_only_sanctions_of_the_file(outcome, cited, error):
    complaint = investigating()
    refused(complaint, error, complaint.decide_outcome, outcome=outcome, decisions=cited, today=TODAY, actor=HANDLER,
            rationale="r", **involvement())


# -- R28 the certification agreement --------------------------------------------------------------------------


def test_r28_no_grant_until_the_holder_accepted_the_certification_agreement():
    file = make_file()
    error = refused(file, AgreementMissing, file.check_decision, **decide_kwargs("grant"))
    assert error.slug == "agreement-missing" and error.status == 409
    file.note_agreement(agreement=AGREEMENT)
    assert [type(e).__name__ for e in file.collect_events()] == ["AgreementNoted"]
    file.check_decision(**decide_kwargs("grant"))
    assert file.agreement == AGREEMENT


def test_r28_only_a_grant_waits_for_the_agreement():
    file = make_file(certificate_status="active")
    file.check_decision(**decide_kwargs("suspend"))  # the agreement gate is the grant's alone
    with pytest.raises(InvalidTransition):  # an earlier rule still answers first
        make_file(application_status="submitted").check_decision(**decide_kwargs("grant"))


# -- R29 a special audit of the file ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, application_id", [("surveillance", APPLICATION_ID), (None, APPLICATION_ID),
                                                  ("special", OTHER_FILE)],
                         ids=["surveillance", "unknown-kind", "another-file"])
def test_r29_an_investigation_links_a_special_audit_of_the_file(kind, application_id):
    complaint = investigating()
    refused(complaint, InvalidCommand, complaint.link_audit, audit_id=AUDIT_ID, audit_kind=kind,
            audit_application_id=application_id, today=TODAY, actor=STAFF, reason="r")
    complaint.link_audit(audit_id=SPECIAL_ID, audit_kind="special", audit_application_id=APPLICATION_ID, today=TODAY,
                         actor=STAFF, reason="unannounced visit")
    recorded(complaint)


def test_r29_a_complaint_about_no_file_links_any_special_audit():
    complaint = investigating("mark_misuse")
    complaint.link_audit(audit_id=SPECIAL_ID, audit_kind="special", audit_application_id=OTHER_FILE, today=TODAY,
                         actor=STAFF, reason="visit at the alleged misuser's customer")
    recorded(complaint)


# -- R10 every step is attributed ------------------------------------------------------------------------------


def test_r10_every_complaint_event_names_actor_time_and_reason():
    complaint = make_complaint()
    complaint.acknowledge(today=TODAY, actor=STAFF, reason="received")
    complaint.decide_admissibility(admissible=True, today=TODAY, actor=STAFF, reason="admissible")
    complaint.assign_handler(person=HANDLER, today=TODAY, actor=STAFF, reason="independent", **involvement())
    complaint.link_audit(audit_id=SPECIAL_ID, audit_kind="special", audit_application_id=APPLICATION_ID, today=TODAY,
                         actor=STAFF, reason="visit")
    complaint.decide_outcome(outcome="unfounded", decisions=[], today=TODAY, actor=HANDLER, rationale="conform",
                             **involvement())
    complaint.notify(recipient="complainant", summary="unfounded", today=TODAY, actor=STAFF)
    complaint.notify(recipient="holder", summary="unfounded", today=TODAY, actor=STAFF)
    complaint.close(today=TODAY, actor=STAFF, reason="done")
    events = complaint.collect_events()
    names = {name for name, value in vars(Complaint).items()
             if isinstance(value, type) and issubclass(value, Complaint.Event) and value is not Complaint.Event}
    assert {type(e).__name__ for e in events} >= names - {"Created"}
    assert_attributed(Complaint, events)
