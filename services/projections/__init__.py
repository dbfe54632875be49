"""Read models rebuilt from every service's events: certificate state and the audit trail."""
