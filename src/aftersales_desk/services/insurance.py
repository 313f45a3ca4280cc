"""Insurance log use cases (保险出单): policies sold at the branch for archive vehicles, the renewal
pipeline (expiring in 90/60/30 days → contacted → quoted → renewed or lost) and the renewal rate
续保率 by month of expiry, accident vehicles 事故车 received, engine-oil sales 机油销售, and the
manager's daily figures. Excel in/out lives in ``insurance_io``; reports in ``insurance_reports``.

Rules kept here, for every way a policy comes in (form, import, demo aside):
- the policy number is unique in the branch;
- a vehicle has at most one policy of a kind (compulsory / commercial) covering any day;
- the end date (the last day covered) is not before the start date;
- the customer is the vehicle's owner in the archive.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    Date,
    Integer,
    String,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from aftersales_desk.data.models import Setting
from aftersales_desk.data.models.archive import Customer, Vehicle
from aftersales_desk.data.models.insurance import (
    BUSINESS_KINDS,
    OPEN_PREDICATE,
    PAYMENT_STATES,
    POLICY_KINDS,
    AccidentIntake,
    Insurer,
    OilSale,
    Policy,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import mask_phone, normalize_plate
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.money import apply_rate, format_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page, keyset, page
from aftersales_desk.services.settings import DEFAULTS

AREA = "insurance"
OPEN_STATES = ("open", "contacted", "quoted")  # still to be worked in the pipeline
OPEN_SQL = OPEN_PREDICATE
# the partial index that holds only the policies still to renew, in the pipeline's order
OPEN_INDEX_HINT = "INDEXED BY ix_policies_open_end"
EXPIRED_GRACE_DAYS = 30  # expired, not renewed: stays in the pipeline this long
PIPELINE_DAYS = 90

KIND_LABELS = {"compulsory": N_("Compulsory (CTPL)"), "commercial": N_("Commercial")}
KIND_ZH = {"compulsory": "交强险", "commercial": "商业险"}
BUSINESS_LABELS = {"new": N_("New"), "renewal": N_("Renewal")}
BUSINESS_ZH = {"new": "新保", "renewal": "续保"}
PAYMENT_LABELS = {"unpaid": N_("Unpaid"), "paid": N_("Paid"), "refunded": N_("Refunded")}
PAYMENT_ZH = {"unpaid": "未付", "paid": "已付", "refunded": "已退"}
RENEWAL_LABELS = {
    "open": N_("To contact"),
    "contacted": N_("Contacted"),
    "quoted": N_("Quoted"),
    "renewed": N_("Renewed"),
    "lost": N_("Lost"),
}
# code → (English label, Chinese short name as the trade writes it)
COVERAGES: dict[str, tuple[str, str]] = {
    "vehicle_damage": (N_("Vehicle damage"), "车损险"),
    "third_party": (N_("Third-party liability"), "三者险"),
    "driver": (N_("Driver seat"), "司机险"),
    "passengers": (N_("Passenger seats"), "乘客险"),
    "glass": (N_("Glass breakage"), "玻璃险"),
    "scratch": (N_("Body scratches"), "划痕险"),
    "medical": (N_("Medical beyond social insurance"), "医保外用药险"),
}
LOST_REASONS = (
    N_("Cheaper elsewhere"),
    N_("Renewed with another dealer"),
    N_("Vehicle sold or scrapped"),
    N_("Could not reach the customer"),
    N_("Other"),
)
BUCKETS = ("expired", "d30", "d60", "d90")
BUCKET_LABELS = {
    "expired": N_("Expired"),
    "d30": N_("Within 30 days"),
    "d60": N_("31–60 days"),
    "d90": N_("61–90 days"),
}


class PolicyConflict(RefusedError):
    """A policy refused because another one is in its way: the same number (``field``
    ``policy_no``) or an overlapping period (``start_date``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def still_open() -> Any:
    """``renewal_status IN ('open', 'contacted', 'quoted')`` written as literal SQL, the very
    predicate of the partial index ``ix_policies_open_end`` (SQLite uses a partial index only
    when the query states its condition, which bound parameters would hide)."""
    return text(OPEN_SQL)


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


def business_label(business: str) -> str:
    return _(BUSINESS_LABELS.get(business, business))


def payment_label(payment: str) -> str:
    return _(PAYMENT_LABELS.get(payment, payment))


def renewal_label(status: str) -> str:
    return _(RENEWAL_LABELS.get(status, status))


def coverage_labels(codes: str | Iterable[str]) -> str:
    items = codes.split(",") if isinstance(codes, str) else list(codes)
    return "、".join(_(COVERAGES[c][0]) for c in items if c in COVERAGES)


def bucket_of(end_date: date, today: date) -> str | None:
    """The pipeline bucket of a policy ending on ``end_date``: ``expired`` (up to 30 days ago),
    ``d30`` (0–30 days left), ``d60`` (31–60), ``d90`` (61–90); None outside."""
    left = (end_date - today).days
    if -EXPIRED_GRACE_DAYS <= left < 0:
        return "expired"
    if 0 <= left <= 30:
        return "d30"
    if 31 <= left <= 60:
        return "d60"
    if 61 <= left <= 90:
        return "d90"
    return None


def _bucket_range(bucket: str | None, today: date) -> tuple[date, date]:
    """First and last end date of a bucket (None: the whole pipeline)."""
    lo, hi = {
        None: (-EXPIRED_GRACE_DAYS, PIPELINE_DAYS),
        "expired": (-EXPIRED_GRACE_DAYS, -1),
        "d30": (0, 30),
        "d60": (31, 60),
        "d90": (61, 90),
    }[bucket]
    return today + timedelta(days=lo), today + timedelta(days=hi)


def one_year_end(start: date) -> date:
    """The last day of a one-year policy starting on ``start`` (2025-03-01 → 2026-02-28)."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = date(start.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


def branch_today(s: Session, branch_id: uuid.UUID | None) -> date:
    """Today in the branch's time zone (the schedule's zone setting)."""
    name = s.scalar(
        select(Setting.value).where(
            Setting.branch_id == branch_id, Setting.key == "schedule_timezone"
        )
    )
    try:
        zone = ZoneInfo(str(name or DEFAULTS["schedule_timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    return utcnow().astimezone(zone).date()


# --- inputs and rows ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyInput:
    policy_no: str
    insurer_id: uuid.UUID | None
    vehicle_id: uuid.UUID | None
    kind: str
    premium_minor: int
    start_date: date | None
    end_date: date | None
    coverages: tuple[str, ...] = ()
    commission_rate_bp: int = 0
    commission_minor: int | None = None  # None: premium × rate
    issued_on: date | None = None  # None: today
    salesperson: str = ""
    business: str = "new"
    payment: str = "unpaid"
    note: str = ""


@dataclass(frozen=True, slots=True)
class InsurerRow:
    id: uuid.UUID
    code: str
    name: str
    short_name: str
    active: bool

    @property
    def label(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True, slots=True)
class VehicleChoice:
    id: uuid.UUID
    customer_id: uuid.UUID
    customer_no: str
    customer_name: str
    plate: str
    vin: str
    model: str

    @property
    def label(self) -> str:
        return " · ".join(t for t in (self.plate, self.customer_name, self.model, self.vin) if t)


@dataclass(frozen=True, slots=True)
class PolicyRow:
    id: uuid.UUID
    policy_no: str
    insurer_id: uuid.UUID
    insurer: str
    customer_id: uuid.UUID
    customer_no: str
    customer_name: str
    vehicle_id: uuid.UUID
    plate: str
    vin: str
    kind: str
    coverages: str
    premium_minor: int
    commission_rate_bp: int
    commission_minor: int
    start_date: date
    end_date: date
    issued_on: date
    salesperson: str
    business: str
    payment: str
    note: str
    renewal_status: str
    renewal_note: str
    quoted_minor: int | None
    lost_reason: str
    renewed_by_id: uuid.UUID | None

    @property
    def input(self) -> PolicyInput:
        return PolicyInput(
            policy_no=self.policy_no,
            insurer_id=self.insurer_id,
            vehicle_id=self.vehicle_id,
            kind=self.kind,
            premium_minor=self.premium_minor,
            start_date=self.start_date,
            end_date=self.end_date,
            coverages=tuple(c for c in self.coverages.split(",") if c),
            commission_rate_bp=self.commission_rate_bp,
            commission_minor=self.commission_minor,
            issued_on=self.issued_on,
            salesperson=self.salesperson,
            business=self.business,
            payment=self.payment,
            note=self.note,
        )


@dataclass(frozen=True, slots=True)
class PipelineRow:
    id: uuid.UUID  # the expiring policy
    policy_no: str
    kind: str
    insurer: str
    customer_id: uuid.UUID
    customer_name: str
    phone: str
    vehicle_id: uuid.UUID
    plate: str
    end_date: date
    days_left: int
    bucket: str | None
    premium_minor: int
    renewal_status: str
    renewal_note: str
    quoted_minor: int | None
    lost_reason: str
    renewed_by_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class RenewalRate:
    month: str  # YYYY-MM of expiry
    due: int  # policies ending in the month
    renewed: int
    lost: int
    open: int

    @property
    def rate(self) -> float | None:
        return self.renewed / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class DailyFigures:
    day: date
    policies_today: int
    premium_today: int
    commission_today: int
    compulsory_today: int
    commercial_today: int
    policies_month: int
    premium_month: int
    commission_month: int
    renewals_month: int  # policies issued this month as renewals
    expiring_month: RenewalRate  # policies ending this month and how they went
    due_30: int  # still to renew, ending within 30 days
    accidents_today: int
    accidents_month: int
    estimate_month: int
    oil_qty_today: int
    oil_amount_today: int
    oil_qty_month: int
    oil_amount_month: int


# --- the rules -------------------------------------------------------------------------------
def clean_policy(data: PolicyInput) -> PolicyInput:
    """Shape and field rules; raises ``ValidationError`` naming the field."""
    no = "".join(data.policy_no.split()).upper()
    if not no:
        raise ValidationError(_("The policy number is missing."), field="policy_no")
    if len(no) > 40:
        raise ValidationError(_("A policy number has at most 40 characters."), field="policy_no")
    if data.insurer_id is None:
        raise ValidationError(_("Choose the insurer."), field="insurer")
    if data.vehicle_id is None:
        raise ValidationError(_("Choose the vehicle from the archive."), field="vehicle")
    if data.kind not in POLICY_KINDS:
        raise ValidationError(
            _("The kind is compulsory (交强险) or commercial (商业险)."), field="kind"
        )
    if data.start_date is None:
        raise ValidationError(_("The start date is missing."), field="start_date")
    if data.end_date is None:
        raise ValidationError(_("The end date is missing."), field="end_date")
    if data.end_date < data.start_date:
        raise ValidationError(
            _("The end date {end} is before the start date {start}.").format(
                end=data.end_date.isoformat(), start=data.start_date.isoformat()
            ),
            field="end_date",
        )
    if (data.end_date - data.start_date).days > 3 * 366:
        raise ValidationError(_("A policy runs at most three years."), field="end_date")
    coverages = tuple(dict.fromkeys(c for c in data.coverages if c))
    unknown = [c for c in coverages if c not in COVERAGES]
    if unknown:
        raise ValidationError(
            _("Unknown coverage: {name}").format(name=", ".join(unknown)), field="coverages"
        )
    if data.kind == "compulsory" and coverages:
        raise ValidationError(
            _("A compulsory policy (交强险) has no optional coverages."), field="coverages"
        )
    if data.kind == "commercial" and not coverages:
        raise ValidationError(
            _("A commercial policy needs at least one coverage."), field="coverages"
        )
    if data.premium_minor <= 0:
        raise ValidationError(_("The premium must be more than zero."), field="premium")
    if not 0 <= data.commission_rate_bp <= 10000:
        raise ValidationError(
            _("The commission rate is between 0% and 100%."), field="commission_rate"
        )
    commission = data.commission_minor
    if commission is None:
        commission = apply_rate(data.premium_minor, data.commission_rate_bp)
    if commission < 0 or commission > data.premium_minor:
        raise ValidationError(
            _("The commission must be between zero and the premium."), field="commission"
        )
    if data.business not in BUSINESS_KINDS:
        raise ValidationError(_("New business or renewal?"), field="business")
    if data.payment not in PAYMENT_STATES:
        raise ValidationError(_("Unknown payment state."), field="payment")
    return replace(
        data,
        policy_no=no,
        coverages=tuple(c for c in COVERAGES if c in coverages),
        commission_minor=commission,
        salesperson=data.salesperson.strip()[:60],
        note=data.note.strip()[:400],
    )


def check_policy_rules(
    s: Session,
    branch_id: uuid.UUID | None,
    data: PolicyInput,
    own_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Database rules for a cleaned policy: known insurer, archive vehicle, unique number, no
    overlap. Returns the vehicle's customer id."""
    if s.get(Insurer, data.insurer_id) is None:
        raise ValidationError(_("Unknown insurer."), field="insurer")
    vehicle = s.get(Vehicle, data.vehicle_id)
    if vehicle is None or vehicle.branch_id != branch_id:
        raise ValidationError(_("The vehicle is not in the archive."), field="vehicle")
    taken = s.execute(
        select(Policy.id, Policy.start_date, Policy.end_date, Vehicle.plate)
        .join(Vehicle, Vehicle.id == Policy.vehicle_id)
        .where(Policy.branch_id == branch_id, Policy.policy_no == data.policy_no)
    ).first()
    if taken is not None and taken.id != own_id:
        raise PolicyConflict(
            _("Policy no. {no} is already recorded ({plate}, {start} – {end}).").format(
                no=data.policy_no,
                plate=taken.plate or "-",
                start=taken.start_date.isoformat(),
                end=taken.end_date.isoformat(),
            ),
            field="policy_no",
        )
    q = select(Policy.policy_no, Policy.start_date, Policy.end_date).where(
        Policy.vehicle_id == data.vehicle_id,
        Policy.kind == data.kind,
        Policy.start_date <= data.end_date,
        Policy.end_date >= data.start_date,
    )
    if own_id is not None:
        q = q.where(Policy.id != own_id)
    clash = s.execute(q.limit(1)).first()
    if clash is not None:
        raise PolicyConflict(
            _(
                "This vehicle already has a {kind} policy {no} covering {start} – {end}; "
                "the periods overlap."
            ).format(
                kind=kind_label(data.kind),
                no=clash.policy_no,
                start=clash.start_date.isoformat(),
                end=clash.end_date.isoformat(),
            ),
            field="start_date",
        )
    return vehicle.customer_id


def policy_columns(data: PolicyInput, customer_id: uuid.UUID, today: date) -> dict[str, Any]:
    return {
        "policy_no": data.policy_no,
        "insurer_id": data.insurer_id,
        "customer_id": customer_id,
        "vehicle_id": data.vehicle_id,
        "kind": data.kind,
        "coverages": ",".join(data.coverages),
        "premium_minor": data.premium_minor,
        "commission_rate_bp": data.commission_rate_bp,
        "commission_minor": data.commission_minor or 0,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "issued_on": data.issued_on or today,
        "salesperson": data.salesperson,
        "business": data.business,
        "payment": data.payment,
        "note": data.note,
    }


def link_renewal(s: Session, new: Policy) -> Policy | None:
    """When ``new`` continues a policy of the same vehicle and kind that was still being worked
    (it ended at most 60 days before ``new`` starts, or ends within it), mark that one renewed
    by ``new``. Returns the policy it renewed."""
    old = s.scalars(
        select(Policy)
        .where(
            Policy.vehicle_id == new.vehicle_id,
            Policy.kind == new.kind,
            Policy.id != new.id,
            Policy.renewal_status.in_(OPEN_STATES),
            Policy.end_date < new.start_date,
            Policy.end_date >= new.start_date - timedelta(days=60),
        )
        .order_by(Policy.end_date.desc())
        .limit(1)
    ).first()
    if old is None:
        return None
    old.renewal_status = "renewed"
    old.renewed_by_id = new.id
    old.renewal_updated_on = new.issued_on
    new.business = "renewal"
    return old


INSURER_NAME = func.coalesce(func.nullif(Insurer.short_name, ""), Insurer.name)


def policy_query():
    return (
        select(
            Policy.id,
            Policy.policy_no,
            Policy.insurer_id,
            INSURER_NAME,
            Policy.customer_id,
            Customer.customer_no,
            Customer.name,
            Policy.vehicle_id,
            Vehicle.plate,
            Vehicle.vin,
            Policy.kind,
            Policy.coverages,
            Policy.premium_minor,
            Policy.commission_rate_bp,
            Policy.commission_minor,
            Policy.start_date,
            Policy.end_date,
            Policy.issued_on,
            Policy.salesperson,
            Policy.business,
            Policy.payment,
            Policy.note,
            Policy.renewal_status,
            Policy.renewal_note,
            Policy.quoted_minor,
            Policy.lost_reason,
            Policy.renewed_by_id,
        )
        .join(Insurer, Insurer.id == Policy.insurer_id)
        .join(Customer, Customer.id == Policy.customer_id)
        .join(Vehicle, Vehicle.id == Policy.vehicle_id)
    )


def _raw(column: Any) -> Any:
    """A UUID or date column read as its stored text: the pipeline converts its few hundred
    rows itself (``uuid.UUID(hex=…)``, ``date.fromisoformat``), cheaper than the generic
    result processors."""
    return type_coerce(column, String)


def _pipeline_query():
    return (
        select(
            _raw(Policy.id),
            Policy.policy_no,
            Policy.kind,
            INSURER_NAME,
            _raw(Policy.customer_id),
            Customer.name,
            Customer.phone,
            _raw(Policy.vehicle_id),
            Vehicle.plate,
            _raw(Policy.end_date),
            Policy.premium_minor,
            Policy.renewal_status,
            Policy.renewal_note,
            Policy.quoted_minor,
            Policy.lost_reason,
            _raw(Policy.renewed_by_id),
        )
        .join(Insurer, Insurer.id == Policy.insurer_id)
        .join(Customer, Customer.id == Policy.customer_id)
        .join(Vehicle, Vehicle.id == Policy.vehicle_id)
    )


def _pipeline_row(r: Any, today: date) -> PipelineRow:
    end = date.fromisoformat(r[9])
    return PipelineRow(
        id=uuid.UUID(hex=r[0]),
        policy_no=r[1],
        kind=r[2],
        insurer=r[3],
        customer_id=uuid.UUID(hex=r[4]),
        customer_name=r[5],
        phone=r[6],
        vehicle_id=uuid.UUID(hex=r[7]),
        plate=r[8],
        end_date=end,
        days_left=(end - today).days,
        bucket=bucket_of(end, today),
        premium_minor=r[10],
        renewal_status=r[11],
        renewal_note=r[12],
        quoted_minor=r[13],
        lost_reason=r[14],
        renewed_by_id=uuid.UUID(hex=r[15]) if r[15] else None,
    )


@cache
def _pipeline_statement(include_closed: bool, after: bool) -> Any:
    """The pipeline page's query, built once per shape; values bound per call."""
    q = _pipeline_query().where(
        Policy.branch_id == bindparam("branch", type_=Uuid()),
        Policy.end_date >= bindparam("first", type_=Date()),
        Policy.end_date <= bindparam("last", type_=Date()),
    )
    if not include_closed:
        q = q.where(still_open())  # SQLite reads it in order from ix_policies_open_end
    if after:
        q = q.where(
            tuple_(Policy.end_date, Policy.id)
            > tuple_(bindparam("after_end", type_=Date()), bindparam("after_id", type_=Uuid()))
        )
    return q.order_by(Policy.end_date, Policy.id).limit(bindparam("limit", type_=Integer()))


@cache
def _counts_statement() -> Any:
    """The pipeline's bucket counts. Written as SQL to name the partial index: without
    statistics SQLite would count through the wider index on end dates, twice the work."""
    return text(
        "SELECT coalesce(sum(end_date < :today), 0), "
        "coalesce(sum(end_date >= :today AND end_date <= :d30), 0), "
        "coalesce(sum(end_date > :d30 AND end_date <= :d60), 0), "
        "coalesce(sum(end_date > :d60), 0) "
        f"FROM policies {OPEN_INDEX_HINT} "
        f"WHERE branch_id = :branch AND end_date >= :first AND end_date <= :last AND {OPEN_SQL}"
    ).bindparams(
        bindparam("branch", type_=Uuid()),
        *(bindparam(n, type_=Date()) for n in ("today", "d30", "d60", "first", "last")),
    )


def renewals_due(
    session: Session, branch_id: uuid.UUID | None, today: date, within_days: int
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, date]]:
    """Policies still to renew that end from ``today`` to ``today + within_days`` (inclusive):
    ``(customer_id, vehicle_id, policy_id, end_date)`` by end date. For the callback queue."""
    rows = session.execute(
        select(Policy.customer_id, Policy.vehicle_id, Policy.id, Policy.end_date)
        .where(
            Policy.branch_id == branch_id,
            Policy.end_date >= today,
            Policy.end_date <= today + timedelta(days=within_days),
            still_open(),
        )
        .order_by(Policy.end_date, Policy.id)
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def renewal_rates(
    s: Session, branch_id: uuid.UUID | None, first: date, last: date
) -> list[RenewalRate]:
    """The renewal rate by month of expiry for the months from ``first`` to ``last``: of the
    policies ending in a month, how many were renewed (lost and still open are shown apart)."""
    start = date(first.year, first.month, 1)
    end = _next_month(date(last.year, last.month, 1))
    month = func.strftime("%Y-%m", Policy.end_date)
    rows = s.execute(
        select(
            month,
            func.count(),
            func.sum(case((Policy.renewal_status == "renewed", 1), else_=0)),
            func.sum(case((Policy.renewal_status == "lost", 1), else_=0)),
        )
        .where(Policy.branch_id == branch_id, Policy.end_date >= start, Policy.end_date < end)
        .group_by(month)
    ).all()
    found = {r[0]: r for r in rows}
    out: list[RenewalRate] = []
    m = start
    while m < end:
        key = f"{m.year:04d}-{m.month:02d}"
        r = found.get(key)
        due, renewed, lost = (int(r[1]), int(r[2] or 0), int(r[3] or 0)) if r else (0, 0, 0)
        out.append(RenewalRate(key, due, renewed, lost, due - renewed - lost))
        m = _next_month(m)
    return out


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


@cache
def _figures_statements() -> tuple[Any, ...]:
    """The daily figures' aggregate queries, built once; the values are bound per call
    (``branch``, ``day``, ``month_start``, ``month_end``, ``due_until``)."""
    branch, day = bindparam("branch", type_=Uuid()), bindparam("day", type_=Date())
    start, end = bindparam("month_start", type_=Date()), bindparam("month_end", type_=Date())
    until = bindparam("due_until", type_=Date())

    def total(expr: Any) -> Any:
        return func.coalesce(func.sum(expr), 0)

    def when(cond: Any, value: Any = 1) -> Any:
        return total(case((cond, value), else_=0))

    today = Policy.issued_on == day
    policies = select(
        func.count(),
        total(Policy.premium_minor),
        total(Policy.commission_minor),
        when(today),
        when(today, Policy.premium_minor),
        when(today, Policy.commission_minor),
        when(and_(today, Policy.kind == "compulsory")),
        when(and_(today, Policy.kind == "commercial")),
        when(Policy.business == "renewal"),
    ).where(Policy.branch_id == branch, Policy.issued_on >= start, Policy.issued_on <= day)
    expiring = select(
        func.count(),
        when(Policy.renewal_status == "renewed"),
        when(Policy.renewal_status == "lost"),
    ).where(Policy.branch_id == branch, Policy.end_date >= start, Policy.end_date < end)
    due = select(func.count()).where(
        Policy.branch_id == branch,
        Policy.end_date >= day,
        Policy.end_date <= until,
        still_open(),
    )
    accidents = select(
        func.count(),
        when(AccidentIntake.intake_date == day),
        total(AccidentIntake.estimate_minor),
    ).where(
        AccidentIntake.branch_id == branch,
        AccidentIntake.intake_date >= start,
        AccidentIntake.intake_date <= day,
    )
    oil_today = OilSale.sold_on == day
    oil = select(
        total(OilSale.quantity),
        total(OilSale.amount_minor),
        when(oil_today, OilSale.quantity),
        when(oil_today, OilSale.amount_minor),
    ).where(OilSale.branch_id == branch, OilSale.sold_on >= start, OilSale.sold_on <= day)
    return policies, expiring, due, accidents, oil


def daily_figures(s: Session, branch_id: uuid.UUID | None, day: date) -> DailyFigures:
    """The manager's figures for ``day``: aggregate queries over the indexed date ranges."""
    month_start = date(day.year, day.month, 1)
    values = {
        "branch": branch_id,
        "day": day,
        "month_start": month_start,
        "month_end": _next_month(month_start),
        "due_until": day + timedelta(days=30),
    }
    q_policies, q_expiring, q_due, q_accidents, q_oil = _figures_statements()
    p = s.execute(q_policies, values).one()
    e = s.execute(q_expiring, values).one()
    due, renewed, lost = int(e[0]), int(e[1]), int(e[2])
    rate = RenewalRate(f"{day.year:04d}-{day.month:02d}", due, renewed, lost, due - renewed - lost)
    due_30 = s.execute(q_due, values).scalar()
    a = s.execute(q_accidents, values).one()
    o = s.execute(q_oil, values).one()
    return DailyFigures(
        day=day,
        policies_today=int(p[3]),
        premium_today=int(p[4]),
        commission_today=int(p[5]),
        compulsory_today=int(p[6]),
        commercial_today=int(p[7]),
        policies_month=int(p[0]),
        premium_month=int(p[1]),
        commission_month=int(p[2]),
        renewals_month=int(p[8]),
        expiring_month=rate,
        due_30=int(due_30 or 0),
        accidents_today=int(a[1]),
        accidents_month=int(a[0]),
        estimate_month=int(a[2]),
        oil_qty_today=int(o[2]),
        oil_amount_today=int(o[3]),
        oil_qty_month=int(o[0]),
        oil_amount_month=int(o[1]),
    )


def figure_lines(f: DailyFigures) -> list[tuple[str, str, str]]:
    """The daily figures as (label, today, this month) text, for the tab and the report."""

    def pct(r: RenewalRate) -> str:
        return "-" if r.rate is None else f"{r.rate * 100:.1f}%"

    e = f.expiring_month
    return [
        (_("Policies issued"), str(f.policies_today), str(f.policies_month)),
        (_("Premium"), format_money(f.premium_today), format_money(f.premium_month)),
        (_("Commission"), format_money(f.commission_today), format_money(f.commission_month)),
        (_("Compulsory / commercial"), f"{f.compulsory_today} / {f.commercial_today}", ""),
        (_("Renewals issued"), "", str(f.renewals_month)),
        (
            _("Renewal rate (policies ending this month)"),
            "",
            _("{rate} ({renewed} of {due}; lost {lost})").format(
                rate=pct(e), renewed=e.renewed, due=e.due, lost=e.lost
            ),
        ),
        (_("Still to renew within 30 days"), str(f.due_30), ""),
        (_("Accident vehicles received"), str(f.accidents_today), str(f.accidents_month)),
        (_("Accident estimates"), "", format_money(f.estimate_month)),
        (_("Engine oil sold (units)"), str(f.oil_qty_today), str(f.oil_qty_month)),
        (_("Engine oil sales"), format_money(f.oil_amount_today), format_money(f.oil_amount_month)),
    ]


# --- the service --------------------------------------------------------------------------------
class InsuranceDesk:
    """One acting user at the insurance desk: the branch and its today."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    @property
    def branch_id(self) -> uuid.UUID | None:
        return self.actor.branch_id

    def today(self) -> date:
        with self.db.uow(self.actor) as uow:
            return branch_today(uow.session, self.branch_id)


class InsuranceService(InsuranceDesk):
    """Use cases of the insurance tab (master data, policies, the renewal pipeline, figures)."""

    # --- master data and look-ups ------------------------------------------------------------
    def insurers(self, *, include_inactive: bool = False) -> list[InsurerRow]:
        with self.db.uow(self.actor) as uow:
            q = select(Insurer).order_by(Insurer.sort_order, Insurer.code)
            if not include_inactive:
                q = q.where(Insurer.active.is_(True))
            return [
                InsurerRow(i.id, i.code, i.name, i.short_name, i.active)
                for i in uow.session.scalars(q)
            ]

    def add_insurer(self, code: str, name: str, short_name: str = "") -> uuid.UUID:
        """Add an insurer to the shared master list (the manager's job)."""
        require(self.actor, Permission.EDIT_BRANCH_SETTINGS)
        code, name, short_name = code.strip().upper(), name.strip(), short_name.strip()
        if not code or not name:
            raise ValidationError(_("An insurer needs a code and a name."), field="code")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            # issue 9: on a desk that syncs, head office keeps the insurer list
            from aftersales_desk.services.sync.central_catalogue import refuse_master_edit

            refuse_master_edit(s, _("insurer {name}").format(name=name))
            if s.scalar(select(Insurer.id).where(or_(Insurer.code == code, Insurer.name == name))):
                raise RefusedError(
                    _("The insurer {name} ({code}) is already listed.").format(name=name, code=code)
                )
            order = (s.scalar(select(func.max(Insurer.sort_order))) or 0) + 10
            insurer = Insurer(
                code=code[:16], name=name[:100], short_name=short_name[:20], sort_order=order
            )
            s.add(insurer)
            uow.commit()
            return insurer.id

    def find_vehicles(self, text: str, limit: int = 30) -> list[VehicleChoice]:
        """Archive vehicles by plate (with or without the province character), VIN fragment,
        customer name or customer no."""
        text = text.strip()
        if not text:
            return []
        plate = normalize_plate(text)
        like = f"%{text.upper()}%"
        with self.db.uow(self.actor) as uow:
            rows = uow.session.execute(
                select(
                    Vehicle.id,
                    Vehicle.customer_id,
                    Customer.customer_no,
                    Customer.name,
                    Vehicle.plate,
                    Vehicle.vin,
                    Vehicle.model,
                )
                .join(Customer, Customer.id == Vehicle.customer_id)
                .where(
                    Vehicle.branch_id == self.branch_id,
                    or_(
                        Vehicle.plate == plate,
                        Vehicle.plate.like(f"%{plate}"),
                        Vehicle.vin.like(like),
                        Customer.name == text,
                        Customer.customer_no == text.upper(),
                    ),
                )
                .order_by(Vehicle.plate, Vehicle.id)
                .limit(limit)
            ).all()
        return [VehicleChoice(*r) for r in rows]

    def vehicle_choice(self, vehicle_id: uuid.UUID) -> VehicleChoice | None:
        with self.db.uow(self.actor) as uow:
            r = uow.session.execute(
                select(
                    Vehicle.id,
                    Vehicle.customer_id,
                    Customer.customer_no,
                    Customer.name,
                    Vehicle.plate,
                    Vehicle.vin,
                    Vehicle.model,
                )
                .join(Customer, Customer.id == Vehicle.customer_id)
                .where(Vehicle.id == vehicle_id, Vehicle.branch_id == self.branch_id)
            ).first()
        return VehicleChoice(*r) if r else None

    # --- policies -----------------------------------------------------------------------------
    def create_policy(self, data: PolicyInput, *, renews: uuid.UUID | None = None) -> uuid.UUID:
        """Record a policy. ``renews``: the expiring policy it renews (marked renewed, linked);
        without it an open policy of the same vehicle and kind that ended shortly before is
        linked automatically."""
        require(self.actor, Permission.EDIT_POLICIES)
        clean = clean_policy(data)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            customer_id = check_policy_rules(s, self.branch_id, clean)
            today = branch_today(s, self.branch_id)
            if renews is not None:
                clean = replace(clean, business="renewal")
            policy = Policy(branch_id=self.branch_id, **policy_columns(clean, customer_id, today))
            s.add(policy)
            s.flush()
            if renews is not None:
                old = s.get(Policy, renews)
                if old is None or old.branch_id != self.branch_id:
                    raise ValidationError(_("The policy to renew is not recorded."))
                if old.vehicle_id != policy.vehicle_id or old.kind != policy.kind:
                    raise ValidationError(
                        _("A renewal is for the same vehicle and the same kind of policy.")
                    )
                if old.renewal_status in ("renewed", "lost"):
                    raise RefusedError(
                        _("Policy {no} is already marked {state}.").format(
                            no=old.policy_no, state=renewal_label(old.renewal_status)
                        )
                    )
                old.renewal_status = "renewed"
                old.renewed_by_id = policy.id
                old.renewal_updated_on = today
            else:
                link_renewal(s, policy)
            uow.commit()
            return policy.id

    def update_policy(self, policy_id: uuid.UUID, data: PolicyInput) -> None:
        require(self.actor, Permission.EDIT_POLICIES)
        clean = clean_policy(data)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            policy = self._policy(s, policy_id)
            customer_id = check_policy_rules(s, self.branch_id, clean, own_id=policy_id)
            values = policy_columns(clean, customer_id, policy.issued_on)
            for key, value in values.items():
                setattr(policy, key, value)
            uow.commit()

    def _policy(self, s: Session, policy_id: uuid.UUID) -> Policy:
        policy = s.get(Policy, policy_id)
        if policy is None or policy.branch_id != self.branch_id:
            raise ValidationError(_("This policy is not recorded (any more)."))
        return policy

    def policy(self, policy_id: uuid.UUID) -> PolicyRow:
        with self.db.uow(self.actor) as uow:
            r = uow.session.execute(
                policy_query().where(Policy.id == policy_id, Policy.branch_id == self.branch_id)
            ).first()
        if r is None:
            raise ValidationError(_("This policy is not recorded (any more)."))
        return PolicyRow(*r)

    def policy_page(
        self, cursor: tuple[date, uuid.UUID] | None = None, limit: int = 200, *, text: str = ""
    ) -> Page[PolicyRow]:
        """Policies, the most recently issued first; ``text``: policy no., plate or customer."""
        q = policy_query().where(Policy.branch_id == self.branch_id)
        text = text.strip()
        if text:
            plate = normalize_plate(text)
            q = q.where(
                or_(
                    Policy.policy_no.like(f"%{text.upper()}%"),
                    Vehicle.plate.like(f"%{plate}"),
                    Customer.name == text,
                )
            )
        q = keyset(q, [Policy.issued_on, Policy.id], cursor, limit, newest_first=True)
        with self.db.uow(self.actor) as uow:
            found = uow.session.execute(q).all()
        return page(found, limit, lambda r: (r.issued_on, r.id), lambda r: PolicyRow(*r))

    def vehicle_policies(self, vehicle_id: uuid.UUID) -> list[PolicyRow]:
        """All of a vehicle's policies, compulsory and commercial together, newest first."""
        with self.db.uow(self.actor) as uow:
            rows = uow.session.execute(
                policy_query()
                .where(Policy.vehicle_id == vehicle_id, Policy.branch_id == self.branch_id)
                .order_by(Policy.start_date.desc(), Policy.kind)
            ).all()
        return [PolicyRow(*r) for r in rows]

    # --- renewal pipeline ---------------------------------------------------------------------
    def pipeline_page(
        self,
        today: date,
        cursor: tuple[date, uuid.UUID] | None = None,
        limit: int = 200,
        *,
        bucket: str | None = None,
        include_closed: bool = False,
    ) -> Page[PipelineRow]:
        """Policies ending from 30 days ago to 90 days ahead (or one bucket of them), by end
        date; only those still to renew unless ``include_closed``."""
        with self.db.uow(self.actor) as uow:
            return self._pipeline_page(uow.session, today, cursor, limit, bucket, include_closed)

    def _pipeline_page(
        self,
        s: Session,
        today: date,
        cursor: tuple[date, uuid.UUID] | None,
        limit: int,
        bucket: str | None,
        include_closed: bool,
    ) -> Page[PipelineRow]:
        first, last = _bucket_range(bucket, today)
        values: dict[str, Any] = {
            "branch": self.branch_id,
            "first": first,
            "last": last,
            "limit": limit + 1,
        }
        if cursor is not None:
            values["after_end"], values["after_id"] = cursor
        q = _pipeline_statement(include_closed, cursor is not None)
        rows = [_pipeline_row(r, today) for r in s.execute(q, values)]
        if not self.actor.can(Permission.VIEW_PERSONAL_DATA):
            rows = [replace(r, phone=mask_phone(r.phone)) for r in rows]
        return page(rows, limit, lambda r: (r.end_date, r.id))

    def pipeline_counts(self, today: date) -> dict[str, int]:
        """How many policies are still to renew in each bucket."""
        with self.db.uow(self.actor) as uow:
            return self._pipeline_counts(uow.session, today)

    def _pipeline_counts(self, s: Session, today: date) -> dict[str, int]:
        first, last = _bucket_range(None, today)
        values = {
            "branch": self.branch_id,
            "first": first,
            "last": last,
            "today": today,
            "d30": today + timedelta(days=30),
            "d60": today + timedelta(days=60),
        }
        r = s.execute(_counts_statement(), values).one()
        return dict(zip(BUCKETS, (int(v) for v in r), strict=True))

    def open_pipeline(
        self,
        *,
        bucket: str | None = None,
        include_closed: bool = False,
        limit: int = 200,
        counts: bool = True,
    ) -> tuple[date, dict[str, int] | None, Page[PipelineRow]]:
        """What the pipeline shows when it opens, in one read: today, the bucket counts (None
        when not asked for) and the first page."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            today = branch_today(s, self.branch_id)
            first = self._pipeline_page(s, today, None, limit, bucket, include_closed)
            counted = self._pipeline_counts(s, today) if counts else None
        return today, counted, first

    def set_renewal(
        self,
        policy_id: uuid.UUID,
        status: str,
        *,
        note: str = "",
        quoted_minor: int | None = None,
        lost_reason: str = "",
    ) -> None:
        """Move a policy along the pipeline: contacted, quoted (with the amount), lost (with a
        reason), or back to open. Renewed is set by ``create_policy(…, renews=…)`` or
        ``mark_renewed``, which link the new policy."""
        require(self.actor, Permission.EDIT_POLICIES)
        if status not in ("open", "contacted", "quoted", "lost"):
            raise ValidationError(_("Unknown renewal state."), field="status")
        if status == "quoted" and (quoted_minor is None or quoted_minor <= 0):
            raise ValidationError(_("Give the quoted premium."), field="quoted")
        if status == "lost" and not lost_reason.strip():
            raise ValidationError(_("Give the reason the renewal was lost."), field="lost_reason")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            policy = self._policy(s, policy_id)
            if policy.renewal_status == "renewed":
                raise RefusedError(_("Policy {no} is already renewed.").format(no=policy.policy_no))
            policy.renewal_status = status
            if note.strip():
                policy.renewal_note = note.strip()[:400]
            if status == "quoted":
                policy.quoted_minor = quoted_minor
            policy.lost_reason = lost_reason.strip()[:200] if status == "lost" else ""
            policy.renewal_updated_on = branch_today(s, self.branch_id)
            uow.commit()

    def mark_renewed(self, policy_id: uuid.UUID, new_policy_id: uuid.UUID) -> None:
        """Link an already recorded policy as the renewal of ``policy_id``."""
        require(self.actor, Permission.EDIT_POLICIES)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            old, new = self._policy(s, policy_id), self._policy(s, new_policy_id)
            if old.vehicle_id != new.vehicle_id or old.kind != new.kind or old.id == new.id:
                raise ValidationError(
                    _("A renewal is for the same vehicle and the same kind of policy.")
                )
            if new.start_date <= old.start_date:
                raise ValidationError(_("The renewal must start after the policy it renews."))
            old.renewal_status = "renewed"
            old.renewed_by_id = new.id
            old.lost_reason = ""
            old.renewal_updated_on = branch_today(s, self.branch_id)
            new.business = "renewal"
            uow.commit()

    def renewal_template(self, policy_id: uuid.UUID) -> PolicyInput:
        """The form of the renewal of ``policy_id``: same vehicle, kind, insurer and coverages,
        starting the day after it ends, for a year; premium as quoted (or as last year)."""
        old = self.policy(policy_id)
        start = old.end_date + timedelta(days=1)
        with self.db.uow(self.actor) as uow:
            quoted = uow.session.scalar(select(Policy.quoted_minor).where(Policy.id == policy_id))
        return replace(
            old.input,
            policy_no="",
            premium_minor=quoted or old.premium_minor,
            commission_minor=None,
            start_date=start,
            end_date=one_year_end(start),
            issued_on=None,
            business="renewal",
            payment="unpaid",
            note="",
        )

    def renewals_due(self, today: date, within_days: int) -> list[tuple[Any, ...]]:
        with self.db.uow(self.actor) as uow:
            return renewals_due(uow.session, self.branch_id, today, within_days)

    def renewal_rates(self, first: date, last: date) -> list[RenewalRate]:
        with self.db.uow(self.actor) as uow:
            return renewal_rates(uow.session, self.branch_id, first, last)

    def daily_figures(self, day: date | None = None) -> DailyFigures:
        with self.db.uow(self.actor) as uow:
            s = uow.session
            return daily_figures(s, self.branch_id, day or branch_today(s, self.branch_id))
