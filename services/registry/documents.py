"""The certificate document (ISO/IEC 17065 7.7): one printable page per certificate revision, and the blank
template that shows the assessor what every certificate carries.

``render`` is a pure function of what the registry knows of a revision (``Certificate.document``), the
catalogue and the public directory's base URL: the same input gives the same bytes. The page loads nothing
(no scripts, fonts or images; inline CSS and an inline SVG of the mark), prints on A4, names no person (R9:
the signatory is the body's role) but the certified person of a person certificate, which only the staff and
that person read (R69), and says plainly when the certificate is not valid (R39).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

TEMPLATE = "certificate.html"

# R39: what the status block says, per state. {since} is the day the state took effect.
HEADLINES = {
    "active": ("VALID", "Valid on {on}",
               "This certificate is valid on {on}: revision {revision} is its current revision, valid until "
               "{valid_until}. The holder may use the {mark} mark on the products listed."),
    "pending": ("NOT YET IN FORCE", "Not yet in force on {on}",
                "This revision takes effect on {valid_from}; until then the holder may not rely on it."),
    "suspended": ("SUSPENDED", "SUSPENDED since {since}: not valid",
                  "This certificate is suspended since {since}. While it is suspended it is not valid and the "
                  "holder may not use the {mark} mark."),
    "withdrawn": ("WITHDRAWN", "WITHDRAWN on {since}: no longer valid",
                  "This certificate was withdrawn on {since}. It is no longer valid and the holder may not use "
                  "the {mark} mark."),
    "expired": ("EXPIRED", "EXPIRED on {since}: no longer valid",
                "The validity of this certificate ended on {valid_until}. It is no longer valid and the holder "
                "may not use the {mark} mark."),
    "terminated": ("TERMINATED", "TERMINATED on {since}: no longer valid",
                   "This certificate was terminated at the holder's request on {since}. It is no longer valid and "
                   "the holder may not use the {mark} mark."),
    "superseded": ("SUPERSEDED", "SUPERSEDED on {since} by revision {superseded_by}: obsolete",
                   "Revision {revision} was replaced by revision {superseded_by} on {since}. This document is "
                   "obsolete; the certificate's current revision is {current_revision} ({certificate_status})."),
}


def public_page(public_url: str, number: str) -> str:
    """The public directory's page of a certificate (services/directory: /certificates/{number})."""
    return f"{public_url.rstrip('/')}/certificates/{quote(number, safe='')}"


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def status_block(facts: dict[str, Any]) -> dict[str, Any]:
    """R39: the status printed on the document, in words."""
    status = facts["status"]
    state = status["state"]
    if state == "active" and not status["valid"]:  # past validity the domain already says expired
        state = "pending"
    label, headline, detail = HEADLINES[state]
    words = {key: _iso(value) for key, value in {**facts, **status}.items() if not isinstance(value, (dict, list))}
    return {"state": state, "valid": status["valid"], "label": label, "headline": headline.format(**words),
            "detail": detail.format(**words), "on": _iso(status["on"])}


def render(facts: dict[str, Any], *, body: dict[str, str], mark_name: str, scheme_title: str,
           public_url: str) -> str:
    """The certificate document of one revision, as HTML that prints on A4."""
    context = {
        "blank": False,
        "body": {k: body.get(k, "") for k in ("name", "accreditation", "address", "signatory")},
        "number": facts["number"],
        "quick_code": facts["quick_code"],
        "mark": facts["mark"],
        "mark_name": mark_name,
        "scheme": facts["scheme"],
        "scheme_title": scheme_title,
        "level": facts.get("level"),  # R64: a system certificate's level
        "person": facts.get("person"),  # R69: a person certificate's person (printed for staff and the person)
        "documents": facts["documents"],
        "holder": facts["holder"],
        "production_unit": facts["production_unit"],
        "scope": facts["scope"],
        "products": facts["products"],
        "valid_from": _iso(facts["valid_from"]),
        "valid_until": _iso(facts["valid_until"]),
        "revision": str(facts["revision"]),
        "revision_on": _iso(facts["on"]),
        "first_issued_on": _iso(facts["first_issued_on"]),
        "current_revision": str(facts["current_revision"]),
        "status": status_block(facts),
        "public_url": public_page(public_url, facts["number"]),
    }
    return templates.get_template(TEMPLATE).render(**context)


def blank(*, body: dict[str, str], public_url: str) -> str:
    """The blank certificate (17065 7.7): the same document with every field named as a placeholder."""
    context = {
        "blank": True,
        "body": {k: body.get(k, "") for k in ("name", "accreditation", "address", "signatory")},
        "number": "[certificate number]",
        "quick_code": "[quick code]",
        "mark": "[mark]",
        "mark_name": "[name of the mark]",
        "scheme": "[scheme code]",
        "scheme_title": "[scheme title]",
        "level": None,  # the blank is a product certificate's: no level row (R64 adds one under a levelled scheme)
        "person": None,  # nor a person's (R69: a person certificate names the person instead of holder and products)
        "documents": [{"kind": "[kind: TRA, PTV, ...]", "ref": "[document reference]",
                       "version": "[version in force at this revision]"}],
        "holder": {"name": "[holder: legal entity]", "registration_number": "[registration number]",
                   "address": "[holder's address]"},
        "production_unit": {"name": "[production unit]", "address": "[production unit's address]"},
        "scope": "[scope of certification]",
        "products": [{"name": "[product: trade name]", "type": "[type]", "description": "[description]"}],
        "valid_from": "[valid from]",
        "valid_until": "[valid until: last valid day]",
        "revision": "[revision]",
        "revision_on": "[date of the revision]",
        "first_issued_on": "[date of first issue]",
        "current_revision": "[current revision]",
        "status": {
            "state": "blank", "valid": False, "label": "SPECIMEN", "on": "[date printed]",
            "headline": "[Status on the day printed]",
            "detail": "[VALID until ...; or SUSPENDED since ...; WITHDRAWN on ...; EXPIRED on ...; TERMINATED "
                      "on ...; SUPERSEDED on ... by revision ...: each not valid, said plainly]",
        },
        "public_url": f"{public_url.rstrip('/')}/certificates/[certificate number]",
    }
    return templates.get_template(TEMPLATE).render(**context)
