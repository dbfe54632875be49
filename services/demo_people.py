"""The second guided run, ``hallmark demo --story people``: the people around a certificate, through the
HTTP API. A laboratory's result opens a finding; the holder's staff answer it with a corrective action
that the auditor accepts, and comment on the report; a printable certificate is rendered; a member of
the public complains, which leads to a special audit and a sanction decision; the assessor reads the
complaints register."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

from services.demo import Client, DemoFailed, _wait, _wait_status, say, step

HOLDER = "BE0123456789"  # Betonwerk Noord NV's registration number: its staff's 'organisation' claim
LABORATORY = "LAB-0042"

# Who acts for an organisation: the holder's staff (role applicant) and the laboratory's.
ORGANISED = {
    "mieke": ("Mieke Manufacturer", ["applicant"], HOLDER),
    "piet": ("Piet Production", ["applicant"], HOLDER),
    "lab": ("Lena Lab", ["laboratory"], LABORATORY),
}
STAFF = {
    "handler": ("Hanna Handler", ["decision_maker"]),
    "special": ("Sam Special", ["auditor"]),
}


class PeopleClient(Client):
    def __init__(self, base: str, secret: bytes, distributed: bool = False) -> None:
        super().__init__(base, secret, distributed)
        self.add_people(secret, {**ORGANISED, **STAFF})


def people_story(api: PeopleClient, base: str, today: date, documents_dir: Path) -> int:
    code = f"PTV-PEOPLE-{uuid.uuid4().hex[:4].upper()}"
    independent = {"independent": True, "interests": []}

    step("1. A BENOR scheme; Betonwerk Noord applies and accepts the scheme's conditions and the mark licence")
    api.call("POST", "/v1/schemes", "admin", {
        "code": code, "mark": "BENOR", "title": "Precast concrete kerbs", "certification_type": "product",
        "documents": [{"kind": "PTV", "ref": "PTV 21-601", "version": "2.0", "effective_from": "2025-01-01"}],
        "validity_months": 36, "surveillance_months": 12, "admission_months": 6, "max_suspension_months": 6,
    }, expect=201)
    application = api.call("POST", "/v1/applications", "mieke", {
        "scheme": code,
        "applicant": {"name": "Betonwerk Noord NV", "registration_number": HOLDER, "address": "Kaai 1, Antwerpen"},
        "production_unit": {"name": "Plant Zelzate", "address": "Industrieweg 5, Zelzate"},
        "products": [{"name": "Kerb KB 100", "type": "kerb"}],
        "scope": "Precast concrete kerbs, type KB", "consultancy": [],
        "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"},
    }, expect=201)
    app_id = application["id"]
    say(f"application {app_id} by Mieke Manufacturer for {HOLDER}; agreement {application['agreement']}")
    seen = api.call("GET", f"/v1/applications/{app_id}", "piet")
    say(f"her colleague Piet Production sees it too (R18, same organisation): {seen['status']}")
    api.call("POST", f"/v1/applications/{app_id}/review", "officer", {"outcome": "accepted", "reason": "complete"})

    step("2. The initial audit: Luc Lead takes a sample and sends it to laboratory " + LABORATORY)
    audit = api.call("POST", "/v1/audits", "lead", {"application_id": app_id, "kind": "initial",
                                                    "planned_start": today.isoformat()}, expect=201)
    audit_id = audit["id"]
    api.call("POST", f"/v1/audits/{audit_id}/team", "officer",
             {"person": "Luc Lead", "role": "lead_auditor", "declaration": independent})
    sample = api.call("POST", f"/v1/audits/{audit_id}/samples", "lead", {
        "product": "Kerb KB 100", "batch": "B-2026-0413", "seal_number": f"S-{uuid.uuid4().hex[:6].upper()}",
        "taken_on": today.isoformat(), "laboratory": LABORATORY}, expect=201)
    sample_id = sample.get("sample_id") or sample.get("id")
    say(f"sample {sample_id}: batch B-2026-0413, sealed, assigned to {LABORATORY}")

    step("3. The laboratory sees only its samples and posts a nonconforming result (posted twice: one result)")
    listed = api.call("GET", "/v1/laboratory/samples", "lab")["items"]
    say(f"{LABORATORY} sees {len(listed)} sample(s) assigned to it")
    result_body = {"method": "EN 1340 annex F", "clause": "PTV 21-601 §5.3",
                   "values": [{"quantity": "bending strength", "value": 3.1, "unit": "MPa"}],
                   "conformity": "nonconforming", "accreditation": "BELAC 123-TEST"}
    result = api.call("POST", f"/v1/samples/{sample_id}/results", "lab", result_body, expect=201)
    again = api.call("POST", f"/v1/samples/{sample_id}/results", "lab", result_body, expect=200)
    result_id = result.get("result_id") or result.get("id")
    say(f"result {result_id}: 3.1 MPa, nonconforming; the repeat answered the same result "
        f"({(again.get('result_id') or again.get('id')) == result_id})")

    step("4. The result opens a major finding; the holder's staff answer with a corrective action")
    due = (today + timedelta(days=30)).isoformat()
    finding = api.call("POST", f"/v1/audits/{audit_id}/findings", "lead", {
        "severity": "major", "requirement": "PTV 21-601 §5.3", "description": "Bending strength below class",
        "corrective_action_due": due, "sample_result": result_id}, expect=201)
    finding_id = finding["finding_id"]
    action = api.call("POST", f"/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions", "piet", {
        "description": "Mix design corrected; curing time raised to 28 days",
        "evidence": [{"name": "Mix design rev 5", "reference": "MD-5"},
                     {"name": "Retest report", "reference": "LAB-0042/2026/118"}]}, expect=201)
    say(f"finding {finding_id} (due {due}); corrective action {action['corrective_action_id']} by Piet Production")
    problem = api.call("POST", f"/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions/"
                       f"{action['corrective_action_id']}/review", "mieke",
                       {"outcome": "accepted", "reason": "looks fine to us"}, expect=403)
    say(f"the holder may not review its own action: 403 {problem['type']}")
    api.call("POST", f"/v1/audits/{audit_id}/findings/{finding_id}/corrective-actions/"
             f"{action['corrective_action_id']}/review", "lead",
             {"outcome": "accepted", "reason": "retest conforming, mix design verified on site"})
    say("Luc Lead accepts it: the finding is closed")

    step("5. The report goes to the holder, who comments within 5 working days")
    api.call("POST", f"/v1/audits/{audit_id}/report", "lead", {
        "conclusion": "conforming", "recommendation": "grant", "summary": "FPC in place; finding closed"})
    api.call("POST", f"/v1/audits/{audit_id}/report/comments", "mieke",
             {"comment": "We thank the team; the retest report is attached to our file."}, expect=201)
    report = api.call("GET", f"/v1/audits/{audit_id}", "mieke")["report"]
    say(f"comments until {report['comments_until']} (weekends and Belgian holidays do not count); "
        f"final: {report['final']}; laboratory results marked subcontracted: "
        f"{[r.get('subcontracted') for r in report.get('laboratory_results', [])]}")

    step("6. Dirk Decider grants; the certificate is rendered as a printable document")
    api.call("POST", "/v1/decisions", "decider", {
        "subject": {"application_id": app_id}, "outcome": "grant", "basis": [audit_id],
        "rationale": "Evaluation complete", "effective_from": today.isoformat()}, expect=201)
    number = _wait(lambda: (api.call("GET", "/v1/certificates", "admin", application_id=app_id)["items"] or [None])[0])
    number = number["number"]
    _wait_status(api, number, "active")
    documents_dir.mkdir(parents=True, exist_ok=True)
    html = api.http.get(f"/v1/certificates/{number}/document", headers={"Authorization": f"Bearer {api.tokens['mieke']}"})
    if html.status_code != 200:
        raise DemoFailed(f"the certificate document answered {html.status_code}: {html.text[:300]}")
    (documents_dir / f"{number}.html").write_text(html.text, encoding="utf-8")
    pdf = api.http.get(f"/v1/certificates/{number}/document", params={"format": "pdf"},
                       headers={"Authorization": f"Bearer {api.tokens['mieke']}"}, timeout=90)
    if pdf.status_code == 200:
        (documents_dir / f"{number}.pdf").write_bytes(pdf.content)
        say(f"{documents_dir / (number + '.pdf')}: {len(pdf.content):,} bytes, printed by headless Chromium")
    else:
        say(f"{documents_dir / (number + '.html')} (print it from a browser; PDF: {pdf.json().get('detail')})")

    step("7. A contractor complains about the certificate: kerbs crumbling on site")
    complaint = api.call("POST", "/public/v1/complaints", None, {
        "subject": {"kind": "certificate", "certificate_number": number},
        "complainant": {"name": "Kees Contractor", "email": "kees@example.org"},
        "description": "Kerbs KB 100 delivered to our site in Gent crumble after one winter."}, expect=201)
    complaint_id = complaint["id"]
    say(f"complaint {complaint.get('reference') or complaint_id} lodged without an account")
    api.call("POST", f"/v1/complaints/{complaint_id}/acknowledgement", "handler", {"reason": "received, written"})
    api.call("POST", f"/v1/complaints/{complaint_id}/admissibility", "handler",
             {"admissible": True, "reason": "concerns a certified product; substantiated with photos"})
    problem = api.call("POST", f"/v1/complaints/{complaint_id}/handler", "handler",
                       {"handler": "Dirk Decider", "reason": "available"}, expect=409)
    say(f"Dirk Decider granted the certificate and may not handle the complaint: 409 {problem['type']}")
    api.call("POST", f"/v1/complaints/{complaint_id}/handler", "handler",
             {"handler": "Hanna Handler", "reason": "not involved in the file"})

    step("8. The investigation: a special audit finds the product nonconforming")
    special = api.call("POST", "/v1/audits", "special", {
        "certificate_number": number, "kind": "special", "planned_start": today.isoformat(),
        "reason": f"complaint {complaint_id}"}, expect=201)
    api.call("POST", f"/v1/audits/{special['id']}/team", "officer",
             {"person": "Sam Special", "role": "lead_auditor", "declaration": independent})
    api.call("POST", f"/v1/audits/{special['id']}/findings", "special", {
        "severity": "major", "requirement": "PTV 21-601 §8.3", "description": "Freeze-thaw resistance not met"},
        expect=201)
    api.call("POST", f"/v1/audits/{special['id']}/report", "special", {
        "conclusion": "nonconforming", "recommendation": "suspend", "summary": "Complaint substantiated"})
    api.call("POST", f"/v1/complaints/{complaint_id}/audits", "handler",
             {"audit_id": special["id"], "reason": "special audit of the complaint"})
    say(f"special audit {special['id']} by Sam Special, linked to the complaint")

    step("9. The sanction: Dirk Decider suspends, citing the complaint; the complaint is well-founded")
    suspension = api.call("POST", "/v1/decisions", "decider", {
        "subject": {"certificate_number": number}, "outcome": "suspend", "basis": [special["id"]],
        "rationale": "Nonconforming product found on a complaint", "effective_from": today.isoformat(),
        "complaint_id": complaint_id}, expect=201)
    public, _ = _wait_status(api, number, "suspended")
    api.call("POST", f"/v1/complaints/{complaint_id}/outcome", "handler", {
        "outcome": "well_founded", "decision_ids": [suspension["id"]],
        "rationale": "Special audit confirmed the nonconformity; certificate suspended"})
    for recipient in ("complainant", "holder"):
        api.call("POST", f"/v1/complaints/{complaint_id}/notices", "handler",
                 {"recipient": recipient, "summary": "Complaint well-founded; certificate suspended"})
    closed = api.call("POST", f"/v1/complaints/{complaint_id}/close", "handler", {"reason": "outcome notified"})
    say(f"{number} is {public['status']} in the public directory; complaint {closed['status']}")

    step("10. The assessor reads the complaints register; the holder reads its dossier")
    register = api.call("GET", "/v1/complaints", "assessor", certificate=number)["items"]
    for item in register:
        outcome = item.get("outcome")
        outcome = outcome.get("outcome") if isinstance(outcome, dict) else outcome
        say(f"complaint {item.get('reference') or item['id']}: {item['kind']} {number}, {item['status']}, "
            f"outcome {outcome}")
    dossier = api.call("GET", f"/v1/holder/files/{app_id}", "piet")
    say(f"dossier of {app_id}: " + ", ".join(f"{len(v)} {k}" for k, v in dossier.items() if isinstance(v, list)))
    print(f"\nDone. The certificate's document: {documents_dir / (number + '.html')}; "
          f"the public page: {base}/certificates/{number}")
    return 0

