"""The certificate state machine (R5), shared by the registry that applies it and by decisions,
which refuses a decision the registry could not apply before recording it."""

from __future__ import annotations

from shared.errors import InvalidTransition

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


def check_transition(current: str, target: str, number: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"Certificate {number} is {current}; it cannot become {target}")


def check_outcome(outcome: str, current: str, number: str) -> None:
    """Whether a decision ``outcome`` may be applied to a certificate in state ``current``."""
    if outcome in OUTCOME_STATUS:
        check_transition(current, OUTCOME_STATUS[outcome], number)
    elif outcome in REVISIONS and current not in REVISABLE_FROM[outcome]:
        allowed = " or ".join(sorted(REVISABLE_FROM[outcome]))
        raise InvalidTransition(f"Certificate {number} is {current}; {outcome} applies to an {allowed} certificate")
    elif outcome == "maintain" and current not in MAINTAINABLE:
        raise InvalidTransition(f"Certificate {number} is {current}; only an active one is maintained")
