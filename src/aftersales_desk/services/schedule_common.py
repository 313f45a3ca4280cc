"""Daily schedule, shared pieces: the value types the tab and the reports use, the default duty
set from the seeds, settings and loading of a branch's duties and calendar, and the service's base.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import CalendarDay, Duty, DutyCheckoff, DutyEvent, Setting
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.recurrence import (
    DutyRule,
    Occurrence,
    normalize_rrule,
    parse_rrule,
)
from aftersales_desk.domain.workcal import Shift, WorkCalendar
from aftersales_desk.errors import UsageError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.settings import DEFAULTS

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_TITLE = 200
MAX_NOTE = 1000


class AgendaState(StrEnum):
    DUE = "due"  # not done, deadline ahead
    OVERDUE = "overdue"  # not done, deadline passed
    DONE = "done"  # done by the deadline
    LATE = "late"  # done after the deadline

    @property
    def label(self) -> str:
        return _(STATE_LABELS[self])


STATE_LABELS = {
    AgendaState.DUE: N_("Due"),
    AgendaState.OVERDUE: N_("Overdue"),
    AgendaState.DONE: N_("Done"),
    AgendaState.LATE: N_("Done late"),
}


@dataclass(frozen=True)
class DutySpec:
    """What a branch edits about a duty. ``rrule`` empty: due ``offset_days`` after each event."""

    code: str
    title: str
    rrule: str
    dtstart: date
    due_time: time
    shift: Shift = Shift.KEEP
    offset_days: int = 0
    note: str = ""
    active: bool = True
    sort_order: int = 0


@dataclass(frozen=True, slots=True)
class DutyRow:
    id: uuid.UUID
    code: str
    title: str
    note: str
    rrule: str
    dtstart: date
    due_time: time
    shift: Shift
    offset_days: int
    active: bool
    sort_order: int
    events: tuple[tuple[date, str], ...]
    next_due: datetime | None

    @property
    def spec(self) -> DutySpec:
        return DutySpec(
            self.code,
            self.title,
            self.rrule,
            self.dtstart,
            self.due_time,
            self.shift,
            self.offset_days,
            self.note,
            self.active,
            self.sort_order,
        )

    @property
    def when_text(self) -> str:
        return describe(self.rrule, self.due_time, self.offset_days)


@dataclass(frozen=True, slots=True)
class AgendaItem:
    id: str  # "<duty id>/<nominal date>"
    duty_id: uuid.UUID
    code: str
    title: str
    nominal_on: date
    due_on: date
    due_at: datetime  # aware, in the branch's zone
    state: AgendaState
    done_at: datetime | None = None  # aware, in the branch's zone
    done_by: str = ""
    note: str = ""
    attachment_name: str = ""
    attachment_sha256: str | None = None

    @property
    def moved(self) -> bool:
        return self.nominal_on != self.due_on


@dataclass(frozen=True, slots=True)
class Agenda:
    day: date
    items: list[AgendaItem]  # overdue from earlier days first, then the day's duties by time
    overdue: int
    now: datetime


@dataclass(frozen=True, slots=True)
class CalendarDayRow:
    id: uuid.UUID
    day: date
    working: bool
    note: str


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """The branch's schedule settings (stored as ``schedule_*`` branch settings)."""

    timezone: str
    public_holidays: bool
    overdue_days: int
    sla_working_hours: bool
    work_start: time
    work_end: time
    # the service clock chain in minutes (dispatch, contact, on site, follow-up, close) and the
    # days after which an open order is escalated
    sla_minutes: tuple[int, ...] = (30, 120, 1440, 2880, 4320)
    escalate_days: int = 3


# --- the default set, from the seeds (售后信息员每月具体工作) ----------------------------------------
_T12, _T17, _T1730 = time(12, 0), time(17, 0), time(17, 30)
DEFAULT_DUTIES: tuple[DutySpec, ...] = (
    DutySpec("D-MORNING", "十二点之前将服务部早会反馈厂家", "FREQ=DAILY", date(2020, 1, 1), _T12, Shift.SKIP, sort_order=10),
    DutySpec("D-ARRIVALS", "当日到车信息的系统录入", "FREQ=DAILY", date(2020, 1, 1), _T1730, Shift.SKIP, sort_order=20),
    DutySpec("W1-CASES", "督促车间经理在销售服务系统上登记维修案例", "FREQ=WEEKLY;BYDAY=MO", date(2020, 1, 1), _T17, Shift.AFTER, sort_order=30),
    DutySpec("W2-MEETING", "下午五点前反馈服务部每周周例会", "FREQ=WEEKLY;BYDAY=TU", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=40),
    DutySpec("W4-KEYCUST", "下午五点前反馈服务部重点用户提报表", "FREQ=WEEKLY;BYDAY=TH", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=50),
    DutySpec("W5-TECH", "下午五点前反馈技术升级反馈表", "FREQ=WEEKLY;BYDAY=FR", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=60),
    DutySpec("M05-CSI", "五号前反馈CSI提升意见计划书、服务总监月度工作总结以及售后技术内训、专训培训总结", "FREQ=MONTHLY;BYMONTHDAY=5", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=70),
    DutySpec("M10-MSI", "十号前反馈服务店当月的MSI报表、月例会纪要以及提升项目管控表", "FREQ=MONTHLY;BYMONTHDAY=10", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=80),
    DutySpec("M15-STATIONERY", "十五号前统计部门物料文具使用情况并进行领取", "FREQ=MONTHLY;BYMONTHDAY=15", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=90),
    DutySpec("M20-IDEAS", "二十号前反馈服务店当月的金点子、金例子", "FREQ=MONTHLY;BYMONTHDAY=20", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=100),
    DutySpec("Q-SUMMARY", "上交本季度的岗位经验体会和工作方法改进方案（季度总结）", "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1", date(2020, 1, 1), _T17, Shift.BEFORE, sort_order=110),
    DutySpec("E-CAMPAIGN", "活动结束3日内向厂家反馈活动效果以及活动总结", "", date(2020, 1, 1), _T17, Shift.BEFORE, offset_days=3, sort_order=120),
    DutySpec("E-STAFF", "售后人员变动调整表的次日反馈厂家", "", date(2020, 1, 1), _T17, Shift.AFTER, offset_days=1, sort_order=130),
)  # fmt: skip


_WEEKDAYS = {
    "MO": N_("Mon"),
    "TU": N_("Tue"),
    "WE": N_("Wed"),
    "TH": N_("Thu"),
    "FR": N_("Fri"),
    "SA": N_("Sat"),
    "SU": N_("Sun"),
}


def weekday_label(d: date) -> str:
    return _(list(_WEEKDAYS.values())[d.weekday()])


def describe(rrule: str, due_time: time, offset_days: int) -> str:
    """A short human description of when a duty is due (the RRULE itself is shown beside it)."""
    at = due_time.strftime("%H:%M")
    if not rrule:
        return _("{n} days after each event, {time}").format(n=offset_days, time=at)
    parts = dict(p.split("=", 1) for p in normalize_rrule(rrule).split(";") if "=" in p)
    freq, interval = parts.get("FREQ", ""), parts.get("INTERVAL", "1")
    if freq == "DAILY" and interval == "1":
        return _("Daily, {time}").format(time=at)
    if freq == "WEEKLY" and interval == "1" and "BYDAY" in parts:
        days = "/".join(_(_WEEKDAYS.get(d, d)) for d in parts["BYDAY"].split(","))
        return _("Weekly on {days}, {time}").format(days=days, time=at)
    if freq == "MONTHLY" and interval == "1" and "BYMONTHDAY" in parts:
        return _("Monthly on day {day}, {time}").format(day=parts["BYMONTHDAY"], time=at)
    if (freq == "MONTHLY" and interval == "3") or (
        freq == "YEARLY" and parts.get("BYMONTH") in ("1,4,7,10", "2,5,8,11", "3,6,9,12")
    ):
        return _("Quarterly, {time}").format(time=at)
    return _("By rule, {time}").format(time=at)


# --- settings and loading ---------------------------------------------------------------------
def _settings(s: Session, branch_id: uuid.UUID | None) -> dict[str, Any]:
    stored = {
        row.key: row.value
        for row in s.scalars(
            select(Setting).where(Setting.branch_id == branch_id, Setting.key.like("schedule_%"))
        )
    }
    return {k: stored.get(k, v) for k, v in DEFAULTS.items() if k.startswith("schedule_")}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class _DutyData:
    """A duty's columns, read inside the unit of work (ORM rows do not leave it)."""

    id: uuid.UUID
    code: str
    title: str
    note: str
    rrule: str
    dtstart: date
    due_time: time
    shift: str
    offset_days: int
    active: bool
    sort_order: int

    @classmethod
    def of(cls, d: Duty) -> _DutyData:
        return cls(
            d.id, d.code, d.title, d.note, d.rrule, d.dtstart, d.due_time, d.shift,
            d.offset_days, d.active, d.sort_order,
        )  # fmt: skip


@dataclass(frozen=True)
class _Loaded:
    duties: list[tuple[_DutyData, DutyRule]]
    calendar: WorkCalendar
    tz: ZoneInfo
    overdue_days: int


def _rule(d: _DutyData, events: tuple[date, ...]) -> DutyRule:
    return DutyRule(d.rrule, d.dtstart, d.due_time, Shift(d.shift), d.offset_days, events)


def _calendar(s: Session, branch_id: uuid.UUID | None, public_holidays: bool) -> WorkCalendar:
    overrides = {
        c.day: c.working
        for c in s.scalars(select(CalendarDay).where(CalendarDay.branch_id == branch_id))
    }
    return WorkCalendar(overrides, public_holidays=public_holidays)


def _load(s: Session, branch_id: uuid.UUID | None, *, active_only: bool = True) -> _Loaded:
    conf = _settings(s, branch_id)
    q = select(Duty).where(Duty.branch_id == branch_id).order_by(Duty.sort_order, Duty.code)
    if active_only:
        q = q.where(Duty.active.is_(True))
    duties = [_DutyData.of(d) for d in s.scalars(q)]
    events: dict[uuid.UUID, list[date]] = {}
    for duty_id, on in s.execute(
        select(DutyEvent.duty_id, DutyEvent.occurs_on).where(DutyEvent.branch_id == branch_id)
    ):
        events.setdefault(duty_id, []).append(on)
    return _Loaded(
        [(d, _rule(d, tuple(sorted(events.get(d.id, ()))))) for d in duties],
        _calendar(s, branch_id, bool(conf["schedule_public_holidays"])),
        _zone(str(conf["schedule_timezone"])),
        int(conf["schedule_overdue_days"]),
    )


def _clean_spec(spec: DutySpec) -> DutySpec:
    code = spec.code.strip().upper()
    title = spec.title.strip()
    if not code or len(code) > 32 or any(c.isspace() for c in code):
        raise ValidationError(_("A duty code is 1 to 32 characters without spaces."), field="code")
    if not title or len(title) > MAX_TITLE:
        raise ValidationError(
            _("A duty needs a title of at most {n} characters.").format(n=MAX_TITLE), field="title"
        )
    if len(spec.note) > MAX_NOTE:
        raise ValidationError(
            _("A note is at most {n} characters.").format(n=MAX_NOTE), field="note"
        )
    try:
        shift = Shift(spec.shift)
    except ValueError:
        raise ValidationError(
            _("Unknown rule for days off: {value}").format(value=spec.shift), field="shift"
        ) from None
    rrule = normalize_rrule(spec.rrule)
    if not 0 <= spec.offset_days <= 365:
        raise ValidationError(_("The days after an event are 0 to 365."), field="offset_days")
    if rrule:
        try:
            parse_rrule(rrule, spec.dtstart, probe=True)
        except ValueError as exc:
            raise ValidationError(str(exc), field="rrule") from None
    return replace(spec, code=code, title=title, note=spec.note.strip(), shift=shift, rrule=rrule)


def attachments_dir(db_path: Path) -> Path:
    """Check-off attachments live beside the database, named by their SHA-256."""
    return db_path.parent / f"{db_path.stem}-attachments"


def _item(duty: _DutyData, occ: Occurrence, done: DutyCheckoff | None, now: datetime) -> AgendaItem:
    if done is None:
        state = AgendaState.OVERDUE if now > occ.due_at else AgendaState.DUE
        return AgendaItem(
            f"{duty.id}/{occ.nominal}", duty.id, duty.code, duty.title,
            occ.nominal, occ.due_on, occ.due_at, state,
        )  # fmt: skip
    state = AgendaState.LATE if done.done_at > occ.due_at else AgendaState.DONE
    return AgendaItem(
        f"{duty.id}/{occ.nominal}", duty.id, duty.code, duty.title, occ.nominal, occ.due_on,
        occ.due_at, state, done.done_at.astimezone(occ.due_at.tzinfo), done.done_by, done.note, done.attachment_name,
        done.attachment_sha256,
    )  # fmt: skip


class ScheduleBase:
    """What every part of ``ScheduleService`` shares: the database and the acting user."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    @property
    def branch_id(self) -> uuid.UUID | None:
        return self.actor.branch_id

    def _duty(self, s: Session, duty_id: uuid.UUID) -> Duty:
        duty = s.get(Duty, duty_id)
        if duty is None or duty.branch_id != self.branch_id:
            raise UsageError(_("No such duty."))
        return duty


def _columns(spec: DutySpec) -> dict[str, Any]:
    return {
        "code": spec.code,
        "title": spec.title,
        "note": spec.note,
        "rrule": spec.rrule,
        "dtstart": spec.dtstart,
        "due_time": spec.due_time,
        "shift": Shift(spec.shift).value,
        "offset_days": spec.offset_days,
        "active": spec.active,
        "sort_order": spec.sort_order,
    }
