"""Scheme-driven evaluation (issue 10, part 1) through the registry's domain: the admission frequency (R48),
the surveillance programme (R49) and the TRA/PTV transition deadline (R50). Pure; every date is fixed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.registry.domain import Certificate, Scheme
from shared.errors import InvalidCommand, NotPermitted
from tests.unit.factories import DECIDER, REGISTRAR, SCHEME_DOCUMENTS, make_certificate, recorded

SWEEP = "hallmark:registry"
GRANTED = date(2026, 1, 1)


def programme_scheme(**overrides: Any) -> Scheme:
    kwargs: dict[str, Any] = dict(
        code="benor-ptv-21-601", mark="BENOR", title="Concrete kerb units", certification_type="product",
        documents=SCHEME_DOCUMENTS, validity_months=36, surveillance_months=6, admission_months=6,
        max_suspension_months=6, admission_surveillance_months=3, renewal_window_months=4, sampling_months=2,
        actor=REGISTRAR, reason="scheme adopted by the sectoral commission",
    )
    kwargs.update(overrides)
    return Scheme(**kwargs)


def admitted_certificate() -> Certificate:
    """Granted on 2026-01-01 under a scheme surveilled every 3 months during its 6-month admission period."""
    certificate = make_certificate(valid_from=GRANTED, valid_until=date(2029, 1, 1), surveillance_months=6,
                                   surveillance_due=date(2026, 4, 1), admission_until=date(2026, 7, 1),
                                   admission_surveillance_months=3)
    certificate.collect_events()
    return certificate


# -- R48: the admission period has its own surveillance frequency ----------------------------------------

def test_r48_a_scheme_registers_an_admission_frequency_within_its_admission_period():
    scheme = programme_scheme()
    recorded(scheme)
    assert (scheme.admission_surveillance_months, scheme.renewal_window_months, scheme.sampling_months) == (3, 4, 2)


def test_r48_refused_an_admission_frequency_longer_than_the_admission_period():
    with pytest.raises(InvalidCommand, match="R48"):
        programme_scheme(admission_surveillance_months=9)
    with pytest.raises(InvalidCommand, match="R48"):
        programme_scheme(admission_months=0)


def test_r48_maintenance_during_admission_follows_the_admission_frequency_then_the_regular_one():
    certificate = admitted_certificate()
    certificate.maintain(decision_id="d1", effective_from=date(2026, 4, 1), actor=DECIDER, reason="first surveillance")
    assert certificate.surveillance_due == date(2026, 7, 1)  # every 3 months, never past the admission period
    certificate.maintain(decision_id="d2", effective_from=date(2026, 6, 1), actor=DECIDER, reason="early surveillance")
    assert certificate.surveillance_due == date(2026, 7, 1)  # capped at the admission period's end
    certificate.maintain(decision_id="d3", effective_from=date(2026, 7, 1), actor=DECIDER, reason="closes admission")
    assert certificate.surveillance_due == date(2027, 1, 1)  # then every 6 months
    assert [type(e).__name__ for e in recorded(certificate)] == ["Maintained"] * 3


def test_r48_without_an_admission_frequency_the_regular_frequency_applies_throughout():
    certificate = make_certificate()  # no admission frequency: surveillance every 12 months
    certificate.collect_events()
    certificate.maintain(decision_id="d", effective_from=date(2026, 3, 1), actor=DECIDER, reason="surveillance")
    assert certificate.surveillance_due == date(2027, 3, 1)


# -- R49: the surveillance programme ---------------------------------------------------------------------

def test_r49_the_programme_plans_admission_then_regular_surveillance_over_the_validity():
    programme = admitted_certificate().programme(renewal_window_months=4, sampling_months=2, today=GRANTED)
    planned = [(p["due"], p["period"]) for p in programme["planned_surveillance"]]
    assert planned[:4] == [(date(2026, 4, 1), "admission"), (date(2026, 7, 1), "admission"),
                           (date(2027, 1, 1), "regular"), (date(2027, 7, 1), "regular")]
    assert planned[-1] == (date(2028, 7, 1), "regular")  # none on or after the last valid day
    assert programme["renewal"] == {"audit_kind": "renewal",
                                    "window": {"opens": date(2028, 9, 1), "closes": date(2029, 1, 1)}}
    assert programme["sampling_months"] == 2
    assert programme["surveillance_due"] == date(2026, 4, 1)


def test_r49_refused_a_renewal_window_as_long_as_the_validity():
    with pytest.raises(InvalidCommand, match="R49"):
        programme_scheme(renewal_window_months=36)


def test_r49_the_programme_is_read_by_staff_and_the_holders_staff_only():
    certificate = admitted_certificate()
    certificate.check_reader(staff=True, organisation=None)
    certificate.check_reader(staff=False, organisation="BE 0123.456.789")
    with pytest.raises(NotPermitted):
        certificate.check_reader(staff=False, organisation="BE0999999999")


# -- R50: a TRA/PTV transition deadline that passes flags the certificate --------------------------------

NEW_PTV = {"kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": "2026-02-01",
           "transition_deadline": "2026-05-31"}


def test_r50_a_passed_transition_deadline_flags_the_certificate_once():
    certificate = admitted_certificate()
    documents = [*SCHEME_DOCUMENTS, NEW_PTV]
    assert certificate.flag_transitions_overdue(today=date(2026, 5, 31), scheme_documents=documents,
                                                actor=SWEEP) is False
    assert certificate.flag_transitions_overdue(today=date(2026, 6, 1), scheme_documents=documents,
                                                actor=SWEEP) is True
    [flag] = recorded(certificate)
    assert type(flag).__name__ == "TransitionOverdue"
    assert (flag.version, flag.from_version, flag.deadline) == ("3.0", "2.1", date(2026, 5, 31))
    assert "R50" in flag.reason
    assert certificate.flag_transitions_overdue(today=date(2026, 6, 2), scheme_documents=documents,
                                                actor=SWEEP) is False


def test_r50_no_flag_once_the_certificate_moved_to_the_new_version():
    certificate = admitted_certificate()
    moved = [SCHEME_DOCUMENTS[0], NEW_PTV]
    certificate.revise(outcome="extend_scope", decision_id="d", effective_from=date(2026, 5, 1), scope="kerbs",
                       valid_until=None, documents=moved, actor=DECIDER, reason="moved to PTV 21-601 3.0")
    certificate.collect_events()
    assert certificate.flag_transitions_overdue(today=date(2026, 6, 1), scheme_documents=[*SCHEME_DOCUMENTS, NEW_PTV],
                                                actor=SWEEP) is False


def test_r50_a_flag_is_cleared_by_the_revision_that_moves_the_certificate():
    certificate = admitted_certificate()
    certificate.flag_transitions_overdue(today=date(2026, 6, 1), scheme_documents=[*SCHEME_DOCUMENTS, NEW_PTV],
                                         actor=SWEEP)
    assert certificate.transitions_overdue
    certificate.revise(outcome="extend_scope", decision_id="d", effective_from=date(2026, 6, 2), scope="kerbs",
                       valid_until=None, documents=[SCHEME_DOCUMENTS[0], NEW_PTV], actor=DECIDER, reason="moved")
    assert certificate.transitions_overdue == []


def test_r50_no_flag_on_a_withdrawn_certificate():
    certificate = admitted_certificate()
    certificate.change_status(status="withdrawn", decision_id="d", effective_from=date(2026, 3, 1), actor=DECIDER,
                              reason="withdrawn")
    certificate.collect_events()
    assert certificate.flag_transitions_overdue(today=date(2026, 6, 1), scheme_documents=[*SCHEME_DOCUMENTS, NEW_PTV],
                                                actor=SWEEP) is False

