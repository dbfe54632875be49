""""Was it valid on this date?": past the validity it was expired; the future is not known yet."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support import File


def _valid_on(api, number: str, day: date):
    return api.get(f"/public/v1/certificates/{number}", on=day.isoformat())


def test_a_date_after_the_validity_answers_expired(api, hallmark):
    file = File(api).granted()
    valid_until = date.fromisoformat(api.get(f"/public/v1/certificates/{file.certificate}").json()["valid_until"])
    hallmark.clock.fixed_today = valid_until + timedelta(days=30)  # asked later, before or after the sweep
    last_day = _valid_on(api, file.certificate, valid_until).json()["valid_on"]
    assert (last_day["valid"], last_day["status"]) == (True, "active")
    day_after = _valid_on(api, file.certificate, valid_until + timedelta(days=1)).json()["valid_on"]
    assert (day_after["valid"], day_after["status"]) == (False, "expired")


def test_a_suspension_running_past_the_validity_answers_expired(api, hallmark):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    valid_until = date.fromisoformat(api.get(f"/public/v1/certificates/{file.certificate}").json()["valid_until"])
    hallmark.clock.fixed_today = valid_until + timedelta(days=2)
    answer = _valid_on(api, file.certificate, valid_until + timedelta(days=1)).json()["valid_on"]
    assert (answer["valid"], answer["status"]) == (False, "expired")


def test_the_future_is_refused_and_today_is_answered(api, hallmark):
    file = File(api).granted()
    today = hallmark.clock.today()
    assert _valid_on(api, file.certificate, today).json()["valid_on"]["valid"] is True
    future = _valid_on(api, file.certificate, today + timedelta(days=1))
    assert future.status_code == 422
    assert future.headers["content-type"].startswith("application/problem+json")
    assert "after today" in future.json()["detail"]
