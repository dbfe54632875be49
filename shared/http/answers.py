"""A command's HTTP answer: its status and body, and the consistency token of what it recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse

from shared.consistency import token

if TYPE_CHECKING:
    from shared.application import Outcome


def respond(outcome: Outcome) -> JSONResponse:
    return JSONResponse(outcome.body, outcome.status, headers=token(outcome.written))


def prefers(accept: str | None, answer_format: str | None, wanted: str, usual: str, short: str) -> bool:
    """Whether a client asks for ``wanted`` instead of the ``usual`` media type: ``?format=<short>``
    (a link can carry it), or an Accept header that weighs ``wanted`` above zero and no lower than ``usual``."""
    if answer_format is not None:
        return answer_format == short
    quality: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = max(q, quality.get(media.lower(), 0.0))
    weight = quality.get(wanted, 0.0)
    return weight > 0 and weight >= quality.get(usual, 0.0)
