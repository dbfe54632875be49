"""The evidence report for people (services/projections/report.py): deterministic, escaped, complete."""

from __future__ import annotations

import copy
import os
import re
import time
from typing import Any

import pytest

from services.projections.report import render_report

APP = "0b3c2a6e-6f51-4f0e-9a57-1d2a3b4c5d6e"
AUDIT = "a0d1e2f3-0000-4000-8000-000000000001"
DECISION = "dec00000-0000-4000-8000-000000000001"
SUSPENSION = "dec00000-0000-4000-8000-000000000002"
APPEAL = "app00000-0000-4000-8000-000000000001"
FINDING = "f1000000-0000-4000-8000-000000000001"
NUMBER = "BENOR-000042"
ERASED = "[erased person p-3f2a9c]"

MANIFEST = {"selection": f"certificate {NUMBER}", "origin": "hallmark/local",
            "checkpoint": {"size": 40, "root": "q1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v="},
            "entries_count": 18, "key_name": "hallmark/local"}


def entry(index: int, event_type: str, subject: str, actor: str, reason: str = "as recorded",
          at: str = "2026-11-25T09:12:33.123456+00:00", **data: Any) -> dict[str, Any]:
    service = {"Application": "applications", "Audit": "audits", "Decision": "decisions", "Appeal": "decisions",
               "Certificate": "registry"}.get(event_type.split(".")[0], "other")
    return {"index": index, "seq": index, "event_id": f"{service}/{subject}/{index}", "at": at, "service": service,
            "position": index, "type": event_type, "subject": subject, "actor": actor, "reason": reason,
            "application_id": APP, "certificate_number": None,
            "data": {**data, "actor": actor, "reason": reason}}


def a_file(decider: str = "Dirk Decider", auditor: str = "Ann Auditor") -> list[dict[str, Any]]:
    product = {"name": "Kerb KB 100", "type": "kerb", "description": "Precast kerb"}
    return [
        entry(10, "Application.Submitted", APP, "Betonwerk Noord", "application submitted",
              at="2026-11-02T08:00:00+00:00", scheme="PTV-21",
              scheme_documents=[{"kind": "PTV", "ref": "PTV 21-601", "version": "2.0",
                                 "effective_from": "2025-01-01", "transition_deadline": None}],
              applicant={"name": "Betonwerk Noord NV", "registration_number": "BE0123456789",
                         "address": "Kaai 1, 2000 Antwerpen"},
              production_unit={"name": "Plant Zelzate", "address": "Industrieweg 5, 9060 Zelzate"},
              products=[product], scope="Precast concrete kerbs, type KB",
              consultancy=[{"person": "Carla Consult", "organisation": "QualiConsult BV", "until": "2026-04-01"}],
              submitted_by="Bea Applicant"),
        entry(11, "Application.Reviewed", APP, "Olivia Officer", "complete; scheme in scope",
              outcome="accepted", reviewed_on="2026-11-03"),
        entry(12, "Audit.Planned", AUDIT, "Luc Lead", "initial audit", application_id=APP,
              certificate_number=None, kind="initial", planned_start="2026-11-20", planned_end="2026-11-21",
              items=[product]),
        entry(13, "Audit.TeamMemberAssigned", AUDIT, "Olivia Officer", "team", person="Luc Lead",
              role="lead_auditor", declaration={"independent": True, "interests": []}, declared_on="2026-11-19"),
        entry(14, "Audit.TeamMemberAssigned", AUDIT, "Olivia Officer", "team", person=auditor, role="auditor",
              declaration={"independent": True, "interests": ["none"]}, declared_on="2026-11-19"),
        entry(15, "Audit.FindingRecorded", AUDIT, "Luc Lead", "finding", finding_id=FINDING, severity="minor",
              requirement="PTV 21-601 §5.2", description="Curing log incomplete",
              corrective_action_due="2026-12-20"),
        entry(16, "Audit.FindingClosed", AUDIT, "Luc Lead", "closed", finding_id=FINDING,
              evidence="Corrected curing log, batch 42", closed_on="2026-11-24"),
        entry(17, "Audit.Reported", AUDIT, "Luc Lead", "report issued", report={
            "report_id": "RPT-2026-a0d1e2f3", "issued_on": "2026-11-25",
            "inspection_dates": {"from": "2026-11-20", "to": "2026-11-21"}, "items_inspected": [product],
            "results": {"minor": {"total": 1, "open": 0}}, "conformity_statement": "conforming",
            "recommendation": "grant", "summary": "Factory production control in place",
            "approved_by": "Luc Lead"}),
        entry(18, "Decision.Recorded", DECISION, decider, "grant: file reviewed", outcome="grant",
              application_id=APP, certificate_number=None, basis=[AUDIT], rationale="grant: file reviewed",
              effective_from="2026-11-26", decided_on="2026-11-26", scope=None, scheme="PTV-21",
              certified={"holder": {"name": "Betonwerk Noord NV", "registration_number": "BE0123456789",
                                    "address": "Kaai 1"}, "production_unit": {"name": "Plant Zelzate",
                                                                              "address": "Zelzate"},
                         "products": [product], "scope": "Precast concrete kerbs, type KB"}),
        entry(19, "Application.Decided", APP, decider, "granted", outcome="grant", decision_id=DECISION),
        entry(20, "Certificate.Issued", NUMBER, "registry", "issued on decision", number=NUMBER,
              quick_code="12345678", application_id=APP, decision_id=DECISION,
              holder={"name": "Betonwerk Noord NV", "registration_number": "BE0123456789", "address": "Kaai 1"},
              production_unit={"name": "Plant Zelzate", "address": "Zelzate"}, products=[product],
              scope="Precast concrete kerbs, type KB", scheme="PTV-21", mark="BENOR", documents=[],
              valid_from="2026-11-26", valid_until="2029-11-25", surveillance_months=12,
              surveillance_due="2027-11-26"),
        entry(21, "Decision.Recorded", SUSPENSION, decider, "suspend: mark misused", outcome="suspend",
              application_id=APP, certificate_number=NUMBER, basis=[], rationale="suspend: mark misused",
              effective_from="2027-02-01", decided_on="2027-02-01", scope=None, certified=None, scheme="PTV-21",
              at="2027-02-01T14:00:00+00:00"),
        entry(22, "Certificate.StatusChanged", NUMBER, "registry", "decision applied", number=NUMBER,
              status="suspended", previous="active", decision_id=SUSPENSION, effective_from="2027-02-01",
              at="2027-02-01T14:00:01+00:00"),
        entry(23, "Appeal.Lodged", APPEAL, "Betonwerk Noord", "Products conform", decision_id=SUSPENSION,
              application_id=APP, contested_outcome="suspend", involved=[decider, "Luc Lead", auditor],
              appellant="Betonwerk Noord NV", grounds="Products conform", certificate_number=NUMBER,
              at="2027-02-03T09:00:00+00:00"),
        entry(24, "Appeal.Decided", APPEAL, "Ada Admin", "Samples conform", committee=["Paula Public", "Uma User"],
              outcome="upheld", rationale="Samples conform", decision_id=SUSPENSION, certificate_number=NUMBER,
              at="2027-02-10T09:00:00+00:00"),
        entry(25, "Certificate.AppealUpheld", NUMBER, "registry", "appeal upheld", number=NUMBER,
              appeal_id=APPEAL, decision_id=SUSPENSION, at="2027-02-10T09:00:01+00:00"),
        entry(26, "Certificate.Revised", NUMBER, "registry", "scope extended", number=NUMBER, revision=2,
              superseded_revision=1, decision_id=DECISION, effective_from="2027-03-01", scope="Kerbs and gutters",
              valid_until="2029-11-25", surveillance_due="2027-11-26", documents=[], products=[product],
              at="2027-03-01T10:00:00+00:00"),
        entry(27, "Sample.Taken", "sample-1", "Ian Inspector", "sampled at the plant",
              at="2027-07-01T10:00:00+00:00", sample={"id": "S-1", "batch": 42}, lab=["Lab A", "Lab B"]),
    ]


def section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}"')
    return html[start:html.index("</section>", start)]


def test_the_same_entries_render_the_same_bytes_whatever_the_machine_zone(monkeypatch):
    entries = a_file()
    first = render_report(MANIFEST, entries)
    assert entries == a_file(), "rendering changed its input"
    for zone in ("Pacific/Auckland", "America/New_York"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        assert render_report(copy.deepcopy(MANIFEST), copy.deepcopy(entries)) == first
    monkeypatch.delenv("TZ")
    time.tzset()
    assert os.environ.get("TZ") is None


def test_the_report_is_one_self_contained_page():
    html = render_report(MANIFEST, a_file())
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>\n")
    lowered = html.lower()
    for external in ("<script", "<img", "<link", "<iframe", "<object", "@import", "url(", "@font-face",
                     "http://", "https://", "src="):
        assert external not in lowered, external
    assert "default-src 'none'" in html and "size: A4" in html


def test_every_section_is_there_in_order_with_the_header():
    html = render_report(MANIFEST, a_file())
    anchors = ["application", "audits", "decisions", "certificates", "appeals", "impartiality", "timeline"]
    positions = [html.index(f'<section id="{a}"') for a in anchors]
    assert positions == sorted(positions)
    header = html[:positions[0]]
    for shown in ("Certification file evidence report", f"certificate {NUMBER}", "hallmark/local", "size 40",
                  MANIFEST["checkpoint"]["root"], "How to verify this pack", "hallmark evidence verify PACK.zip",
                  "RFC 9162"):
        assert shown in header, shown
    assert re.search(r"<th>Entries</th><td>18</td>", header)


def test_the_sections_show_the_file_and_name_each_entry():
    html = render_report(MANIFEST, a_file())
    application = section(html, "application")
    for shown in ("Betonwerk Noord NV", "BE0123456789", "Plant Zelzate", "PTV-21", "Precast concrete kerbs, type KB",
                  "Kerb KB 100", "Bea Applicant", "Carla Consult", "QualiConsult BV", "accepted", "Olivia Officer"):
        assert shown in application, shown
    audits = section(html, "audits")
    for shown in (AUDIT, "initial", "Luc Lead", "lead_auditor", "Ann Auditor", "declared independent", "2026-11-19",
                  "minor", "PTV 21-601 §5.2", "Curing log incomplete", "2026-12-20", "Corrected curing log, batch 42",
                  "2026-11-24", "RPT-2026-a0d1e2f3", "conforming", "grant", "Factory production control in place"):
        assert shown in audits, shown
    decisions = section(html, "decisions")
    for shown in ("Dirk Decider", "grant", "suspend", "grant: file reviewed", "2026-11-26", "2027-02-01", AUDIT):
        assert shown in decisions, shown
    certificates = section(html, "certificates")
    for shown in (NUMBER, "Issued", "Status changed", "active → suspended", "Appeal upheld", "Revised",
                  "Revision <strong>2</strong> supersedes revision 1", "2029-11-25"):
        assert shown in certificates, shown
    appeals = section(html, "appeals")
    for shown in ("Betonwerk Noord NV", "Products conform", SUSPENSION, "Paula Public", "Uma User", "upheld",
                  "Samples conform"):
        assert shown in appeals, shown
    # Each act names its log entry, which the timeline holds under that index.
    for anchor, indices in {"application": (10, 11, 19), "audits": (12, 13, 14, 15, 16, 17), "decisions": (18, 21),
                            "certificates": (20, 22, 25, 26), "appeals": (23, 24)}.items():
        for index in indices:
            assert f'href="#entry-{index}">#{index}</a>' in section(html, anchor), (anchor, index)
    timeline = section(html, "timeline")
    assert re.findall(r'id="entry-(\d+)"', timeline) == [str(i) for i in range(10, 28)]


def test_times_are_shown_in_brussels_with_the_zone():
    html = render_report(MANIFEST, a_file())
    timeline = section(html, "timeline")
    assert "2026-11-25 10:12:33 CET (UTC+01:00)" in timeline
    assert "2027-07-01 12:00:00 CEST (UTC+02:00)" in timeline


def test_the_r1_and_r2_tables_show_the_facts_and_hold_for_a_clean_file():
    html = render_report(MANIFEST, a_file())
    impartiality = section(html, "impartiality")
    r1 = impartiality[impartiality.index("<h4>R1"):impartiality.index("<h4>R2")]
    assert '<span class="verdict held">HELD</span>' in r1 and "NOT HELD" not in r1
    for shown in (DECISION, SUSPENSION, "Dirk Decider", "Ann Auditor, Luc Lead", "grant", "suspend"):
        assert shown in r1, shown
    r2 = impartiality[impartiality.index("<h4>R2"):impartiality.index("<h4>R8")]
    assert "NOT HELD" not in r2
    rows = re.findall(r"<tr>(.*?)</tr>", r2.split("<tbody>")[1])
    people = [re.search(r"<strong>(.*?)</strong>", row).group(1) for row in rows]
    assert people == ["Olivia Officer", "Luc Lead", "Ann Auditor", "Dirk Decider", "Dirk Decider", "Paula Public",
                      "Uma User"]
    assert all("Carla Consult" in row and "HELD" in row for row in rows)  # the adviser declared then, per check
    r8 = impartiality[impartiality.index("<h4>R8"):]
    assert "Paula Public" in r8 and "Uma User" in r8 and "NOT HELD" not in r8
    participants = impartiality[impartiality.index("Who took part"):impartiality.index("<h4>R1")]
    for shown in ("application reviewer", "lead_auditor", "auditor", "decision maker", "appeal committee"):
        assert shown in participants, shown


def test_a_decider_who_evaluated_and_an_adviser_on_the_team_show_as_not_held():
    html = render_report(MANIFEST, a_file(decider="Luc Lead", auditor="Carla Consult"))
    impartiality = section(html, "impartiality")
    summary = impartiality[:impartiality.index("Declared consultancy")]
    verdicts = re.findall(r"<th>(R\d)</th>.*?verdict ([a-z-]+)", summary)
    assert verdicts == [("R1", "not-held"), ("R2", "not-held"), ("R8", "held")]
    r1 = impartiality[impartiality.index("<h4>R1"):impartiality.index("<h4>R2")]
    assert r1.count("NOT HELD") == 3  # heading and both decisions
    r2 = impartiality[impartiality.index("<h4>R2"):impartiality.index("<h4>R8")]
    breached = [row for row in re.findall(r"<tr>(.*?)</tr>", r2) if "NOT HELD" in row]
    assert len(breached) == 1 and "<strong>Carla Consult</strong>" in breached[0] and "auditor" in breached[0]


def test_rules_with_nothing_to_check_say_so_rather_than_held():
    entries = a_file()[:2]
    impartiality = section(render_report(MANIFEST, entries), "impartiality")
    assert "NOT APPLICABLE" in impartiality and "R1 had nothing to check" in impartiality
    assert "R8 had nothing to check" in impartiality


def test_erased_persons_are_shown_as_such_and_never_break_the_report():
    entries = a_file(decider=ERASED, auditor="[erased person p-77aa]")
    entries[0]["data"]["submitted_by"] = ERASED
    html = render_report(MANIFEST, entries)
    marked = f'<em class="erased">{ERASED}</em>'
    for anchor in ("application", "decisions", "impartiality", "timeline"):
        assert marked in section(html, anchor), anchor
    assert '<em class="erased">[erased person p-77aa]</em>' in section(html, "audits")
    assert "NOT HELD" not in section(html, "impartiality")


def test_an_unknown_event_type_renders_its_data():
    timeline = section(render_report(MANIFEST, a_file()), "timeline")
    article = timeline[timeline.index('id="entry-27"'):]
    for shown in ("Sample.Taken", "Ian Inspector", "sampled at the plant", "S-1", "42", "Lab A, Lab B", "sample"):
        assert shown in article, shown


def _hostile(value: Any, path: str = "") -> Any:
    """Every string replaced by markup naming its place, except what the rules parse (dates, times)."""
    if isinstance(value, dict):
        return {k: v if k in ("at", "until", "index", "seq", "position") else _hostile(v, f"{path}.{k}")
                for k, v in value.items()}
    if isinstance(value, list):
        return [_hostile(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        return f"<b title=\"x\">{path}</b>&'{path}"
    return value


def test_every_field_is_escaped():
    entries = [_hostile(e, f"e{e['index']}") for e in a_file()]
    for e in entries:  # the trail's columns are the data's actor and reason
        e["actor"], e["reason"] = e["data"]["actor"], e["data"]["reason"]
    manifest = _hostile(MANIFEST, "m")
    html = render_report(manifest, entries)
    assert "<b title" not in html and "&'" not in html
    leaves: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)
        elif isinstance(value, str) and value.startswith("<b"):
            leaves.append(value)

    collect(manifest)
    for e in entries:  # what the input shape documents; extra keys of the trail's rows are ignored
        collect([e[k] for k in ("event_id", "service", "type", "subject", "actor", "reason", "data")])
    for leaf in leaves:  # each field is shown, escaped
        assert leaf.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
            .replace("'", "&#x27;") in html, leaf


def test_a_missing_manifest_and_no_entries_still_render_every_section():
    html = render_report({}, [])
    for anchor in ("application", "audits", "decisions", "certificates", "appeals", "impartiality", "timeline"):
        assert f'<section id="{anchor}"' in html
    assert "No application event in this selection." in html and "The selection holds no entry." in html


def test_a_count_that_differs_from_the_entries_is_shown():
    html = render_report({**MANIFEST, "entries_count": 99, "format": "hallmark-evidence-pack/1"}, a_file())
    assert "this report was rendered from 18 entries" in html
    assert "hallmark-evidence-pack/1" in html  # other manifest fields are shown as they are


@pytest.mark.parametrize("other", ["Ann Auditor", "Luc Lead"])
def test_a_period_with_two_files_judges_each_file_on_its_own(other):
    """An evaluator of one file may decide another: R1 is judged per certification file."""
    second_app, second_audit, second_decision = "22222222-0000-4000-8000-000000000002", "a2", "d2"
    second = [
        entry(30, "Application.Submitted", second_app, "Other NV", consultancy=[], applicant={"name": "Other NV"}),
        entry(31, "Audit.Planned", second_audit, "Eve Lead", application_id=second_app, kind="initial"),
        entry(32, "Audit.TeamMemberAssigned", second_audit, "Olivia Officer", person="Eve Lead",
              role="lead_auditor", declaration={"independent": True}, declared_on="2026-11-19"),
        entry(33, "Decision.Recorded", second_decision, other, outcome="grant", application_id=second_app),
    ]
    html = render_report({**MANIFEST, "selection": "period 2026-10-01 to 2027-12-31"}, a_file() + second)
    impartiality = section(html, "impartiality")
    assert f"File <span class=\"mono\">{APP}</span>" in impartiality
    assert f"File <span class=\"mono\">{second_app}</span>" in impartiality
    assert "NOT HELD" not in impartiality
