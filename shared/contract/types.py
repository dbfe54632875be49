"""The type string of every published event: compare ``Message.type`` with these, never with literals.

Generated from shared/contract/schemas by ``python -m shared.contract.generate``; do not edit by hand
(tests/unit/test_contract.py fails when it is out of step)."""


# applications: topic hallmark.applications.events
APPLICATION_DECIDED = "Application.Decided"
APPLICATION_INFORMATION_SUPPLIED = "Application.InformationSupplied"
APPLICATION_REVIEWED = "Application.Reviewed"
APPLICATION_SUBMITTED = "Application.Submitted"
APPLICATION_WITHDRAWN = "Application.Withdrawn"

# audits: topic hallmark.audits.events
AUDIT_FINDING_CLOSED = "Audit.FindingClosed"
AUDIT_FINDING_RECORDED = "Audit.FindingRecorded"
AUDIT_PLANNED = "Audit.Planned"
AUDIT_REPORTED = "Audit.Reported"
AUDIT_TEAM_MEMBER_ASSIGNED = "Audit.TeamMemberAssigned"

# decisions: topic hallmark.decisions.events
APPEAL_DECIDED = "Appeal.Decided"
APPEAL_LODGED = "Appeal.Lodged"
DECISION_RECORDED = "Decision.Recorded"

# registry: topic hallmark.registry.events
CERTIFICATE_APPEAL_UPHELD = "Certificate.AppealUpheld"
CERTIFICATE_DECISION_NOT_APPLIED = "Certificate.DecisionNotApplied"
CERTIFICATE_ISSUED = "Certificate.Issued"
CERTIFICATE_MAINTAINED = "Certificate.Maintained"
CERTIFICATE_REVISED = "Certificate.Revised"
CERTIFICATE_STATUS_CHANGED = "Certificate.StatusChanged"
CERTIFICATE_SURVEILLANCE_OVERDUE = "Certificate.SurveillanceOverdue"
CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED = "Certificate.SuspensionLimitExceeded"
SCHEME_DOCUMENT_VERSION_PUBLISHED = "Scheme.DocumentVersionPublished"
SCHEME_REGISTERED = "Scheme.Registered"

ALL = (
    APPLICATION_DECIDED,
    APPLICATION_INFORMATION_SUPPLIED,
    APPLICATION_REVIEWED,
    APPLICATION_SUBMITTED,
    APPLICATION_WITHDRAWN,
    AUDIT_FINDING_CLOSED,
    AUDIT_FINDING_RECORDED,
    AUDIT_PLANNED,
    AUDIT_REPORTED,
    AUDIT_TEAM_MEMBER_ASSIGNED,
    APPEAL_DECIDED,
    APPEAL_LODGED,
    DECISION_RECORDED,
    CERTIFICATE_APPEAL_UPHELD,
    CERTIFICATE_DECISION_NOT_APPLIED,
    CERTIFICATE_ISSUED,
    CERTIFICATE_MAINTAINED,
    CERTIFICATE_REVISED,
    CERTIFICATE_STATUS_CHANGED,
    CERTIFICATE_SURVEILLANCE_OVERDUE,
    CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED,
    SCHEME_DOCUMENT_VERSION_PUBLISHED,
    SCHEME_REGISTERED,
)
