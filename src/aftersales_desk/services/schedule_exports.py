"""Daily schedule outside the window: ``ls duties``, the demo history, the attachment check, the
iCalendar export and the monthly duty report.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import DutyCheckoff, DutyEvent
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import demo, integrity, listing
from aftersales_desk.services.schedule import ScheduleService
from aftersales_desk.services.schedule_common import (
    AgendaState,
    _load,
    attachments_dir,
)


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
