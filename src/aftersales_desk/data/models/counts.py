"""Stock counts 盘点: a session freezes the expected quantity of every part and bin in its scope,
counters add entries (scanner, keyboard, imported sheet) that are summed per line and pass, the
variance is worked out against the frozen quantity plus the movements posted since the freeze, and
the approved count posts ordinary "adjust" movements to the stock ledger.

``stock_count_entries`` is append-only (SQLite triggers refuse UPDATE and DELETE); a count line's
``counted_qty`` is the sum of its current pass's entries, kept in the entry's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin
from aftersales_desk.domain.clock import utcnow

COUNT_STATUSES = ("open", "submitted", "approved", "posted", "cancelled")
COUNT_REASONS = ("surplus", "shortage", "damaged")
ENTRY_SOURCES = ("scanner", "keyboard", "sheet")


class CountSession(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One stock count 盘点单: its scope, the moment of the freeze and its way to posting."""

    __tablename__ = "stock_count_sessions"
    __table_args__ = (
        UniqueConstraint("branch_id", "number"),
        UniqueConstraint("series_id", "seq"),
        CheckConstraint(
            "status IN ('open', 'submitted', 'approved', 'posted', 'cancelled')", name="status"
        ),
    )

    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("number_series.id"))
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="open")
    # scope: {"bins": [...], "categories": [...], "moved_since": "YYYY-MM-DD", "abc": "A"}
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(400), default="")
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_seq: Mapped[int] = mapped_column(Integer, default=0)  # last movement seq at freeze
    started_by: Mapped[str] = mapped_column(String(64), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_by: Mapped[str] = mapped_column(String(64), default="")
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by: Mapped[str] = mapped_column(String(64), default="")
    posted_at: Mapped[datetime | None] = mapped_column(default=None)
    posted_by: Mapped[str] = mapped_column(String(64), default="")
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_documents.id"), default=None
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_by: Mapped[str] = mapped_column(String(64), default="")
    cancel_reason: Mapped[str] = mapped_column(String(400), default="")


class CountLine(IdMixin, Base):
    """A part in a bin to count. ``frozen_qty`` is the balance at the freeze; ``counted_seq`` the
    last ledger seq when the line was last counted (movements up to it are in the expectation)."""

    __tablename__ = "stock_count_lines"
    __audited__ = False  # written in bulk by the freeze; derived from entries; sessions audited
    __table_args__ = (
        UniqueConstraint("session_id", "part_id", "bin_id"),
        UniqueConstraint("session_id", "line_no"),
        CheckConstraint("reason IN ('', 'surplus', 'shortage', 'damaged')", name="reason"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_count_sessions.id"))
    line_no: Mapped[int] = mapped_column(Integer)  # order on the sheets: bin, then part no.
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    bin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_bins.id"))
    frozen_qty: Mapped[int] = mapped_column(Integer, default=0)
    pass_no: Mapped[int] = mapped_column(Integer, default=1)  # the pass being counted
    counted_qty: Mapped[int] = mapped_column(Integer, default=0)  # sum of this pass's entries
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
    counted_seq: Mapped[int] = mapped_column(Integer, default=0)
    counted_at: Mapped[datetime | None] = mapped_column(default=None)
    variance: Mapped[int] = mapped_column(Integer, default=0)  # worked out at submit and post
    reason: Mapped[str] = mapped_column(String(12), default="")
    recount_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    added: Mapped[bool] = mapped_column(Boolean, default=False)  # found during the count


class CountEntry(IdMixin, Base):
    """One count of a line by a counter: a scan (+1 or a quantity), a typed quantity or a row of
    an imported sheet. Never changed; a correction is an entry with a negative quantity."""

    __tablename__ = "stock_count_entries"
    __audited__ = False  # the ledger carries its own who/when
    __table_args__ = (
        Index("ix_stock_count_entries_line", "line_id", "pass_no"),
        CheckConstraint("source IN ('scanner', 'keyboard', 'sheet')", name="source"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_count_sessions.id"), index=True)
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_count_lines.id"))
    pass_no: Mapped[int] = mapped_column(Integer, default=1)
    counter: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(Integer, default=0)  # last movement seq then
    source: Mapped[str] = mapped_column(String(8), default="keyboard")
    device_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
