"""The decisions domain (ISO/IEC 17065 7.5, 7.6, 7.13). Imports no I/O."""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.certificate_states import OUTCOME_STATUS, REVISIONS, check_outcome, check_suspension_until
from shared.domain import (
    INTEREST_KINDS,
    add_months,
    advisers_within_cooling_off,
    check_staff_register,
    natural_id,
    person_key,
    registration_key,
    same_person,
)
from shared.errors import (
    AgreementMissing,
    ConflictOfInterest,
    Duplicate,
    EffectiveDateBeforeDecision,
    InvalidCommand,
    InvalidTransition,
    NotPermitted,
    NotYetKnown,
    OpenMajorNonconformity,
    OpenNonconformity,
    SeparationOfDuties,
)

ON_APPLICATION = ("grant", "refuse")
ON_CERTIFICATE = ("maintain", "suspend", "restore", "withdraw", "renew", "extend_scope", "reduce_scope", "terminate",
                  "warning", "conditional_withdrawal", "reinstate")
NEEDS_BASIS = frozenset({"grant", "renew", "extend_scope", "maintain", "restore"})  # an evaluation supports them
# Maintenance rests on a surveillance audit (7.9); a restoration on an audit reported after the
# suspension, showing the cause was removed (7.11).
MAINTAIN_ON_KINDS = frozenset({"surveillance"})
NEEDS_NO_OPEN_MAJOR = frozenset({"grant", "renew", "restore", "extend_scope"})  # R4 (and no wider scope)
# R52: a maintenance or a renewal rests on audits with no nonconformity open, a minor one included.
NEEDS_BASIS_CLOSED = frozenset({"maintain", "renew"})
NONCONFORMITIES = frozenset({"major", "minor"})  # an observation is no nonconformity
# R51: under a scheme with a renewal window, a renewal rests on a renewal audit reported inside it.
RENEW_ON_KINDS = frozenset({"renewal"})

NEEDS_SCOPE = frozenset({"extend_scope", "reduce_scope"})
APPEALABLE = frozenset({"refuse", "suspend", "withdraw", "reduce_scope"})
# The sanctions ladder (7.11): what each rung's decision states besides its rationale (R40-R46).
# A term a decision of another outcome gives is refused, so nothing is recorded that no one applies.
TERMS = {
    "conditions": frozenset({"suspend", "conditional_withdrawal"}),
    "until": frozenset({"suspend"}),
    "deadline": frozenset({"conditional_withdrawal"}),
    "voluntary": frozenset({"suspend"}),
    "request_id": frozenset({"suspend"}),
    "appeal_id": frozenset({"reinstate"}),
}
# A restoration lifts a suspension or a conditional withdrawal; each rests on an audit reported after it.
LIFTED_BY_RESTORE = frozenset({"suspend", "conditional_withdrawal"})

# Complaints (7.13): what a complaint is about, and who is told its outcome.
COMPLAINT_KINDS = ("body", "certificate", "holder", "mark_misuse")
CONCERNS_HOLDER = frozenset({"certificate", "holder"})  # the holder is told the outcome too (7.13.8)
COMPLAINT_OUTCOMES = ("well_founded", "unfounded")
# decisions an outcome may cite
SANCTIONS = frozenset({"warning", "conditional_withdrawal", "suspend", "withdraw", "reduce_scope"})
NOTICE_RECIPIENTS = ("complainant", "holder")
COMPLAINT_AUDIT_KINDS = frozenset({"special"})  # an investigation's audit is a special (unannounced) one
# Person certification (ISO/IEC 17024; R68): the audit kind that evaluates a candidate.
EXAMINATION = "examination"

# The appeals committee (7.13; R54-R56): its members' roles, the votes they cast, and the quorum.
COMMITTEE_ROLES = ("chair", "member")
APPEAL_OUTCOMES = ("upheld", "dismissed")
VOTES = (*APPEAL_OUTCOMES, "abstain")
COMMITTEE_QUORUM = 3


class CertificationFile(Aggregate):
    """Everything decisions knows about one certification file, learnt from the events of
    applications, audits and the registry, plus the decisions taken on it. Internal to decisions."""

    @staticmethod
    def create_id(application_id: str, **_: Any) -> UUID:
        return natural_id("certification-file", application_id)

    @event("Opened")
    def __init__(self, *, application_id: str) -> None:
        self.application_id = application_id
        self.application: dict[str, Any] | None = None
        self.application_status = "unknown"
        self.audits: dict[str, dict[str, Any]] = {}  # audit id -> {"reported": bool, "conclusion": str}
        self.evaluators: dict[str, list[str]] = {}  # person -> audit ids
        self.open_majors: dict[str, str] = {}  # finding id -> audit id
        self.certificates: dict[str, str] = {}  # number -> status (as decided or as issued)
        self.valid_until: dict[str, str] = {}  # number -> last valid day (ISO)
        self.decided: list[dict[str, Any]] = []
        # number -> the audits already reported when it was last suspended (they cannot support a restoration)
        self.reported_before_suspension: dict[str, list[str]] = {}
        self.upheld_appeals: dict[str, str] = {}  # number -> appeal upheld against its suspension in force
        self.certified_products: list[dict[str, Any]] | None = None  # as granted, then as scope changes set them
        self.agreement: dict[str, Any] | None = None  # the certification agreement the holder accepted (R28)
        self.deciders: list[str] = []  # whoever took a decision on this file
        self.conditionally_withdrawn: dict[str, str] = {}  # number -> the conditional withdrawal pending (R41)
        self.withdrawn_by: dict[str, str] = {}  # number -> the withdrawal decision in force
        # number -> the appeal upheld against that withdrawal, which allows one reinstatement (R46)
        self.upheld_withdrawals: dict[str, dict[str, str]] = {}
        self.requests: dict[str, dict[str, Any]] = {}  # the holder's requests (R45): id -> kind, certificate, status
        self.open_findings: dict[str, dict[str, str]] = {}  # finding id -> audit id and severity, any severity (R52)
        self.renewal_windows: dict[str, int] = {}  # number -> the scheme's renewal window in months, when set (R51)

    # -- facts learnt from other services -------------------------------------------------------

    @event("ApplicationNoted")
    def note_application(self, application: dict[str, Any]) -> None:
        self.application = application
        if self.application_status == "unknown":
            self.application_status = "submitted"

    @event("ApplicationStatusNoted")
    def note_application_status(self, status: str) -> None:
        self.application_status = status

    @event("AgreementNoted")
    def note_agreement(self, agreement: dict[str, Any]) -> None:
        """The holder accepted the certification agreement (conditions and licence versions, date)."""
        self.agreement = agreement

    @event("ConsultancyNoted")
    def note_consultancy(self, consultancy: list[dict[str, Any]]) -> None:
        """The holder's current consultancy declaration replaces the one made at submission (R2 uses it)."""
        self.application = {**(self.application or {}), "consultancy": consultancy}

    @event("RequestNoted")
    def note_request(self, request_id: str, kind: str, certificate_number: str) -> None:
        """The holder asked for a change to its certificate (a voluntary suspension is answered by one, R45)."""
        self.requests[request_id] = {"kind": kind, "certificate_number": certificate_number, "status": "open"}

    @event("AuditNoted")
    def note_audit(self, audit_id: str, kind: str | None = None, certificate_number: str | None = None) -> None:
        self.audits.setdefault(audit_id, {"reported": False, "conclusion": None})
        self.audits[audit_id]["kind"] = kind
        self.audits[audit_id]["certificate_number"] = certificate_number  # R68: a recertification examination

    @event("EvaluatorNoted")
    def note_evaluator(self, audit_id: str, person: str, role: str) -> None:
        self.evaluators.setdefault(person, []).append(audit_id)

    @event("FindingNoted")
    def note_finding(self, audit_id: str, finding_id: str, severity: str) -> None:
        if severity == "major":
            self.open_majors[finding_id] = audit_id
        self.open_findings[finding_id] = {"audit_id": audit_id, "severity": severity}

    @event("FindingClosureNoted")
    def note_finding_closed(self, finding_id: str) -> None:
        self.open_majors.pop(finding_id, None)
        self.open_findings.pop(finding_id, None)

    @event("ReportNoted")
    def note_report(self, audit_id: str, conclusion: str, issued_on: str | None = None,
                    examination_passed: bool | None = None, level_assessed: int | None = None) -> None:
        self.audits.setdefault(audit_id, {})
        self.audits[audit_id].update({"reported": True, "conclusion": conclusion, "issued_on": issued_on,
                                      "examination_passed": examination_passed})
        if level_assessed is not None:  # R63: the level a stage 2 report assessed
            self.audits[audit_id]["level_assessed"] = level_assessed

    @event("CertificateNoted")
    def note_certificate(self, number: str, status: str) -> None:
        self.certificates[number] = status

    @event("RenewalWindowNoted")
    def note_renewal_window(self, number: str, months: int) -> None:
        """R51: the renewal window of the certificate's scheme, learnt when it is issued."""
        self.renewal_windows[number] = months

    @event("ValidityNoted")
    def note_validity(self, number: str, valid_until: str) -> None:
        self.valid_until[number] = valid_until

    # -- rules ----------------------------------------------------------------------------------

    def involved_in_evaluation(self, person: str) -> list[str]:
        return [audit for name, audits in self.evaluators.items() if same_person(name, person) for audit in audits]

    def involved_people(self) -> list[str]:
        """Everyone who evaluated this file or took a decision on it."""
        return [*self.evaluators, *self.deciders]

    def advisers(self, today: date) -> list[str]:
        return advisers_within_cooling_off((self.application or {}).get("consultancy", []), today)

    @property
    def registration_number(self) -> str | None:
        """The holder's registration number, which the staff interest register names (R58)."""
        return ((self.application or {}).get("applicant") or {}).get("registration_number")

    def check_impartial(self, person: str, today: date, acting_as: str,
                        interests: Sequence[dict[str, Any]] = ()) -> None:
        """R2 (the applicant's declaration, then the staff interest register's ``interests`` in the holder within
        the cooling-off period, R58) then R1 for a reviewer or decider of this file."""
        if any(same_person(adviser, person) for adviser in self.advisers(today)):
            raise ConflictOfInterest(
                f"{person} advised the applicant in the last two years and may not act as {acting_as} on this file"
            )
        check_staff_register(person, interests, acting_as)
        audits = self.involved_in_evaluation(person)
        if audits:
            raise SeparationOfDuties(
                f"{person} took part in the evaluation of this file (audit {', '.join(audits)}) "
                f"and may not act as {acting_as}"
            )

    def products_now(self) -> list[dict[str, Any]]:
        if self.certified_products is not None:
            return self.certified_products
        return list((self.application or {}).get("products", []))

    def check_products(self, outcome: str, products: list[dict[str, Any]] | None) -> None:
        """A reduction names the products that remain (a subset); an extension, if it names products,
        keeps every product already certified."""
        if outcome not in NEEDS_SCOPE:
            if products is not None:
                raise InvalidCommand(f"A {outcome} decision does not change the products ('products')")
            return
        current = {person_key(p["name"]) for p in self.products_now()}
        named = [person_key(p["name"]) for p in products or []]
        if len(set(named)) != len(named):
            raise InvalidCommand("'products' names a product more than once")
        if outcome == "reduce_scope":
            if not products:
                raise InvalidCommand(
                    "A reduce_scope decision names the products that remain certified ('products'); "
                    f"certified now: {', '.join(p['name'] for p in self.products_now())}")
            unknown = [p["name"] for p in products if person_key(p["name"]) not in current]
            if unknown:
                raise InvalidCommand(f"A reduction keeps only products already certified; not certified: "
                                     f"{', '.join(unknown)}")
        elif products is not None and not current <= set(named):
            dropped = [p["name"] for p in self.products_now() if person_key(p["name"]) not in set(named)]
            raise InvalidCommand(f"An extension keeps every certified product; missing: {', '.join(dropped)}")

    def check_decision(
        self, *, outcome: str, decider: str, certificate_number: str | None, basis: list[str],
        effective_from: date, today: date, scope: str | None, products: list[dict[str, Any]] | None = None,
        terms: dict[str, Any] | None = None, max_suspension_months: int | None = None,
        interests: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Every rule a decision must meet before it is recorded. ``terms``: what a rung of the sanctions ladder
        states (conditions, until, deadline, voluntary, request_id, appeal_id; R40-R46); ``max_suspension_months``:
        the scheme's maximum, for a suspension's end date (R44)."""
        terms = {k: v for k, v in (terms or {}).items() if v not in (None, False, "")}
        if self.application is None:
            raise NotYetKnown(
                f"Application {self.application_id} is not known to decisions yet; retry shortly, "
                "otherwise check the id"
            )
        if outcome in NEEDS_SCOPE and not scope:
            raise InvalidCommand(f"A {outcome} decision states the new scope ('scope')")
        self.check_products(outcome, products)
        self.check_terms(outcome, terms, certificate_number, effective_from, max_suspension_months)
        if outcome in NEEDS_BASIS and not basis:
            raise InvalidCommand(f"A {outcome} decision cites the reported audits it rests on ('basis')")
        self.check_impartial(decider, today, "decision maker", interests)
        if effective_from < today:
            raise EffectiveDateBeforeDecision(
                f"effective_from {effective_from} is before the decision date {today}"
            )
        if effective_from > today:
            # The registry applies a decision when it receives it, so the directory never shows a status,
            # scope or validity before it holds (ADR 0005): take the decision on the day it is to apply.
            raise InvalidCommand(
                f"A decision takes effect on the decision date ({today}); effective_from {effective_from} is later. "
                "Take the decision on the day it is to apply"
            )
        if outcome in ON_APPLICATION:
            if self.application_status != "accepted":
                raise InvalidTransition(
                    f"Application {self.application_id} is {self.application_status}; "
                    "only an accepted application is granted or refused"
                )
            if self.certificates or any(d["outcome"] in ON_APPLICATION for d in self.decided):
                raise InvalidTransition(f"Application {self.application_id} has already been decided")
        else:
            if not certificate_number:
                raise InvalidCommand(f"A {outcome} decision has a certificate as subject ('certificate_number')")
            current = self.certificates.get(certificate_number)
            if current is None:
                raise NotYetKnown(f"Certificate {certificate_number} is not known to decisions yet; retry shortly")
            last_day = self.valid_until.get(certificate_number)
            if last_day and today.isoformat() > last_day and current in ("active", "suspended"):
                raise InvalidTransition(f"Certificate {certificate_number} expired after {last_day}; it is not revived")
            check_outcome(outcome, current, certificate_number,
                          conditionally_withdrawn=certificate_number in self.conditionally_withdrawn)
        for audit_id in basis:
            audit = self.audits.get(audit_id)
            if audit is None:
                raise NotYetKnown(
                    f"Audit {audit_id} is not known to decisions as part of this file; "
                    "if it was just reported, retry shortly, otherwise check the basis"
                )
            if not audit["reported"]:
                raise InvalidTransition(f"Audit {audit_id} has no report yet; a decision rests on reported audits")
        if outcome == "maintain" and not any(self.audits[a].get("kind") in MAINTAIN_ON_KINDS for a in basis):
            raise InvalidCommand(
                "A maintain decision rests on a reported surveillance audit; cite one in 'basis'",
                basis=basis)
        if self.is_person_file and outcome in ("grant", "renew"):
            self.check_examination(outcome, certificate_number, basis)  # R68, in place of R51 for persons
        elif outcome == "renew":
            self.check_renewal_window(certificate_number or "", basis)
        if outcome == "restore" and certificate_number not in self.upheld_appeals:
            before = set(self.reported_before_suspension.get(certificate_number or "", []))
            if not [a for a in basis if a not in before]:
                raise InvalidCommand(
                    f"A restoration rests on an audit reported after certificate {certificate_number} was suspended "
                    "or conditionally withdrawn (a verification that the cause was removed; R13, R42), or on an "
                    "appeal upheld against the suspension; the basis cites only earlier audits",
                    basis=basis)
        if outcome == "reinstate":
            self.check_reinstatement(certificate_number or "", terms.get("appeal_id"))
        if outcome in NEEDS_NO_OPEN_MAJOR and self.open_majors:
            raise OpenMajorNonconformity(
                f"{len(self.open_majors)} major nonconformity(ies) of this file are open: "
                f"{', '.join(sorted(self.open_majors))}; close them before a {outcome}",
                open_findings=sorted(self.open_majors),
            )
        if outcome in NEEDS_BASIS_CLOSED:
            self.check_basis_closed(outcome, basis)
        if outcome == "grant" and self.agreement is None:
            raise AgreementMissing(
                f"R28: the holder of application {self.application_id} has not accepted the certification agreement; "
                "no grant until it has (with the application, or afterwards through the applications service)"
            )

    @property
    def is_person_file(self) -> bool:
        """R65: a person's application under a person scheme (it names a candidate)."""
        return bool((self.application or {}).get("candidate"))

    def passed_examinations(self, basis: list[str], certificate_number: str | None) -> list[str]:
        """The reported, passed examinations cited in ``basis``: of the application itself, or with a
        certificate, recertification examinations planned on that certificate (R68)."""
        return [a for a in basis if self.audits[a].get("kind") == EXAMINATION
                and self.audits[a].get("examination_passed") is True
                and self.audits[a].get("certificate_number") == certificate_number]

    def check_examination(self, outcome: str, certificate_number: str | None, basis: list[str]) -> None:
        """R68: a grant under a person scheme rests on a passed examination of the candidate (every part passed);
        a renewal of a person certificate on a passed recertification examination, planned on the certificate
        and reported inside its renewal window when the scheme sets one."""
        if outcome == "grant" and not self.passed_examinations(basis, None):
            raise InvalidCommand(
                f"R68: application {self.application_id} is a person's; a grant rests on a passed examination of the "
                "candidate (every part at or above its pass mark); cite it in 'basis'", basis=basis)
        if outcome != "renew":
            return
        passed = self.passed_examinations(basis, certificate_number)
        months = self.renewal_windows.get(certificate_number or "")
        last_day = self.valid_until.get(certificate_number or "")
        if months and last_day:
            closes = date.fromisoformat(last_day)
            opens = add_months(closes, -months)
            passed = [a for a in passed if self.audits[a].get("issued_on")
                      and opens <= date.fromisoformat(self.audits[a]["issued_on"]) <= closes]
            window = f" reported in its renewal window, {opens} to {closes}"
        else:
            window = ""
        if not passed:
            raise InvalidCommand(
                f"R68: a renewal of person certificate {certificate_number} rests on a passed recertification "
                f"examination planned on the certificate{window}; cite it in 'basis'", basis=basis)

    def check_grant_basis(
        self, *, outcome: str, basis: list[str], level: int | None, scheme_type: dict[str, Any], levels: list[int],
    ) -> None:
        """R63: under a scheme whose type names the audit a grant rests on (system certification: ``grant_audit``
        stage 2), a grant cites a reported, conforming audit of that kind with none of its nonconformities open, a
        minor one included, and no audit of a kind the type does not have (a product ``initial`` audit); under a
        levelled type it states the level certified (``level``), one of the scheme's levels and no higher than the
        level that audit's report assessed. No other decision, and no grant under another scheme, states a level."""
        levelled = outcome == "grant" and bool(scheme_type.get("levelled"))
        if level is not None and not levelled:
            raise InvalidCommand(f"R63: a {outcome} decision under this scheme states no level", field="level")
        grant_audit = scheme_type.get("grant_audit")
        if outcome != "grant" or not grant_audit:
            return
        kinds = scheme_type.get("audit_kinds") or []
        foreign = sorted(a for a in basis if kinds and self.audits.get(a, {}).get("kind") not in kinds)
        if foreign:
            raise InvalidCommand(f"R63: a grant under this scheme rests on its own evaluation ({', '.join(kinds)}); "
                                 f"audit(s) {', '.join(foreign)} are of another kind", basis=basis)
        grounds = [a for a in basis if self.audits.get(a, {}).get("kind") == grant_audit
                   and self.audits[a].get("reported") and self.audits[a].get("conclusion") == "conforming"]
        if not grounds:
            raise InvalidCommand(f"R63: a grant under this scheme rests on a reported, conforming {grant_audit} audit; "
                                 "cite one in 'basis'", basis=basis)
        open_ = sorted(f for f, found in self.open_findings.items()
                       if found["audit_id"] in grounds and found["severity"] in NONCONFORMITIES)
        if open_:
            raise OpenNonconformity(f"R63: nonconformity(ies) {', '.join(open_)} of the {grant_audit} audit this "
                                    "grant rests on are open; close them first", open_findings=open_)
        if not levelled:
            return
        assessed = max((self.audits[a].get("level_assessed") or 0) for a in grounds)
        if level is None or level not in levels or level > assessed:
            raise InvalidCommand(f"R63: the grant states the level certified ('level'), one of the scheme's levels "
                                 f"{levels} and no higher than the level assessed by the {grant_audit} audit, "
                                 f"{assessed}", field="level")

    def check_renewal_window(self, certificate_number: str, basis: list[str]) -> None:
        """R51: under a scheme with a renewal window, a renewal rests on a renewal audit reported inside the window
        before the certificate's expiry (from ``renewal_window_months`` before its last valid day to that day)."""
        months = self.renewal_windows.get(certificate_number)
        last_day = self.valid_until.get(certificate_number)
        if not months or not last_day:
            return  # a scheme without a window (or registered before windows existed): R13's basis suffices
        closes = date.fromisoformat(last_day)
        opens = add_months(closes, -months)
        inside = [a for a in basis if self.audits[a].get("kind") in RENEW_ON_KINDS
                  and self.audits[a].get("issued_on") and opens <= date.fromisoformat(self.audits[a]["issued_on"])
                  <= closes]
        if not inside:
            raise InvalidCommand(
                f"R51: a renewal of certificate {certificate_number} rests on a renewal audit reported in its renewal "
                f"window, {opens} to {closes}; cite one in 'basis'", basis=basis)

    def check_basis_closed(self, outcome: str, basis: list[str]) -> None:
        """R52: a maintenance or a renewal rests on audits whose nonconformities, a minor one included, are closed
        (R4 refuses an open major of the file for a grant, renewal, restoration or extension)."""
        cited = set(basis)
        open_ = sorted(f for f, found in self.open_findings.items()
                       if found["audit_id"] in cited and found["severity"] in NONCONFORMITIES)
        if open_:
            raise OpenNonconformity(
                f"R52: nonconformity(ies) {', '.join(open_)} of the audits this {outcome} rests on are open; "
                "close them first", open_findings=open_)

    def check_terms(self, outcome: str, terms: dict[str, Any], certificate_number: str | None, effective_from: date,
                    max_suspension_months: int | None) -> None:
        """What each rung of the sanctions ladder states, and nothing another outcome would not apply."""
        for term in terms:
            if outcome not in TERMS[term]:
                raise InvalidCommand(f"A {outcome} decision states no '{term}'; it belongs to "
                                     f"{' and '.join(sorted(TERMS[term]))}", field=term)
        if outcome == "conditional_withdrawal":
            deadline = terms.get("deadline")
            if not terms.get("conditions") or deadline is None:
                raise InvalidCommand("R41: a conditional withdrawal states the conditions to meet ('conditions') "
                                     "and the deadline to meet them by ('deadline')")
            if deadline <= effective_from:
                raise InvalidCommand(f"R41: a conditional withdrawal's deadline {deadline} is after its effective "
                                     f"date {effective_from}", field="deadline")
        if terms.get("until") is not None:
            if max_suspension_months is None:
                raise NotYetKnown(f"The scheme of application {self.application_id} is not known to decisions yet; "
                                  "its maximum suspension bounds 'until' (R44); retry shortly")
            check_suspension_until(effective_from, terms["until"], max_suspension_months)
        if outcome == "suspend" and (terms.get("voluntary") or terms.get("request_id")):
            self.check_voluntary(certificate_number or "", bool(terms.get("voluntary")), terms.get("request_id"))

    def check_voluntary(self, certificate_number: str, voluntary: bool, request_id: str | None) -> None:
        """R45: a voluntary suspension answers the holder's open request to suspend that certificate."""
        if not voluntary or not request_id:
            raise InvalidCommand("R45: a voluntary suspension ('voluntary': true) names the holder's request it "
                                 "answers ('request_id'), and a request is answered by a voluntary suspension")
        request = self.requests.get(request_id)
        if request is None or request["kind"] != "suspend" or request["certificate_number"] != certificate_number:
            raise InvalidCommand(f"R45: {request_id} is no request of the holder to suspend certificate "
                                 f"{certificate_number}", field="request_id")
        if request["status"] != "open":
            raise InvalidCommand(f"R45: request {request_id} was already answered", field="request_id")

    def check_reinstatement(self, certificate_number: str, appeal_id: str | None) -> None:
        """R46: a withdrawn certificate is reinstated by one decision citing the appeal upheld against the
        withdrawal in force."""
        upheld = self.upheld_withdrawals.get(certificate_number)
        if upheld is None or upheld["decision_id"] != self.withdrawn_by.get(certificate_number):
            raise InvalidCommand(f"R46: no appeal was upheld against the withdrawal of certificate {certificate_number};"
                                 " a withdrawn certificate is reinstated only on one", field="appeal_id")
        if appeal_id != upheld["appeal_id"]:
            raise InvalidCommand(f"R46: a reinstatement of certificate {certificate_number} cites the appeal upheld "
                                 f"against its withdrawal ('appeal_id': {upheld['appeal_id']})", field="appeal_id")

    def take(
        self, *, decision_id: str, outcome: str, certificate_number: str | None, actor: str, reason: str,
        products: list[dict[str, Any]] | None = None, request_id: str | None = None,
    ) -> None:
        self._taken(decision_id=decision_id, outcome=outcome, certificate_number=certificate_number,
                    actor=actor, reason=reason, products=products, request_id=request_id)

    def reopen(self, *, decision_id: str, appeal_id: str, actor: str) -> None:
        """An upheld appeal against a refusal: the application is to be decided again."""
        self._reopened(decision_id=decision_id, appeal_id=appeal_id, actor=actor,
                       reason=f"appeal {appeal_id} upheld against decision {decision_id}")

    def note_upheld_appeal(self, *, certificate_number: str, decision_id: str, appeal_id: str, actor: str,
                           contested: str = "suspend") -> None:
        """An upheld appeal against a suspension: the restoration that corrects it rests on the appeal. Against
        a withdrawal: it allows one reinstatement, citing the appeal (R46)."""
        self._upheld_noted(certificate_number=certificate_number, decision_id=decision_id, appeal_id=appeal_id,
                           actor=actor, reason=f"appeal {appeal_id} upheld against {contested} {decision_id}",
                           contested=contested)

    @event("UpheldAppealNoted")
    def _upheld_noted(self, certificate_number: str, decision_id: str, appeal_id: str, actor: str, reason: str,
                      contested: str = "suspend") -> None:
        if contested == "withdraw":
            self.upheld_withdrawals[certificate_number] = {"appeal_id": appeal_id, "decision_id": decision_id}
        else:
            self.upheld_appeals[certificate_number] = appeal_id

    @event("ReopenedOnAppeal")
    def _reopened(self, decision_id: str, appeal_id: str, actor: str, reason: str) -> None:
        self.decided = [d for d in self.decided if d["decision_id"] != decision_id]

    @event("DecisionTaken")
    def _taken(
        self, decision_id: str, outcome: str, certificate_number: str | None, actor: str, reason: str,
        products: list[dict[str, Any]] | None = None, request_id: str | None = None,
    ) -> None:
        if products is not None:
            self.certified_products = products
        self.deciders.append(actor)
        self.decided.append({"decision_id": decision_id, "outcome": outcome, "certificate_number": certificate_number})
        if request_id and request_id in self.requests:
            self.requests[request_id] = {**self.requests[request_id], "status": "decided"}
        if certificate_number and outcome in ("suspend", "restore"):
            self.upheld_appeals.pop(certificate_number, None)
        if certificate_number and outcome in LIFTED_BY_RESTORE:
            self.reported_before_suspension[certificate_number] = sorted(
                a for a, audit in self.audits.items() if audit.get("reported"))
        if certificate_number and outcome == "conditional_withdrawal":
            self.conditionally_withdrawn[certificate_number] = decision_id
        if certificate_number and outcome in ("restore", "withdraw", "terminate", "reinstate"):
            self.conditionally_withdrawn.pop(certificate_number, None)
        if certificate_number and outcome == "withdraw":
            self.withdrawn_by[certificate_number] = decision_id
        if certificate_number and outcome == "reinstate":
            self.withdrawn_by.pop(certificate_number, None)
            self.upheld_withdrawals.pop(certificate_number, None)
            self.certificates[certificate_number] = "active"
        if certificate_number and outcome in OUTCOME_STATUS:
            self.certificates[certificate_number] = OUTCOME_STATUS[outcome]
        elif certificate_number and outcome in REVISIONS:
            self.certificates[certificate_number] = "active"  # a new revision is active (registry's Certificate.revise)


class KnownScheme(Aggregate):
    """What decisions knows of a scheme from the registry: its maximum suspension (R44). Internal to decisions."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return natural_id("decisions-scheme", code.upper())

    @event("Learnt")
    def __init__(self, *, code: str, max_suspension_months: int, renewal_window_months: int = 0,
                 certification_type: str = "product", scheme_type: dict[str, Any] | None = None,
                 levels: list[int] | None = None) -> None:
        self.code = code.upper()
        self.max_suspension_months = max_suspension_months
        self.renewal_window_months = renewal_window_months  # R51; 0 for schemes learnt before windows existed
        # The certification type and its rules as the catalogue gave them (ADR 0020): {} for schemes learnt before.
        self.certification_type = certification_type
        self.scheme_type = dict(scheme_type or {})
        self.levels = list(levels or [])


class Decision(Aggregate):
    """A certification decision: outcome, basis, rationale, decider, dates (7.6)."""

    @event("Recorded")
    def __init__(
        self,
        *,
        outcome: str,
        application_id: str,
        certificate_number: str | None,
        basis: list[str],
        rationale: str,
        effective_from: date,
        decided_on: date,
        scope: str | None,
        certified: dict[str, Any] | None,
        scheme: str,
        actor: str,
        reason: str,
        products: list[dict[str, Any]] | None = None,
        complaint_id: str | None = None,
        conditions: str | None = None,
        until: date | None = None,
        deadline: date | None = None,
        voluntary: bool = False,
        request_id: str | None = None,
        appeal_id: str | None = None,
        level: int | None = None,
    ) -> None:
        self.level = level  # R63: a grant under a levelled scheme: the level certified
        self.products = products
        self.complaint_id = complaint_id  # the complaint this decision answers (a sanction on a well-founded one)
        # The sanctions ladder (R40-R46): a suspension's conditions and end date, whether the holder asked for it
        # and which request it answers; a conditional withdrawal's conditions and deadline; the appeal a
        # reinstatement corrects.
        self.conditions = conditions
        self.until = until
        self.deadline = deadline
        self.voluntary = voluntary
        self.request_id = request_id
        self.appeal_id = appeal_id
        self.outcome = outcome
        self.application_id = application_id
        self.certificate_number = certificate_number
        self.basis = basis
        self.rationale = rationale
        self.effective_from = effective_from
        self.decided_on = decided_on
        self.scope = scope
        self.certified = certified
        self.scheme = scheme
        self.decided_by = actor


class Appeal(Aggregate):
    """An appeal against a decision, decided by a committee not involved in it (7.13, R8).

    The committee is convened with its composition (R54: at least three members, one of them the chair), each
    member records a vote with a reason (R56), and the outcome follows from the votes (R55: the majority of the
    votes cast, the chair's vote breaking a tie). An appeal decided in the earlier way, by naming the committee
    and its outcome in one step, records no composition nor votes and stays possible while none is convened.

    One appeal per contested decision: its id derives from the decision's, so the store itself
    refuses a second one."""

    @staticmethod
    def create_id(decision_id: str, **_: Any) -> UUID:
        return natural_id("appeal", decision_id)

    @event("Lodged")
    def __init__(
        self, *, decision_id: str, application_id: str, contested_outcome: str, involved: list[str],
        appellant: str, grounds: str, actor: str, reason: str, certificate_number: str | None,
    ) -> None:
        self.decision_id = decision_id
        self.certificate_number = certificate_number
        self.application_id = application_id
        self.contested_outcome = contested_outcome
        self.involved = involved
        self.appellant = appellant
        self.grounds = grounds
        self.lodged_by = actor
        self.status = "lodged"
        self.committee: list[str] = []
        self.outcome: str | None = None
        self.rationale: str | None = None
        self.members: list[dict[str, Any]] = []  # the convened committee: person, role, organisation (R54)
        self.convened: dict[str, Any] | None = None  # when and by whom, and why
        self.votes: list[dict[str, Any]] = []  # each member's vote, in the order recorded (R56)
        self.tally: dict[str, Any] | None = None  # how the votes decided it (R55)

    # -- R8, R12, R2 for every member -----------------------------------------------------------

    def check_member(self, member: str, *, advisers: list[str], holder_people: Sequence[str] = (),
                     interests: Sequence[dict[str, Any]] = (), acting_as: str = "a member of the appeal committee",
                     ) -> None:
        """R8: not involved in the contested decision or its evaluation; R2: did not advise the holder (its
        declaration) and has no interest in it on the staff register (R58); R12: does not act for the appellant."""
        if any(same_person(member, person) for person in self.involved):
            raise SeparationOfDuties(
                f"{member} was involved in the contested decision {self.decision_id} or its evaluation "
                "and may not sit on the appeal committee"
            )
        if any(same_person(member, adviser) for adviser in advisers):
            raise ConflictOfInterest(f"{member} advised the holder in the last two years")
        check_staff_register(member, interests, acting_as)
        own = [self.appellant, self.lodged_by, *holder_people]
        if any(same_person(member, person) for person in own if person):
            raise ConflictOfInterest(
                f"{member} acts for the appellant (appellant, lodged the appeal, or the holder's own people) "
                "and may not sit on the committee that decides the appeal"
            )

    def _check_open(self) -> None:
        if self.status == "decided":
            raise InvalidTransition(f"Appeal {self.id} is already decided")

    # -- the committee and its votes (R54-R56) --------------------------------------------------

    def convene(self, *, members: list[dict[str, Any]], advisers: list[str], today: date, actor: str, reason: str,
                holder_people: Sequence[str] = (), interests: Sequence[dict[str, Any]] = ()) -> None:
        """R54: the committee is at least COMMITTEE_QUORUM people, each once, exactly one of them the chair; every
        member meets R8, R12 and R2. Convening again (a member unable to sit) replaces the composition; the
        votes cast under the earlier one lapse, and the trail keeps both."""
        self._check_open()
        for member in members:
            if member.get("role") not in COMMITTEE_ROLES:
                raise InvalidCommand(f"A committee member's role is one of {', '.join(COMMITTEE_ROLES)} ('role')")
        if len(members) < COMMITTEE_QUORUM:
            raise InvalidCommand(f"R54: an appeal committee has at least {COMMITTEE_QUORUM} members (quorum); "
                                 f"{len(members)} named", field="members")
        if len({person_key(m["person"]) for m in members}) != len(members):
            raise InvalidCommand("R54: the appeal committee names the same person more than once", field="members")
        chairs = [m["person"] for m in members if m["role"] == "chair"]
        if len(chairs) != 1:
            raise InvalidCommand(f"R54: an appeal committee has exactly one chair; {len(chairs)} named",
                                 field="members")
        for member in members:
            self.check_member(member["person"], advisers=advisers, holder_people=holder_people, interests=interests)
        self._convened(members=[{"person": m["person"], "role": m["role"], "organisation": m.get("organisation")}
                                for m in members], convened_on=today, actor=actor, reason=reason)

    @event("CommitteeConvened")
    def _convened(self, members: list[dict[str, Any]], convened_on: date, actor: str, reason: str) -> None:
        self.status = "convened"
        self.members = members
        self.convened = {"on": convened_on.isoformat(), "by": actor, "reason": reason}
        self.votes = []

    def seat(self, person: str) -> dict[str, Any] | None:
        return next((m for m in self.members if same_person(m["person"], person)), None)

    @property
    def chair(self) -> str | None:
        return next((m["person"] for m in self.members if m["role"] == "chair"), None)

    def vote(self, *, member: str, vote: str, reason: str, advisers: list[str], today: date, actor: str,
             for_member: bool = False, holder_people: Sequence[str] = (),
             interests: Sequence[dict[str, Any]] = ()) -> None:
        """R56: a member of the convened committee votes once, upheld, dismissed or abstain, with a reason; the
        member records it, or the committee's secretary (``for_member``: an administrator) records it for them.
        R8, R12 and R2 are judged again on the day of the vote."""
        self._check_open()
        if not self.members:
            raise InvalidTransition(f"R56: no committee is convened for appeal {self.id}; convene one first")
        seat = self.seat(member)
        if seat is None:
            raise NotPermitted(f"R56: {member} is not a member of the committee convened for appeal {self.id}")
        if not for_member and not same_person(member, actor):
            raise NotPermitted(f"R56: {actor} records only their own vote; the secretary (an administrator) records "
                               "a vote for a member")
        if vote not in VOTES:
            raise InvalidCommand(f"A vote is one of {', '.join(VOTES)} ('vote')")
        if not (reason or "").strip():
            raise InvalidCommand("R56: a vote states its reason ('reason')")
        if any(same_person(v["member"], member) for v in self.votes):
            raise Duplicate(f"R56: {member} has already voted on appeal {self.id}; a vote is recorded once")
        self.check_member(member, advisers=advisers, holder_people=holder_people, interests=interests)
        self._voted(member=seat["person"], role=seat["role"], vote=vote, voted_on=today, actor=actor, reason=reason)

    @event("VoteRecorded")
    def _voted(self, member: str, role: str, vote: str, voted_on: date, actor: str, reason: str) -> None:
        self.votes.append({"member": member, "role": role, "vote": vote, "on": voted_on.isoformat(), "by": actor,
                           "reason": reason})

    def count(self) -> dict[str, Any]:
        """R55: the majority of the votes cast (an abstention is no vote cast); on a tie the chair's vote decides,
        and without one there is no outcome."""
        cast = {outcome: sum(1 for v in self.votes if v["vote"] == outcome) for outcome in VOTES}
        upheld, dismissed = cast["upheld"], cast["dismissed"]
        chairs_vote = next((v["vote"] for v in self.votes if v["role"] == "chair"), None)
        outcome, casting = None, False
        if upheld != dismissed:
            outcome = "upheld" if upheld > dismissed else "dismissed"
        elif chairs_vote in APPEAL_OUTCOMES:
            outcome, casting = chairs_vote, True
        return {"upheld": upheld, "dismissed": dismissed, "abstain": cast["abstain"], "outcome": outcome,
                "chairs_casting_vote": casting}

    # -- the decision ---------------------------------------------------------------------------

    def decide(
        self, *, committee: list[str] | None, outcome: str | None, rationale: str, advisers: list[str], actor: str,
        holder_people: Sequence[str] = (), interests: Sequence[dict[str, Any]] = (),
    ) -> None:
        """With a convened committee, the outcome follows from its members' votes, once all have voted (R55); a
        ``committee`` or ``outcome`` given must agree with them. Without one, the committee and its outcome are
        named here (the earlier form: R8, R12 and R2 for each member, no votes recorded)."""
        self._check_open()
        tally = None
        if self.members:
            waiting = [m["person"] for m in self.members if not any(same_person(v["member"], m["person"])
                                                                    for v in self.votes)]
            if waiting:
                raise InvalidTransition(f"R55: appeal {self.id} is decided once every member has voted; waiting "
                                        f"for {', '.join(waiting)}", waiting_for=waiting)
            tally = self.count()
            if tally["outcome"] is None:
                raise InvalidTransition(
                    f"R55: the votes on appeal {self.id} are tied ({tally['upheld']} upheld, {tally['dismissed']} "
                    "dismissed) and the chair cast no vote to break the tie; no outcome follows", tally=tally)
            members = [m["person"] for m in self.members]
            if committee is not None and {person_key(c) for c in committee} != {person_key(m) for m in members}:
                raise InvalidCommand(f"The committee convened for appeal {self.id} is {', '.join(members)}; "
                                     "'committee' names another", field="committee")
            if outcome is not None and outcome != tally["outcome"]:
                raise InvalidCommand(f"R55: the committee's votes decide appeal {self.id}: {tally['outcome']} "
                                     f"({tally['upheld']} upheld, {tally['dismissed']} dismissed, {tally['abstain']} "
                                     f"abstaining); 'outcome' says {outcome}", field="outcome")
            committee, outcome = members, tally["outcome"]
        else:
            if not committee:
                raise InvalidCommand("An appeal is decided by a committee of at least one member: convene one "
                                     f"(R54, at least {COMMITTEE_QUORUM}) or name it ('committee')")
            if outcome not in APPEAL_OUTCOMES:
                raise InvalidCommand(f"Without a convened committee, the decision states its outcome, one of "
                                     f"{', '.join(APPEAL_OUTCOMES)} ('outcome')")
            if len({person_key(member) for member in committee}) != len(committee):
                raise InvalidCommand("The appeal committee names the same person more than once")
            for member in committee:
                self.check_member(member, advisers=advisers, holder_people=holder_people, interests=interests)
        self._decided(committee=committee, outcome=outcome, rationale=rationale, decision_id=self.decision_id,
                      certificate_number=self.certificate_number, actor=actor, reason=rationale, tally=tally)

    @event("Decided")
    def _decided(
        self, committee: list[str], outcome: str, rationale: str, decision_id: str, certificate_number: str | None,
        actor: str, reason: str, tally: dict[str, Any] | None = None,
    ) -> None:
        self.status = "decided"
        self.committee = committee
        self.outcome = outcome
        self.rationale = rationale
        self.tally = tally


# -- the staff interest register (R57, R58) --------------------------------------------------------


def check_interest(*, person: str, organisation: dict[str, Any], kind: str, since: date, until: date | None,
                   today: date, current: list[dict[str, Any]]) -> None:
    """R57: an interest names the person, the organisation (name and registration number) and its kind; it began
    by today and, if ended, ended between its start and today; the same person's ongoing interest of the same kind
    in the same organisation is registered once. ``current``: the register's entries now."""
    if not (person or "").strip():
        raise InvalidCommand("R57: an interest names the member of staff ('person')", field="person")
    if not registration_key(organisation.get("registration_number")) or not (organisation.get("name") or "").strip():
        raise InvalidCommand("R57: an interest names the organisation and its registration number "
                             "('organisation.name', 'organisation.registration_number')", field="organisation")
    if kind not in INTEREST_KINDS:
        raise InvalidCommand(f"R57: an interest's kind is one of {', '.join(INTEREST_KINDS)} ('kind')", field="kind")
    if since > today:
        raise InvalidCommand(f"R57: an interest is registered once it exists; 'since' {since} is after today {today}",
                             field="since")
    if until is not None and not since <= until <= today:
        raise InvalidCommand(f"R57: an interest ended ('until' {until}) between its start ({since}) and today "
                             f"({today})", field="until")
    for entry in current:
        if entry["until"] is None and until is None and same_person(entry["person"], person) and \
                entry["kind"] == kind and registration_key(entry["organisation"]["registration_number"]) == \
                registration_key(organisation["registration_number"]):
            raise Duplicate(f"R57: {person}'s {kind} interest in {organisation['name']} is already registered and "
                            f"ongoing (interest {entry['interest_id']})", interest_id=entry["interest_id"])


class StaffInterest(Aggregate):
    """One interest of a member of the body's staff in an organisation the body certifies (ISO/IEC 17065 4.2.3):
    employment, consultancy, a financial or family tie. R2 reads the register beside the applicant's own
    declaration (R58). Registered by an administrator; ended by a new event, never edited."""

    @event("Registered")
    def __init__(self, *, person: str, organisation: dict[str, Any], kind: str, since: date, until: date | None,
                 registered_on: date, actor: str, reason: str) -> None:
        self.person = person
        self.organisation = organisation
        self.kind = kind
        self.since = since
        self.until = until
        self.registered_on = registered_on
        self.registered_by = actor
        self.reason = reason
        self.ended: dict[str, Any] | None = None

    def end(self, *, until: date, today: date, actor: str, reason: str) -> None:
        """R57: an ongoing interest ends once, on a day between its start and today."""
        if self.until is not None:
            raise InvalidTransition(f"R57: interest {self.id} ended on {self.until}; it is ended once")
        if not self.since <= until <= today:
            raise InvalidCommand(f"R57: an interest ends ('until' {until}) between its start ({self.since}) and today "
                                 f"({today})", field="until")
        self._ended(until=until, ended_on=today, actor=actor, reason=reason)

    @event("Ended")
    def _ended(self, until: date, ended_on: date, actor: str, reason: str) -> None:
        self.until = until
        self.ended = {"on": ended_on.isoformat(), "by": actor, "reason": reason}


def check_complaint(*, subject: dict[str, Any], complainant: str, email: str | None, address: str | None,
                    description: str) -> None:
    """R23: a complaint names an identified complainant (a name, and an e-mail or postal address to answer
    to) and what it is about, as its kind needs: a certificate's number, a holder's name and registration
    number, or the mark and its alleged misuser. An anonymous complaint is not handled (7.13.1)."""
    kind = subject.get("kind")
    if kind not in COMPLAINT_KINDS:
        raise InvalidCommand(f"A complaint is about one of {', '.join(COMPLAINT_KINDS)} ('subject.kind')")
    if not (complainant or "").strip():
        raise InvalidCommand("R23: a complaint names its complainant ('complainant.name'); "
                             "an anonymous complaint is not handled")
    if not (email or "").strip() and not (address or "").strip():
        raise InvalidCommand("R23: a complaint gives an e-mail or postal address to answer the complainant "
                             "('complainant.email' or 'complainant.address')")
    if not (description or "").strip():
        raise InvalidCommand("A complaint describes what happened ('description')")
    holder = subject.get("holder") or {}
    if kind == "certificate" and not subject.get("certificate_number"):
        raise InvalidCommand("A complaint about a certificate names it ('subject.certificate_number')")
    if kind == "holder" and not (holder.get("name") and holder.get("registration_number")):
        raise InvalidCommand("A complaint about a holder names it and its registration number "
                             "('subject.holder.name', 'subject.holder.registration_number')")
    if kind == "mark_misuse" and not (subject.get("mark") and subject.get("misuser")):
        raise InvalidCommand("A report of misuse of a mark names the mark and who misuses it "
                             "('subject.mark', 'subject.misuser')")
    if kind in ("body", "mark_misuse") and holder:
        raise InvalidCommand(f"A complaint of kind {kind} names no holder; use kind 'holder' or 'certificate'")


class ComplaintRegister(Aggregate):
    """The body's register of complaints: their order of receipt and their reference numbers
    (C-2026-0001, counted per year of receipt). Internal to decisions: the listing reads it."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return natural_id("complaint-register", "register")

    @event("Opened")
    def __init__(self, *, actor: str, reason: str) -> None:
        self.entries: list[str] = []  # complaint ids, in order of receipt
        self.references: dict[str, str] = {}  # reference -> complaint id
        self.per_year: dict[str, int] = {}

    def next_reference(self, received_on: date) -> str:
        return f"C-{received_on.year}-{self.per_year.get(str(received_on.year), 0) + 1:04d}"

    @event("Entered")
    def enter(self, complaint_id: str, reference: str, received_on: date, actor: str, reason: str) -> None:
        self.entries.append(complaint_id)
        self.references[reference] = complaint_id
        year = str(received_on.year)
        self.per_year[year] = self.per_year.get(year, 0) + 1


class Complaint(Aggregate):
    """A complaint (ISO/IEC 17065 7.13): about the body, a certificate, a holder, or misuse of a mark by
    someone who holds no certificate. Acknowledged, judged admissible (or closed as inadmissible),
    investigated by a handler who was not involved in its subject (R25), possibly with a special audit,
    decided (well founded or unfounded, citing any sanction decisions), notified in writing to the
    complainant and, where a certificate or holder is concerned, to the holder, and only then closed.

    Each step is its own command and event with actor and reason; a step out of order is refused
    (R24, 409 invalid-transition) and records nothing."""

    @event("Lodged")
    def __init__(
        self, *, reference: str, subject: dict[str, Any], complainant: str, email: str | None, address: str | None,
        description: str, received_on: date, channel: str, application_id: str | None, actor: str, reason: str,
    ) -> None:
        self.reference = reference
        self.subject = subject
        self.kind = subject["kind"]
        self.certificate_number: str | None = subject.get("certificate_number")
        self.application_id = application_id  # the certification file concerned, when a certificate is named
        self.complainant = complainant
        self.email = email
        self.address = address
        self.description = description
        self.received_on = received_on
        self.channel = channel  # "public" (the complainant, unauthenticated) or "staff" (recorded for them)
        self.lodged_by = actor
        self.status = "lodged"
        self.acknowledged_on: date | None = None
        self.admissible: bool | None = None
        self.admissibility: dict[str, Any] | None = None
        self.handler: str | None = None
        self.audits: list[str] = []
        self.outcome: dict[str, Any] | None = None
        self.notices: list[dict[str, Any]] = []
        self.closed_on: date | None = None
        self.history: list[dict[str, Any]] = []
        self._step("lodged", received_on, actor, reason)

    def _step(self, step: str, on: date, by: str, reason: str, **facts: Any) -> None:
        self.history.append({"step": step, "on": on.isoformat(), "by": by, "reason": reason, **facts})

    @property
    def concerns_holder(self) -> bool:
        return self.kind in CONCERNS_HOLDER

    def _expect(self, step: str, *statuses: str) -> None:
        if self.status not in statuses:
            raise InvalidTransition(
                f"R24: complaint {self.reference} is {self.status}; {step} comes when it is {' or '.join(statuses)}")

    # -- steps --------------------------------------------------------------------------------

    def acknowledge(self, *, today: date, actor: str, reason: str) -> None:
        self._expect("acknowledgement", "lodged")
        self._acknowledged(acknowledged_on=today, actor=actor, reason=reason)

    @event("Acknowledged")
    def _acknowledged(self, acknowledged_on: date, actor: str, reason: str) -> None:
        self.status = "acknowledged"
        self.acknowledged_on = acknowledged_on
        self._step("acknowledged", acknowledged_on, actor, reason)

    def decide_admissibility(self, *, admissible: bool, today: date, actor: str, reason: str) -> None:
        """Admissible: it goes on to investigation. Inadmissible (with the reason): it is closed."""
        self._expect("the admissibility decision", "acknowledged")
        self._admissibility(admissible=admissible, decided_on=today, actor=actor, reason=reason)

    @event("AdmissibilityDecided")
    def _admissibility(self, admissible: bool, decided_on: date, actor: str, reason: str) -> None:
        self.admissible = admissible
        self.admissibility = {"admissible": admissible, "decided_on": decided_on.isoformat(), "by": actor,
                              "reason": reason}
        self.status = "admissible" if admissible else "closed"
        if not admissible:
            self.closed_on = decided_on
        self._step("admissible" if admissible else "inadmissible", decided_on, actor, reason)

    def check_not_involved(self, person: str, involved: list[str], advisers: list[str], acting_as: str,
                           interests: Sequence[dict[str, Any]] = ()) -> None:
        """R25: whoever handles or decides a complaint took no part in evaluating or deciding the file
        concerned, is not the complainant, and did not advise the holder in the cooling-off period (its
        declaration, or ``interests`` on the staff register in the holder, R58)."""
        if any(same_person(person, other) for other in involved):
            raise SeparationOfDuties(
                f"R25: {person} evaluated or decided the file that complaint {self.reference} concerns "
                f"and may not act as {acting_as}")
        if same_person(person, self.complainant):
            raise ConflictOfInterest(f"R25: {person} lodged complaint {self.reference} and may not act as {acting_as}")
        if any(same_person(person, adviser) for adviser in advisers):
            raise ConflictOfInterest(
                f"R25: {person} advised the holder in the last two years and may not act as {acting_as} "
                f"on complaint {self.reference}")
        check_staff_register(person, interests, f"{acting_as} on complaint {self.reference}")

    def assign_handler(self, *, person: str, involved: list[str], advisers: list[str], today: date, actor: str,
                       reason: str, interests: Sequence[dict[str, Any]] = ()) -> None:
        """The handler investigates; a handler may be replaced while the investigation runs."""
        self._expect("assigning a handler", "admissible", "investigating")
        self.check_not_involved(person, involved, advisers, "complaint handler", interests)
        self._handler_assigned(person=person, assigned_on=today, actor=actor, reason=reason)

    @event("HandlerAssigned")
    def _handler_assigned(self, person: str, assigned_on: date, actor: str, reason: str) -> None:
        self.status = "investigating"
        self.handler = person
        self._step("handler_assigned", assigned_on, actor, reason, handler=person)

    def link_audit(self, *, audit_id: str, audit_kind: str | None, audit_application_id: str, today: date,
                   actor: str, reason: str) -> None:
        """R29: the investigation may rest on a special audit, of the file concerned when the complaint
        names a certificate."""
        self._expect("linking an audit", "investigating")
        if audit_kind not in COMPLAINT_AUDIT_KINDS:
            raise InvalidCommand(
                f"R29: audit {audit_id} is a {audit_kind or 'unknown kind of'} audit; a complaint's investigation "
                "links a special audit (plan one with kind 'special')", audit_id=audit_id)
        if self.application_id and audit_application_id != self.application_id:
            raise InvalidCommand(
                f"R29: audit {audit_id} belongs to another file than certificate {self.certificate_number}",
                audit_id=audit_id)
        if audit_id in self.audits:
            raise InvalidTransition(f"Audit {audit_id} is already linked to complaint {self.reference}")
        self._audit_linked(audit_id=audit_id, linked_on=today, actor=actor, reason=reason)

    @event("AuditLinked")
    def _audit_linked(self, audit_id: str, linked_on: date, actor: str, reason: str) -> None:
        self.audits.append(audit_id)
        self._step("audit_linked", linked_on, actor, reason, audit_id=audit_id)

    def decide_outcome(self, *, outcome: str, decisions: list[dict[str, Any]], involved: list[str],
                       advisers: list[str], today: date, actor: str, rationale: str,
                       interests: Sequence[dict[str, Any]] = ()) -> None:
        """Well founded (citing the sanction decisions taken, if any) or unfounded (citing none). ``decisions``:
        each cited decision's id, outcome and application id, as this service recorded it."""
        self._expect("the outcome", "investigating")
        if outcome not in COMPLAINT_OUTCOMES:
            raise InvalidCommand(f"A complaint's outcome is one of {', '.join(COMPLAINT_OUTCOMES)}")
        self.check_not_involved(actor, involved, advisers, "the one who decides the outcome", interests)
        ids = [d["id"] for d in decisions]
        if len(set(ids)) != len(ids):
            raise InvalidCommand("The outcome cites a decision more than once ('decision_ids')")
        if outcome == "unfounded" and decisions:
            raise InvalidCommand("R27: an unfounded complaint leads to no sanction; cite no decision ('decision_ids')")
        for decision in decisions:
            if decision["outcome"] not in SANCTIONS:
                raise InvalidCommand(
                    f"R27: decision {decision['id']} is a {decision['outcome']}; an outcome cites sanction decisions "
                    f"({', '.join(sorted(SANCTIONS))})", decision_id=decision["id"])
            if self.application_id and decision["application_id"] != self.application_id:
                raise InvalidCommand(
                    f"R27: decision {decision['id']} concerns another file than certificate {self.certificate_number}",
                    decision_id=decision["id"])
        self._outcome_decided(outcome=outcome, decision_ids=ids, decided_on=today, actor=actor, reason=rationale)

    @event("OutcomeDecided")
    def _outcome_decided(self, outcome: str, decision_ids: list[str], decided_on: date, actor: str,
                         reason: str) -> None:
        self.status = "decided"
        self.outcome = {"outcome": outcome, "decision_ids": decision_ids, "decided_on": decided_on.isoformat(),
                        "by": actor, "rationale": reason}
        self._step("outcome_decided", decided_on, actor, reason, outcome=outcome, decision_ids=decision_ids)

    def notify(self, *, recipient: str, summary: str, today: date, actor: str) -> None:
        """A written notice of the outcome: to the complainant always, to the holder where a certificate or
        holder is concerned. The complainant is also told when the complaint is inadmissible."""
        if recipient not in NOTICE_RECIPIENTS:
            raise InvalidCommand(f"A notice goes to one of {', '.join(NOTICE_RECIPIENTS)} ('recipient')")
        if recipient == "holder" and not self.concerns_holder:
            raise InvalidCommand(f"Complaint {self.reference} ({self.kind}) concerns no holder to notify")
        closed_inadmissible = self.status == "closed" and self.admissible is False
        if not (self.status == "decided" or (closed_inadmissible and recipient == "complainant")):
            raise InvalidTransition(
                f"R24: complaint {self.reference} is {self.status}; its notices follow the outcome "
                "(or, to the complainant, the inadmissibility decision)")
        self._notified(recipient=recipient, summary=summary, sent_on=today, actor=actor, reason=summary)

    @event("Notified")
    def _notified(self, recipient: str, summary: str, sent_on: date, actor: str, reason: str) -> None:
        self.notices.append({"recipient": recipient, "summary": summary, "sent_on": sent_on.isoformat(), "by": actor})
        self._step("notified", sent_on, actor, reason, recipient=recipient)

    def notices_missing(self) -> list[str]:
        required = ["complainant", "holder"] if self.concerns_holder else ["complainant"]
        sent = {notice["recipient"] for notice in self.notices}
        return [recipient for recipient in required if recipient not in sent]

    def close(self, *, today: date, actor: str, reason: str) -> None:
        """R26: closed only after the outcome and the written notices it requires."""
        self._expect("closing", "decided")
        missing = self.notices_missing()
        if missing:
            raise InvalidTransition(
                f"R26: complaint {self.reference} is closed once notified in writing; no notice yet to "
                f"{' and '.join(missing)}", missing_notices=missing)
        self._closed(closed_on=today, actor=actor, reason=reason)

    @event("Closed")
    def _closed(self, closed_on: date, actor: str, reason: str) -> None:
        self.status = "closed"
        self.closed_on = closed_on
        self._step("closed", closed_on, actor, reason)
