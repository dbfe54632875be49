"""The Idempotency-Key header as a FastAPI dependency."""

from __future__ import annotations

from fastapi import HTTPException, Request

from shared.http.auth import Actor, authenticate
from shared.idempotency import IdempotencyKey

MAX_KEY_LENGTH = 255


async def idempotency_key(request: Request) -> IdempotencyKey | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip().strip('"')
    if not key or len(key) > MAX_KEY_LENGTH:
        raise HTTPException(422, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    actor: Actor = authenticate(request)
    body = await request.body()
    return IdempotencyKey.of(key, actor.person, request.method, request.url.path, body)

