"""Daily schedule: the branch's duties — list, edit, the default set, the events relative duties
are due after.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import Duty, DutyEvent
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.recurrence import (
    occurrences,
)
from aftersales_desk.domain.roles import Permission
from aftersales_desk.domain.workcal import Shift
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page
from aftersales_desk.services.schedule_common import (
    DEFAULT_DUTIES,
    MAX_TITLE,
    DutyRow,
    DutySpec,
    ScheduleBase,
    _clean_spec,
    _columns,
    _load,
)


class DutiesMixin(ScheduleBase):
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

    def _check_code_free(self, s: Session, code: str, own: uuid.UUID | None) -> None:
        other = s.scalar(select(Duty.id).where(Duty.branch_id == self.branch_id, Duty.code == code))
        if other is not None and other != own:
            raise ValidationError(
                _("The duty code {code} is taken.").format(code=code), field="code"
            )
