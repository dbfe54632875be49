"""The decisions service's use cases."""

from __future__ import annotations

from typing import Any

from services.decisions.domain import (
    APPEALABLE,
    ON_APPLICATION,
    Appeal,
    CertificationFile,
    Decision,
)
from shared.application import Outcome, ServiceApplication
from shared.domain import FileLink, same_person
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
    }


class Decisions(ServiceApplication):
    name = "decisions"
    published = (Decision, Appeal)

    def file(self, application_id: str) -> CertificationFile | None:
        return self.find(CertificationFile.create_id(application_id))

    def file_or_new(self, application_id: str) -> CertificationFile:
        return self.file(application_id) or CertificationFile(application_id=application_id)

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
            file.check_decision(
                outcome=outcome, decider=actor, certificate_number=number, basis=request["basis"],
                effective_from=effective_from, today=today, scope=request.get("scope"),
                products=request.get("products"),
            )
            application = file.application or {}
            certified = None
            if outcome == "grant":
                certified = {
                    "holder": application["applicant"],
                    "production_unit": application["production_unit"],
                    "products": application["products"],
                    "scope": application["scope"],
                }
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
            )
            file.take(decision_id=str(decision.id), outcome=outcome, certificate_number=number, actor=actor,
                      reason=request["rationale"], products=request.get("products"))
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
            advisers = file.advisers(self.clock.today()) if file else []
            holder_people = [((file.application if file else None) or {}).get("submitted_by", "")]
            appeal.decide(
                committee=request["committee"], outcome=request["outcome"], rationale=request["rationale"],
                advisers=advisers, actor=actor, holder_people=holder_people,
            )
            changed: list[Any] = [appeal]
            if file is not None and appeal.outcome == "upheld" and appeal.contested_outcome == "refuse":
                file.reopen(decision_id=appeal.decision_id, appeal_id=str(appeal.id), actor=actor)
                changed.append(file)
            elif file is not None and appeal.outcome == "upheld" and appeal.contested_outcome == "suspend" \
                    and appeal.certificate_number:
                file.note_upheld_appeal(certificate_number=appeal.certificate_number, decision_id=appeal.decision_id,
                                        appeal_id=str(appeal.id), actor=actor)
                changed.append(file)
            return Outcome(200, appeal_view(appeal), changed)

        return self.execute(command, idempotency)
