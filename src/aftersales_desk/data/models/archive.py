"""Customer archive records: customers, their vehicles or products, visits (the customer service
card 客户售息卡), the shared work order 维修工单, document checklist ticks, attachments, reasons
for lost customers, and the search index kept in step with them.

The work order belongs here and is referenced by the parts counter and the daily schedule through
``work_orders.id``. When it is closed it becomes (links to) a visit.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin

VISIT_KINDS = ("maintenance", "repair", "warranty", "accident", "campaign", "first_service")
WORK_ORDER_STATUSES = ("opened", "dispatched", "waiting_parts", "closed", "cancelled")
CUSTOMER_KINDS = ("person", "company")


class Customer(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("branch_id", "customer_no"),
        CheckConstraint("kind IN ('person', 'company')", name="kind"),
        Index("ix_customers_branch_name", "branch_id", "name", "id"),
    )

    customer_no: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8), default="person")
    phone: Mapped[str] = mapped_column(String(20), default="")
    phone2: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(60), default="")
    id_number: Mapped[str] = mapped_column(String(20), default="")
    club_member: Mapped[bool] = mapped_column(Boolean, default=False)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_call: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")


class Vehicle(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A vehicle (car dealer) or product (appliance) of a customer."""

    __tablename__ = "vehicles"
    __table_args__ = (
        Index("ix_vehicles_vin", "vin"),
        Index("ix_vehicles_plate", "plate"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17), default="")
    engine_no: Mapped[str] = mapped_column(String(40), default="")
    plate: Mapped[str] = mapped_column(String(10), default="")
    brand: Mapped[str] = mapped_column(String(40), default="")
    model: Mapped[str] = mapped_column(String(60), default="")
    colour: Mapped[str] = mapped_column(String(20), default="")
    purchase_date: Mapped[date | None] = mapped_column(Date, default=None)
    sale_date: Mapped[date | None] = mapped_column(Date, default=None)
    mileage_km: Mapped[int] = mapped_column(Integer, default=0)


OPEN_ORDERS_SQL = "work_orders.status IN ('opened', 'dispatched', 'waiting_parts')"


class WorkOrder(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """维修工单: opened at reception; parts are issued against it; closing it makes the visit."""

    __tablename__ = "work_orders"
    __table_args__ = (
        UniqueConstraint("branch_id", "number"),
        CheckConstraint(
            "status IN ('opened', 'dispatched', 'waiting_parts', 'closed', 'cancelled')",
            name="status",
        ),
        Index("ix_work_orders_status_opened", "status", "opened_at", "id"),
        Index("ix_work_orders_opened", "opened_at", "id"),
        # the open orders, oldest first (service clocks): a query naming OPEN_ORDERS_SQL
        # literally reads them in order however many closed orders the years leave behind
        Index(
            "ix_work_orders_open",
            "branch_id",
            "opened_at",
            "id",
            sqlite_where=text(OPEN_ORDERS_SQL),
            postgresql_where=text(OPEN_ORDERS_SQL),
        ),
    )

    number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    vehicle_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vehicles.id"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(16), default="repair")
    fault: Mapped[str] = mapped_column(Text, default="")
    advisor: Mapped[str] = mapped_column(String(60), default="")
    assignee: Mapped[str] = mapped_column(String(100), default="")
    assignee_is_provider: Mapped[bool] = mapped_column(Boolean, default=False)
    mileage_km: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="opened")
    opened_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")


class Visit(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One line of the customer service card 客户售息卡."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('maintenance', 'repair', 'warranty', 'accident', 'campaign', "
            "'first_service')",
            name="kind",
        ),
        Index("ix_visits_customer_date", "customer_id", "visit_date", "id"),
        Index("ix_visits_vehicle_date", "vehicle_id", "visit_date"),
        Index("ix_visits_date", "visit_date", "id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    vehicle_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vehicles.id"), default=None)
    work_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("work_orders.id"), unique=True, default=None
    )
    visit_date: Mapped[date] = mapped_column(Date)
    mileage_km: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    free_campaign: Mapped[bool] = mapped_column(Boolean, default=False)
    items: Mapped[str] = mapped_column(Text, default="")
    parts: Mapped[str] = mapped_column(Text, default="")
    labour_minor: Mapped[int] = mapped_column(Integer, default=0)
    parts_minor: Mapped[int] = mapped_column(Integer, default=0)
    amount_minor: Mapped[int] = mapped_column(Integer, default=0)
    advisor: Mapped[str] = mapped_column(String(60), default="")
    next_due_date: Mapped[date | None] = mapped_column(Date, default=None)
    next_due_km: Mapped[int | None] = mapped_column(Integer, default=None)
    declined_advice: Mapped[str] = mapped_column(Text, default="")


class Attachment(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A scanned file, stored beside the database under its SHA-256 (content-addressed)."""

    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)


class CustomerDocument(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One ticked item of a customer's paper-file checklist (what is missing has no row or is
    unticked)."""

    __tablename__ = "customer_documents"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(60))
    received: Mapped[bool] = mapped_column(Boolean, default=False)
    received_on: Mapped[date | None] = mapped_column(Date, default=None)
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("attachments.id"), default=None
    )


class LostReason(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """Why a lost customer's vehicle stopped coming, when it was found out."""

    __tablename__ = "lost_reasons"

    vehicle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vehicles.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(400), default="")
    noted_on: Mapped[date] = mapped_column(Date)


class SearchEntry(Base):
    """The text the search finds a customer by (name, pinyin, phones, plates, VINs, number),
    rewritten by the archive service in the same transaction as the change. The migration
    creates ``archive_fts`` (FTS5, trigram) over ``body`` with triggers that keep it in step;
    ``SearchKey`` holds short prefix keys (name, pinyin initials) for 1–2 character queries."""

    __tablename__ = "archive_search"
    __audited__ = False

    rowid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    body: Mapped[str] = mapped_column(Text)
    plates: Mapped[str] = mapped_column(String(200), default="")


class SearchKey(Base):
    __tablename__ = "archive_search_keys"
    __audited__ = False
    __table_args__ = (Index("ix_archive_search_keys_key", "key", "customer_id"),)

    rowid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
