"""The decisions service's use cases."""

from __future__ import annotations

from typing import Any

from services.decisions.domain import (
    APPEALABLE,
    ON_APPLICATION,
    TERMS,
    Appeal,
    CertificationFile,
    Complaint,
    ComplaintRegister,
    Decision,
    KnownScheme,
    StaffInterest,
    check_complaint,
    check_interest,
)
from shared.application import Outcome, ServiceApplication
from shared.domain import FileLink, StaffInterests, registration_key, same_person
from shared.errors import Duplicate, InvalidCommand, NotFound, NotPermitted, NotYetKnown
from shared.idempotency import IdempotencyKey


def decision_view(decision: Decision) -> dict[str, Any]:
    return {
        "id": str(decision.id),
        "outcome": decision.outcome,
        "subject": {"application_id": decision.application_id, "certificate_number": decision.certificate_number},
        "basis": decision.basis,
        "rationale": decision.rationale,
        "effective_from": decision.effective_from.isoformat(),
        "decided_on": decision.decided_on.isoformat(),
        "decided_by": decision.decided_by,
        "decided_at": decision.created_on.isoformat(),
        "scope": decision.scope,
        "products": decision.products,
        "scheme": decision.scheme,
        "complaint_id": getattr(decision, "complaint_id", None),
        "level": getattr(decision, "level", None),
        **sanction_terms(decision),
    }


def sanction_terms(decision: Decision) -> dict[str, Any]:
    """What a rung of the sanctions ladder stated (R40-R46); absent from decisions recorded before them."""
    until, deadline = getattr(decision, "until", None), getattr(decision, "deadline", None)
    return {
        "conditions": getattr(decision, "conditions", None),
        "until": until.isoformat() if until else None,
        "deadline": deadline.isoformat() if deadline else None,
        "voluntary": bool(getattr(decision, "voluntary", False)),
        "request_id": getattr(decision, "request_id", None),
        "appeal_id": getattr(decision, "appeal_id", None),
    }


def appeal_view(appeal: Appeal) -> dict[str, Any]:
    return {
        "id": str(appeal.id),
        "status": appeal.status,
        "decision_id": appeal.decision_id,
        "application_id": appeal.application_id,
        "contested_outcome": appeal.contested_outcome,
        "certificate_number": appeal.certificate_number,
        "appellant": appeal.appellant,
        "grounds": appeal.grounds,
        "committee": appeal.committee,
        "outcome": appeal.outcome,
        "rationale": appeal.rationale,
        # The convened committee and its recorded votes (R54-R56), for staff; empty for an appeal decided in the
        # earlier form, or recorded before committees were convened.
        "members": getattr(appeal, "members", []),
        "convened": getattr(appeal, "convened", None),
        "votes": getattr(appeal, "votes", []),
        "tally": getattr(appeal, "tally", None) or (appeal.count() if getattr(appeal, "members", []) else None),
    }


def interest_view(interest: StaffInterest) -> dict[str, Any]:
    """An entry of the staff interest register (R57), for staff."""
    return {
        "id": str(interest.id),
        "person": interest.person,
        "organisation": interest.organisation,
        "kind": interest.kind,
        "since": interest.since.isoformat(),
        "until": interest.until.isoformat() if interest.until else None,
        "status": "ended" if interest.ended or interest.until else "ongoing",
        "registered_on": interest.registered_on.isoformat(),
        "registered_by": interest.registered_by,
        "reason": interest.reason,
        "ended": interest.ended,
    }


def complaint_summary(complaint: Complaint) -> dict[str, Any]:
    """A complaint as the register lists it (for staff and assessors)."""
    return {
        "id": str(complaint.id),
        "reference": complaint.reference,
        "status": complaint.status,
        "kind": complaint.kind,
        "subject": complaint.subject,
        "application_id": complaint.application_id,
        "received_on": complaint.received_on.isoformat(),
        "channel": complaint.channel,
        "handler": complaint.handler,
        "outcome": (complaint.outcome or {}).get("outcome"),
        "closed_on": complaint.closed_on.isoformat() if complaint.closed_on else None,
    }


def complaint_view(complaint: Complaint) -> dict[str, Any]:
    """A complaint with the whole of its history (staff and assessors only: it names the complainant)."""
    return {
        **complaint_summary(complaint),
        "complainant": {"name": complaint.complainant, "email": complaint.email, "address": complaint.address},
        "description": complaint.description,
        "lodged_by": complaint.lodged_by,
        "acknowledged_on": complaint.acknowledged_on.isoformat() if complaint.acknowledged_on else None,
        "admissibility": complaint.admissibility,
        "audits": complaint.audits,
        "outcome": complaint.outcome,
        "notices": complaint.notices,
        "notices_missing": complaint.notices_missing() if complaint.status == "decided" else [],
        "history": complaint.history,
    }


def complaint_receipt(complaint: Complaint) -> dict[str, Any]:
    """What the public is answered: the reference to quote, never the complainant's name or address."""
    return {"id": str(complaint.id), "reference": complaint.reference, "status": complaint.status,
            "received_on": complaint.received_on.isoformat()}


class Decisions(ServiceApplication):
    name = "decisions"
    published = (Decision, Appeal, Complaint, StaffInterest)

    def file(self, application_id: str) -> CertificationFile | None:
        return self.find(CertificationFile.create_id(application_id))

    def file_or_new(self, application_id: str) -> CertificationFile:
        return self.file(application_id) or CertificationFile(application_id=application_id)

    # -- the staff interest register (R57, R58) -----------------------------------------------

    def staff_interests(self) -> StaffInterests | None:
        """The register's index: every interest, as R2 reads it (kept with each register event)."""
        return self.find(StaffInterests.create_id())

    def interests_in(self, registration_number: str | None) -> list[dict[str, Any]]:
        """The register's interests in this organisation within the cooling-off period before today (R58)."""
        known = self.staff_interests()
        return known.within_cooling_off(registration_number, self.clock.today()) if known else []

    def interest(self, interest_id: str) -> StaffInterest:
        return self.load_as(StaffInterest, interest_id)

    def register_interest(self, request: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
                          ) -> Outcome:
        def command() -> Outcome:
            today = self.clock.today()
            known = self.staff_interests() or StaffInterests()
            organisation = {"name": request["organisation"]["name"],
                            "registration_number": request["organisation"]["registration_number"]}
            check_interest(person=request["person"], organisation=organisation, kind=request["kind"],
                           since=request["since"], until=request.get("until"), today=today,
                           current=list(known.interests.values()))
            interest = StaffInterest(person=request["person"], organisation=organisation, kind=request["kind"],
                                     since=request["since"], until=request.get("until"), registered_on=today,
                                     actor=actor, reason=request["reason"])
            known.learn(interest_id=str(interest.id), person=interest.person, organisation=organisation,
                        kind=interest.kind, since=interest.since.isoformat(),
                        until=interest.until.isoformat() if interest.until else None)
            return Outcome(201, interest_view(interest), [interest, known])

        return self.execute(command, idempotency)

    def end_interest(self, interest_id: str, request: dict[str, Any], actor: str,
                     idempotency: IdempotencyKey | None = None) -> Outcome:
        def command() -> Outcome:
            interest = self.interest(interest_id)
            today = self.clock.today()
            interest.end(until=request.get("until") or today, today=today, actor=actor, reason=request["reason"])
            known = self.staff_interests() or StaffInterests()
            known.learn_end(interest_id=str(interest.id), until=interest.until.isoformat())
            return Outcome(200, interest_view(interest), [interest, known])

        return self.execute(command, idempotency)

    def interests(self, *, person: str | None = None, organisation: str | None = None, after: int = 0,
                  limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
        """The register in order of registration, filtered; the position to continue after, if there is more."""
        known = self.staff_interests()
        entries = list(known.interests) if known else []
        items: list[dict[str, Any]] = []
        position = after
        while position < len(entries) and len(items) < limit:
            entry = known.interests[entries[position]]  # type: ignore[union-attr]
            position += 1
            if person and not same_person(entry["person"], person):
                continue
            if organisation and registration_key(entry["organisation"]["registration_number"]) != \
                    registration_key(organisation):
                continue
            items.append(interest_view(self.interest(entry["interest_id"])))
        return items, position if position < len(entries) else None

    def decision(self, decision_id: str) -> Decision:
        return self.load_as(Decision, decision_id)

    def appeal(self, appeal_id: str) -> Appeal:
        return self.load_as(Appeal, appeal_id)

    def decide(self, request: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None) -> Outcome:
        def command() -> Outcome:
            outcome = request["outcome"]
            application_id = request["subject"].get("application_id")
            number = request["subject"].get("certificate_number")
            if outcome in ON_APPLICATION:
                if not application_id:
                    raise InvalidCommand(f"A {outcome} decision has an application as subject ('application_id')")
                number = None
            else:
                if not number:
                    raise InvalidCommand(f"A {outcome} decision has a certificate as subject ('certificate_number')")
                link = self.find(FileLink.create_id("certificate", number))
                if link is None and self.upstream_current("registry"):
                    raise NotFound(f"Certificate {number} does not exist: the registry has issued no such number")
                if link is None:
                    raise NotYetKnown(f"Certificate {number} is not known to decisions yet; retry shortly")
                application_id = link.application_id
            file = self.file(application_id)
            if file is None:
                raise NotYetKnown(
                    f"Application {application_id} is not known to decisions yet; retry shortly, otherwise check the id"
                )
            today = self.clock.today()
            # What a client means by leaving it out: today, in the body's time zone.
            effective_from = request.get("effective_from") or today
            terms = {k: request.get(k) for k in TERMS}
            known = self.find(KnownScheme.create_id((file.application or {}).get("scheme") or "-"))
            file.check_decision(
                outcome=outcome, decider=actor, certificate_number=number, basis=request["basis"],
                effective_from=effective_from, today=today, scope=request.get("scope"),
                products=request.get("products"), terms=terms,
                max_suspension_months=known.max_suspension_months if known else None,
                interests=self.interests_in(file.registration_number),
            )
            file.check_grant_basis(outcome=outcome, basis=request["basis"], level=request.get("level"),
                                   scheme_type=getattr(known, "scheme_type", {}), levels=getattr(known, "levels", []))
            complaint_id = request.get("complaint_id")
            if complaint_id:
                complaint_id = str(self.complaint(complaint_id).id)  # it exists (404 otherwise)
            application = file.application or {}
            certified = None
            if outcome == "grant":
                certified = {
                    "holder": application["applicant"],
                    "production_unit": application["production_unit"],
                    "products": application["products"],
                    "scope": application["scope"],
                }
                if application.get("candidate"):  # R69: a person certificate is issued to the person
                    certified["person"] = application["candidate"]["person"]
            decision = Decision(
                outcome=outcome,
                application_id=application_id,
                certificate_number=number,
                basis=request["basis"],
                rationale=request["rationale"],
                effective_from=effective_from,
                decided_on=today,
                scope=request.get("scope"),
                certified=certified,
                scheme=application["scheme"],
                actor=actor,
                reason=request["rationale"],
                products=request.get("products"),
                complaint_id=complaint_id,
                conditions=request.get("conditions"),
                until=request.get("until"),
                deadline=request.get("deadline"),
                voluntary=bool(request.get("voluntary")),
                request_id=request.get("request_id"),
                appeal_id=request.get("appeal_id"),
                level=request.get("level"),
            )
            file.take(decision_id=str(decision.id), outcome=outcome, certificate_number=number, actor=actor,
                      reason=request["rationale"], products=request.get("products"),
                      request_id=request.get("request_id"))
            return Outcome(201, decision_view(decision), [decision, file])

        return self.execute(command, idempotency)

    def lodge_appeal(
        self, request: dict[str, Any], actor: str, as_holder: bool, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            contested = self.decision(request["decision_id"])
            earlier = self.find(Appeal.create_id(str(contested.id)))
            if earlier is not None:
                raise Duplicate(
                    f"Decision {contested.id} is already under appeal {earlier.id} ({earlier.status}); "
                    "a decision is appealed once", appeal_id=str(earlier.id))
            file = self.file(contested.application_id)
            holder = ((file.application if file else None) or {}).get("submitted_by", "")
            if as_holder and not same_person(actor, holder):
                raise NotPermitted("Only the holder of the file, or an administrator, lodges an appeal")
            if contested.outcome not in APPEALABLE:
                raise InvalidCommand(
                    f"A {contested.outcome} decision is not open to appeal; appeals contest "
                    f"{', '.join(sorted(APPEALABLE))}"
                )
            evaluators = list(file.evaluators) if file else []
            appeal = Appeal(
                decision_id=str(contested.id),
                certificate_number=contested.certificate_number,
                application_id=contested.application_id,
                contested_outcome=contested.outcome,
                involved=[contested.decided_by, *evaluators],
                appellant=request["appellant"],
                grounds=request["grounds"],
                actor=actor,
                reason=request["grounds"],
            )
            return Outcome(201, appeal_view(appeal), [appeal])

        return self.execute(command, idempotency)

    def decide_appeal(
        self, appeal_id: str, request: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            appeal = self.appeal(appeal_id)
            file = self.file(appeal.application_id)
            appeal.decide(committee=request.get("committee"), outcome=request.get("outcome"),
                          rationale=request["rationale"], actor=actor, **self._appeal_facts(appeal))
            changed: list[Any] = [appeal]
            if file is not None and appeal.outcome == "upheld" and appeal.contested_outcome == "refuse":
                file.reopen(decision_id=appeal.decision_id, appeal_id=str(appeal.id), actor=actor)
                changed.append(file)
            elif file is not None and appeal.outcome == "upheld" and appeal.contested_outcome == "suspend" \
                    and appeal.certificate_number:
                file.note_upheld_appeal(certificate_number=appeal.certificate_number, decision_id=appeal.decision_id,
                                        appeal_id=str(appeal.id), actor=actor)
                changed.append(file)
            elif file is not None and appeal.outcome == "upheld" and appeal.contested_outcome == "withdraw" \
                    and appeal.certificate_number:
                # R46: the withdrawal may be corrected by one reinstatement that cites this appeal.
                file.note_upheld_appeal(certificate_number=appeal.certificate_number, decision_id=appeal.decision_id,
                                        appeal_id=str(appeal.id), actor=actor, contested="withdraw")
                changed.append(file)
            return Outcome(200, appeal_view(appeal), changed)

        return self.execute(command, idempotency)

    def _appeal_facts(self, appeal: Appeal) -> dict[str, Any]:
        """What R2 and R12 judge a committee member by: the holder's advisers (its declaration), the staff register's
        interests in the holder (R58), and the holder's own people."""
        file = self.file(appeal.application_id)
        application = (file.application if file else None) or {}
        return {"advisers": file.advisers(self.clock.today()) if file else [],
                "holder_people": [application.get("submitted_by", "")],
                "interests": self.interests_in(file.registration_number if file else None)}

    def convene_committee(self, appeal_id: str, request: dict[str, Any], actor: str,
                          idempotency: IdempotencyKey | None = None) -> Outcome:
        """R54: the appeal committee's composition, each member judged by R8, R12 and R2."""
        def command() -> Outcome:
            appeal = self.appeal(appeal_id)
            appeal.convene(members=request["members"], today=self.clock.today(), actor=actor, reason=request["reason"],
                           **self._appeal_facts(appeal))
            return Outcome(200, appeal_view(appeal), [appeal])

        return self.execute(command, idempotency)

    def record_vote(self, appeal_id: str, request: dict[str, Any], actor: str, as_secretary: bool,
                    idempotency: IdempotencyKey | None = None) -> Outcome:
        """R56: a member's vote, recorded by the member (or by the secretary, an administrator, for them)."""
        def command() -> Outcome:
            appeal = self.appeal(appeal_id)
            member = request.get("member") or actor
            appeal.vote(member=member, vote=request["vote"], reason=request["reason"], today=self.clock.today(),
                        actor=actor, for_member=as_secretary, **self._appeal_facts(appeal))
            return Outcome(200, appeal_view(appeal), [appeal])

        return self.execute(command, idempotency)

    # -- complaints (7.13) --------------------------------------------------------------------

    def register(self) -> ComplaintRegister | None:
        return self.find(ComplaintRegister.create_id())

    def complaint(self, complaint_id: str) -> Complaint:
        """A complaint by its id or by its reference (C-2026-0001)."""
        register = self.register()
        found = register.references.get(complaint_id.strip().upper()) if register else None
        return self.load_as(Complaint, found or complaint_id)

    def complaints(self, *, status: str | None = None, kind: str | None = None, certificate: str | None = None,
                   after: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
        """The register in order of receipt, filtered; the position to continue after, if there is more."""
        register = self.register()
        entries = register.entries if register else []
        items: list[dict[str, Any]] = []
        position = after
        while position < len(entries) and len(items) < limit:
            complaint = self.load_as(Complaint, entries[position])
            position += 1
            if status and complaint.status != status or kind and complaint.kind != kind:
                continue
            if certificate and (complaint.certificate_number or "").upper() != certificate.strip().upper():
                continue
            items.append(complaint_summary(complaint))
        return items, position if position < len(entries) else None

    def _file_concerned(self, certificate_number: str | None) -> str | None:
        """The application (file) a named certificate belongs to; refused if decisions does not know it."""
        if not certificate_number:
            return None
        link = self.find(FileLink.create_id("certificate", certificate_number))
        if link is None and self.upstream_current("registry"):
            raise NotFound(f"Certificate {certificate_number} does not exist: the registry has issued no such number")
        if link is None:
            raise NotYetKnown(f"Certificate {certificate_number} is not known to decisions yet; retry shortly")
        return link.application_id

    def lodge_complaint(self, request: dict[str, Any], actor: str | None, idempotency: IdempotencyKey | None = None
                        ) -> Outcome:
        """Anyone lodges a complaint: staff for a complainant (``actor``), or the complainant through the
        public channel (``actor`` None: the complainant is the one who lodged it)."""
        def command() -> Outcome:
            subject = {"kind": None, "certificate_number": None, "holder": None, "mark": None, "misuser": None,
                       **request["subject"]}
            if subject["certificate_number"]:
                subject["certificate_number"] = subject["certificate_number"].strip().upper()
            complainant = request["complainant"]
            check_complaint(subject=subject, complainant=complainant.get("name", ""), email=complainant.get("email"),
                            address=complainant.get("address"), description=request["description"])
            if subject["kind"] == "mark_misuse":  # a misuser may quote any number, a real one or not
                link = self.find(FileLink.create_id("certificate", subject["certificate_number"] or ""))
                application_id = link.application_id if link else None
            else:
                application_id = self._file_concerned(subject["certificate_number"])
            today = self.clock.today()
            by = actor or complainant["name"]
            register = self.register() or ComplaintRegister(actor=by, reason="the first complaint received")
            reference = register.next_reference(today)
            complaint = Complaint(
                reference=reference, subject=subject, complainant=complainant["name"],
                email=complainant.get("email"), address=complainant.get("address"),
                description=request["description"], received_on=today, channel="staff" if actor else "public",
                application_id=application_id, actor=by, reason=f"complaint {reference} received",
            )
            register.enter(complaint_id=str(complaint.id), reference=reference, received_on=today, actor=by,
                           reason=f"complaint {reference} entered in the register")
            body = complaint_view(complaint) if actor else complaint_receipt(complaint)
            return Outcome(201, body, [complaint, register])

        return self.execute(command, idempotency)

    def _impartiality_facts(self, complaint: Complaint) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Who evaluated or decided the file concerned, who advised its holder lately (R25), and the staff
        register's interests in the holder (R58): the file's, or the holder the complaint names."""
        file = self.file(complaint.application_id) if complaint.application_id else None
        holder = (complaint.subject.get("holder") or {}).get("registration_number")
        if file is None:
            return [], [], self.interests_in(holder)
        return file.involved_people(), file.advisers(self.clock.today()), \
            self.interests_in(file.registration_number or holder)

    def complaint_step(self, complaint_id: str, step: str, request: dict[str, Any], actor: str,
                       idempotency: IdempotencyKey | None = None) -> Outcome:
        """One step of a complaint's handling, by a member of staff."""
        def command() -> Outcome:
            complaint = self.complaint(complaint_id)
            today = self.clock.today()
            if step == "acknowledge":
                complaint.acknowledge(today=today, actor=actor, reason=request["reason"])
            elif step == "admissibility":
                complaint.decide_admissibility(admissible=request["admissible"], today=today, actor=actor,
                                               reason=request["reason"])
            elif step == "handler":
                involved, advisers, interests = self._impartiality_facts(complaint)
                complaint.assign_handler(person=request["handler"], involved=involved, advisers=advisers, today=today,
                                         actor=actor, reason=request["reason"], interests=interests)
            elif step == "audit":
                audit_id = request["audit_id"]
                link = self.find(FileLink.create_id("audit", audit_id))
                if link is None:
                    raise NotYetKnown(f"Audit {audit_id} is not known to decisions yet; if it was just planned, "
                                      "retry shortly, otherwise check the id")
                file = self.file(link.application_id)
                kind = ((file.audits if file else {}).get(audit_id) or {}).get("kind")
                complaint.link_audit(audit_id=audit_id, audit_kind=kind, audit_application_id=link.application_id,
                                     today=today, actor=actor, reason=request["reason"])
            elif step == "outcome":
                cited = [self.decision(decision_id) for decision_id in request["decision_ids"]]
                involved, advisers, interests = self._impartiality_facts(complaint)
                complaint.decide_outcome(
                    outcome=request["outcome"], involved=involved, advisers=advisers, today=today, actor=actor,
                    rationale=request["rationale"], interests=interests,
                    decisions=[{"id": str(d.id), "outcome": d.outcome, "application_id": d.application_id}
                               for d in cited])
            elif step == "notice":
                complaint.notify(recipient=request["recipient"], summary=request["summary"], today=today, actor=actor)
            elif step == "close":
                complaint.close(today=today, actor=actor, reason=request["reason"])
            else:  # pragma: no cover - the routes name the steps
                raise InvalidCommand(f"No such step of a complaint: {step}")
            return Outcome(200, complaint_view(complaint), [complaint])

        return self.execute(command, idempotency)
