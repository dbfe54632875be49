"""Partners of the register: credentials, signed webhooks and the change feed (ADR 0014)."""
