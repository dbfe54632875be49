"""Scheme-driven evaluation (issue 10, part 1) through the domain: the admission frequency (R48), the
surveillance programme (R49) and the TRA/PTV transition deadline (R50) in the registry; the renewal window (R51)
and a basis with its nonconformities closed (R52) in decisions. Pure; every date is fixed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.decisions.domain import CertificationFile
from services.registry.domain import Certificate, Commission, Scheme
from shared.errors import InvalidCommand, NotFound, NotPermitted, OpenNonconformity
from tests.unit.factories import (
    AUDIT_ID,
    DECIDER,
    NUMBER,
    REGISTRAR,
    SCHEME_DOCUMENTS,
    SURVEILLANCE_ID,
    decide_kwargs,
    make_certificate,
    make_file,
    recorded,
    refused,
)

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



# -- R51: a renewal rests on a renewal audit reported inside the scheme's renewal window ------------------

RENEWAL_ID = "a0d17000-0000-4000-8000-0000000000r1"


def renewable_file(*, window: int = 4, reported_on: date = date(2026, 5, 1)) -> CertificationFile:
    """An active certificate valid until 2026-08-01 under a scheme with a renewal window of ``window`` months;
    a renewal audit reported on ``reported_on``."""
    file = make_file(certificate_status="active")
    file.note_validity(number=NUMBER, valid_until="2026-08-01")
    if window:
        file.note_renewal_window(number=NUMBER, months=window)
    file.note_audit(audit_id=RENEWAL_ID, kind="renewal")
    file.note_report(audit_id=RENEWAL_ID, conclusion="conforming", issued_on=reported_on.isoformat())
    file.collect_events()
    return file


def check_renew(file: CertificationFile, **overrides: Any) -> None:
    file.check_decision(**decide_kwargs("renew", **overrides))
    assert file.collect_events() == []  # a check records nothing


def test_r51_a_renewal_on_a_renewal_audit_reported_inside_the_window_is_allowed():
    check_renew(renewable_file(), basis=[RENEWAL_ID])  # window 2026-04-01 to 2026-08-01


def test_r51_refused_a_renewal_without_a_renewal_audit_or_on_one_reported_before_the_window():
    file = renewable_file()
    error = refused(file, InvalidCommand, file.check_decision, **decide_kwargs("renew", basis=[AUDIT_ID]))
    assert "R51" in str(error)
    early = renewable_file(reported_on=date(2026, 3, 31))
    refused(early, InvalidCommand, early.check_decision, **decide_kwargs("renew", basis=[RENEWAL_ID]))


def test_r51_a_scheme_without_a_renewal_window_keeps_the_basis_it_had():
    check_renew(renewable_file(window=0), basis=[AUDIT_ID])


# -- R52: a maintenance or a renewal rests on audits whose nonconformities are closed --------------------

@pytest.mark.parametrize("outcome, audit_id, kind", [("maintain", SURVEILLANCE_ID, "surveillance"),
                                                     ("renew", RENEWAL_ID, "renewal")])
def test_r52_an_open_minor_of_the_basis_refuses_a_maintenance_or_a_renewal_until_closed(outcome, audit_id, kind):
    file = renewable_file()
    file.note_audit(audit_id=audit_id, kind=kind)
    file.note_finding(audit_id=audit_id, finding_id="F-7", severity="minor")
    file.note_report(audit_id=audit_id, conclusion="nonconforming", issued_on="2026-05-01")
    file.collect_events()
    error = refused(file, OpenNonconformity, file.check_decision, **decide_kwargs(outcome, basis=[audit_id]))
    assert error.extensions["open_findings"] == ["F-7"] and "R52" in str(error)
    file.note_finding_closed(finding_id="F-7")
    file.collect_events()
    file.check_decision(**decide_kwargs(outcome, basis=[audit_id]))


def test_r52_an_observation_or_a_finding_of_an_audit_not_cited_does_not_block():
    file = renewable_file()
    file.note_finding(audit_id=RENEWAL_ID, finding_id="F-8", severity="observation")
    file.note_finding(audit_id=AUDIT_ID, finding_id="F-9", severity="minor")  # not in the basis
    file.collect_events()
    check_renew(file, basis=[RENEWAL_ID])


# -- R53: a TRA/PTV version is published on the decision of a sectoral commission responsible for the scheme --

DECIDED = {"commission": "SC-KERBS", "reference": "SC-KERBS/2026/07", "date": date(2026, 5, 20)}
TODAY_R53 = date(2026, 6, 1)


def commission(**overrides: Any) -> Commission:
    kwargs: dict[str, Any] = dict(code="sc-kerbs", name="Sectoral commission for kerbs", schemes=["BENOR-PTV-21-601"],
                                  marks=[], actor=REGISTRAR, reason="commission registered by the administrator")
    kwargs.update(overrides)
    return Commission(**kwargs)


def publish(*, scheme: Scheme, kind: str = "PTV", **overrides: Any) -> None:
    kwargs: dict[str, Any] = dict(kind=kind, ref="PTV 21-601" if kind == "PTV" else "IR 1", version="3.0",
                                  effective_from=date(2026, 9, 1), transition_deadline=date(2027, 3, 1),
                                  actor=REGISTRAR, reason="published", commission=commission(),
                                  commission_decision=DECIDED, today=TODAY_R53)
    kwargs.update(overrides)
    scheme.publish_document(**kwargs)


@pytest.mark.parametrize("responsible", [dict(), dict(schemes=[], marks=["BENOR"])], ids=["scheme", "sector"])
def test_r53_a_ptv_version_is_published_on_the_decision_of_a_responsible_commission(responsible):
    scheme = programme_scheme()
    scheme.collect_events()
    publish(scheme=scheme, commission=commission(**responsible))
    (event,) = recorded(scheme)
    assert event.commission_decision == {"commission": "SC-KERBS", "reference": "SC-KERBS/2026/07",
                                         "date": "2026-05-20"}
    assert scheme.commission_decisions == [{"kind": "PTV", "ref": "PTV 21-601", "version": "3.0",
                                            **event.commission_decision}]


def test_r53_refused_without_a_commission_decision_or_by_a_commission_not_responsible():
    scheme = programme_scheme()
    scheme.collect_events()
    assert "R53" in str(refused(scheme, InvalidCommand, publish, scheme=scheme, commission=None, commission_decision=None))
    refused(scheme, NotPermitted, publish, scheme=scheme, commission=commission(schemes=["PTV-OTHER"]))
    refused(scheme, NotPermitted, publish, scheme=scheme, commission=commission(schemes=[], marks=["COPRO"]))
    refused(scheme, NotFound, publish, scheme=scheme, commission=None)  # no commission of that code
    refused(scheme, InvalidCommand, publish, scheme=scheme, commission_decision={**DECIDED, "date": date(2026, 6, 2)})


def test_r53_other_document_kinds_need_no_commission_decision():
    scheme = programme_scheme()
    scheme.collect_events()
    publish(scheme=scheme, kind="IR", commission=None, commission_decision=None)
    (event,) = recorded(scheme)
    assert event.commission_decision is None and scheme.commission_decisions == []


def test_r53_a_commission_is_responsible_for_schemes_or_a_sector():
    assert commission().code == "SC-KERBS"
    with pytest.raises(InvalidCommand, match="R53"):
        commission(schemes=[], marks=[])
