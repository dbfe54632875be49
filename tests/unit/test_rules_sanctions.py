"""The sanctions ladder (ISO/IEC 17065 7.11), through the domain: R40 (a warning), R41 (a conditional
withdrawal), R42 (a restoration lifts it), R43 (its deadline passed: flagged), R44 (a suspension's end date
within the scheme's maximum), R45 (a voluntary suspension at the holder's request) and R46 (a withdrawn
certificate reinstated on an upheld appeal). Each rule allowed and refused, in decisions (refused before it
is recorded) and in the registry (which applies it). Pure: no store, no clock; every date is fixed."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest

from services.decisions.domain import CertificationFile
from services.registry.domain import Certificate
from shared.certificate_states import check_outcome
from shared.errors import InvalidCommand, InvalidTransition, NotYetKnown
from tests.unit.factories import (
    APPLICANT,
    AUDIT_ID,
    DECIDER,
    NUMBER,
    OFFICER,
    PRODUCTS,
    TODAY,
    VERIFICATION_ID,
    make_application,
    make_certificate,
    make_file,
    recorded,
    refused,
)

IN_A_MONTH = TODAY + timedelta(days=30)
SIX_MONTHS_ON = date(2026, 12, 1)  # TODAY + 6 months: the scheme's maximum from TODAY
REQUEST_ID = "5e0c1c1e-0a51-4d5e-9a51-0d3c2b9a4e78"
APPEAL_ID = "a9914000-0000-4000-8000-000000000001"
WITHDRAWAL_ID = "d3c15101-0000-4000-8000-000000000010"


def decide(file: CertificationFile, outcome: str, basis: list[str] | None = None, max_months: int | None = 6,
           **terms: Any) -> None:
    """Decisions' checks of a decision on the certificate, today, by a decider who took no part (R1, R2)."""
    file.check_decision(outcome=outcome, decider=DECIDER, certificate_number=NUMBER,
                        basis=[AUDIT_ID] if basis is None else basis, effective_from=TODAY, today=TODAY, scope=None,
                        terms=terms, max_suspension_months=max_months)


def take(file: CertificationFile, outcome: str, decision_id: str = "d-1", **kwargs: Any) -> None:
    file.take(decision_id=decision_id, outcome=outcome, certificate_number=NUMBER, actor=DECIDER, reason=outcome,
              **kwargs)
    file.collect_events()


def certificate(status: str = "active") -> Certificate:
    cert = make_certificate()
    if status != "active":
        cert.change_status(status=status, decision_id="d-0", effective_from=TODAY, actor=DECIDER, reason=status)
    cert.collect_events()
    return cert


# -- R40: a warning ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["active", "suspended"])
def test_r40_a_warning_is_given_on_a_certificate_in_force_which_keeps_its_status(status):
    decide(make_file(certificate_status=status), "warning", basis=[])
    cert = certificate(status)
    cert.warn(decision_id="d-w", effective_from=TODAY, actor=DECIDER, reason="corrective actions late twice")
    (event,) = recorded(cert)
    assert type(event).__name__ == "Warned" and event.decision_id == "d-w"
    assert cert.status == status
    assert cert.warnings == [{"decision_id": "d-w", "on": TODAY, "rationale": "corrective actions late twice"}]


@pytest.mark.parametrize("status", ["withdrawn", "terminated", "expired"])
def test_r40_a_warning_on_an_ended_certificate_is_refused(status):
    file = make_file(certificate_status=status)
    refused(file, InvalidTransition, partial(decide, file, "warning"), basis=[])
    cert = certificate(status)
    refused(cert, InvalidTransition, cert.warn, decision_id="d-w", effective_from=TODAY, actor=DECIDER, reason="x")


def test_r40_a_warning_states_no_suspension_terms():
    file = make_file(certificate_status="active")
    with pytest.raises(InvalidCommand, match="warning decision states no 'until'"):
        decide(file, "warning", basis=[], until=IN_A_MONTH)


# -- R41: a conditional withdrawal ------------------------------------------------------------------

def test_r41_a_conditional_withdrawal_states_conditions_and_a_later_deadline():
    file = make_file(certificate_status="active")
    decide(file, "conditional_withdrawal", basis=[], conditions="close NC-3", deadline=IN_A_MONTH)
    cert = certificate()
    cert.withdraw_conditionally(decision_id="d-c", effective_from=TODAY, deadline=IN_A_MONTH, conditions="close NC-3",
                                actor=DECIDER, reason="conditional withdrawal")
    (event,) = recorded(cert)
    assert type(event).__name__ == "ConditionallyWithdrawn"
    assert (event.deadline, event.conditions) == (IN_A_MONTH, "close NC-3")
    assert cert.status == "active" and cert.conditional_withdrawal["deadline"] == IN_A_MONTH


@pytest.mark.parametrize("terms", [
    {"conditions": "close NC-3"},  # no deadline
    {"deadline": IN_A_MONTH},  # no conditions
    {"conditions": "close NC-3", "deadline": TODAY},  # not after the effective date
    {"conditions": "close NC-3", "deadline": IN_A_MONTH, "until": IN_A_MONTH},  # a suspension's term
], ids=["no-deadline", "no-conditions", "deadline-today", "until"])
def test_r41_a_conditional_withdrawal_without_its_terms_is_refused(terms):
    file = make_file(certificate_status="active")
    refused(file, InvalidCommand, partial(decide, file, "conditional_withdrawal"), basis=[], **terms)
    if "until" in terms:
        return  # the registry is never given a term decisions refused
    cert = certificate()
    refused(cert, InvalidCommand, cert.withdraw_conditionally, decision_id="d-c", effective_from=TODAY,
            deadline=terms.get("deadline"), conditions=terms.get("conditions", ""), actor=DECIDER, reason="x")


def test_r41_a_second_conditional_withdrawal_while_one_is_pending_is_refused():
    file = make_file(certificate_status="active")
    take(file, "conditional_withdrawal")
    refused(file, InvalidTransition, partial(decide, file, "conditional_withdrawal"), basis=[], conditions="c",
            deadline=IN_A_MONTH)
    cert = certificate()
    cert.withdraw_conditionally(decision_id="d-c", effective_from=TODAY, deadline=IN_A_MONTH, conditions="c",
                                actor=DECIDER, reason="x")
    cert.collect_events()
    refused(cert, InvalidTransition, cert.withdraw_conditionally, decision_id="d-c2", effective_from=TODAY,
            deadline=IN_A_MONTH, conditions="c", actor=DECIDER, reason="x")


def test_r41_a_conditional_withdrawal_of_a_withdrawn_certificate_is_refused():
    with pytest.raises(InvalidTransition):
        check_outcome("conditional_withdrawal", "withdrawn", NUMBER)


# -- R42: a restoration lifts a conditional withdrawal -------------------------------------------------

def conditionally_withdrawn_file() -> CertificationFile:
    file = make_file(certificate_status="active")
    take(file, "conditional_withdrawal")
    return file


def test_r42_a_restoration_on_a_verification_lifts_the_conditional_withdrawal():
    file = conditionally_withdrawn_file()
    file.note_audit(audit_id=VERIFICATION_ID, kind="special")
    file.note_report(audit_id=VERIFICATION_ID, conclusion="conforming")
    decide(file, "restore", basis=[VERIFICATION_ID])
    take(file, "restore", decision_id="d-r")
    assert file.conditionally_withdrawn == {}
    cert = certificate()
    cert.withdraw_conditionally(decision_id="d-c", effective_from=TODAY, deadline=IN_A_MONTH, conditions="c",
                                actor=DECIDER, reason="x")
    cert.lift_conditional_withdrawal(decision_id="d-r", effective_from=TODAY, actor=DECIDER, reason="conditions met")
    lifted = recorded(cert)[-1]
    assert type(lifted).__name__ == "ConditionalWithdrawalLifted" and lifted.lifted_decision_id == "d-c"
    assert cert.conditional_withdrawal is None and cert.status == "active"


def test_r42_a_restoration_on_an_earlier_audit_is_refused():
    file = conditionally_withdrawn_file()
    refused(file, InvalidCommand, partial(decide, file, "restore"), basis=[AUDIT_ID])


def test_r42_a_restoration_of_an_active_certificate_without_a_conditional_withdrawal_is_refused():
    file = make_file(certificate_status="active")
    refused(file, InvalidTransition, partial(decide, file, "restore"))
    cert = certificate()
    refused(cert, InvalidTransition, cert.lift_conditional_withdrawal, decision_id="d-r", effective_from=TODAY,
            actor=DECIDER, reason="x")


# -- R43: the deadline passed without a restoration ---------------------------------------------------

def test_r43_a_conditional_withdrawal_past_its_deadline_is_flagged_once():
    cert = certificate()
    cert.withdraw_conditionally(decision_id="d-c", effective_from=TODAY, deadline=IN_A_MONTH, conditions="c",
                                actor=DECIDER, reason="x")
    cert.collect_events()
    assert cert.flag_conditional_withdrawal_overdue(today=IN_A_MONTH, actor="hallmark:registry") is False
    assert cert.flag_conditional_withdrawal_overdue(today=IN_A_MONTH + timedelta(days=1), actor="hallmark:registry")
    (event,) = recorded(cert)
    assert type(event).__name__ == "ConditionalWithdrawalOverdue" and event.deadline == IN_A_MONTH
    assert "withdrawal decision is due" in event.reason
    assert cert.flag_conditional_withdrawal_overdue(today=IN_A_MONTH + timedelta(days=2), actor="x") is False


def test_r43_a_lifted_or_withdrawn_conditional_withdrawal_is_not_flagged():
    cert = certificate()
    cert.withdraw_conditionally(decision_id="d-c", effective_from=TODAY, deadline=IN_A_MONTH, conditions="c",
                                actor=DECIDER, reason="x")
    cert.lift_conditional_withdrawal(decision_id="d-r", effective_from=TODAY, actor=DECIDER, reason="met")
    assert cert.flag_conditional_withdrawal_overdue(today=IN_A_MONTH + timedelta(days=1), actor="x") is False
    other = certificate()
    other.withdraw_conditionally(decision_id="d-c", effective_from=TODAY, deadline=IN_A_MONTH, conditions="c",
                                 actor=DECIDER, reason="x")
    other.change_status(status="withdrawn", decision_id="d-w", effective_from=TODAY, actor=DECIDER, reason="w")
    assert other.conditional_withdrawal is None
    assert other.flag_conditional_withdrawal_overdue(today=IN_A_MONTH + timedelta(days=1), actor="x") is False


# -- R44: a suspension's conditions and end date ---------------------------------------------------------

@pytest.mark.parametrize("until", [TODAY + timedelta(days=1), SIX_MONTHS_ON])
def test_r44_a_suspension_ends_no_later_than_the_schemes_maximum(until):
    decide(make_file(certificate_status="active"), "suspend", until=until, conditions="recalibrate the press")
    cert = certificate()
    cert.change_status(status="suspended", decision_id="d-s", effective_from=TODAY, actor=DECIDER, reason="s",
                       until=until, conditions="recalibrate the press", max_suspension_months=6)
    (event,) = recorded(cert)
    assert (event.until, event.conditions, event.voluntary) == (until, "recalibrate the press", False)
    assert cert.suspension["until"] == until


@pytest.mark.parametrize("until", [SIX_MONTHS_ON + timedelta(days=1), TODAY, TODAY - timedelta(days=1)],
                         ids=["past-the-maximum", "the-effective-date", "before"])
def test_r44_a_suspension_ending_past_the_maximum_or_not_after_it_starts_is_refused(until):
    file = make_file(certificate_status="active")
    refused(file, InvalidCommand, partial(decide, file, "suspend"), until=until)
    cert = certificate()
    refused(cert, InvalidCommand, cert.change_status, status="suspended", decision_id="d-s", effective_from=TODAY,
            actor=DECIDER, reason="s", until=until, max_suspension_months=6)


def test_r44_an_end_date_is_refused_until_decisions_knows_the_schemes_maximum():
    file = make_file(certificate_status="active")
    refused(file, NotYetKnown, partial(decide, file, "suspend"), max_months=None, until=IN_A_MONTH)
    decide(file, "suspend", max_months=None)  # without an end date the maximum is the registry's (R6)


def test_r44_a_suspension_past_its_end_date_is_flagged_for_a_decision():
    cert = certificate()
    cert.change_status(status="suspended", decision_id="d-s", effective_from=TODAY, actor=DECIDER, reason="s",
                       until=IN_A_MONTH, max_suspension_months=6)
    cert.collect_events()
    assert cert.flag_suspension_overdue(today=IN_A_MONTH, max_suspension_months=6, actor="x") is False
    assert cert.flag_suspension_overdue(today=IN_A_MONTH + timedelta(days=1), max_suspension_months=6, actor="x")
    (event,) = recorded(cert)
    assert event.limit == IN_A_MONTH and "ended on" in event.reason


def test_r44_only_a_suspension_carries_an_end_date():
    cert = certificate()
    refused(cert, InvalidCommand, cert.change_status, status="withdrawn", decision_id="d-w", effective_from=TODAY,
            actor=DECIDER, reason="w", until=IN_A_MONTH)


# -- R45: a voluntary suspension at the holder's request ---------------------------------------------------

def requested_file(kind: str = "suspend") -> CertificationFile:
    file = make_file(certificate_status="active")
    file.note_request(request_id=REQUEST_ID, kind=kind, certificate_number=NUMBER)
    return file


def test_r45_a_voluntary_suspension_answers_the_holders_open_request():
    file = requested_file()
    decide(file, "suspend", voluntary=True, request_id=REQUEST_ID, until=IN_A_MONTH)
    take(file, "suspend", request_id=REQUEST_ID)
    assert file.requests[REQUEST_ID]["status"] == "decided"
    refused(file, InvalidCommand, partial(decide, file, "suspend"), voluntary=True, request_id=REQUEST_ID)  # answered


@pytest.mark.parametrize("terms", [{"voluntary": True}, {"request_id": REQUEST_ID}], ids=["no-request", "not-voluntary"])
def test_r45_a_voluntary_suspension_without_the_request_it_answers_is_refused(terms):
    file = requested_file()
    refused(file, InvalidCommand, partial(decide, file, "suspend"), **terms)


def test_r45_a_request_of_another_kind_or_an_answered_one_is_refused():
    file = requested_file(kind="terminate")
    refused(file, InvalidCommand, partial(decide, file, "suspend"), voluntary=True, request_id=REQUEST_ID)
    answered = requested_file()
    take(answered, "suspend", request_id=REQUEST_ID)
    take(answered, "restore", decision_id="d-r")
    refused(answered, InvalidCommand, partial(decide, answered, "suspend"), voluntary=True, request_id=REQUEST_ID)


def holder_asks(status: str, products: list[dict[str, Any]] | None = None):
    application = make_application()
    application.collect_events()
    return application, dict(request_id=REQUEST_ID, kind="suspend", products=products, reason="plant shut for works",
                              certificate={"number": NUMBER, "status": status, "products": PRODUCTS}, today=TODAY,
                              actor="Koen Collega", organisation=APPLICANT["registration_number"])


def test_r45_the_holder_requests_the_suspension_of_an_active_certificate():
    application, request = holder_asks("active")
    application.request_change(**request)
    (event,) = recorded(application)
    assert (event.kind, event.products, event.certificate_number) == ("suspend", None, NUMBER)
    assert application.open_requests("suspend", NUMBER) == [REQUEST_ID]


def test_r45_a_suspension_request_on_a_suspended_certificate_or_naming_products_is_refused():
    application, request = holder_asks("suspended")
    refused(application, InvalidTransition, application.request_change, **request)
    application, request = holder_asks("active", products=PRODUCTS[:1])
    refused(application, InvalidCommand, application.request_change, **request)


# -- R46: reinstatement on an appeal upheld against the withdrawal ------------------------------------------

def withdrawn_file(upheld: bool = True) -> CertificationFile:
    file = make_file(certificate_status="active")
    take(file, "withdraw", decision_id=WITHDRAWAL_ID)
    if upheld:
        file.note_upheld_appeal(certificate_number=NUMBER, decision_id=WITHDRAWAL_ID, appeal_id=APPEAL_ID,
                                actor=OFFICER, contested="withdraw")
        file.collect_events()
    return file


def withdrawn_certificate(upheld: bool = True) -> Certificate:
    cert = certificate("withdrawn")
    if upheld:
        cert.note_appeal_upheld(number=NUMBER, appeal_id=APPEAL_ID, decision_id=WITHDRAWAL_ID, actor=OFFICER,
                                reason="appeal upheld")
        cert.collect_events()
    return cert


def test_r46_a_withdrawn_certificate_is_reinstated_citing_the_upheld_appeal():
    file = withdrawn_file()
    decide(file, "reinstate", basis=[], appeal_id=APPEAL_ID)
    take(file, "reinstate", decision_id="d-ri")
    assert file.certificates[NUMBER] == "active" and NUMBER not in file.upheld_withdrawals
    cert = withdrawn_certificate()
    cert.reinstate(decision_id="d-ri", appeal_id=APPEAL_ID, effective_from=TODAY, actor=DECIDER, reason="reinstated")
    (event,) = recorded(cert)
    assert type(event).__name__ == "StatusChanged"
    assert (event.previous, event.status, event.appeal_id) == ("withdrawn", "active", APPEAL_ID)
    assert cert.status == "active" and cert.appeal_upheld is None


def test_r46_a_reinstatement_without_an_upheld_appeal_is_refused():
    file = withdrawn_file(upheld=False)
    refused(file, InvalidCommand, partial(decide, file, "reinstate"), basis=[], appeal_id=APPEAL_ID)
    cert = withdrawn_certificate(upheld=False)
    refused(cert, InvalidCommand, cert.reinstate, decision_id="d-ri", appeal_id=APPEAL_ID, effective_from=TODAY,
            actor=DECIDER, reason="x")


def test_r46_a_reinstatement_citing_another_appeal_or_none_is_refused():
    file = withdrawn_file()
    refused(file, InvalidCommand, partial(decide, file, "reinstate"), basis=[], appeal_id="a9914000-0000-4000-8000-00000000dead")
    refused(file, InvalidCommand, partial(decide, file, "reinstate"), basis=[])


def test_r46_only_a_withdrawn_certificate_is_reinstated_and_only_once():
    file = make_file(certificate_status="suspended")
    refused(file, InvalidTransition, partial(decide, file, "reinstate"), basis=[], appeal_id=APPEAL_ID)
    reinstated = withdrawn_file()
    take(reinstated, "reinstate", decision_id="d-ri")
    refused(reinstated, InvalidTransition, partial(decide, reinstated, "reinstate"), basis=[], appeal_id=APPEAL_ID)
    cert = certificate("suspended")
    refused(cert, InvalidTransition, cert.reinstate, decision_id="d-ri", appeal_id=APPEAL_ID, effective_from=TODAY,
            actor=DECIDER, reason="x")


def test_r46_an_appeal_upheld_against_an_earlier_withdrawal_does_not_reinstate_a_later_one():
    file = withdrawn_file()
    take(file, "reinstate", decision_id="d-ri")
    take(file, "withdraw", decision_id="d-w2")
    refused(file, InvalidCommand, partial(decide, file, "reinstate"), basis=[], appeal_id=APPEAL_ID)
