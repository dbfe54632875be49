"""HTTP conventions shared by every service: problems (RFC 9457), auth, idempotency, health."""
