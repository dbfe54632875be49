"""Samples and laboratory results: R30 (who samples what, when), R31 (a laboratory's own samples only),
R32 (immutable results, corrections, the same result posted again) and R33 (a finding on a result)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from services.audits.domain import result_id_for
from shared.errors import Duplicate, InvalidCommand, InvalidTransition, NotFound, NotPermitted
from tests.unit.factories import AUDITOR, EXPERT, LEAD, TODAY, recorded, refused
from tests.unit.factories_audits import (
    FINDING,
    LAB,
    LAB_TECHNICIAN,
    OTHER_LAB,
    REPORT,
    RESULT,
    SAMPLE,
    SAMPLE_ID,
    post_result,
    sampling_audit,
    with_sample,
)

# -- R30: samples ---------------------------------------------------------------------------------


def test_r30_a_team_member_takes_a_sample_of_a_product_of_the_file():
    audit = sampling_audit()
    audit.take_sample(sample_id=SAMPLE_ID, **{**SAMPLE, "product": "vdm kerb 100"}, today=TODAY, actor=AUDITOR)
    (event,) = recorded(audit)
    assert type(event).__name__ == "SampleTaken"
    assert (event.product, event.laboratory, event.seal_number) == ("VDM Kerb 100", LAB, "S-000123")
    assert audit.samples[SAMPLE_ID]["current_result"] is None


def test_r30_someone_outside_the_team_takes_no_sample():
    audit = sampling_audit()
    refused(audit, NotPermitted, audit.take_sample, sample_id=SAMPLE_ID, **SAMPLE, today=TODAY, actor=EXPERT)
    assert audit.samples == {}


def test_r30_no_sample_after_the_report():
    audit = sampling_audit()
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)
    recorded(audit)
    refused(audit, InvalidTransition, audit.take_sample, sample_id=SAMPLE_ID, **SAMPLE, today=TODAY, actor=AUDITOR)


@pytest.mark.parametrize("change", [{"product": "Paver PV 80"}, {"taken_on": TODAY + timedelta(days=1)}])
def test_r30_a_sample_is_of_a_product_of_the_file_and_already_taken(change):
    audit = sampling_audit()
    refused(audit, InvalidCommand, audit.take_sample, sample_id=SAMPLE_ID, **{**SAMPLE, **change}, today=TODAY,
            actor=AUDITOR)


def test_r30_one_seal_one_sample():
    audit = with_sample(sampling_audit())
    refused(audit, Duplicate, audit.take_sample, sample_id="other", **{**SAMPLE, "seal_number": "s-000123"},
            today=TODAY, actor=AUDITOR)


# -- R31: the laboratory's own samples ------------------------------------------------------------------


def test_r31_the_assigned_laboratory_posts_a_result():
    audit = with_sample(sampling_audit())
    result = post_result(audit, laboratory="lab-0042")
    (event,) = recorded(audit)
    assert type(event).__name__ == "SampleResultRecorded"
    assert event.actor == LAB_TECHNICIAN and event.subcontracted is True and event.laboratory == LAB
    assert result["result_id"] == event.result_id == audit.samples[SAMPLE_ID]["current_result"]
    assert result["accreditation"] == "BELAC 123-TEST" and result["subcontracted"] is True


@pytest.mark.parametrize("laboratory", [OTHER_LAB, None])
def test_r31_another_laboratory_posts_no_result(laboratory):
    audit = with_sample(sampling_audit())
    refused(audit, NotPermitted, partial(post_result, audit), laboratory=laboratory)
    assert audit.samples[SAMPLE_ID]["results"] == []


def test_r31_an_unknown_sample_is_not_found():
    audit = with_sample(sampling_audit())
    refused(audit, NotFound, partial(post_result, audit), sample_id="no-such-sample")


# -- R32: immutable results, corrections, the same result again ---------------------------------------


def test_r32_the_same_result_posted_again_is_the_same_result_and_records_nothing():
    audit = with_sample(sampling_audit())
    first = post_result(audit)
    recorded(audit)
    again = post_result(audit, values=[{"quantity": "bending strength", "value": 3.1, "unit": "MPa"}])
    assert again == first
    assert list(audit.collect_events()) == []
    assert first["result_id"] == result_id_for(SAMPLE_ID, RESULT)


def test_r32_a_different_result_without_corrects_is_refused():
    audit = with_sample(sampling_audit())
    post_result(audit)
    recorded(audit)
    refused(audit, Duplicate, partial(post_result, audit), conformity="conforming")


def test_r32_a_correction_names_an_earlier_result_and_becomes_current():
    audit = with_sample(sampling_audit())
    first = post_result(audit)
    recorded(audit)
    correction = post_result(audit, values=[{"quantity": "bending strength", "value": 3.8, "unit": "MPa"}],
                             conformity="conforming", corrects=first["result_id"])
    (event,) = recorded(audit)
    assert event.corrects == first["result_id"]
    sample = audit.samples[SAMPLE_ID]
    assert sample["current_result"] == correction["result_id"]
    assert sample["results"][0]["corrected_by"] == correction["result_id"]
    assert sample["results"][0]["conformity"] == "nonconforming"  # the first result is kept as it was


def test_r32_a_correction_of_an_unknown_or_superseded_result_is_refused():
    audit = with_sample(sampling_audit())
    first = post_result(audit)
    refused(audit, InvalidCommand, partial(post_result, audit), conformity="conforming", corrects="not-a-result")
    post_result(audit, conformity="conforming", corrects=first["result_id"])
    recorded(audit)
    refused(audit, InvalidTransition, partial(post_result, audit), method="EN 1340 annex F, repeated",
            corrects=first["result_id"])


def test_r32_a_correction_must_be_of_the_same_sample():
    audit = with_sample(with_sample(sampling_audit()), sample_id="second", seal_number="S-000124")
    first = post_result(audit)
    recorded(audit)
    refused(audit, InvalidCommand, partial(post_result, audit), sample_id="second", corrects=first["result_id"])


# -- R33: a finding on a laboratory result -----------------------------------------------------------


def test_r33_a_nonconforming_current_result_opens_a_finding():
    audit = with_sample(sampling_audit())
    result = post_result(audit)
    recorded(audit)
    audit.record_finding(finding_id="F-1", actor=AUDITOR, sample_result=result["result_id"], **FINDING)
    (event,) = recorded(audit)
    assert event.sample_result == result["result_id"]
    assert audit.findings["F-1"]["sample_result"] == result["result_id"]


def test_r33_a_conforming_result_opens_no_finding():
    audit = with_sample(sampling_audit())
    result = post_result(audit, conformity="conforming")
    recorded(audit)
    refused(audit, InvalidCommand, audit.record_finding, finding_id="F-1", actor=AUDITOR,
            sample_result=result["result_id"], **FINDING)


def test_r33_a_superseded_result_opens_no_finding():
    audit = with_sample(sampling_audit())
    first = post_result(audit)
    post_result(audit, method="EN 1340 annex F (rev.)", corrects=first["result_id"])
    recorded(audit)
    refused(audit, InvalidTransition, audit.record_finding, finding_id="F-1", actor=AUDITOR,
            sample_result=first["result_id"], **FINDING)


def test_r33_an_unknown_result_opens_no_finding():
    audit = with_sample(sampling_audit())
    refused(audit, InvalidCommand, audit.record_finding, finding_id="F-1", actor=AUDITOR,
            sample_result="not-a-result", **FINDING)


# -- the report marks subcontracted results -------------------------------------------------------------


def test_the_report_states_each_samples_current_result_as_subcontracted():
    audit = with_sample(with_sample(sampling_audit()), sample_id="untested", seal_number="S-000999")
    first = post_result(audit)
    current = post_result(audit, conformity="conforming", corrects=first["result_id"])
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)
    recorded(audit)
    (line,) = audit.report["laboratory_results"]
    assert line["result_id"] == current["result_id"] and line["conformity"] == "conforming"
    assert (line["subcontracted"], line["laboratory"], line["accreditation"]) == (True, LAB, "BELAC 123-TEST")
    # A result reported later is still recorded (the laboratory's fact), but the issued report stays as it was.
    post_result(audit, sample_id="untested")
    assert len(audit.report["laboratory_results"]) == 1
