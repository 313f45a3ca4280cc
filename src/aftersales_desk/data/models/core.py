"""Core records: branch, device, user, per-branch settings and the append-only audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin
from aftersales_desk.domain.clock import utcnow


class Branch(IdMixin, TimestampMixin, Base):
    __tablename__ = "branches"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")


class Device(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One install of the program: documents are numbered per branch and device series."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100), default="")
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)


class User(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("branch_id", "username"),
        CheckConstraint("role IN ('clerk', 'warehouse', 'manager', 'admin')", name="role"),
    )
    __audit_exclude__ = frozenset({"password_hash"})

    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class Setting(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A per-branch setting: ``key`` → JSON ``value`` (paper size, language, callback days, …)."""

    __tablename__ = "settings"
    __table_args__ = (UniqueConstraint("branch_id", "key"),)

    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)


class AuditEntry(IdMixin, Base):
    """Who changed what, when, before and after. SQLite triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __audited__ = False
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_at", "at"),
    )

    at: Mapped[datetime] = mapped_column(default=utcnow)
    branch_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    device_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(400), default="")


# Ledgers: the database itself refuses to change or remove a row (triggers created by the
# migrations as trg_<table>_no_update / trg_<table>_no_delete; ``check`` verifies they exist).
APPEND_ONLY_TABLES: list[str] = [
    "audit_log",
    "stock_movements",
    "work_order_clock_events",
    "stock_count_entries",
    "callback_attempts",
]
