"""Which kind of day a date is, for load: its weekday, or a Sunday when it is a public holiday.

Load on a public holiday looks like a Sunday's, so the detector compares a holiday with the
region's Sundays. Holidays come from the maintained `holidays` package for a configurable
country (`ANOMALY_HOLIDAY_COUNTRY`, ISO 3166 code; empty: no holidays). The country a model was
trained with is stored with it, so scoring uses the same calendar as training.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

SUNDAY = 6
DAY_KIND_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, years=[year]))


def is_holiday(day: date, country: str) -> bool:
    """A public holiday of `country` (no country: never)."""
    return bool(country) and day in _holidays(country.upper(), day.year)


def day_kind(day: date, country: str) -> int:
    """0 (Monday) … 6 (Sunday); public holidays count as Sundays."""
    return SUNDAY if is_holiday(day, country) else day.weekday()
