"""Parts counter records: catalogue, bins, service providers, the immutable stock ledger with its
balance caches, numbered documents (slips, receipt notes, counter-sale receipts), gapless number
series, old parts returned to the factory, work orders waiting for parts 待件, and the tool
register.

Quantities are whole numbers of the part's unit; money is integer minor units (fen).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin
from aftersales_desk.domain.clock import utcnow


class Part(IdMixin, TimestampMixin, Base):
    """A catalogue entry: shared master data, the same for every branch."""

    __tablename__ = "parts"

    part_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    model_fit: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(16), default="")
    purchase_price: Mapped[int] = mapped_column(Integer, default=0)
    sale_price: Mapped[int] = mapped_column(Integer, default=0)
    default_bin: Mapped[str] = mapped_column(String(20), default="")
    min_qty: Mapped[int] = mapped_column(Integer, default=0)
    max_qty: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(40), default="", index=True)
    barcode: Mapped[str] = mapped_column(String(64), default="", index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Bin(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A storage location (shelf, bin) of a branch's store."""

    __tablename__ = "stock_bins"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ServiceProvider(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A service provider 服务商 that parts are issued to."""

    __tablename__ = "service_providers"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class NumberSeries(IdMixin, BranchScopedMixin, Base):
    """The last number taken of one gapless series (branch × device × document kind)."""

    __tablename__ = "number_series"
    __audited__ = False  # every document insert is audited; the counter is derived from them
    __table_args__ = (UniqueConstraint("branch_id", "device_id", "kind"),)

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"))
    kind: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(32))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class StockDocument(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A numbered document that posted movements: receipt note 入库单, issue slip 出库单,
    return to stock 退库单, transfer, scrap, counter sale 零售小票, sale return."""

    __tablename__ = "stock_documents"
    __table_args__ = (
        UniqueConstraint("branch_id", "number"),
        UniqueConstraint("series_id", "seq"),
        Index("ix_stock_documents_branch_posted", "branch_id", "posted_at", "id"),
        CheckConstraint("status IN ('posted', 'void')", name="status"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("number_series.id"))
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(8), default="posted")
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[str] = mapped_column(String(64), default="")
    # who the goods went to or came from
    technician: Mapped[str] = mapped_column(String(100), default="")
    provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_providers.id"), default=None
    )
    supplier: Mapped[str] = mapped_column(String(100), default="")
    customer_name: Mapped[str] = mapped_column(String(100), default="")
    customer_phone: Mapped[str] = mapped_column(String(40), default="")
    payment_method: Mapped[str] = mapped_column(String(16), default="")
    original_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_documents.id"), default=None
    )
    total: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(400), default="")
    void_reason: Mapped[str] = mapped_column(String(400), default="")
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_by: Mapped[str] = mapped_column(String(64), default="")
    print_count: Mapped[int] = mapped_column(Integer, default=0)


class StockDocumentLine(IdMixin, Base):
    __tablename__ = "stock_document_lines"
    __table_args__ = (
        UniqueConstraint("document_id", "line_no"),
        # most lines go to a technician, not a work order: index only those that name one
        Index(
            "ix_stock_document_lines_work_order",
            "work_order_id",
            "part_id",
            sqlite_where=text("work_order_id IS NOT NULL"),
        ),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_documents.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    bin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_bins.id"))
    to_bin_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_bins.id"), default=None)
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer, default=0)
    discount: Mapped[int] = mapped_column(Integer, default=0)  # minor units off the line
    amount: Mapped[int] = mapped_column(Integer, default=0)
    original_line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_document_lines.id"), default=None
    )
    # the work order 维修工单 the parts went to (issue) or came back from (return to stock)
    work_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("work_orders.id"), default=None
    )


class StockMovement(IdMixin, BranchScopedMixin, Base):
    """One change of stock of a part in a bin. Never updated or deleted (SQLite triggers refuse
    it); a correction is a reversing movement pointing at the one it cancels."""

    __tablename__ = "stock_movements"
    __audited__ = False  # the ledger carries its own who/when
    __table_args__ = (
        Index("ix_stock_movements_part", "branch_id", "part_id", "at"),
        Index("ix_stock_movements_consumption", "branch_id", "kind", "at", "part_id", "qty"),
        Index("ix_stock_movements_seq", "branch_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer)  # order of posting within the branch
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    bin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_bins.id"))
    qty: Mapped[int] = mapped_column(Integer)  # signed: + into the bin, - out of it
    unit_cost: Mapped[int] = mapped_column(Integer)  # moving-average cost after/at the move
    value: Mapped[int] = mapped_column(Integer)  # signed stock value change, minor units
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_documents.id"), default=None, index=True
    )
    line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_document_lines.id"), default=None
    )
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_movements.id"), default=None
    )
    username: Mapped[str] = mapped_column(String(64), default="")
    device_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(200), default="")


class StockBalance(IdMixin, BranchScopedMixin, Base):
    """Cache: on-hand per part and bin = sum of movements (kept in the posting transaction)."""

    __tablename__ = "stock_balances"
    __audited__ = False  # derived from the ledger; ``check`` recomputes it
    __table_args__ = (UniqueConstraint("branch_id", "part_id", "bin_id"),)

    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    bin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_bins.id"))
    qty: Mapped[int] = mapped_column(Integer, default=0)


class PartStock(IdMixin, BranchScopedMixin, Base):
    """Cache per branch and part: total on hand, stock value, moving-average cost, last dates."""

    __tablename__ = "part_stock"
    __audited__ = False  # derived from the ledger; ``check`` recomputes it
    __table_args__ = (UniqueConstraint("branch_id", "part_id"),)

    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[int] = mapped_column(Integer, default=0)
    avg_cost: Mapped[int] = mapped_column(Integer, default=0)
    last_receipt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_issue_at: Mapped[datetime | None] = mapped_column(default=None)


class OldPartBatch(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A return-to-factory list 返厂单 of old parts; open → sent → acknowledged."""

    __tablename__ = "old_part_batches"
    __table_args__ = (
        UniqueConstraint("branch_id", "number"),
        CheckConstraint("status IN ('open', 'sent', 'acknowledged')", name="status"),
    )

    number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="open")
    factory: Mapped[str] = mapped_column(String(100), default="")
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(400), default="")


class OldPart(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """An old or defective part 旧件 received back against the issue line it was replaced by."""

    __tablename__ = "old_parts"
    __table_args__ = (
        CheckConstraint(
            "test_result IN ('untested', 'faulty', 'no_fault', 'damaged')", name="test_result"
        ),
    )

    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    issue_line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_document_lines.id"), default=None
    )
    qty: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    returned_by: Mapped[str] = mapped_column(String(100), default="")
    test_result: Mapped[str] = mapped_column(String(16), default="untested")
    tested_at: Mapped[datetime | None] = mapped_column(default=None)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("old_part_batches.id"), default=None, index=True
    )
    note: Mapped[str] = mapped_column(String(400), default="")


WAIT_STATUSES = ("waiting", "arrived", "fulfilled", "cancelled")


class PartWait(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """待件: an open work order waits for a part (how many, since when, who recorded it). A
    receipt that brings the part flags it ``arrived``; issuing the part to the order fulfils it;
    it can be cancelled with a reason."""

    __tablename__ = "part_waits"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'arrived', 'fulfilled', 'cancelled')", name="status"
        ),
        CheckConstraint("qty > 0", name="qty"),
        Index("ix_part_waits_open", "branch_id", "status", "part_id", "since"),
    )

    work_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("work_orders.id"), index=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    issued_qty: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    since: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)
    arrival_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_documents.id"), default=None
    )
    fulfilled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")


class Tool(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A workshop tool in the tool register."""

    __tablename__ = "tools"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    condition: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ToolLoan(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """A tool lent out (who, when, due, condition) and its return."""

    __tablename__ = "tool_loans"
    __table_args__ = (Index("ix_tool_loans_open", "branch_id", "returned_at", "due_at"),)

    tool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tools.id"), index=True)
    borrower: Mapped[str] = mapped_column(String(100))
    lent_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    condition_out: Mapped[str] = mapped_column(String(100), default="")
    returned_at: Mapped[datetime | None] = mapped_column(default=None)
    condition_in: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(String(400), default="")
