"""Decisions: R1, R2, R3, R4 on the certification file; R8 and R2 on appeals; R10 on the records."""

from __future__ import annotations

import pytest

from services.decisions.domain import Appeal, CertificationFile
from shared.errors import (
    ConflictOfInterest,
    EffectiveDateBeforeDecision,
    InvalidCommand,
    InvalidTransition,
    OpenMajorNonconformity,
    SeparationOfDuties,
)
from tests.unit import factories
from tests.unit.factories import (
    AUDIT_ID,
    AUDITOR,
    CONSULTANT,
    DECIDER,
    EXPERT,
    LEAD,
    NUMBER,
    OFFICER,
    OLD_CONSULTANT,
    PRODUCTS,
    SURVEILLANCE_ID,
    TODAY,
    TOMORROW,
    VERIFICATION_ID,
    YESTERDAY,
    decide_kwargs,
    make_appeal,
    make_certificate,
    make_decision,
    recorded,
    refused,
    with_reported_audit,
)

AGREEMENT = {"conditions_version": "2026-01", "licence_version": "2026-01", "accepted_on": "2026-05-01"}


def make_file(**kwargs) -> CertificationFile:
    """The factories' file, whose holder has accepted the certification agreement (R28 is tested in
    test_rules_complaints.py)."""
    file = factories.make_file(**kwargs)
    file.note_agreement(agreement=AGREEMENT)
    file.collect_events()
    return file


def decide(file: CertificationFile, outcome: str = "grant", **overrides):
    """The accepted path of a decision: the file's checks, then the Decision record and the file's note."""
    kwargs = decide_kwargs(outcome, **overrides)
    file.collect_events()  # facts noted so far
    file.check_decision(**kwargs)
    assert file.collect_events() == []  # a check records nothing
    decision = make_decision(outcome, actor=kwargs["decider"], effective_from=kwargs["effective_from"],
                             certificate_number=kwargs["certificate_number"], scope=kwargs["scope"],
                             products=kwargs["products"])
    (event,) = recorded(decision)  # R10 on the decision record
    assert type(event).__name__ == "Recorded" and event.actor == kwargs["decider"]
    file.take(decision_id=str(decision.id), outcome=outcome, certificate_number=kwargs["certificate_number"],
              actor=kwargs["decider"], reason="rationale", products=kwargs["products"])
    assert [type(e).__name__ for e in file.collect_events()] == ["DecisionTaken"]
    return decision


def refuse_decision(file: CertificationFile, error: type[Exception], outcome: str = "grant", **overrides):
    return refused(file, error, file.check_decision, **decide_kwargs(outcome, **overrides))


# -- R1 separation of duties ----------------------------------------------------------------------


@pytest.mark.parametrize("evaluator", [LEAD, AUDITOR, EXPERT, "  lena   LEAD "])
def test_r1_an_evaluator_cannot_decide(evaluator):
    file = make_file()
    error = refuse_decision(file, SeparationOfDuties, decider=evaluator)
    assert AUDIT_ID in str(error)
    assert file.decided == []


def test_r1_someone_who_took_no_part_in_the_evaluation_decides():
    file = make_file()
    decide(file, decider=DECIDER)
    assert [d["outcome"] for d in file.decided] == ["grant"]


def test_r1_applies_to_certificate_decisions_too():
    file = make_file(certificate_status="active")
    refuse_decision(file, SeparationOfDuties, "suspend", decider=AUDITOR)
    decide(file, "suspend", decider=DECIDER)
    assert file.certificates[NUMBER] == "suspended"


def test_r1_evaluator_of_any_audit_of_the_file_is_excluded():
    file = make_file(evaluators=())
    decide_kwargs_ok = decide_kwargs(decider=AUDITOR)
    file.check_decision(**decide_kwargs_ok)  # not (yet) an evaluator
    file.note_audit(audit_id="second-audit")
    file.note_evaluator(audit_id="second-audit", person=AUDITOR, role="auditor")
    file.collect_events()
    refuse_decision(file, SeparationOfDuties, decider=AUDITOR)


# -- R2 conflict of interest ----------------------------------------------------------------------


def test_r2_declared_consultant_cannot_decide():
    file = make_file()
    refuse_decision(file, ConflictOfInterest, decider=CONSULTANT)
    refuse_decision(file, ConflictOfInterest, decider="CARLA consultant")


def test_r2_consultancy_ended_more_than_two_years_ago_does_not_disqualify_a_decider():
    file = make_file()
    decide(file, decider=OLD_CONSULTANT)


def test_r2_ongoing_consultancy_disqualifies_a_decider():
    file = make_file(consultancy_declared=[{"person": DECIDER, "until": None}])
    refuse_decision(file, ConflictOfInterest, decider=DECIDER)


# -- R3 effective date ------------------------------------------------------------------------------


def test_r3_effective_date_before_decision_date_is_refused():
    file = make_file()
    refuse_decision(file, EffectiveDateBeforeDecision, effective_from=YESTERDAY)


def test_r3_effective_date_on_the_decision_date_is_allowed():
    decision = decide(make_file(), effective_from=TODAY)
    assert decision.effective_from == TODAY and decision.decided_on == TODAY


def test_a_decision_takes_effect_when_taken_not_later():
    refuse_decision(make_file(), InvalidCommand, effective_from=TOMORROW)


def test_r3_applies_to_certificate_decisions_too():
    file = make_file(certificate_status="active")
    refuse_decision(file, EffectiveDateBeforeDecision, "withdraw", effective_from=YESTERDAY)
    decide(file, "withdraw", effective_from=TODAY)


# -- R4 open major nonconformity ---------------------------------------------------------------------


def with_finding(file: CertificationFile, finding_id: str, severity: str) -> CertificationFile:
    file.note_finding(audit_id=AUDIT_ID, finding_id=finding_id, severity=severity)
    file.collect_events()
    return file


@pytest.mark.parametrize("outcome, certificate_status", [("grant", None), ("renew", "active"), ("restore", "suspended")])
def test_r4_no_grant_renewal_or_restoration_while_a_major_is_open(outcome, certificate_status):
    file = with_finding(make_file(certificate_status=certificate_status), "F-1", "major")
    error = refuse_decision(file, OpenMajorNonconformity, outcome)
    assert error.extensions["open_findings"] == ["F-1"]
    file.note_finding_closed(finding_id="F-1")
    file.collect_events()
    decide(file, outcome)


def test_r4_every_major_must_be_closed():
    file = with_finding(with_finding(make_file(), "F-1", "major"), "F-2", "major")
    file.note_finding_closed(finding_id="F-1")
    refuse_decision(file, OpenMajorNonconformity)
    file.note_finding_closed(finding_id="F-2")
    decide(file)


@pytest.mark.parametrize("severity, outcome, certificate_status", [
    ("minor", "grant", None), ("minor", "restore", "suspended"),  # an open minor blocks a renewal (R52)
    ("observation", "grant", None), ("observation", "renew", "active"), ("observation", "restore", "suspended")])
def test_r4_minor_findings_and_observations_never_block(severity, outcome, certificate_status):
    file = with_finding(make_file(certificate_status=certificate_status), "F-1", severity)
    decide(file, outcome)


@pytest.mark.parametrize("outcome", ["suspend", "withdraw", "maintain", "reduce_scope"])
def test_r4_an_open_major_does_not_prevent_sanctions(outcome):
    file = with_finding(make_file(certificate_status="active"), "F-1", "major")
    with_reported_audit(file, SURVEILLANCE_ID, "surveillance")
    decide(file, outcome, basis=[SURVEILLANCE_ID])


# -- other checks of a decision -------------------------------------------------------------------


def test_a_grant_rests_on_a_reported_audit():
    refuse_decision(make_file(), InvalidCommand, basis=[])
    refuse_decision(make_file(reported=False), InvalidTransition)


def test_an_application_is_granted_once_and_only_when_accepted():
    refuse_decision(make_file(application_status="submitted"), InvalidTransition)
    file = make_file()
    decide(file)
    refuse_decision(file, InvalidTransition, "refuse")


def test_r5_decisions_refuses_what_the_registry_could_not_apply():
    file = make_file(certificate_status="withdrawn")
    refuse_decision(file, InvalidTransition, "restore")
    file = make_file(certificate_status="active")
    refuse_decision(file, InvalidTransition, "restore")
    decide(file, "suspend")
    with_reported_audit(file, SURVEILLANCE_ID, "surveillance")
    refuse_decision(file, InvalidTransition, "maintain", basis=[SURVEILLANCE_ID])
    decide(file, "restore", basis=[SURVEILLANCE_ID])
    assert file.certificates[NUMBER] == "active"


@pytest.mark.parametrize("revision", ["reduce_scope"])
def test_a_revision_of_a_suspended_certificate_leaves_file_and_registry_in_the_same_state(revision):
    file = make_file(certificate_status="active")
    certificate = make_certificate()
    decide(file, "suspend")
    certificate.change_status(status="suspended", decision_id="d-s", effective_from=TODAY, actor=DECIDER,
                              reason="suspend by decision d-s")
    decide(file, revision)
    certificate.revise(outcome=revision, decision_id="d-r", effective_from=TODAY, scope=None, valid_until=None, actor=DECIDER,
                       reason=f"{revision} by decision d-r")
    assert certificate.status == "active"
    assert file.certificates[NUMBER] == certificate.status
    decide(file, "suspend")  # the certificate is active again, so it can be suspended again


# -- R8 and R2 on appeals --------------------------------------------------------------------------


@pytest.fixture
def appeal():
    appeal = make_appeal()
    recorded(appeal)  # Lodged
    return appeal


APPEAL = dict(outcome="upheld", rationale="closure evidence predates the suspension", actor=OFFICER)


@pytest.mark.parametrize("involved_member", [DECIDER, LEAD, "arno   AUDITOR"])
def test_r8_a_member_involved_in_the_contested_decision_cannot_sit(appeal, involved_member):
    refused(appeal, SeparationOfDuties, appeal.decide,
            committee=["Paula Public", "Pieter Public", "Ursula User", involved_member], advisers=[], **APPEAL)
    assert appeal.status == "lodged" and appeal.committee == []


def test_r8_an_independent_committee_decides(appeal):
    committee = ["Paula Public", "Pieter Public", "Ursula User", "Umberto User"]
    appeal.decide(committee=committee, advisers=[CONSULTANT], **APPEAL)
    (event,) = recorded(appeal)
    assert type(event).__name__ == "Decided" and event.committee == committee
    assert appeal.status == "decided" and appeal.outcome == "upheld"


def test_r8_an_appeal_is_decided_once(appeal):
    appeal.decide(committee=["Paula Public", "Ursula User"], advisers=[], **APPEAL)
    recorded(appeal)
    refused(appeal, InvalidTransition, appeal.decide, committee=["Pieter Public", "Umberto User"], advisers=[],
            outcome="dismissed", rationale="second try", actor=OFFICER)
    assert appeal.outcome == "upheld"


def test_r2_a_member_who_advised_the_holder_cannot_sit(appeal):
    advisers = make_file().advisers(TODAY)
    assert advisers == [CONSULTANT]  # the old consultancy is past the cooling-off period
    refused(appeal, ConflictOfInterest, appeal.decide,
            committee=["Paula Public", "carla consultant"], advisers=advisers, **APPEAL)


def test_r2_a_member_whose_advice_ended_more_than_two_years_ago_may_sit(appeal):
    advisers = make_file().advisers(TODAY)
    appeal.decide(committee=["Paula Public", OLD_CONSULTANT], advisers=advisers, **APPEAL)
    recorded(appeal)
    assert appeal.status == "decided"


# -- what maintenance, restoration and scope changes rest on -------------------------------------


def test_maintenance_rests_on_a_reported_surveillance_audit():
    file = make_file(certificate_status="active")
    refuse_decision(file, InvalidCommand, "maintain", basis=[])
    refuse_decision(file, InvalidCommand, "maintain")  # the initial audit is no surveillance
    with_reported_audit(file, SURVEILLANCE_ID, "surveillance")
    decide(file, "maintain", basis=[SURVEILLANCE_ID])


def test_a_restoration_rests_on_an_audit_reported_after_the_suspension():
    file = make_file(certificate_status="active")
    with_reported_audit(file, SURVEILLANCE_ID, "surveillance")
    decide(file, "suspend", basis=[SURVEILLANCE_ID])
    refuse_decision(file, InvalidCommand, "restore", basis=[])
    refuse_decision(file, InvalidCommand, "restore", basis=[SURVEILLANCE_ID])  # what led to the suspension
    refuse_decision(file, InvalidCommand, "restore", basis=[AUDIT_ID])
    with_reported_audit(file, VERIFICATION_ID, "special")
    decide(file, "restore", basis=[VERIFICATION_ID])
    assert file.certificates[NUMBER] == "active"


def test_a_restoration_after_a_second_suspension_needs_a_newer_verification():
    file = make_file(certificate_status="active")
    decide(file, "suspend")
    with_reported_audit(file, VERIFICATION_ID, "special")
    decide(file, "restore", basis=[VERIFICATION_ID])
    decide(file, "suspend")
    refuse_decision(file, InvalidCommand, "restore", basis=[VERIFICATION_ID])


def test_a_reduction_names_the_products_that_remain():
    file = make_file(certificate_status="active")
    refuse_decision(file, InvalidCommand, "reduce_scope", products=None)
    refuse_decision(file, InvalidCommand, "reduce_scope", products=[])
    refuse_decision(file, InvalidCommand, "reduce_scope", products=[{"name": "Some Other Kerb", "type": "kerb"}])
    refuse_decision(file, InvalidCommand, "reduce_scope", products=[PRODUCTS[0], PRODUCTS[0]])
    decide(file, "reduce_scope", products=[{"name": "vdm  kerb 100", "type": "kerb"}])
    assert [p["name"] for p in file.products_now()] == ["vdm  kerb 100"]
    # the product dropped is no longer certified: a later reduction cannot keep it
    refuse_decision(file, InvalidCommand, "reduce_scope", products=[PRODUCTS[1]])


def test_an_extension_keeps_every_certified_product():
    file = make_file(certificate_status="active")
    refuse_decision(file, InvalidCommand, "extend_scope", products=[PRODUCTS[0]])
    decide(file, "extend_scope", products=[*PRODUCTS, {"name": "VDM Kerb 200", "type": "kerb"}])
    assert len(file.products_now()) == 3
    refuse_decision(file, InvalidCommand, "suspend", products=[PRODUCTS[0]])  # only scope changes name products


@pytest.mark.parametrize("member", ["Bea Holder", "bea  HOLDER", OFFICER, "Sam Submitter"])
def test_the_holders_own_people_cannot_sit_on_their_appeal(member):
    appeal = Appeal(
        decision_id="d3c15101-0000-4000-8000-000000000010", certificate_number=NUMBER, application_id="a-1",
        contested_outcome="suspend", involved=[DECIDER], appellant="Bea Holder", grounds="closed in time",
        actor=OFFICER, reason="closed in time",
    )
    recorded(appeal)
    refused(appeal, ConflictOfInterest, appeal.decide, committee=["Paula Public", member], advisers=[],
            holder_people=["Sam Submitter"], **APPEAL)
    assert appeal.status == "lodged"
