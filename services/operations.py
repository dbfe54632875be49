"""Operators' endpoints: dead letters (parked messages) listed, retried or discarded, with a reason.

A parked message is one that a consumer could not apply after sustained failure. It is a fact in
the consumer's own store, so it survives restarts, and the service it feeds refuses commands
(503 knowledge-stale) until an operator has dealt with it. Every retry or discard records who did
it and why; a retry that fails again records nothing and says why.
"""


from typing import Annotated, Callable, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from shared.bus import Pump
from shared.errors import DomainError, InvalidCommand
from shared.http.auth import Actor, require
from shared.http.fields import CursorParam, PersonName, Strict, Text, decode_cursor, encode_cursor
from shared.people import PeopleVault


class RetryFailed(DomainError):
    """The parked message still cannot be applied; it stays parked and nothing was recorded."""

    slug = "retry-failed"
    title = "Retry failed"


class Resolution(Strict):
    consumer: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z<>-]+$")]
    message_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[a-z]+/[0-9a-f-]{36}/[0-9]+$")]
    reason: Text


def parked_listing(pump: Pump) -> list[dict]:
    return [{"consumer": consumer.name, **entry} for consumer in pump.consumers for entry in consumer.parked()]


def router(pump: Pump) -> APIRouter:
    api = APIRouter(tags=["operations"])
    operator = require("admin")

    @api.get("/v1/operations/parked-messages")
    def list_parked(
        actor: Annotated[Actor, Depends(operator)],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: CursorParam = None,
    ) -> dict:
        """Parked messages, by consumer then stream position, a page at a time."""
        items = parked_listing(pump)
        position = decode_cursor("parked", cursor) if cursor else "0"
        if not position.isdigit():
            raise InvalidCommand("cursor is not one this listing gave out; start again without it")
        start = int(position)
        page = items[start:start + limit]
        more = start + limit < len(items)
        return {"items": page, "next_cursor": encode_cursor("parked", str(start + limit)) if more else None}

    @api.post("/v1/operations/parked-messages/{action}")
    def resolve(action: Literal["retry", "discard"], body: Resolution,
                actor: Annotated[Actor, Depends(operator)]) -> dict:
        def job(consumer) -> None:
            if action == "discard":
                consumer.discard(body.message_id, actor.person, body.reason)
                return
            try:
                consumer.retry(body.message_id, actor.person, body.reason)
            except DomainError:
                raise
            except Exception as error:  # the policy's own failure: report it, keep the message parked
                raise RetryFailed(
                    f"{body.message_id} still fails in {body.consumer}: {type(error).__name__}: {error}. "
                    "It stays parked; fix the cause, or discard it with a reason"
                ) from None

        pump.operate(body.consumer, job)
        return {"consumer": body.consumer, "message_id": body.message_id,
                "status": "retried" if action == "retry" else "discarded", "by": actor.person, "reason": body.reason,
                "still_parked": len(pump.consumer(body.consumer).parked())}

    return api


class Erasure(Strict):
    name: PersonName
    reason: Text


def people_router(vault: PeopleVault) -> APIRouter:
    """Erasing a person's data once the retention period is over or the law demands it (ADR 0011):
    their key is destroyed, their sealed names can no longer be opened, and the log still verifies."""
    api = APIRouter(tags=["operations"])

    @api.post("/v1/people/erasures", status_code=201)
    def erase(body: Erasure, actor: Annotated[Actor, Depends(require("admin"))]) -> dict:
        """Records who erased whom (by pseudonym), when and why; never the name."""
        pseudonym = vault.erase(body.name, actor.person, body.reason)
        return {"person": pseudonym, "erased": True,
                "note": "the person's key is destroyed: their name reads [erased person ...] everywhere, "
                        "and every log entry, proof and checkpoint still verifies"}

    @api.get("/v1/people/erasures")
    def erasures(actor: Annotated[Actor, Depends(require("admin", "assessor"))]) -> dict:
        return {"erasures": vault.erasures()}

    return api


def sweep_router(sweep: Callable[[str], list[str]]) -> APIRouter:
    """The registry's daily checks, run now by an operator rather than at the next hourly sweep: expiry,
    overdue suspensions and surveillance, conditional withdrawals and TRA/PTV transitions past their deadline
    (R6, R43, R44, R50). Each flag it raises is an event with the operator as its actor."""
    api = APIRouter(tags=["operations"])

    @api.post("/v1/certificates/sweep")
    def sweep_now(actor: Annotated[Actor, Depends(require("admin"))]) -> dict:
        """Run the sweep now; answers the certificates it changed (expired or flagged)."""
        changed = sweep(actor.person)
        return {"changed": changed, "by": actor.person}

    return api
