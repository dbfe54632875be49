"""The type string of every published event: compare ``Message.type`` with these, never with literals.

Generated from shared/contract/schemas by ``python -m shared.contract.generate``; do not edit by hand
(tests/unit/test_contract.py fails when it is out of step)."""


# applications: topic hallmark.applications.events
APPLICATION_AGREEMENT_ACCEPTED = "Application.AgreementAccepted"
APPLICATION_CHANGE_REQUEST_DECIDED = "Application.ChangeRequestDecided"
APPLICATION_CHANGE_REQUESTED = "Application.ChangeRequested"
APPLICATION_CONSULTANCY_DECLARED = "Application.ConsultancyDeclared"
APPLICATION_DECIDED = "Application.Decided"
APPLICATION_INFORMATION_SUPPLIED = "Application.InformationSupplied"
APPLICATION_REVIEWED = "Application.Reviewed"
APPLICATION_SUBMITTED = "Application.Submitted"
APPLICATION_WITHDRAWN = "Application.Withdrawn"

# audits: topic hallmark.audits.events
AUDIT_CORRECTIVE_ACTION_REVIEWED = "Audit.CorrectiveActionReviewed"
AUDIT_CORRECTIVE_ACTION_SUBMITTED = "Audit.CorrectiveActionSubmitted"
AUDIT_FINDING_CLOSED = "Audit.FindingClosed"
AUDIT_FINDING_RECORDED = "Audit.FindingRecorded"
AUDIT_PLANNED = "Audit.Planned"
AUDIT_REPORT_COMMENTED = "Audit.ReportCommented"
AUDIT_REPORTED = "Audit.Reported"
AUDIT_SAMPLE_RESULT_RECORDED = "Audit.SampleResultRecorded"
AUDIT_SAMPLE_TAKEN = "Audit.SampleTaken"
AUDIT_TEAM_MEMBER_ASSIGNED = "Audit.TeamMemberAssigned"

# decisions: topic hallmark.decisions.events
APPEAL_DECIDED = "Appeal.Decided"
APPEAL_LODGED = "Appeal.Lodged"
COMPLAINT_ACKNOWLEDGED = "Complaint.Acknowledged"
COMPLAINT_ADMISSIBILITY_DECIDED = "Complaint.AdmissibilityDecided"
COMPLAINT_AUDIT_LINKED = "Complaint.AuditLinked"
COMPLAINT_CLOSED = "Complaint.Closed"
COMPLAINT_HANDLER_ASSIGNED = "Complaint.HandlerAssigned"
COMPLAINT_LODGED = "Complaint.Lodged"
COMPLAINT_NOTIFIED = "Complaint.Notified"
COMPLAINT_OUTCOME_DECIDED = "Complaint.OutcomeDecided"
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
    APPLICATION_AGREEMENT_ACCEPTED,
    APPLICATION_CHANGE_REQUEST_DECIDED,
    APPLICATION_CHANGE_REQUESTED,
    APPLICATION_CONSULTANCY_DECLARED,
    APPLICATION_DECIDED,
    APPLICATION_INFORMATION_SUPPLIED,
    APPLICATION_REVIEWED,
    APPLICATION_SUBMITTED,
    APPLICATION_WITHDRAWN,
    AUDIT_CORRECTIVE_ACTION_REVIEWED,
    AUDIT_CORRECTIVE_ACTION_SUBMITTED,
    AUDIT_FINDING_CLOSED,
    AUDIT_FINDING_RECORDED,
    AUDIT_PLANNED,
    AUDIT_REPORT_COMMENTED,
    AUDIT_REPORTED,
    AUDIT_SAMPLE_RESULT_RECORDED,
    AUDIT_SAMPLE_TAKEN,
    AUDIT_TEAM_MEMBER_ASSIGNED,
    APPEAL_DECIDED,
    APPEAL_LODGED,
    COMPLAINT_ACKNOWLEDGED,
    COMPLAINT_ADMISSIBILITY_DECIDED,
    COMPLAINT_AUDIT_LINKED,
    COMPLAINT_CLOSED,
    COMPLAINT_HANDLER_ASSIGNED,
    COMPLAINT_LODGED,
    COMPLAINT_NOTIFIED,
    COMPLAINT_OUTCOME_DECIDED,
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
