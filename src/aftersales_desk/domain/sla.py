"""Work-order service clocks: the chain of deadlines a work order runs from the moment it is
opened — dispatched ≤ 30 min, customer contacted ≤ 2 h, on site / first feedback ≤ 24 h,
progress followed up ≤ 48 h, closed ≤ 72 h — counted in working hours when the branch says so,
stopped while the order waits (parts, customer unavailable), and escalated with a reason when it
is open more than 3 days.

Plain rules on plain values: the work order record (owned by the customer archive) feeds its
events in and stores what ``ServiceClock`` reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from aftersales_desk.domain.clock import as_utc
from aftersales_desk.domain.workcal import WorkCalendar
from aftersales_desk.i18n import N_, _

ESCALATE_AFTER = timedelta(days=3)
_HORIZON = timedelta(days=400)  # no deadline of the chain is further away than this


class Stage(StrEnum):
    DISPATCH = "dispatch"
    CONTACT = "contact"
    ON_SITE = "on_site"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"

    @property
    def label(self) -> str:
        return _(STAGE_LABELS[self])


STAGE_LABELS = {
    Stage.DISPATCH: N_("Dispatched"),
    Stage.CONTACT: N_("Customer contacted"),
    Stage.ON_SITE: N_("On site / first feedback"),
    Stage.FOLLOW_UP: N_("Progress followed up"),
    Stage.CLOSE: N_("Closed"),
}

# From the seeds: 30分钟派工、2小时内联系用户、24小时上门反馈、48小时跟踪处理进度、72小时信息闭环.
CHAIN: tuple[tuple[Stage, timedelta], ...] = (
    (Stage.DISPATCH, timedelta(minutes=30)),
    (Stage.CONTACT, timedelta(hours=2)),
    (Stage.ON_SITE, timedelta(hours=24)),
    (Stage.FOLLOW_UP, timedelta(hours=48)),
    (Stage.CLOSE, timedelta(hours=72)),
)


class PauseReason(StrEnum):
    WAITING_FOR_PARTS = "waiting_for_parts"
    CUSTOMER_UNAVAILABLE = "customer_unavailable"

    @property
    def label(self) -> str:
        return _(PAUSE_LABELS[self])


PAUSE_LABELS = {
    PauseReason.WAITING_FOR_PARTS: N_("Waiting for parts"),
    PauseReason.CUSTOMER_UNAVAILABLE: N_("Customer unavailable"),
}


class StageState(StrEnum):
    RUNNING = "running"  # not reached, deadline ahead
    PAUSED = "paused"  # not reached, the clock is stopped
    OVERDUE = "overdue"  # not reached, deadline passed
    MET = "met"  # reached in time
    LATE = "late"  # reached after the deadline


@dataclass(frozen=True)
class WorkingHours:
    """The branch's opening hours on working days, in its zone: the clock counts only these."""

    start: time
    end: time
    calendar: WorkCalendar
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(_("Working hours must end after they start."))

    def windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working-hour windows (UTC) from ``since`` on, the first one clipped to it."""
        since = as_utc(since)
        day = since.astimezone(self.tz).date()
        last = day + _HORIZON
        while day <= last:
            if self.calendar.is_working(day):
                a, b = _day_window(day, self.start, self.end, self.tz)
                if b > since:
                    yield max(a, since), b
            day += timedelta(days=1)


@lru_cache(maxsize=8192)
def _day_window(day: date, start: time, end: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """One day's opening hours in UTC (zone arithmetic is the costly part of counting)."""
    return (
        datetime.combine(day, start, tz).astimezone(UTC),
        datetime.combine(day, end, tz).astimezone(UTC),
    )


@dataclass
class Pause:
    start: datetime
    reason: PauseReason
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class StageStatus:
    stage: Stage
    limit: timedelta
    deadline: datetime | None  # None while the clock is stopped before reaching it
    reached_at: datetime | None
    state: StageState
    remaining: timedelta | None  # counted time left (negative when overdue); None if reached


@dataclass
class ServiceClock:
    """The clock of one work order. Events are fed in time order; ``status(now)`` reads it."""

    opened_at: datetime
    hours: WorkingHours | None = None
    chain: tuple[tuple[Stage, timedelta], ...] = CHAIN
    reached: dict[Stage, datetime] = field(default_factory=dict)
    pauses: list[Pause] = field(default_factory=list)
    escalations: list[tuple[datetime, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.opened_at = as_utc(self.opened_at)

    # --- events -----------------------------------------------------------------------------
    def _check_time(self, at: datetime) -> datetime:
        at = as_utc(at)
        if at < self.opened_at:
            raise ValueError(_("An event cannot happen before the order was opened."))
        last = max([self.opened_at, *self.reached.values(), *self._pause_times()])
        if at < last:
            raise ValueError(_("Events are recorded in time order."))
        return at

    def _pause_times(self) -> list[datetime]:
        return [t for p in self.pauses for t in (p.start, p.end) if t is not None]

    @property
    def closed(self) -> bool:
        return Stage.CLOSE in self.reached

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None

    def reach(self, stage: Stage, at: datetime) -> None:
        """Record that ``stage`` was reached at ``at`` (the stages before it must be reached)."""
        at = self._check_time(at)
        stages = [s for s, _limit in self.chain]
        if stage in self.reached:
            raise ValueError(_("This step is already recorded: {step}").format(step=stage.label))
        for earlier in stages[: stages.index(stage)]:
            if earlier not in self.reached:
                raise ValueError(
                    _("Record “{earlier}” before “{step}”.").format(
                        earlier=earlier.label, step=stage.label
                    )
                )
        if stage is Stage.CLOSE and self.paused:
            self.pauses[-1].end = at
        elif self.paused:
            raise ValueError(_("The order is paused; resume it first."))
        self.reached[stage] = at

    def pause(self, at: datetime, reason: PauseReason | str) -> None:
        at = self._check_time(at)
        if self.closed:
            raise ValueError(_("The order is closed."))
        if self.paused:
            raise ValueError(_("The order is already paused."))
        self.pauses.append(Pause(at, PauseReason(reason)))

    def resume(self, at: datetime) -> None:
        at = self._check_time(at)
        if not self.paused:
            raise ValueError(_("The order is not paused."))
        self.pauses[-1].end = at

    def escalate(self, at: datetime, reason: str) -> None:
        if not reason.strip():
            raise ValueError(_("An escalation needs a reason."))
        at = as_utc(at)
        if at < self.opened_at:
            raise ValueError(_("An event cannot happen before the order was opened."))
        self.escalations.append((at, reason.strip()))

    # --- counting ---------------------------------------------------------------------------
    def _base(self) -> Iterator[tuple[datetime, datetime]]:
        if self.hours is None:
            yield self.opened_at, self.opened_at + _HORIZON
        else:
            yield from self.hours.windows(self.opened_at)

    def _active(self) -> Iterator[tuple[datetime, datetime]]:
        """Counted time: working windows minus pauses; ends at an open pause."""
        far = self.opened_at + _HORIZON * 2
        pauses = [(p.start, p.end or far) for p in self.pauses]
        for a, b in self._base():
            for ps, pe in pauses:
                if pe <= a or ps >= b:
                    continue
                if ps > a:
                    yield a, ps
                a = max(a, pe)
                if a >= b:
                    break
            if a < b:
                yield a, b
            if a >= far:
                return

    def counted(self, until: datetime) -> timedelta:
        """Clock time from opening to ``until`` (pauses and, with working hours, closed hours out)."""
        until = as_utc(until)
        total = timedelta()
        for a, b in self._active():
            if a >= until:
                break
            total += min(b, until) - a
        return total

    def deadline(self, limit: timedelta) -> datetime | None:
        """When ``limit`` of counted time will have run, as things stand (None: clock stopped)."""
        left = limit
        for a, b in self._active():
            if b - a >= left:
                return a + left
            left -= b - a
        return None

    def measure(
        self, points: list[datetime], limits: list[timedelta]
    ) -> tuple[list[timedelta], list[datetime | None]]:
        """``counted`` at each of ``points`` and ``deadline`` of each of ``limits``, in one pass
        over the clock's time (what a list of many orders needs)."""
        at = sorted((as_utc(p), i) for i, p in enumerate(points))
        lim = sorted((x, i) for i, x in enumerate(limits))
        counted: list[timedelta] = [timedelta()] * len(points)
        deadlines: list[datetime | None] = [None] * len(limits)
        total = timedelta()
        pi = li = 0
        for a, b in self._active():
            while pi < len(at) and at[pi][0] <= a:
                counted[at[pi][1]] = total
                pi += 1
            while pi < len(at) and at[pi][0] < b:
                counted[at[pi][1]] = total + (at[pi][0] - a)
                pi += 1
            span = b - a
            while li < len(lim) and lim[li][0] - total <= span:
                deadlines[lim[li][1]] = a + (lim[li][0] - total)
                li += 1
            total += span
            if pi == len(at) and li == len(lim):
                break
        while pi < len(at):  # after the last counted time (an open pause): all of it
            counted[at[pi][1]] = total
            pi += 1
        return counted, deadlines

    def status(self, now: datetime) -> list[StageStatus]:
        now = as_utc(now)
        out = []
        for stage, limit in self.chain:
            deadline = self.deadline(limit)
            reached = self.reached.get(stage)
            if reached is not None:
                late = self.counted(reached) > limit
                out.append(
                    StageStatus(
                        stage,
                        limit,
                        deadline,
                        reached,
                        StageState.LATE if late else StageState.MET,
                        None,
                    )
                )
                continue
            remaining = limit - self.counted(now)
            if remaining < timedelta():
                state = StageState.OVERDUE
            elif self.paused:
                state = StageState.PAUSED
            else:
                state = StageState.RUNNING
            out.append(StageStatus(stage, limit, deadline, None, state, remaining))
        return out

    def open_for(self, now: datetime) -> timedelta:
        end = self.reached.get(Stage.CLOSE) or as_utc(now)
        return end - self.opened_at

    def needs_escalation(self, now: datetime) -> bool:
        """Open more than three days and not escalated yet."""
        return not self.closed and self.open_for(now) > ESCALATE_AFTER and not self.escalations
