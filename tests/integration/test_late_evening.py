"""Dates a client leaves out are the body's dates. Also run by `make test` under faketime at 23:30 UTC,
when the body's calendar (Europe/Brussels) is already a day ahead of the machine's UTC date."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support import File, today


def test_a_decision_without_effective_from_takes_effect_today_in_the_bodys_zone(api, hallmark):
    file = File(api).evaluated()
    body = {"subject": {"application_id": file.application_id}, "outcome": "grant", "basis": [file.audit_id],
            "rationale": "file reviewed"}
    decided = file.ok(api.post("/v1/decisions", body, *File.DECIDER), 201)
    body_today = hallmark.clock.today()
    assert decided["effective_from"] == decided["decided_on"] == body_today.isoformat()
    assert today() == body_today  # the helpers' dates are the body's, whatever the machine's zone


def test_the_whole_file_goes_through_whatever_the_hour(api, hallmark):
    """At 23:30 UTC this is the case that failed: every explicitly dated command on the body's today."""
    file = File(api).granted()
    assert file.ok(file.decide("suspend", effective_from=today().isoformat()), 201)["outcome"] == "suspend"
    public = api.get(f"/public/v1/certificates/{file.certificate}").json()
    assert public["status"] == "suspended"
    utc_today = datetime.now(UTC).date()
    assert abs((today() - utc_today).days) <= 1
