"""Builders of realistic aggregates and assertion helpers for the pure domain unit tests.

Nothing here touches a database, the network or the clock: every date is fixed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable

import pytest
from eventsourcing.domain import Aggregate

from services.applications.domain import Application, KnownScheme
from services.audits.domain import Audit, AuditedFile
from services.decisions.domain import Appeal, CertificationFile, Decision
from services.registry.domain import Certificate, Numbering, Scheme
from shared.domain import FileLink

TODAY = date(2026, 6, 1)
YESTERDAY = TODAY - timedelta(days=1)
TOMORROW = TODAY + timedelta(days=1)
# More than two years before TODAY (the cooling-off horizon is 2024-06-01).
LONG_AGO = date(2024, 5, 31)
# Within the last two years.
RECENTLY = date(2025, 3, 15)

APPLICATION_ID = "7f0c1c1e-0a51-4d5e-9a51-0d3c2b9a4e11"
AUDIT_ID = "a1d17000-0000-4000-8000-000000000001"
NUMBER = "BENOR-00042"

CONSULTANT = "Carla Consultant"
OLD_CONSULTANT = "Oscar Oldadviser"
APPLICANT_PERSON = "Mieke Manufacturer"
OFFICER = "Olaf Officer"
LEAD = "Lena Lead"
AUDITOR = "Arno Auditor"
EXPERT = "Tess Technical"
DECIDER = "Dirk Decider"
REGISTRAR = "Rita Registrar"

APPLICANT = {"name": "Betonfabriek Vandamme NV", "registration_number": "BE0123456789", "address": "Kaai 12, 9000 Gent"}
PRODUCTION_UNIT = {"name": "Plant Gent-Zeehaven", "address": "Havenlaan 5, 9000 Gent"}
PRODUCTS = [{"name": "VDM Kerb 100", "type": "kerb", "description": "Concrete kerb units, class 2"},
            {"name": "VDM Kerb 150", "type": "kerb", "description": "Concrete kerb units, class 3"}]
SURVEILLANCE_ID = "a0d17000-0000-4000-8000-000000000002"
VERIFICATION_ID = "a0d17000-0000-4000-8000-000000000003"
SCHEME_DOCUMENTS = [
    {"kind": "TRA", "ref": "TRA 21", "version": "3.0", "effective_from": "2025-01-01", "transition_deadline": None},
    {"kind": "PTV", "ref": "PTV 21-601", "version": "2.1", "effective_from": "2024-06-01", "transition_deadline": None},
]


def consultancy(*, current: str = CONSULTANT, old: str = OLD_CONSULTANT) -> list[dict[str, Any]]:
    return [
        {"person": current, "organisation": "Quality Advisers BV", "from": "2024-09-01", "until": RECENTLY.isoformat()},
        {"person": old, "organisation": "Old Advice CV", "from": "2019-01-01", "until": LONG_AGO.isoformat()},
    ]


# -- builders ---------------------------------------------------------------------------------------


def make_application(**overrides: Any) -> Application:
    kwargs: dict[str, Any] = dict(
        scheme="BENOR-PTV-21-601",
        scheme_documents=SCHEME_DOCUMENTS,
        applicant=APPLICANT,
        production_unit=PRODUCTION_UNIT,
        products=PRODUCTS,
        scope="Concrete kerb units to PTV 21-601",
        consultancy=consultancy(),
        submitted_by=APPLICANT_PERSON,
        actor=APPLICANT_PERSON,
        reason="application for BENOR certification",
        agreement={"conditions_version": "2026-01", "licence_version": "2026-01", "accepted_on": TODAY.isoformat()},
        candidate=None,  # R65: a person file's candidate and examination (tests/unit/test_rules_person.py)
        examination=None,
    )
    kwargs.update(overrides)
    return Application(**kwargs)


def make_audit(**overrides: Any) -> Audit:
    kwargs: dict[str, Any] = dict(
        application_id=APPLICATION_ID,
        certificate_number=None,
        kind="initial",
        planned_start=date(2026, 5, 18),
        planned_end=date(2026, 5, 19),
        items=[{"product": "VDM Kerb 100", "what": "factory production control and sampling"}],
        actor=OFFICER,
        reason="initial audit of the admission period",
    )
    kwargs.update(overrides)
    return Audit(**kwargs)


def independent() -> dict[str, Any]:
    return {"independent": True, "interests": []}


def staffed_audit() -> Audit:
    """An audit with a lead auditor and an auditor, both independent."""
    audit = make_audit()
    audit.assign(person=LEAD, role="lead_auditor", declaration=independent(), consultancy=consultancy(), today=TODAY,
                 actor=OFFICER)
    audit.assign(person=AUDITOR, role="auditor", declaration=independent(), consultancy=consultancy(), today=TODAY,
                 actor=OFFICER)
    return audit


def make_file(
    *,
    consultancy_declared: list[dict[str, Any]] | None = None,
    application_status: str = "accepted",
    evaluators: tuple[tuple[str, str], ...] = ((LEAD, "lead_auditor"), (AUDITOR, "auditor"), (EXPERT, "technical_expert")),
    reported: bool = True,
    certificate_status: str | None = None,
) -> CertificationFile:
    """What decisions knows about a file: the application, one audit with its team and report."""
    file = CertificationFile(application_id=APPLICATION_ID)
    file.note_application(application={
        "scheme": "BENOR-PTV-21-601",
        "applicant": APPLICANT,
        "production_unit": PRODUCTION_UNIT,
        "products": PRODUCTS,
        "scope": "Concrete kerb units to PTV 21-601",
        "consultancy": consultancy() if consultancy_declared is None else consultancy_declared,
    })
    file.note_application_status(status=application_status)
    file.note_audit(audit_id=AUDIT_ID, kind="initial")
    for person, role in evaluators:
        file.note_evaluator(audit_id=AUDIT_ID, person=person, role=role)
    if reported:
        file.note_report(audit_id=AUDIT_ID, conclusion="conforming")
    if certificate_status is not None:
        file.note_certificate(number=NUMBER, status=certificate_status)
    file.collect_events()
    return file


def with_reported_audit(file: CertificationFile, audit_id: str, kind: str) -> CertificationFile:
    """A later audit of the file (surveillance, special...), reported conforming."""
    file.note_audit(audit_id=audit_id, kind=kind)
    file.note_report(audit_id=audit_id, conclusion="conforming")
    file.collect_events()
    return file


def decide_kwargs(outcome: str = "grant", **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(
        outcome=outcome,
        decider=DECIDER,
        certificate_number=None if outcome in ("grant", "refuse") else NUMBER,
        basis=[AUDIT_ID],
        effective_from=TODAY,
        today=TODAY,
        scope="Concrete kerb units, reduced" if outcome in ("extend_scope", "reduce_scope") else None,
        products=PRODUCTS[:1] if outcome == "reduce_scope" else None,
    )
    kwargs.update(overrides)
    return kwargs


def make_decision(outcome: str = "grant", **overrides: Any) -> Decision:
    kwargs: dict[str, Any] = dict(
        outcome=outcome,
        application_id=APPLICATION_ID,
        certificate_number=None if outcome in ("grant", "refuse") else NUMBER,
        basis=[AUDIT_ID],
        rationale="audit conforming, no open major nonconformity",
        effective_from=TODAY,
        decided_on=TODAY,
        scope=None,
        certified=None,
        scheme="BENOR-PTV-21-601",
        actor=DECIDER,
        reason="audit conforming, no open major nonconformity",
        products=None,
        complaint_id=None,
        conditions=None,
        until=None,
        deadline=None,
        voluntary=False,
        request_id=None,
        appeal_id=None,
        level=None,
    )
    kwargs.update(overrides)
    return Decision(**kwargs)


def make_appeal(involved: list[str] | None = None) -> Appeal:
    return Appeal(
        decision_id="d3c15101-0000-4000-8000-000000000009",
        certificate_number=NUMBER,
        application_id=APPLICATION_ID,
        contested_outcome="suspend",
        involved=[DECIDER, LEAD, AUDITOR] if involved is None else involved,
        appellant=APPLICANT_PERSON,
        grounds="the nonconformity was closed before the suspension",
        actor=OFFICER,
        reason="the nonconformity was closed before the suspension",
    )


def make_scheme(max_suspension_months: int = 6) -> Scheme:
    return Scheme(
        code="benor-ptv-21-601",
        mark="BENOR",
        title="Concrete kerb units",
        certification_type="product",
        documents=SCHEME_DOCUMENTS,
        validity_months=36,
        surveillance_months=6,
        admission_months=6,
        max_suspension_months=max_suspension_months,
        actor=REGISTRAR,
        reason="scheme adopted by the sectoral commission",
    )


def make_certificate(**overrides: Any) -> Certificate:
    kwargs: dict[str, Any] = dict(
        number=NUMBER,
        quick_code="10000016",
        application_id=APPLICATION_ID,
        decision_id="dec-grant",
        holder=APPLICANT,
        production_unit=PRODUCTION_UNIT,
        products=PRODUCTS,
        scope="Concrete kerb units to PTV 21-601",
        scheme="BENOR-PTV-21-601",
        mark="BENOR",
        documents=SCHEME_DOCUMENTS,
        valid_from=date(2025, 1, 1),
        valid_until=date(2027, 12, 31),
        surveillance_months=12,
        surveillance_due=date(2026, 12, 31),
        actor=REGISTRAR,
        reason="grant by decision dec-grant",
    )
    kwargs.update(overrides)
    return Certificate(**kwargs)


# -- assertions ---------------------------------------------------------------------------------------

# Internal aggregates that only learn facts from other services' events (their "Noted"/"Learnt"
# events have no human actor). The numbering allocator is opened once, by nobody in particular.
KNOWLEDGE_AGGREGATES = (KnownScheme, AuditedFile, FileLink,
                        CertificationFile)


def is_exempt_from_r10(aggregate_cls: type, event: Any) -> bool:
    if aggregate_cls is Numbering and type(event).__name__ == "Opened":
        return True
    name = type(event).__name__
    if aggregate_cls in KNOWLEDGE_AGGREGATES and (name.endswith("Noted") or name.endswith("Learnt")):
        return True
    # The creation of a file's knowledge record by a policy that learns of it (no human actor).
    return aggregate_cls is CertificationFile and name == "Opened"


def assert_attributed(aggregate_cls: type, events: list[Any]) -> None:
    """R10: each event names who did it, when, and why."""
    for event in events:
        if is_exempt_from_r10(aggregate_cls, event):
            continue
        label = f"{aggregate_cls.__name__}.{type(event).__name__}"
        actor = getattr(event, "actor", None)
        assert isinstance(actor, str) and actor.strip(), f"{label} has no actor"
        assert hasattr(event, "reason"), f"{label} has no reason attribute"
        assert isinstance(event.reason, str) and event.reason.strip(), f"{label} has an empty reason"
        assert isinstance(event.timestamp, datetime), f"{label} has no time"


def recorded(aggregate: Aggregate) -> list[Any]:
    """The events an accepted command recorded; each checked against R10."""
    events = list(aggregate.collect_events())
    assert events, "the command was accepted but recorded no event"
    assert_attributed(type(aggregate), events)
    return events


def refused(aggregate: Aggregate, error: type[Exception], command: Callable[..., Any], /, **kwargs: Any) -> Exception:
    """Runs a command expected to be refused with exactly ``error`` and to record nothing."""
    events_before = list(aggregate.collect_events())
    assert_attributed(type(aggregate), events_before)
    version = aggregate.version
    with pytest.raises(error) as info:
        command(**kwargs)
    assert type(info.value) is error, f"expected exactly {error.__name__}, got {type(info.value).__name__}"
    assert list(aggregate.collect_events()) == [], "a refused command recorded an event"
    assert aggregate.version == version
    return info.value
