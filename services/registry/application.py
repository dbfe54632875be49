"""The mark registry's use cases."""

from __future__ import annotations

import json
import logging
from datetime import date
from importlib import resources
from typing import Any

from services.registry import documents
from services.registry.domain import Catalogue, Certificate, Commission, Numbering, Scheme
from shared.application import Outcome, ServiceApplication
from shared.domain import add_months
from shared.errors import Duplicate, InvalidCommand, NotFound
from shared.idempotency import IdempotencyKey

log = logging.getLogger(__name__)


def load_catalogue() -> Catalogue:
    data = json.loads(resources.files("services.registry").joinpath("catalogue.json").read_text())
    return Catalogue(**data)


def scheme_view(scheme: Scheme, today: date) -> dict[str, Any]:
    return {
        "code": scheme.code,
        "mark": scheme.mark,
        "title": scheme.title,
        "certification_type": scheme.certification_type,
        "documents": scheme.documents,
        "current_documents": scheme.current_documents(today),
        "validity_months": scheme.validity_months,
        "surveillance_months": scheme.surveillance_months,
        "admission_months": scheme.admission_months,
        "max_suspension_months": scheme.max_suspension_months,
        "admission_surveillance_months": scheme.admission_surveillance_months,
        "renewal_window_months": scheme.renewal_window_months,
        "sampling_months": scheme.sampling_months,
        "commission_decisions": scheme.commission_decisions,
        "scheme_type": scheme.scheme_type,
        "levels": scheme.levels,
        "version": scheme.version,
    }


def commission_view(commission: Commission) -> dict[str, Any]:
    return {"code": commission.code, "name": commission.name, "schemes": commission.schemes,
            "marks": commission.marks, "version": commission.version}


class Registry(ServiceApplication):
    name = "registry"
    published = (Scheme, Certificate, Commission)

    def __init__(self, env: dict[str, str] | None = None, clock=None, vault=None) -> None:
        super().__init__(env, clock, vault)
        self.catalogue = load_catalogue()

    # -- scheme catalogue ---------------------------------------------------------------------

    def register_scheme(self, spec: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None) -> Outcome:
        def command() -> Outcome:
            self.catalogue.check(spec["mark"], spec["certification_type"])
            if self.find(Scheme.create_id(spec["code"])) is not None:
                raise Duplicate(f"Scheme {spec['code'].upper()} already exists")
            scheme = Scheme(**spec, scheme_type=self.catalogue.scheme_type(spec["certification_type"]), actor=actor,
                            reason="scheme registered in the catalogue")
            return Outcome(201, scheme_view(scheme, self.clock.today()), [scheme])

        return self.execute(command, idempotency)

    def register_commission(self, spec: dict[str, Any], actor: str,
                            idempotency: IdempotencyKey | None = None) -> Outcome:
        """R53: a sectoral commission, responsible for known schemes or for the sector of a known mark."""
        def command() -> Outcome:
            if self.find(Commission.create_id(spec["code"])) is not None:
                raise Duplicate(f"Sectoral commission {spec['code'].upper()} already exists")
            for code in spec["schemes"]:
                self.scheme(code)  # 404 for a scheme the catalogue does not have
            for mark in spec["marks"]:
                if mark not in self.catalogue.marks:
                    raise InvalidCommand(f"Unknown mark {mark!r}; the catalogue has "
                                         f"{', '.join(sorted(self.catalogue.marks))}", field="marks")
            commission = Commission(**spec, actor=actor, reason="sectoral commission registered")
            return Outcome(201, commission_view(commission), [commission])

        return self.execute(command, idempotency)

    def commission(self, code: str) -> Commission:
        return self.load(Commission.create_id(code), "Commission", code.upper())

    def publish_document(
        self, code: str, document: dict[str, Any], actor: str, idempotency: IdempotencyKey | None = None
    ) -> Outcome:
        def command() -> Outcome:
            scheme = self.scheme(code)
            decision = document.pop("commission_decision", None)
            commission = self.find(Commission.create_id(decision["commission"])) if decision else None
            scheme.publish_document(
                **document, actor=actor, commission=commission, commission_decision=decision,
                today=self.clock.today(),
                reason=f"new document version published on decision {decision['reference']} of sectoral commission "
                       f"{decision['commission'].upper()}" if decision else "new document version published")
            return Outcome(201, scheme_view(scheme, self.clock.today()), [scheme])

        return self.execute(command, idempotency)

    def scheme(self, code: str) -> Scheme:
        return self.load(Scheme.create_id(code), "Scheme", code.upper())

    # -- certificates, driven by decisions ----------------------------------------------------

    def certificate(self, number: str) -> Certificate:
        return self.load(Certificate.create_id(number), "Certificate", number)

    # -- certificate documents (7.7) ----------------------------------------------------------------

    def certificate_document(
        self, number: str, *, revision: int | None, staff: bool, organisation: str | None, public_url: str,
        reader: str | None = None,
    ) -> tuple[dict[str, Any], str]:
        """The printable document of a revision (by default the current one), for the body's staff and
        the holder's staff (R38, R39), or the person a person certificate was issued to (R69): what it
        carries, and its HTML."""
        certificate = self.certificate(number)
        certificate.check_reader(staff=staff, organisation=organisation, reader=reader)
        facts = certificate.document(revision=revision, today=self.clock.today())
        scheme = self.scheme(certificate.scheme)
        html = documents.render(facts, body=self.catalogue.body, scheme_title=scheme.title, public_url=public_url,
                                mark_name=self.catalogue.marks.get(certificate.mark, ""))
        return facts, html

    def programme(self, number: str, *, staff: bool, organisation: str | None,
                  reader: str | None = None) -> dict[str, Any]:
        """R49: the certificate's surveillance programme, for the body's staff and the holder's staff (or the
        certified person, R69)."""
        certificate = self.certificate(number)
        certificate.check_reader(staff=staff, organisation=organisation, reader=reader)
        scheme = self.scheme(certificate.scheme)
        return certificate.programme(renewal_window_months=scheme.renewal_window_months,
                                     sampling_months=scheme.sampling_months, today=self.clock.today())

    def blank_certificate(self, public_url: str) -> str:
        """The blank certificate: what every certificate document carries, each field a placeholder."""
        return documents.blank(body=self.catalogue.body, public_url=public_url)

    def issue(self, decision: dict[str, Any], decision_id: str) -> list[Any]:
        scheme = self.scheme(decision["scheme"])
        numbering = self.find(Numbering.create_id()) or Numbering()
        number, quick_code = numbering.allocate(scheme.mark, decision_id, actor=decision["actor"])
        valid_from = date.fromisoformat(decision["effective_from"])
        # The first surveillance closes the admission period, or comes at the admission frequency when the scheme
        # sets one (R48); later ones follow the licence-period frequency.
        first_surveillance = scheme.admission_surveillance_months or scheme.admission_months \
            or scheme.surveillance_months
        admission = {"admission_until": add_months(valid_from, scheme.admission_months),
                     "admission_surveillance_months": scheme.admission_surveillance_months} \
            if scheme.admission_surveillance_months else {}
        certificate = Certificate(
            number=number,
            quick_code=quick_code,
            application_id=decision["application_id"],
            decision_id=decision_id,
            holder=decision["certified"]["holder"],
            production_unit=decision["certified"]["production_unit"],
            products=decision["certified"]["products"],
            scope=decision["certified"]["scope"],
            scheme=scheme.code,
            mark=scheme.mark,
            documents=scheme.current_documents(self.clock.today()),
            valid_from=valid_from,
            valid_until=add_months(valid_from, scheme.validity_months),
            surveillance_months=scheme.surveillance_months,
            surveillance_due=add_months(valid_from, first_surveillance),
            actor=decision["actor"],
            reason=f"granted by decision {decision_id}",
            **admission,
            **({"person": decision["certified"]["person"]} if decision["certified"].get("person") else {}),  # R69
            **({"level": decision["level"]} if decision.get("level") is not None else {}),  # R64
        )
        return [numbering, certificate]

    def sweep(self, numbers: list[str], actor: str = "hallmark:registry") -> list[str]:
        """Expire certificates past validity, flag overdue suspensions (R6, R44), overdue surveillance (7.9),
        conditional withdrawals past their deadline (R43) and TRA/PTV transitions past their deadline (R50).
        Returns the numbers of the certificates that changed."""
        changed = []
        today = self.clock.today()
        for number in numbers:

            def command(number: str = number) -> Outcome:
                certificate = self.certificate(number)
                scheme = self.scheme(certificate.scheme)
                flagged = (
                    certificate.expire(today=today, actor=actor)
                    or certificate.flag_suspension_overdue(
                        today=today, max_suspension_months=scheme.max_suspension_months, actor=actor
                    )
                    or certificate.flag_surveillance_overdue(today=today, actor=actor)
                    or certificate.flag_conditional_withdrawal_overdue(today=today, actor=actor)
                    or certificate.flag_transitions_overdue(today=today, scheme_documents=scheme.documents,
                                                            actor=actor)
                )
                return Outcome(200, {"changed": flagged}, [certificate] if flagged else [])

            try:
                if self.execute(command).body["changed"]:
                    changed.append(number)
            except NotFound:
                continue
            except Exception:  # one certificate's problem must not stop the sweep of the others
                log.exception("sweep of certificate %s failed; will retry at the next sweep", number)
        return changed

