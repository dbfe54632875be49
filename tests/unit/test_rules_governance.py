"""Governance (ISO/IEC 17065 4.2, 7.13) through the domain: the appeal committee's composition (R54), the outcome
that follows from its recorded votes (R55), the votes themselves (R56), the staff interest register (R57) and R2 as
the register tells it (R58), for every role R2 covers. Each rule allowed and refused; a refusal records nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.applications.domain import Application
from services.decisions.domain import Appeal, StaffInterest, check_interest
from shared.domain import StaffInterests, interests_within_cooling_off, years_before
from shared.errors import (
    ConflictOfInterest,
    Duplicate,
    InvalidCommand,
    InvalidTransition,
    NotPermitted,
    SeparationOfDuties,
)
from tests.unit import factories
from tests.unit.factories import (
    APPLICANT,
    APPLICANT_PERSON,
    CONSULTANT,
    DECIDER,
    LEAD,
    NUMBER,
    OFFICER,
    TODAY,
    consultancy,
    decide_kwargs,
    independent,
    make_appeal,
    make_application,
    make_audit,
    recorded,
    refused,
)
from tests.unit.test_rules_complaints import admissible, involvement

CHAIR, PAULA, UMA, UGO = "Chris Chair", "Paula Public", "Uma User", "Ugo User"
ADMIN = "Ada Admin"
HOLDER_ORG = {"name": APPLICANT["name"], "registration_number": APPLICANT["registration_number"]}
OTHER_ORG = {"name": "Steenbakkerij Zuid BV", "registration_number": "BE0999888777"}
STAFFER = "Stan Staff"  # a member of staff with an interest in the holder, which the holder never declared


def members(*people: str, chair: str = CHAIR) -> list[dict]:
    return [{"person": chair, "role": "chair", "organisation": "FOD Economie"},
            *({"person": p, "role": "member", "organisation": None} for p in people)]


@pytest.fixture
def appeal() -> Appeal:
    appeal = make_appeal()
    recorded(appeal)  # Lodged
    return appeal


def convened(appeal: Appeal, *people: str, interests=()) -> Appeal:
    appeal.convene(members=members(*(people or (PAULA, UMA))), advisers=[], today=TODAY, actor=ADMIN,
                   reason="two public, one user member", interests=interests)
    recorded(appeal)
    return appeal


def vote(appeal: Appeal, member: str, choice: str, **kwargs) -> None:
    appeal.vote(member=member, vote=choice, reason=f"{member}: {choice}", advisers=[], today=TODAY,
                actor=kwargs.pop("actor", member), **kwargs)


def register(person: str = STAFFER, organisation=None, kind: str = "employed", since=None, until=None) -> dict:
    """An entry of the register as the services know it (StaffInterests.learn)."""
    known = StaffInterests()
    known.learn(interest_id="i-1", person=person, organisation=organisation or HOLDER_ORG, kind=kind,
                since=(since or TODAY - timedelta(days=900)).isoformat(), until=until.isoformat() if until else None)
    return known


def in_holder(known: StaffInterests) -> list[dict]:
    return known.within_cooling_off(APPLICANT["registration_number"], TODAY)


# -- R54: the committee's composition --------------------------------------------------------------------------


def test_r54_a_committee_of_three_with_one_chair_is_convened(appeal):
    appeal.convene(members=members(PAULA, UMA), advisers=[CONSULTANT], today=TODAY, actor=ADMIN, reason="quorum")
    (event,) = recorded(appeal)
    assert type(event).__name__ == "CommitteeConvened" and [m["role"] for m in event.members] == [
        "chair", "member", "member"]
    assert appeal.status == "convened" and appeal.chair == CHAIR


@pytest.mark.parametrize("composition", [
    members(PAULA),  # two: under the quorum
    [{"person": p, "role": "member"} for p in (CHAIR, PAULA, UMA)],  # no chair
    [*members(PAULA), {"person": UMA, "role": "chair"}],  # two chairs
    members(PAULA, "paula  PUBLIC"),  # one person twice
    [*members(PAULA), {"person": UMA, "role": "secretary"}],  # no such role
])
def test_r54_a_committee_under_quorum_without_one_chair_or_naming_someone_twice_is_refused(appeal, composition):
    refused(appeal, InvalidCommand, appeal.convene, members=composition, advisers=[], today=TODAY, actor=ADMIN,
            reason="r")
    assert appeal.members == [] and appeal.status == "lodged"


@pytest.mark.parametrize("member,error", [
    (DECIDER, SeparationOfDuties),  # R8: decided the contested decision
    (LEAD, SeparationOfDuties),  # R8: evaluated it
    (APPLICANT_PERSON, ConflictOfInterest),  # R12: the appellant
    (CONSULTANT, ConflictOfInterest),  # R2: advised the holder (its declaration)
    (STAFFER, ConflictOfInterest),  # R2 from the staff register (R58)
])
def test_r54_every_member_meets_r8_r12_and_r2(appeal, member, error):
    refused(appeal, error, appeal.convene, members=members(PAULA, member), advisers=[CONSULTANT], today=TODAY,
            actor=ADMIN, reason="r", interests=in_holder(register()))


def test_r54_convening_again_replaces_the_composition_and_the_votes_lapse(appeal):
    convened(appeal)
    vote(appeal, PAULA, "upheld")
    recorded(appeal)
    convened(appeal, UMA, UGO)
    assert [m["person"] for m in appeal.members] == [CHAIR, UMA, UGO] and appeal.votes == []


# -- R56: the votes ----------------------------------------------------------------------------------------------


def test_r56_each_member_votes_once_with_a_reason(appeal):
    convened(appeal)
    vote(appeal, PAULA, "upheld")
    (event,) = recorded(appeal)
    assert (type(event).__name__, event.member, event.vote, event.actor) == ("VoteRecorded", PAULA, "upheld", PAULA)
    refused(appeal, Duplicate, appeal.vote, member=" paula public", vote="dismissed", reason="changed my mind",
            advisers=[], today=TODAY, actor=PAULA)


def test_r56_the_secretary_records_a_vote_for_a_member(appeal):
    convened(appeal)
    vote(appeal, UMA, "abstain", actor=ADMIN, for_member=True)
    (event,) = recorded(appeal)
    assert (event.member, event.actor) == (UMA, ADMIN)


def test_r56_only_a_member_votes_and_only_their_own_vote(appeal):
    refused(appeal, InvalidTransition, appeal.vote, member=PAULA, vote="upheld", reason="r", advisers=[], today=TODAY,
            actor=PAULA)  # no committee yet
    convened(appeal)
    refused(appeal, NotPermitted, appeal.vote, member=UGO, vote="upheld", reason="r", advisers=[], today=TODAY,
            actor=UGO)  # not a member
    refused(appeal, NotPermitted, appeal.vote, member=PAULA, vote="upheld", reason="r", advisers=[], today=TODAY,
            actor=UMA)  # another member's vote, not as the secretary
    refused(appeal, InvalidCommand, appeal.vote, member=PAULA, vote="maybe", reason="r", advisers=[], today=TODAY,
            actor=PAULA)
    refused(appeal, InvalidCommand, appeal.vote, member=PAULA, vote="upheld", reason=" ", advisers=[], today=TODAY,
            actor=PAULA)
    assert appeal.votes == []


def test_r56_r58_an_interest_registered_after_convening_stops_the_members_vote(appeal):
    convened(appeal, PAULA, STAFFER)
    error = refused(appeal, ConflictOfInterest, appeal.vote, member=STAFFER, vote="upheld", reason="r", advisers=[],
                    today=TODAY, actor=STAFFER, interests=in_holder(register()))
    assert "staff interest register" in str(error)


# -- R55: the outcome follows from the votes ---------------------------------------------------------------------


def all_voted(appeal: Appeal, chair: str, paula: str, uma: str) -> Appeal:
    convened(appeal)
    for member, choice in ((CHAIR, chair), (PAULA, paula), (UMA, uma)):
        vote(appeal, member, choice)
    recorded(appeal)
    return appeal


def decide(appeal: Appeal, **kwargs):
    return appeal.decide(**{"committee": None, "outcome": None, "rationale": "as the committee voted", "advisers": [],
                            "actor": ADMIN, **kwargs})


@pytest.mark.parametrize("votes,outcome,casting", [
    (("dismissed", "upheld", "upheld"), "upheld", False),  # a majority against the chair
    (("dismissed", "dismissed", "upheld"), "dismissed", False),
    (("upheld", "dismissed", "abstain"), "upheld", True),  # a tie of the votes cast: the chair's decides
    (("dismissed", "abstain", "upheld"), "dismissed", True),
])
def test_r55_the_majority_of_votes_cast_decides_and_the_chair_breaks_a_tie(appeal, votes, outcome, casting):
    all_voted(appeal, *votes)
    decide(appeal)
    (event,) = recorded(appeal)
    assert type(event).__name__ == "Decided" and event.outcome == appeal.outcome == outcome
    assert event.committee == [CHAIR, PAULA, UMA] and event.tally["chairs_casting_vote"] is casting


def test_r55_an_outcome_or_committee_given_agrees_with_the_votes(appeal):
    all_voted(appeal, "upheld", "upheld", "dismissed")
    refused(appeal, InvalidCommand, decide, appeal=appeal, outcome="dismissed")
    refused(appeal, InvalidCommand, decide, appeal=appeal, committee=[CHAIR, PAULA])
    decide(appeal, outcome="upheld", committee=[UMA, "chris chair", PAULA])
    assert recorded(appeal) and appeal.outcome == "upheld"


def test_r55_no_decision_before_every_member_voted(appeal):
    convened(appeal)
    vote(appeal, CHAIR, "upheld")
    vote(appeal, PAULA, "upheld")
    recorded(appeal)
    error = refused(appeal, InvalidTransition, decide, appeal=appeal)
    assert UMA in str(error)


def test_r55_a_tie_without_the_chairs_vote_decides_nothing(appeal):
    appeal.convene(members=members(PAULA, UMA, UGO), advisers=[], today=TODAY, actor=ADMIN, reason="four")
    for member, choice in ((CHAIR, "abstain"), (PAULA, "upheld"), (UMA, "dismissed"), (UGO, "abstain")):
        vote(appeal, member, choice)
    recorded(appeal)
    refused(appeal, InvalidTransition, decide, appeal=appeal)
    assert appeal.count() == {"upheld": 1, "dismissed": 1, "abstain": 2, "outcome": None, "chairs_casting_vote": False}


def test_r55_without_a_convened_committee_the_earlier_form_still_names_committee_and_outcome(appeal):
    refused(appeal, InvalidCommand, decide, appeal=appeal, committee=[PAULA, UMA])  # no outcome
    refused(appeal, InvalidCommand, decide, appeal=appeal, outcome="upheld")  # no committee
    refused(appeal, ConflictOfInterest, decide, appeal=appeal, committee=[PAULA, STAFFER], outcome="upheld",
            interests=in_holder(register()))  # R58 in the earlier form too
    decide(appeal, committee=[PAULA, UMA], outcome="dismissed")
    (event,) = recorded(appeal)
    assert event.tally is None and appeal.outcome == "dismissed"


# -- R57: the register ---------------------------------------------------------------------------------------------


def test_r57_an_interest_is_registered_and_ended_once():
    check_interest(person=STAFFER, organisation=HOLDER_ORG, kind="consultancy", since=TODAY - timedelta(days=30),
                   until=None, today=TODAY, current=[])
    interest = StaffInterest(person=STAFFER, organisation=HOLDER_ORG, kind="consultancy",
                             since=TODAY - timedelta(days=30), until=None, registered_on=TODAY, actor=ADMIN,
                             reason="declared at the annual impartiality review")
    recorded(interest)
    refused(interest, InvalidCommand, interest.end, until=TODAY - timedelta(days=31), today=TODAY, actor=ADMIN,
            reason="before it began")
    refused(interest, InvalidCommand, interest.end, until=TODAY + timedelta(days=1), today=TODAY, actor=ADMIN,
            reason="not yet")
    interest.end(until=TODAY, today=TODAY, actor=ADMIN, reason="contract ended")
    (event,) = recorded(interest)
    assert type(event).__name__ == "Ended" and interest.until == TODAY
    refused(interest, InvalidTransition, interest.end, until=TODAY, today=TODAY, actor=ADMIN, reason="again")


@pytest.mark.parametrize("overrides", [
    {"kind": "friendship"},
    {"since": TODAY + timedelta(days=1)},  # not yet begun
    {"until": TODAY - timedelta(days=400)},  # ended before it began
    {"until": TODAY + timedelta(days=1)},  # an end in the future: register it ongoing, end it then
    {"organisation": {"name": "No Number BV", "registration_number": " . "}},
    {"person": "  "},
])
def test_r57_an_entry_names_who_what_and_when(overrides):
    entry = {"person": STAFFER, "organisation": HOLDER_ORG, "kind": "financial", "since": TODAY - timedelta(days=300),
             "until": None, **overrides}
    with pytest.raises(InvalidCommand):
        check_interest(**entry, today=TODAY, current=[])


def test_r57_an_ongoing_interest_is_registered_once():
    current = list(register(kind="family").interests.values())
    with pytest.raises(Duplicate):
        check_interest(person="stan  STAFF", organisation={"name": "Betonfabriek", "registration_number": "be 0123.456.789"},
                       kind="family", since=TODAY, until=None, today=TODAY, current=current)
    for other in ({"kind": "financial"}, {"organisation": OTHER_ORG}, {"until": TODAY}):
        check_interest(**{"person": STAFFER, "organisation": HOLDER_ORG, "kind": "family", "since": TODAY,
                          "until": None, **other}, today=TODAY, current=current)


# -- R58: R2 as the register tells it --------------------------------------------------------------------------


@pytest.mark.parametrize("since,until,counts", [
    (TODAY - timedelta(days=900), None, True),  # ongoing
    (TODAY - timedelta(days=3000), years_before(TODAY, 2), True),  # ended exactly two years ago
    (TODAY - timedelta(days=3000), years_before(TODAY, 2) - timedelta(days=1), False),  # ended before the period
    (TODAY, None, True),  # begun today
])
def test_r58_an_interest_counts_within_the_two_years_before(since, until, counts):
    assert bool(in_holder(register(since=since, until=until))) is counts


def test_r58_only_interests_in_the_files_organisation_count():
    assert in_holder(register(organisation=OTHER_ORG)) == []
    assert interests_within_cooling_off(register().interests.values(), None, TODAY) == []  # a file with no holder


def test_r58_an_ended_interest_keeps_counting_until_two_years_after_its_end():
    known = register()
    known.learn_end(interest_id="i-1", until=(TODAY - timedelta(days=10)).isoformat())
    assert in_holder(known) and known.interests["i-1"]["until"] == (TODAY - timedelta(days=10)).isoformat()


def test_r58_the_register_refuses_a_reviewer_the_applicant_never_declared():
    application: Application = make_application()
    recorded(application)
    error = refused(application, ConflictOfInterest, application.review_application, outcome="accepted",
                    reason="complete", actor=STAFFER, today=TODAY, interests=in_holder(register()))
    assert "staff interest register" in str(error) and error.extensions["source"] == "staff_interest_register"
    application.review_application(outcome="accepted", reason="complete", actor=OFFICER, today=TODAY,
                                   interests=in_holder(register()))
    assert recorded(application)


def test_r58_the_register_refuses_an_audit_team_member():
    audit = make_audit()
    recorded(audit)
    error = refused(audit, ConflictOfInterest, audit.assign, person=STAFFER, role="auditor", declaration=independent(),
                    consultancy=consultancy(), today=TODAY, actor=OFFICER, interests=in_holder(register()))
    assert "staff interest register" in str(error)
    audit.assign(person=LEAD, role="lead_auditor", declaration=independent(), consultancy=consultancy(), today=TODAY,
                 actor=OFFICER, interests=in_holder(register()))
    assert recorded(audit)


def test_r58_the_register_refuses_a_decider():
    file = factories.make_file(certificate_status="active")
    with pytest.raises(ConflictOfInterest, match="staff interest register"):
        file.check_decision(**decide_kwargs("suspend", decider=STAFFER, basis=[]), interests=in_holder(register()))
    file.check_decision(**decide_kwargs("suspend", basis=[]), interests=in_holder(register()))  # Dirk has none
    assert file.collect_events() == [] and file.certificates == {NUMBER: "active"}


def test_r58_the_register_refuses_a_complaint_handler_and_outcome_decider():
    complaint = admissible()
    error = refused(complaint, ConflictOfInterest, complaint.assign_handler, person=STAFFER, today=TODAY, actor=ADMIN,
                    reason="r", interests=in_holder(register()), **involvement())
    assert "staff interest register" in str(error)
    complaint.assign_handler(person="Hugo Handler", today=TODAY, actor=ADMIN, reason="independent",
                             interests=in_holder(register()), **involvement())
    recorded(complaint)
    refused(complaint, ConflictOfInterest, complaint.decide_outcome, outcome="unfounded", decisions=[], today=TODAY,
            actor=STAFFER, rationale="r", interests=in_holder(register()), **involvement())


# -- R58 in the impartiality evidence ------------------------------------------------------------------------------


def trail_entry(seq: int, type_: str, actor: str, subject: str = "s", **data) -> dict:
    return {"seq": seq, "type": type_, "actor": actor, "subject": subject, "at": "2026-06-01T10:00:00+00:00",
            "event_id": f"{type_}/{subject}/{seq}", "data": {"actor": actor, **data}}


def file_trail(*acts: tuple[int, str]) -> list[dict]:
    """A file whose holder declared nobody, with a team member at each (seq, person)."""
    return [trail_entry(1, "Application.Submitted", "Bea", consultancy=[], applicant=HOLDER_ORG),
            *(trail_entry(seq, "Audit.TeamMemberAssigned", OFFICER, subject="a1", person=person, role="auditor",
                          declaration={"independent": True}) for seq, person in acts)]


def registered(seq: int, organisation=None, until=None) -> dict:
    return trail_entry(seq, "StaffInterest.Registered", ADMIN, subject="i-1", person=STAFFER,
                       organisation=organisation or HOLDER_ORG, kind="employed", since="2025-01-01", until=until)


def test_r58_the_evidence_shows_a_member_with_a_registered_interest_as_a_breach():
    from services.projections.impartiality import impartiality

    evidence = impartiality(file_trail((5, LEAD), (7, STAFFER)), register=[registered(3)])
    checks = evidence["rules"]["R2"]["checks"]
    assert [(c["person"], c["held"]) for c in checks] == [(LEAD, True), (STAFFER, False)]
    assert checks[1]["staff_register_interests_then"][0]["kind"] == "employed"
    assert "staff interest register" in evidence["rules"]["R2"]["title"]


@pytest.mark.parametrize("register", [
    [registered(9)],  # registered after the act: the check used the register as it stood
    [registered(3, organisation=OTHER_ORG)],  # an interest in another organisation
    [registered(3, until="2023-01-01")],  # ended more than two years before the act
    [registered(3), trail_entry(4, "StaffInterest.Ended", ADMIN, subject="i-1", until="2024-01-01")],
])
def test_r58_the_evidence_holds_when_the_register_held_nothing_against_the_member(register):
    from services.projections.impartiality import impartiality

    checks = impartiality(file_trail((7, STAFFER)), register=register)["rules"]["R2"]["checks"]
    assert [(c["person"], c["held"], c["staff_register_interests_then"]) for c in checks] == [(STAFFER, True, [])]
