"""The holder's answers to an audit: corrective actions (R34), their review by the team (R35), overdue
findings (R36), and comments on the report within five Belgian working days (R37)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from uuid import uuid4

import pytest
from eventsourcing.utils import get_topic

from services.audits.domain import AuditedFile, comments_until, same_organisation
from shared.calendar import add_working_days, belgian_public_holidays, easter_sunday, is_working_day
from shared.errors import Duplicate, InvalidTransition, NotFound, NotPermitted
from tests.unit.factories import AUDITOR, EXPERT, LEAD, TODAY, recorded, refused
from tests.unit.factories_audits import (
    ACTION,
    DUE,
    HOLDER,
    HOLDER_STAFF,
    OTHER_HOLDER,
    REPORT,
    sampling_audit,
    submit,
    with_finding,
)


@pytest.fixture
def audit():
    return with_finding(sampling_audit())


def review(audit, outcome="accepted", *, actor=AUDITOR, ca_id="CA-1", today=TODAY):
    audit.review_corrective_action(finding_id="F-1", corrective_action_id=ca_id, outcome=outcome,
                                   reason="records checked on site" if outcome == "accepted" else "no evidence of curing",
                                   today=today, actor=actor)


# -- R34: the holder submits ------------------------------------------------------------------------------


def test_r34_the_holders_staff_submit_a_corrective_action_by_the_due_date(audit):
    submit(audit, organisation="be 0123.456.789", today=DUE)
    (event,) = recorded(audit)
    assert type(event).__name__ == "CorrectiveActionSubmitted"
    assert event.actor == HOLDER_STAFF and event.organisation == HOLDER and event.late is False
    (action,) = audit.findings["F-1"]["corrective_actions"]
    assert action["status"] == "submitted" and action["evidence"] == ACTION["evidence"]


def test_r34_a_late_corrective_action_is_received_and_marked_late(audit):
    submit(audit, today=DUE + timedelta(days=1))
    (event,) = recorded(audit)
    assert event.late is True and "late" in event.reason
    assert audit.findings["F-1"]["corrective_actions"][0]["late"] is True


@pytest.mark.parametrize("organisation,holder", [
    (OTHER_HOLDER, HOLDER),  # another manufacturer's staff
    (None, HOLDER),  # a token without organisation
    (HOLDER, None),  # a file learnt before audits knew its holder: nobody outside the staff
])
def test_r34_nobody_but_the_holders_staff_submits(audit, organisation, holder):
    refused(audit, NotPermitted, partial(submit, audit), organisation=organisation, holder=holder)


def test_r34_one_corrective_action_awaits_review_at_a_time(audit):
    submit(audit)
    recorded(audit)
    refused(audit, Duplicate, partial(submit, audit), ca_id="CA-2")


def test_r34_no_corrective_action_for_a_closed_or_unknown_finding(audit):
    audit.close_finding(finding_id="F-1", evidence="closed on site", today=TODAY, actor=AUDITOR)
    recorded(audit)
    refused(audit, InvalidTransition, partial(submit, audit))
    refused(audit, NotFound, partial(submit, audit), finding_id="F-9")


# -- R35: the team reviews ------------------------------------------------------------------------------


def test_r35_a_team_member_accepts_and_the_finding_closes(audit):
    submit(audit)
    recorded(audit)
    review(audit, "accepted")
    reviewed, closed = recorded(audit)
    assert type(reviewed).__name__ == "CorrectiveActionReviewed" and reviewed.outcome == "accepted"
    assert reviewed.reason == "records checked on site"
    assert type(closed).__name__ == "FindingClosed" and closed.finding_id == "F-1" and "CA-1" in closed.evidence
    assert audit.findings["F-1"]["status"] == "closed"


def test_r35_a_rejection_lets_the_holder_submit_again(audit):
    submit(audit)
    recorded(audit)
    review(audit, "rejected", actor=LEAD)
    (event,) = recorded(audit)
    assert event.outcome == "rejected" and audit.findings["F-1"]["status"] == "open"
    submit(audit, ca_id="CA-2")
    recorded(audit)
    review(audit, "accepted", ca_id="CA-2")
    assert audit.findings["F-1"]["status"] == "closed"


@pytest.mark.parametrize("reviewer", [HOLDER_STAFF, EXPERT])
def test_r35_neither_the_holder_nor_anyone_outside_the_team_reviews(audit, reviewer):
    submit(audit)
    recorded(audit)
    refused(audit, NotPermitted, partial(review, audit), actor=reviewer)
    assert audit.findings["F-1"]["corrective_actions"][0]["status"] == "submitted"


def test_r35_a_corrective_action_is_reviewed_once(audit):
    submit(audit)
    review(audit, "rejected")
    recorded(audit)
    refused(audit, InvalidTransition, partial(review, audit), outcome="accepted")
    refused(audit, NotFound, partial(review, audit), ca_id="CA-9")


# -- R36: overdue ---------------------------------------------------------------------------------------


def test_r36_a_finding_past_its_due_date_without_an_accepted_action_is_overdue(audit):
    assert audit.overdue(DUE) == []  # due today: not yet overdue
    (item,) = audit.overdue(DUE + timedelta(days=3))
    assert item["kind"] == "overdue_corrective_action" and item["finding_id"] == "F-1"
    assert item["days_overdue"] == 3 and item["due"] == DUE.isoformat() and item["application_id"]
    submit(audit, today=DUE + timedelta(days=3))  # late, awaiting review: still overdue
    assert audit.overdue(DUE + timedelta(days=4))[0]["awaiting_review"] is True
    review(audit, "accepted", today=DUE + timedelta(days=4))
    assert audit.overdue(DUE + timedelta(days=5)) == []


def test_r36_a_finding_without_due_date_is_never_overdue():
    audit = with_finding(sampling_audit(), corrective_action_due=None)
    assert audit.overdue(TODAY + timedelta(days=365)) == []


# -- R37: comments on the report within five working days ----------------------------------------------


@pytest.fixture
def reported(audit):
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)  # Monday 1 June 2026
    recorded(audit)
    return audit


def comment(audit, today, organisation=HOLDER, holder=HOLDER):
    audit.comment_on_report(comment_id="C-1", comment="The batch tested was a trial batch.", holder=holder,
                            organisation=organisation, today=today, actor=HOLDER_STAFF)


def test_r37_the_holder_comments_on_the_fifth_working_day(reported):
    assert reported.comments_until == date(2026, 6, 8)  # Tue-Fri, then Monday
    comment(reported, date(2026, 6, 8))
    (event,) = recorded(reported)
    assert type(event).__name__ == "ReportCommented" and event.report_id == "RPT-1"
    assert reported.comments[0]["comment"].startswith("The batch") and not reported.is_final(date(2026, 6, 8))


def test_r37_after_five_working_days_the_report_is_final(reported):
    error = refused(reported, InvalidTransition, partial(comment, reported, date(2026, 6, 9)))
    assert error.extensions["comments_until"] == "2026-06-08" and "final" in error.detail
    assert reported.is_final(date(2026, 6, 9))


def test_r37_no_comment_before_the_report_or_from_another_organisation(audit):
    refused(audit, InvalidTransition, partial(comment, audit, TODAY))
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)
    recorded(audit)
    refused(audit, NotPermitted, partial(comment, audit, TODAY), organisation=OTHER_HOLDER)
    refused(audit, NotPermitted, partial(comment, audit, TODAY), holder=None)


@pytest.mark.parametrize("issued,until", [
    (date(2026, 6, 5), date(2026, 6, 12)),  # a Friday: the weekend does not count
    (date(2026, 5, 13), date(2026, 5, 21)),  # Ascension (14 May) does not count
    (date(2026, 5, 22), date(2026, 6, 1)),  # Whit Monday (25 May) does not count
    (date(2026, 7, 17), date(2026, 7, 27)),  # the National Day (21 July, a Tuesday) does not count
    (date(2026, 12, 24), date(2027, 1, 4)),  # Christmas and New Year do not count
    (date(2026, 6, 6), date(2026, 6, 12)),  # a report dated on a Saturday: Monday is the first day
])
def test_r37_working_days_skip_weekends_and_belgian_public_holidays(issued, until):
    assert comments_until(issued) == until


def test_belgian_public_holidays_are_the_ten_legal_ones():
    assert [easter_sunday(y) for y in (2025, 2026, 2027)] == [date(2025, 4, 20), date(2026, 4, 5), date(2027, 3, 28)]
    assert sorted(belgian_public_holidays(2026)) == [
        date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14), date(2026, 5, 25),
        date(2026, 7, 21), date(2026, 8, 15), date(2026, 11, 1), date(2026, 11, 11), date(2026, 12, 25)]
    assert not is_working_day(date(2026, 4, 6)) and is_working_day(date(2026, 4, 7))
    assert add_working_days(date(2026, 6, 1), 0) == date(2026, 6, 1)


# -- what audits knows of the holder ---------------------------------------------------------------------


def test_the_file_knows_its_holder_and_the_current_consultancy_declaration():
    file = AuditedFile(application_id="a-1", status="submitted", consultancy=[], products=[], organisation=HOLDER,
                       scheme=None, examination=None)
    file.learn_consultancy([{"person": "Carla Consultant", "organisation": "Q BV", "until": None}])
    assert file.consultancy[0]["person"] == "Carla Consultant" and file.organisation == HOLDER



def test_a_file_learnt_before_audits_kept_the_holder_has_none():
    """An AuditedFile.Learnt stored before this change has no organisation: it still loads, holderless."""
    old = object.__new__(AuditedFile.Learnt)  # as the store's mapper rebuilds a stored event
    old.__dict__.update(originator_id=uuid4(), originator_version=1, timestamp=datetime.now(UTC),
                        originator_topic=get_topic(AuditedFile), application_id="a-2", status="submitted",
                        consultancy=[], products=[])
    assert old.mutate(None).organisation is None
    assert same_organisation("BE 0123.456.789", HOLDER) and not same_organisation(None, None)
