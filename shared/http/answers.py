"""A command's HTTP answer: its status and body, and the consistency token of what it recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse

from shared.consistency import token

if TYPE_CHECKING:
    from shared.application import Outcome


def respond(outcome: Outcome) -> JSONResponse:
    return JSONResponse(outcome.body, outcome.status, headers=token(outcome.written))
