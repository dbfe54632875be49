"""Applications: R2 for the applications officer, the review and withdrawal state machine, R10."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain import advisers_within_cooling_off
from shared.errors import ConflictOfInterest, InvalidTransition, NotPermitted
from tests.unit.factories import (
    APPLICANT_PERSON,
    CONSULTANT,
    LONG_AGO,
    OFFICER,
    OLD_CONSULTANT,
    TODAY,
    make_application,
    recorded,
    refused,
)


@pytest.fixture
def application():
    application = make_application()
    recorded(application)  # the Submitted event, checked for R10
    return application


# -- R2 --------------------------------------------------------------------------------------------


def test_r2_declared_consultant_cannot_review(application):
    refused(application, ConflictOfInterest, application.review_application,
            outcome="accepted", reason="complete", actor=CONSULTANT, today=TODAY)
    assert application.status == "submitted"
    assert application.review is None


@pytest.mark.parametrize("spelling", ["carla consultant", "  CARLA   Consultant "])
def test_r2_consultant_is_recognised_whatever_the_spelling(application, spelling):
    refused(application, ConflictOfInterest, application.review_application,
            outcome="accepted", reason="complete", actor=spelling, today=TODAY)


def test_r2_ongoing_consultancy_disqualifies():
    application = make_application(consultancy=[{"person": CONSULTANT, "until": None}])
    refused(application, ConflictOfInterest, application.review_application,
            outcome="accepted", reason="complete", actor=CONSULTANT, today=TODAY)


def test_r2_consultancy_ended_more_than_two_years_ago_does_not_disqualify(application):
    application.review_application(outcome="accepted", reason="complete; scheme exists", actor=OLD_CONSULTANT,
                                   today=TODAY)
    (event,) = recorded(application)
    assert type(event).__name__ == "Reviewed"
    assert application.status == "accepted"
    assert application.review["by"] == OLD_CONSULTANT


def test_r2_an_independent_officer_reviews(application):
    application.review_application(outcome="accepted", reason="complete; CB competent", actor=OFFICER, today=TODAY)
    (event,) = recorded(application)
    assert event.actor == OFFICER and event.reason == "complete; CB competent"
    assert application.status == "accepted"
    assert application.review == {"outcome": "accepted", "by": OFFICER, "on": "2026-06-01",
                                  "reason": "complete; CB competent"}


def test_r2_cooling_off_horizon_is_two_years_before_today():
    declared = [
        {"person": "Just Outside", "until": "2024-05-31"},
        {"person": "On The Horizon", "until": "2024-06-01"},
        {"person": "Inside", "until": "2025-12-31"},
        {"person": "Ongoing", "until": None},
        {"person": "As Date", "until": date(2025, 1, 1)},
    ]
    assert advisers_within_cooling_off(declared, TODAY) == ["On The Horizon", "Inside", "Ongoing", "As Date"]
    assert LONG_AGO.isoformat() == "2024-05-31"


# -- review and withdrawal state machine ---------------------------------------------------------------


def test_an_application_is_reviewed_once(application):
    application.review_application(outcome="rejected", reason="scheme not in scope", actor=OFFICER, today=TODAY)
    recorded(application)
    refused(application, InvalidTransition, application.review_application,
            outcome="accepted", reason="second thoughts", actor=OFFICER, today=TODAY)
    assert application.status == "rejected"


def test_the_applicant_withdraws_its_own_application(application):
    application.withdraw(reason="plant closing", actor=APPLICANT_PERSON, on_behalf_of_applicant=True)
    (event,) = recorded(application)
    assert type(event).__name__ == "Withdrawn"
    assert application.status == "withdrawn"


def test_another_applicant_person_cannot_withdraw(application):
    refused(application, NotPermitted, application.withdraw,
            reason="not mine", actor="Someone Else", on_behalf_of_applicant=True)
    assert application.status == "submitted"


def test_an_officer_withdraws_an_accepted_application(application):
    application.review_application(outcome="accepted", reason="complete", actor=OFFICER, today=TODAY)
    application.withdraw(reason="agreement not signed", actor=OFFICER, on_behalf_of_applicant=False)
    assert [type(e).__name__ for e in recorded(application)] == ["Reviewed", "Withdrawn"]


def test_a_rejected_application_cannot_be_withdrawn(application):
    application.review_application(outcome="rejected", reason="incomplete", actor=OFFICER, today=TODAY)
    recorded(application)
    refused(application, InvalidTransition, application.withdraw,
            reason="too late", actor=APPLICANT_PERSON, on_behalf_of_applicant=True)


@pytest.mark.parametrize("outcome,status", [("grant", "granted"), ("refuse", "refused")])
def test_a_decided_application_is_closed_to_withdrawal_and_review(outcome, status):
    application = make_application()
    application.review_application(outcome="accepted", reason="complete", actor=OFFICER, today=TODAY)
    application.note_decision(outcome=outcome, decision_id="d", actor="Dirk Decider", reason=outcome)
    application.collect_events()
    assert application.status == status
    refused(application, InvalidTransition, application.withdraw, reason="too late", actor="Mieke Manufacturer",
            on_behalf_of_applicant=True)
