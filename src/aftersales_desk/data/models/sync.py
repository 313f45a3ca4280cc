"""Sync bookkeeping on a branch device: the outbox the capture triggers fill, the device's sync
state (batch numbers, pull cursor), conflicts for review and changes central refused.

None of these tables is synced or audited (see ``data/sync_capture.py`` and ``docs/sync.md``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, IdMixin
from aftersales_desk.domain.clock import utcnow


class SyncOutbox(Base):
    """One captured change, written by a trigger in the writing transaction."""

    __tablename__ = "sync_outbox"
    __audited__ = False
    __table_args__ = (
        # only rows already given to a batch: a capture (batch_no NULL) adds no entry here
        Index(
            "ix_sync_outbox_batch",
            "batch_no",
            "id",
            sqlite_where=text("batch_no IS NOT NULL"),
        ),
        # no index on hlc (stamps rise with the id, so the last stamp is the last row's) nor on
        # (tbl, pk) (a pull reads the few pending rows once per page): every index here is paid
        # by every captured write
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tbl: Mapped[str] = mapped_column(String(64))
    pk: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(1))  # I, U, D
    cols: Mapped[str | None] = mapped_column(Text, default=None)  # JSON: new values
    base: Mapped[str | None] = mapped_column(Text, default=None)  # JSON: values before
    hlc: Mapped[str] = mapped_column(String(80))
    batch_no: Mapped[int | None] = mapped_column(Integer, default=None)


class SyncApplying(Base):
    """Holds a row only inside a transaction that applies pulled changes: the capture triggers
    see it and stay silent, so applied changes are not captured again."""

    __tablename__ = "sync_applying"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class SyncState(Base):
    """One row: this device's batch counter, pull cursor and last results."""

    __tablename__ = "sync_state"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_batch_no: Mapped[int] = mapped_column(Integer, default=1)
    cursor_xid: Mapped[str] = mapped_column(String(24), default="0")
    cursor_seq: Mapped[int] = mapped_column(Integer, default=0)
    hlc_floor: Mapped[str] = mapped_column(String(80), default="")
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(400), default="")


class SyncConflict(IdMixin, Base):
    """The same field changed on two devices since their common base: both values, the winner
    by clock, for a person to review (their choice syncs as an ordinary edit)."""

    __tablename__ = "sync_conflicts"
    __audited__ = False
    __table_args__ = (
        Index("ix_sync_conflicts_open", "resolved", "at"),
        Index("ix_sync_conflicts_central_id", "central_id", unique=True),
    )

    at: Mapped[datetime] = mapped_column(default=utcnow)
    tbl: Mapped[str] = mapped_column(String(64))
    pk: Mapped[str] = mapped_column(String(64))
    col: Mapped[str] = mapped_column(String(64))
    kept_value: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    lost_value: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    kept_hlc: Mapped[str] = mapped_column(String(80), default="")
    lost_hlc: Mapped[str] = mapped_column(String(80), default="")
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    # the reviewer's decision (services/sync/review.py): when, who, keep / other / edit
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(80), default=None)
    resolution: Mapped[str | None] = mapped_column(String(8), default=None)
    # central's sync_conflicts.id: the same conflict on every desk of the branch; a resolution
    # is sent to central by it and a resolution made elsewhere closes it here (docs/sync.md)
    central_id: Mapped[int | None] = mapped_column(BigInteger, default=None)


class SyncQuarantine(IdMixin, Base):
    """A captured change central refused (reason given); the queue went on without it."""

    __tablename__ = "sync_quarantine"
    __audited__ = False

    at: Mapped[datetime] = mapped_column(default=utcnow)
    tbl: Mapped[str] = mapped_column(String(64))
    pk: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(1))
    cols: Mapped[str | None] = mapped_column(Text, default=None)
    hlc: Mapped[str] = mapped_column(String(80), default="")
    reason: Mapped[str] = mapped_column(String(400))
