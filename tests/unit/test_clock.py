"""The body's calendar: late evening UTC is already tomorrow in Brussels."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.clock import Clock


class At(Clock):
    def __init__(self, instant: datetime, timezone: str = "Europe/Brussels") -> None:
        super().__init__(timezone)
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


def test_late_evening_utc_is_tomorrow_for_the_body():
    assert At(datetime(2026, 11, 25, 23, 30, tzinfo=UTC)).today() == date(2026, 11, 26)  # CET, UTC+1
    assert At(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)).today() == date(2026, 7, 2)  # CEST, UTC+2
    assert At(datetime(2026, 7, 1, 21, 30, tzinfo=UTC)).today() == date(2026, 7, 1)


def test_another_zone_is_honoured():
    assert At(datetime(2026, 11, 25, 23, 30, tzinfo=UTC), "UTC").today() == date(2026, 11, 25)
