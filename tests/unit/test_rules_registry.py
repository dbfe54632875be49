"""The mark registry: R5 state machine, R6 overdue suspensions, R7 numbering and quick codes."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest

from services.registry.domain import Certificate, Commission, Numbering, is_valid_quick_code, quick_code_for
from shared.certificate_states import STATES, check_outcome
from shared.errors import Duplicate, InvalidCommand, InvalidTransition
from tests.unit.factories import DECIDER, NUMBER, REGISTRAR, TODAY, make_certificate, make_scheme, recorded, refused

# -- R5: the certificate state machine -------------------------------------------------------------

OUTCOMES = ("suspend", "restore", "withdraw", "terminate", "renew", "extend_scope", "reduce_scope", "maintain")
# Written from the domain brief, independently of shared.certificate_states.
ALLOWED = {
    ("suspend", "active"),
    ("restore", "suspended"),
    ("withdraw", "active"), ("withdraw", "suspended"),
    ("terminate", "active"), ("terminate", "suspended"),
    ("renew", "active"),
    ("extend_scope", "active"),
    # a suspension ends in restoration, withdrawal or scope reduction (7.11)
    ("reduce_scope", "active"), ("reduce_scope", "suspended"),
    ("maintain", "active"),
}


@pytest.mark.parametrize("outcome, state", sorted(itertools.product(OUTCOMES, STATES)))
def test_r5_check_outcome_follows_the_state_machine(outcome, state):
    if (outcome, state) in ALLOWED:
        check_outcome(outcome, state, NUMBER)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_outcome(outcome, state, NUMBER)
        assert type(info.value) is InvalidTransition and NUMBER in str(info.value)


def test_r5_the_states_are_those_of_the_brief():
    assert set(STATES) == {"active", "suspended", "withdrawn", "expired", "terminated", "superseded"}


def change(certificate: Certificate, status: str, effective_from: date = TODAY) -> None:
    certificate.change_status(status=status, decision_id=f"d-{status}", effective_from=effective_from,
                              actor=DECIDER, reason=f"{status} by decision d-{status}")


@pytest.fixture
def certificate():
    certificate = make_certificate()
    (event,) = recorded(certificate)
    assert type(event).__name__ == "Issued"
    assert certificate.status == "active" and certificate.revision == 1
    return certificate


def test_r5_a_suspended_certificate_is_restored(certificate):
    change(certificate, "suspended")
    change(certificate, "active")
    events = recorded(certificate)
    assert [(e.previous, e.status) for e in events] == [("active", "suspended"), ("suspended", "active")]
    assert certificate.status == "active"


def test_r5_a_withdrawn_certificate_is_never_restored(certificate):
    change(certificate, "withdrawn")
    recorded(certificate)
    for status in ("active", "suspended", "expired", "terminated"):
        refused(certificate, InvalidTransition, certificate.change_status, status=status, decision_id="d-x",
                effective_from=TODAY, actor=DECIDER, reason="try")
    assert certificate.status == "withdrawn"


def test_r5_an_expired_certificate_is_never_suspended(certificate):
    assert certificate.expire(today=date(2027, 12, 31), actor="hallmark:registry") is False  # last valid day
    assert certificate.expire(today=date(2028, 1, 1), actor="hallmark:registry") is True
    (event,) = recorded(certificate)
    assert event.status == "expired" and event.reason == "validity ended"
    refused(certificate, InvalidTransition, certificate.change_status, status="suspended", decision_id="d-x",
            effective_from=TODAY, actor=DECIDER, reason="try")
    refused(certificate, InvalidTransition, certificate.change_status, status="active", decision_id="d-x",
            effective_from=TODAY, actor=DECIDER, reason="try")
    assert certificate.expire(today=date(2029, 1, 1), actor="hallmark:registry") is False
    assert certificate.collect_events() == []


def test_r5_an_active_certificate_is_not_restored_nor_suspended_twice(certificate):
    refused(certificate, InvalidTransition, certificate.change_status, status="active", decision_id="d-x",
            effective_from=TODAY, actor=DECIDER, reason="restore what is not suspended")
    change(certificate, "suspended")
    refused(certificate, InvalidTransition, certificate.change_status, status="suspended", decision_id="d-x",
            effective_from=TODAY, actor=DECIDER, reason="suspend again")


def test_r5_superseded_is_not_a_state_a_decision_sets(certificate):
    refused(certificate, InvalidTransition, certificate.change_status, status="superseded", decision_id="d-x",
            effective_from=TODAY, actor=DECIDER, reason="try")


def test_r5_r7_revise_supersedes_the_current_revision(certificate):
    certificate.revise(outcome="extend_scope", decision_id="d-ext", effective_from=TODAY, scope="Kerbs and channels",
                       valid_until=None, actor=DECIDER, reason="extend_scope by decision d-ext")
    (event,) = recorded(certificate)
    assert type(event).__name__ == "Revised"
    assert (event.revision, event.superseded_revision) == (2, 1)
    assert certificate.revision == 2 and certificate.scope == "Kerbs and channels"
    assert certificate.valid_until == date(2027, 12, 31) and certificate.number == NUMBER
    certificate.revise(outcome="renew", decision_id="d-ren", effective_from=TODAY, scope=None, valid_until=date(2030, 12, 31),
                       actor=DECIDER, reason="renew by decision d-ren")
    (event,) = recorded(certificate)
    assert (event.revision, event.superseded_revision) == (3, 2)
    assert certificate.scope == "Kerbs and channels" and certificate.valid_until == date(2030, 12, 31)


def test_r5_a_suspended_certificate_is_revised_into_an_active_one(certificate):
    change(certificate, "suspended")
    certificate.revise(outcome="reduce_scope", decision_id="d-red", effective_from=TODAY, scope="Kerbs only", valid_until=None,
                       actor=DECIDER, reason="reduce_scope by decision d-red")
    recorded(certificate)
    assert certificate.status == "active" and certificate.revision == 2


@pytest.mark.parametrize("final", ["withdrawn", "terminated"])
def test_r5_a_closed_certificate_is_not_revised(certificate, final):
    change(certificate, final)
    refused(certificate, InvalidTransition, certificate.revise, outcome="renew", decision_id="d-ren",
            effective_from=TODAY, scope=None, valid_until=None, actor=DECIDER, reason="renew")
    assert certificate.revision == 1


@pytest.mark.parametrize("outcome", ["renew", "extend_scope"])
def test_r4_r5_a_suspension_is_not_lifted_by_a_renewal_or_extension(certificate, outcome):
    change(certificate, "suspended")
    refused(certificate, InvalidTransition, certificate.revise, outcome=outcome, decision_id="d-x",
            effective_from=TODAY, scope="Wider", valid_until=None, actor=DECIDER, reason=outcome)
    assert certificate.status == "suspended"


def test_r5_only_an_active_certificate_is_maintained(certificate):
    certificate.maintain(decision_id="d-m", effective_from=TODAY, actor=DECIDER, reason="surveillance conforming")
    (event,) = recorded(certificate)
    assert type(event).__name__ == "Maintained"
    change(certificate, "suspended")
    refused(certificate, InvalidTransition, certificate.maintain, decision_id="d-m2", effective_from=TODAY,
            actor=DECIDER, reason="surveillance conforming")


def test_a_decision_that_cannot_be_applied_is_kept(certificate):
    certificate.decision_not_applied(number=NUMBER, decision_id="d-x", problem="invalid-transition",
                                     actor="hallmark:registry", reason="Certificate is active; it cannot become active")
    (event,) = recorded(certificate)
    assert type(event).__name__ == "DecisionNotApplied"


# -- R6: overdue suspensions ------------------------------------------------------------------------

SUSPENDED_ON = date(2026, 1, 10)


def flag(certificate: Certificate, today: date, months: int = 6) -> bool:
    return certificate.flag_suspension_overdue(today=today, max_suspension_months=months, actor="hallmark:registry")


def test_r6_a_suspension_is_flagged_once_after_the_scheme_maximum(certificate):
    change(certificate, "suspended", SUSPENDED_ON)
    recorded(certificate)
    assert flag(certificate, date(2026, 7, 10)) is False  # the last day within six months
    assert certificate.collect_events() == []
    assert flag(certificate, date(2026, 7, 11)) is True
    (event,) = recorded(certificate)
    assert type(event).__name__ == "SuspensionLimitExceeded"
    assert (event.suspended_since, event.limit) == (SUSPENDED_ON, date(2026, 7, 10))
    assert certificate.withdrawal_proposed is True
    assert flag(certificate, date(2026, 7, 12)) is False  # once
    assert flag(certificate, date(2027, 1, 1)) is False
    assert certificate.collect_events() == []


def test_r6_the_maximum_comes_from_the_scheme(certificate):
    scheme = make_scheme(max_suspension_months=3)
    recorded(scheme)
    change(certificate, "suspended", SUSPENDED_ON)
    assert flag(certificate, date(2026, 4, 10), scheme.max_suspension_months) is False
    assert flag(certificate, date(2026, 4, 11), scheme.max_suspension_months) is True
    recorded(certificate)


def test_r6_an_active_certificate_is_never_flagged(certificate):
    recorded_before = certificate.version
    assert flag(certificate, date(2027, 12, 1)) is False
    assert certificate.version == recorded_before and certificate.withdrawal_proposed is False


def test_r6_restoring_clears_the_flag(certificate):
    change(certificate, "suspended", SUSPENDED_ON)
    assert flag(certificate, date(2026, 8, 1)) is True
    change(certificate, "active", date(2026, 8, 2))
    recorded(certificate)
    assert certificate.withdrawal_proposed is False
    assert flag(certificate, date(2026, 12, 1)) is False  # active: nothing to flag
    change(certificate, "suspended", date(2026, 9, 1))
    assert flag(certificate, date(2027, 3, 1)) is False  # the new suspension counts from its own start
    assert flag(certificate, date(2027, 3, 2)) is True  # flagged again: the earlier flag was cleared
    assert [type(e).__name__ for e in recorded(certificate)] == ["StatusChanged", "SuspensionLimitExceeded"]


def test_r6_a_withdrawal_ends_the_flag(certificate):
    change(certificate, "suspended", SUSPENDED_ON)
    assert flag(certificate, date(2026, 8, 1)) is True
    change(certificate, "withdrawn", date(2026, 8, 5))
    recorded(certificate)
    assert certificate.withdrawal_proposed is False
    assert flag(certificate, date(2027, 1, 1)) is False


# -- R7: numbering and quick codes -----------------------------------------------------------------


def luhn_valid(code: str) -> bool:
    """Independent Luhn validation of a full code (check digit last)."""
    total = 0
    for i, ch in enumerate(reversed(code)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return total % 10 == 0


def test_r7_numbers_are_unique_and_sequential_per_mark():
    numbering = Numbering()
    marks = ["BENOR", "COPRO", "NTMB", "COPRO.EXE", "ATG"]
    numbers, quick_codes = [], []
    for i in range(1000):
        number, quick_code = numbering.allocate(marks[i % len(marks)], decision_id=f"d-{i}")
        numbers.append(number)
        quick_codes.append(quick_code)
    assert len(set(numbers)) == 1000
    assert len(set(quick_codes)) == 1000
    for mark in marks:
        own = [n for n in numbers if n.rsplit("-", 1)[0] == mark]
        assert own == [f"{mark}-{serial:05d}" for serial in range(1, 201)]
    for code in quick_codes:
        assert re.fullmatch(r"\d{8}", code), code
        assert luhn_valid(code), code
        assert is_valid_quick_code(code), code
    events = numbering.collect_events()
    assert all(e.actor and e.reason for e in events[1:])  # R10: every allocation is attributed
    assert len(events) == 1 + 1000  # Opened, then one Allocated per number


def test_r7_quick_code_check_digit_catches_typos():
    for serial in (1, 42, 4711, 123456, 8_999_999):
        code = quick_code_for(serial)
        assert is_valid_quick_code(code) and luhn_valid(code)
        for position, digit in itertools.product(range(8), "0123456789"):
            if code[position] != digit:
                typo = code[:position] + digit + code[position + 1:]
                assert not is_valid_quick_code(typo), typo
    assert not is_valid_quick_code("1000001")
    assert not is_valid_quick_code("1000001a")
    assert not is_valid_quick_code("100000166")


def test_r7_quick_codes_are_never_more_than_eight_digits():
    with pytest.raises(InvalidCommand):
        quick_code_for(9_000_000)


def test_r7_a_certificate_number_identifies_one_aggregate():
    assert Certificate.create_id(NUMBER) == Certificate.create_id(number=NUMBER)
    assert Certificate.create_id(NUMBER) != Certificate.create_id("BENOR-00043")
    assert make_certificate().id == make_certificate().id  # the event store refuses the second issue


# -- schemes --------------------------------------------------------------------------------------


def test_a_document_version_is_published_once():
    scheme = make_scheme()
    recorded(scheme)
    commission = Commission(code="SC-KERBS", name="Kerbs", schemes=[], marks=["BENOR"], actor=REGISTRAR, reason="r")
    on_decision = {"commission": commission, "commission_decision": {
        "commission": "SC-KERBS", "reference": "SC-KERBS/2026/07", "date": date(2026, 5, 20)}}  # R53
    scheme.publish_document(kind="PTV", ref="PTV 21-601", version="3.0", effective_from=date(2026, 9, 1),
                            transition_deadline=date(2027, 9, 1), actor=REGISTRAR, reason="sectoral commission",
                            **on_decision)
    (event,) = recorded(scheme)
    assert event.document["version"] == "3.0"
    refused(scheme, Duplicate, scheme.publish_document, kind="PTV", ref="PTV 21-601", version="3.0",
            effective_from=date(2026, 9, 1), transition_deadline=None, actor=REGISTRAR, reason="again", **on_decision)
    refused(scheme, InvalidCommand, scheme.publish_document, kind="PTV", ref="PTV 21-601", version="4.0",
            effective_from=date(2026, 9, 1), transition_deadline=date(2026, 8, 1), actor=REGISTRAR, reason="x",
            **on_decision)


def test_overdue_surveillance_proposes_suspension_once_and_maintain_clears_it():
    certificate = make_certificate()  # surveillance due 2026-12-31
    certificate.collect_events()
    assert certificate.flag_surveillance_overdue(today=date(2026, 12, 31), actor="hallmark:registry") is False
    assert certificate.flag_surveillance_overdue(today=date(2027, 1, 1), actor="hallmark:registry") is True
    assert certificate.suspension_proposed is True
    assert certificate.flag_surveillance_overdue(today=date(2027, 1, 2), actor="hallmark:registry") is False
    certificate.maintain(decision_id="d", effective_from=date(2027, 1, 2), actor="Dirk Decider", reason="ok")
    assert certificate.suspension_proposed is False
    assert certificate.surveillance_due == date(2028, 1, 2)
    assert [type(e).__name__ for e in certificate.collect_events()] == ["SurveillanceOverdue", "Maintained"]


def test_a_document_version_counts_only_from_its_effective_date():
    from datetime import timedelta

    from shared.domain import current_documents

    documents = [
        {"kind": "PTV", "ref": "PTV 21-601", "version": "2.0", "effective_from": "2025-01-01"},
        {"kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": (TODAY + timedelta(days=1)).isoformat()},
        {"kind": "TRA", "ref": "TRA 21", "version": "1.0", "effective_from": (TODAY + timedelta(days=30)).isoformat()},
    ]
    assert [d["version"] for d in current_documents(documents, TODAY)] == ["2.0"]
    assert [d["version"] for d in current_documents(documents, TODAY + timedelta(days=1))] == ["3.0"]
    assert sorted(d["version"] for d in current_documents(documents, TODAY + timedelta(days=30))) == ["1.0", "3.0"]
