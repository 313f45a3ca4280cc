"""Work-order service clocks: the chain of deadlines, pauses, working hours, escalation — with
time travel (time-machine), never sleeps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.sla import (
    CHAIN,
    PauseReason,
    ServiceClock,
    Stage,
    StageState,
    WorkingHours,
)
from aftersales_desk.domain.workcal import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")


def local(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def states(clock: ServiceClock) -> dict[Stage, StageState]:
    return {s.stage: s.state for s in clock.status(utcnow())}


def test_chain_from_the_seeds():
    assert [(s.value, int(limit.total_seconds() // 60)) for s, limit in CHAIN] == [
        ("dispatch", 30),
        ("contact", 120),
        ("on_site", 1440),
        ("follow_up", 2880),
        ("close", 4320),
    ]


def test_round_the_clock_deadlines_and_states_as_time_passes():
    opened = local(2026, 11, 23, 9, 0)
    with time_machine.travel(opened, tick=False) as traveller:
        clock = ServiceClock(opened_at=utcnow())
        assert states(clock)[Stage.DISPATCH] is StageState.RUNNING
        traveller.move_to(local(2026, 11, 23, 9, 20))
        clock.reach(Stage.DISPATCH, utcnow())
        traveller.move_to(local(2026, 11, 23, 11, 30))  # contact was due 11:00
        st = states(clock)
        assert st[Stage.DISPATCH] is StageState.MET
        assert st[Stage.CONTACT] is StageState.OVERDUE
        clock.reach(Stage.CONTACT, utcnow())
        assert states(clock)[Stage.CONTACT] is StageState.LATE
    deadlines = {s.stage: s.deadline for s in clock.status(opened)}
    assert deadlines[Stage.ON_SITE] == local(2026, 11, 24, 9, 0)
    assert deadlines[Stage.CLOSE] == local(2026, 11, 26, 9, 0)


def test_pause_stops_the_clock_and_pushes_deadlines():
    opened = local(2026, 11, 23, 9, 0)
    with time_machine.travel(opened, tick=False) as traveller:
        clock = ServiceClock(opened_at=utcnow())
        clock.reach(Stage.DISPATCH, utcnow())
        traveller.move_to(local(2026, 11, 23, 10, 0))
        clock.reach(Stage.CONTACT, utcnow())
        traveller.move_to(local(2026, 11, 23, 12, 0))
        clock.pause(utcnow(), PauseReason.WAITING_FOR_PARTS)
        traveller.move_to(local(2026, 11, 25, 12, 0))  # two days waiting for parts
        st = {s.stage: s for s in clock.status(utcnow())}
        assert st[Stage.ON_SITE].state is StageState.PAUSED
        assert st[Stage.ON_SITE].deadline is None  # unknown while stopped
        assert st[Stage.ON_SITE].remaining == timedelta(hours=21)
        assert clock.counted(utcnow()) == timedelta(hours=3)
        clock.resume(utcnow())
        st = {s.stage: s for s in clock.status(utcnow())}
        assert st[Stage.ON_SITE].state is StageState.RUNNING
        assert st[Stage.ON_SITE].deadline == local(2026, 11, 26, 9, 0)  # 9:00 + 24 h + 48 h pause
        # wall clock says open > 3 days soon, but the close deadline moved by the pause too
        assert st[Stage.CLOSE].deadline == local(2026, 11, 28, 9, 0)


def test_working_hours_count_only_opening_hours_on_working_days():
    hours = WorkingHours(time(8, 30), time(17, 30), WorkCalendar(), TZ)
    # opened Friday 2026-11-20 16:00
    clock = ServiceClock(opened_at=local(2026, 11, 20, 16, 0), hours=hours)
    deadlines = {s.stage: s.deadline for s in clock.status(local(2026, 11, 20, 16, 0))}
    assert deadlines[Stage.DISPATCH] == local(2026, 11, 20, 16, 30)
    # 2 h: 1.5 h on Friday, the weekend does not count, 0.5 h on Monday
    assert deadlines[Stage.CONTACT] == local(2026, 11, 23, 9, 0)
    # 24 working hours = 1.5 h Fri + 9 h Mon + 9 h Tue + 4.5 h Wed
    assert deadlines[Stage.ON_SITE] == local(2026, 11, 25, 13, 0)


def test_working_hours_skip_public_holidays_and_count_swapped_days():
    hours = WorkingHours(time(9, 0), time(17, 0), WorkCalendar(), TZ)
    # opened Wed 2026-09-30 16:00; Oct 1–7 are holidays; Oct 8 is the next working day
    clock = ServiceClock(opened_at=local(2026, 9, 30, 16, 0), hours=hours)
    assert clock.deadline(timedelta(hours=2)) == local(2026, 10, 8, 10, 0)
    # opened Sat 2026-09-19 (a day off) — the swapped working Sunday 09-20 counts
    clock = ServiceClock(opened_at=local(2026, 9, 19, 10, 0), hours=hours)
    assert clock.deadline(timedelta(minutes=30)) == local(2026, 9, 20, 9, 30)


def test_pause_inside_working_hours():
    hours = WorkingHours(time(9, 0), time(17, 0), WorkCalendar(), TZ)
    clock = ServiceClock(opened_at=local(2026, 11, 23, 9, 0), hours=hours)
    clock.reach(Stage.DISPATCH, local(2026, 11, 23, 9, 10))
    clock.pause(local(2026, 11, 23, 10, 0), PauseReason.CUSTOMER_UNAVAILABLE)
    clock.resume(local(2026, 11, 24, 10, 0))  # 7 h Mon + 1 h Tue not counted
    assert clock.counted(local(2026, 11, 24, 11, 0)) == timedelta(hours=2)
    assert clock.deadline(timedelta(hours=2)) == local(2026, 11, 24, 11, 0)


def test_escalation_after_three_days_needs_a_reason():
    opened = local(2026, 11, 23, 9, 0)
    with time_machine.travel(opened, tick=False) as traveller:
        clock = ServiceClock(opened_at=utcnow())
        traveller.move_to(opened + timedelta(days=3))
        assert not clock.needs_escalation(utcnow())
        traveller.move_to(opened + timedelta(days=3, minutes=1))
        assert clock.needs_escalation(utcnow())
        with pytest.raises(ValueError):
            clock.escalate(utcnow(), "   ")
        clock.escalate(utcnow(), "配件缺货，厂家发货延迟")
        assert not clock.needs_escalation(utcnow())
        assert clock.escalations[0][1] == "配件缺货，厂家发货延迟"


def test_closed_order_is_not_escalated_and_close_ends_a_pause():
    opened = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    clock = ServiceClock(opened_at=opened)
    for i, stage in enumerate([Stage.DISPATCH, Stage.CONTACT, Stage.ON_SITE]):
        clock.reach(stage, opened + timedelta(minutes=10 * (i + 1)))
    clock.pause(opened + timedelta(hours=1), PauseReason.WAITING_FOR_PARTS)
    clock.resume(opened + timedelta(hours=2))
    clock.reach(Stage.FOLLOW_UP, opened + timedelta(hours=3))
    clock.pause(opened + timedelta(hours=4), PauseReason.CUSTOMER_UNAVAILABLE)
    clock.reach(Stage.CLOSE, opened + timedelta(days=5))
    assert not clock.paused and clock.closed
    assert not clock.needs_escalation(opened + timedelta(days=10))
    st = {s.stage: s.state for s in clock.status(opened + timedelta(days=10))}
    assert st[Stage.CLOSE] is StageState.MET  # 3 h counted before the pause


def test_events_in_order_and_steps_in_sequence():
    opened = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    clock = ServiceClock(opened_at=opened)
    with pytest.raises(ValueError):
        clock.reach(Stage.CONTACT, opened + timedelta(minutes=5))  # not dispatched yet
    with pytest.raises(ValueError):
        clock.reach(Stage.DISPATCH, opened - timedelta(minutes=5))
    clock.reach(Stage.DISPATCH, opened + timedelta(minutes=20))
    with pytest.raises(ValueError):
        clock.pause(opened + timedelta(minutes=10), PauseReason.WAITING_FOR_PARTS)
    with pytest.raises(ValueError):
        clock.resume(opened + timedelta(minutes=30))
    with pytest.raises(ValueError):
        WorkingHours(time(18), time(9), WorkCalendar(), TZ)
    assert date(2026, 11, 23) == clock.opened_at.astimezone(TZ).date()


@settings(max_examples=60, deadline=None)
@given(
    start_minute=st.integers(0, 7 * 24 * 60),
    limit_minutes=st.sampled_from([30, 120, 24 * 60, 48 * 60, 72 * 60]),
    pauses=st.lists(st.tuples(st.integers(1, 3000), st.integers(1, 3000)), max_size=3),
    working_hours=st.booleans(),
)
def test_deadline_is_when_the_counted_time_reaches_the_limit(
    start_minute, limit_minutes, pauses, working_hours
):
    hours = WorkingHours(time(8, 30), time(17, 30), WorkCalendar(), TZ) if working_hours else None
    opened = local(2026, 9, 21, 0, 0) + timedelta(minutes=start_minute)  # spans National Day
    clock = ServiceClock(opened_at=opened, hours=hours)
    t = opened
    for gap, length in pauses:
        t += timedelta(minutes=gap)
        clock.pause(t, PauseReason.WAITING_FOR_PARTS)
        t += timedelta(minutes=length)
        clock.resume(t)
    limit = timedelta(minutes=limit_minutes)
    deadline = clock.deadline(limit)
    assert deadline is not None and deadline > opened
    assert clock.counted(deadline) == limit
    assert clock.counted(deadline - timedelta(minutes=1)) < limit
    if hours is not None:  # a deadline lands inside opening hours on a working day
        local_deadline = deadline.astimezone(TZ)
        assert WorkCalendar().is_working(local_deadline.date())
        assert time(8, 30) < local_deadline.time() <= time(17, 30)


@settings(max_examples=60, deadline=None)
@given(
    hours=st.booleans(),
    opened_min=st.integers(0, 7 * 24 * 60),
    pauses=st.lists(st.tuples(st.integers(1, 3000), st.integers(0, 3000)), max_size=3),
    open_pause=st.booleans(),
    points=st.lists(st.integers(0, 20 * 24 * 60), min_size=1, max_size=5),
)
def test_measure_agrees_with_counted_and_deadline(hours, opened_min, pauses, open_pause, points):
    """The one-pass ``measure`` (used for long lists) gives what ``counted``/``deadline`` give."""
    opened = local(2026, 9, 28, 0) + timedelta(minutes=opened_min)  # around National Day
    wh = WorkingHours(time(9), time(17, 30), WorkCalendar(), TZ) if hours else None
    clock = ServiceClock(opened_at=opened, hours=wh)
    t = opened
    for i, (gap, length) in enumerate(pauses):
        t += timedelta(minutes=gap)
        clock.pause(t, PauseReason.CUSTOMER_UNAVAILABLE)
        if i == len(pauses) - 1 and open_pause:
            break
        t += timedelta(minutes=length)
        clock.resume(t)
    at = [opened + timedelta(minutes=p) for p in points]
    limits = [limit for _s, limit in CHAIN]
    counted, deadlines = clock.measure(at, limits)
    assert counted == [clock.counted(p) for p in at]
    assert deadlines == [clock.deadline(x) for x in limits]
