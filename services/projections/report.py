"""The report for people inside an evidence pack: one certification file (or a period) as an assessor
reads it, printed on A4.

``render_report`` is a pure function of the pack's manifest and entries: no clock, no random ids, no
machine settings (times are shown in the certification body's zone, Europe/Brussels). The verifier
renders it again from the pack's entries and compares the bytes, so the same input must always give
the same text. The page loads nothing: no scripts, no fonts, no images; its only CSS is inline.

Everything shown comes from users and is escaped. A person whose data was erased appears as the
marker the log holds (``[erased person p-…]``), in italics.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from services.projections.impartiality import impartiality
from shared.contract.types import (
    APPEAL_DECIDED,
    APPEAL_LODGED,
    APPLICATION_DECIDED,
    APPLICATION_INFORMATION_SUPPLIED,
    APPLICATION_REVIEWED,
    APPLICATION_SUBMITTED,
    APPLICATION_WITHDRAWN,
    AUDIT_FINDING_CLOSED,
    AUDIT_FINDING_RECORDED,
    AUDIT_PLANNED,
    AUDIT_REPORTED,
    AUDIT_TEAM_MEMBER_ASSIGNED,
    CERTIFICATE_APPEAL_UPHELD,
    CERTIFICATE_DECISION_NOT_APPLIED,
    CERTIFICATE_ISSUED,
    CERTIFICATE_MAINTAINED,
    CERTIFICATE_REVISED,
    CERTIFICATE_STATUS_CHANGED,
    CERTIFICATE_SURVEILLANCE_OVERDUE,
    CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED,
    DECISION_RECORDED,
)

ZONE = ZoneInfo("Europe/Brussels")
TITLE = "Certification file evidence report"
_ERASED = re.compile(r"\[erased person[^\]]*\]")

Entry = dict[str, Any]
Html = str

# -- text ------------------------------------------------------------------------------------------


def _text(value: Any) -> Html:
    """A value as escaped text; erased persons visibly marked."""
    if value is None or value == "":
        return '<span class="none">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return _value(value)
    text = str(value)
    out, at = [], 0
    for match in _ERASED.finditer(text):
        out.append(escape(text[at:match.start()]))
        out.append(f'<em class="erased">{escape(match.group())}</em>')
        at = match.end()
    out.append(escape(text[at:]))
    return "".join(out)


def _day(value: Any) -> Html:
    """A date that does not break at its hyphens in a narrow column."""
    return f'<span class="nowrap">{_text(value)}</span>'


def _mono(value: Any) -> Html:
    return f'<span class="mono">{_text(value)}</span>'


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _value(value: Any, top: bool = True) -> Html:
    """Any data, compactly: scalars as text, lists comma-separated or numbered, objects as key/value
    lists (an inner object of plain values on one line)."""
    if isinstance(value, dict):
        if not value:
            return '<span class="none">—</span>'
        keys = sorted(value, key=str)
        if not top and all(_scalar(value[k]) for k in keys):
            return " · ".join(f'<span class="key">{escape(str(k))}</span> {_text(value[k])}' for k in keys)
        rows = "".join(f"<dt>{escape(str(k))}</dt><dd>{_value(value[k], False)}</dd>" for k in keys)
        return f'<dl class="kv">{rows}</dl>'
    if isinstance(value, list):
        if not value:
            return '<span class="none">none</span>'
        if all(_scalar(v) for v in value):
            return ", ".join(_text(v) for v in value)
        return '<ol class="items">' + "".join(f"<li>{_value(v, False)}</li>" for v in value) + "</ol>"
    return _text(value)


def _when(at: Any, short: bool = False) -> Html:
    """An entry's time in the certification body's zone, the zone named."""
    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        return _text(at)
    if moment.tzinfo is None:
        return _text(at)
    local = moment.astimezone(ZONE)
    if short:
        return escape(f"{local:%Y-%m-%d %H:%M} {local.tzname()}")
    offset = local.isoformat()[-6:]
    return escape(f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} (UTC{offset})")


def _products(products: Any) -> Html:
    if not isinstance(products, list) or not products:
        return _value(products)
    items = []
    for product in products:
        if not isinstance(product, dict):
            items.append(f"<li>{_value(product)}</li>")
            continue
        line = f"{_text(product.get('name'))} ({_text(product.get('type'))})"
        if product.get("description"):
            line += f": {_text(product['description'])}"
        items.append(f"<li>{line}</li>")
    return '<ul class="plain">' + "".join(items) + "</ul>"


def _party(party: Any) -> Html:
    """An applicant, holder or production unit: name, registration number, address."""
    if not isinstance(party, dict):
        return _value(party)
    parts = [f"<strong>{_text(party.get('name'))}</strong>"]
    if party.get("registration_number"):
        parts.append(_mono(party["registration_number"]))
    if party.get("address"):
        parts.append(_text(party["address"]))
    return ", ".join(parts)


def _documents(documents: Any) -> Html:
    if not isinstance(documents, list) or not documents:
        return _value(documents)
    items = []
    for doc in documents:
        if not isinstance(doc, dict):
            items.append(f"<li>{_value(doc)}</li>")
            continue
        line = (f"{_text(doc.get('kind'))} {_text(doc.get('ref'))} version {_text(doc.get('version'))},"
                f" in effect from {_text(doc.get('effective_from'))}")
        if doc.get("transition_deadline"):
            line += f", transition until {_text(doc['transition_deadline'])}"
        items.append(f"<li>{line}</li>")
    return '<ul class="plain">' + "".join(items) + "</ul>"


def _consultancy(consultancy: Any) -> Html:
    if not isinstance(consultancy, list):
        return _value(consultancy)
    rows = [[_text(c.get("person")), _text(c.get("organisation")),
             _day(c.get("until")) if c.get("until") else "ongoing"] if isinstance(c, dict) else [_value(c), "", ""]
            for c in consultancy]
    return _table(["Adviser", "Organisation", "Until"], rows, empty="None declared.")


# -- building blocks -------------------------------------------------------------------------------


def _data(entry: Entry) -> dict[str, Any]:
    data = entry.get("data")
    return data if isinstance(data, dict) else {}


def _ref(entry: Entry) -> Html:
    """The entry's log index, linked to the timeline, and when it was recorded."""
    index = escape(str(entry.get("index", "?")))
    return f'<a class="ref" href="#entry-{index}">#{index}</a> <span class="at">{_when(entry.get("at"), True)}</span>'


def _table(headers: list[str], rows: list[list[Html]], empty: str = "None recorded.", cls: str = "") -> Html:
    if not rows:
        return f'<p class="none">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    klass = f' class="{escape(cls)}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fields(pairs: Iterable[tuple[str, Html]]) -> Html:
    rows = "".join(f"<tr><th>{escape(label)}</th><td>{value}</td></tr>" for label, value in pairs)
    return f'<table class="fields"><tbody>{rows}</tbody></table>'


def _section(anchor: str, number: int, title: str, body: Html, cls: str = "") -> Html:
    klass = f' class="{cls}"' if cls else ""
    return f'<section id="{anchor}"{klass}>\n<h2>{number}. {escape(title)}</h2>\n{body}\n</section>'


def _short_type(kind: Any) -> str:
    return str(kind).split(".", 1)[-1]


def _by_subject(entries: list[Entry]) -> list[tuple[str, list[Entry]]]:
    """Entries grouped by subject (aggregate), groups in order of first appearance, entries in log order."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(str(entry.get("subject", "")), []).append(entry)
    return list(groups.items())


def _of_family(entries: list[Entry], prefix: str) -> list[Entry]:
    return [e for e in entries if str(e.get("type", "")).startswith(prefix)]


def _generic_rows(entries: list[Entry]) -> list[list[Html]]:
    """Events this report has no dedicated rendering for: their data as it is."""
    return [[_ref(e), escape(str(e.get("type", ""))), _text(e.get("actor")), _event_data(e)] for e in entries]


def _event_data(entry: Entry) -> Html:
    """An entry's data without the actor and reason its row already shows."""
    data = entry.get("data")
    if not isinstance(data, dict):
        return _value(data)
    shown = {k: v for k, v in data.items()
             if not (k in ("actor", "reason") and v == entry.get(k))}
    return _value(shown)


# -- 1. header -------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm;
  @bottom-left { content: "Certification file evidence report"; font: 7.5pt sans-serif; color: #555; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font: 7.5pt sans-serif; color: #555; } }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; font-size: 9pt;
  line-height: 1.35; color: #111; margin: 0; font-variant-ligatures: none; /* a PDF's text searches as typed */ }
@media screen { body { max-width: 200mm; margin: 8mm auto; padding: 0 6mm; } }
h1 { font-size: 17pt; margin: 0 0 3mm; }
h2 { font-size: 13pt; margin: 7mm 0 2.5mm; padding-bottom: 1mm; border-bottom: 1.5pt solid #222;
  break-after: avoid; }
h3 { font-size: 10.5pt; margin: 5mm 0 1.5mm; break-after: avoid; }
h4 { font-size: 9.5pt; margin: 3mm 0 1mm; break-after: avoid; }
p { margin: 1.5mm 0; }
table { width: 100%; border-collapse: collapse; margin: 1mm 0 3mm; }
thead { display: table-header-group; }
tr, dl.kv, li { break-inside: avoid; }
th, td { border: 0.5pt solid #999; padding: 1mm 1.5mm; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
thead th { background: #e8e8e8; font-size: 8pt; }
table.fields th { width: 32%; background: #f3f3f3; font-weight: 600; }
.mono, code { font-family: "DejaVu Sans Mono", "Liberation Mono", "Courier New", monospace; font-size: 8pt;
  overflow-wrap: anywhere; }
.none { color: #666; font-style: italic; }
.erased { font-style: italic; color: #444; background: #eee; padding: 0 0.5mm; }
a.ref { font-weight: 700; color: #00358a; text-decoration: none; }
.at { color: #444; font-size: 8pt; white-space: nowrap; }
.verdict { display: inline-block; font-weight: 700; padding: 0.3mm 1.5mm; border: 1pt solid; white-space: nowrap; }
.verdict.held { color: #135e27; border-color: #135e27; }
.verdict.not-held { color: #fff; background: #a3001b; border-color: #a3001b; }
.verdict.not-applicable { color: #555; border-color: #888; }
.block { break-inside: avoid; }
.change { border-top: 0.5pt solid #999; padding-top: 1mm; }
.change h4 { margin-top: 1mm; }
.who { margin: 0.5mm 0; }
.group { border-left: 2pt solid #bbb; padding-left: 3mm; margin: 3mm 0 5mm; }
ul.plain { margin: 0; padding-left: 4mm; }
ol.items { margin: 0; padding-left: 5mm; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; column-gap: 2mm; align-items: baseline; margin: 0; }
dl.kv dt { color: #444; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 7.5pt; }
dl.kv dd { margin: 0; overflow-wrap: break-word; min-width: 0; }
.key { color: #444; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 7.5pt; }
.rule > p { break-after: avoid; }
.nowrap { white-space: nowrap; }
.verify { border: 1pt solid #555; padding: 2mm 3mm; margin: 3mm 0; break-inside: avoid; }
.notes { font-size: 8pt; color: #333; }
nav ol { margin: 1mm 0; padding-left: 6mm; columns: 2; }
nav a { color: inherit; text-decoration: none; }
section.new-page { break-before: page; }
article.entry { border-top: 0.5pt solid #999; padding: 1.5mm 0; break-inside: avoid; }
article.entry header { display: flex; flex-wrap: wrap; gap: 0 3mm; align-items: baseline; }
article.entry .index { font-weight: 700; font-size: 10pt; }
article.entry .type { font-weight: 700; }
article.entry .ids { color: #444; }
"""

_SECTIONS = [
    ("application", "The application and its review"),
    ("audits", "Audits: teams, findings and reports"),
    ("decisions", "Decisions"),
    ("certificates", "Certificate revisions and status changes"),
    ("appeals", "Appeals"),
    ("impartiality", "Impartiality: who took part, and rules R1, R2 and R8"),
    ("timeline", "The full timeline"),
]


def _head(manifest: dict[str, Any]) -> Html:
    selection = manifest.get("selection")
    title = f"{TITLE} — {selection}" if selection else TITLE
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(str(title))}</title>\n<style>{_CSS}</style>\n</head>")


def _checkpoint(checkpoint: Any) -> Html:
    if not isinstance(checkpoint, dict):
        return _value(checkpoint)
    return (f"size {_text(checkpoint.get('size'))} entries; root (SHA-256, base64) "
            f"{_mono(checkpoint.get('root'))}")


def _header(manifest: dict[str, Any], entries: list[Entry]) -> Html:
    count = manifest.get("entries_count", len(entries))
    counted = _text(count)
    if count != len(entries):
        counted += f" <strong>(this report was rendered from {len(entries)} entries)</strong>"
    known = ("selection", "origin", "checkpoint", "entries_count", "key_name")
    pairs = [("Selection", _text(manifest.get("selection"))),
             ("Log origin", _mono(manifest.get("origin"))),
             ("Checkpoint", _checkpoint(manifest.get("checkpoint"))),
             ("Entries", counted),
             ("Signing key", _mono(manifest.get("key_name")))]
    pairs += [(str(k), _value(manifest[k])) for k in sorted(manifest, key=str) if k not in known]
    contents = "".join(f'<li><a href="#{anchor}">{escape(title)}</a></li>' for anchor, title in _SECTIONS)
    return f"""<header>
<h1>{TITLE}</h1>
{_fields(pairs)}
<div class="verify">
<h4>How to verify this pack</h4>
<p>Run <code>hallmark evidence verify PACK.zip</code>: it checks the signed checkpoint, that every entry is
included in the log under it, and renders this report again from the entries to compare it byte for byte.
Without Hallmark, any RFC 9162 / C2SP signed-note verifier can check the checkpoint with the public key in
the pack, then each entry's inclusion proof against the checkpoint's root.</p>
</div>
<p class="notes">Every act below names its log entry, e.g. <strong>#17</strong>: the entry with log index 17 in
the full timeline (section 8). Times are in the certification body's zone, Europe/Brussels, with the offset
from UTC. A name shown as <em class="erased">[erased person …]</em> is a person whose personal data was erased;
the marker is shown as the log holds it.</p>
<nav><h4>Contents</h4><ol start="2">{contents}</ol></nav>
</header>"""


# -- 2. the application and its review -------------------------------------------------------------


def _submitted(entry: Entry) -> Html:
    data = _data(entry)
    return _fields([
        ("Submitted", f"{_ref(entry)} by {_text(entry.get('actor'))}"),
        ("Applicant", _party(data.get("applicant"))),
        ("Production unit", _party(data.get("production_unit"))),
        ("Scheme", _text(data.get("scheme"))),
        ("Scheme documents", _documents(data.get("scheme_documents"))),
        ("Requested scope", _text(data.get("scope"))),
        ("Products", _products(data.get("products"))),
        ("Submitted by", _text(data.get("submitted_by"))),
        ("Declared consultancy (advisers in the last two years)", _consultancy(data.get("consultancy", []))),
    ])


def _application_step(entry: Entry) -> Html:
    data, kind = _data(entry), entry.get("type")
    if kind == APPLICATION_REVIEWED:
        return (f"Reviewed: <strong>{_text(data.get('outcome'))}</strong> on {_text(data.get('reviewed_on'))}."
                f" Reason: {_text(entry.get('reason'))}")
    if kind == APPLICATION_INFORMATION_SUPPLIED:
        return f"Information supplied: {_text(data.get('note'))}"
    if kind == APPLICATION_WITHDRAWN:
        return f"Withdrawn. Reason: {_text(entry.get('reason'))}"
    if kind == APPLICATION_DECIDED:
        return (f"Decided: <strong>{_text(data.get('outcome'))}</strong> (decision {_mono(data.get('decision_id'))})."
                f" Reason: {_text(entry.get('reason'))}")
    return f"{escape(str(kind))}: {_event_data(entry)}"


def _applications(entries: list[Entry]) -> Html:
    groups = _by_subject(_of_family(entries, "Application."))
    if not groups:
        return '<p class="none">No application event in this selection.</p>'
    blocks = []
    for subject, events in groups:
        submitted = [e for e in events if e.get("type") == APPLICATION_SUBMITTED]
        steps = [e for e in events if e.get("type") != APPLICATION_SUBMITTED]
        body = "".join(_submitted(e) for e in submitted) or '<p class="none">Its submission is not in this selection.</p>'
        rows = [[_ref(e), _text(e.get("actor")), _application_step(e)] for e in steps]
        body += "<h4>Review, information, withdrawal and outcome</h4>" + _table(["Entry", "By", "What"], rows)
        blocks.append(f'<div class="group"><h3>Application {_mono(subject)}</h3>{body}</div>')
    return "\n".join(blocks)


# -- 3. audits -------------------------------------------------------------------------------------


def _planned(entry: Entry) -> Html:
    data = _data(entry)
    dates = _text(data.get("planned_start"))
    if data.get("planned_end"):
        dates += f" to {_text(data['planned_end'])}"
    return _fields([
        ("Planned", f"{_ref(entry)} by {_text(entry.get('actor'))}"),
        ("Kind", _text(data.get("kind"))),
        ("Application", _mono(data.get("application_id"))),
        ("Certificate", _text(data.get("certificate_number"))),
        ("Planned dates", dates),
        ("Items to inspect", _products(data.get("items"))),
    ])


def _team(events: list[Entry]) -> Html:
    rows = []
    for e in events:
        data = _data(e)
        declaration = data.get("declaration") if isinstance(data.get("declaration"), dict) else {}
        independent = declaration.get("independent")
        rows.append([_text(data.get("person")), _text(data.get("role")),
                     "declared independent" if independent else f"<strong>{_text(independent)}</strong>",
                     _value(declaration.get("interests", [])), _day(data.get("declared_on")),
                     _text(e.get("actor")), _ref(e)])
    return _table(["Person", "Role", "Independence", "Interests declared", "Declared on", "Assigned by", "Entry"],
                  rows, empty="No team member assigned in this selection.")


def _findings(events: list[Entry]) -> Html:
    closures: dict[str, list[Entry]] = {}
    for e in events:
        if e.get("type") == AUDIT_FINDING_CLOSED:
            closures.setdefault(str(_data(e).get("finding_id")), []).append(e)
    rows, shown = [], set()
    for e in events:
        if e.get("type") != AUDIT_FINDING_RECORDED:
            continue
        data = _data(e)
        finding_id = str(data.get("finding_id"))
        shown.add(finding_id)
        closed = closures.get(finding_id, [])
        rows.append([f"<strong>{_text(data.get('severity'))}</strong><br>{_mono(finding_id)}",
                     _text(data.get("requirement")), _text(data.get("description")),
                     _day(data.get("corrective_action_due")), f"{_ref(e)}<br>by {_text(e.get('actor'))}",
                     "<br>".join(_closure(c) for c in closed) or "<strong>open</strong>"])
    for finding_id, closed in closures.items():
        if finding_id not in shown:
            rows.append([_mono(finding_id), '<span class="none">not in this selection</span>', "", "", "",
                         "<br>".join(_closure(c) for c in closed)])
    return _table(["Severity / finding", "Requirement", "Description", "Corrective action due", "Recorded",
                   "Closure"], rows, empty="No finding recorded.")


def _closure(entry: Entry) -> Html:
    data = _data(entry)
    return (f"closed on {_text(data.get('closed_on'))} by {_text(entry.get('actor'))} ({_ref(entry)}); "
            f"evidence: {_text(data.get('evidence'))}")


def _results(results: Any) -> Html:
    if not isinstance(results, dict) or not results:
        return _value(results)
    parts = []
    for severity in sorted(results, key=str):
        counts = results[severity]
        if isinstance(counts, dict):
            parts.append(f"{_text(severity)}: {_text(counts.get('total'))} recorded, {_text(counts.get('open'))} open")
        else:
            parts.append(f"{_text(severity)}: {_value(counts)}")
    return "; ".join(parts)


def _reported(entry: Entry) -> Html:
    report = _data(entry).get("report")
    report = report if isinstance(report, dict) else {}
    dates = report.get("inspection_dates")
    inspected = (f"{_text(dates.get('from'))} to {_text(dates.get('to'))}" if isinstance(dates, dict)
                 else _value(dates))
    conclusion = report.get("conformity_statement", report.get("conclusion"))
    known = {"report_id", "issued_on", "inspection_dates", "items_inspected", "results", "conformity_statement",
             "conclusion", "recommendation", "summary", "approved_by"}
    pairs = [("Reported", f"{_ref(entry)} by {_text(entry.get('actor'))}"),
             ("Report", _mono(report.get("report_id"))),
             ("Issued on", _text(report.get("issued_on"))),
             ("Inspection dates", inspected),
             ("Items inspected", _products(report.get("items_inspected"))),
             ("Findings", _results(report.get("results"))),
             ("Conclusion", f"<strong>{_text(conclusion)}</strong>"),
             ("Recommendation", _text(report.get("recommendation"))),
             ("Summary", _text(report.get("summary"))),
             ("Approved by", _text(report.get("approved_by")))]
    pairs += [(str(k), _value(report[k])) for k in sorted(report, key=str) if k not in known]
    return _fields(pairs)


def _audit(subject: str, events: list[Entry]) -> Html:
    by_type: dict[Any, list[Entry]] = {}
    for e in events:
        by_type.setdefault(e.get("type"), []).append(e)
    planned = "".join(_planned(e) for e in by_type.get(AUDIT_PLANNED, []))
    team = _team(by_type.get(AUDIT_TEAM_MEMBER_ASSIGNED, []))
    findings = _findings(events)
    reports = "".join(_reported(e) for e in by_type.get(AUDIT_REPORTED, [])) or '<p class="none">Not reported.</p>'
    known = {AUDIT_PLANNED, AUDIT_TEAM_MEMBER_ASSIGNED, AUDIT_FINDING_RECORDED, AUDIT_FINDING_CLOSED, AUDIT_REPORTED}
    others = [e for e in events if e.get("type") not in known]
    body = (planned or '<p class="none">Its planning is not in this selection.</p>')
    body += f"<h4>Team and independence declarations</h4>{team}"
    body += f"<h4>Findings and their closure</h4>{findings}"
    body += f"<h4>Report</h4>{reports}"
    if others:
        body += "<h4>Other events</h4>" + _table(["Entry", "Event", "By", "Data"], _generic_rows(others))
    return f'<div class="group"><h3>Audit {_mono(subject)}</h3>{body}</div>'


def _audits(entries: list[Entry]) -> Html:
    groups = _by_subject(_of_family(entries, "Audit."))
    if not groups:
        return '<p class="none">No audit in this selection.</p>'
    return "\n".join(_audit(subject, events) for subject, events in groups)


# -- 4. decisions ----------------------------------------------------------------------------------


def _decision(entry: Entry) -> Html:
    data = _data(entry)
    pairs = [("Recorded", _ref(entry)),
             ("Decided by", f"<strong>{_text(entry.get('actor'))}</strong>"),
             ("Outcome", f"<strong>{_text(data.get('outcome'))}</strong>"),
             ("Decision", _mono(entry.get("subject"))),
             ("Application", _mono(data.get("application_id"))),
             ("Certificate", _text(data.get("certificate_number"))),
             ("Scheme", _text(data.get("scheme"))),
             ("Basis (reported audits)", _value([str(b) for b in data.get("basis") or []])),
             ("Rationale", _text(data.get("rationale"))),
             ("Decided on", _text(data.get("decided_on"))),
             ("Effective from", f"<strong>{_text(data.get('effective_from'))}</strong>")]
    if data.get("scope"):
        pairs.append(("Scope", _text(data["scope"])))
    if data.get("products"):
        pairs.append(("Products", _products(data["products"])))
    certified = data.get("certified")
    if isinstance(certified, dict):
        pairs.append(("Certified (as the certificate will show)",
                      f"{_party(certified.get('holder'))}<br>{_party(certified.get('production_unit'))}<br>"
                      f"{_text(certified.get('scope'))}{_products(certified.get('products'))}"))
    if entry.get("reason") and entry.get("reason") != data.get("rationale"):
        pairs.append(("Reason", _text(entry["reason"])))
    return f'<div class="block"><h3>{_text(data.get("outcome"))} ({_ref(entry)})</h3>{_fields(pairs)}</div>'


def _decisions(entries: list[Entry]) -> Html:
    decisions = [e for e in entries if e.get("type") == DECISION_RECORDED]
    others = [e for e in _of_family(entries, "Decision.") if e.get("type") != DECISION_RECORDED]
    body = "\n".join(_decision(e) for e in decisions) or '<p class="none">No decision in this selection.</p>'
    if others:
        body += "<h4>Other events</h4>" + _table(["Entry", "Event", "By", "Data"], _generic_rows(others))
    return body


# -- 5. certificates -------------------------------------------------------------------------------


def _issued(data: dict[str, Any]) -> Html:
    return _fields([
        ("Holder", _party(data.get("holder"))), ("Production unit", _party(data.get("production_unit"))),
        ("Products", _products(data.get("products"))), ("Scope", _text(data.get("scope"))),
        ("Scheme and mark", f"{_text(data.get('scheme'))}, {_text(data.get('mark'))}"),
        ("Documents", _documents(data.get("documents"))),
        ("Valid", f"from {_text(data.get('valid_from'))} until {_text(data.get('valid_until'))}"),
        ("Surveillance", f"every {_text(data.get('surveillance_months'))} months; next due "
                         f"{_text(data.get('surveillance_due'))}"),
        ("Quick code", _mono(data.get("quick_code"))), ("Decision", _mono(data.get("decision_id")))])


def _certificate_change(entry: Entry) -> Html:
    data, kind = _data(entry), entry.get("type")
    decision = f" (decision {_mono(data.get('decision_id'))})" if data.get("decision_id") else ""
    if kind == CERTIFICATE_ISSUED:
        return _issued(data)
    if kind == CERTIFICATE_REVISED:
        text = (f"Revision <strong>{_text(data.get('revision'))}</strong> supersedes revision "
                f"{_text(data.get('superseded_revision'))}, effective {_text(data.get('effective_from'))}{decision}."
                f" Scope: {_text(data.get('scope'))}. Valid until {_text(data.get('valid_until'))};"
                f" surveillance due {_text(data.get('surveillance_due'))}.")
        if data.get("products"):
            text += f" Products: {_products(data['products'])}"
        return text + f" Documents: {_documents(data.get('documents'))}"
    if kind == CERTIFICATE_STATUS_CHANGED:
        return (f"<strong>{_text(data.get('previous'))} → {_text(data.get('status'))}</strong>,"
                f" effective {_text(data.get('effective_from'))}{decision}.")
    if kind == CERTIFICATE_MAINTAINED:
        return (f"Maintained from {_text(data.get('effective_from'))}{decision}; next surveillance due"
                f" {_text(data.get('surveillance_due'))}.")
    if kind == CERTIFICATE_SURVEILLANCE_OVERDUE:
        return f"Surveillance overdue: it was due {_text(data.get('due'))}."
    if kind == CERTIFICATE_SUSPENSION_LIMIT_EXCEEDED:
        return (f"Suspended since {_text(data.get('suspended_since'))}, past the scheme's maximum"
                f" ({_text(data.get('limit'))}): a withdrawal decision is due.")
    if kind == CERTIFICATE_APPEAL_UPHELD:
        return f"Appeal {_mono(data.get('appeal_id'))} upheld against decision {_mono(data.get('decision_id'))}."
    if kind == CERTIFICATE_DECISION_NOT_APPLIED:
        return f"Decision {_mono(data.get('decision_id'))} not applied: {_text(data.get('problem'))}"
    return _event_data(entry)


def _certificates(entries: list[Entry]) -> Html:
    blocks = []
    for e in _of_family(entries, "Certificate."):
        change = _certificate_change(e)
        if not change.startswith("<table"):
            change = f"<p>{change}</p>"
        blocks.append(f'<div class="block change"><h4>{_ref(e)} · {_text(_data(e).get("number", e.get("subject")))}'
                      f" · {escape(_words(_short_type(e.get('type'))))}</h4>"
                      f'<p class="who">by {_text(e.get("actor"))} — {_text(e.get("reason"))}</p>{change}</div>')
    return "\n".join(blocks) or '<p class="none">No certificate event in this selection.</p>'


def _words(name: str) -> str:
    """``StatusChanged`` as "status changed"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).capitalize()


# -- 6. appeals ------------------------------------------------------------------------------------


def _lodged(entry: Entry, decisions: dict[str, Entry]) -> Html:
    data = _data(entry)
    contested = _mono(data.get("decision_id"))
    decision = decisions.get(str(data.get("decision_id")))
    if decision is not None:
        contested += f" ({_ref(decision)})"
    return _fields([
        ("Lodged", f"{_ref(entry)} by {_text(entry.get('actor'))}"),
        ("Appellant", f"<strong>{_text(data.get('appellant'))}</strong>"),
        ("Grounds", _text(data.get("grounds"))),
        ("Contested decision", f"{contested}: <strong>{_text(data.get('contested_outcome'))}</strong>"),
        ("Certificate", _text(data.get("certificate_number"))),
        ("Involved in the contested decision (may not sit on the committee)", _value(data.get("involved", []))),
    ])


def _appeal_decided(entry: Entry) -> Html:
    data = _data(entry)
    committee = data.get("committee")
    members = ('<ul class="plain">' + "".join(f"<li>{_text(m)}</li>" for m in committee) + "</ul>"
               if isinstance(committee, list) and committee else _value(committee))
    return _fields([
        ("Decided", f"{_ref(entry)}, recorded by {_text(entry.get('actor'))}"),
        ("Committee", members),
        ("Outcome", f"<strong>{_text(data.get('outcome'))}</strong>"),
        ("Rationale", _text(data.get("rationale"))),
    ])


def _appeals(entries: list[Entry]) -> Html:
    groups = _by_subject(_of_family(entries, "Appeal."))
    if not groups:
        return '<p class="none">No appeal in this selection.</p>'
    decisions = {str(e.get("subject")): e for e in entries if e.get("type") == DECISION_RECORDED}
    blocks = []
    for subject, events in groups:
        parts = []
        for e in events:
            if e.get("type") == APPEAL_LODGED:
                parts.append(_lodged(e, decisions))
            elif e.get("type") == APPEAL_DECIDED:
                parts.append(_appeal_decided(e))
            else:
                parts.append(_table(["Entry", "Event", "By", "Data"], _generic_rows([e])))
        blocks.append(f'<div class="group block"><h3>Appeal {_mono(subject)}</h3>{"".join(parts)}</div>')
    return "\n".join(blocks)


# -- 7. impartiality -------------------------------------------------------------------------------

# Events that open a subject and name the certification file (application) it belongs to.
_FILE_OF: dict[str, Callable[[Entry], Any]] = {
    APPLICATION_SUBMITTED: lambda e: e.get("subject"),
    AUDIT_PLANNED: lambda e: _data(e).get("application_id"),
    DECISION_RECORDED: lambda e: _data(e).get("application_id"),
    APPEAL_LODGED: lambda e: _data(e).get("application_id"),
    CERTIFICATE_ISSUED: lambda e: _data(e).get("application_id"),
}


def _files(entries: list[Entry]) -> list[tuple[str | None, list[Entry]]]:
    """The entries of each certification file: the rules are judged per file. A selection of one file
    (or of entries no opening event ties to a file) is one group."""
    file_of: dict[str, str] = {}
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        opener = _FILE_OF.get(str(entry.get("type")))
        subject = str(entry.get("subject"))
        opened = opener(entry) if opener is not None else None
        if opened:
            file_of.setdefault(subject, str(opened))
        file = file_of.get(subject)
        if file is not None:
            groups.setdefault(file, []).append(entry)
    if len(groups) <= 1:
        return [(next(iter(groups), None), entries)]
    return list(groups.items())


def _verdict(held: bool | None) -> Html:
    if held is None:
        return '<span class="verdict not-applicable">NOT APPLICABLE</span>'
    return '<span class="verdict held">HELD</span>' if held else '<span class="verdict not-held">NOT HELD</span>'


def _participants(participants: list[dict[str, Any]], by_event: dict[str, Entry]) -> Html:
    rows = []
    for p in participants:
        context = []
        if p.get("audit_id"):
            context.append(f"audit {_mono(p['audit_id'])}")
        if "independence_declared" in p:
            context.append("declared independent" if p["independence_declared"] else "<strong>not declared "
                           "independent</strong>")
        if p.get("outcome"):
            context.append(f"decided: {_text(p['outcome'])}")
        entry = by_event.get(str(p.get("event_id")))
        rows.append([_text(p.get("person")), _text(p.get("role")), "; ".join(context),
                     _ref(entry) if entry else _mono(p.get("event_id"))])
    return _table(["Person", "Role", "Context", "Entry"], rows, empty="Nobody took part in this selection.")


def _rule(name: str, rule: dict[str, Any], headers: list[str], rows: list[list[Html]], nothing: str) -> Html:
    held = rule.get("held") if rule.get("checks") else None
    return (f'<div class="rule"><h4>{escape(name)} {_verdict(held)}</h4><p>{_text(rule.get("title"))}.</p>'
            f"{_table(headers + ['Verdict'], rows, empty=nothing)}</div>")


def _r1(rule: dict[str, Any], decisions: dict[str, Entry]) -> Html:
    rows = []
    for c in rule.get("checks", []):
        entry = decisions.get(str(c.get("decision_id")))
        where = f"{_mono(c.get('decision_id'))}" + (f"<br>{_ref(entry)}" if entry else "")
        rows.append([where, _text(c.get("outcome")), f"<strong>{_text(c.get('decider'))}</strong>",
                     _value(c.get("evaluators_then", [])), _verdict(bool(c.get("held")))])
    return _rule("R1", rule, ["Decision", "Outcome", "Decider", "Evaluators of the file by then"], rows,
                 "No decision in this selection: R1 had nothing to check.")


def _r2(rule: dict[str, Any], by_event: dict[str, Entry]) -> Html:
    rows = []
    for c in rule.get("checks", []):
        entry = by_event.get(str(c.get("event_id")))
        rows.append([f"<strong>{_text(c.get('person'))}</strong>", _text(c.get("role")),
                     _ref(entry) if entry else _when(c.get("at")),
                     _value(c.get("declared_advisers_then", [])),
                     _value([f"{i.get('kind')} in {(i.get('organisation') or {}).get('name')}, since {i.get('since')}"
                             + (f" until {i.get('until')}" if i.get("until") else "")
                             for i in c.get("staff_register_interests_then", [])]),
                     _verdict(bool(c.get("held")))])
    return _rule("R2", rule, ["Person", "Role", "Took part", "Advisers declared then (within two years)",
                              "Staff register: their interests in the holder then (R58)"], rows,
                 "Nobody took part in this selection: R2 had nothing to check.")


def _r8(rule: dict[str, Any]) -> Html:
    rows = [[_mono(c.get("appeal_id")), f"<strong>{_text(c.get('member'))}</strong>",
             _value(c.get("involved_in_contested_decision", [])), _verdict(bool(c.get("held")))]
            for c in rule.get("checks", [])]
    return _rule("R8", rule, ["Appeal", "Committee member", "Involved in the contested decision"], rows,
                 "No appeal decided in this selection: R8 had nothing to check.")


def _impartiality_of(entries: list[Entry]) -> Html:
    evidence = impartiality(entries, ZONE)
    by_event = {str(e.get("event_id")): e for e in entries}
    decisions = {str(e.get("subject")): e for e in entries if e.get("type") == DECISION_RECORDED}
    rules = evidence["rules"]
    summary = "".join(f"<tr><th>{escape(name)}</th><td>{_text(rules[name].get('title'))}</td>"
                      f"<td>{_verdict(rules[name].get('held') if rules[name].get('checks') else None)}</td></tr>"
                      for name in ("R1", "R2", "R8"))
    return (f'<table class="summary"><thead><tr><th>Rule</th><th>What it requires</th><th>Verdict</th></tr>'
            f"</thead><tbody>{summary}</tbody></table>"
            f"<h4>Declared consultancy</h4>{_consultancy(evidence.get('declared_consultancy', []))}"
            f"<h4>Who took part, in which role</h4>{_participants(evidence.get('participants', []), by_event)}"
            f"{_r1(rules['R1'], decisions)}{_r2(rules['R2'], by_event)}{_r8(rules['R8'])}")


def _impartiality(entries: list[Entry]) -> Html:
    intro = ("<p>Derived from the entries of this pack by the rules Hallmark applies"
             " (<code>services.projections.impartiality</code>), days counted in Europe/Brussels."
             " Each check shows the facts it used.</p>")
    files = _files(entries)
    if len(files) == 1:
        return intro + _impartiality_of(files[0][1])
    return intro + "\n".join(f'<div class="group"><h3>File {_mono(file)}</h3>{_impartiality_of(part)}</div>'
                             for file, part in files)


# -- 8. the timeline -------------------------------------------------------------------------------


def _timeline_entry(entry: Entry) -> Html:
    index = escape(str(entry.get("index", "?")))
    reason = entry.get("reason")
    return (f'<article class="entry" id="entry-{index}"><header><span class="index">#{index}</span>'
            f"<span>{_when(entry.get('at'))}</span><span>{_text(entry.get('service'))}</span>"
            f"<span class=\"type\">{_text(entry.get('type'))}</span></header>"
            f'<div class="who">by <strong>{_text(entry.get("actor"))}</strong>'
            f"{' — ' + _text(reason) if reason else ''}</div>"
            f'<div class="ids mono">subject {_text(entry.get("subject"))} · event {_text(entry.get("event_id"))}</div>'
            f"{_event_data(entry)}</article>")


def _timeline(entries: list[Entry]) -> Html:
    if not entries:
        return '<p class="none">The selection holds no entry.</p>'
    return ("<p>Every entry of the pack in log order, with its data as recorded (the actor and reason shown once).</p>\n"
            + "\n".join(_timeline_entry(e) for e in entries))


# -- the report ------------------------------------------------------------------------------------


def render_report(manifest: dict[str, Any], entries: list[Entry]) -> str:
    """The evidence report as one self-contained HTML document, byte for byte the same for the same
    manifest and entries (log order)."""
    manifest = manifest if isinstance(manifest, dict) else {}
    bodies = {
        "application": _applications(entries),
        "audits": _audits(entries),
        "decisions": _decisions(entries),
        "certificates": _certificates(entries),
        "appeals": _appeals(entries),
        "impartiality": _impartiality(entries),
        "timeline": _timeline(entries),
    }
    sections = [_section(anchor, number, title, bodies[anchor],
                         "new-page" if anchor in ("impartiality", "timeline") else "")
                for number, (anchor, title) in enumerate(_SECTIONS, start=2)]
    return "\n".join([_head(manifest), "<body>", _header(manifest, entries), *sections, "</body>", "</html>"]) + "\n"
