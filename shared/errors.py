"""Domain errors. Each carries a stable slug that becomes the RFC 9457 problem ``type``.

The domain raises these; only the HTTP layer turns them into responses, so a rule is enforced
the same way whether a command arrives by HTTP, by a policy reacting to another service's event,
or from a test.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused. Nothing was recorded."""

    slug = "refused"
    title = "Command refused"
    status = 409
    retry_after: int | None = None

    def __init__(self, detail: str, **extensions: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class SeparationOfDuties(DomainError):
    """R1 and R8: whoever reviews or decides took no part in the evaluation or contested decision."""

    slug = "separation-of-duties"
    title = "Separation of duties"


class ConflictOfInterest(DomainError):
    """R2: nobody who advised or was employed by the client in the last two years takes part."""

    slug = "conflict-of-interest"
    title = "Conflict of interest"


class EffectiveDateBeforeDecision(DomainError):
    """R3: an effective date is never before the decision date."""

    slug = "effective-date"
    title = "Effective date before decision date"


class OpenMajorNonconformity(DomainError):
    """R4: no grant, renewal or restoration while a major nonconformity is open."""

    slug = "open-major-nonconformity"
    title = "Open major nonconformity"


class OpenNonconformity(DomainError):
    """R52: no maintenance or renewal on audits with a nonconformity still open, a minor one included."""

    slug = "open-nonconformity"
    title = "Open nonconformity"


class AgreementMissing(DomainError):
    """R28: no grant until the holder has accepted the certification agreement (ISO/IEC 17065 4.1.2, 7.2)."""

    slug = "agreement-missing"
    title = "Certification agreement not accepted"


class InvalidTransition(DomainError):
    """R5 and the other state machines: the record is not in a state that allows this."""

    slug = "invalid-transition"
    title = "Invalid state transition"


class Duplicate(DomainError):
    """R7 and natural keys: the thing already exists."""

    slug = "duplicate"
    title = "Already exists"


class NotYetKnown(DomainError):
    """This service has not yet received, from another service's events, a fact the command needs."""

    slug = "not-yet-known"
    title = "Not yet known to this service"
    retry_after = 1


class NotFound(DomainError):
    slug = "not-found"
    title = "Not found"
    status = 404


class NotPermitted(DomainError):
    """The actor has the right role but not the right relation to the record (e.g. not on the team)."""

    slug = "forbidden"
    title = "Not permitted"
    status = 403


class InvalidCommand(DomainError):
    """The command is well-formed JSON but makes no sense in the domain (e.g. a grant without basis)."""

    slug = "invalid-command"
    title = "Invalid command"
    status = 422


class KnowledgeStale(DomainError):
    """The service cannot bring its knowledge of another service up to date, so it will not judge
    a command on facts that may be stale."""

    slug = "knowledge-stale"
    title = "Knowledge of another service is not current"
    status = 503
    retry_after = 5


class ConcurrentModification(DomainError):
    """Optimistic concurrency kept failing; the caller may retry."""

    slug = "concurrent-modification"
    title = "Concurrent modification"
    retry_after = 1
