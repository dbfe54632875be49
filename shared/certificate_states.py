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
# Decisions that issue a new revision, superseding the current one (scope change or renewal).
REVISIONS = frozenset({"renew", "extend_scope", "reduce_scope"})
REVISABLE = frozenset({"active", "suspended"})
MAINTAINABLE = frozenset({"active"})


def check_transition(current: str, target: str, number: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"Certificate {number} is {current}; it cannot become {target}")


def check_outcome(outcome: str, current: str, number: str) -> None:
    """Whether a decision ``outcome`` may be applied to a certificate in state ``current``."""
    if outcome in OUTCOME_STATUS:
        check_transition(current, OUTCOME_STATUS[outcome], number)
    elif outcome in REVISIONS and current not in REVISABLE:
        raise InvalidTransition(f"Certificate {number} is {current}; only an active or suspended one is revised")
    elif outcome == "maintain" and current not in MAINTAINABLE:
        raise InvalidTransition(f"Certificate {number} is {current}; only an active one is maintained")
