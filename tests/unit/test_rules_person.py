"""Person certification to ISO/IEC 17024 (issue 10, part 4b) through the domain: R65 (a person applies as the
candidate under a person scheme), R66 (evaluated by an examination whose examiner did not train or advise the
candidate), R67 (each part scored once against the scheme's pass mark; the report follows the results), R68 (a grant
on a passed examination, a renewal on a passed recertification examination inside the renewal window) and R69 (the
certificate is the person's: read by staff and the person). Pure; every date is fixed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.applications.domain import check_subject, examination_of
from services.audits.domain import check_kind
from services.decisions.domain import CertificationFile
from services.registry.application import load_catalogue
from shared.errors import ConflictOfInterest, Duplicate, InvalidCommand, InvalidTransition, NotPermitted
from tests.unit.factories import (
    APPLICANT,
    APPLICATION_ID,
    DECIDER,
    NUMBER,
    OFFICER,
    PRODUCTION_UNIT,
    PRODUCTS,
    TODAY,
    decide_kwargs,
    independent,
    make_application,
    make_audit,
    make_certificate,
    recorded,
    refused,
)

CATALOGUE = load_catalogue()
PERSON = CATALOGUE.scheme_type("person")
PRODUCT = CATALOGUE.scheme_type("product")
EXAMINATION = examination_of(PERSON)
CANDIDATE = {"person": "Jan Peeters", "contact": "jan.peeters@example.be"}
TRAINER = "Tom Trainer"
EXAMINER = "Eva Examiner"
TRAINED = [{"person": TRAINER, "organisation": "Asbest Academie", "until": "2026-01-31"}]
EXAM_ID = "e7a00000-0000-4000-8000-000000000001"
RECERT_ID = "e7a00000-0000-4000-8000-000000000002"


# -- the scheme type as data ------------------------------------------------------------------------------------


def test_the_catalogue_prescribes_the_person_types_examination_as_data():
    assert PERSON["subject"] == "person" and PERSON["evaluation"] == "examination"
    assert EXAMINATION == {"parts": [{"part": "theory", "pass_mark": 70}, {"part": "practice", "pass_mark": 70}],
                           "recertification": "examination"}
    assert examination_of(PRODUCT) is None


# -- R65 --------------------------------------------------------------------------------------------------------


def person_application(**overrides: Any):
    return make_application(scheme="OVAM-ASB", applicant={"name": "", "registration_number": "", "address": ""},
                            production_unit={"name": "", "address": ""}, products=[], candidate=CANDIDATE,
                            examination=EXAMINATION, consultancy=TRAINED, submitted_by="Jan Peeters",
                            actor="Jan Peeters", **overrides)


def test_r65_a_person_applies_as_the_candidate_under_a_person_scheme():
    check_subject(scheme="OVAM-ASB", scheme_type=PERSON, candidate=CANDIDATE, applicant=None, production_unit=None,
                  products=[])
    application = person_application()
    assert application.candidate == CANDIDATE and application.examination == EXAMINATION
    assert application.is_holders("jan peeters", None)  # the candidate acts on their own file
    assert not application.is_holders("Mieke Andere", None)


@pytest.mark.parametrize("scheme_type,named,field", [
    (PERSON, dict(candidate=None, applicant=None, production_unit=None, products=[]), "candidate"),
    (PERSON, dict(candidate=CANDIDATE, applicant=APPLICANT, production_unit=None, products=[]), "applicant"),
    (PERSON, dict(candidate=CANDIDATE, applicant=None, production_unit=None, products=PRODUCTS), "products"),
    (PRODUCT, dict(candidate=CANDIDATE, applicant=APPLICANT, production_unit=PRODUCTION_UNIT, products=PRODUCTS),
     "candidate"),
    (PRODUCT, dict(candidate=None, applicant=APPLICANT, production_unit=PRODUCTION_UNIT, products=[]), "products"),
])
def test_r65_what_an_application_names_follows_the_schemes_subject(scheme_type, named, field):
    with pytest.raises(InvalidCommand) as refusal:
        check_subject(scheme="S", scheme_type=scheme_type, **named)
    assert "R65" in refusal.value.detail and refusal.value.extensions.get("field") == field


def test_r65_a_product_application_under_a_product_scheme_still_passes():
    check_subject(scheme="S", scheme_type=PRODUCT, candidate=None, applicant=APPLICANT,
                  production_unit=PRODUCTION_UNIT, products=PRODUCTS)


# -- R66 --------------------------------------------------------------------------------------------------------


def examination(**overrides: Any):
    audit = make_audit(kind="examination", items=[], **overrides)
    audit.arrange_examination(examination=EXAMINATION, actor=OFFICER)
    return audit


def with_examiner(audit):
    audit.assign(person=EXAMINER, role="examiner", declaration=independent(), consultancy=TRAINED, today=TODAY,
                 actor=OFFICER)
    audit.collect_events()
    return audit


def test_r66_an_examination_is_planned_for_a_person_file_and_led_by_its_examiner():
    check_kind("examination", EXAMINATION)
    check_kind("special", EXAMINATION)
    check_kind("initial", None)
    audit = with_examiner(examination())
    assert audit.lead_auditor == EXAMINER


@pytest.mark.parametrize("kind,examination_data", [("examination", None), ("initial", EXAMINATION),
                                                   ("surveillance", EXAMINATION)])
def test_r66_an_examination_only_for_persons_and_persons_only_by_examination(kind, examination_data):
    with pytest.raises(InvalidCommand) as refusal:
        check_kind(kind, examination_data)
    assert "R66" in refusal.value.detail


def test_r66_who_trained_the_candidate_does_not_examine_them():
    audit = examination()
    audit.collect_events()
    refused(audit, ConflictOfInterest, lambda: audit.assign(person=TRAINER, role="examiner", declaration=independent(), consultancy=TRAINED,
                                 today=TODAY, actor=OFFICER))


@pytest.mark.parametrize("role,exam", [("lead_auditor", True), ("auditor", True), ("examiner", False)])
def test_r66_an_examination_takes_an_examiner_and_only_an_examination_does(role, exam):
    audit = examination() if exam else make_audit()
    audit.collect_events()
    with pytest.raises(InvalidCommand) as refusal:
        audit.assign(person=EXAMINER, role=role, declaration=independent(), consultancy=[], today=TODAY, actor=OFFICER)
    assert "R66" in refusal.value.detail and not audit.collect_events()


# -- R67 --------------------------------------------------------------------------------------------------------


def test_r67_each_part_is_scored_against_its_pass_mark_and_the_report_carries_the_results():
    audit = with_examiner(examination())
    audit.score_part(part="theory", score=70, today=TODAY, actor=EXAMINER)
    audit.score_part(part="practice", score=88, today=TODAY, actor=EXAMINER)
    scored = recorded(audit)
    assert [type(e).__name__ for e in scored] == ["ExaminationPartScored", "ExaminationPartScored"]
    assert (scored[0].part, scored[0].score, scored[0].pass_mark, scored[0].passed) == ("theory", 70, 70, True)
    audit.issue_report(report_id="RPT-1", conclusion="conforming", recommendation="grant", summary="passed",
                       today=TODAY, actor=EXAMINER)
    assert audit.report["examination"]["passed"] is True
    assert [p["score"] for p in audit.report["examination"]["parts"]] == [70, 88]


def test_r67_a_score_below_the_pass_mark_fails_and_the_report_says_nonconforming():
    audit = with_examiner(examination())
    audit.score_part(part="theory", score=90, today=TODAY, actor=EXAMINER)
    audit.score_part(part="practice", score=69, today=TODAY, actor=EXAMINER)
    audit.collect_events()
    refused(audit, InvalidCommand, lambda: audit.issue_report(report_id="RPT-1", conclusion="conforming", recommendation="grant",
                                       summary="x", today=TODAY, actor=EXAMINER))
    audit.issue_report(report_id="RPT-1", conclusion="nonconforming", recommendation="refuse", summary="failed",
                       today=TODAY, actor=EXAMINER)
    assert audit.report["examination"]["passed"] is False


def test_r67_refusals_another_scorer_unknown_part_twice_out_of_range_unscored_report_after_report():
    audit = with_examiner(examination())
    refused(audit, NotPermitted, lambda: audit.score_part(part="theory", score=80, today=TODAY, actor="Someone Else"))
    refused(audit, InvalidCommand, lambda: audit.score_part(part="chemistry", score=80, today=TODAY, actor=EXAMINER))
    refused(audit, InvalidCommand, lambda: audit.score_part(part="theory", score=101, today=TODAY, actor=EXAMINER))
    audit.score_part(part="theory", score=80, today=TODAY, actor=EXAMINER)
    audit.collect_events()
    refused(audit, Duplicate, lambda: audit.score_part(part="theory", score=85, today=TODAY, actor=EXAMINER))
    refused(audit, InvalidTransition, lambda: audit.issue_report(report_id="RPT-1", conclusion="conforming", recommendation="grant",
                                       summary="x", today=TODAY, actor=EXAMINER))
    audit.score_part(part="practice", score=80, today=TODAY, actor=EXAMINER)
    audit.issue_report(report_id="RPT-1", conclusion="conforming", recommendation="grant", summary="passed",
                       today=TODAY, actor=EXAMINER)
    audit.collect_events()
    refused(audit, InvalidTransition, lambda: audit.score_part(part="practice", score=80, today=TODAY, actor=EXAMINER))


def test_r67_an_audit_that_is_no_examination_has_no_parts_to_score():
    audit = make_audit()
    audit.collect_events()
    refused(audit, InvalidTransition, lambda: audit.score_part(part="theory", score=80, today=TODAY, actor=EXAMINER))


# -- R68 --------------------------------------------------------------------------------------------------------


def person_file(*, passed: bool = True) -> CertificationFile:
    file = CertificationFile(application_id=APPLICATION_ID)
    file.note_application(application={"scheme": "OVAM-ASB", "applicant": {"name": "", "registration_number": ""},
                                       "production_unit": {"name": "", "address": ""}, "products": [],
                                       "scope": "Asbestos inventory", "consultancy": TRAINED,
                                       "candidate": CANDIDATE, "examination": EXAMINATION})
    file.note_agreement(agreement={"conditions_version": "1", "licence_version": "1", "accepted_on": "2026-05-01"})
    file.note_application_status(status="accepted")
    file.note_audit(audit_id=EXAM_ID, kind="examination")
    file.note_evaluator(audit_id=EXAM_ID, person=EXAMINER, role="examiner")
    file.note_report(audit_id=EXAM_ID, conclusion="conforming" if passed else "nonconforming",
                     issued_on=TODAY.isoformat(), examination_passed=passed)
    file.collect_events()
    return file


def test_r68_a_grant_rests_on_a_passed_examination():
    person_file().check_decision(**decide_kwargs("grant", basis=[EXAM_ID]))


def test_r68_a_grant_on_a_failed_examination_is_refused():
    file = person_file(passed=False)
    with pytest.raises(InvalidCommand) as refusal:
        file.check_decision(**decide_kwargs("grant", basis=[EXAM_ID]))
    assert "R68" in refusal.value.detail


def certified(valid_until: date, window: int = 6) -> CertificationFile:
    file = person_file()
    file.take(decision_id="dec-grant", outcome="grant", certificate_number=None, actor=DECIDER, reason="passed")
    file.note_certificate(number=NUMBER, status="active")
    file.note_validity(number=NUMBER, valid_until=valid_until.isoformat())
    file.note_renewal_window(number=NUMBER, months=window)
    file.collect_events()
    return file


def recertification(file: CertificationFile, *, issued_on: date, passed: bool = True, on: str | None = NUMBER):
    file.note_audit(audit_id=RECERT_ID, kind="examination", certificate_number=on)
    file.note_evaluator(audit_id=RECERT_ID, person=EXAMINER, role="examiner")
    file.note_report(audit_id=RECERT_ID, conclusion="conforming" if passed else "nonconforming",
                     issued_on=issued_on.isoformat(), examination_passed=passed)


def test_r68_a_renewal_rests_on_a_passed_recertification_examination_inside_the_window():
    file = certified(valid_until=date(2026, 8, 31))  # the window opened on 2026-02-28
    recertification(file, issued_on=TODAY)
    file.check_decision(**decide_kwargs("renew", basis=[RECERT_ID]))


@pytest.mark.parametrize("issued_on,passed,on,basis", [
    (TODAY, True, NUMBER, [EXAM_ID]),             # the initial examination is no recertification
    (TODAY, False, NUMBER, [RECERT_ID]),          # a failed recertification examination
    (date(2026, 1, 15), True, NUMBER, [RECERT_ID]),  # before the window opened
    (TODAY, True, None, [RECERT_ID]),             # an examination of the application, not of the certificate
])
def test_r68_a_renewal_without_a_passed_recertification_examination_in_the_window_is_refused(
        issued_on, passed, on, basis):
    file = certified(valid_until=date(2026, 8, 31))
    recertification(file, issued_on=issued_on, passed=passed, on=on)
    with pytest.raises(InvalidCommand) as refusal:
        file.check_decision(**decide_kwargs("renew", basis=basis))
    assert "R68" in refusal.value.detail


# -- R69 --------------------------------------------------------------------------------------------------------


def test_r69_the_person_and_staff_read_a_person_certificate_others_do_not():
    certificate = make_certificate(holder={"name": "", "registration_number": ""},
                                   production_unit={"name": "", "address": ""}, products=[], person="Jan Peeters")
    certificate.check_reader(staff=True, organisation=None, reader=DECIDER)
    certificate.check_reader(staff=False, organisation=None, reader="jan  peeters")
    with pytest.raises(NotPermitted):
        certificate.check_reader(staff=False, organisation=None, reader="Mieke Andere")
    with pytest.raises(NotPermitted):  # no organisation holds a person's certificate
        certificate.check_reader(staff=False, organisation="", reader="Mieke Andere")
    document = certificate.document(revision=None, today=TODAY)
    assert document["person"] == "Jan Peeters" and document["holder"]["name"] == ""  # printed for the person


def test_r69_a_product_certificate_is_still_read_by_its_holders_staff_only():
    certificate = make_certificate()
    certificate.check_reader(staff=False, organisation=APPLICANT["registration_number"], reader="Hanna Holder")
    with pytest.raises(NotPermitted):
        certificate.check_reader(staff=False, organisation=None, reader="Hanna Holder")
