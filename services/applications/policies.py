"""How applications reacts to other services' events: it learns the scheme catalogue."""

from __future__ import annotations

from typing import Any, Iterable

from services.applications.application import Applications
from services.applications.domain import KnownScheme
from shared.contract.types import DECISION_RECORDED, SCHEME_DOCUMENT_VERSION_PUBLISHED, SCHEME_REGISTERED
from shared.messages import Message


def on_decisions(applications: Applications):
    def policy(message: Message) -> Iterable[Any]:
        if message.type != DECISION_RECORDED or message.data["outcome"] not in ("grant", "refuse"):
            return []
        application = applications.find_application(message.data["application_id"])
        if application is None or application.status in ("granted", "refused"):
            return []
        application.note_decision(outcome=message.data["outcome"], decision_id=message.subject,
                                  actor=message.actor, reason=f"{message.data['outcome']} by decision {message.subject}")
        return [application]

    return policy


def on_registry(applications: Applications):
    def policy(message: Message) -> Iterable[Any]:
        if message.type == SCHEME_REGISTERED:
            if applications.find(KnownScheme.create_id(message.data["code"])) is not None:
                return []
            return [KnownScheme(code=message.data["code"], documents=message.data["documents"])]
        if message.type == SCHEME_DOCUMENT_VERSION_PUBLISHED:
            known = applications.find(KnownScheme.create_id(message.data["code"]))
            if known is None:
                return []
            known.learn_document(message.data["document"])
            return [known]
        return []

    return policy

