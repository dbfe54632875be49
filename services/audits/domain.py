"""The audits domain (ISO/IEC 17020 and 17065 7.4). Imports no I/O.

Besides the team, findings and report: samples and their laboratory results (R30-R33), the holder's
corrective actions and their review (R34-R36), and the holder's comments on the inspection report
within five working days (R37). The holder's staff read their file's audits (R18, applied here).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.calendar import add_working_days
from shared.domain import advisers_within_cooling_off, check_staff_register, natural_id, same_person
from shared.errors import (
    ConflictOfInterest,
    Duplicate,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    NotPermitted,
    OpenMajorNonconformity,
)

SEVERITIES = ("major", "minor", "observation")
CONFORMITY = ("conforming", "nonconforming")
# ISO/IEC 17020 7.4 as the schemes apply it: the holder has five working days to comment on a report.
COMMENT_WORKING_DAYS = 5


# Person certification (ISO/IEC 17024; R66, R67): a person file is evaluated by examination, whose examiner
# leads it; the parts and pass marks come from the scheme's type (catalogue data), learnt with the file.
EXAMINATION = "examination"
PERSON_FILE_KINDS = frozenset({EXAMINATION, "special"})
EXAMINATION_ROLES = frozenset({"examiner", "technical_expert"})
LEAD_ROLES = frozenset({"lead_auditor", "examiner"})


def check_kind(kind: str, examination: dict[str, Any] | None) -> None:
    """R66: an examination is planned only for a person file (one whose scheme prescribes an examination), and a
    person file is evaluated by examination (or visited by a special audit), not by a product audit."""
    if kind == EXAMINATION and examination is None:
        raise InvalidCommand("R66: an examination evaluates a candidate for person certification; this file's "
                             "scheme certifies no persons", field="kind")
    if examination is not None and kind not in PERSON_FILE_KINDS:
        raise InvalidCommand(f"R66: a person file is evaluated by examination; plan an 'examination', not "
                             f"'{kind}'", field="kind")


# System certification (ISO/IEC 17021-1; R62, R63): the audit kinds, initial stages and the audit whose report states
# the level assessed come from the scheme's type (the catalogue's scheme_types, learnt with the scheme).
def check_stage(kind: str, *, scheme_type: dict[str, Any], reported: list[str], on_certificate: bool) -> None:
    """R62: an audit is of a kind the file's certification type has (``audit_kinds``: a system file has stage 1 and
    stage 2 audits, never a product ``initial`` one; a product file no stages); an initial stage is planned for the
    application, and only once the stage before it (``initial_audits``, in order) of the same file is reported."""
    kinds = scheme_type.get("audit_kinds")
    if kinds and kind not in kinds and kind != "follow_up":
        raise InvalidCommand(f"R62: a file under this scheme is audited by {', '.join(kinds)}; not by a '{kind}' "
                             "audit", field="kind")
    stages = list(scheme_type.get("initial_audits") or [])
    if kind not in stages or len(stages) < 2:
        return
    if on_certificate:
        raise InvalidCommand(f"R62: a {kind} audit is a stage of the initial evaluation of an application, not of a "
                             "certificate", field="kind")
    before = stages[stages.index(kind) - 1] if stages.index(kind) else None
    if before is not None and before not in reported:
        raise InvalidTransition(f"R62: a {kind} audit follows a reported {before} audit of the same file; none is "
                                "reported yet")


def levels_to_state(kind: str, *, scheme_type: dict[str, Any], levels: list[int]) -> list[int] | None:
    """R63: the levels from which the report of this audit states the level assessed: the scheme's levels for the
    audit a grant rests on under a levelled type (stage 2); None when the report states no level."""
    if scheme_type.get("levelled") and kind == scheme_type.get("grant_audit"):
        return list(levels)
    return None


def organisation_key(organisation: str) -> str:
    """One form per organisation label (a registration number, a laboratory's id): case, spaces, dots
    and hyphens ignored, so ``BE 0123.456.789`` is ``BE0123456789``."""
    return re.sub(r"[\s.\-]", "", organisation).upper()


def same_organisation(a: str | None, b: str | None) -> bool:
    """Whether two labels name one organisation; an unknown organisation is nobody's."""
    return bool(a) and bool(b) and organisation_key(a or "") == organisation_key(b or "")


def check_holder(holder: str | None, organisation: str | None, what: str) -> None:
    """R18, applied in audits: outside the body's staff, only the holder's own staff (the token's
    ``organisation`` is the file's holder registration number) see or act on its audits. A file learnt
    before audits knew its holder has none, so nobody outside the staff reaches it."""
    if not same_organisation(holder, organisation):
        raise NotPermitted(f"{what} belongs to another organisation's file; the holder's staff see only their own")


def result_id_for(sample_id: str, content: dict[str, Any]) -> str:
    """R32: a result's id follows from its sample and its content, so the same result posted again is
    the same result (and records nothing), with or without an Idempotency-Key."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(natural_id("sample-result", f"{sample_id}:{canonical}"))


def comments_until(issued_on: date) -> date:
    """R37: the last day the holder may comment on a report issued on ``issued_on``."""
    return add_working_days(issued_on, COMMENT_WORKING_DAYS)


class Audit(Aggregate):
    """One audit or inspection of a certification file."""

    @event("Planned")
    def __init__(
        self,
        *,
        application_id: str,
        certificate_number: str | None,
        kind: str,
        planned_start: date,
        planned_end: date | None,
        items: list[dict[str, Any]],
        actor: str,
        reason: str,
    ) -> None:
        self.application_id = application_id
        self.certificate_number = certificate_number
        self.kind = kind
        self.planned_start = planned_start
        self.planned_end = planned_end or planned_start
        self.items = items
        self.status = "planned"
        self.team: list[dict[str, Any]] = []
        self.findings: dict[str, dict[str, Any]] = {}
        self.report: dict[str, Any] | None = None
        self.samples: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        # R67: an examination's parts with their pass marks, and each part's result once scored.
        self.examination: dict[str, Any] | None = None

    # -- team -----------------------------------------------------------------------------------

    def member(self, person: str) -> dict[str, Any] | None:
        return next((m for m in self.team if same_person(m["person"], person)), None)

    @property
    def lead_auditor(self) -> str | None:
        """Who leads the audit and issues its report: the lead auditor, or an examination's examiner (R66)."""
        return next((m["person"] for m in self.team if m["role"] in LEAD_ROLES), None)

    # -- examination (ISO/IEC 17024; R66, R67) -------------------------------------------------------

    def arrange_examination(self, *, examination: dict[str, Any], actor: str) -> None:
        """The parts of the examination and their pass marks, as the scheme's type prescribes (recorded with
        the plan, so the results are judged against the marks in force when it was planned)."""
        self._examination_arranged(parts=[{"part": p["part"], "pass_mark": p["pass_mark"]}
                                          for p in examination["parts"]],
                                   actor=actor, reason="examination parts and pass marks set from the scheme")

    @event("ExaminationArranged")
    def _examination_arranged(self, parts: list[dict[str, Any]], actor: str, reason: str) -> None:
        self.examination = {"parts": {p["part"]: {**p, "result": None} for p in parts}}

    def score_part(self, *, part: str, score: int, today: date, actor: str) -> None:
        """R67: the examiner on the examination's team scores each part of the examination once, before the
        report; the result (passed when the score reaches the part's pass mark) is immutable."""
        if self.examination is None:
            raise InvalidTransition(f"Audit {self.id} is a {self.kind} audit, not an examination; it has no parts "
                                    "to score (R67)")
        member = self.member(actor)
        if member is None or member["role"] != "examiner":
            raise NotPermitted(f"R67: only the examiner on the team of examination {self.id} scores its parts")
        self._check_open()
        parts = self.examination["parts"]
        if part not in parts:
            raise InvalidCommand(f"R67: the examination's parts are {', '.join(parts)}, not {part!r}", field="part")
        if parts[part]["result"] is not None:
            raise Duplicate(f"R67: part {part} of examination {self.id} was scored on "
                            f"{parts[part]['result']['scored_on']} ({parts[part]['result']['score']}); a result is "
                            "never changed", result=parts[part]["result"])
        if not 0 <= score <= 100:
            raise InvalidCommand("R67: a score is a percentage, 0 to 100", field="score")
        pass_mark = parts[part]["pass_mark"]
        passed = score >= pass_mark
        self._part_scored(part=part, score=score, pass_mark=pass_mark, passed=passed, scored_on=today, actor=actor,
                          reason=f"{part} part scored {score} against a pass mark of {pass_mark}: "
                                 f"{'passed' if passed else 'failed'}")

    @event("ExaminationPartScored")
    def _part_scored(self, part: str, score: int, pass_mark: int, passed: bool, scored_on: date, actor: str,
                     reason: str) -> None:
        assert self.examination is not None
        self.examination["parts"][part]["result"] = {"score": score, "passed": passed,
                                                     "scored_on": scored_on.isoformat(), "by": actor}

    def examination_results(self) -> dict[str, Any] | None:
        """The examination's parts and results, and whether it was passed (every part passed)."""
        if self.examination is None:
            return None
        parts = [{"part": name, "pass_mark": p["pass_mark"], **(p["result"] or {"score": None, "passed": None})}
                 for name, p in self.examination["parts"].items()]
        return {"parts": parts, "passed": bool(parts) and all(p["passed"] for p in parts)}

    def assign(
        self, *, person: str, role: str, declaration: dict[str, Any], consultancy: list[dict[str, Any]],
        today: date, actor: str, interests: Sequence[dict[str, Any]] = (),
    ) -> None:
        """R2: ``consultancy`` is the holder's declaration; ``interests`` the staff register's interests in the
        holder within the cooling-off period (R58)."""
        self._check_open()
        if self.examination is not None and role not in EXAMINATION_ROLES:
            raise InvalidCommand("R66: an examination's team is its examiner and any technical experts", field="role")
        if self.examination is None and role == "examiner":
            raise InvalidCommand("R66: an examiner examines candidates for person certification; this audit is no "
                                 "examination", field="role")
        if not declaration.get("independent"):
            raise ConflictOfInterest(
                f"{person} did not declare independence for this audit "
                f"(declared interests: {', '.join(declaration.get('interests') or []) or 'none'})"
            )
        for adviser in advisers_within_cooling_off(consultancy, today):
            if same_person(adviser, person):
                raise ConflictOfInterest(
                    f"{person} advised the applicant in the last two years (consultancy declaration) "
                    "and may not evaluate it"
                )
        check_staff_register(person, interests, f"{role.replace('_', ' ')} (audit team member)")
        if self.member(person) is not None:
            raise Duplicate(f"{person} is already on the team of audit {self.id}")
        if role in LEAD_ROLES and self.lead_auditor is not None:
            raise Duplicate(f"Audit {self.id} already has a lead {'examiner' if role == 'examiner' else 'auditor'}: "
                            f"{self.lead_auditor}")
        self._assigned(
            person=person, role=role, declaration=declaration, declared_on=today, actor=actor,
            reason=f"{role.replace('_', ' ')} assigned with independence declaration",
        )

    @event("TeamMemberAssigned")
    def _assigned(
        self, person: str, role: str, declaration: dict[str, Any], declared_on: date, actor: str, reason: str
    ) -> None:
        self.team.append(
            {"person": person, "role": role, "declaration": declaration, "declared_on": declared_on.isoformat()}
        )

    # -- findings -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.status == "reported":
            raise InvalidTransition(f"Audit {self.id} is reported; it is closed to changes")

    def _check_on_team(self, actor: str) -> None:
        if self.member(actor) is None:
            raise NotPermitted(f"{actor} is not on the team of audit {self.id}")

    def record_finding(
        self, *, finding_id: str, severity: str, requirement: str, description: str,
        corrective_action_due: date | None, actor: str, sample_result: str | None = None,
    ) -> None:
        """Records a finding; one that cites a laboratory result (``sample_result``) rests on a current,
        nonconforming result of this audit's samples (R33)."""
        self._check_on_team(actor)
        self._check_open()
        reason = f"{severity} finding against {requirement}"
        if sample_result is not None:
            found = self.result(sample_result)
            if found is None:
                raise InvalidCommand(f"sample_result {sample_result} is no laboratory result of audit {self.id}")
            sample, result = found
            if result["corrected_by"] is not None:
                raise InvalidTransition(
                    f"R33: result {sample_result} was corrected by result {result['corrected_by']}; "
                    "a finding cites the current result"
                )
            if result["conformity"] != "nonconforming":
                raise InvalidCommand(f"R33: result {sample_result} is conforming; only a nonconforming result opens a finding")
            reason += f" on laboratory result {sample_result} (sample {sample['sample_id']})"
        self._finding_recorded(
            finding_id=finding_id, severity=severity, requirement=requirement, description=description,
            corrective_action_due=corrective_action_due, actor=actor, reason=reason, sample_result=sample_result,
        )

    @event("FindingRecorded")
    def _finding_recorded(
        self, finding_id: str, severity: str, requirement: str, description: str,
        corrective_action_due: date | None, actor: str, reason: str, sample_result: str | None = None,
    ) -> None:
        self.findings[finding_id] = {
            "finding_id": finding_id,
            "severity": severity,
            "requirement": requirement,
            "description": description,
            "corrective_action_due": corrective_action_due.isoformat() if corrective_action_due else None,
            "status": "open",
            "recorded_by": actor,
            "closure": None,
            "sample_result": sample_result,
            "corrective_actions": [],
        }

    def _finding(self, finding_id: str) -> dict[str, Any]:
        finding = self.findings.get(finding_id)
        if finding is None:
            raise NotFound(f"Finding {finding_id} does not exist on audit {self.id}")
        return finding

    def close_finding(self, *, finding_id: str, evidence: str, today: date, actor: str) -> None:
        self._check_on_team(actor)
        finding = self._finding(finding_id)
        if finding["status"] != "open":
            raise InvalidTransition(f"Finding {finding_id} is already closed")
        self._finding_closed(
            finding_id=finding_id, evidence=evidence, closed_on=today, actor=actor,
            reason="corrective action verified by the auditor",
        )

    @event("FindingClosed")
    def _finding_closed(self, finding_id: str, evidence: str, closed_on: date, actor: str, reason: str) -> None:
        self.findings[finding_id]["status"] = "closed"
        self.findings[finding_id]["closure"] = {"evidence": evidence, "by": actor, "on": closed_on.isoformat()}

    # -- corrective actions (R34-R36) ------------------------------------------------------------

    def submit_corrective_action(
        self, *, finding_id: str, corrective_action_id: str, description: str, evidence: list[dict[str, Any]],
        holder: str | None, organisation: str | None, today: date, actor: str,
    ) -> None:
        """R34: the holder's staff answer an open finding with a corrective action and its evidence. One
        awaits review at a time; after a rejection they submit again. One submitted after the finding's due
        date is received and marked late (the finding stays overdue on the worklist until one is accepted)."""
        check_holder(holder, organisation, f"Audit {self.id}")
        finding = self._finding(finding_id)
        if finding["status"] != "open":
            raise InvalidTransition(f"Finding {finding_id} is closed; it needs no corrective action")
        pending = next((ca for ca in finding["corrective_actions"] if ca["status"] == "submitted"), None)
        if pending is not None:
            raise Duplicate(
                f"Corrective action {pending['corrective_action_id']} of finding {finding_id} awaits the audit team's "
                "review; submit again only if it is rejected"
            )
        due = finding["corrective_action_due"]
        late = due is not None and today > date.fromisoformat(due)
        self._corrective_action_submitted(
            finding_id=finding_id, corrective_action_id=corrective_action_id, description=description,
            evidence=evidence, organisation=holder or "", submitted_on=today, late=late, actor=actor,
            reason=f"corrective action for finding {finding_id}" + (f", late (due {due})" if late else ""),
        )

    @event("CorrectiveActionSubmitted")
    def _corrective_action_submitted(
        self, finding_id: str, corrective_action_id: str, description: str, evidence: list[dict[str, Any]],
        organisation: str, submitted_on: date, late: bool, actor: str, reason: str,
    ) -> None:
        self.findings[finding_id]["corrective_actions"].append({
            "corrective_action_id": corrective_action_id,
            "description": description,
            "evidence": evidence,
            "organisation": organisation,
            "submitted_on": submitted_on.isoformat(),
            "submitted_by": actor,
            "late": late,
            "status": "submitted",
            "review": None,
        })

    def review_corrective_action(
        self, *, finding_id: str, corrective_action_id: str, outcome: str, reason: str, today: date, actor: str,
    ) -> None:
        """R35: a member of the audit team accepts or rejects a corrective action, with a reason; accepting
        it closes the finding (FindingClosed, as a closure by the team always has)."""
        self._check_on_team(actor)
        finding = self._finding(finding_id)
        action = next((ca for ca in finding["corrective_actions"]
                       if ca["corrective_action_id"] == corrective_action_id), None)
        if action is None:
            raise NotFound(f"Corrective action {corrective_action_id} does not exist on finding {finding_id}")
        if action["status"] != "submitted":
            raise InvalidTransition(f"Corrective action {corrective_action_id} was already {action['status']}")
        if finding["status"] != "open":
            raise InvalidTransition(f"Finding {finding_id} is already closed")
        self._corrective_action_reviewed(
            finding_id=finding_id, corrective_action_id=corrective_action_id, outcome=outcome, reviewed_on=today,
            actor=actor, reason=reason,
        )
        if outcome == "accepted":
            documents = ", ".join(f"{d['name']} ({d['reference']})" for d in action["evidence"]) or "none"
            self._finding_closed(
                finding_id=finding_id, evidence=f"corrective action {corrective_action_id} accepted: "
                f"{action['description']} Evidence: {documents}", closed_on=today, actor=actor,
                reason="corrective action verified by the auditor",
            )

    @event("CorrectiveActionReviewed")
    def _corrective_action_reviewed(
        self, finding_id: str, corrective_action_id: str, outcome: str, reviewed_on: date, actor: str, reason: str
    ) -> None:
        for action in self.findings[finding_id]["corrective_actions"]:
            if action["corrective_action_id"] == corrective_action_id:
                action["status"] = outcome
                action["review"] = {"by": actor, "on": reviewed_on.isoformat(), "reason": reason}

    def overdue(self, today: date) -> list[dict[str, Any]]:
        """R36: the open findings whose corrective action was due before ``today`` and none accepted (an
        accepted one closes the finding): each with its due date and days overdue."""
        items = []
        for finding in self.findings.values():
            due = finding["corrective_action_due"]
            if finding["status"] != "open" or due is None or today <= date.fromisoformat(due):
                continue
            items.append({
                "kind": "overdue_corrective_action",
                "audit_id": str(self.id),
                "finding_id": finding["finding_id"],
                "severity": finding["severity"],
                "requirement": finding["requirement"],
                "due": due,
                "days_overdue": (today - date.fromisoformat(due)).days,
                "awaiting_review": any(ca["status"] == "submitted" for ca in finding["corrective_actions"]),
                "application_id": self.application_id,
                "certificate_number": self.certificate_number,
            })
        return items

    # -- samples and laboratory results (R30-R33) -------------------------------------------------

    def product_names(self) -> list[str]:
        return [str(item.get("name") or item.get("product")) for item in self.items]

    def take_sample(
        self, *, sample_id: str, product: str, batch: str, seal_number: str, taken_on: date, laboratory: str,
        today: date, actor: str,
    ) -> None:
        """R30: during the audit (before its report) a member of its team takes a sample of one of the
        file's products, seals it and assigns it to a laboratory."""
        self._check_on_team(actor)
        self._check_open()
        names = self.product_names()
        named = next((name for name in names if name.casefold() == product.casefold()), None)
        if named is None:
            raise InvalidCommand(f"R30: {product} is not a product of this file ({'; '.join(names) or 'none'})")
        if taken_on > today:
            raise InvalidCommand(f"R30: a sample is recorded once taken; {taken_on.isoformat()} is in the future")
        for sample in self.samples.values():
            if sample["seal_number"].casefold() == seal_number.casefold():
                raise Duplicate(f"Seal {seal_number} is already on sample {sample['sample_id']} of audit {self.id}")
        self._sample_taken(
            sample_id=sample_id, product=named, batch=batch, seal_number=seal_number, taken_on=taken_on,
            laboratory=laboratory, actor=actor,
            reason=f"sample of {named}, batch {batch}, seal {seal_number}, assigned to laboratory {laboratory}",
        )

    @event("SampleTaken")
    def _sample_taken(
        self, sample_id: str, product: str, batch: str, seal_number: str, taken_on: date, laboratory: str,
        actor: str, reason: str,
    ) -> None:
        self.samples[sample_id] = {
            "sample_id": sample_id,
            "product": product,
            "batch": batch,
            "seal_number": seal_number,
            "taken_on": taken_on.isoformat(),
            "by": actor,
            "laboratory": laboratory,
            "results": [],
            "current_result": None,
        }

    def sample(self, sample_id: str) -> dict[str, Any]:
        sample = self.samples.get(sample_id)
        if sample is None:
            raise NotFound(f"Sample {sample_id} does not exist")
        return sample

    def result(self, result_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The sample and the result with this id, among this audit's samples."""
        for sample in self.samples.values():
            for result in sample["results"]:
                if result["result_id"] == result_id:
                    return sample, result
        return None

    def record_result(
        self, *, sample_id: str, laboratory: str | None, method: str, clause: str, values: list[dict[str, Any]],
        conformity: str, accreditation: str, corrects: str | None, today: date, actor: str,
    ) -> dict[str, Any]:
        """R31: only the laboratory a sample is assigned to reports on it. R32: results are immutable; a
        correction names an earlier, current result of the same sample and is the current one from then
        on. The same result posted again is that result: it is answered and nothing is recorded."""
        sample = self.sample(sample_id)
        check_laboratory(sample, laboratory)
        content = {"method": method, "clause": clause, "values": values, "conformity": conformity,
                   "accreditation": accreditation, "corrects": corrects}
        result_id = result_id_for(sample_id, content)
        known = next((r for r in sample["results"] if r["result_id"] == result_id), None)
        if known is not None:
            return known
        if corrects is not None:
            corrected = next((r for r in sample["results"] if r["result_id"] == corrects), None)
            if corrected is None:
                raise InvalidCommand(f"R32: corrects names no result of sample {sample_id}: {corrects}")
            if corrected["corrected_by"] is not None:
                raise InvalidTransition(
                    f"R32: result {corrects} was already corrected by result {corrected['corrected_by']}; "
                    "correct the current result"
                )
        elif sample["current_result"] is not None:
            raise Duplicate(
                f"R32: sample {sample_id} already has result {sample['current_result']}; results are immutable: "
                "post a correction naming it in 'corrects'"
            )
        self._result_recorded(
            sample_id=sample_id, result_id=result_id, laboratory=sample["laboratory"], accreditation=accreditation,
            method=method, clause=clause, values=values, conformity=conformity, corrects=corrects,
            recorded_on=today, subcontracted=True, actor=actor,
            reason=(f"correction of result {corrects}: " if corrects else "")
            + f"{conformity} to {clause}, tested by laboratory {sample['laboratory']} ({accreditation})",
        )
        return sample["results"][-1]

    @event("SampleResultRecorded")
    def _result_recorded(
        self, sample_id: str, result_id: str, laboratory: str, accreditation: str, method: str, clause: str,
        values: list[dict[str, Any]], conformity: str, corrects: str | None, recorded_on: date, subcontracted: bool,
        actor: str, reason: str,
    ) -> None:
        sample = self.samples[sample_id]
        for earlier in sample["results"]:
            if earlier["result_id"] == corrects:
                earlier["corrected_by"] = result_id
        sample["results"].append({
            "result_id": result_id,
            "sample_id": sample_id,
            "method": method,
            "clause": clause,
            "values": values,
            "conformity": conformity,
            "laboratory": laboratory,
            "accreditation": accreditation,
            "subcontracted": subcontracted,
            "corrects": corrects,
            "corrected_by": None,
            "recorded_on": recorded_on.isoformat(),
            "by": actor,
        })
        sample["current_result"] = result_id

    def laboratory_results(self) -> list[dict[str, Any]]:
        """The current result of each sample, marked subcontracted with the laboratory and its
        accreditation: what the report states of the tests done outside the body."""
        found = []
        for sample in self.samples.values():
            current = next((r for r in sample["results"] if r["result_id"] == sample["current_result"]), None)
            if current is None:
                continue
            found.append({
                "sample_id": sample["sample_id"], "product": sample["product"], "batch": sample["batch"],
                "seal_number": sample["seal_number"], "result_id": current["result_id"],
                "method": current["method"], "clause": current["clause"], "values": current["values"],
                "conformity": current["conformity"], "subcontracted": current["subcontracted"],
                "laboratory": current["laboratory"], "accreditation": current["accreditation"],
            })
        return found

    # -- report (ISO/IEC 17020 7.4.2) -------------------------------------------------------------

    def issue_report(
        self, *, report_id: str, conclusion: str, recommendation: str, summary: str, today: date, actor: str,
        level_assessed: int | None = None, levels: list[int] | None = None,
    ) -> None:
        """R63: with ``levels`` (the audit a levelled scheme's grant rests on: stage 2) the report states the level
        assessed, one of them; otherwise none."""
        self._check_open()
        if levels is not None and level_assessed not in levels:
            raise InvalidCommand(f"R63: the report of this {self.kind} audit states the level assessed "
                                 f"('level_assessed'), one of the scheme's levels {levels}", field="level_assessed")
        if levels is None and level_assessed is not None:
            raise InvalidCommand(f"R63: a {self.kind} audit's report under this scheme states no level",
                                 field="level_assessed")
        if self.lead_auditor is None:
            raise InvalidTransition(f"Audit {self.id} has no lead auditor yet; assign one before reporting")
        if not same_person(self.lead_auditor, actor):
            raise NotPermitted(f"Only the lead auditor of audit {self.id} ({self.lead_auditor}) issues its report")
        examination = self.examination_results()
        if examination is not None:
            unscored = [p["part"] for p in examination["parts"] if p["passed"] is None]
            if unscored:
                raise InvalidTransition(f"R67: part(s) {', '.join(unscored)} of examination {self.id} are not "
                                        "scored yet; the report comes after every result")
            if (conclusion == "conforming") != examination["passed"]:
                scores = ", ".join(f"{p['part']} {p['score']} (pass mark {p['pass_mark']})"
                                   for p in examination["parts"])
                expected = "conforming" if examination["passed"] else "nonconforming"
                raise InvalidCommand(f"R67: the examination was {'passed' if examination['passed'] else 'failed'} "
                                     f"({scores}); its report concludes '{expected}'", field="conclusion")
        findings = list(self.findings.values())
        open_majors = sorted(f_id for f_id, f in self.findings.items() if f["severity"] == "major" and f["status"] == "open")
        if conclusion == "conforming" and open_majors:
            raise OpenMajorNonconformity(
                f"Audit {self.id} has {len(open_majors)} open major nonconformity(ies) ({', '.join(open_majors)}); "
                "its report cannot state conformity: close them first, or conclude 'nonconforming'",
                open_findings=open_majors,
            )
        self._reported(
            report={
                "report_id": report_id,
                "issued_on": today.isoformat(),
                "inspection_dates": {
                    "from": self.planned_start.isoformat(),
                    "to": max(self.planned_end, self.planned_start).isoformat(),
                },
                "items_inspected": self.items,
                "results": {
                    sev: {
                        "total": sum(1 for f in findings if f["severity"] == sev),
                        "open": sum(1 for f in findings if f["severity"] == sev and f["status"] == "open"),
                    }
                    for sev in SEVERITIES
                },
                "conformity_statement": conclusion,
                "recommendation": recommendation,
                "summary": summary,
                "approved_by": actor,
                "laboratory_results": self.laboratory_results(),
                **({"level_assessed": level_assessed} if level_assessed is not None else {}),
                **({"examination": examination} if examination is not None else {}),
            },
            actor=actor,
            reason=f"report issued: {conclusion}, recommendation: {recommendation}",
        )

    @event("Reported")
    def _reported(self, report: dict[str, Any], actor: str, reason: str) -> None:
        self.status = "reported"
        self.report = report

    # -- the holder's comments on the report (ISO/IEC 17020 7.4; R37) -------------------------------

    @property
    def comments_until(self) -> date | None:
        """The last day the holder may comment on the report: five working days after its issue."""
        return comments_until(date.fromisoformat(self.report["issued_on"])) if self.report else None

    def is_final(self, today: date) -> bool:
        """Whether the report is final: its comment period is over."""
        until = self.comments_until
        return until is not None and today > until

    def comment_on_report(
        self, *, comment_id: str, comment: str, holder: str | None, organisation: str | None, today: date, actor: str,
    ) -> None:
        """R37: the holder's staff comment on the report within five working days of its issue (Saturdays,
        Sundays and Belgian public holidays do not count); after that the report is final."""
        check_holder(holder, organisation, f"Audit {self.id}")
        if self.report is None:
            raise InvalidTransition(f"Audit {self.id} is not reported yet; there is no report to comment on")
        until = self.comments_until
        assert until is not None
        if today > until:
            raise InvalidTransition(
                f"R37: report {self.report['report_id']} is final: comments were open until {until.isoformat()} "
                f"({COMMENT_WORKING_DAYS} working days after its issue on {self.report['issued_on']})",
                comments_until=until.isoformat(),
            )
        self._report_commented(
            comment_id=comment_id, report_id=self.report["report_id"], comment=comment, organisation=holder or "",
            commented_on=today, actor=actor, reason=f"the holder's comment on report {self.report['report_id']}",
        )

    @event("ReportCommented")
    def _report_commented(
        self, comment_id: str, report_id: str, comment: str, organisation: str, commented_on: date, actor: str,
        reason: str,
    ) -> None:
        self.comments.append({
            "comment_id": comment_id, "report_id": report_id, "comment": comment, "organisation": organisation,
            "on": commented_on.isoformat(), "by": actor,
        })


def check_laboratory(sample: dict[str, Any], laboratory: str | None) -> None:
    """R31: a laboratory sees and reports on the samples assigned to it, and no other."""
    if not same_organisation(sample["laboratory"], laboratory):
        raise NotPermitted(f"Sample {sample['sample_id']} is not assigned to your laboratory")


class AuditedFile(Aggregate):
    """What audits has learnt from applications about one certification file (internal)."""

    @staticmethod
    def create_id(application_id: str, **_: Any) -> UUID:
        return natural_id("audited-file", application_id)

    @event("Learnt")
    def __init__(self, *, application_id: str, status: str, consultancy: list[dict[str, Any]],
                 products: list[dict[str, Any]], organisation: str | None = None,
                 examination: dict[str, Any] | None = None, scheme: str | None = None) -> None:
        self.application_id = application_id
        self.scheme = scheme  # the file's scheme (R62); None for a file learnt before audits kept it
        self.reported_kinds: dict[str, str] = {}  # audit id -> kind, of the file's reported audits (R62)
        # R66: the examination a person file's scheme prescribes (parts, pass marks); None for other files.
        self.examination = examination
        self.status = status
        self.consultancy = consultancy
        self.products = products
        # The holder's registration number; None for a file learnt before audits kept it (no holder access).
        self.organisation = organisation

    @event("StatusLearnt")
    def learn_status(self, status: str) -> None:
        self.status = status

    @event("ConsultancyLearnt")
    def learn_consultancy(self, consultancy: list[dict[str, Any]]) -> None:
        """The holder's current consultancy declaration replaces the one it submitted (R2 uses it)."""
        self.consultancy = consultancy


    @event("ReportNoted")
    def note_reported(self, audit_id: str, kind: str) -> None:
        """An audit of the file was reported: the next initial stage may follow it (R62)."""
        self.reported_kinds = {**getattr(self, "reported_kinds", {}), audit_id: kind}


class KnownScheme(Aggregate):
    """What audits has learnt from the registry about a scheme: its certification type's rules and its levels
    (R62, R63; internal)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return natural_id("audits-scheme", code.upper())

    @event("Learnt")
    def __init__(self, *, code: str, certification_type: str, scheme_type: dict[str, Any] | None,
                 levels: list[int] | None) -> None:
        self.code = code.upper()
        self.certification_type = certification_type
        self.scheme_type = dict(scheme_type or {})
        self.levels = list(levels or [])


class SampleLink(Aggregate):
    """Which audit a sample was taken in, so a laboratory reaches its sample by the sample's id alone
    (internal; recorded with the SampleTaken event, in one transaction)."""

    @staticmethod
    def create_id(sample_id: str, **_: Any) -> UUID:
        return natural_id("sample-link", sample_id)

    @event("Linked")
    def __init__(self, *, sample_id: str, audit_id: str, actor: str, reason: str) -> None:
        self.sample_id = sample_id
        self.audit_id = audit_id
