"""The branch's working calendar: weekends, China's public holidays and swapped working days (from
``chinesecalendar``), and days the branch adds itself when the package is out of date.

A deadline that falls on a day off moves by its duty's rule: to the working day before, to the
one after, stays where it is, or is skipped (a daily duty has nothing to do on a day off).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar
from chinese_calendar import constants as _cn

from aftersales_desk.i18n import N_, _

# The years the installed chinesecalendar knows; outside them only weekends count as days off.
_HOLIDAYS: frozenset[date] = frozenset(_cn.holidays)
_SWAPPED_WORKDAYS: frozenset[date] = frozenset(_cn.workdays)
KNOWN_YEARS: frozenset[int] = frozenset(d.year for d in _HOLIDAYS)
_MAX_SEARCH_DAYS = 60  # longer than any run of days off (Spring Festival + weekends)


class Shift(StrEnum):
    BEFORE = "before"
    AFTER = "after"
    KEEP = "keep"
    SKIP = "skip"

    @property
    def label(self) -> str:
        return _(SHIFT_LABELS[self])


SHIFT_LABELS = {
    Shift.BEFORE: N_("Working day before"),
    Shift.AFTER: N_("Working day after"),
    Shift.KEEP: N_("Keep the day"),
    Shift.SKIP: N_("Skip the day"),
}


def package_version() -> str:
    return getattr(chinese_calendar, "__version__", "?")


@dataclass(frozen=True)
class WorkCalendar:
    """``overrides``: day → working (True) or day off (False), set by the branch; they win."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    public_holidays: bool = True

    def is_working(self, day: date) -> bool:
        forced = self.overrides.get(day)
        if forced is not None:
            return forced
        if self.public_holidays and day.year in KNOWN_YEARS:
            if day in _HOLIDAYS:
                return False
            if day in _SWAPPED_WORKDAYS:
                return True
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str:
        """The public holiday's name (from the package) when ``day`` is one, else ``""``."""
        if self.public_holidays and day in _HOLIDAYS:
            return str(_cn.holidays[day] or "")
        return ""

    def known(self, day: date) -> bool:
        """Whether the calendar knows ``day``'s holidays (package data or a branch override)."""
        return day in self.overrides or not self.public_holidays or day.year in KNOWN_YEARS

    def shift(self, day: date, rule: Shift | str) -> date | None:
        """Where a deadline on ``day`` lands under ``rule``; ``None`` when it is skipped."""
        if self.is_working(day):
            return day
        rule = Shift(rule)
        if rule is Shift.KEEP:
            return day
        if rule is Shift.SKIP:
            return None
        step = timedelta(days=-1 if rule is Shift.BEFORE else 1)
        d = day
        for _i in range(_MAX_SEARCH_DAYS):
            d += step
            if self.is_working(d):
                return d
        return day  # a calendar with no working day in sight: keep the date rather than lose it

    def working_days(self, start: date, end: date) -> Iterable[date]:
        d = start
        while d < end:
            if self.is_working(d):
                yield d
            d += timedelta(days=1)
