"""Working days in Belgium, as the body counts them for deadlines (e.g. the holder's five working days
to comment on an inspection report). Imports no I/O.

Saturdays, Sundays and the ten Belgian legal public holidays are not working days: New Year's Day,
Easter Monday, Labour Day (1 May), Ascension Day, Whit Monday, the National Day (21 July),
Assumption (15 August), All Saints' Day (1 November), Armistice Day (11 November) and Christmas
Day. They are computed here (Easter by the Gregorian computus) rather than taken from a package: the
list is fixed by law, ten lines long, and a dependency's yearly data would change the body's deadlines
without a change in this repository. Regional and community holidays are not legal holidays and do not
count.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def belgian_public_holidays(year: int) -> frozenset[date]:
    """The ten legal public holidays of Belgium in ``year``."""
    easter = easter_sunday(year)
    return frozenset({
        date(year, 1, 1),  # New Year's Day
        easter + timedelta(days=1),  # Easter Monday
        date(year, 5, 1),  # Labour Day
        easter + timedelta(days=39),  # Ascension Day
        easter + timedelta(days=50),  # Whit Monday
        date(year, 7, 21),  # National Day
        date(year, 8, 15),  # Assumption
        date(year, 11, 1),  # All Saints' Day
        date(year, 11, 11),  # Armistice Day
        date(year, 12, 25),  # Christmas Day
    })


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in belgian_public_holidays(day.year)


def add_working_days(day: date, days: int) -> date:
    """The ``days``-th working day after ``day`` (``day`` itself not counted, whatever it is)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = day
    while days:
        current += timedelta(days=1)
        if is_working_day(current):
            days -= 1
    return current
