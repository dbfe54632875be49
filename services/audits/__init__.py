"""Audits and inspections: planning, teams and independence declarations, findings, reports."""
