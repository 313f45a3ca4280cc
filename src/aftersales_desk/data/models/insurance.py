"""Insurance log records (保险出单): the insurers' master list, the policies sold at the branch
(compulsory 交强险 / commercial 商业险) with their renewal follow-up, accident vehicles 事故车
received and engine-oil sales 机油销售.

A policy's renewal state lives on the policy that expires: ``open`` → ``contacted`` → ``quoted``
→ ``renewed`` (``renewed_by_id`` points at the new policy) or ``lost`` (with a reason).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from aftersales_desk.data.base import Base, BranchScopedMixin, IdMixin, TimestampMixin

POLICY_KINDS = ("compulsory", "commercial")
BUSINESS_KINDS = ("new", "renewal")
PAYMENT_STATES = ("unpaid", "paid", "refunded")
RENEWAL_STATES = ("open", "contacted", "quoted", "renewed", "lost")
# the policies still being worked in the renewal pipeline (the partial index's condition)
OPEN_PREDICATE = "policies.renewal_status IN ('open', 'contacted', 'quoted')"


class Insurer(IdMixin, TimestampMixin, Base):
    """An insurance company: shared master data, the same for every branch."""

    __tablename__ = "insurers"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    short_name: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Policy(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """One policy sold at the branch. ``end_date`` is the last day covered."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("branch_id", "policy_no"),
        CheckConstraint("kind IN ('compulsory', 'commercial')", name="kind"),
        CheckConstraint("business IN ('new', 'renewal')", name="business"),
        CheckConstraint("payment IN ('unpaid', 'paid', 'refunded')", name="payment"),
        CheckConstraint(
            "renewal_status IN ('open', 'contacted', 'quoted', 'renewed', 'lost')",
            name="renewal_status",
        ),
        CheckConstraint("end_date >= start_date", name="dates"),
        CheckConstraint("premium_minor >= 0", name="premium"),
        CheckConstraint("commission_rate_bp BETWEEN 0 AND 10000", name="rate"),
        # the renewal pipeline and the renewal rate: by expiry
        Index("ix_policies_branch_end", "branch_id", "end_date", "renewal_status", "id"),
        # the renewal pipeline's policies still to renew, in the order it shows them
        Index(
            "ix_policies_open_end",
            "branch_id",
            "end_date",
            "id",
            sqlite_where=text("renewal_status IN ('open', 'contacted', 'quoted')"),
        ),
        # the policy list (newest first) and the daily figures: by the day it was issued
        Index("ix_policies_branch_issued", "branch_id", "issued_on", "id"),
        # overlaps: the same vehicle's policies of a kind
        Index("ix_policies_vehicle_kind", "vehicle_id", "kind", "start_date"),
    )

    policy_no: Mapped[str] = mapped_column(String(40))
    insurer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("insurers.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    vehicle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vehicles.id"))
    kind: Mapped[str] = mapped_column(String(12))
    coverages: Mapped[str] = mapped_column(String(200), default="")  # codes, comma-separated
    premium_minor: Mapped[int] = mapped_column(Integer)
    commission_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # basis points
    commission_minor: Mapped[int] = mapped_column(Integer, default=0)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    salesperson: Mapped[str] = mapped_column(String(60), default="")
    business: Mapped[str] = mapped_column(String(8), default="new")
    payment: Mapped[str] = mapped_column(String(10), default="unpaid")
    note: Mapped[str] = mapped_column(String(400), default="")
    # the renewal follow-up of this policy (as it approaches its end)
    renewal_status: Mapped[str] = mapped_column(String(10), default="open")
    renewal_note: Mapped[str] = mapped_column(String(400), default="")
    quoted_minor: Mapped[int | None] = mapped_column(Integer, default=None)
    lost_reason: Mapped[str] = mapped_column(String(200), default="")
    renewal_updated_on: Mapped[date | None] = mapped_column(Date, default=None)
    renewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("policies.id"), default=None)


class AccidentIntake(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """An accident vehicle 事故车 received, linked to the repair's work order / visit."""

    __tablename__ = "accident_intakes"
    __table_args__ = (
        CheckConstraint("estimate_minor >= 0", name="estimate"),
        Index("ix_accident_intakes_branch_date", "branch_id", "intake_date", "id"),
    )

    intake_date: Mapped[date] = mapped_column(Date)
    plate: Mapped[str] = mapped_column(String(10))
    vehicle_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vehicles.id"), default=None)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), default=None)
    insurer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("insurers.id"), default=None)
    claim_no: Mapped[str] = mapped_column(String(40), default="")
    towed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    surveyor: Mapped[str] = mapped_column(String(60), default="")
    estimate_minor: Mapped[int] = mapped_column(Integer, default=0)
    work_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("work_orders.id"), default=None
    )
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visits.id"), default=None)
    note: Mapped[str] = mapped_column(String(400), default="")


class OilSale(IdMixin, TimestampMixin, BranchScopedMixin, Base):
    """An engine-oil sale 机油销售: to an archive customer or a walk-in buyer."""

    __tablename__ = "oil_sales"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("amount_minor >= 0", name="amount"),
        Index("ix_oil_sales_branch_date", "branch_id", "sold_on", "id"),
    )

    sold_on: Mapped[date] = mapped_column(Date)
    product: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), default=None)
    buyer: Mapped[str] = mapped_column(String(100), default="")  # walk-in: name or blank
    salesperson: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
