"""R10: every change is an immutable event with actor, time and reason.

The helpers in factories check R10 on every event the other unit tests record; this module walks one
whole file through every command of every public aggregate and checks that each kind of event was seen.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from services.applications.domain import Application
from services.audits.domain import Audit
from services.decisions.domain import Appeal, CertificationFile, Decision, StaffInterest
from services.registry.domain import Certificate, Commission, Scheme
from tests.unit.factories import (
    AUDITOR,
    DECIDER,
    LEAD,
    OFFICER,
    REGISTRAR,
    TODAY,
    assert_attributed,
    consultancy,
    independent,
    make_appeal,
    make_application,
    make_audit,
    make_certificate,
    make_decision,
    make_file,
    make_scheme,
)
from tests.unit.factories_audits import audit_with_every_new_event


def event_names(cls: type) -> set[str]:
    """The names of the events a declarative aggregate class defines."""
    return {
        name for name, value in vars(cls).items()
        if isinstance(value, type) and issubclass(value, cls.Event) and value is not cls.Event
        and value is not getattr(cls, "Created", None)
    }


def whole_file() -> dict[type, list]:
    events: dict[type, list] = {}

    application = make_application()
    application.review_application(outcome="information_requested", reason="FPC manual?", actor=OFFICER, today=TODAY)
    application.supply_information(note="FPC manual rev 4", actor="Mieke Manufacturer", on_behalf_of_applicant=True)
    application.review_application(outcome="accepted", reason="complete", actor=OFFICER, today=TODAY)
    application.withdraw(reason="plant closing", actor="Mieke Manufacturer", on_behalf_of_applicant=True)
    granted = make_application()
    granted.review_application(outcome="accepted", reason="complete", actor=OFFICER, today=TODAY)
    granted.note_decision(outcome="grant", decision_id="d-g", actor=DECIDER, reason="grant by decision d-g")
    holder, organisation = granted.submitted_by, granted.applicant["registration_number"]
    granted.accept_agreement(conditions_version="2026-07", licence_version="2026-07", today=TODAY, actor=holder,
                             organisation=organisation)
    granted.declare_consultancy(consultancy=[], actor=holder, organisation=organisation)
    in_force = {"number": "BENOR-00001", "status": "active", "products": granted.products}
    granted.request_change(request_id="r-1", kind="terminate", products=None, reason="plant closing",
                           certificate=in_force, today=TODAY, actor=holder, organisation=organisation)
    granted.note_request_decided(request_id="r-1", decision_id="d-t", outcome="terminate", actor=DECIDER,
                                 reason="terminated by decision d-t")
    events[Application] = application.collect_events() + granted.collect_events()

    audit = make_audit()
    audit.assign(person=LEAD, role="lead_auditor", declaration=independent(), consultancy=consultancy(), today=TODAY,
                 actor=OFFICER)
    audit.assign(person=AUDITOR, role="auditor", declaration=independent(), consultancy=consultancy(), today=TODAY,
                 actor=OFFICER)
    audit.record_finding(finding_id="F-1", severity="major", requirement="PTV §5", description="x",
                         corrective_action_due=None, actor=AUDITOR)
    audit.close_finding(finding_id="F-1", evidence="fixed", today=TODAY, actor=AUDITOR)
    audit.issue_report(report_id="RPT-1", conclusion="conforming", recommendation="grant", summary="ok",
                       today=TODAY, actor=LEAD)
    events[Audit] = audit.collect_events() + audit_with_every_new_event()
    # person certification (R66, R67): an examination arranged, a part scored
    exam = make_audit(kind="examination", items=[])
    exam.arrange_examination(examination={"parts": [{"part": "theory", "pass_mark": 70}]}, actor=OFFICER)
    exam.assign(person=LEAD, role="examiner", declaration=independent(), consultancy=[], today=TODAY, actor=OFFICER)
    exam.score_part(part="theory", score=80, today=TODAY, actor=LEAD)
    events[Audit] += exam.collect_events()

    events[Decision] = make_decision().collect_events()

    appeal = make_appeal()
    appeal.decide(committee=["Paula Public", "Ursula User"], outcome="dismissed", rationale="decision stands",
                  advisers=[], actor=OFFICER)
    # The appeal committee convened, its members' votes, and the decision that follows from them (R54-R56).
    voted = make_appeal()
    voted.convene(members=[{"person": "Chris Chair", "role": "chair"}, {"person": "Paula Public", "role": "member"},
                           {"person": "Ursula User", "role": "member"}], advisers=[], today=TODAY, actor=OFFICER,
                  reason="quorum")
    for member in ("Chris Chair", "Paula Public", "Ursula User"):
        voted.vote(member=member, vote="dismissed", reason="the decision stands", advisers=[], today=TODAY,
                   actor=member)
    voted.decide(committee=None, outcome=None, rationale="as voted", advisers=[], actor=OFFICER)
    events[Appeal] = appeal.collect_events() + voted.collect_events()
    # The staff interest register (R57): registered, then ended.
    interest = StaffInterest(person="Stan Staff", organisation={"name": "Betonwerk", "registration_number": "BE01"},
                             kind="employed", since=TODAY - timedelta(days=400), until=None, registered_on=TODAY,
                             actor=OFFICER, reason="declared at hiring")
    interest.end(until=TODAY, today=TODAY, actor=OFFICER, reason="left the company")
    events[StaffInterest] = interest.collect_events()

    scheme = make_scheme()
    # R53: a new TRA version on the decision of the sectoral commission responsible for the scheme.
    commission = Commission(code="sc-kerbs", name="Sectoral commission for kerbs", schemes=[scheme.code], marks=[],
                            actor=REGISTRAR, reason="commission registered")
    events[Commission] = commission.collect_events()
    scheme.publish_document(kind="TRA", ref="TRA 21", version="4.0", effective_from=date(2026, 9, 1),
                            transition_deadline=None, actor=REGISTRAR, reason="new TRA", commission=commission,
                            commission_decision={"commission": "SC-KERBS", "reference": "SC-KERBS/2026/07",
                                                 "date": date(2026, 5, 20)})
    events[Scheme] = scheme.collect_events()

    certificate = make_certificate()
    certificate.flag_surveillance_overdue(today=date(2027, 6, 1), actor="hallmark:registry")
    # R50: a TRA/PTV transition deadline passed while the certificate stayed on the older version.
    certificate.flag_transitions_overdue(
        today=TODAY, actor="hallmark:registry", scheme_documents=[{
            "kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": "2026-01-01",
            "transition_deadline": "2026-05-01"}])
    certificate.maintain(decision_id="d-m", effective_from=TODAY, actor=DECIDER, reason="surveillance ok")
    certificate.revise(outcome="renew", decision_id="d-r", effective_from=TODAY, scope=None, valid_until=None, actor=DECIDER,
                       reason="renew")
    # The sanctions ladder (R40-R43): a warning, a conditional withdrawal flagged past its deadline, then lifted.
    certificate.warn(decision_id="d-w", effective_from=TODAY, actor=DECIDER, reason="corrective actions late")
    certificate.withdraw_conditionally(decision_id="d-c", effective_from=TODAY, deadline=TODAY + timedelta(days=30),
                                       conditions="close the major nonconformity", actor=DECIDER, reason="conditions")
    certificate.flag_conditional_withdrawal_overdue(today=TODAY + timedelta(days=31), actor="hallmark:registry")
    certificate.lift_conditional_withdrawal(decision_id="d-l", effective_from=TODAY, actor=DECIDER,
                                            reason="verification shows the conditions met")
    certificate.change_status(status="suspended", decision_id="d-s", effective_from=TODAY, actor=DECIDER,
                              reason="suspend")
    certificate.flag_suspension_overdue(today=date(2027, 1, 1), max_suspension_months=6, actor="hallmark:registry")
    certificate.note_appeal_upheld(number=certificate.number, appeal_id="p-1", decision_id="d-s", actor=OFFICER,
                                   reason="appeal upheld: a corrective decision is due")
    certificate.decision_not_applied(number=certificate.number, decision_id="d-x", problem="invalid-transition",
                                     actor="hallmark:registry", reason="cannot restore")
    certificate.expire(today=date(2028, 1, 1), actor="hallmark:registry")
    events[Certificate] = certificate.collect_events()
    return events


@pytest.mark.parametrize("aggregate_cls", [Application, Audit, Decision, Appeal, Scheme, Certificate, Commission,
                                           StaffInterest],
                         ids=lambda c: c.__name__)
def test_r10_every_event_has_actor_time_and_reason(aggregate_cls):
    recorded = whole_file()[aggregate_cls]
    assert {type(e).__name__ for e in recorded} == event_names(aggregate_cls), "the walk misses an event kind"
    assert_attributed(aggregate_cls, recorded)


@pytest.mark.parametrize("attribute,value", [("actor", ""), ("reason", "  ")])
def test_r10_the_check_detects_a_missing_actor_or_reason(attribute, value):
    application = make_application()
    (submitted,) = application.collect_events()
    assert_attributed(Application, [submitted])
    stripped = dataclasses.replace(submitted, **{attribute: value})
    with pytest.raises(AssertionError):
        assert_attributed(Application, [stripped])


def test_r10_events_are_immutable():
    event = make_decision().collect_events()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.actor = "someone else"  # type: ignore[misc]
    assert event.actor == DECIDER


def test_r10_the_file_records_who_took_a_decision_and_why():
    file = make_file()
    decision = make_decision()
    file.take(decision_id=str(decision.id), outcome="grant", certificate_number=None, actor=DECIDER, reason="grant")
    (event,) = file.collect_events()
    assert type(event).__name__ == "DecisionTaken"
    assert getattr(event, "actor", None) == DECIDER
    assert getattr(event, "reason", None)


def test_r10_certification_file_knowledge_events_are_exempt():
    file = CertificationFile(application_id="x")
    file.note_application(application={"consultancy": []})
    assert_attributed(CertificationFile, file.collect_events())  # Opened, ApplicationNoted: learnt, no actor
