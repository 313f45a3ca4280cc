"""Work-order service clocks (daily schedule): what happened to a work order that its clock counts
— customer contacted, on site / first feedback, progress followed up — its pauses (waiting for
parts, customer unavailable) and escalations of orders open more than three days.

The work order itself (opened, dispatched, closed) is the customer archive's ``work_orders`` row;
this ledger only adds to it. It is append-only: a pause is a ``pause`` event and, later, its
``resume``; ``seq`` orders the events of one order even when they share an instant.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin

CLOCK_EVENT_KINDS = ("contacted", "on_site", "follow_up", "pause", "resume", "escalation")
PAUSE_REASONS = ("waiting_for_parts", "customer_unavailable")


class WorkOrderClockEvent(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One event on a work order's service clock: who, when, with a note (and a reason for a
    pause or an escalation)."""

    __tablename__ = "work_order_clock_events"
    __audited__ = False  # an append-only ledger carrying its own who/when
    __table_args__ = (
        UniqueConstraint("work_order_id", "seq"),
        CheckConstraint(
            "kind IN ('contacted', 'on_site', 'follow_up', 'pause', 'resume', 'escalation')",
            name="kind",
        ),
        CheckConstraint(
            "reason IN ('', 'waiting_for_parts', 'customer_unavailable')", name="reason"
        ),
        CheckConstraint("seq >= 1", name="seq"),
    )

    work_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("work_orders.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")  # a pause's reason
    note: Mapped[str] = mapped_column(String(500), default="")  # an escalation's reason too
    at: Mapped[datetime]
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    by: Mapped[str] = mapped_column(String(100), default="")
