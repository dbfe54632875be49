"""Hallmark's services: applications, audits, decisions, the mark registry, and the projections."""
