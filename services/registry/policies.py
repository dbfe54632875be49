"""How the registry reacts to other services' events: decisions issue and change certificates."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from services.registry.application import Registry
from services.registry.domain import Certificate
from shared.certificate_states import OUTCOME_STATUS, REVISIONS
from shared.contract.types import APPEAL_DECIDED, DECISION_RECORDED
from shared.domain import add_months
from shared.errors import DomainError
from shared.messages import Message


def on_decision(registry: Registry):
    def policy(message: Message) -> Iterable[Any]:
        if message.type == APPEAL_DECIDED:
            return _appeal_decided(registry, message)
        if message.type != DECISION_RECORDED:
            return []
        decision = message.data
        outcome = decision["outcome"]
        if outcome == "grant":
            return registry.issue(decision, message.subject)
        number = decision.get("certificate_number")
        if not number or outcome == "refuse":
            return []
        certificate: Certificate = registry.certificate(number)
        effective_from = date.fromisoformat(decision["effective_from"])
        common = {"decision_id": message.subject, "effective_from": effective_from, "actor": decision["actor"]}
        reason = f"{outcome} by decision {message.subject}"
        # A certificate past its validity expires before any decision is applied to it, even if the
        # periodic sweep has not reached it yet.
        certificate.expire(today=registry.clock.today(), actor="hallmark:registry")
        try:
            if outcome == "warning":
                certificate.warn(reason=decision["rationale"], **common)
            elif outcome == "conditional_withdrawal":
                certificate.withdraw_conditionally(deadline=_day(decision.get("deadline")),
                                                   conditions=decision.get("conditions") or "", reason=reason, **common)
            elif outcome == "reinstate":
                certificate.reinstate(appeal_id=decision.get("appeal_id") or "",
                                      reason=f"reinstated by decision {message.subject} on appeal "
                                             f"{decision.get('appeal_id')}", **common)
            elif outcome == "restore" and certificate.status == "active":
                certificate.lift_conditional_withdrawal(reason=reason, **common)
            elif outcome == "suspend":
                certificate.change_status(
                    status="suspended", reason=reason, until=_day(decision.get("until")),
                    conditions=decision.get("conditions"), voluntary=bool(decision.get("voluntary")),
                    request_id=decision.get("request_id"),
                    max_suspension_months=registry.scheme(certificate.scheme).max_suspension_months, **common)
            elif outcome in OUTCOME_STATUS:
                certificate.change_status(status=OUTCOME_STATUS[outcome], reason=reason, **common)
            elif outcome in REVISIONS:
                valid_until = None
                scheme = registry.scheme(certificate.scheme)
                if outcome == "renew":
                    valid_until = registry_valid_until(certificate.valid_until, effective_from, scheme.validity_months)
                certificate.revise(outcome=outcome, scope=decision.get("scope"), valid_until=valid_until,
                                   products=decision.get("products"),
                                   documents=scheme.current_documents(registry.clock.today()), reason=reason, **common)
            elif outcome == "maintain":
                certificate.maintain(reason=reason, **common)
        except DomainError as refused:
            # The decisions service checks the same rules first; if a decision still cannot be applied,
            # the certificate records why, so nothing accepted is silently dropped.
            certificate.decision_not_applied(
                number=certificate.number,
                decision_id=message.subject, problem=refused.slug, actor="hallmark:registry", reason=refused.detail
            )
        return [certificate]

    return policy


def _appeal_decided(registry: Registry, message: Message) -> list[Any]:
    data = message.data
    if data["outcome"] != "upheld" or not data.get("certificate_number"):
        return []
    certificate = registry.certificate(data["certificate_number"])
    certificate.note_appeal_upheld(
        number=certificate.number, appeal_id=message.subject, decision_id=data["decision_id"], actor=message.actor,
        reason=f"appeal {message.subject} upheld against decision {data['decision_id']}: a corrective decision is due",
    )
    return [certificate]


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def registry_valid_until(current_until: date, effective_from: date, validity_months: int) -> date:
    """A renewal extends validity from the later of the current end and the renewal's effect."""
    return add_months(max(current_until, effective_from), validity_months)
