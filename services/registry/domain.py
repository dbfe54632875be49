"""The mark registry's domain: schemes and certificates. Imports no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.certificate_states import check_outcome, check_suspension_until, check_transition, suspension_end_limit
from shared.domain import add_months, current_documents, natural_id, same_person
from shared.errors import Duplicate, InvalidCommand, InvalidTransition, NotFound, NotPermitted


@dataclass(frozen=True)
class Catalogue:
    """Marks, certification types and document kinds: data, not code."""

    marks: dict[str, str]
    certification_types: dict[str, str]
    document_kinds: list[str]
    # The certification body as its certificates name it; the signatory is a role, never a person (R9).
    body: dict[str, str] = field(default_factory=dict)
    # What each certification type means for its schemes, as data (ADR 0020): the standard, what is certified
    # ('subject': products, an organisation, a person), the audit kinds and initial stages of its evaluation, the
    # audit a grant rests on, a fixed cycle and surveillance frequency, whether its schemes have levels, and for
    # person certification its examination. The domain reads these; no scheme's name appears in the code.
    scheme_types: dict[str, dict[str, Any]] = field(default_factory=dict)

    def scheme_type(self, certification_type: str) -> dict[str, Any]:
        """The rules of a certification type ({} for a type the catalogue gives none)."""
        return dict(self.scheme_types.get(certification_type, {}))

    def check(self, mark: str, certification_type: str) -> None:
        if mark not in self.marks:
            raise InvalidCommand(f"Unknown mark {mark!r}; the catalogue has {', '.join(sorted(self.marks))}")
        if certification_type not in self.certification_types:
            raise InvalidCommand(
                f"Unknown certification type {certification_type!r}; "
                f"the catalogue has {', '.join(sorted(self.certification_types))}"
            )


# R53: the document kinds a sectoral commission writes; a new version of one is published on its decision.
COMMISSION_KINDS = frozenset({"TRA", "PTV"})


class Commission(Aggregate):
    """A sectoral commission (R53): writes the TRA/PTV of the schemes it is responsible for, named one by one or
    as a sector (every scheme of the marks it lists)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return natural_id("commission", code.upper())

    @event("Registered")
    def __init__(self, *, code: str, name: str, schemes: list[str], marks: list[str], actor: str, reason: str) -> None:
        """R53: a commission is responsible for at least one scheme or sector."""
        if not schemes and not marks:
            raise InvalidCommand("R53: a sectoral commission is responsible for schemes ('schemes') or a sector, "
                                 "the schemes of a mark ('marks'); give at least one")
        self.code = code.upper()
        self.name = name
        self.schemes = sorted({c.upper() for c in schemes})
        self.marks = sorted(set(marks))

    def responsible_for(self, scheme: "Scheme") -> bool:
        return scheme.code in self.schemes or scheme.mark in self.marks


class Scheme(Aggregate):
    """A certification scheme of a mark, owned by its sectoral commission, with versioned documents."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return natural_id("scheme", code.upper())

    @event("Registered")
    def __init__(  # not keyword-only: eventsourcing would require the defaulted fields added later (R48, R49)
        self,
        code: str,
        mark: str,
        title: str,
        certification_type: str,
        documents: list[dict[str, Any]],
        validity_months: int,
        surveillance_months: int,
        admission_months: int,
        max_suspension_months: int,
        actor: str,
        reason: str,
        admission_surveillance_months: int = 0,
        renewal_window_months: int = 0,
        sampling_months: int = 0,
        scheme_type: dict[str, Any] | None = None,
        levels: list[int] | None = None,
    ) -> None:
        """R48: an admission surveillance frequency is shorter than the admission period it runs in (0: none,
        the admission period is closed by one surveillance); a renewal window (R49's programme) fits the
        validity. Schemes registered before these fields have none. R60: the scheme keeps to its certification
        type's cycle, surveillance frequency and levels (``scheme_type``: the catalogue's rules for the type when
        it was registered; None before types had rules)."""
        check_programme(admission_months=admission_months, admission_surveillance_months=admission_surveillance_months,
                        validity_months=validity_months, renewal_window_months=renewal_window_months)
        check_scheme_type(scheme_type or {}, certification_type=certification_type, validity_months=validity_months,
                          surveillance_months=surveillance_months, levels=levels)
        self.code = code.upper()
        self.mark = mark
        self.title = title
        self.certification_type = certification_type
        self.documents = list(documents)
        self.validity_months = validity_months
        self.surveillance_months = surveillance_months
        self.admission_months = admission_months
        self.max_suspension_months = max_suspension_months
        self.admission_surveillance_months = admission_surveillance_months
        self.renewal_window_months = renewal_window_months
        self.sampling_months = sampling_months
        self.scheme_type = dict(scheme_type or {})
        self.levels = list(levels or [])  # R60: e.g. the rungs of a ladder, lowest first
        # R53: the commission decisions the scheme's later document versions were published on.
        self.commission_decisions: list[dict[str, Any]] = []

    def publish_document(
        self, *, kind: str, ref: str, version: str, effective_from: date, transition_deadline: date | None,
        actor: str, reason: str, commission: Commission | None = None,
        commission_decision: dict[str, Any] | None = None, today: date | None = None,
    ) -> None:
        """R53: a new TRA/PTV version is published on the decision (commission, reference, date) of a sectoral
        commission responsible for the scheme, taken no later than today; other kinds may cite one."""
        if kind in COMMISSION_KINDS and not commission_decision:
            raise InvalidCommand(f"R53: a new {kind} version is published on the decision of the sectoral commission "
                                 "responsible for the scheme; give 'commission_decision' (commission, reference, date)",
                                 field="commission_decision")
        if commission_decision:
            if commission is None:
                raise NotFound(f"R53: no sectoral commission {commission_decision['commission']} is registered")
            if not commission.responsible_for(self):
                raise NotPermitted(f"R53: sectoral commission {commission.code} is not responsible for scheme "
                                   f"{self.code}; its decision does not publish the scheme's documents")
            if today is not None and commission_decision["date"] > today:
                raise InvalidCommand(f"R53: the commission's decision date {commission_decision['date']} is after "
                                     f"today, {today}", field="commission_decision")
        if any(d["kind"] == kind and d["ref"] == ref and d["version"] == version for d in self.documents):
            raise Duplicate(f"{kind} {ref} version {version} is already published for scheme {self.code}")
        if transition_deadline is not None and transition_deadline < effective_from:
            raise InvalidCommand("transition_deadline must not be before effective_from")
        self._document_published(
            code=self.code,
            document={
                "kind": kind,
                "ref": ref,
                "version": version,
                "effective_from": effective_from.isoformat(),
                "transition_deadline": transition_deadline.isoformat() if transition_deadline else None,
            },
            actor=actor,
            reason=reason,
            commission_decision={"commission": commission.code, "reference": commission_decision["reference"],
                                 "date": commission_decision["date"].isoformat()}
            if commission_decision and commission else None,
        )

    @event("DocumentVersionPublished")
    def _document_published(self, code: str, document: dict[str, Any], actor: str, reason: str,
                            commission_decision: dict[str, str] | None = None) -> None:
        self.documents.append(document)
        if commission_decision:
            self.commission_decisions = [*self.commission_decisions, {
                **{k: document[k] for k in ("kind", "ref", "version")}, **commission_decision}]

    def current_documents(self, today: date) -> list[dict[str, Any]]:
        return current_documents(self.documents, today)


def check_programme(
    *, admission_months: int, admission_surveillance_months: int, validity_months: int, renewal_window_months: int,
) -> None:
    """R48: the admission frequency runs inside the admission period; the renewal window inside the validity."""
    if admission_surveillance_months and not 0 < admission_surveillance_months <= admission_months:
        raise InvalidCommand(
            f"R48: an admission surveillance every {admission_surveillance_months} months runs inside the admission "
            f"period of {admission_months} months; give an admission period at least that long, or 0 for none",
            field="admission_surveillance_months")
    if renewal_window_months >= validity_months:
        raise InvalidCommand(
            f"R49: the renewal window of {renewal_window_months} months falls within the validity of "
            f"{validity_months} months", field="renewal_window_months")


def check_scheme_type(
    scheme_type: dict[str, Any], *, certification_type: str, validity_months: int, surveillance_months: int,
    levels: list[int] | None,
) -> None:
    """R60: a scheme of a type with a fixed cycle (ISO/IEC 17021-1: three years) is valid for exactly that cycle and
    surveilled at least as often as the type says (annually); a scheme of a levelled type states its levels
    (distinct positive whole numbers, lowest first); a scheme of another type states none."""
    cycle = scheme_type.get("cycle_months")
    if cycle and validity_months != cycle:
        raise InvalidCommand(
            f"R60: a {certification_type} scheme is certified for a cycle of {cycle} months; validity_months is "
            f"{validity_months}", field="validity_months")
    most = scheme_type.get("surveillance_months")
    if most and surveillance_months > most:
        raise InvalidCommand(
            f"R60: a {certification_type} scheme is surveilled at least every {most} months; surveillance_months is "
            f"{surveillance_months}", field="surveillance_months")
    if scheme_type.get("levelled"):
        if not levels or len(set(levels)) != len(levels) or list(levels) != sorted(levels) or min(levels) < 1:
            raise InvalidCommand(
                f"R60: a {certification_type} scheme states its levels ('levels': distinct positive whole numbers, "
                "lowest first, e.g. [1, 2, 3, 4, 5])", field="levels")
    elif levels:
        raise InvalidCommand(f"R60: a {certification_type} scheme has no levels; give none", field="levels")


def next_surveillance(
    after: date, *, admission_until: date | None, admission_surveillance_months: int, surveillance_months: int,
) -> date:
    """R48: the next surveillance after ``after``: at the admission frequency while the admission period runs
    (never past its end), then at the regular frequency."""
    if admission_until is not None and admission_surveillance_months and after < admission_until:
        return min(add_months(after, admission_surveillance_months), admission_until)
    return add_months(after, surveillance_months)


def _revision_record(
    *, revision: int, on: date, valid_until: date, scope: str, products: list[dict[str, Any]],
    documents: list[dict[str, Any]], decision_id: str,
) -> dict[str, Any]:
    """One revision as its document prints it: validity, scope, products and the scheme's documents."""
    return {
        "revision": revision,
        "on": on,
        "valid_from": on,
        "valid_until": valid_until,
        "scope": scope,
        "products": [{k: p.get(k, "") for k in ("name", "type", "description")} for p in products],
        "documents": [{k: d.get(k) for k in ("kind", "ref", "version")} for d in documents],
        "decision_id": decision_id,
    }


def _registration(number: str) -> str:
    """A registration number compared as written on documents: no case, spaces or dots (BE 0123.456.789)."""
    return "".join(ch for ch in number.upper() if ch not in " .")


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def quick_code_for(serial: int) -> str:
    """Eight digits: seven from a registry-wide serial, one Luhn check digit that catches typos."""
    base = f"{1_000_000 + serial:07d}"
    if len(base) != 7:
        raise InvalidCommand("quick codes are exhausted")
    return base + luhn_check_digit(base)


def is_valid_quick_code(code: str) -> bool:
    return len(code) == 8 and code.isdigit() and luhn_check_digit(code[:7]) == code[7]


class Numbering(Aggregate):
    """Allocates certificate numbers per mark and registry-wide quick codes (R7)."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return natural_id("numbering", "registry")

    @event("Opened")
    def __init__(self) -> None:
        self.serials: dict[str, int] = {}
        self.quick_serial = 0

    def allocate(self, mark: str, decision_id: str, actor: str = "hallmark:registry") -> tuple[str, str]:
        serial = self.serials.get(mark, 0) + 1
        self._allocated(mark=mark, serial=serial, quick_serial=self.quick_serial + 1, decision_id=decision_id,
                        actor=actor, reason=f"number allocated for decision {decision_id}")
        return f"{mark}-{serial:05d}", quick_code_for(self.quick_serial)

    @event("Allocated")
    def _allocated(
        self, mark: str, serial: int, quick_serial: int, decision_id: str, actor: str, reason: str
    ) -> None:
        self.serials[mark] = serial
        self.quick_serial = quick_serial


class Certificate(Aggregate):
    """A certificate and licence to use the mark; one number, successive revisions."""

    @staticmethod
    def create_id(number: str, **_: Any) -> UUID:
        return natural_id("certificate", number)

    @event("Issued")
    def __init__(  # not keyword-only: eventsourcing would require the defaulted fields added later (R48)
        self,
        number: str,
        quick_code: str,
        application_id: str,
        decision_id: str,
        holder: dict[str, Any],
        production_unit: dict[str, Any],
        products: list[dict[str, Any]],
        scope: str,
        scheme: str,
        mark: str,
        documents: list[dict[str, Any]],
        valid_from: date,
        valid_until: date,
        surveillance_months: int,
        surveillance_due: date,
        actor: str,
        reason: str,
        admission_until: date | None = None,
        admission_surveillance_months: int = 0,
        person: str | None = None,
        level: int | None = None,
    ) -> None:
        self.number = number
        self.quick_code = quick_code
        # R64: the level a system certificate certifies (e.g. a CO2 Performance Ladder rung), as granted; None else.
        self.level = level
        # R69: the person a person certificate is issued to (ISO/IEC 17024): sealed in the store, never public.
        self.person = person
        self.application_id = application_id
        self.holder = holder
        self.production_unit = production_unit
        self.products = products
        self.scope = scope
        self.scheme = scheme
        self.mark = mark
        self.documents = documents
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.revision = 1
        self.status = "active"
        self.status_since = valid_from
        self.withdrawal_proposed = False
        self.surveillance_months = surveillance_months
        self.surveillance_due = surveillance_due
        # R48: the admission period's end and its own surveillance frequency (0: the regular one throughout).
        self.admission_until = admission_until
        self.admission_surveillance_months = admission_surveillance_months
        # R50: the TRA/PTV versions whose transition deadline passed while the certificate stayed on an older one.
        self.transitions_overdue: list[dict[str, Any]] = []
        self.suspension_proposed = False
        self.appeal_upheld: dict[str, str] | None = None
        # The sanctions ladder (7.11): warnings given, a conditional withdrawal pending, the suspension in force.
        self.warnings: list[dict[str, Any]] = []
        self.conditional_withdrawal: dict[str, Any] | None = None
        self.suspension: dict[str, Any] | None = None
        # What each revision certified, as its certificate document prints it (7.7; R38).
        self.revisions: list[dict[str, Any]] = [_revision_record(
            revision=1, on=valid_from, valid_until=valid_until, scope=scope, products=products, documents=documents,
            decision_id=decision_id)]

    def change_status(
        self, *, status: str, decision_id: str, effective_from: date, actor: str, reason: str,
        until: date | None = None, conditions: str | None = None, voluntary: bool = False,
        request_id: str | None = None, max_suspension_months: int | None = None,
    ) -> None:
        """A decision moves the certificate along R5. A suspension may carry its conditions and its end date
        (R44: no later than the scheme's maximum), and whether the holder asked for it (R45)."""
        check_transition(self.status, status, self.number)
        if status != "suspended" and (until or conditions or voluntary or request_id):
            raise InvalidCommand("Only a suspension carries an end date, conditions or a holder's request")
        if until is not None and max_suspension_months is not None:
            check_suspension_until(effective_from, until, max_suspension_months)
        terms = {"until": until, "conditions": conditions, "voluntary": voluntary, "request_id": request_id} \
            if status == "suspended" else {}
        self._status_changed(
            number=self.number, status=status, previous=self.status, decision_id=decision_id, effective_from=effective_from,
            actor=actor, reason=reason, **terms,
        )

    def reinstate(self, *, decision_id: str, appeal_id: str, effective_from: date, actor: str, reason: str) -> None:
        """R46: a withdrawn certificate becomes active again by the corrective decision on an appeal upheld
        against its withdrawal; the status change names the appeal, so the trail links the two."""
        check_outcome("reinstate", self.status, self.number)
        if not self.appeal_upheld or self.appeal_upheld["appeal_id"] != appeal_id:
            raise InvalidCommand(f"R46: no appeal {appeal_id} was upheld against the withdrawal of certificate "
                                 f"{self.number}")
        self._status_changed(
            number=self.number, status="active", previous=self.status, decision_id=decision_id,
            effective_from=effective_from, actor=actor, reason=reason, appeal_id=appeal_id,
        )

    @event("StatusChanged")
    def _status_changed(
        self, number: str, status: str, previous: str, decision_id: str, effective_from: date, actor: str, reason: str,
        until: date | None = None, conditions: str | None = None, voluntary: bool = False,
        request_id: str | None = None, appeal_id: str | None = None,
    ) -> None:
        self.status = status
        self.status_since = effective_from
        self.withdrawal_proposed = False
        self.suspension_proposed = False
        self.appeal_upheld = None
        self.suspension = {"decision_id": decision_id, "since": effective_from, "until": until,
                           "conditions": conditions, "voluntary": voluntary, "request_id": request_id} \
            if status == "suspended" else None
        if status != "suspended":  # restored, reinstated, withdrawn or ended: nothing conditional remains
            self.conditional_withdrawal = None

    def revise(
        self, *, outcome: str, decision_id: str, effective_from: date, scope: str | None, valid_until: date | None,
        actor: str, reason: str, documents: list[dict[str, Any]] | None = None,
        products: list[dict[str, Any]] | None = None,
    ) -> None:
        """A scope change or renewal: the current revision is superseded by the next, which is active and
        refers to the scheme's documents in force (ending any transition to a new TRA/PTV version)."""
        check_outcome(outcome, self.status, self.number)
        self._revised(
            documents=documents if documents is not None else self.documents,
            number=self.number,
            revision=self.revision + 1,
            superseded_revision=self.revision,
            decision_id=decision_id,
            effective_from=effective_from,
            scope=scope if scope is not None else self.scope,
            valid_until=valid_until or self.valid_until,
            products=products,
            surveillance_due=add_months(effective_from, self.surveillance_months) if valid_until else self.surveillance_due,
            actor=actor,
            reason=reason,
        )

    @event("Revised")
    def _revised(
        self, number: str, revision: int, superseded_revision: int, decision_id: str, effective_from: date, scope: str,
        valid_until: date, surveillance_due: date, documents: list[dict[str, Any]], actor: str, reason: str,
        products: list[dict[str, Any]] | None = None,
    ) -> None:
        self.documents = documents
        held = {(d["kind"], d["ref"], d["version"]) for d in documents}
        self.transitions_overdue = [t for t in self.transitions_overdue
                                    if (t["kind"], t["ref"], t["version"]) not in held]
        if products is not None:
            self.products = products
        self.appeal_upheld = None
        self.surveillance_due = surveillance_due
        self.suspension_proposed = False
        self.revision = revision
        self.scope = scope
        self.valid_until = valid_until
        self.status = "active"
        self.status_since = effective_from
        self.withdrawal_proposed = False
        self.suspension = None  # a reduction of scope ends a suspension (7.11)
        self.revisions = [*self.revisions, _revision_record(
            revision=revision, on=effective_from, valid_until=valid_until, scope=scope, products=self.products,
            documents=documents, decision_id=decision_id)]

    def maintain(self, *, decision_id: str, effective_from: date, actor: str, reason: str) -> None:
        """Maintained after a surveillance: the next one is due at the admission frequency while the admission
        period runs, then at the regular frequency (R48)."""
        check_outcome("maintain", self.status, self.number)
        self._maintained(
            number=self.number, decision_id=decision_id, effective_from=effective_from,
            surveillance_due=next_surveillance(
                effective_from, admission_until=self.admission_until,
                admission_surveillance_months=self.admission_surveillance_months,
                surveillance_months=self.surveillance_months),
            actor=actor, reason=reason,
        )

    @event("Maintained")
    def _maintained(
        self, number: str, decision_id: str, effective_from: date, surveillance_due: date, actor: str, reason: str
    ) -> None:
        """Certification maintained after surveillance (7.9): the next surveillance is due later."""
        self.surveillance_due = surveillance_due
        self.suspension_proposed = False

    def flag_surveillance_overdue(self, *, today: date, actor: str) -> bool:
        """7.9: overdue surveillance is visible and leads to a suspension proposal, once per due date."""
        if self.status != "active" or self.suspension_proposed or today <= self.surveillance_due:
            return False
        self._surveillance_overdue(
            number=self.number, due=self.surveillance_due, actor=actor,
            reason=f"surveillance was due on {self.surveillance_due}; a suspension decision is proposed",
        )
        return True

    @event("SurveillanceOverdue")
    def _surveillance_overdue(self, number: str, due: date, actor: str, reason: str) -> None:
        self.suspension_proposed = True

    def flag_transitions_overdue(self, *, today: date, scheme_documents: list[dict[str, Any]], actor: str) -> bool:
        """R50: a TRA/PTV version whose transition deadline passed while this active or suspended certificate
        still refers to an older version of that document is flagged, once per version: the certificate leads
        to a suspension decision unless a revision moves it to the new version."""
        if self.status not in ("active", "suspended"):
            return False
        held = {(d["kind"], d["ref"]): d["version"] for d in self.documents}
        flagged = {(t["kind"], t["ref"], t["version"]) for t in self.transitions_overdue}
        missed = [d for d in scheme_documents
                  if d.get("transition_deadline") and date.fromisoformat(d["transition_deadline"]) < today
                  and (d["kind"], d["ref"]) in held and held[(d["kind"], d["ref"])] != d["version"]
                  and (d["kind"], d["ref"], d["version"]) not in flagged]
        for d in missed:
            self._transition_overdue(
                number=self.number, kind=d["kind"], ref=d["ref"], version=d["version"],
                from_version=held[(d["kind"], d["ref"])], deadline=date.fromisoformat(d["transition_deadline"]),
                actor=actor,
                reason=f"the transition to {d['kind']} {d['ref']} version {d['version']} was due by "
                       f"{d['transition_deadline']} and the certificate still refers to version "
                       f"{held[(d['kind'], d['ref'])]}; a suspension decision is proposed (R50)")
        return bool(missed)

    @event("TransitionOverdue")
    def _transition_overdue(self, number: str, kind: str, ref: str, version: str, from_version: str, deadline: date,
                            actor: str, reason: str) -> None:
        self.transitions_overdue = [*self.transitions_overdue, {"kind": kind, "ref": ref, "version": version,
                                                                "from_version": from_version, "deadline": deadline}]

    def suspension_limit(self, max_suspension_months: int) -> date:
        """The last day of the suspension in force: its end date if the decision set one (R44), otherwise the
        scheme's maximum (R6)."""
        limit = suspension_end_limit(self.status_since, max_suspension_months)
        until = (self.suspension or {}).get("until")
        return min(until, limit) if until else limit

    def suspension_overdue(self, today: date, max_suspension_months: int) -> bool:
        return self.status == "suspended" and today > self.suspension_limit(max_suspension_months)

    def flag_suspension_overdue(self, *, today: date, max_suspension_months: int, actor: str) -> bool:
        """R6: a suspension beyond the scheme's maximum, or past the end date its decision set (R44), is
        flagged for a decision (withdrawal, or restoration on a verification), once."""
        if self.withdrawal_proposed or not self.suspension_overdue(today, max_suspension_months):
            return False
        limit = self.suspension_limit(max_suspension_months)
        ended = (self.suspension or {}).get("until") == limit
        self._suspension_limit_exceeded(
            number=self.number,
            suspended_since=self.status_since,
            limit=limit,
            actor=actor,
            reason=(f"the suspension ended on {limit} (R44) and the certificate is still suspended; a restoration "
                    "or a withdrawal decision is due") if ended else
            f"suspended longer than the scheme's maximum of {max_suspension_months} months; "
            "a withdrawal decision is due",
        )
        return True

    @event("SuspensionLimitExceeded")
    def _suspension_limit_exceeded(self, number: str, suspended_since: date, limit: date, actor: str, reason: str) -> None:
        self.withdrawal_proposed = True

    # -- the sanctions ladder below suspension (7.11) -------------------------------------------------

    def warn(self, *, decision_id: str, effective_from: date, actor: str, reason: str) -> None:
        """R40: a warning is recorded on an active or suspended certificate, which keeps its status."""
        check_outcome("warning", self.status, self.number)
        self._warned(number=self.number, decision_id=decision_id, effective_from=effective_from, actor=actor,
                     reason=reason)

    @event("Warned")
    def _warned(self, number: str, decision_id: str, effective_from: date, actor: str, reason: str) -> None:
        self.warnings = [*self.warnings, {"decision_id": decision_id, "on": effective_from, "rationale": reason}]

    def withdraw_conditionally(
        self, *, decision_id: str, effective_from: date, deadline: date | None, conditions: str, actor: str,
        reason: str,
    ) -> None:
        """R41: the certificate will be withdrawn unless its conditions are met by the deadline; it keeps its
        status meanwhile."""
        check_outcome("conditional_withdrawal", self.status, self.number,
                      conditionally_withdrawn=self.conditional_withdrawal is not None)
        if deadline is None or deadline <= effective_from or not conditions.strip():
            raise InvalidCommand(f"R41: a conditional withdrawal states its conditions and a deadline after its "
                                 f"effective date {effective_from}")
        self._conditionally_withdrawn(number=self.number, decision_id=decision_id, effective_from=effective_from,
                                      deadline=deadline, conditions=conditions, actor=actor, reason=reason)

    @event("ConditionallyWithdrawn")
    def _conditionally_withdrawn(
        self, number: str, decision_id: str, effective_from: date, deadline: date, conditions: str, actor: str,
        reason: str,
    ) -> None:
        self.conditional_withdrawal = {"decision_id": decision_id, "since": effective_from, "deadline": deadline,
                                       "conditions": conditions, "overdue": False}

    def lift_conditional_withdrawal(self, *, decision_id: str, effective_from: date, actor: str, reason: str) -> None:
        """R42: a restoration lifts the conditional withdrawal of an active certificate."""
        if self.conditional_withdrawal is None:
            raise InvalidTransition(f"Certificate {self.number} is {self.status} and not conditionally withdrawn; "
                                    "there is nothing to restore")
        self._conditional_withdrawal_lifted(
            number=self.number, decision_id=decision_id, lifted_decision_id=self.conditional_withdrawal["decision_id"],
            effective_from=effective_from, actor=actor, reason=reason)

    @event("ConditionalWithdrawalLifted")
    def _conditional_withdrawal_lifted(
        self, number: str, decision_id: str, lifted_decision_id: str, effective_from: date, actor: str, reason: str,
    ) -> None:
        self.conditional_withdrawal = None

    def flag_conditional_withdrawal_overdue(self, *, today: date, actor: str) -> bool:
        """R43: a conditional withdrawal whose deadline passed without a restoration or a withdrawal is flagged
        for a withdrawal decision, once."""
        pending = self.conditional_withdrawal
        if pending is None or pending["overdue"] or self.status not in ("active", "suspended") \
                or today <= pending["deadline"]:
            return False
        self._conditional_withdrawal_overdue(
            number=self.number, decision_id=pending["decision_id"], deadline=pending["deadline"], actor=actor,
            reason=f"the conditions of conditional withdrawal {pending['decision_id']} were due by "
                   f"{pending['deadline']} and no restoration lifted it; a withdrawal decision is due (R43)")
        return True

    @event("ConditionalWithdrawalOverdue")
    def _conditional_withdrawal_overdue(self, number: str, decision_id: str, deadline: date, actor: str,
                                        reason: str) -> None:
        self.conditional_withdrawal = {**(self.conditional_withdrawal or {}), "overdue": True}

    def expire(self, *, today: date, actor: str) -> bool:
        if self.status not in ("active", "suspended") or today <= self.valid_until:
            return False
        self._status_changed(
            number=self.number, status="expired", previous=self.status, decision_id="",
            effective_from=self.valid_until + timedelta(days=1),  # valid_until is the last valid day
            actor=actor, reason="validity ended",
        )
        return True

    # -- the surveillance programme (7.9) -------------------------------------------------------------

    def programme(self, *, renewal_window_months: int, sampling_months: int, today: date) -> dict[str, Any]:
        """R49: the surveillance audits planned over the current validity (at the admission frequency while the
        admission period runs, then at the regular one; R48), the next one due, the renewal window before
        expiry and how often samples are taken."""
        planned: list[dict[str, Any]] = []
        start = self.revisions[0]["on"]
        day = start
        while True:
            day = next_surveillance(day, admission_until=self.admission_until,
                                    admission_surveillance_months=self.admission_surveillance_months,
                                    surveillance_months=self.surveillance_months)
            if day >= self.valid_until or len(planned) >= 240:
                break
            admission = self.admission_until is not None and day <= self.admission_until
            planned.append({"kind": "surveillance", "due": day, "period": "admission" if admission else "regular"})
        window = {"opens": add_months(self.valid_until, -renewal_window_months), "closes": self.valid_until} \
            if renewal_window_months else None
        return {
            "number": self.number,
            "scheme": self.scheme,
            "level": getattr(self, "level", None),  # R64
            "status": self.status,
            "valid_from": start,
            "valid_until": self.valid_until,
            "admission": {"until": self.admission_until,
                          "surveillance_months": self.admission_surveillance_months or None}
            if self.admission_until else None,
            "surveillance_months": self.surveillance_months,
            "surveillance_due": self.surveillance_due,
            "planned_surveillance": planned,
            "renewal": {"audit_kind": "renewal", "window": window},
            "sampling_months": sampling_months or None,
            "transitions_overdue": self.transitions_overdue,
            "on": today,
        }

    # -- the certificate document (ISO/IEC 17065 7.7) -----------------------------------------------

    def check_reader(self, *, staff: bool, organisation: str | None, reader: str | None = None) -> None:
        """The certificate's documents are read by the body's staff and by the holder's own staff: an
        applicant acting for the organisation whose registration number the certificate names; a person
        certificate's, by the person it was issued to (R69)."""
        if staff or (organisation is not None and self.holder.get("registration_number")
                     and _registration(organisation) == _registration(self.holder["registration_number"])):
            return
        if self.person is not None and reader is not None and same_person(reader, self.person):
            return
        raise NotPermitted(f"Only the body's staff and the holder's staff read the documents of certificate "
                           f"{self.number}; you act for {organisation or 'no organisation'}")

    def document(self, *, revision: int | None, today: date) -> dict[str, Any]:
        """What the certificate document of a revision carries, and the certificate's status on ``today``.

        R38: a document is printed for a revision the certificate has had (1 to the current one; by
        default the current one); any other revision is refused (404 not-found).
        R39: the document states the status on the day it is printed: an earlier revision is superseded
        (by which revision, since when); a suspended, withdrawn, expired or terminated certificate's is
        not valid, with the date; only the current revision of an active certificate within its
        validity reads valid. A certificate past its last valid day reads expired even before the
        registry's sweep records it."""
        wanted = self.revision if revision is None else revision
        if not 1 <= wanted <= self.revision:
            raise NotFound(f"Certificate {self.number} has no revision {wanted}: R38, its revisions are 1 to "
                           f"{self.revision}")
        record = self.revisions[wanted - 1]
        if wanted < self.revision:
            state, since = "superseded", self.revisions[wanted]["on"]
        elif self.status in ("active", "suspended") and today > self.valid_until:
            state, since = "expired", self.valid_until + timedelta(days=1)  # valid_until is the last valid day
        else:
            state, since = self.status, self.status_since
        in_force = state == "active" and record["valid_from"] <= today <= record["valid_until"]
        return {
            "number": self.number,
            "quick_code": self.quick_code,
            "mark": self.mark,
            "scheme": self.scheme,
            "holder": {k: self.holder.get(k, "") for k in ("name", "registration_number", "address")},
            "person": self.person,  # R69: the certified person, printed on a person certificate's document
            "production_unit": {k: self.production_unit.get(k, "") for k in ("name", "address")},
            **record,
            "level": getattr(self, "level", None),  # R64
            "first_issued_on": self.revisions[0]["on"],
            "current_revision": self.revision,
            "status": {
                "state": state,
                "since": since,
                "valid": in_force,
                "on": today,
                "superseded_by": wanted + 1 if state == "superseded" else None,
                "certificate_status": self.status,
            },
        }

    @event("AppealUpheld")
    def note_appeal_upheld(self, number: str, appeal_id: str, decision_id: str, actor: str, reason: str) -> None:
        """An appeal against a decision on this certificate was upheld: a corrective decision is due."""
        self.appeal_upheld = {"appeal_id": appeal_id, "decision_id": decision_id}

    @event("DecisionNotApplied")
    def decision_not_applied(self, number: str, decision_id: str, problem: str, actor: str, reason: str) -> None:
        """A decision that reached the registry but could not change the certificate (kept, not lost)."""
