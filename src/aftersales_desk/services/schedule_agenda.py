"""Daily schedule: occurrences, today's agenda, overdue duties, check-off with note and attachment,
the month's duties for the report.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from aftersales_desk.data.models import DutyCheckoff
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.recurrence import (
    Occurrence,
    occurrences,
)
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page
from aftersales_desk.services.schedule_common import (
    MAX_ATTACHMENT_BYTES,
    MAX_NOTE,
    Agenda,
    AgendaItem,
    AgendaState,
    ScheduleBase,
    _DutyData,
    _item,
    _load,
    _Loaded,
    _settings,
    _zone,
    attachments_dir,
)


class AgendaMixin(ScheduleBase):
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
