"""Person certification (ISO/IEC 17024, the OVAM asbestos experts) through the HTTP API, on both stores: R65 (a
person applies as a candidate under a person scheme), R66 (the file is evaluated by an examination whose examiner
did not train or advise the candidate), R67 (each part scored once against the scheme's pass mark, the report
agreeing with the results), R68 (a grant rests on a passed examination, a renewal on a passed recertification
examination inside the renewal window) and R69 (the certificate is the person's: the public view never names
them; staff and the person read its document). A refusal answers a problem and records nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.domain import add_months
from tests.support import Api, File, application_body, problem, today

CANDIDATE = ("Jan Peeters", "applicant")
TRAINER = "Tom Trainer"  # trained the candidate last year: declared in the consultancy declaration
EXAMINER = ("Eva Examiner", "auditor")
SECOND_EXAMINER = ("Erik Examinator", "auditor")
PERSON_SCHEME = {"mark": "COPRO", "title": "Asbestos inventory expert (OVAM)", "certification_type": "person",
                 "documents": [{"kind": "TRA", "ref": "TRA ASB", "version": "1.0", "effective_from": "2025-01-01"}],
                 "validity_months": 60, "surveillance_months": 60, "admission_months": 0,
                 "renewal_window_months": 6}


def recorded(hallmark) -> tuple[int | None, ...]:
    """Every service store's last notification: equal before and after a refusal, which records nothing."""
    return tuple(app.recorder.max_notification_id()
                 for app in (hallmark.applications, hallmark.audits, hallmark.decisions, hallmark.registry))


def refused(hallmark, response_of, status: int, slug: str) -> dict[str, Any]:
    before = recorded(hallmark)
    body = problem(response_of(), status, slug)
    hallmark.settle()
    assert recorded(hallmark) == before, "a refused command recorded something"
    return body


class PersonFile(File):
    """A candidate's file under a person scheme, driven through the API."""

    def create_person_scheme(self, **overrides: Any) -> dict[str, Any]:
        return self.create_scheme(**{**PERSON_SCHEME, **overrides})

    def submit_person(self, **overrides: Any):
        body = {"scheme": self.scheme, "candidate": {"name": CANDIDATE[0], "contact": "jan.peeters@example.be"},
                "scope": "Asbestos inventory of buildings (OVAM)",
                "consultancy": [{"person": TRAINER, "organisation": "Asbest Academie",
                                 "until": (today() - timedelta(days=100)).isoformat()}],
                "agreement": {"conditions_version": "2026-01", "licence_version": "2026-01"}, **overrides}
        return self.api.post("/v1/applications/persons", body, *CANDIDATE)

    def applied(self) -> "PersonFile":
        self.create_person_scheme()
        self.application_id = self.ok(self.submit_person(), 201)["id"]
        self.accept()
        return self

    def examination(self, **subject: Any) -> dict[str, Any]:
        """An examination of the candidate (or, with a certificate, a recertification examination) with its
        examiner on the team."""
        audit = self.plan("examination", **(subject or {"application_id": self.application_id}))
        self.ok(self.team(EXAMINER[0], "examiner"))
        return audit

    def score(self, part: str, score: int, by: tuple[str, str] = EXAMINER):
        return self.api.post(f"/v1/audits/{self.audit_id}/examination", {"part": part, "score": score}, *by)

    def examined(self, theory: int = 82, practice: int = 75, **subject: Any) -> str:
        self.examination(**subject)
        self.ok(self.score("theory", theory), 201)
        self.ok(self.score("practice", practice), 201)
        passed = theory >= 70 and practice >= 70
        self.ok(self.report(by=EXAMINER, conclusion="conforming" if passed else "nonconforming"))
        return self.audit_id or ""

    def certified(self) -> "PersonFile":
        self.applied()
        self.examined()
        self.ok(self.decide("grant"), 201)
        items = self.ok(self.api.get("/v1/certificates", *self.ADMIN, application_id=self.application_id))["items"]
        self.certificate = items[0]["number"]
        return self


# -- the scheme type as data --------------------------------------------------------------------------------


def test_the_catalogue_carries_the_person_scheme_type_and_a_person_scheme_keeps_it(api):
    catalogue = api.get("/v1/catalogue", *File.ADMIN).json()
    person = catalogue["scheme_types"]["person"]
    assert person["subject"] == "person" and person["evaluation"] == "examination"
    assert person["examination_parts"] == ["theory", "practice"] and person["pass_mark"] == 70
    file = PersonFile(api)
    scheme = file.create_person_scheme()
    assert scheme["scheme_type"]["examination_parts"] == ["theory", "practice"]


# -- R65 ----------------------------------------------------------------------------------------------------


def test_r65_a_person_applies_as_the_candidate_under_a_person_scheme(api):
    file = PersonFile(api)
    file.create_person_scheme()
    submitted = file.ok(file.submit_person(), 201)
    assert submitted["candidate"] == {"name": CANDIDATE[0], "contact": "jan.peeters@example.be"}
    assert submitted["products"] == [] and submitted["applicant"]["registration_number"] == ""
    assert [p["part"] for p in submitted["examination"]["parts"]] == ["theory", "practice"]
    assert {p["pass_mark"] for p in submitted["examination"]["parts"]} == {70}
    # the candidate reads their own application; another applicant does not (R18)
    file.ok(api.get(f"/v1/applications/{submitted['id']}", *CANDIDATE))
    problem(api.get(f"/v1/applications/{submitted['id']}", "Mieke Andere", "applicant"), 403, "forbidden")


def test_r65_an_organisations_application_under_a_person_scheme_and_a_candidate_under_a_product_scheme_are_refused(
        api, hallmark):
    person = PersonFile(api)
    person.create_person_scheme()
    body = refused(hallmark, lambda: api.post("/v1/applications", application_body(person.scheme), *File.APPLICANT),
                   422, "invalid-command")
    assert "R65" in body["detail"]
    product = File(api)
    product.create_scheme()
    body = refused(hallmark, lambda: api.post("/v1/applications/persons", {
        "scheme": product.scheme, "candidate": {"name": CANDIDATE[0], "contact": "jan@example.be"},
        "scope": "Kerbs"}, *CANDIDATE), 422, "invalid-command")
    assert "R65" in body["detail"]
    # a product application under a product scheme is still accepted
    product.ok(api.post("/v1/applications", application_body(product.scheme), *File.APPLICANT), 201)


# -- R66 ----------------------------------------------------------------------------------------------------


def test_r66_a_person_file_is_evaluated_by_an_examination_led_by_an_independent_examiner(api):
    file = PersonFile(api).applied()
    audit = file.examination()
    assert audit["kind"] == "examination"
    read = file.ok(api.get(f"/v1/audits/{file.audit_id}", *File.ADMIN))
    assert read["team"][0]["role"] == "examiner"
    assert [(p["part"], p["pass_mark"], p["score"]) for p in read["examination"]["parts"]] == [
        ("theory", 70, None), ("practice", 70, None)]


def test_r66_refusals_other_kinds_on_a_person_file_examinations_of_products_and_a_trainer_as_examiner(api, hallmark):
    file = PersonFile(api).applied()
    refused(hallmark, lambda: api.post("/v1/audits", {"application_id": file.application_id, "kind": "initial",
                                                      "planned_start": today().isoformat()}, *File.LEAD),
            422, "invalid-command")
    file.plan("examination")
    # R2 style: who trained the candidate in the last two years does not examine them
    body = refused(hallmark, lambda: file.team(TRAINER, "examiner"), 409, "conflict-of-interest")
    assert TRAINER in body["detail"]
    refused(hallmark, lambda: file.team(File.LEAD[0], "lead_auditor"), 422, "invalid-command")
    file.ok(file.team(EXAMINER[0], "examiner"))
    refused(hallmark, lambda: file.team(SECOND_EXAMINER[0], "examiner"), 409, "duplicate")
    product = File(api)
    product.create_scheme()
    product.submit()
    product.accept()
    refused(hallmark, lambda: api.post("/v1/audits", {"application_id": product.application_id, "kind": "examination",
                                                      "planned_start": today().isoformat()}, *File.LEAD),
            422, "invalid-command")
    product.plan()
    refused(hallmark, lambda: product.team(EXAMINER[0], "examiner"), 422, "invalid-command")


# -- R67 ----------------------------------------------------------------------------------------------------


def test_r67_each_part_is_scored_once_against_the_pass_mark_and_the_report_follows_the_results(api):
    file = PersonFile(api).applied()
    file.examination()
    scored = file.ok(file.score("theory", 70), 201)
    assert scored["examination"]["parts"][0] == {**scored["examination"]["parts"][0], "score": 70, "passed": True}
    file.ok(file.score("practice", 69), 201)
    read = file.ok(api.get(f"/v1/audits/{file.audit_id}", *File.ADMIN))
    assert read["examination"]["passed"] is False
    reported = file.ok(file.report(by=EXAMINER, conclusion="nonconforming"))
    assert reported["report"]["examination"]["passed"] is False
    assert [p["score"] for p in reported["report"]["examination"]["parts"]] == [70, 69]


def test_r67_refusals_not_the_examiner_unknown_part_twice_early_report_wrong_conclusion_after_report(api, hallmark):
    file = PersonFile(api).applied()
    file.examination()
    refused(hallmark, lambda: file.score("theory", 90, by=SECOND_EXAMINER), 403, "forbidden")
    refused(hallmark, lambda: file.score("chemistry", 90), 422, "invalid-command")
    problem(file.score("theory", 101), 422, "invalid-request")
    file.ok(file.score("theory", 90), 201)
    body = refused(hallmark, lambda: file.score("theory", 95), 409, "duplicate")
    assert "never changed" in body["detail"]
    refused(hallmark, lambda: file.report(by=EXAMINER), 409, "invalid-transition")
    file.ok(file.score("practice", 40), 201)
    refused(hallmark, lambda: file.report(by=EXAMINER, conclusion="conforming"), 422, "invalid-command")
    file.ok(file.report(by=EXAMINER, conclusion="nonconforming"))
    refused(hallmark, lambda: file.score("practice", 80), 409, "invalid-transition")  # reported: closed
    product = File(api).planned()
    refused(hallmark, lambda: api.post(f"/v1/audits/{product.audit_id}/examination", {"part": "theory", "score": 80},
                                       *File.LEAD), 409, "invalid-transition")


# -- R68 ----------------------------------------------------------------------------------------------------


def test_r68_a_grant_rests_on_a_passed_examination(api):
    file = PersonFile(api).applied()
    file.examined(theory=82, practice=75)
    granted = file.ok(file.decide("grant"), 201)
    assert granted["outcome"] == "grant" and granted["basis"] == [file.audit_id]
    items = file.ok(api.get("/v1/certificates", *File.ADMIN, application_id=file.application_id))["items"]
    assert len(items) == 1 and items[0]["subject"] == "person" and items[0]["status"] == "active"


def test_r68_a_grant_on_a_failed_examination_is_refused_and_a_retake_that_passes_is_granted(api, hallmark):
    file = PersonFile(api).applied()
    failed = file.examined(theory=82, practice=55)
    body = refused(hallmark, lambda: file.decide("grant"), 422, "invalid-command")
    assert "R68" in body["detail"]
    passed = file.examined(theory=80, practice=72)
    refused(hallmark, lambda: file.decide("grant", basis=[failed]), 422, "invalid-command")
    file.ok(file.decide("grant", basis=[failed, passed]), 201)


def _renewal_day(hallmark, file: PersonFile) -> date:
    cert = file.ok(file.api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))
    return add_months(date.fromisoformat(cert["valid_until"]), -2)  # inside the 6-month window


def test_r68_a_renewal_rests_on_a_passed_recertification_examination_inside_the_window(api, hallmark):
    file = PersonFile(api).certified()
    day = _renewal_day(hallmark, file)
    hallmark.clock.fixed_today = day
    try:
        exam = file.examined(certificate_number=file.certificate)
        renewed = file.ok(file.decide("renew", basis=[exam], effective_from=day.isoformat()), 201)
        assert renewed["outcome"] == "renew"
    finally:
        hallmark.clock.fixed_today = None


def test_r68_a_renewal_without_a_passed_recertification_examination_in_the_window_is_refused(api, hallmark):
    file = PersonFile(api).certified()
    initial = file.audit_id or ""
    early = file.examined(certificate_number=file.certificate)  # today: long before the window opens
    refused(hallmark, lambda: file.decide("renew", basis=[early]), 422, "invalid-command")
    day = _renewal_day(hallmark, file)
    hallmark.clock.fixed_today = day
    try:
        # the initial examination is no recertification; a failed one supports nothing; nor does one out of window
        for basis in ([initial], [file.examined(theory=50, certificate_number=file.certificate)], [early]):
            body = refused(hallmark, lambda basis=basis: file.decide("renew", basis=basis,
                                                                    effective_from=day.isoformat()),
                           422, "invalid-command")
            assert "R68" in body["detail"]
    finally:
        hallmark.clock.fixed_today = None


# -- R69 ----------------------------------------------------------------------------------------------------


def test_r69_the_public_view_of_a_person_certificate_never_names_the_person(api):
    file = PersonFile(api).certified()
    public = file.ok(api.get(f"/public/v1/certificates/{file.certificate}"))
    assert public["subject"] == "person" and public["status"] == "active"
    assert {"number", "quick_code", "status", "valid_from", "valid_until", "scope", "scheme", "mark"} <= set(public)
    assert CANDIDATE[0] not in api.get(f"/public/v1/certificates/{file.certificate}").text
    assert public["holder"] == {"name": "", "registration_number": ""}
    found = file.ok(api.get("/public/v1/certificates", q="Peeters"))["items"]
    assert found == []
    page = api.client.get(f"/certificates/{file.certificate}")
    assert page.status_code == 200 and CANDIDATE[0] not in page.text and file.certificate in page.text
    assert 'class="sub address"' not in page.text  # no holder or production unit rows for a person
    listed = api.client.get("/", params={"q": file.certificate, "lang": "en"})  # the directory's search page
    assert listed.status_code == 200 and CANDIDATE[0] not in listed.text
    assert "A certified person (the name is not published)" in listed.text
    assert "Asbestos inventory of buildings (OVAM)" in listed.text  # no products: the scope in their column
    staff = file.ok(api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))
    assert staff["subject"] == "person" and CANDIDATE[0] not in str(staff)


def test_r69_staff_and_the_person_read_the_certificate_document_others_do_not(api):
    file = PersonFile(api).certified()
    path = f"/v1/certificates/{file.certificate}/document"
    assert CANDIDATE[0] in api.get(path, *File.ADMIN).text
    own = api.get(path, *CANDIDATE)
    assert own.status_code == 200 and CANDIDATE[0] in own.text
    assert "Certified person" in own.text and "Production unit" not in own.text and "ISO/IEC 17024" in own.text
    problem(api.get(path, "Mieke Andere", "applicant"), 403, "forbidden")
    problem(api.get(path, "Mieke Andere", "applicant", organisation="BE0123456789"), 403, "forbidden")


def test_r69_the_person_s_name_is_sealed_in_the_stores_and_the_trail(api, hallmark):
    file = PersonFile(api).certified()
    for app in (hallmark.applications, hallmark.registry, hallmark.decisions):
        stored = [n.state for n in app.recorder.select_notifications(1, 10_000)]
        assert not any(CANDIDATE[0].encode() in state for state in stored), app.name
    trail = file.ok(api.get("/v1/audit-trail", *File.ADMIN, certificate_number=file.certificate))["entries"]
    issued = next(e for e in trail if e["type"] == "Certificate.Issued")
    assert issued["data"]["person"] == CANDIDATE[0]  # opened for the assessor


def test_the_whole_person_file_walk(api: Api):
    """Scheme, candidate, examination, grant, public lookup: the story the ADR tells."""
    file = PersonFile(api).certified()
    cert = file.ok(api.get(f"/v1/certificates/{file.certificate}", *File.ADMIN))
    assert cert["status"] == "active" and cert["products"] == []
    assert cert["valid_until"] == add_months(today(), 60).isoformat()


def test_r66_the_assessor_sees_the_examiner_checked_against_the_candidates_trainers(api, hallmark):
    """R2 made visible (ADR 0010): the examiner is a participant of the file, checked against the trainers the
    candidate declared; the file's evidence pack builds."""
    file = PersonFile(api).certified()
    seen = file.ok(api.get("/v1/trail/impartiality", "Ada Assessor", "assessor", application_id=file.application_id))
    examiner = next(c for c in seen["rules"]["R2"]["checks"] if c["role"] == "examiner")
    assert examiner["person"] == EXAMINER[0] and examiner["declared_advisers_then"] == [TRAINER]
    assert examiner["held"] is True
    assert api.get("/v1/trail/evidence-pack", "Ada Assessor", "assessor",
                   certificate_number=file.certificate).status_code == 200
    programme = file.ok(api.get(f"/v1/certificates/{file.certificate}/programme", *CANDIDATE))
    assert programme["renewal"]["window"] is not None
    problem(api.get(f"/v1/certificates/{file.certificate}/programme", "Mieke Andere", "applicant"), 403, "forbidden")
