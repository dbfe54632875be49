"""The certificate state machine (R5), shared by the registry that applies it and by decisions,
which refuses a decision the registry could not apply before recording it."""

from __future__ import annotations

from datetime import date

from shared.domain import add_months
from shared.errors import InvalidCommand, InvalidTransition

STATES = ("active", "suspended", "withdrawn", "expired", "terminated", "superseded")

TRANSITIONS: dict[str, frozenset[str]] = {
    "active": frozenset({"suspended", "withdrawn", "expired", "terminated"}),
    "suspended": frozenset({"active", "withdrawn", "expired", "terminated"}),
    "withdrawn": frozenset(),
    "expired": frozenset(),
    "terminated": frozenset(),
    "superseded": frozenset(),
}

# Decisions that move a certificate to another state.
OUTCOME_STATUS = {"suspend": "suspended", "restore": "active", "withdraw": "withdrawn", "terminate": "terminated"}
# Decisions that issue a new revision, superseding the current one (scope change or renewal), and
# the states they apply to. A suspension ends in restoration, withdrawal or scope reduction (7.11):
# only a reduction revises a suspended certificate; an extension or renewal would lift the
# suspension without a restoration decision.
REVISABLE_FROM: dict[str, frozenset[str]] = {
    "renew": frozenset({"active"}),
    "extend_scope": frozenset({"active"}),
    "reduce_scope": frozenset({"active", "suspended"}),
}
REVISIONS = frozenset(REVISABLE_FROM)
MAINTAINABLE = frozenset({"active"})
# The lower rungs of the sanctions ladder (7.11): a warning and a conditional withdrawal leave the status as
# it is and are recorded on a certificate in force (R40, R41).
NOTICES = frozenset({"warning", "conditional_withdrawal"})
SANCTIONABLE = frozenset({"active", "suspended"})
# A withdrawal is final (R5) but for one corrective decision on an appeal upheld against it (R46).
REINSTATABLE = frozenset({"withdrawn"})


def check_transition(current: str, target: str, number: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"Certificate {number} is {current}; it cannot become {target}")


def check_outcome(outcome: str, current: str, number: str, *, conditionally_withdrawn: bool = False) -> None:
    """Whether a decision ``outcome`` may be applied to a certificate in state ``current``;
    ``conditionally_withdrawn``: a conditional withdrawal is pending on it (R41, R42)."""
    if outcome in NOTICES:
        if current not in SANCTIONABLE:
            raise InvalidTransition(f"Certificate {number} is {current}; a {outcome.replace('_', ' ')} is "
                                    "recorded on an active or suspended certificate (R40, R41)")
        if outcome == "conditional_withdrawal" and conditionally_withdrawn:
            raise InvalidTransition(f"R41: certificate {number} is already conditionally withdrawn; lift that one "
                                    "(restore) or withdraw before another")
    elif outcome == "reinstate":
        if current not in REINSTATABLE:
            raise InvalidTransition(f"Certificate {number} is {current}; only a withdrawn certificate is reinstated "
                                    "(R46), a suspended one is restored")
    elif outcome == "restore" and current == "active" and conditionally_withdrawn:
        return  # R42: a restoration lifts the conditional withdrawal of an active certificate
    elif outcome in OUTCOME_STATUS:
        check_transition(current, OUTCOME_STATUS[outcome], number)
    elif outcome in REVISIONS and current not in REVISABLE_FROM[outcome]:
        allowed = " or ".join(sorted(REVISABLE_FROM[outcome]))
        raise InvalidTransition(f"Certificate {number} is {current}; {outcome} applies to an {allowed} certificate")
    elif outcome == "maintain" and current not in MAINTAINABLE:
        raise InvalidTransition(f"Certificate {number} is {current}; only an active one is maintained")


def suspension_end_limit(effective_from: date, max_suspension_months: int) -> date:
    """The last day a suspension taking effect on ``effective_from`` may be set to end (R44)."""
    return add_months(effective_from, max_suspension_months)


def check_suspension_until(effective_from: date, until: date, max_suspension_months: int) -> None:
    """R44: a suspension's end date is after its effective date and no later than the scheme's maximum."""
    limit = suspension_end_limit(effective_from, max_suspension_months)
    if not effective_from < until <= limit:
        raise InvalidCommand(
            f"R44: a suspension taking effect on {effective_from} ends after that day and no later than {limit} "
            f"(the scheme's maximum of {max_suspension_months} months); 'until' {until} is not",
            until=until.isoformat(), latest=limit.isoformat())
