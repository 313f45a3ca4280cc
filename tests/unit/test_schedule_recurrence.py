"""Occurrences of every default duty across month ends, leap years, a swapped working day and a
public holiday; the working calendar's overrides and move rules."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftersales_desk.domain.recurrence import DutyRule, ics_plan, occurrences, parse_rrule
from aftersales_desk.domain.workcal import Shift, WorkCalendar
from aftersales_desk.services.schedule import DEFAULT_DUTIES

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
BY_CODE = {d.code: d for d in DEFAULT_DUTIES}


def _rule(code: str, events: tuple[date, ...] = ()) -> DutyRule:
    d = BY_CODE[code]
    return DutyRule(d.rrule, d.dtstart, d.due_time, d.shift, d.offset_days, events)


def _due(code: str, start: date, end: date, events: tuple[date, ...] = ()) -> list[date]:
    return [o.due_on for o in occurrences(_rule(code, events), CAL, start, end, TZ)]


def test_the_default_set_is_the_seeds_schedule():
    assert {d.code for d in DEFAULT_DUTIES} >= {
        "D-MORNING", "W1-CASES", "W2-MEETING", "W4-KEYCUST", "W5-TECH",
        "M05-CSI", "M10-MSI", "M15-STATIONERY", "M20-IDEAS", "E-CAMPAIGN",
    }  # fmt: skip
    assert BY_CODE["D-MORNING"].due_time == time(12, 0)
    assert all(BY_CODE[c].due_time == time(17, 0) for c in ("W2-MEETING", "W4-KEYCUST", "W5-TECH"))
    assert BY_CODE["E-CAMPAIGN"].offset_days == 3 and not BY_CODE["E-CAMPAIGN"].rrule


def test_calendar_knows_holidays_and_swapped_days():
    assert not CAL.is_working(date(2026, 10, 1))  # National Day
    assert CAL.is_working(date(2026, 9, 20))  # a Sunday worked in exchange
    assert CAL.is_working(date(2026, 10, 10))  # a Saturday worked in exchange
    assert not CAL.is_working(date(2026, 11, 22))  # an ordinary Sunday
    assert CAL.is_working(date(2026, 11, 23))


def test_branch_days_win_and_cover_years_the_package_does_not_know():
    assert not CAL.known(date(2099, 1, 1))
    cal = WorkCalendar({date(2026, 11, 23): False, date(2026, 11, 22): True})
    assert not cal.is_working(date(2026, 11, 23))
    assert cal.is_working(date(2026, 11, 22))
    # a year beyond the package: weekends only, plus what the branch adds
    far = date(2031, 10, 1)  # a Wednesday
    assert WorkCalendar().is_working(far)
    assert not WorkCalendar({far: False}).is_working(far)


def test_daily_duty_skips_days_off_and_works_swapped_days():
    got = _due("D-MORNING", date(2026, 9, 18), date(2026, 10, 12))
    assert date(2026, 9, 20) in got  # swapped working Sunday
    assert date(2026, 9, 19) not in got  # Saturday
    assert date(2026, 9, 25) not in got  # Mid-Autumn Festival
    assert not [d for d in got if date(2026, 10, 1) <= d <= date(2026, 10, 7)]
    assert date(2026, 10, 10) in got  # swapped working Saturday


def test_daily_duty_due_time_in_the_branch_zone():
    occ = occurrences(_rule("D-MORNING"), CAL, date(2026, 11, 23), date(2026, 11, 24), TZ)
    assert [o.due_at.isoformat() for o in occ] == ["2026-11-23T12:00:00+08:00"]


@pytest.mark.parametrize(
    ("code", "weekday"), [("W1-CASES", 0), ("W2-MEETING", 1), ("W4-KEYCUST", 3), ("W5-TECH", 4)]
)
def test_weekly_duties_on_their_weekday(code: str, weekday: int):
    got = _due(code, date(2026, 11, 1), date(2026, 12, 1))
    assert got and all(d.weekday() == weekday for d in got)
    assert len(got) in (4, 5)


def test_weekly_duty_on_a_holiday_moves_by_its_rule():
    # Thursday 2026-10-01 is National Day: the key-customer report moves to the working day before
    assert date(2026, 9, 30) in _due("W4-KEYCUST", date(2026, 9, 28), date(2026, 10, 9))
    assert date(2026, 10, 1) not in _due("W4-KEYCUST", date(2026, 9, 28), date(2026, 10, 9))
    # Monday 2026-10-05 is a holiday: the Monday reminder moves after, to Thursday 10-08
    assert _due("W1-CASES", date(2026, 10, 5), date(2026, 10, 10)) == [date(2026, 10, 8)]


@pytest.mark.parametrize(
    ("code", "day"), [("M05-CSI", 5), ("M10-MSI", 10), ("M15-STATIONERY", 15), ("M20-IDEAS", 20)]
)
def test_monthly_duties_once_a_month_never_after_their_day(code: str, day: int):
    occ = occurrences(_rule(code), CAL, date(2026, 1, 1), date(2027, 1, 1), TZ)
    assert [o.nominal for o in occ] == [date(2026, m, day) for m in range(1, 13)]
    for o in occ:  # moved before when the day is off, possibly into the previous month
        assert o.due_on <= o.nominal and CAL.is_working(o.due_on)
        assert (o.nominal - o.due_on).days < 10


def test_monthly_deadline_on_public_holiday_and_weekend_moves_before():
    # 2026-10-05 (National Day holiday) → Wed 2026-09-30, crossing the month end
    assert _due("M05-CSI", date(2026, 9, 25), date(2026, 10, 31)) == [date(2026, 9, 30)]
    # 2026-04-05 (Qingming, Sunday) → Fri 2026-04-03
    assert _due("M05-CSI", date(2026, 4, 1), date(2026, 4, 30)) == [date(2026, 4, 3)]


def test_quarterly_duty_at_month_ends_in_a_leap_year():
    got = _due("Q-SUMMARY", date(2024, 1, 1), date(2025, 1, 1))
    # 2024-03-31 is Sunday → Fri 03-29; 06-30 Sunday → Fri 06-28; 09-30 Monday (worked);
    # 12-31 Tuesday
    assert got == [date(2024, 3, 29), date(2024, 6, 28), date(2024, 9, 30), date(2024, 12, 31)]


def test_leap_day_monthly_rule():
    rule = DutyRule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", date(2020, 1, 1), time(17), Shift.KEEP)
    got = [o.due_on for o in occurrences(rule, CAL, date(2023, 1, 1), date(2026, 1, 1), TZ)]
    assert got == [date(2023, 2, 28), date(2024, 2, 29), date(2025, 2, 28)]
    rule31 = DutyRule("FREQ=MONTHLY;BYMONTHDAY=31", date(2024, 1, 1), time(17), Shift.KEEP)
    months = {
        o.due_on.month for o in occurrences(rule31, CAL, date(2024, 1, 1), date(2025, 1, 1), TZ)
    }
    assert months == {1, 3, 5, 7, 8, 10, 12}  # RFC 5545: no 31st, no occurrence


def test_relative_duty_after_campaign_end():
    ends = (date(2026, 3, 31), date(2026, 9, 27))
    # 03-31 + 3 = Fri 04-03 (working); 09-27 + 3 = Wed 09-30 (working)
    assert _due("E-CAMPAIGN", date(2026, 1, 1), date(2027, 1, 1), ends) == [
        date(2026, 4, 3),
        date(2026, 9, 30),
    ]
    # ending 2026-09-29: + 3 = 10-02 (holiday) → moved before to 09-30
    assert _due("E-CAMPAIGN", date(2026, 9, 1), date(2026, 11, 1), (date(2026, 9, 29),)) == [
        date(2026, 9, 30)
    ]


def test_every_default_duty_for_a_year_has_sane_occurrences():
    events = (date(2026, 3, 31), date(2026, 6, 30))
    for spec in DEFAULT_DUTIES:
        rule = DutyRule(
            spec.rrule, spec.dtstart, spec.due_time, spec.shift, spec.offset_days, events
        )
        occ = occurrences(rule, CAL, date(2026, 1, 1), date(2027, 1, 1), TZ)
        assert occ, spec.code
        days = [o.due_on for o in occ]
        assert days == sorted(set(days)), spec.code
        if spec.shift is not Shift.KEEP:
            assert all(CAL.is_working(d) for d in days), spec.code


def test_bad_rules_are_refused_with_a_message():
    for bad in (
        "",
        "FREQ=HOURLY",
        "FREQ=DAILY;COUNT=3",
        "FREQ=WEEKLY;BYDAY=XX",
        "NONSENSE",
        "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",  # 2026, 2030, …: never a leap year
        "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",  # no 30 February
    ):
        with pytest.raises(ValueError):
            parse_rrule(bad, date(2026, 1, 1), probe=True)


def test_ics_plan_reproduces_the_occurrences():
    rule = _rule("M05-CSI")
    plan = ics_plan(rule, CAL, date(2026, 1, 1), date(2027, 1, 1), TZ)
    assert date(2026, 10, 5) in plan.exdates and date(2026, 9, 30) in plan.rdates
    nominal = set(rule.nominal_dates(date(2026, 1, 1), date(2027, 1, 1)))
    expanded = sorted((nominal - set(plan.exdates)) | set(plan.rdates))
    assert expanded == _due("M05-CSI", date(2026, 1, 1), date(2027, 1, 1))
    assert plan.until == date(2026, 12, 31) - timedelta(days=0)


@pytest.mark.parametrize(
    "body",
    [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR",
        "FREQ=WEEKLY",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1",
        "FREQ=YEARLY",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR",
    ],
)
@pytest.mark.parametrize("dtstart", [date(2019, 1, 31), date(2020, 2, 29), date(2021, 6, 15)])
def test_fast_start_gives_exactly_dateutils_dates(body: str, dtstart: date):
    """Starting the expansion near the window (for speed) changes no date."""
    from datetime import datetime

    from dateutil.rrule import rrulestr

    reference = rrulestr(body, dtstart=datetime.combine(dtstart, time()))
    rule = DutyRule(body, dtstart, time(9), Shift.KEEP)
    for start, end in (
        (date(2026, 3, 7), date(2026, 9, 1)),
        (date(2029, 12, 30), date(2030, 3, 2)),
    ):
        lo, hi = datetime.combine(start, time()), datetime.combine(end, time())
        expected = [d.date() for d in reference.between(lo, hi - timedelta(seconds=1), inc=True)]
        assert rule.nominal_dates(start, end) == expected, (body, start)
