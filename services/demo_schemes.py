"""The third guided run, ``hallmark demo --story schemes``: certification driven by the scheme, through the HTTP
API. A scheme with an admission period and its own surveillance frequency, and the certificate's surveillance
programme; a maintenance refused without a surveillance audit; the sanctions ladder (a warning, a conditional
withdrawal lifted by a verification, a suspension with conditions and an end date); a new PTV version
published on the sectoral commission's decision, whose transition deadline passes and flags the certificate;
a CO2 Performance Ladder certificate (ISO/IEC 17021-1) on stage 1 and stage 2 audits with its level; an
asbestos expert's person certificate (ISO/IEC 17024) on an examination in theory and practice."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from services.demo import Client, _wait, _wait_status, say, step
from shared.domain import add_months

HOLDER = "BE0123456789"  # Betonwerk Noord NV
STAFF = {"mieke": ("Mieke Manufacturer", ["applicant"], HOLDER)}
PEOPLE = {  # a candidate for person certification (no organisation) and an examiner
    "jan": ("Jan Peeters", ["applicant"]),
    "eva": ("Eva Examiner", ["auditor"]),
}


class SchemesClient(Client):
    def __init__(self, base: str, secret: bytes, distributed: bool = False) -> None:
        super().__init__(base, secret, distributed)
        self.add_people(secret, {**STAFF, **PEOPLE})


def _audit(api: Client, today: date, kind: str, summary: str = "Factory production control in place",
           **subject: Any) -> str:
    """An audit of ``kind`` with Luc Lead as lead auditor, reported conforming (``level_assessed`` goes into the
    report, the rest into the audit's subject)."""
    level = subject.pop("level_assessed", None)
    audit = api.call("POST", "/v1/audits", "lead", {"kind": kind, "planned_start": today.isoformat(), **subject},
                     expect=201)["id"]
    api.call("POST", f"/v1/audits/{audit}/team", "officer", {
        "person": "Luc Lead", "role": "lead_auditor", "declaration": {"independent": True, "interests": []}})
    api.call("POST", f"/v1/audits/{audit}/report", "lead", {
        "conclusion": "conforming", "recommendation": "grant", "summary": summary,
        **({"level_assessed": level} if level is not None else {})})
    return audit


def _certificate_of(api: Client, app_id: str) -> str:
    number = _wait(lambda: (api.call("GET", "/v1/certificates", "admin", application_id=app_id)["items"]
                            or [None])[0])["number"]
    _wait_status(api, number, "active")
    return number


def _decide(api: Client, today: date, number: str, outcome: str, basis: list[str], rationale: str,
            expect: int = 201, **extra: Any) -> dict[str, Any]:
    return api.call("POST", "/v1/decisions", "decider", {
        "subject": {"certificate_number": number}, "outcome": outcome, "basis": basis, "rationale": rationale,
        "effective_from": today.isoformat(), **extra}, expect=expect)


def _staff_view(api: Client, number: str) -> dict[str, Any]:
    return api.call("GET", f"/v1/certificates/{number}", "admin")


def schemes_story(api: SchemesClient, base: str, today: date) -> int:
    suffix = uuid.uuid4().hex[:4].upper()
    code, commission = f"PTV-SCHEMES-{suffix}", f"SC-KERBS-{suffix}"

    step("1. A sectoral commission, and a BENOR scheme with an admission period and its own programme")
    api.call("POST", "/v1/schemes", "admin", {
        "code": code, "mark": "BENOR", "title": "Precast concrete kerbs", "certification_type": "product",
        "documents": [{"kind": "PTV", "ref": "PTV 21-601", "version": "2.0", "effective_from": "2025-01-01"}],
        "validity_months": 36, "surveillance_months": 12, "admission_months": 6, "max_suspension_months": 6,
        "admission_surveillance_months": 3, "renewal_window_months": 4, "sampling_months": 2,
    }, expect=201)
    api.call("POST", "/v1/schemes/commissions", "admin", {
        "code": commission, "name": "Sectoral commission for precast concrete kerbs", "schemes": [code]},
        expect=201)
    say(f"scheme {code}: admission period 6 months with a surveillance every 3 (R48), then every 12; renewal "
        f"window 4 months; sampling every 2; commission {commission} writes its PTV (R53)")

    step("2. Betonwerk Noord is certified; its surveillance programme is read by staff and by the holder")
    app_id = api.call("POST", "/v1/applications", "mieke", {
        "scheme": code,
        "applicant": {"name": "Betonwerk Noord NV", "registration_number": HOLDER, "address": "Kaai 1, Antwerpen"},
        "production_unit": {"name": "Plant Zelzate", "address": "Industrieweg 5, Zelzate"},
        "products": [{"name": "Kerb KB 100", "type": "kerb"}],
        "scope": "Precast concrete kerbs, type KB", "consultancy": [],
        "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"},
    }, expect=201)["id"]
    api.call("POST", f"/v1/applications/{app_id}/review", "officer", {"outcome": "accepted", "reason": "complete"})
    initial = _audit(api, today, "initial", application_id=app_id)
    api.call("POST", "/v1/decisions", "decider", {
        "subject": {"application_id": app_id}, "outcome": "grant", "basis": [initial],
        "rationale": "Evaluation complete", "effective_from": today.isoformat()}, expect=201)
    number = _certificate_of(api, app_id)
    programme = api.call("GET", f"/v1/certificates/{number}/programme", "mieke")
    planned = ", ".join(p["due"] for p in programme["planned_surveillance"][:4])
    say(f"certificate {number}; admission until {programme['admission']['until']} "
        f"(surveillance every {programme['admission']['surveillance_months']} months); planned surveillance: "
        f"{planned}, ...; sampling every {programme['sampling_months']} months (R49, the holder's view)")

    step("3. A maintenance decision resting on the initial audit is refused: it needs a surveillance audit")
    refused = _decide(api, today, number, "maintain", [initial], "keep it", expect=422)
    say(f"422 {refused['type']}: {refused['detail']}")
    surveillance = _audit(api, today, "surveillance", certificate_number=number)
    _decide(api, today, number, "maintain", [surveillance], "Surveillance audit conforming")
    say(f"maintained on surveillance audit {surveillance} (R13)")

    step("4. The sanctions ladder: a warning, a conditional withdrawal, a suspension with conditions")
    _decide(api, today, number, "warning", [], "Marking on pallets incomplete; corrected within the month")
    say(f"warning recorded; the certificate stays {_staff_view(api, number)['status']}; the public does not see it "
        "(R40)")
    deadline = today + timedelta(days=30)
    _decide(api, today, number, "conditional_withdrawal", [], "Retest of batch 42 outstanding",
            conditions="Retest batch 42 and close NC-3", deadline=deadline.isoformat())
    say(f"conditional withdrawal: withdrawn unless the conditions are met by {deadline} (R41)")
    verification = _audit(api, today, "special", certificate_number=number)
    _decide(api, today, number, "restore", [verification], "Retest conforming; NC-3 closed")
    say(f"lifted by a restoration on verification audit {verification} (R42)")
    until = add_months(today, 3)
    _decide(api, today, number, "suspend", [], "Press out of calibration", conditions="Recalibrate press P2",
            until=until.isoformat())
    public, _ = _wait_status(api, number, "suspended")
    say(f"suspended until {public['suspended_until']} (never past the scheme's 6 months, R44); the conditions "
        "are for the holder and staff only")
    verification = _audit(api, today, "special", certificate_number=number)
    _decide(api, today, number, "restore", [verification], "Press recalibrated; verified on site")
    _wait_status(api, number, "active")
    say("restored on a verification newer than the suspension (R13)")

    step(f"5. Commission {commission} decides PTV 21-601 version 3.0; the transition deadline passes")
    refused = api.call("POST", f"/v1/schemes/{code}/documents", "admin", {
        "kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": (today - timedelta(days=60)).isoformat(),
        "transition_deadline": (today - timedelta(days=1)).isoformat()}, expect=422)
    say(f"without the commission's decision: 422 {refused['type']} (R53)")
    api.call("POST", f"/v1/schemes/{code}/documents", "admin", {
        "kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": (today - timedelta(days=60)).isoformat(),
        "transition_deadline": (today - timedelta(days=1)).isoformat(),
        "commission_decision": {"commission": commission, "reference": f"{commission}/2026/07",
                                "date": (today - timedelta(days=75)).isoformat()}}, expect=201)
    say(f"published on decision {commission}/2026/07 (dated back: the deadline, "
        f"{today - timedelta(days=1)}, has passed so that the demo need not wait)")
    swept = api.call("POST", "/v1/certificates/sweep", "admin", expect=200)
    say(f"the daily sweep, run now by an admin, flags: {', '.join(swept['changed']) or 'nothing'}")
    flagged = _wait(lambda: _staff_view(api, number).get("transitions_overdue"))
    attention = [reason for reason in _staff_view(api, number)["attention"] if "R50" in reason]
    say(f"{number} still on PTV 21-601 version {flagged[0]['from_version']}: flagged for a suspension decision "
        f"(R50): {attention[0] if attention else flagged}")
    ladder = _system_certification(api, today, suffix)
    person = _person_certification(api, today, suffix)
    print(f"\nDone. The certificates: {base}/public/v1/certificates/{number} (BENOR), "
          f"{base}/public/v1/certificates/{ladder} (CO2 Performance Ladder), "
          f"{base}/public/v1/certificates/{person} (asbestos expert)")
    return 0


def _system_certification(api: SchemesClient, today: date, suffix: str) -> str:
    step("6. ISO/IEC 17021-1: a CO2 Performance Ladder certificate, on stage 1 and stage 2 audits, with its level")
    code = f"CO2-LADDER-{suffix}"
    types = api.call("GET", "/v1/catalogue", "admin")["scheme_types"]["system"]
    say(f"the catalogue's system type: {types['standard']}, initial audits {' then '.join(types['initial_audits'])}, "
        f"a {types['cycle_months']}-month cycle, surveillance every {types['surveillance_months']} months")
    refused = api.call("POST", "/v1/schemes", "admin", {
        "code": code, "mark": "COPRO", "title": "CO2 Performance Ladder", "certification_type": "system",
        "documents": [{"kind": "TRA", "ref": "CO2 Performance Ladder handbook", "version": "3.1",
                       "effective_from": "2025-01-01"}],
        "validity_months": 24, "surveillance_months": 12, "admission_months": 0, "max_suspension_months": 6,
        "levels": [1, 2, 3, 4, 5]}, expect=422)
    say(f"a 24-month cycle is refused: 422 {refused['type']} ({refused.get('field')})")
    api.call("POST", "/v1/schemes", "admin", {
        "code": code, "mark": "COPRO", "title": "CO2 Performance Ladder", "certification_type": "system",
        "documents": [{"kind": "TRA", "ref": "CO2 Performance Ladder handbook", "version": "3.1",
                       "effective_from": "2025-01-01"}],
        "validity_months": 36, "surveillance_months": 12, "admission_months": 0, "max_suspension_months": 6,
        "levels": [1, 2, 3, 4, 5]}, expect=201)
    app_id = api.call("POST", "/v1/applications", "mieke", {
        "scheme": code,
        "applicant": {"name": "Betonwerk Noord NV", "registration_number": HOLDER, "address": "Kaai 1, Antwerpen"},
        "production_unit": {"name": "Head office", "address": "Kaai 1, Antwerpen"}, "products": [],
        "scope": "CO2 management of the organisation: head office Kaai 1, Antwerpen; plant Zelzate",
        "consultancy": [], "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"},
    }, expect=201)["id"]
    api.call("POST", f"/v1/applications/{app_id}/review", "officer", {"outcome": "accepted", "reason": "complete"})
    early = api.call("POST", "/v1/audits", "lead", {"kind": "stage2", "planned_start": today.isoformat(),
                                                    "application_id": app_id}, expect=409)
    say(f"stage 2 before a reported stage 1 is refused: 409 {early['type']}")
    stage1 = _audit(api, today, "stage1", "Documentation, boundaries and CO2 footprint reviewed",
                    application_id=app_id)
    stage2 = _audit(api, today, "stage2", "CO2 reduction system implemented; level 3 requirements met",
                    application_id=app_id, level_assessed=3)
    say(f"stage 1 {stage1}, then stage 2 {stage2}: level 3 assessed")
    too_high = api.call("POST", "/v1/decisions", "decider", {
        "subject": {"application_id": app_id}, "outcome": "grant", "basis": [stage1, stage2], "level": 4,
        "rationale": "Level 4", "effective_from": today.isoformat()}, expect=422)
    say(f"a grant at level 4 is refused: 422 {too_high['type']}")
    api.call("POST", "/v1/decisions", "decider", {
        "subject": {"application_id": app_id}, "outcome": "grant", "basis": [stage1, stage2], "level": 3,
        "rationale": "Stage 2 conforming at level 3", "effective_from": today.isoformat()}, expect=201)
    number = _certificate_of(api, app_id)
    public = api.call("GET", f"/public/v1/certificates/{number}", None)
    programme = api.call("GET", f"/v1/certificates/{number}/programme", "admin")
    say(f"certificate {number}: CO2 Performance Ladder level {public['level']}, valid until {public['valid_until']}; "
        f"surveillance due {', '.join(p['due'] for p in programme['planned_surveillance'][:2])} (annual)")
    return number


def _person_certification(api: SchemesClient, today: date, suffix: str) -> str:
    step("7. ISO/IEC 17024: an asbestos expert (OVAM) certified on an examination in theory and practice")
    code = f"OVAM-ASB-{suffix}"
    api.call("POST", "/v1/schemes", "admin", {
        "code": code, "mark": "COPRO", "title": "Asbestos inventory expert (OVAM)", "certification_type": "person",
        "documents": [{"kind": "TRA", "ref": "TRA ASB", "version": "1.0", "effective_from": "2025-01-01"}],
        "validity_months": 60, "surveillance_months": 60, "admission_months": 0, "max_suspension_months": 6,
        "renewal_window_months": 6}, expect=201)
    application = api.call("POST", "/v1/applications/persons", "jan", {
        "scheme": code, "candidate": {"name": "Jan Peeters", "contact": "jan.peeters@example.be"},
        "scope": "Asbestos inventory of buildings (OVAM)",
        "consultancy": [{"person": "Tom Trainer", "organisation": "Asbest Academie",
                         "until": (today - timedelta(days=100)).isoformat()}],
        "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"}}, expect=201)
    app_id = application["id"]
    parts = ", ".join(f"{p['part']} (pass mark {p['pass_mark']})" for p in application["examination"]["parts"])
    say(f"Jan Peeters applies as the candidate (no organisation, no products); the examination: {parts}")
    api.call("POST", f"/v1/applications/{app_id}/review", "officer", {"outcome": "accepted", "reason": "complete"})
    exam = api.call("POST", "/v1/audits", "lead", {"kind": "examination", "planned_start": today.isoformat(),
                                                   "application_id": app_id}, expect=201)["id"]
    trainer = api.call("POST", f"/v1/audits/{exam}/team", "officer", {
        "person": "Tom Trainer", "role": "examiner", "declaration": {"independent": True, "interests": []}},
        expect=409)
    say(f"his trainer as examiner is refused: 409 {trainer['type']} (R2)")
    api.call("POST", f"/v1/audits/{exam}/team", "officer", {
        "person": "Eva Examiner", "role": "examiner", "declaration": {"independent": True, "interests": []}})
    api.call("POST", f"/v1/audits/{exam}/examination", "eva", {"part": "theory", "score": 82}, expect=201)
    api.call("POST", f"/v1/audits/{exam}/examination", "eva", {"part": "practice", "score": 75}, expect=201)
    again = api.call("POST", f"/v1/audits/{exam}/examination", "eva", {"part": "practice", "score": 90}, expect=409)
    say(f"Eva Examiner scores theory 82 and practice 75; a second score for practice is refused: 409 {again['type']}")
    api.call("POST", f"/v1/audits/{exam}/report", "eva", {
        "conclusion": "conforming", "recommendation": "grant", "summary": "Both parts passed"})
    api.call("POST", "/v1/decisions", "decider", {
        "subject": {"application_id": app_id}, "outcome": "grant", "basis": [exam],
        "rationale": "Examination passed in theory and practice", "effective_from": today.isoformat()}, expect=201)
    number = _certificate_of(api, app_id)
    public = api.call("GET", f"/public/v1/certificates/{number}", None)
    say(f"certificate {number} for the person, valid until {public['valid_until']}; the public lookup shows "
        f"subject {public.get('subject')!r} and never the name: {'Jan Peeters' not in str(public)}")
    return number
