"""Builders for the audits' samples, laboratory results, corrective actions and report comments (pure,
dates fixed). The shared builders are in tests/unit/factories.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.audits.domain import Audit
from tests.unit.factories import AUDITOR, LEAD, OFFICER, PRODUCTS, TODAY, consultancy, independent, make_audit

HOLDER = "BE0123456789"  # the file's holder (applicant.registration_number)
OTHER_HOLDER = "BE0999888777"
HOLDER_STAFF = "Hanna Holder"
LAB = "LAB-0042"
OTHER_LAB = "LAB-0099"
LAB_TECHNICIAN = "Lars Laborant"
SAMPLE_ID = "5a3b1e00-0000-4000-8000-000000000001"
DUE = date(2026, 6, 15)

SAMPLE = dict(product="VDM Kerb 100", batch="B-2026-0413", seal_number="S-000123", taken_on=TODAY, laboratory=LAB)
RESULT = dict(
    method="EN 1340 annex F", clause="PTV 21-601 §5.3",
    values=[{"quantity": "bending strength", "value": 3.1, "unit": "MPa"}],
    conformity="nonconforming", accreditation="BELAC 123-TEST", corrects=None,
)
FINDING = dict(severity="major", requirement="PTV 21-601 §5.3", description="bending strength below 3.5 MPa",
               corrective_action_due=DUE)
ACTION = dict(description="Mix design corrected and curing extended to 28 days",
              evidence=[{"name": "Mix design rev 5", "reference": "MD-2026-05"}])
REPORT = dict(conclusion="nonconforming", recommendation="no grant until F-1 is closed", summary="one major")


def sampling_audit() -> Audit:
    """An audit of the file's products (as planned by the service: the file's products are its items),
    with a lead auditor and an auditor, both independent; no events pending."""
    audit = make_audit(items=PRODUCTS)
    audit.assign(person=LEAD, role="lead_auditor", declaration=independent(), consultancy=consultancy(), today=TODAY,
                 actor=OFFICER)
    audit.assign(person=AUDITOR, role="auditor", declaration=independent(), consultancy=consultancy(), today=TODAY,
                 actor=OFFICER)
    audit.collect_events()
    return audit


def with_sample(audit: Audit, sample_id: str = SAMPLE_ID, **overrides: Any) -> Audit:
    audit.take_sample(sample_id=sample_id, **{**SAMPLE, **overrides}, today=TODAY, actor=AUDITOR)
    audit.collect_events()
    return audit


def post_result(audit: Audit, sample_id: str = SAMPLE_ID, laboratory: str | None = LAB, **overrides: Any) -> dict:
    return audit.record_result(sample_id=sample_id, laboratory=laboratory, **{**RESULT, **overrides}, today=TODAY,
                               actor=LAB_TECHNICIAN)


def with_finding(audit: Audit, finding_id: str = "F-1", **overrides: Any) -> Audit:
    audit.record_finding(finding_id=finding_id, actor=AUDITOR, **{**FINDING, **overrides})
    audit.collect_events()
    return audit


def submit(audit: Audit, *, today: date = TODAY, ca_id: str = "CA-1", finding_id: str = "F-1",
           organisation: str | None = HOLDER, holder: str | None = HOLDER) -> None:
    audit.submit_corrective_action(finding_id=finding_id, corrective_action_id=ca_id, **ACTION, holder=holder,
                                   organisation=organisation, today=today, actor=HOLDER_STAFF)


def audit_with_every_new_event() -> list[Any]:
    """The events of one audit that samples, reports a result and its correction, records a finding on it,
    takes a corrective action through rejection and acceptance, reports and takes the holder's comment:
    for the R10 walk of tests/unit/test_rules_records.py."""
    audit = sampling_audit()
    audit.take_sample(sample_id=SAMPLE_ID, **SAMPLE, today=TODAY, actor=AUDITOR)
    first = post_result(audit)
    current = post_result(audit, corrects=first["result_id"], method="EN 1340 annex F (repeat)")
    audit.record_finding(finding_id="F-1", actor=AUDITOR, **FINDING, sample_result=current["result_id"])
    submit(audit)
    audit.review_corrective_action(finding_id="F-1", corrective_action_id="CA-1", outcome="rejected",
                                   reason="no curing records", today=TODAY, actor=AUDITOR)
    submit(audit, ca_id="CA-2")
    audit.review_corrective_action(finding_id="F-1", corrective_action_id="CA-2", outcome="accepted",
                                   reason="records checked", today=TODAY, actor=LEAD)
    audit.issue_report(report_id="RPT-1", today=TODAY, actor=LEAD, **REPORT)
    audit.comment_on_report(comment_id="C-1", comment="noted", holder=HOLDER, organisation=HOLDER, today=TODAY,
                            actor=HOLDER_STAFF)
    return list(audit.collect_events())
