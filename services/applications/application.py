"""The applications service's use cases."""

from __future__ import annotations

from typing import Any

from services.applications.domain import Application, KnownScheme
from shared.application import Outcome, ServiceApplication
from shared.errors import NotFound, NotPermitted, NotYetKnown
from shared.idempotency import IdempotencyKey


def application_view(application: Application) -> dict[str, Any]:
    return {
        "id": str(application.id),
        "status": application.status,
        "scheme": application.scheme,
        "scheme_documents": application.scheme_documents,
        "applicant": application.applicant,
        "production_unit": application.production_unit,
        "products": application.products,
        "scope": application.scope,
        "consultancy": application.consultancy,
        "submitted_by": application.submitted_by,
        "submitted_at": application.created_on.isoformat(),
        "review": application.review,
        "version": application.version,
    }


class Applications(ServiceApplication):
    name = "applications"
    published = (Application,)

    def submit(self, form: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None) -> Outcome:
        def command() -> Outcome:
            scheme = self.find(KnownScheme.create_id(form["scheme"]))
            if scheme is None:
                raise NotYetKnown(
                    f"Scheme {form['scheme']} is not known to applications yet. If it was just created, "
                    "retry shortly; otherwise check the scheme code with the registry",
                )
            application = Application(
                **{**form, "scheme": scheme.code},
                scheme_documents=scheme.current_documents(self.clock.today()),
                submitted_by=actor,
                actor=actor,
                reason="application submitted",
            )
            return Outcome(201, application_view(application), [application])

        return self.execute(command, idempotency)

    def application(self, application_id: str) -> Application:
        return self.load_as(Application, application_id)

    def find_application(self, application_id: str) -> Application | None:
        try:
            return self.application(application_id)
        except NotFound:
            return None

    def read(self, application_id: str, actor: str, staff: bool) -> dict[str, Any]:
        application = self.application(application_id)
        if not staff and application.submitted_by != actor:
            raise NotPermitted("An applicant sees only its own applications")
        return application_view(application)

    def review(
        self, application_id: str, outcome: str, reason: str, actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.review_application(outcome=outcome, reason=reason, actor=actor, today=self.clock.today())
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)

    def supply_information(
        self, application_id: str, note: str, actor: str, as_applicant: bool,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.supply_information(note=note, actor=actor, on_behalf_of_applicant=as_applicant)
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)

    def withdraw(
        self, application_id: str, reason: str, actor: str, as_applicant: bool,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        def command() -> Outcome:
            application = self.application(application_id)
            application.withdraw(reason=reason, actor=actor, on_behalf_of_applicant=as_applicant)
            return Outcome(200, application_view(application), [application])

        return self.execute(command, idempotency)
