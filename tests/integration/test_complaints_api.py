"""Complaints (ISO/IEC 17065 7.13) and the certification-agreement gate over HTTP, on both stores:
R23-R29 allowed and refused, the register for assessors, and what the public is (not) answered."""

from __future__ import annotations

from typing import Any

from tests.support import TODAY, File

HANDLER = ("Hugo Handler", "decision_maker")
CLERK = ("Sara Secretary", "admin")
ASSESSOR = ("Bea Belac", "assessor")
COMPLAINANT = {"name": "Karel Klager", "email": "karel@example.be"}


def _slug(response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["type"].rsplit("/", 1)[-1]


def complaint_body(kind: str = "certificate", number: str | None = None, **overrides: Any) -> dict[str, Any]:
    subject: dict[str, Any] = {"kind": kind}
    if kind == "certificate":
        subject["certificate_number"] = number
    elif kind == "holder":
        subject["holder"] = {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789"}
    elif kind == "mark_misuse":
        subject.update(mark="BENOR", misuser="Namaak Beton BV")
    body = {"subject": subject, "complainant": COMPLAINANT,
            "description": "Kerbs sold under the mark crumble after one winter"}
    body.update(overrides)
    return body


def step(api, complaint_id: str, name: str, body: dict[str, Any], by: tuple[str, str] = CLERK):
    return api.post(f"/v1/complaints/{complaint_id}/{name}", body, *by)


def investigating(api, file: File, handler: tuple[str, str] = HANDLER) -> dict[str, Any]:
    """A public complaint about the file's certificate, acknowledged, admissible, with a handler."""
    lodged = api.client.post("/public/v1/complaints", json=complaint_body(number=file.certificate))
    api.settle()
    assert lodged.status_code == 201, lodged.text
    cid = lodged.json()["id"]
    file.ok(step(api, cid, "acknowledgement", {"reason": "received; we answer within 30 days"}))
    file.ok(step(api, cid, "admissibility", {"admissible": True, "reason": "concerns a certified product"}))
    return file.ok(step(api, cid, "handler", {"handler": handler[0], "reason": "not involved in the file"}))


def test_a_complaint_about_a_certificate_from_the_public_to_its_closing(api):
    file = File(api).granted()
    lodged = api.client.post("/public/v1/complaints", json=complaint_body(number=file.certificate.lower()))
    api.settle()
    assert lodged.status_code == 201, lodged.text
    receipt = lodged.json()
    assert set(receipt) == {"id", "reference", "status", "received_on"}  # no name, no address: R9
    assert receipt["reference"] == f"C-{TODAY.year}-0001" and receipt["status"] == "lodged"
    assert "Karel" not in lodged.text and "example.be" not in lodged.text
    cid = receipt["reference"]  # the staff read and act on it by reference too

    file.ok(step(api, cid, "acknowledgement", {"reason": "received; we answer within 30 days"}))
    file.ok(step(api, cid, "admissibility", {"admissible": True, "reason": "concerns a certified product"}))
    file.ok(step(api, cid, "handler", {"handler": HANDLER[0], "reason": "not involved in the file"}))
    # The staff plan a special audit with the audits API; the complaint records it (R29).
    special = file.ok(api.post("/v1/audits", {"kind": "special", "planned_start": TODAY.isoformat(),
                                              "certificate_number": file.certificate}, *File.AUDITOR), 201)
    file.ok(step(api, cid, "audits", {"audit_id": special["id"], "reason": "unannounced sampling at the plant"}))
    # A sanction that cites the complaint, then the outcome that cites the sanction.
    suspended = file.ok(file.decide("suspend", basis=[], complaint_id=cid), 201)
    assert suspended["complaint_id"] == receipt["id"]
    decided = file.ok(step(api, cid, "outcome", {"outcome": "well_founded", "decision_ids": [suspended["id"]],
                                                 "rationale": "samples fail PTV 21-601 §5.2"}))
    assert decided["status"] == "decided" and decided["notices_missing"] == ["complainant", "holder"]
    refused = step(api, cid, "close", {"reason": "done"})
    assert refused.status_code == 409 and _slug(refused) == "invalid-transition"  # R26
    file.ok(step(api, cid, "notices", {"recipient": "complainant", "summary": "well founded; certificate suspended"}))
    file.ok(step(api, cid, "notices", {"recipient": "holder", "summary": "a complaint was well founded; suspended"}))
    closed = file.ok(step(api, cid, "close", {"reason": "outcome and notices sent"}))
    assert closed["status"] == "closed" and closed["closed_on"] == TODAY.isoformat()

    seen = file.ok(api.get(f"/v1/complaints/{receipt['id']}", *ASSESSOR))
    assert seen["complainant"]["name"] == "Karel Klager" and seen["channel"] == "public"
    assert seen["audits"] == [special["id"]] and seen["outcome"]["decision_ids"] == [suspended["id"]]
    assert [h["step"] for h in seen["history"]] == [
        "lodged", "acknowledged", "admissible", "handler_assigned", "audit_linked", "outcome_decided", "notified",
        "notified", "closed"]
    assert [n["recipient"] for n in seen["notices"]] == ["complainant", "holder"]
    # The public directory never learns of it.
    public = file.ok(api.get(f"/public/v1/certificates/{file.certificate}"))
    assert "Klager" not in str(public) and "complaint" not in str(public).lower()


def test_r23_an_anonymous_or_unreachable_complaint_is_refused_and_records_nothing(api):
    bodies = [
        {k: v for k, v in complaint_body("body").items() if k != "complainant"},  # anonymous
        complaint_body("body", complainant={"name": "Karel Klager"}),  # no e-mail, no address
        complaint_body("body", complainant={"name": "", "email": "karel@example.be"}),
        complaint_body("body", complainant={"name": "Karel", "email": "not an address"}),
        complaint_body("certificate"),  # no number
        complaint_body("mark_misuse", subject={"kind": "mark_misuse", "mark": "BENOR"}),  # no misuser
        complaint_body("holder", subject={"kind": "holder"}),
        complaint_body("body", subject={"kind": "rumour"}),
    ]
    for body in bodies:
        response = api.client.post("/public/v1/complaints", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    listed = api.get("/v1/complaints", *ASSESSOR)
    assert listed.status_code == 200 and listed.json() == {"items": [], "next_cursor": None}
    by_post = api.client.post("/public/v1/complaints", json=complaint_body(
        "body", complainant={"name": "Karel Klager", "address": "Dorpstraat 1, 9000 Gent"}))
    assert by_post.status_code == 201, by_post.text


def test_r24_steps_out_of_order_are_refused(api):
    staff = File(api)
    lodged = staff.ok(api.post("/v1/complaints", complaint_body("body"), *CLERK), 201)
    cid = lodged["id"]
    assert lodged["channel"] == "staff" and lodged["lodged_by"] == CLERK[0]
    for name, body in [("admissibility", {"admissible": True, "reason": "r"}),
                       ("handler", {"handler": HANDLER[0], "reason": "r"}),
                       ("outcome", {"outcome": "unfounded", "rationale": "r"}),
                       ("notices", {"recipient": "complainant", "summary": "s"}),
                       ("close", {"reason": "r"})]:
        refused = step(api, cid, name, body)
        assert refused.status_code == 409 and _slug(refused) == "invalid-transition", (name, refused.text)
    staff.ok(step(api, cid, "acknowledgement", {"reason": "received"}))
    closed = staff.ok(step(api, cid, "admissibility", {"admissible": False, "reason": "not about certification"}))
    assert closed["status"] == "closed" and closed["admissibility"]["admissible"] is False
    again = step(api, cid, "handler", {"handler": HANDLER[0], "reason": "r"})
    assert again.status_code == 409 and _slug(again) == "invalid-transition"
    holder = step(api, cid, "notices", {"recipient": "holder", "summary": "s"})
    assert holder.status_code == 422 and _slug(holder) == "invalid-command"  # a body complaint concerns no holder
    staff.ok(step(api, cid, "notices", {"recipient": "complainant", "summary": "inadmissible: not about certification"}))


def test_r25_nobody_involved_in_the_file_handles_or_decides_a_complaint_about_it(api):
    file = File(api).granted()
    lodged = api.client.post("/public/v1/complaints", json=complaint_body(number=file.certificate))
    api.settle()
    cid = lodged.json()["id"]
    file.ok(step(api, cid, "acknowledgement", {"reason": "received"}))
    file.ok(step(api, cid, "admissibility", {"admissible": True, "reason": "admissible"}))
    for person, slug in [(File.LEAD[0], "separation-of-duties"),  # evaluated the file
                         (File.DECIDER[0], "separation-of-duties"),  # granted it
                         ("carla  CONSULT", "conflict-of-interest"),  # advised the holder within two years
                         ("Karel Klager", "conflict-of-interest")]:  # the complainant
        refused = step(api, cid, "handler", {"handler": person, "reason": "r"})
        assert refused.status_code == 409 and _slug(refused) == slug, (person, refused.text)
    file.ok(step(api, cid, "handler", {"handler": HANDLER[0], "reason": "not involved"}))
    by_decider = step(api, cid, "outcome", {"outcome": "unfounded", "rationale": "r"}, by=File.DECIDER)
    assert by_decider.status_code == 409 and _slug(by_decider) == "separation-of-duties"
    decided = file.ok(step(api, cid, "outcome", {"outcome": "unfounded", "rationale": "samples conform"}, by=HANDLER))
    assert decided["outcome"]["by"] == HANDLER[0]


def test_r25_the_holders_current_consultancy_declaration_counts(api):
    file = File(api).granted()
    file.ok(api.post(f"/v1/applications/{file.application_id}/consultancy",
                     {"consultancy": [{"person": HANDLER[0], "organisation": "Advies NV", "until": None}]},
                     *File.APPLICANT))
    lodged = api.client.post("/public/v1/complaints", json=complaint_body(number=file.certificate))
    api.settle()
    cid = lodged.json()["id"]
    file.ok(step(api, cid, "acknowledgement", {"reason": "received"}))
    file.ok(step(api, cid, "admissibility", {"admissible": True, "reason": "admissible"}))
    refused = step(api, cid, "handler", {"handler": HANDLER[0], "reason": "r"})
    assert refused.status_code == 409 and _slug(refused) == "conflict-of-interest", refused.text
    file.ok(step(api, cid, "handler", {"handler": "Carla Consult", "reason": "no longer declared"}))


def test_r27_r29_an_investigation_rests_on_a_special_audit_and_cites_sanctions(api):
    file = File(api).granted()
    cid = investigating(api, file)["id"]
    surveillance = file.ok(api.post("/v1/audits", {"kind": "surveillance", "planned_start": TODAY.isoformat(),
                                                   "certificate_number": file.certificate}, *File.AUDITOR), 201)
    not_special = step(api, cid, "audits", {"audit_id": surveillance["id"], "reason": "r"})
    assert not_special.status_code == 422 and _slug(not_special) == "invalid-command"  # R29
    unknown = step(api, cid, "outcome", {"outcome": "well_founded", "decision_ids": [
        "00000000-0000-4000-8000-000000000000"], "rationale": "r"}, by=HANDLER)
    assert unknown.status_code == 404
    unfounded_with = file.ok(file.decide("suspend", basis=[]), 201)
    cited = step(api, cid, "outcome", {"outcome": "unfounded", "decision_ids": [unfounded_with["id"]],
                                       "rationale": "r"}, by=HANDLER)
    assert cited.status_code == 422 and _slug(cited) == "invalid-command"  # R27
    file.ok(step(api, cid, "outcome", {"outcome": "well_founded", "decision_ids": [unfounded_with["id"]],
                                       "rationale": "the suspension answers it"}, by=HANDLER))


def test_a_decision_cites_only_a_complaint_that_exists(api):
    file = File(api).granted()
    missing = file.decide("suspend", basis=[], complaint_id="00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and _slug(missing) == "not-found"
    unknown_reference = file.decide("suspend", basis=[], complaint_id="C-1999-0001")
    assert unknown_reference.status_code == 404


def test_r28_no_grant_until_the_holder_accepts_the_agreement(api):
    file = File(api)
    file.create_scheme()
    file.submit(agreement=None)
    file.accept()
    file.plan()
    file.ok(file.team(*File.LEAD[:1], "lead_auditor"))
    file.ok(file.report())
    refused = file.decide("grant")
    assert refused.status_code == 409 and _slug(refused) == "agreement-missing", refused.text
    file.ok(api.post(f"/v1/applications/{file.application_id}/agreement",
                     {"conditions_version": "2026-01", "licence_version": "2026-01"}, *File.APPLICANT))
    file.ok(file.decide("grant"), 201)


def test_the_register_is_for_assessors_and_staff_filtered_and_paged(api):
    file = File(api)
    for kind in ("body", "mark_misuse", "body"):
        file.ok(api.post("/v1/complaints", complaint_body(kind), *CLERK), 201)
    # A misuser may quote a number that does not exist: still a report of misuse.
    quoted = complaint_body("mark_misuse")
    quoted["subject"]["certificate_number"] = "BENOR-99999"
    file.ok(api.post("/v1/complaints", quoted, *CLERK), 201)
    page = file.ok(api.get("/v1/complaints", *ASSESSOR, limit=2))
    assert [c["reference"] for c in page["items"]] == [f"C-{TODAY.year}-0001", f"C-{TODAY.year}-0002"]
    rest = file.ok(api.get("/v1/complaints", *ASSESSOR, limit=2, cursor=page["next_cursor"]))
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    misuse = file.ok(api.get("/v1/complaints", *ASSESSOR, kind="mark_misuse"))["items"]
    assert [c["kind"] for c in misuse] == ["mark_misuse", "mark_misuse"]
    assert file.ok(api.get("/v1/complaints", *ASSESSOR, certificate="benor-99999"))["items"][0]["kind"] == "mark_misuse"
    assert file.ok(api.get("/v1/complaints", *ASSESSOR, status="closed"))["items"] == []
    assert api.get("/v1/complaints", *ASSESSOR, status="pending").status_code == 422
    assert api.get("/v1/complaints", *ASSESSOR, cursor="bm90LW1pbmU").status_code == 422
    assert api.get("/v1/complaints", *File.APPLICANT).status_code == 403  # the complainant is protected
    assert api.get("/v1/complaints").status_code == 401
    assert api.get(f"/v1/complaints/{page['items'][0]['id']}", *File.AUDITOR).status_code == 403
    # The assessor reads, never acts.
    assert step(api, page["items"][0]["id"], "acknowledgement", {"reason": "r"}, by=ASSESSOR).status_code == 403
    unknown = api.post("/v1/complaints", complaint_body("certificate", number="BENOR-99999"), *CLERK)
    assert unknown.status_code in (404, 409), unknown.text  # a complaint about a certificate names a real one


def test_the_complainants_and_handlers_names_are_sealed_wherever_stored(api, hallmark):
    from tests.integration.test_erasure import _everything_stored

    file = File(api)
    lodged = file.ok(api.post("/v1/complaints", complaint_body("mark_misuse"), *CLERK), 201)
    file.ok(step(api, lodged["id"], "acknowledgement", {"reason": "received"}))
    file.ok(step(api, lodged["id"], "admissibility", {"admissible": True, "reason": "misuse of BENOR"}))
    file.ok(step(api, lodged["id"], "handler", {"handler": HANDLER[0], "reason": "not involved"}))
    public = api.client.post("/public/v1/complaints", json=complaint_body("body", complainant={
        "name": "Petra Publiek", "address": "Markt 1, 8000 Brugge"}))
    assert public.status_code == 201
    hallmark.settle()
    assert file.ok(api.get(f"/v1/complaints/{public.json()['id']}", *ASSESSOR))["lodged_by"] == "Petra Publiek"
    for where, data in _everything_stored(hallmark):
        if where.endswith(("people.db", "people.db-wal")) or ".people" in where or "_people." in where:
            continue  # the vault
        for name in (b"Karel Klager", b"Hugo Handler", b"Petra Publiek"):
            assert name not in data, (name, where)


# -- the public directory's form: report misuse of a mark ------------------------------------------------------

FORM = {"mark": "BENOR", "certificate_number": "BENOR-99999", "misuser": "Namaak Beton BV",
        "description": "Kerbs with the BENOR mark sold at a builders' merchant in Aalst", "name": "Petra Publiek",
        "email": "petra@example.be", "address": ""}


def test_the_directory_form_lodges_a_mark_misuse_complaint_in_each_language(api):
    for lang, title in (("nl", "Misbruik van een merk melden"), ("fr", "Signaler l'usage abusif d'une marque"),
                        ("en", "Report misuse of a mark")):
        page = api.client.get(f"/public/report-misuse?lang={lang}")
        assert page.status_code == 200 and page.headers["content-language"] == lang
        text = page.text
        assert title.replace("'", "&#39;") in text and "<script" not in text
        assert '<form class="search report" method="post"' in text
        for field in ("mark", "misuser", "description", "name", "email", "address"):
            assert f'<label for="{field}">' in text and f'name="{field}"' in text
    sent = api.client.post("/public/report-misuse?lang=nl", data=FORM)
    api.settle()
    assert sent.status_code == 201, sent.text
    reference = f"C-{TODAY.year}-0001"
    assert reference in sent.text and "Melding ontvangen" in sent.text
    assert "Petra" not in sent.text and "petra@example.be" not in sent.text
    (listed,) = api.get("/v1/complaints", *ASSESSOR, kind="mark_misuse").json()["items"]
    assert listed["reference"] == reference and listed["channel"] == "public"
    assert listed["subject"] == {"kind": "mark_misuse", "certificate_number": "BENOR-99999", "holder": None,
                                 "mark": "BENOR", "misuser": "Namaak Beton BV"}
    full = api.get(f"/v1/complaints/{reference}", *ASSESSOR).json()
    assert full["complainant"] == {"name": "Petra Publiek", "email": "petra@example.be", "address": None}


def test_the_directory_form_refuses_an_anonymous_or_bad_report_in_the_readers_language(api):
    anonymous = api.client.post("/public/report-misuse?lang=fr", data={**FORM, "name": "", "email": ""})
    assert anonymous.status_code == 422
    assert "Votre nom : obligatoire." in anonymous.text and "Indiquez une adresse e-mail ou postale" in anonymous.text
    assert 'id="name" name="name"' in anonymous.text and 'aria-invalid="true"' in anonymous.text
    assert "Namaak Beton BV" in anonymous.text  # what was typed is kept
    bad_email = api.client.post("/public/report-misuse?lang=en", data={**FORM, "email": "petra at example"})
    assert bad_email.status_code == 422 and "Your e-mail address: not an e-mail address." in bad_email.text
    too_long = api.client.post("/public/report-misuse", data={**FORM, "misuser": "x" * 201})
    assert too_long.status_code == 422 and "at most 200 characters" in too_long.text
    control = api.client.post("/public/report-misuse", data={**FORM, "name": "Petra\x00"})
    assert control.status_code == 422
    assert api.get("/v1/complaints", *ASSESSOR).json()["items"] == []


def test_without_decisions_in_process_the_form_says_where_to_send_a_report(api, hallmark, monkeypatch):
    monkeypatch.setattr(hallmark, "decisions", None)  # as the registry's public web process in distributed mode
    page = api.client.get("/public/report-misuse")
    assert page.status_code == 200 and 'id="unavailable"' in page.text and "<form" not in page.text.split("<main")[1]
    assert "POST /public/v1/complaints" in page.text
    sent = api.client.post("/public/report-misuse", data=FORM)
    assert sent.status_code == 501 and 'id="unavailable"' in sent.text


def test_every_step_of_a_complaint_is_in_the_log_and_a_period_pack_verifies(api, hallmark):
    import base64
    import io
    import json
    import zipfile

    from services.projections.evidence import verify_offline

    file = File(api)
    lodged = file.ok(api.post("/v1/complaints", complaint_body("holder"), *CLERK), 201)
    file.ok(step(api, lodged["id"], "acknowledgement", {"reason": "received"}))
    file.ok(step(api, lodged["id"], "admissibility", {"admissible": False, "reason": "not about certification"}))
    hallmark.settle()
    pack = api.get("/v1/trail/evidence-pack", *ASSESSOR, **{"from": TODAY.isoformat(), "to": TODAY.isoformat()})
    assert pack.status_code == 200, pack.text
    assert verify_offline(pack.content).ok
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        entries = [json.loads(line) for line in archive.read("entries.jsonl").decode().splitlines()]
    kinds = [json.loads(base64.b64decode(e["entry"]))["type"] for e in entries]
    assert kinds == ["Complaint.Lodged", "Complaint.Acknowledged", "Complaint.AdmissibilityDecided"]
