"""Who is the same person (ADR 0007): every spelling that reads as the same name is one person for R1,
R2 and R8, in both directions (declared one way, acting or sitting the other), in the domain and in
the impartiality evidence."""

from __future__ import annotations

import unicodedata

import pytest

from services.projections.impartiality import impartiality
from shared.domain import person_key, same_person
from shared.errors import ConflictOfInterest, InvalidCommand, SeparationOfDuties
from tests.unit.factories import (
    AUDITOR,
    DECIDER,
    LEAD,
    OFFICER,
    TODAY,
    consultancy,
    decide_kwargs,
    independent,
    make_appeal,
    make_application,
    make_audit,
    make_file,
    recorded,
    refused,
)

PERSON = "Céline Conseil"  # precomposed é (NFC)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# Every spelling the normalisation defines as the same person as PERSON.
SPELLINGS = {
    "zero-width space at the end": PERSON + "\u200b",
    "zero-width space inside a word": "Cé\u200bline Conseil",
    "soft hyphen": "Céline Con\u00adseil",
    "word joiner": "Céline\u2060 Conseil",
    "byte order mark": "\ufeff" + PERSON,
    "zero-width joiner": "Céli\u200dne Conseil",
    "variation selector": "Céline\ufe0f Conseil",
    "no-break space": "Céline\u00a0Conseil",
    "narrow no-break space": "Céline\u202fConseil",
    "ideographic space": "Céline\u3000Conseil",
    "tab and doubled spaces": "  Céline \t Conseil ",
    "fullwidth letters": _fullwidth(PERSON),
    "upper case": PERSON.upper(),
    "lower case": PERSON.lower(),
    "combining accent": unicodedata.normalize("NFD", PERSON),
    "combining accent, upper case": unicodedata.normalize("NFD", PERSON.upper()),
    "all at once": "\ufeff\u00a0ＣＥ\u0301LI\u200bNE  con\u00adseil\u2060 ",
}
OTHERS = ["Celine Conseil", "Céline Conseils", "CélineConseil", "Céline Conseil Jr", "Cé line Conseil"]

# Both directions: the first names the person where they are declared or involved, the second where they act.
PAIRS = [pytest.param(PERSON, s, id=f"{k}, acting") for k, s in SPELLINGS.items()] + [
    pytest.param(s, PERSON, id=f"{k}, declared") for k, s in SPELLINGS.items()
]


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_every_spelling_has_the_one_key(spelling):
    assert person_key(spelling) == person_key(PERSON) == "céline conseil"
    assert same_person(spelling, PERSON) and same_person(PERSON, spelling)


@pytest.mark.parametrize("other", OTHERS)
def test_other_names_stay_other_people(other):
    assert not same_person(other, PERSON)


def test_the_key_is_stable():
    for spelling in SPELLINGS.values():
        assert person_key(person_key(spelling)) == person_key(spelling)


# -- R2 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("declared,acting", PAIRS)
def test_r2_an_adviser_does_not_review_the_application(declared, acting):
    application = make_application(consultancy=consultancy(current=declared))
    recorded(application)
    refused(application, ConflictOfInterest, application.review_application,
            outcome="accepted", reason="complete", actor=acting, today=TODAY)


@pytest.mark.parametrize("declared,acting", PAIRS)
def test_r2_an_adviser_does_not_join_the_audit_team(declared, acting):
    audit = make_audit()
    recorded(audit)
    refused(audit, ConflictOfInterest, audit.assign, person=acting, role="auditor", declaration=independent(),
            consultancy=consultancy(current=declared), today=TODAY, actor=OFFICER)
    assert audit.team == []


@pytest.mark.parametrize("declared,acting", PAIRS)
def test_r2_an_adviser_does_not_decide(declared, acting):
    file = make_file(consultancy_declared=consultancy(current=declared))
    refused(file, ConflictOfInterest, file.check_decision, **decide_kwargs(decider=acting))


@pytest.mark.parametrize("declared,acting", PAIRS)
def test_r2_an_adviser_does_not_sit_on_the_appeal_committee(declared, acting):
    appeal = make_appeal()
    recorded(appeal)
    advisers = make_file(consultancy_declared=consultancy(current=declared)).advisers(TODAY)
    refused(appeal, ConflictOfInterest, appeal.decide, committee=["Paula Public", acting], outcome="upheld",
            rationale="r", advisers=advisers, actor=OFFICER)


# -- R1 and R8 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("evaluator,acting", PAIRS)
def test_r1_an_evaluator_does_not_decide(evaluator, acting):
    file = make_file(evaluators=((LEAD, "lead_auditor"), (evaluator, "auditor")))
    refused(file, SeparationOfDuties, file.check_decision, **decide_kwargs(decider=acting))


@pytest.mark.parametrize("involved,member", PAIRS)
def test_r8_whoever_took_the_contested_decision_does_not_sit(involved, member):
    appeal = make_appeal(involved=[involved, LEAD, AUDITOR])
    recorded(appeal)
    refused(appeal, SeparationOfDuties, appeal.decide, committee=["Paula Public", member], outcome="dismissed",
            rationale="r", advisers=[], actor=OFFICER)
    assert appeal.committee == []


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_r8_a_committee_names_each_person_once(spelling):
    appeal = make_appeal()
    recorded(appeal)
    refused(appeal, InvalidCommand, appeal.decide, committee=[PERSON, spelling], outcome="upheld",
            rationale="r", advisers=[], actor=OFFICER)


def test_a_committee_of_other_people_decides():
    appeal = make_appeal(involved=[PERSON, LEAD, AUDITOR])
    recorded(appeal)
    appeal.decide(committee=OTHERS[:4], outcome="dismissed", rationale="r", advisers=[PERSON], actor=OFFICER)
    recorded(appeal)
    assert appeal.status == "decided"


# -- the evidence ------------------------------------------------------------------------------------


def _entry(kind: str, actor: str, subject: str = "s", **data):
    return {"type": kind, "actor": actor, "subject": subject, "at": "2026-06-01T10:00:00+00:00",
            "event_id": f"{kind}/{subject}/{actor}", "data": {"actor": actor, **data}}


@pytest.mark.parametrize("declared,acting", PAIRS)
def test_the_impartiality_evidence_shows_the_breach_whatever_the_spelling(declared, acting):
    """Records written before names were compared this way still show what they were: breaches."""
    entries = [
        _entry("Application.Submitted", "Bea", consultancy=[{"person": declared, "until": "2026-01-01"}]),
        _entry("Audit.TeamMemberAssigned", OFFICER, subject="a1", person=acting, role="auditor",
               declaration={"independent": True}),
        _entry("Decision.Recorded", declared, subject="d1", outcome="suspend"),
        _entry("Appeal.Lodged", "Bea", subject="p1", decision_id="d1"),
        _entry("Appeal.Decided", "Ada", subject="p1", committee=["Paula Public", acting]),
    ]
    rules = impartiality(entries)["rules"]
    assert [c["held"] for c in rules["R1"]["checks"]] == [False]  # the decider was on the team
    assert [(c["person"], c["held"]) for c in rules["R2"]["checks"] if not c["held"]][0] == (acting, False)
    assert [c["held"] for c in rules["R8"]["checks"]] == [True, False]
    assert not any(rule["held"] for rule in rules.values())


def test_the_evidence_holds_for_other_people():
    entries = [
        _entry("Application.Submitted", "Bea", consultancy=[{"person": PERSON, "until": "2026-01-01"}]),
        _entry("Decision.Recorded", DECIDER, subject="d1", outcome="suspend"),
        _entry("Appeal.Lodged", "Bea", subject="p1", decision_id="d1"),
        _entry("Appeal.Decided", "Ada", subject="p1", committee=OTHERS[:4]),
    ]
    assert all(rule["held"] for rule in impartiality(entries)["rules"].values())
