"""Daily schedule: the working calendar (branch days over the package's holidays), the branch's
schedule settings and the work-order service clock under them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from aftersales_desk.data.models import CalendarDay
from aftersales_desk.domain.roles import Permission
from aftersales_desk.domain.sla import ServiceClock
from aftersales_desk.domain.workcal import WorkCalendar
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page, keyset, page
from aftersales_desk.services.schedule_common import (
    CalendarDayRow,
    ScheduleBase,
    ScheduleSettings,
    _calendar,
    _settings,
    _zone,
)


class CalendarMixin(ScheduleBase):
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
            q = select(CalendarDay).where(CalendarDay.branch_id == self.branch_id)
            found = list(uow.session.scalars(keyset(q, [CalendarDay.day], cursor, limit)))
        return page(
            found, limit, lambda r: r.day, lambda c: CalendarDayRow(c.id, c.day, c.working, c.note)
        )

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
            tuple(conf["schedule_sla_minutes"]),
            int(conf["schedule_escalate_days"]),
        )

    def update_settings(self, new: ScheduleSettings) -> None:
        """Change the branch's schedule settings, all or none (managers and admins)."""
        from aftersales_desk.services.service_clocks_rules import check_limits
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
        check_limits(list(new.sla_minutes), new.escalate_days)
        SettingsService(self.db, self.actor).update(
            {
                "schedule_timezone": new.timezone,
                "schedule_public_holidays": new.public_holidays,
                "schedule_overdue_days": new.overdue_days,
                "schedule_sla_working_hours": new.sla_working_hours,
                "schedule_work_start": new.work_start.strftime("%H:%M"),
                "schedule_work_end": new.work_end.strftime("%H:%M"),
                "schedule_sla_minutes": list(new.sla_minutes),
                "schedule_escalate_days": new.escalate_days,
            }
        )

    def service_clock(self, opened_at: datetime) -> ServiceClock:
        """A work order's service clock under this branch's rules: round the clock, or only in
        opening hours on working days (holidays, swapped days and branch days included) when the
        branch's ``schedule_sla_working_hours`` is on, with the branch's limits
        (``schedule_sla_minutes``). ``services.service_clocks`` feeds real work orders into it.
        """
        from aftersales_desk.services.service_clocks_rules import clock_rules

        with self.db.uow(self.actor) as uow:
            rules = clock_rules(uow.session, self.branch_id)
        return ServiceClock(opened_at=opened_at, hours=rules.hours, chain=rules.chain)

    def zone(self) -> ZoneInfo:
        with self.db.uow(self.actor) as uow:
            return _zone(str(_settings(uow.session, self.branch_id)["schedule_timezone"]))
