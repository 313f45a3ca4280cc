"""Callback queue records (回访): questionnaires (versioned per branch and script), the queue's
callbacks with their answers, the append-only ledger of call attempts, and the quick-handling
forms 快速处理表 opened for a customer with a problem.

A callback's ``natural_key`` (e.g. ``visit:<visit id>``) is unique per branch so that running the
rules again never queues the same call twice.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin
from aftersales_desk.domain.clock import utcnow

CALLBACK_STATUSES = ("open", "done", "unreachable", "wrong_number", "cancelled")
CALL_OUTCOMES = ("reached", "no_answer", "wrong_number")
FORM_STATUSES = ("open", "closed")


class Questionnaire(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One version of a branch's callback script. Editing writes a new version; answers keep
    pointing at the version they were given to."""

    __tablename__ = "callback_questionnaires"
    __table_args__ = (
        UniqueConstraint("branch_id", "script", "version"),
        CheckConstraint("script IN ('standard', 'club')", name="script"),
        CheckConstraint("version >= 1", name="version"),
    )

    script: Mapped[str] = mapped_column(String(16))  # standard / club (俱乐部会员)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Callback(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One call in the queue: why it is due (the rule), when, whom, and how it went."""

    __tablename__ = "callbacks"
    __table_args__ = (
        UniqueConstraint("branch_id", "natural_key"),
        CheckConstraint(
            "status IN ('open', 'done', 'unreachable', 'wrong_number', 'cancelled')",
            name="status",
        ),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_callbacks_queue", "branch_id", "status", "due_on", "id"),
        Index("ix_callbacks_done", "branch_id", "done_on", "id"),
        Index("ix_callbacks_first_due", "branch_id", "first_due_on"),
        Index("ix_callbacks_advisor", "branch_id", "advisor"),  # the queue's filter lists
        Index("ix_callbacks_department", "branch_id", "department"),
    )

    rule: Mapped[str] = mapped_column(String(24))
    natural_key: Mapped[str] = mapped_column(String(120))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    vehicle_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vehicles.id"), default=None)
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visits.id"), default=None)
    # the quick-handling form a second callback follows up (no foreign key: the form points
    # back at its own callback, and SQLite cannot create a cycle of foreign keys in one go)
    form_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    advisor: Mapped[str] = mapped_column(String(60), default="")
    department: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(String(400), default="")
    in_warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    first_due_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # the next try (moves on after "no answer")
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str] = mapped_column(String(16), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    done_on: Mapped[date | None] = mapped_column(Date, default=None)  # the branch's local day
    done_by: Mapped[str] = mapped_column(String(100), default="")
    questionnaire_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("callback_questionnaires.id"), default=None
    )
    answers: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    overall: Mapped[int | None] = mapped_column(Integer, default=None)  # 1–5
    comment: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[bool] = mapped_column(Boolean, default=False)


class CallAttempt(IdMixin, Base):
    """Every dialled call, whatever came of it. Append-only (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "callback_attempts"
    __audited__ = False

    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"), index=True)
    callback_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("callbacks.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(400), default="")


class QuickForm(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """快速处理表: a customer's problem handed to a department and a responsible person with a
    deadline; closed when the responsible person confirms the resolution."""

    __tablename__ = "callback_forms"
    __table_args__ = (
        UniqueConstraint("branch_id", "number"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        Index("ix_callback_forms_status_deadline", "branch_id", "status", "deadline"),
    )

    number: Mapped[str] = mapped_column(String(32))
    callback_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("callbacks.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    department: Mapped[str] = mapped_column(String(40))
    responsible: Mapped[str] = mapped_column(String(60))
    deadline: Mapped[date] = mapped_column(Date)
    problem: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    resolution: Mapped[str] = mapped_column(Text, default="")
    confirmed_by: Mapped[str] = mapped_column(String(60), default="")
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
