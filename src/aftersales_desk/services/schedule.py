"""Daily schedule use cases: the branch's duties (default set from the manufacturer's schedule in
the seeds), its working calendar, today's agenda with check-off (note, attachment, who), overdue
warnings, the iCalendar export, the monthly duty report, ``ls duties``, demo history and checks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import CalendarDay, Duty, DutyCheckoff, DutyEvent, Setting
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.recurrence import (
    DutyRule,
    Occurrence,
    normalize_rrule,
    occurrences,
    parse_rrule,
)
from aftersales_desk.domain.roles import Permission
from aftersales_desk.domain.sla import ServiceClock, WorkingHours
from aftersales_desk.domain.workcal import Shift, WorkCalendar
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import demo, integrity, listing
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page
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


class ScheduleService:
    """The daily schedule of the acting user's branch."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    @property
    def branch_id(self) -> uuid.UUID | None:
        return self.actor.branch_id

    # --- duties ---------------------------------------------------------------------------
    def duties(self, *, include_inactive: bool = True) -> list[DutyRow]:
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            loaded = _load(uow.session, self.branch_id, active_only=not include_inactive)
            labels: dict[uuid.UUID, list[tuple[date, str]]] = {}
            for e in uow.session.scalars(
                select(DutyEvent)
                .where(DutyEvent.branch_id == self.branch_id)
                .order_by(DutyEvent.occurs_on)
            ):
                labels.setdefault(e.duty_id, []).append((e.occurs_on, e.label))
        today = now.astimezone(loaded.tz).date()
        rows = []
        for d, rule in loaded.duties:
            upcoming = [
                o
                for o in occurrences(
                    rule, loaded.calendar, today, today + timedelta(days=400), loaded.tz
                )
                if o.due_at >= now
            ]
            rows.append(
                DutyRow(
                    d.id, d.code, d.title, d.note, d.rrule, d.dtstart, d.due_time, Shift(d.shift),
                    d.offset_days, d.active, d.sort_order, tuple(labels.get(d.id, ())),
                    upcoming[0].due_at if upcoming and d.active else None,
                )
            )  # fmt: skip
        return rows

    def duty_page(self, cursor: int | None = None, limit: int = 200) -> Page[DutyRow]:
        """Duties a page at a time (a branch has tens of them; the cursor is a position)."""
        rows = self.duties()
        start = cursor or 0
        chunk = rows[start : start + limit]
        return Page(chunk, start + limit if start + limit < len(rows) else None)

    def create_duty(self, spec: DutySpec) -> uuid.UUID:
        require(self.actor, Permission.EDIT_SCHEDULE)
        spec = _clean_spec(spec)
        with self.db.uow(self.actor, write=True) as uow:
            self._check_code_free(uow.session, spec.code, None)
            duty = Duty(branch_id=self.branch_id, **_columns(spec))
            uow.session.add(duty)
            uow.commit()
            return duty.id

    def update_duty(self, duty_id: uuid.UUID, spec: DutySpec) -> None:
        require(self.actor, Permission.EDIT_SCHEDULE)
        spec = _clean_spec(spec)
        with self.db.uow(self.actor, write=True) as uow:
            duty = self._duty(uow.session, duty_id)
            self._check_code_free(uow.session, spec.code, duty_id)
            for key, value in _columns(spec).items():
                setattr(duty, key, value)
            uow.commit()

    def install_defaults(self) -> int:
        """Add the default duties (from the seeds) the branch does not have yet; returns how many."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        with self.db.uow(self.actor, write=True) as uow:
            have = set(
                uow.session.scalars(select(Duty.code).where(Duty.branch_id == self.branch_id))
            )
            added = 0
            for spec in DEFAULT_DUTIES:
                if spec.code not in have:
                    uow.session.add(Duty(branch_id=self.branch_id, **_columns(spec)))
                    added += 1
            uow.commit()
            return added

    def add_event(self, duty_id: uuid.UUID, label: str, occurs_on: date) -> uuid.UUID:
        """Record an event a relative duty is due after (e.g. a campaign ended on ``occurs_on``)."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        label = label.strip()
        if not label or len(label) > MAX_TITLE:
            raise ValidationError(_("An event needs a name."), field="label")
        with self.db.uow(self.actor, write=True) as uow:
            duty = self._duty(uow.session, duty_id)
            if duty.rrule:
                raise ValidationError(
                    _("Only a duty due after events takes events; this one recurs by its rule."),
                    field="duty",
                )
            exists = uow.session.scalar(
                select(DutyEvent.id).where(
                    DutyEvent.duty_id == duty_id, DutyEvent.occurs_on == occurs_on
                )
            )
            if exists:
                raise ValidationError(
                    _("This duty already has an event on {day}.").format(day=occurs_on),
                    field="occurs_on",
                )
            event = DutyEvent(
                branch_id=self.branch_id, duty_id=duty_id, label=label, occurs_on=occurs_on
            )
            uow.session.add(event)
            uow.commit()
            return event.id

    def _duty(self, s: Session, duty_id: uuid.UUID) -> Duty:
        duty = s.get(Duty, duty_id)
        if duty is None or duty.branch_id != self.branch_id:
            raise UsageError(_("No such duty."))
        return duty

    def _check_code_free(self, s: Session, code: str, own: uuid.UUID | None) -> None:
        other = s.scalar(select(Duty.id).where(Duty.branch_id == self.branch_id, Duty.code == code))
        if other is not None and other != own:
            raise ValidationError(
                _("The duty code {code} is taken.").format(code=code), field="code"
            )

    # --- working calendar -----------------------------------------------------------------
    def calendar(self) -> WorkCalendar:
        with self.db.uow(self.actor) as uow:
            conf = _settings(uow.session, self.branch_id)
            return _calendar(uow.session, self.branch_id, bool(conf["schedule_public_holidays"]))

    def calendar_days(self) -> list[CalendarDayRow]:
        with self.db.uow(self.actor) as uow:
            return [
                CalendarDayRow(c.id, c.day, c.working, c.note)
                for c in uow.session.scalars(
                    select(CalendarDay)
                    .where(CalendarDay.branch_id == self.branch_id)
                    .order_by(CalendarDay.day)
                )
            ]

    def calendar_day_page(
        self, cursor: date | None = None, limit: int = 200
    ) -> Page[CalendarDayRow]:
        with self.db.uow(self.actor) as uow:
            q = (
                select(CalendarDay)
                .where(CalendarDay.branch_id == self.branch_id)
                .order_by(CalendarDay.day)
            )
            if cursor is not None:
                q = q.where(CalendarDay.day > cursor)
            got = [
                CalendarDayRow(c.id, c.day, c.working, c.note)
                for c in uow.session.scalars(q.limit(limit + 1))
            ]
        rows = got[:limit]
        return Page(rows, rows[-1].day if len(got) > limit else None)

    def set_day(self, day: date, *, working: bool, note: str = "") -> None:
        """Declare ``day`` a working day or a day off for this branch (wins over the package)."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        with self.db.uow(self.actor, write=True) as uow:
            row = uow.session.scalar(
                select(CalendarDay).where(
                    CalendarDay.branch_id == self.branch_id, CalendarDay.day == day
                )
            )
            if row is None:
                uow.session.add(
                    CalendarDay(branch_id=self.branch_id, day=day, working=working, note=note[:200])
                )
            else:
                row.working, row.note = working, note[:200]
            uow.commit()

    def clear_day(self, day: date) -> None:
        require(self.actor, Permission.EDIT_SCHEDULE)
        with self.db.uow(self.actor, write=True) as uow:
            row = uow.session.scalar(
                select(CalendarDay).where(
                    CalendarDay.branch_id == self.branch_id, CalendarDay.day == day
                )
            )
            if row is not None:
                uow.session.delete(row)
            uow.commit()

    # --- occurrences and agenda ----------------------------------------------------------
    def occurrences(self, start: date, end: date) -> list[tuple[_DutyData, Occurrence]]:
        """Every active duty's occurrences due in ``[start, end)``, by due time."""
        with self.db.uow(self.actor) as uow:
            loaded = _load(uow.session, self.branch_id)
        out = [
            (d, o)
            for d, rule in loaded.duties
            for o in occurrences(rule, loaded.calendar, start, end, loaded.tz)
        ]
        out.sort(key=lambda pair: (pair[1].due_at, pair[0].sort_order))
        return out

    def today(self) -> date:
        with self.db.uow(self.actor) as uow:
            tz = _zone(str(_settings(uow.session, self.branch_id)["schedule_timezone"]))
        return utcnow().astimezone(tz).date()

    def agenda(self, day: date | None = None) -> Agenda:
        """What is due on ``day`` (default today) and what is still undone from the days before
        (up to ``schedule_overdue_days`` back), with who did what."""
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            s = uow.session
            loaded = _load(s, self.branch_id)
            day = day or now.astimezone(loaded.tz).date()
            since = day - timedelta(days=loaded.overdue_days)
            pairs = [
                (d, o)
                for d, rule in loaded.duties
                for o in occurrences(
                    rule, loaded.calendar, since, day + timedelta(days=1), loaded.tz
                )
            ]
            lo = min((o.nominal for _d, o in pairs), default=day)
            hi = max((o.nominal for _d, o in pairs), default=day)
            done = {
                (c.duty_id, c.nominal_on): c
                for c in s.scalars(
                    select(DutyCheckoff).where(
                        DutyCheckoff.branch_id == self.branch_id,
                        DutyCheckoff.nominal_on >= lo,
                        DutyCheckoff.nominal_on <= hi,
                    )
                )
            }
            items = []
            for d, o in pairs:
                item = _item(d, o, done.get((d.id, o.nominal)), now)
                if o.due_on == day or (o.due_on < day and item.state is AgendaState.OVERDUE):
                    items.append(item)
        items.sort(key=lambda i: (i.due_on == day, i.due_at, i.code))
        overdue = sum(1 for i in items if i.state is AgendaState.OVERDUE)
        return Agenda(day, items, overdue, now)

    def agenda_page(
        self, day: date | None = None, cursor: int | None = None, limit: int = 200
    ) -> Page[AgendaItem]:
        items = self.agenda(day).items
        start = cursor or 0
        return Page(
            items[start : start + limit], start + limit if start + limit < len(items) else None
        )

    def overdue(self) -> list[AgendaItem]:
        """Everything not done whose deadline has passed (as of now), oldest first."""
        return [i for i in self.agenda().items if i.state is AgendaState.OVERDUE]

    @staticmethod
    def _occurrence(loaded: _Loaded, duty: _DutyData, nominal_on: date) -> Occurrence:
        for d, rule in loaded.duties:
            if d.id == duty.id:
                window = timedelta(days=70)
                for o in occurrences(
                    rule, loaded.calendar, nominal_on - window, nominal_on + window, loaded.tz
                ):
                    if o.nominal == nominal_on:
                        return o
        raise ValidationError(
            _("{duty} is not due on {day}.").format(duty=duty.title, day=nominal_on), field="day"
        )

    def check_off(
        self,
        duty_id: uuid.UUID,
        nominal_on: date,
        *,
        note: str = "",
        attachment: Path | None = None,
    ) -> AgendaItem:
        """Mark one occurrence done by the acting user, now; with a note and a file if given."""
        return self.check_off_many([(duty_id, nominal_on)], note=note, attachment=attachment)[0]

    def check_off_many(
        self,
        keys: list[tuple[uuid.UUID, date]],
        *,
        note: str = "",
        attachment: Path | None = None,
    ) -> list[AgendaItem]:
        """Mark occurrences (duty id, nominal date) done by the acting user, now, all or none,
        with one note and one attached file.

        The file is copied beside the database under its SHA-256 before the rows are written, so
        a crash leaves at worst an unreferenced copy, never a check-off without its file.
        """
        require(self.actor, Permission.EDIT_SCHEDULE)
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise ValidationError(
                _("A note is at most {n} characters.").format(n=MAX_NOTE), field="note"
            )
        if not keys:
            return []
        stored = self._store_attachment(attachment) if attachment is not None else None
        now = utcnow()
        out = []
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            loaded = _load(s, self.branch_id, active_only=False)
            for duty_id, nominal_on in keys:
                duty = _DutyData.of(self._duty(s, duty_id))
                occ = self._occurrence(loaded, duty, nominal_on)
                if s.scalar(
                    select(DutyCheckoff.id).where(
                        DutyCheckoff.duty_id == duty_id, DutyCheckoff.nominal_on == nominal_on
                    )
                ):
                    raise RefusedError(
                        _("{duty} of {day} is already checked off.").format(
                            duty=duty.title, day=occ.due_on
                        )
                    )
                row = DutyCheckoff(
                    branch_id=self.branch_id,
                    duty_id=duty_id,
                    nominal_on=nominal_on,
                    due_at=occ.due_at,
                    done_at=now,
                    done_by_id=self.actor.user_id,
                    done_by=self.actor.display_name or self.actor.username,
                    note=note,
                    attachment_sha256=stored[0] if stored else None,
                    attachment_name=stored[1] if stored else "",
                    attachment_size=stored[2] if stored else 0,
                )
                s.add(row)
                s.flush()  # a second key for the same occurrence meets the row above
                out.append(_item(duty, occ, row, now))
            uow.commit()
        return out

    def undo_check_off(self, duty_id: uuid.UUID, nominal_on: date) -> None:
        """Take back a check-off made by mistake (recorded in the audit log)."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        with self.db.uow(self.actor, write=True) as uow:
            row = uow.session.scalar(
                select(DutyCheckoff).where(
                    DutyCheckoff.branch_id == self.branch_id,
                    DutyCheckoff.duty_id == duty_id,
                    DutyCheckoff.nominal_on == nominal_on,
                )
            )
            if row is None:
                raise UsageError(_("This duty is not checked off."))
            uow.session.delete(row)
            uow.commit()

    def _store_attachment(self, source: Path) -> tuple[str, str, int]:
        source = Path(source)
        try:
            size = source.stat().st_size
        except OSError:
            raise ValidationError(
                _("Cannot read the file {path}.").format(path=source), field="attachment"
            ) from None
        if size > MAX_ATTACHMENT_BYTES:
            raise ValidationError(
                _("The file is larger than {mb} MB.").format(mb=MAX_ATTACHMENT_BYTES // 2**20),
                field="attachment",
            )
        root = attachments_dir(self.db.path)
        root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = root / sha[:2] / sha
            final.parent.mkdir(exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                os.replace(tmp, final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ValidationError(
                _("Cannot store the file {path}: {error}").format(path=source, error=exc),
                field="attachment",
            ) from None
        return sha, source.name[:255], size

    def attachment_path(self, sha256: str) -> Path:
        path = attachments_dir(self.db.path) / sha256[:2] / sha256
        if len(sha256) != 64 or not path.exists():
            raise UsageError(_("The attached file is missing."))
        return path

    def save_attachment_as(self, sha256: str, out: Path) -> None:
        shutil.copyfile(self.attachment_path(sha256), out)

    # --- month -----------------------------------------------------------------------------
    def month(self, start: date, end: date) -> list[AgendaItem]:
        """Every occurrence due in ``[start, end)`` with its state as of now (for the report)."""
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            s = uow.session
            loaded = _load(s, self.branch_id)
            pairs = [
                (d, o)
                for d, rule in loaded.duties
                for o in occurrences(rule, loaded.calendar, start, end, loaded.tz)
            ]
            done = {
                (c.duty_id, c.nominal_on): c
                for c in s.scalars(
                    select(DutyCheckoff).where(
                        DutyCheckoff.branch_id == self.branch_id,
                        DutyCheckoff.nominal_on >= start - timedelta(days=70),
                        DutyCheckoff.nominal_on < end + timedelta(days=70),
                    )
                )
            }
            items = [_item(d, o, done.get((d.id, o.nominal)), now) for d, o in pairs]
        items.sort(key=lambda i: (i.due_at, i.code))
        return items

    def settings(self) -> ScheduleSettings:
        with self.db.uow(self.actor) as uow:
            conf = _settings(uow.session, self.branch_id)

        def hm(key: str, default: time) -> time:
            try:
                return time.fromisoformat(str(conf[key]))
            except ValueError:
                return default

        return ScheduleSettings(
            str(conf["schedule_timezone"]),
            bool(conf["schedule_public_holidays"]),
            int(conf["schedule_overdue_days"]),
            bool(conf["schedule_sla_working_hours"]),
            hm("schedule_work_start", time(8, 30)),
            hm("schedule_work_end", time(17, 30)),
        )

    def update_settings(self, new: ScheduleSettings) -> None:
        """Change the branch's schedule settings, all or none (managers and admins)."""
        from aftersales_desk.services.settings import SettingsService

        require(self.actor, Permission.EDIT_BRANCH_SETTINGS)
        try:
            ZoneInfo(new.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                _("Unknown time zone: {zone}").format(zone=new.timezone), field="timezone"
            ) from None
        if not 1 <= new.overdue_days <= 366:
            raise ValidationError(
                _("Overdue duties stay on the agenda for 1 to 366 days."), field="overdue_days"
            )
        if not new.work_start < new.work_end:
            raise ValidationError(_("Working hours must end after they start."), field="work_end")
        SettingsService(self.db, self.actor).update(
            {
                "schedule_timezone": new.timezone,
                "schedule_public_holidays": new.public_holidays,
                "schedule_overdue_days": new.overdue_days,
                "schedule_sla_working_hours": new.sla_working_hours,
                "schedule_work_start": new.work_start.strftime("%H:%M"),
                "schedule_work_end": new.work_end.strftime("%H:%M"),
            }
        )

    def service_clock(self, opened_at: datetime) -> ServiceClock:
        """A work order's service clock under this branch's rules: round the clock, or only in
        opening hours on working days (holidays, swapped days and branch days included) when the
        branch's ``schedule_sla_working_hours`` is on. The work order record feeds it its events.
        """
        with self.db.uow(self.actor) as uow:
            conf = _settings(uow.session, self.branch_id)
            cal = _calendar(uow.session, self.branch_id, bool(conf["schedule_public_holidays"]))
        hours = None
        if conf["schedule_sla_working_hours"]:
            try:
                start = time.fromisoformat(str(conf["schedule_work_start"]))
                end = time.fromisoformat(str(conf["schedule_work_end"]))
                hours = WorkingHours(start, end, cal, _zone(str(conf["schedule_timezone"])))
            except ValueError as exc:
                raise ValidationError(
                    _("The branch's working hours are not valid: {error}").format(error=exc),
                    field="schedule_work_start",
                ) from None
        return ServiceClock(opened_at=opened_at, hours=hours)

    def zone(self) -> ZoneInfo:
        with self.db.uow(self.actor) as uow:
            return _zone(str(_settings(uow.session, self.branch_id)["schedule_timezone"]))


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


# --- ls duties ------------------------------------------------------------------------------
@listing.register("duties")
def _ls_duties(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    rows = ScheduleService(db, actor).duties()
    if "active" in filters:
        want = filters["active"].lower() in ("1", "true", "yes")
        rows = [r for r in rows if r.active == want]
    if "code" in filters:
        rows = [r for r in rows if r.code == filters["code"].upper()]
    for r in rows:
        yield {
            "id": str(r.id),
            "code": r.code,
            "title": r.title,
            "rrule": r.rrule,
            "dtstart": r.dtstart.isoformat(),
            "due_time": r.due_time.strftime("%H:%M"),
            "shift": r.shift.value,
            "offset_days": r.offset_days,
            "events": [{"on": d.isoformat(), "label": label} for d, label in r.events],
            "active": r.active,
            "next_due": listing.iso(r.next_due),
            "note": r.note,
        }


# --- demo: the default duties, campaigns and a year of history ------------------------------
@demo.register
def _demo_schedule(ctx: demo.DemoContext) -> None:
    svc = ScheduleService(ctx.db, ctx.actor)
    svc.install_defaults()
    tz = svc.zone()
    today = utcnow().astimezone(tz).date()
    year_ago = today - timedelta(days=365)
    by_code = {r.code: r for r in svc.duties()}
    wanted: list[tuple[uuid.UUID, str, date]] = []
    if "E-CAMPAIGN" in by_code:
        campaigns = (
            (11, "冬季安全检测活动"),
            (8, "春季保养月活动"),
            (5, "夏季空调免费检测"),
            (2, "金秋服务节"),
        )
        for months_back, name in campaigns:
            wanted.append((by_code["E-CAMPAIGN"].id, name, _month_end(today, months_back)))
    if "E-STAFF" in by_code:
        for back in (200, 90, 30):
            wanted.append((by_code["E-STAFF"].id, "服务顾问岗位调整", today - timedelta(days=back)))
    with ctx.db.uow(ctx.actor, write=True) as uow:
        s = uow.session
        have = {(r[0], r[1]) for r in s.execute(select(DutyEvent.duty_id, DutyEvent.occurs_on))}
        for duty_id, label, on in wanted:
            if (duty_id, on) not in have:
                s.add(
                    DutyEvent(
                        branch_id=ctx.actor.branch_id, duty_id=duty_id, label=label, occurs_on=on
                    )
                )
        uow.commit()
    clerks = [a for a in ctx.users.values() if a.can(Permission.EDIT_SCHEDULE)] or [ctx.actor]
    notes = ("已邮件发送厂家", "已上传系统", "已电话确认", "", "", "")
    pairs = svc.occurrences(year_ago, today)
    now = utcnow()
    with ctx.db.uow(ctx.actor, write=True) as uow:
        s = uow.session
        done = {
            (r[0], r[1]) for r in s.execute(select(DutyCheckoff.duty_id, DutyCheckoff.nominal_on))
        }
        for duty, occ in pairs:
            if (duty.id, occ.nominal) in done or occ.due_at >= now or ctx.rng.random() < 0.04:
                continue
            late = ctx.rng.random() < 0.08
            minutes = ctx.rng.randint(5, 240)
            done_at = occ.due_at + timedelta(minutes=minutes if late else -minutes)
            who = ctx.rng.choice(clerks)
            s.add(
                DutyCheckoff(
                    branch_id=ctx.actor.branch_id,
                    duty_id=duty.id,
                    nominal_on=occ.nominal,
                    due_at=occ.due_at,
                    done_at=min(done_at.astimezone(UTC), now),
                    done_by_id=who.user_id,
                    done_by=who.display_name or who.username,
                    note=ctx.rng.choice(notes),
                )
            )
        uow.commit()


def _month_end(today: date, months_back: int) -> date:
    y, m = divmod(today.year * 12 + today.month - 1 - months_back, 12)
    first_next = date(y + (m == 11), (m + 1) % 12 + 1, 1)
    return first_next - timedelta(days=1)


# --- check: attachments are whole ---------------------------------------------------------------
@integrity.register(N_("Schedule attachments"))
def _check_attachments(s: Session) -> list[str]:
    bind = s.get_bind()
    db_file = getattr(bind.url, "database", None)
    if not db_file:
        return []
    root = attachments_dir(Path(db_file))
    problems = []
    for sha, name in s.execute(
        select(DutyCheckoff.attachment_sha256, DutyCheckoff.attachment_name).where(
            DutyCheckoff.attachment_sha256.is_not(None)
        )
    ):
        path = root / sha[:2] / sha
        if not path.exists():
            problems.append(_("The attachment {name} of a check-off is missing.").format(name=name))
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            problems.append(_("The attachment {name} of a check-off is damaged.").format(name=name))
        if len(problems) >= 20:
            break
    return problems


# --- iCalendar export ---------------------------------------------------------------------------
def _local_until_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tz).astimezone(UTC)


def build_ics(db: Database, actor: Actor, start: date, end: date) -> bytes:
    """The branch's active duties as an iCalendar document: one VEVENT per duty with its RRULE
    (bounded by ``end``), EXDATE/RDATE for deadlines moved off days off, RDATE for duties due after
    events. Expanding it gives exactly the program's occurrences in ``[start, end)``."""
    import icalendar

    from aftersales_desk.domain.recurrence import ics_plan

    if end <= start:
        raise UsageError(_("The end of the period must come after its start."))
    with db.uow(actor) as uow:
        loaded = _load(uow.session, actor.branch_id)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//aftersales-desk//daily schedule//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("Daily schedule"))
    cal.add("x-wr-timezone", loaded.tz.key)
    stamp = utcnow().replace(microsecond=0)
    for duty, rule in loaded.duties:
        plan = ics_plan(rule, loaded.calendar, start, end, loaded.tz)
        if plan.first is None:
            continue

        def at(d: date, due: time = duty.due_time) -> datetime:
            return datetime.combine(d, due, loaded.tz)

        ev = icalendar.Event()
        ev.add("uid", f"{duty.id}@aftersales-desk")
        ev.add("dtstamp", stamp)
        ev.add("summary", duty.title)
        if duty.note:
            ev.add("description", duty.note)
        ev.add("categories", [duty.code])
        ev.add("dtstart", at(plan.first))
        ev.add("duration", timedelta(0))
        if plan.rrule:
            until = _local_until_utc(plan.until, loaded.tz)
            ev.add(
                "rrule", icalendar.vRecur.from_ical(f"{plan.rrule};UNTIL={until:%Y%m%dT%H%M%SZ}")
            )
        if plan.exdates:
            ev.add("exdate", [at(d) for d in plan.exdates])
        if plan.rdates:
            ev.add("rdate", [at(d) for d in plan.rdates])
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", duty.title)
        alarm.add("trigger", timedelta(hours=-1))
        ev.add_component(alarm)
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def export_ics(db: Database, actor: Actor, out: Path, start: date, end: date) -> int:
    """Write ``build_ics`` to ``out`` (atomically); returns the number of duties written."""
    data = build_ics(db, actor, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    return data.count(b"BEGIN:VEVENT")


# --- the monthly duty report ----------------------------------------------------------------------
def _write_duty_report(db: Database, actor: Actor, period: Any, out: Path, progress: Any) -> None:
    from aftersales_desk.reports.duties import DutyReportRow, write_pdf, write_xlsx
    from aftersales_desk.services.settings import SettingsService

    svc = ScheduleService(db, actor)
    tz = svc.zone()
    items = svc.month(period.start, period.end)
    progress.step(1, 3)
    rows = [
        DutyReportRow(
            due_at=i.due_at,
            code=i.code,
            title=i.title,
            state=i.state.label,
            done_at=i.done_at.astimezone(tz) if i.done_at else None,
            done_by=i.done_by,
            note=i.note,
            late=i.state is AgendaState.LATE,
            missed=i.state is AgendaState.OVERDUE,
        )
        for i in items
    ]
    branch = SettingsService(db, actor).branch()
    title = _("Duties of {month}").format(month=period.label)
    subtitle = _("{branch} — printed {when}").format(
        branch=branch.name, when=utcnow().astimezone(tz).strftime("%Y-%m-%d %H:%M")
    )
    progress.step(2, 3)
    (write_pdf if out.suffix.lower() == ".pdf" else write_xlsx)(out, title, subtitle, rows)
    progress.step(3, 3)


def _register_report() -> None:
    from aftersales_desk.services.report_registry import ReportSpec, register

    register(
        ReportSpec(
            name="duties",
            title=N_("Duties of a month"),
            formats=("xlsx", "pdf"),
            periods=("month",),
            write=_write_duty_report,
        )
    )


_register_report()
