"""The callback rules' date arithmetic: working days on the branch calendar, maintenance due by
date or mileage (whichever first), warranty windows across 29 February."""

from __future__ import annotations

from datetime import date

from aftersales_desk.domain.workcal import WorkCalendar
from aftersales_desk.services.callback_rules import (
    add_working_days,
    in_warranty,
    maintenance_date,
)

CN = WorkCalendar()
PLAIN = WorkCalendar(public_holidays=False)


def test_working_days_skip_weekends_holidays_and_branch_days():
    assert add_working_days(PLAIN, date(2026, 7, 31), 3) == date(2026, 8, 5)  # Fri
    assert add_working_days(CN, date(2026, 9, 30), 1) == date(2026, 10, 8)  # National Day
    assert add_working_days(CN, date(2026, 2, 27), 1) == date(2026, 2, 28)  # a swapped Saturday
    branch = WorkCalendar({date(2026, 8, 3): False, date(2026, 8, 8): True}, False)
    assert add_working_days(branch, date(2026, 7, 31), 1) == date(2026, 8, 4)
    assert add_working_days(branch, date(2026, 8, 7), 1) == date(2026, 8, 8)
    # 0 days: the day itself when it is a working day, else the next one
    assert add_working_days(PLAIN, date(2026, 8, 1), 0) == date(2026, 8, 3)
    assert add_working_days(PLAIN, date(2026, 8, 3), 0) == date(2026, 8, 3)


def test_maintenance_by_date_or_mileage_whichever_first():
    last = date(2026, 3, 2)
    kw = {"first": date(2026, 1, 1), "km_first": 5000, "km_last": 11000, "default_rate": 40}
    # 6,000 km in 60 days = 100 km/day: 15,000 km in 40 days (11 April) before 31 August
    assert maintenance_date(last, 11000, date(2026, 8, 31), 15000, **kw) == date(2026, 4, 11)
    assert maintenance_date(last, 11000, date(2026, 3, 31), 15000, **kw) == date(2026, 3, 31)
    assert maintenance_date(last, 11000, None, None, **kw) is None
    # under 30 days of history: the branch's default rate (40 km/day → 100 days)
    short = {**kw, "first": date(2026, 2, 20)}
    assert maintenance_date(last, 11000, None, 15000, **short) == date(2026, 6, 10)
    # already past the due mileage: only the date counts
    assert maintenance_date(last, 16000, date(2026, 5, 31), 15000, **kw) == date(2026, 5, 31)


def test_warranty_window():
    assert in_warranty(date(2024, 2, 29), date(2027, 2, 27), "repair", 3)
    assert not in_warranty(date(2024, 2, 29), date(2027, 2, 28), "repair", 3)
    assert in_warranty(None, date(2027, 1, 1), "warranty", 3)
    assert not in_warranty(None, date(2027, 1, 1), "repair", 3)
