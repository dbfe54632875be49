"""Time as the certification body sees it: instants in UTC, calendar dates in the body's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, timezone: str = "Europe/Brussels") -> None:
        self.zone = ZoneInfo(timezone)
        self.fixed_today: date | None = None  # set by tests and by what-if tooling, never in service

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.fixed_today or self.now().astimezone(self.zone).date()
