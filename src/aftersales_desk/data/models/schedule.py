"""Daily schedule records: duties with their recurrence, the events relative duties hang on
(campaign ends), check-offs (who did which occurrence, when, with a note and an attachment) and the
days the branch adds to the working calendar."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin


class Duty(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A recurring duty: an RRULE (or ``offset_days`` after each of its events), a due time of day
    in the branch's zone and a rule for deadlines on days off."""

    __tablename__ = "schedule_duties"
    __table_args__ = (
        UniqueConstraint("branch_id", "code"),
        CheckConstraint("shift IN ('before', 'after', 'keep', 'skip')", name="shift"),
        CheckConstraint("offset_days >= 0", name="offset_days"),
    )

    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(1000), default="")
    rrule: Mapped[str] = mapped_column(String(200), default="")
    dtstart: Mapped[date] = mapped_column(Date)
    due_time: Mapped[time] = mapped_column(Time)
    shift: Mapped[str] = mapped_column(String(8), default="keep")
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class DutyEvent(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """Something a relative duty is due after, e.g. the end of a manufacturer's campaign."""

    __tablename__ = "schedule_duty_events"
    __table_args__ = (UniqueConstraint("duty_id", "occurs_on"),)

    duty_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedule_duties.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    occurs_on: Mapped[date] = mapped_column(Date)


class DutyCheckoff(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One occurrence of a duty done: by whom, when, with a note and an optional attachment
    (stored beside the database under its SHA-256)."""

    __tablename__ = "schedule_checkoffs"
    __table_args__ = (
        UniqueConstraint("duty_id", "nominal_on"),
        Index("ix_schedule_checkoffs_branch_nominal", "branch_id", "nominal_on"),
    )

    duty_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedule_duties.id"))
    nominal_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime]
    done_at: Mapped[datetime]
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    done_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(1000), default="")
    attachment_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    attachment_name: Mapped[str] = mapped_column(String(255), default="")
    attachment_size: Mapped[int] = mapped_column(Integer, default=0)


class CalendarDay(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A day the branch declares working or off, overriding weekends and the holiday package."""

    __tablename__ = "schedule_calendar_days"
    __table_args__ = (UniqueConstraint("branch_id", "day"),)

    day: Mapped[date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
