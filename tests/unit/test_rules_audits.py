"""Audits: R2 for the audit team, who may record findings and reports, and the closed report."""

from __future__ import annotations

from datetime import date

import pytest

from shared.errors import ConflictOfInterest, Duplicate, InvalidTransition, NotFound, NotPermitted
from tests.unit.factories import (
    AUDITOR,
    CONSULTANT,
    EXPERT,
    LEAD,
    OFFICER,
    OLD_CONSULTANT,
    TODAY,
    consultancy,
    independent,
    make_audit,
    recorded,
    refused,
    staffed_audit,
)

FINDING = dict(
    severity="major", requirement="PTV 21-601 §5.3", description="dimensional tolerances not checked",
    corrective_action_due=date(2026, 7, 1),
)
REPORT = dict(conclusion="nonconforming", recommendation="no grant until F-1 is closed",
              summary="one major nonconformity")


@pytest.fixture
def audit():
    audit = make_audit()
    recorded(audit)  # Planned
    return audit


def assign(audit, person, role="auditor", declaration=None, declared=None):
    audit.assign(person=person, role=role, declaration=declaration if declaration is not None else independent(),
                 consultancy=consultancy() if declared is None else declared, today=TODAY, actor=OFFICER)


# -- R2: team assignment --------------------------------------------------------------------------------


def test_r2_declared_consultant_cannot_join_the_team(audit):
    refused(audit, ConflictOfInterest, audit.assign, person=CONSULTANT, role="auditor",
            declaration=independent(), consultancy=consultancy(), today=TODAY, actor=OFFICER)
    assert audit.team == []


def test_r2_declared_consultant_cannot_lead_even_with_other_spelling(audit):
    refused(audit, ConflictOfInterest, audit.assign, person="carla  CONSULTANT", role="lead_auditor",
            declaration=independent(), consultancy=consultancy(), today=TODAY, actor=OFFICER)


@pytest.mark.parametrize("declaration", [
    {"independent": False, "interests": ["former employee of the applicant"]},
    {"interests": []},
])
def test_r2_a_member_who_does_not_declare_independence_is_refused(audit, declaration):
    refused(audit, ConflictOfInterest, audit.assign, person=AUDITOR, role="auditor",
            declaration=declaration, consultancy=consultancy(), today=TODAY, actor=OFFICER)
    assert audit.team == []


def test_r2_consultancy_ended_more_than_two_years_ago_does_not_disqualify(audit):
    assign(audit, OLD_CONSULTANT)
    (event,) = recorded(audit)
    assert type(event).__name__ == "TeamMemberAssigned"
    assert audit.member(OLD_CONSULTANT)["role"] == "auditor"


def test_an_independent_member_is_assigned_with_the_declaration(audit):
    assign(audit, LEAD, role="lead_auditor")
    (event,) = recorded(audit)
    assert event.person == LEAD and event.declaration == independent() and event.declared_on == TODAY
    assert event.actor == OFFICER and event.reason
    assert audit.lead_auditor == LEAD


# -- team composition --------------------------------------------------------------------------------


def test_a_second_lead_auditor_is_a_duplicate(audit):
    assign(audit, LEAD, role="lead_auditor")
    refused(audit, Duplicate, audit.assign, person=AUDITOR, role="lead_auditor",
            declaration=independent(), consultancy=consultancy(), today=TODAY, actor=OFFICER)
    assert audit.lead_auditor == LEAD
    assign(audit, AUDITOR, role="auditor")  # another role is fine
    assert len(audit.team) == 2


def test_the_same_person_is_assigned_once(audit):
    assign(audit, AUDITOR)
    refused(audit, Duplicate, audit.assign, person="arno auditor", role="technical_expert",
            declaration=independent(), consultancy=consultancy(), today=TODAY, actor=OFFICER)


# -- findings --------------------------------------------------------------------------------------


def test_findings_are_recorded_only_by_a_team_member():
    audit = staffed_audit()
    refused(audit, NotPermitted, audit.record_finding, finding_id="F-1", actor=EXPERT, **FINDING)
    assert audit.findings == {}
    audit.record_finding(finding_id="F-1", actor=AUDITOR, **FINDING)
    (event,) = recorded(audit)
    assert type(event).__name__ == "FindingRecorded" and event.severity == "major"
    assert audit.findings["F-1"]["status"] == "open"


def test_findings_are_closed_only_by_a_team_member_and_once():
    audit = staffed_audit()
    audit.record_finding(finding_id="F-1", actor=AUDITOR, **FINDING)
    recorded(audit)
    refused(audit, NotPermitted, audit.close_finding, finding_id="F-1", evidence="new gauge", today=TODAY,
            actor=OFFICER)
    refused(audit, NotFound, audit.close_finding, finding_id="F-9", evidence="x", today=TODAY, actor=AUDITOR)
    audit.close_finding(finding_id="F-1", evidence="calibrated gauge and records", today=TODAY, actor=AUDITOR)
    (event,) = recorded(audit)
    assert type(event).__name__ == "FindingClosed"
    assert audit.findings["F-1"]["status"] == "closed"
    refused(audit, InvalidTransition, audit.close_finding, finding_id="F-1", evidence="again", today=TODAY,
            actor=AUDITOR)


# -- report ------------------------------------------------------------------------------------------


def test_the_report_is_issued_only_by_the_lead_auditor():
    audit = staffed_audit()
    recorded(audit)
    refused(audit, NotPermitted, audit.issue_report, report_id="RPT-1", today=TODAY, actor=AUDITOR, **REPORT)
    refused(audit, NotPermitted, audit.issue_report, report_id="RPT-1", today=TODAY, actor=OFFICER, **REPORT)
    assert audit.status == "planned"
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)
    (event,) = recorded(audit)
    assert type(event).__name__ == "Reported"
    assert audit.status == "reported" and audit.report["approved_by"] == LEAD


def test_no_report_without_a_lead_auditor(audit):
    assign(audit, AUDITOR)
    refused(audit, InvalidTransition, audit.issue_report, report_id="RPT-1", today=TODAY, actor=AUDITOR, **REPORT)


def test_the_report_counts_open_findings_by_severity():
    audit = staffed_audit()
    audit.record_finding(finding_id="F-1", actor=AUDITOR, **FINDING)
    audit.record_finding(finding_id="F-2", actor=LEAD, **{**FINDING, "severity": "minor"})
    audit.close_finding(finding_id="F-2", evidence="fixed", today=TODAY, actor=LEAD)
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)
    recorded(audit)
    assert audit.report["results"] == {
        "major": {"total": 1, "open": 1}, "minor": {"total": 1, "open": 0}, "observation": {"total": 0, "open": 0},
    }


@pytest.fixture
def reported_audit():
    audit = staffed_audit()
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)
    recorded(audit)
    return audit


def test_nothing_is_recorded_after_the_report(reported_audit):
    audit = reported_audit
    refused(audit, InvalidTransition, audit.record_finding, finding_id="F-2", actor=AUDITOR, **FINDING)
    refused(audit, InvalidTransition, audit.assign, person=EXPERT, role="technical_expert",
            declaration=independent(), consultancy=consultancy(), today=TODAY, actor=OFFICER)
    refused(audit, InvalidTransition, audit.issue_report, report_id="RPT-2", today=TODAY, actor=LEAD, **REPORT)
    assert audit.report["report_id"] == "RPT-1"
    assert audit.findings == {} and len(audit.team) == 2


def test_a_report_cannot_state_conformity_while_a_major_is_open():
    from shared.errors import OpenMajorNonconformity

    audit = staffed_audit()
    audit.record_finding(finding_id="F-1", actor=AUDITOR, **FINDING)  # major
    recorded(audit)
    conforming = {**REPORT, "conclusion": "conforming", "recommendation": "grant"}
    error = refused(audit, OpenMajorNonconformity, audit.issue_report, report_id="RPT-1", today=TODAY, actor=LEAD,
                    **conforming)
    assert error.extensions["open_findings"] == ["F-1"]
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)  # nonconforming is the truth
    assert audit.report["conformity_statement"] == "nonconforming"


def test_a_report_states_conformity_once_the_majors_are_closed():
    audit = staffed_audit()
    audit.record_finding(finding_id="F-1", actor=AUDITOR, **FINDING)
    audit.close_finding(finding_id="F-1", evidence="corrected", today=TODAY, actor=LEAD)
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD,
                       **{**REPORT, "conclusion": "conforming", "recommendation": "grant"})
    assert audit.report["conformity_statement"] == "conforming"
