"""The directory's three languages: which one a reader gets, and every string of the pages in each.

A reader's choice (``?lang=``, then the ``hallmark_lang`` cookie it leaves) comes before what the
browser asks for (``Accept-Language``, q-values honoured); English when nothing matches. The catalogs
are plain dictionaries with the same keys in every language (a test checks it), so a translator edits
one file and a missing string fails the tests instead of showing a key.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Callable

LANGUAGES = ("nl", "fr", "en")
DEFAULT = "en"
NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}
COOKIE = "hallmark_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

MAX_HEADER = 1000  # an Accept-Language longer than any browser's is read no further
_QVALUE = re.compile(r"^(0(\.\d{0,3})?|1(\.0{0,3})?)$")  # RFC 9110 12.4.2


def negotiate(header: str | None) -> str | None:
    """The supported language the ``Accept-Language`` header prefers most, or None.

    The highest q wins, ties go to the range listed first; ``nl-BE`` counts for ``nl``; ``*`` gives
    its q to the languages not named; ``q=0`` refuses a language; a malformed range is skipped."""
    if not header:
        return None
    named: dict[str, tuple[float, int]] = {}
    anything: tuple[float, int] | None = None
    for position, item in enumerate(header[:MAX_HEADER].split(",")):
        tag, *params = [part.strip() for part in item.split(";")]
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                if not _QVALUE.match(value.strip()):
                    break
                q = float(value)
        else:
            primary = tag.split("-")[0].lower()
            if tag == "*":
                anything = anything or (q, position)
            elif primary in LANGUAGES:
                best = named.get(primary)
                if best is None or q > best[0]:
                    named[primary] = (q, position if best is None else best[1])
    ranked = []
    for rank, language in enumerate((DEFAULT, *[x for x in LANGUAGES if x != DEFAULT])):
        q, position = named.get(language) or anything or (0.0, 0)
        if q > 0:
            ranked.append((-q, position, rank, language))
    return min(ranked)[3] if ranked else None


def choose(asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=``, else the remembered choice, else the browser's preference, else English."""
    for explicit in (asked, cookie):
        if explicit in LANGUAGES:
            return explicit
    return negotiate(accept_language) or DEFAULT


def translator(language: str) -> Callable[..., str]:
    catalog = CATALOGS[language]

    def t(key: str, **values: object) -> str:
        text = catalog[key]
        return text.format(**values) if values else text

    return t


def long_date(iso: str | None, language: str) -> str:
    """``2026-03-01`` as a reader of that language writes it: 1 maart 2026, 1er mars 2026, 1 March 2026."""
    try:
        day = date.fromisoformat((iso or "")[:10])
    except ValueError:
        return iso or ""
    month = CATALOGS[language]["months"].split()[day.month - 1]
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    return f"{number} {month} {day.year}"


STATUSES = ("active", "suspended", "withdrawn", "expired", "terminated", "superseded")

CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "months": "January February March April May June July August September October November December",
        "site.title": "Public directory of certificates",
        "site.tagline": "Certified construction products: the status and validity of every certificate, "
                        "suspended and withdrawn ones included.",
        "skip": "Skip to main content",
        "nav.language": "Language",
        "search.title": "Find a certificate",
        "search.intro": "Search by certificate number, quick code, holder, product or scope, or filter by mark, "
                        "status or scheme. Leave everything empty to list the whole directory.",
        "field.q": "Certificate number, quick code, holder or product",
        "field.q.hint": "For example BENOR-00001, the 8-digit quick code on a delivery note, or a company name.",
        "error.field.q": "Search text",
        "field.mark": "Mark",
        "field.mark.hint": "For example BENOR or COPRO.",
        "field.status": "Status",
        "field.scheme": "Scheme",
        "field.cursor": "Page",
        "field.number": "Certificate number",
        "field.on": "Date",
        "option.any_status": "Any status",
        "button.search": "Search",
        "button.check": "Check",
        "search.clear": "Clear the search",
        "results.title": "Results",
        "results.caption": "Certificates found, in order of number",
        "results.count.one": "1 certificate on this page.",
        "results.count.other": "{count} certificates on this page.",
        "results.none": "No certificate matches this search.",
        "results.next": "Next page",
        "results.first": "First page",
        "results.pages": "Pages of results",
        "col.number": "Certificate",
        "col.holder": "Holder",
        "col.products": "Products",
        "subject.person": "A certified person (the name is not published)",
        "col.mark": "Mark",
        "col.status": "Status",
        "col.valid_until": "Valid until",
        "quick_code.short": "quick code {code}",
        "cert.title": "Certificate {number}",
        "cert.back": "Back to the search",
        "cert.status_since": "since {date}",
        "cert.summary": "Certificate details",
        "cert.holder": "Holder",
        "cert.registration_number": "Company number {number}",
        "cert.production_unit": "Production unit",
        "cert.mark": "Mark",
        "cert.scheme": "Scheme",
        "cert.level": "Level certified",
        "cert.revision": "Revision",
        "cert.validity": "Validity",
        "cert.validity_period": "{start} to {end}",
        "cert.quick_code": "Quick code",
        "cert.scope": "Scope",
        "cert.scope_products": "Scope and products",
        "cert.products": "Products",
        "product.name": "Product",
        "product.type": "Type",
        "cert.documents": "Scheme documents",
        "cert.documents.intro": "The certificate applies these versions of the scheme's documents.",
        "doc.kind": "Document",
        "doc.ref": "Reference",
        "doc.version": "Version",
        "doc.effective_from": "In force since",
        "doc.kind.TRA": "Application regulations (TRA)",
        "doc.kind.PTV": "Technical prescriptions (PTV)",
        "doc.kind.IR": "Interpretation rules (IR)",
        "doc.kind.other": "Other document",
        "cert.transitions": "A new version of a document applies to this certificate: {ref} version {to_version} "
                            "replaces {from_version}; the certificate must move to it {deadline}.",
        "cert.transition.by": "by {date}",
        "cert.transition.unset": "by the date the scheme sets",
        "cert.history": "History of the status",
        "cert.history.caption": "Every change of status, oldest first",
        "history.effective_from": "Effective from",
        "history.status": "Status",
        "history.revision": "Revision",
        "cert.revisions": "Revisions",
        "cert.revisions.caption": "Every revision of the certificate; only the last one is in force",
        "revision.scope": "Scope",
        "revision.valid": "Valid",
        "valid.title": "Was it valid on a given date?",
        "valid.intro": "For example the day a product was delivered to a site.",
        "valid.label": "Date",
        "valid.hint": "Today or a date in the past (YYYY-MM-DD).",
        "valid.yes": "Valid on {date}: the certificate was active (revision {revision}).",
        "valid.no": "Not valid on {date}: the certificate's status was “{status}”.",
        "valid.not_yet": "Not valid on {date}: the certificate had not been issued yet.",
        "valid.future": "{date} is after today ({today}): validity is answered for past dates and today only, "
                        "since a status can still change.",
        "valid.bad_date": "“{value}” is not a date. Write it as YYYY-MM-DD, for example {example}.",
        "valid.empty": "Choose a date to check.",
        "machine.title": "For software and partners",
        "machine.intro": "The same answer as data. The signed answer is a token signed by the certification "
                         "body: keep it as proof of what the directory said, and when.",
        "machine.jwt": "Signed answer (JWT)",
        "machine.json": "JSON",
        "footer.transparency": "Every recorded step of every certification file is entered in a public, "
                               "append-only log that anyone can check:",
        "footer.transparency.link": "the transparency log",
        "footer.api": "The directory as data:",
        "footer.api.link": "the public API",
        "footer.privacy": "This directory names companies, production units and products, never people.",
        "report.title": "Report misuse of a mark",
        "report.intro": "Has a company used a mark (BENOR, COPRO, ...) without a valid certificate, or quoted a "
                        "certificate that is not its own? Tell us. We register your report as a complaint, acknowledge "
                        "it and let you know the outcome.",
        "report.privacy": "We need your name and an e-mail or postal address to answer you; anonymous reports cannot "
                          "be handled. Your name and address are never published and never passed on to the company "
                          "concerned.",
        "report.about": "The misuse",
        "report.you": "You",
        "report.mark": "Mark",
        "report.misuser": "Company that uses the mark",
        "report.misuser.hint": "Its name as it appears on the product, the delivery note or its website.",
        "report.certificate": "Certificate number it quotes (if any)",
        "report.description": "What did you see, where and when?",
        "report.name": "Your name",
        "report.email": "Your e-mail address",
        "report.address": "Or your postal address",
        "report.contact.hint": "Give at least one of the two.",
        "report.submit": "Send the report",
        "report.required": "{field}: required.",
        "report.contact_required": "Give an e-mail address or a postal address, so that we can answer you.",
        "report.email_invalid": "{field}: not an e-mail address.",
        "report.received.title": "Report received",
        "report.received.text": "Thank you. Your report is registered as complaint {reference} of {date}. Quote this "
                                "reference in any correspondence; we will acknowledge it and tell you the outcome.",
        "report.unavailable": "This server does not take reports. Send yours to the certification body's complaints "
                              "service: through its API (POST /public/v1/complaints on the decisions service), or in "
                              "writing with the same details.",
        "footer.report": "Seen a mark used without a certificate?",
        "footer.report.link": "Report misuse of a mark",
        "error.title": "Error",
        "error.404.title": "Certificate not found",
        "error.404.text": "No certificate has the number or quick code “{number}”. Check the number on the "
                          "certificate or the delivery note, or search the directory.",
        "error.422.title": "This search cannot be answered",
        "error.422.intro": "Please correct the following:",
        "error.too_long": "{field}: at most {max} characters.",
        "error.characters": "{field}: contains a character that is not allowed (a control or text-direction "
                            "character).",
        "error.invalid": "{field}: not a valid value.",
        "error.status": "{field}: not one of the statuses offered.",
        "error.cursor": "This page link is not one the directory gave out; start the search again.",
        "notice.suspended": "Suspended: the certificate is not valid while suspended, and the holder may not use the "
                            "{mark} mark.",
        "notice.withdrawn": "Withdrawn: the certificate is no longer valid, and the holder may not use the {mark} "
                            "mark.",
        "notice.expired": "Expired: the validity period has ended; the certificate is no longer valid.",
        "notice.terminated": "Terminated at the holder's request: the certificate is no longer valid.",
        "notice.superseded": "Superseded: a newer revision of this certificate replaces it.",
        "status.active": "active",
        "status.suspended": "suspended",
        "status.withdrawn": "withdrawn",
        "status.expired": "expired",
        "status.terminated": "terminated",
        "status.superseded": "superseded",
        "status.not yet certified": "not yet certified",
    },
    "nl": {
        "months": "januari februari maart april mei juni juli augustus september oktober november december",
        "site.title": "Openbaar register van certificaten",
        "site.tagline": "Gecertificeerde bouwproducten: de status en geldigheid van elk certificaat, ook de "
                        "geschorste en ingetrokken.",
        "skip": "Naar de hoofdinhoud",
        "nav.language": "Taal",
        "search.title": "Een certificaat zoeken",
        "search.intro": "Zoek op certificaatnummer, snelcode, houder, product of toepassingsgebied, of filter op "
                        "merk, status of schema. Laat alles leeg om het hele register te tonen.",
        "field.q": "Certificaatnummer, snelcode, houder of product",
        "field.q.hint": "Bijvoorbeeld BENOR-00001, de snelcode van 8 cijfers op een leveringsbon, of een "
                        "bedrijfsnaam.",
        "error.field.q": "Zoektekst",
        "field.mark": "Merk",
        "field.mark.hint": "Bijvoorbeeld BENOR of COPRO.",
        "field.status": "Status",
        "field.scheme": "Schema",
        "field.cursor": "Pagina",
        "field.number": "Certificaatnummer",
        "field.on": "Datum",
        "option.any_status": "Elke status",
        "button.search": "Zoeken",
        "button.check": "Controleren",
        "search.clear": "Zoekopdracht wissen",
        "results.title": "Resultaten",
        "results.caption": "Gevonden certificaten, op nummer gerangschikt",
        "results.count.one": "1 certificaat op deze pagina.",
        "results.count.other": "{count} certificaten op deze pagina.",
        "results.none": "Geen enkel certificaat voldoet aan deze zoekopdracht.",
        "results.next": "Volgende pagina",
        "results.first": "Eerste pagina",
        "results.pages": "Pagina's met resultaten",
        "col.number": "Certificaat",
        "col.holder": "Houder",
        "col.products": "Producten",
        "subject.person": "Een gecertificeerde persoon (de naam wordt niet gepubliceerd)",
        "col.mark": "Merk",
        "col.status": "Status",
        "col.valid_until": "Geldig tot en met",
        "quick_code.short": "snelcode {code}",
        "cert.title": "Certificaat {number}",
        "cert.back": "Terug naar het zoeken",
        "cert.status_since": "sinds {date}",
        "cert.summary": "Gegevens van het certificaat",
        "cert.holder": "Houder",
        "cert.registration_number": "Ondernemingsnummer {number}",
        "cert.production_unit": "Productie-eenheid",
        "cert.mark": "Merk",
        "cert.scheme": "Schema",
        "cert.level": "Gecertificeerd niveau",
        "cert.revision": "Revisie",
        "cert.validity": "Geldigheid",
        "cert.validity_period": "{start} tot en met {end}",
        "cert.quick_code": "Snelcode",
        "cert.scope": "Toepassingsgebied",
        "cert.scope_products": "Toepassingsgebied en producten",
        "cert.products": "Producten",
        "product.name": "Product",
        "product.type": "Type",
        "cert.documents": "Documenten van het schema",
        "cert.documents.intro": "Het certificaat steunt op deze versies van de documenten van het schema.",
        "doc.kind": "Document",
        "doc.ref": "Referentie",
        "doc.version": "Versie",
        "doc.effective_from": "Van kracht sinds",
        "doc.kind.TRA": "Toepassingsreglement (TRA)",
        "doc.kind.PTV": "Technische voorschriften (PTV)",
        "doc.kind.IR": "Interpretatieregels (IR)",
        "doc.kind.other": "Ander document",
        "cert.transitions": "Een nieuwe versie van een document geldt voor dit certificaat: {ref} versie "
                            "{to_version} vervangt {from_version}; het certificaat moet {deadline} overstappen.",
        "cert.transition.by": "uiterlijk op {date}",
        "cert.transition.unset": "uiterlijk op de datum die het schema bepaalt",
        "cert.history": "Historiek van de status",
        "cert.history.caption": "Elke wijziging van de status, de oudste eerst",
        "history.effective_from": "Van kracht vanaf",
        "history.status": "Status",
        "history.revision": "Revisie",
        "cert.revisions": "Revisies",
        "cert.revisions.caption": "Elke revisie van het certificaat; alleen de laatste is van kracht",
        "revision.scope": "Toepassingsgebied",
        "revision.valid": "Geldig",
        "valid.title": "Was het geldig op een bepaalde datum?",
        "valid.intro": "Bijvoorbeeld de dag waarop een product op een werf werd geleverd.",
        "valid.label": "Datum",
        "valid.hint": "Vandaag of een datum in het verleden (JJJJ-MM-DD).",
        "valid.yes": "Geldig op {date}: het certificaat was actief (revisie {revision}).",
        "valid.no": "Niet geldig op {date}: de status van het certificaat was “{status}”.",
        "valid.not_yet": "Niet geldig op {date}: het certificaat was nog niet uitgereikt.",
        "valid.future": "{date} ligt na vandaag ({today}): de geldigheid wordt alleen voor vandaag en voor "
                        "voorbije datums beantwoord, omdat een status nog kan wijzigen.",
        "valid.bad_date": "“{value}” is geen datum. Schrijf ze als JJJJ-MM-DD, bijvoorbeeld {example}.",
        "valid.empty": "Kies een datum om te controleren.",
        "machine.title": "Voor software en partners",
        "machine.intro": "Hetzelfde antwoord als gegevens. Het ondertekende antwoord is een token dat de "
                         "certificatie-instelling ondertekent: bewaar het als bewijs van wat het register "
                         "toonde, en wanneer.",
        "machine.jwt": "Ondertekend antwoord (JWT)",
        "machine.json": "JSON",
        "footer.transparency": "Elke geregistreerde stap van elk certificatiedossier staat in een openbaar logboek "
                               "waaraan alleen kan worden toegevoegd en dat iedereen kan nagaan:",
        "footer.transparency.link": "het transparantielogboek",
        "footer.api": "Het register als gegevens:",
        "footer.api.link": "de openbare API",
        "footer.privacy": "Dit register noemt bedrijven, productie-eenheden en producten, nooit personen.",
        "report.title": "Misbruik van een merk melden",
        "report.intro": "Gebruikt een bedrijf een merk (BENOR, COPRO, ...) zonder geldig certificaat, of vermeldt het "
                        "een certificaat dat niet het zijne is? Laat het ons weten. We registreren uw melding als "
                        "klacht, bevestigen de ontvangst en laten u de uitkomst weten.",
        "report.privacy": "We hebben uw naam en een e-mail- of postadres nodig om u te antwoorden; anonieme meldingen "
                          "kunnen we niet behandelen. Uw naam en adres worden nooit gepubliceerd en nooit doorgegeven "
                          "aan het betrokken bedrijf.",
        "report.about": "Het misbruik",
        "report.you": "Uw gegevens",
        "report.mark": "Merk",
        "report.misuser": "Bedrijf dat het merk gebruikt",
        "report.misuser.hint": "De naam zoals die op het product, de leveringsbon of de website staat.",
        "report.certificate": "Vermeld certificaatnummer (indien van toepassing)",
        "report.description": "Wat hebt u gezien, waar en wanneer?",
        "report.name": "Uw naam",
        "report.email": "Uw e-mailadres",
        "report.address": "Of uw postadres",
        "report.contact.hint": "Vul er minstens één van beide in.",
        "report.submit": "Melding versturen",
        "report.required": "{field}: verplicht.",
        "report.contact_required": "Geef een e-mailadres of een postadres op, zodat we u kunnen antwoorden.",
        "report.email_invalid": "{field}: geen geldig e-mailadres.",
        "report.received.title": "Melding ontvangen",
        "report.received.text": "Dank u. Uw melding is geregistreerd als klacht {reference} van {date}. Vermeld dit "
                                "kenmerk in elke briefwisseling; we bevestigen de ontvangst en laten u de uitkomst "
                                "weten.",
        "report.unavailable": "Deze server neemt geen meldingen aan. Stuur uw melding naar de klachtendienst van de "
                              "certificatie-instelling: via haar API (POST /public/v1/complaints van de dienst "
                              "decisions), of schriftelijk met dezelfde gegevens.",
        "footer.report": "Een merk gezien zonder certificaat?",
        "footer.report.link": "Misbruik van een merk melden",
        "error.title": "Fout",
        "error.404.title": "Certificaat niet gevonden",
        "error.404.text": "Geen enkel certificaat heeft het nummer of de snelcode “{number}”. Controleer het "
                          "nummer op het certificaat of de leveringsbon, of zoek in het register.",
        "error.422.title": "Deze zoekopdracht kan niet worden beantwoord",
        "error.422.intro": "Verbeter het volgende:",
        "error.too_long": "{field}: hoogstens {max} tekens.",
        "error.characters": "{field}: bevat een teken dat niet is toegestaan (een stuur- of "
                            "tekstrichtingsteken).",
        "error.invalid": "{field}: geen geldige waarde.",
        "error.status": "{field}: geen van de aangeboden statussen.",
        "error.cursor": "Deze paginalink komt niet van het register; begin de zoekopdracht opnieuw.",
        "notice.suspended": "Geschorst: zolang de schorsing duurt, is het certificaat niet geldig en mag de houder "
                            "het {mark}-merk niet gebruiken.",
        "notice.withdrawn": "Ingetrokken: het certificaat is niet meer geldig en de houder mag het {mark}-merk niet "
                            "gebruiken.",
        "notice.expired": "Verlopen: de geldigheidsduur is voorbij; het certificaat is niet meer geldig.",
        "notice.terminated": "Beëindigd op verzoek van de houder: het certificaat is niet meer geldig.",
        "notice.superseded": "Vervangen: een nieuwere revisie van dit certificaat vervangt het.",
        "status.active": "actief",
        "status.suspended": "geschorst",
        "status.withdrawn": "ingetrokken",
        "status.expired": "verlopen",
        "status.terminated": "beëindigd",
        "status.superseded": "vervangen",
        "status.not yet certified": "nog niet gecertificeerd",
    },
    "fr": {
        "months": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "site.title": "Répertoire public des certificats",
        "site.tagline": "Produits de construction certifiés : le statut et la validité de chaque certificat, y "
                        "compris les certificats suspendus et retirés.",
        "skip": "Aller au contenu principal",
        "nav.language": "Langue",
        "search.title": "Rechercher un certificat",
        "search.intro": "Recherchez par numéro de certificat, code rapide, titulaire, produit ou portée, ou "
                        "filtrez par marque, statut ou schéma. Laissez tout vide pour afficher tout le répertoire.",
        "field.q": "Numéro de certificat, code rapide, titulaire ou produit",
        "field.q.hint": "Par exemple BENOR-00001, le code rapide à 8 chiffres d'un bon de livraison, ou le nom "
                        "d'une entreprise.",
        "error.field.q": "Texte recherché",
        "field.mark": "Marque",
        "field.mark.hint": "Par exemple BENOR ou COPRO.",
        "field.status": "Statut",
        "field.scheme": "Schéma",
        "field.cursor": "Page",
        "field.number": "Numéro de certificat",
        "field.on": "Date",
        "option.any_status": "Tous les statuts",
        "button.search": "Rechercher",
        "button.check": "Vérifier",
        "search.clear": "Effacer la recherche",
        "results.title": "Résultats",
        "results.caption": "Certificats trouvés, par ordre de numéro",
        "results.count.one": "1 certificat sur cette page.",
        "results.count.other": "{count} certificats sur cette page.",
        "results.none": "Aucun certificat ne correspond à cette recherche.",
        "results.next": "Page suivante",
        "results.first": "Première page",
        "results.pages": "Pages de résultats",
        "col.number": "Certificat",
        "col.holder": "Titulaire",
        "col.products": "Produits",
        "subject.person": "Une personne certifiée (le nom n'est pas publié)",
        "col.mark": "Marque",
        "col.status": "Statut",
        "col.valid_until": "Valable jusqu'au",
        "quick_code.short": "code rapide {code}",
        "cert.title": "Certificat {number}",
        "cert.back": "Retour à la recherche",
        "cert.status_since": "depuis le {date}",
        "cert.summary": "Données du certificat",
        "cert.holder": "Titulaire",
        "cert.registration_number": "Numéro d'entreprise {number}",
        "cert.production_unit": "Unité de production",
        "cert.mark": "Marque",
        "cert.scheme": "Schéma",
        "cert.level": "Niveau certifié",
        "cert.revision": "Révision",
        "cert.validity": "Validité",
        "cert.validity_period": "du {start} au {end}",
        "cert.quick_code": "Code rapide",
        "cert.scope": "Portée",
        "cert.scope_products": "Portée et produits",
        "cert.products": "Produits",
        "product.name": "Produit",
        "product.type": "Type",
        "cert.documents": "Documents du schéma",
        "cert.documents.intro": "Le certificat se réfère à ces versions des documents du schéma.",
        "doc.kind": "Document",
        "doc.ref": "Référence",
        "doc.version": "Version",
        "doc.effective_from": "En vigueur depuis le",
        "doc.kind.TRA": "Règlement d'application (TRA)",
        "doc.kind.PTV": "Prescriptions techniques (PTV)",
        "doc.kind.IR": "Règles d'interprétation (IR)",
        "doc.kind.other": "Autre document",
        "cert.transitions": "Une nouvelle version d'un document s'applique à ce certificat : {ref} version "
                            "{to_version} remplace {from_version} ; le certificat doit y passer {deadline}.",
        "cert.transition.by": "au plus tard le {date}",
        "cert.transition.unset": "à la date fixée par le schéma",
        "cert.history": "Historique du statut",
        "cert.history.caption": "Chaque changement de statut, du plus ancien au plus récent",
        "history.effective_from": "En vigueur à partir du",
        "history.status": "Statut",
        "history.revision": "Révision",
        "cert.revisions": "Révisions",
        "cert.revisions.caption": "Chaque révision du certificat ; seule la dernière est en vigueur",
        "revision.scope": "Portée",
        "revision.valid": "Validité",
        "valid.title": "Était-il valable à une date donnée ?",
        "valid.intro": "Par exemple le jour où un produit a été livré sur un chantier.",
        "valid.label": "Date",
        "valid.hint": "Aujourd'hui ou une date passée (AAAA-MM-JJ).",
        "valid.yes": "Valable le {date} : le certificat était actif (révision {revision}).",
        "valid.no": "Non valable le {date} : le statut du certificat était « {status} ».",
        "valid.not_yet": "Non valable le {date} : le certificat n'avait pas encore été délivré.",
        "valid.future": "Le {date} est postérieur à aujourd'hui ({today}) : la validité n'est donnée que pour "
                        "aujourd'hui et les dates passées, car un statut peut encore changer.",
        "valid.bad_date": "« {value} » n'est pas une date. Écrivez-la sous la forme AAAA-MM-JJ, par exemple "
                          "{example}.",
        "valid.empty": "Choisissez une date à vérifier.",
        "machine.title": "Pour les logiciels et les partenaires",
        "machine.intro": "La même réponse sous forme de données. La réponse signée est un jeton signé par "
                         "l'organisme de certification : conservez-la comme preuve de ce que le répertoire "
                         "indiquait, et quand.",
        "machine.jwt": "Réponse signée (JWT)",
        "machine.json": "JSON",
        "footer.transparency": "Chaque étape enregistrée de chaque dossier de certification figure dans un journal "
                               "public, auquel on ne peut qu'ajouter, et que chacun peut vérifier :",
        "footer.transparency.link": "le journal de transparence",
        "footer.api": "Le répertoire sous forme de données :",
        "footer.api.link": "l'API publique",
        "footer.privacy": "Ce répertoire nomme des entreprises, des unités de production et des produits, jamais "
                          "des personnes.",
        "report.title": "Signaler l'usage abusif d'une marque",
        "report.intro": "Une entreprise utilise-t-elle une marque (BENOR, COPRO, ...) sans certificat valable, ou "
                        "cite-t-elle un certificat qui n'est pas le sien ? Signalez-le-nous. Nous enregistrons votre "
                        "signalement comme plainte, en accusons réception et vous communiquons la suite donnée.",
        "report.privacy": "Nous avons besoin de votre nom et d'une adresse e-mail ou postale pour vous répondre ; un "
                          "signalement anonyme ne peut être traité. Votre nom et votre adresse ne sont jamais publiés "
                          "ni communiqués à l'entreprise concernée.",
        "report.about": "L'usage abusif",
        "report.you": "Vos coordonnées",
        "report.mark": "Marque",
        "report.misuser": "Entreprise qui utilise la marque",
        "report.misuser.hint": "Son nom tel qu'il figure sur le produit, le bon de livraison ou son site web.",
        "report.certificate": "Numéro de certificat cité (le cas échéant)",
        "report.description": "Qu'avez-vous constaté, où et quand ?",
        "report.name": "Votre nom",
        "report.email": "Votre adresse e-mail",
        "report.address": "Ou votre adresse postale",
        "report.contact.hint": "Indiquez au moins l'une des deux.",
        "report.submit": "Envoyer le signalement",
        "report.required": "{field} : obligatoire.",
        "report.contact_required": "Indiquez une adresse e-mail ou postale, afin que nous puissions vous répondre.",
        "report.email_invalid": "{field} : adresse e-mail non valable.",
        "report.received.title": "Signalement reçu",
        "report.received.text": "Merci. Votre signalement est enregistré comme plainte {reference} du {date}. "
                                "Mentionnez cette référence dans toute correspondance ; nous en accuserons réception "
                                "et vous communiquerons la suite donnée.",
        "report.unavailable": "Ce serveur ne reçoit pas les signalements. Adressez le vôtre au service des plaintes de "
                              "l'organisme de certification : par son API (POST /public/v1/complaints du service "
                              "decisions), ou par écrit avec les mêmes informations.",
        "footer.report": "Vous avez vu une marque utilisée sans certificat ?",
        "footer.report.link": "Signaler l'usage abusif d'une marque",
        "error.title": "Erreur",
        "error.404.title": "Certificat introuvable",
        "error.404.text": "Aucun certificat ne porte le numéro ou le code rapide « {number} ». Vérifiez le "
                          "numéro sur le certificat ou le bon de livraison, ou faites une recherche dans le "
                          "répertoire.",
        "error.422.title": "Cette recherche ne peut pas aboutir",
        "error.422.intro": "Veuillez corriger ce qui suit :",
        "error.too_long": "{field} : {max} caractères au maximum.",
        "error.characters": "{field} : contient un caractère non autorisé (un caractère de contrôle ou de sens "
                            "d'écriture).",
        "error.invalid": "{field} : valeur non valable.",
        "error.status": "{field} : ne fait pas partie des statuts proposés.",
        "error.cursor": "Ce lien de page ne provient pas du répertoire ; recommencez la recherche.",
        "notice.suspended": "Suspendu : pendant la suspension, le certificat n'est pas valable et le titulaire ne "
                            "peut pas utiliser la marque {mark}.",
        "notice.withdrawn": "Retiré : le certificat n'est plus valable et le titulaire ne peut pas utiliser la "
                            "marque {mark}.",
        "notice.expired": "Expiré : la période de validité est terminée ; le certificat n'est plus valable.",
        "notice.terminated": "Résilié à la demande du titulaire : le certificat n'est plus valable.",
        "notice.superseded": "Remplacé : une révision plus récente de ce certificat le remplace.",
        "status.active": "actif",
        "status.suspended": "suspendu",
        "status.withdrawn": "retiré",
        "status.expired": "expiré",
        "status.terminated": "résilié",
        "status.superseded": "remplacé",
        "status.not yet certified": "pas encore certifié",
    },
}
