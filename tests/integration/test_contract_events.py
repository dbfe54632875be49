"""The published contract holds for the events Hallmark really records.

One lifecycle through the API emits every published event type: an application asked for more
information, withdrawn, refused and appealed; audits with team, findings and reports; a grant, a new
scheme document version, scope changes, maintenance, a suspension appealed and restored, a renewal,
overdue surveillance and suspension, and a decision the registry could not apply. Every message each
service publishes is then checked against the contract (shared/contract): its type is known, it comes
from the service that owns the type, and its data validates against the type's JSON Schema.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from services.bootstrap import Hallmark
from shared import contract, kafka
from shared.messages import Message
from tests.support import Api, File, never_500


def published_messages(hallmark: Hallmark) -> list[Message]:
    """Every message each service publishes, read back from its notification log, in order."""
    messages = []
    for app in hallmark.services:
        for notification in app.recorder.select_notifications(start=None, limit=100000):
            message = app.message(notification)
            if message is not None:
                messages.append(message)
    return messages


def _decide_without_settling(file: File, outcome: str, on: date) -> dict[str, Any]:
    """A decision recorded, but not yet applied by the registry (the bus is settled later)."""
    body = {"subject": {"certificate_number": file.certificate}, "outcome": outcome, "basis": [],
            "rationale": f"{outcome}: file reviewed", "effective_from": on.isoformat()}
    response = never_500(file.api.client.post("/v1/decisions", json=body, headers=file.api.headers(*File.DECIDER)))
    return file.ok(response, 201)


def lifecycle(api: Api, hallmark: Hallmark) -> File:
    """Drive files through every published event type. Returns the main (certified) file."""
    main = File(api)
    main.create_scheme()
    main.submit()
    app_path = f"/v1/applications/{main.application_id}"
    main.ok(api.post(f"{app_path}/review", {"outcome": "information_requested", "reason": "Send the FPC manual"},
                     *File.OFFICER))
    main.ok(api.post(f"{app_path}/information", {"note": "FPC manual attached"}, *File.APPLICANT))
    main.accept()

    # Initial audit: a team of two, a major finding closed and an observation with a due date.
    main.plan()
    main.ok(main.team("Luc Lead", "lead_auditor"))
    main.ok(main.team("Ann Auditor", "auditor"))
    major = main.ok(main.finding("major"), 201)["finding_id"]
    main.ok(main.close(major))
    main.ok(api.post(f"/v1/audits/{main.audit_id}/findings", {
        "severity": "observation", "requirement": "PTV 21-601 §7", "description": "Labels faded",
        "corrective_action_due": (hallmark.clock.today() + timedelta(days=30)).isoformat()}, *File.AUDITOR), 201)
    # A sample tested by a laboratory, its result corrected; a finding on it answered by the holder's
    # corrective action, accepted by the team; the holder comments on the report.
    holder, lab = {"organisation": "BE0123456789"}, {"organisation": "LAB-0042"}
    sample = main.ok(api.post(f"/v1/audits/{main.audit_id}/samples", {
        "product": "Kerb KB 100", "batch": "B-42", "seal_number": "S-42", "taken_on": hallmark.clock.today().isoformat(),
        "laboratory": "LAB-0042"}, *File.AUDITOR), 201)["sample_id"]
    result = {"method": "EN 1340 annex F", "clause": "PTV 21-601 §5.3", "conformity": "conforming",
              "values": [{"quantity": "bending strength", "value": 3.9, "unit": "MPa"}], "accreditation": "BELAC 123-TEST"}
    first = main.ok(api.post(f"/v1/samples/{sample}/results", result, "Lars Laborant", "laboratory", **lab), 201)
    current = main.ok(api.post(f"/v1/samples/{sample}/results", {
        **result, "conformity": "nonconforming", "values": [{"quantity": "bending strength", "value": 3.2, "unit": "MPa"}],
        "corrects": first["result_id"]}, "Lars Laborant", "laboratory", **lab), 201)
    minor = main.ok(api.post(f"/v1/audits/{main.audit_id}/findings", {
        "severity": "minor", "requirement": "PTV 21-601 §5.3", "description": "Bending strength low",
        "corrective_action_due": hallmark.clock.today().isoformat(), "sample_result": current["result_id"]},
        *File.AUDITOR), 201)["finding_id"]
    action = main.ok(api.post(f"/v1/audits/{main.audit_id}/findings/{minor}/corrective-actions", {
        "description": "Mix design corrected", "evidence": [{"name": "Mix design rev 5", "reference": "MD-5"}]},
        "Hanna Holder", "applicant", **holder), 201)["corrective_action_id"]
    main.ok(api.post(f"/v1/audits/{main.audit_id}/findings/{minor}/corrective-actions/{action}/review",
                     {"outcome": "accepted", "reason": "Retest conforming"}, *File.AUDITOR))
    main.ok(main.report())
    main.ok(api.post(f"/v1/audits/{main.audit_id}/report/comments", {"comment": "Batch 42 was a trial batch"},
                     "Hanna Holder", "applicant", **holder), 201)

    main.ok(main.decide("grant"), 201)
    items = main.ok(api.get("/v1/certificates", *File.ADMIN, application_id=main.application_id))["items"]
    main.certificate = items[0]["number"]

    # The scheme's product standard gets a new version, with a transition deadline, on the decision of the
    # sectoral commission for the mark's sector (R53).
    main.ok(api.post("/v1/schemes/commissions", {"code": "SC-BENOR", "name": "Sectoral commission BENOR",
                                                 "marks": ["BENOR"]}, *File.ADMIN), 201)
    main.ok(api.post(f"/v1/schemes/{main.scheme}/documents", {
        "kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": hallmark.clock.today().isoformat(),
        "transition_deadline": (hallmark.clock.today() + timedelta(days=180)).isoformat(),
        "commission_decision": {"commission": "SC-BENOR", "reference": "SC-BENOR/2026/01",
                                "date": hallmark.clock.today().isoformat()}}, *File.ADMIN), 201)

    kerb = {"name": "Kerb KB 100", "type": "kerb"}
    gutter = {"name": "Gutter GT 50", "type": "gutter", "description": "Drainage gutter"}
    main.ok(main.decide("extend_scope", scope="Kerbs and gutters", products=[kerb, gutter]), 201)
    # The holder keeps its file current: new agreement versions, its consultancy declaration, and a
    # reduction of scope asked for, which the decision then answers.
    main.ok(api.post(f"{app_path}/agreement", {"conditions_version": "2026-07", "licence_version": "2026-07"},
                     *File.APPLICANT))
    main.ok(api.post(f"{app_path}/consultancy", {"consultancy": [
        {"person": "Carla Consult", "organisation": "QualiConsult BV", "until": None}]}, *File.APPLICANT))
    main.ok(api.post(f"{app_path}/requests", {"kind": "reduce_scope", "products": [kerb],
                                              "reason": "Gutters no longer made"}, *File.APPLICANT), 201)
    main.ok(main.decide("reduce_scope", scope="Kerbs", products=[kerb]), 201)

    # Surveillance, then the certification is maintained.
    main.plan(certificate_number=main.certificate)
    main.ok(main.team("Ann Auditor", "lead_auditor"))
    main.ok(main.report(by=File.AUDITOR))
    main.ok(main.decide("maintain"), 201)

    # A suspension, appealed and upheld, then corrected by a restoration; then a renewal.
    suspended = main.ok(main.decide("suspend"), 201)
    appeal = main.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Products conform"}, *File.APPLICANT), 201)
    main.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {
        "committee": ["Paula Public", "Uma User"], "outcome": "upheld", "rationale": "Samples conform"}, *File.ADMIN))
    main.ok(main.decide("restore"), 201)
    main.ok(main.decide("renew"), 201)

    # A complaint from the public about the certificate: acknowledged, admissible, investigated with a
    # special audit by a handler not involved, well founded (the suspension answered it), notified, closed.
    complaint = main.ok(never_500(api.client.post("/public/v1/complaints", json={
        "subject": {"kind": "certificate", "certificate_number": main.certificate},
        "complainant": {"name": "Karel Klager", "email": "karel@example.be"},
        "description": "Kerbs crumble after one winter"})), 201)["id"]
    api.settle()
    handling = f"/v1/complaints/{complaint}"
    main.ok(api.post(f"{handling}/acknowledgement", {"reason": "Received"}, *File.ADMIN))
    main.ok(api.post(f"{handling}/admissibility", {"admissible": True, "reason": "About a certificate"}, *File.ADMIN))
    main.ok(api.post(f"{handling}/handler", {"handler": "Hugo Handler", "reason": "Not involved"}, *File.ADMIN))
    special = main.ok(api.post("/v1/audits", {"kind": "special", "planned_start": hallmark.clock.today().isoformat(),
                                              "certificate_number": main.certificate}, *File.LEAD), 201)["id"]
    main.ok(api.post(f"{handling}/audits", {"audit_id": special, "reason": "Unannounced sampling"}, *File.ADMIN))
    main.ok(api.post(f"{handling}/outcome", {"outcome": "well_founded", "decision_ids": [suspended["id"]],
                                             "rationale": "Samples failed"}, "Hugo Handler", "decision_maker"))
    for recipient in ("complainant", "holder"):
        main.ok(api.post(f"{handling}/notices", {"recipient": recipient, "summary": "Well founded"}, *File.ADMIN))
    main.ok(api.post(f"{handling}/close", {"reason": "Outcome notified"}, *File.ADMIN))

    # A second file withdrawn by its applicant, a third refused and the refusal appealed.
    withdrawn = File(api)
    withdrawn.scheme = main.scheme
    withdrawn.submit()
    withdrawn.ok(api.post(f"/v1/applications/{withdrawn.application_id}/withdraw", {"reason": "Plant closing"},
                          *File.APPLICANT))
    refused = File(api)
    refused.scheme = main.scheme
    refused.submit(consultant="Someone Else")
    refused.accept()
    refusal = refused.ok(refused.decide("refuse"), 201)
    appeal = refused.ok(api.post("/v1/appeals", {"decision_id": refusal["id"], "appellant": "Betonwerk Noord NV",
                                                 "grounds": "Complete file"}, *File.APPLICANT), 201)
    # The appeal committee convened, each member's vote, and the outcome that follows (R54-R56); a staff interest
    # registered and ended (R57).
    refused.ok(api.post(f"/v1/appeals/{appeal['id']}/committee", {"members": [
        {"person": "Chris Chair", "role": "chair", "organisation": "FOD Economie"},
        {"person": "Paula Public", "role": "member"}, {"person": "Uma User", "role": "member"}],
        "reason": "Two public members and a user"}, *File.ADMIN))
    for member, vote in (("Chris Chair", "dismissed"), ("Paula Public", "dismissed"), ("Uma User", "abstain")):
        refused.ok(api.post(f"/v1/appeals/{appeal['id']}/votes", {"vote": vote, "reason": "Refusal well founded"},
                            member, "decision_maker"))
    refused.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {"rationale": "Refusal well founded"}, *File.ADMIN))
    interest = refused.ok(api.post("/v1/staff/interests", {
        "person": "Stan Staff", "organisation": {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789"},
        "kind": "employed", "since": "2020-01-01", "reason": "Declared at hiring"}, *File.ADMIN), 201)
    refused.ok(api.post(f"/v1/staff/interests/{interest['id']}/end", {"reason": "Left the company"}, *File.ADMIN))

    # Time passes: surveillance overdue, a suspension past the scheme's maximum, and a withdrawal
    # decided on the last valid day that reaches the registry after midnight (the certificate has
    # expired: the decision is kept as not applied).
    cert = main.ok(api.get(f"/v1/certificates/{main.certificate}", *File.ADMIN))
    try:
        hallmark.clock.fixed_today = date.fromisoformat(cert["surveillance_due"]) + timedelta(days=1)
        assert hallmark.sweep() == [main.certificate]
        hallmark.settle()
        main.ok(main.decide("suspend", effective_from=hallmark.clock.today().isoformat()), 201)
        hallmark.clock.fixed_today += timedelta(days=6 * 31 + 1)
        assert hallmark.sweep() == [main.certificate]
        hallmark.settle()
        hallmark.clock.fixed_today = date.fromisoformat(cert["valid_until"])
        _decide_without_settling(main, "withdraw", hallmark.clock.today())
        hallmark.clock.fixed_today += timedelta(days=1)
        hallmark.settle()
    finally:
        hallmark.clock.fixed_today = None
    cert = main.ok(api.get(f"/v1/certificates/{main.certificate}", *File.ADMIN))
    assert cert["status"] == "expired" and cert["unapplied_decisions"], cert
    sanctions_ladder(api, hallmark)
    programme(api, hallmark)
    person_certification(api)
    system_certification(api)
    return main


def system_certification(api: Api) -> None:
    """An organisation's file under a system scheme (ISO/IEC 17021-1, R60-R64): its levels on the scheme, no
    products, stage 1 then stage 2 stating the level assessed, and a grant stating the level certified."""
    file = File(api)
    file.create_scheme(certification_type="system", mark="COPRO", title="CO2 Performance Ladder",
                       validity_months=36, surveillance_months=12, admission_months=0, levels=[1, 2, 3, 4, 5])
    file.submit(products=[], scope="Head office and yard, Antwerpen and Zelzate")
    file.accept()
    basis = []
    for kind, level in (("stage1", None), ("stage2", 4)):
        file.plan(kind, application_id=file.application_id)
        file.ok(file.team("Luc Lead", "lead_auditor"))
        file.ok(api.post(f"/v1/audits/{file.audit_id}/report", {
            "conclusion": "conforming", "recommendation": "grant", "summary": "CO2 management system in place",
            **({"level_assessed": level} if level else {})}, *File.LEAD))
        basis.append(file.audit_id)
    file.ok(file.decide("grant", basis=basis, level=3), 201)


def person_certification(api: Api) -> None:
    """A person's file (ISO/IEC 17024; R65-R69): a candidate applies under a person scheme, an examiner scores the
    examination's theory and practice parts and reports, and the grant issues the person's certificate."""
    file = File(api)
    file.create_scheme(certification_type="person", mark="COPRO", title="Asbestos inventory expert (OVAM)",
                       validity_months=60, surveillance_months=60, admission_months=0, renewal_window_months=6)
    file.application_id = file.ok(api.post("/v1/applications/persons", {
        "scheme": file.scheme, "candidate": {"name": "Jan Peeters", "contact": "jan.peeters@example.be"},
        "scope": "Asbestos inventory of buildings", "consultancy": [],
        "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"}}, "Jan Peeters", "applicant"),
        201)["id"]
    file.accept()
    file.plan("examination", application_id=file.application_id)
    file.ok(file.team("Eva Examiner", "examiner"))
    for part, score in (("theory", 81), ("practice", 77)):
        file.ok(api.post(f"/v1/audits/{file.audit_id}/examination", {"part": part, "score": score},
                         "Eva Examiner", "auditor"), 201)
    file.ok(file.report(by=("Eva Examiner", "auditor")))
    file.ok(file.decide("grant"), 201)


def programme(api: Api, hallmark: Hallmark) -> None:
    """A fifth file under a scheme with an admission frequency, a renewal window and a sampling frequency
    (R48, R49), whose TRA/PTV transition deadline passes without a move (R50)."""
    file = File(api)
    file.create_scheme(admission_surveillance_months=3, renewal_window_months=4, sampling_months=2)
    file.submit()
    file.accept()
    file.plan()
    file.ok(file.team("Luc Lead", "lead_auditor"))
    file.ok(file.report())
    file.ok(file.decide("grant"), 201)
    file.certificate = file.ok(api.get("/v1/certificates", *File.ADMIN,
                                       application_id=file.application_id))["items"][0]["number"]
    today = hallmark.clock.today()
    file.ok(api.post("/v1/schemes/commissions", {"code": "SC-KERBS", "name": "Sectoral commission for kerbs",
                                                 "schemes": [file.scheme]}, *File.ADMIN), 201)
    file.ok(api.post(f"/v1/schemes/{file.scheme}/documents", {
        "kind": "PTV", "ref": "PTV 21-601", "version": "3.0", "effective_from": today.isoformat(),
        "transition_deadline": (today + timedelta(days=20)).isoformat(),
        "commission_decision": {"commission": "SC-KERBS", "reference": "SC-KERBS/2026/07",
                                "date": today.isoformat()}}, *File.ADMIN), 201)
    try:
        hallmark.clock.fixed_today = today + timedelta(days=21)
        assert file.certificate in hallmark.sweep()
        hallmark.settle()
    finally:
        hallmark.clock.fixed_today = None


def sanctions_ladder(api: Api, hallmark: Hallmark) -> None:
    """A fourth file up and down the sanctions ladder (R40-R46): a warning; a conditional withdrawal lifted by a
    restoration on a verification, another flagged past its deadline; a voluntary suspension at the holder's
    request with an end date; a withdrawal reinstated on an upheld appeal."""
    file = File(api).granted()
    today = hallmark.clock.today()
    file.ok(file.decide("warning", basis=[]), 201)
    file.ok(file.decide("conditional_withdrawal", basis=[], conditions="Close NC-3",
                        deadline=(today + timedelta(days=30)).isoformat()), 201)
    file.plan("special", certificate_number=file.certificate)
    file.ok(file.team("Luc Lead", "lead_auditor"))
    file.ok(file.report())
    file.ok(file.decide("restore"), 201)
    file.ok(file.decide("conditional_withdrawal", basis=[], conditions="Retest batch 42",
                        deadline=(today + timedelta(days=30)).isoformat()), 201)
    try:
        hallmark.clock.fixed_today = today + timedelta(days=31)
        assert file.certificate in hallmark.sweep()
        hallmark.settle()
    finally:
        hallmark.clock.fixed_today = None
    request = file.ok(api.post(f"/v1/applications/{file.application_id}/requests",
                               {"kind": "suspend", "reason": "Plant shut for works"}, "Koen Collega", "applicant",
                               organisation="BE0123456789"), 201)
    file.ok(file.decide("suspend", basis=[], voluntary=True, request_id=request["request_id"],
                        conditions="Tell the body when production restarts",
                        until=(today + timedelta(days=90)).isoformat()), 201)
    withdrawal = file.ok(file.decide("withdraw", basis=[]), 201)
    appeal = file.ok(api.post("/v1/appeals", {"decision_id": withdrawal["id"], "appellant": "Betonwerk Noord NV",
                                              "grounds": "Retest conformed"}, *File.APPLICANT), 201)
    file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide", {
        "committee": ["Paula Public", "Uma User"], "outcome": "upheld", "rationale": "Retest conformed"}, *File.ADMIN))
    file.ok(file.decide("reinstate", basis=[], appeal_id=appeal["id"]), 201)


def test_every_published_message_is_in_the_contract_and_valid(api, hallmark):
    lifecycle(api, hallmark)
    messages = published_messages(hallmark)
    problems = []
    for message in messages:
        event = contract.EVENT_TYPES.get(message.type)
        if event is None:
            problems.append(f"{message.id}: type {message.type} has no contract")
            continue
        if event.service != message.source:
            problems.append(f"{message.id}: {message.type} belongs to {event.service}, published by {message.source}")
        problems.extend(f"{message.id} ({message.type}): {error}" for error in contract.errors(message.type, message.data))
    assert not problems, "\n".join(problems)

    seen = Counter(message.type for message in messages)
    assert set(seen) == set(contract.EVENT_TYPES), f"types never emitted: {set(contract.EVENT_TYPES) - set(seen)}"


def test_the_kafka_records_of_every_message_carry_the_contracts_headers(api, hallmark):
    """What the relay would publish (shared.kafka.to_record) matches the AsyncAPI document: topic per
    service, key = aggregate id, the CloudEvents headers, a value that is the data as JSON."""
    lifecycle(api, hallmark)
    last: dict[str, int] = {}
    for message in published_messages(hallmark):
        event = contract.EVENT_TYPES[message.type]
        assert event.topic == contract.topic_for(message.source) == kafka.topic_for(message.source)
        key, value, raw_headers = kafka.to_record(message, traceparent=f"00-{'a' * 32}-{'b' * 16}-01")
        headers = {name: data.decode() for name, data in raw_headers}
        assert not contract.header_errors(message.type, headers), (message.id, contract.header_errors(message.type, headers))
        assert key.decode() == message.subject == str(UUID(message.subject))
        assert headers["ce_id"] == message.id == f"{message.source}/{message.subject}/{message.version}"
        assert json.loads(value) == message.data
        position = int(headers["hallmark_position"])
        assert position > last.get(message.source, 0)  # only grows within the service's topic
        last[message.source] = position


@pytest.mark.parametrize("mutation", ["drop_required", "wrong_type", "unknown_field", "bad_date"])
def test_a_recorded_payload_made_invalid_fails_validation(api, hallmark, mutation):
    """The check can fail: a real Decision.Recorded, damaged, no longer validates."""
    file = File(api).granted()
    recorded = next(m for m in published_messages(hallmark) if m.type == contract.types.DECISION_RECORDED
                    and m.data["application_id"] == file.application_id)
    assert contract.errors(recorded.type, recorded.data) == []
    data = dict(recorded.data)
    if mutation == "drop_required":
        del data["outcome"]
    elif mutation == "wrong_type":
        data["basis"] = "not a list"
    elif mutation == "unknown_field":
        data["decided_by_proxy"] = "someone"
    else:
        data["effective_from"] = "31/12/2026"
    assert contract.errors(recorded.type, data)
    with pytest.raises(contract.ContractViolation):
        contract.validate(recorded.type, data)
