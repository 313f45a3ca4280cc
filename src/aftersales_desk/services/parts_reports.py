"""Replenishment and stock reports of the parts counter, as Excel and PDF: the parts plan
配件计划 (suggested order quantities from consumption and min/max), under-stock 储备不足,
over-stock 超储积压 (months of cover above the branch's threshold), slow-moving/dead stock 呆滞
(days since the last issue) and stock valuation. Registered for ``report NAME``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select

from aftersales_desk.data.models import Branch
from aftersales_desk.data.models.parts import Part, PartStock, StockMovement
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.i18n import N_, _
from aftersales_desk.reports.tables import TableReport, write_table
from aftersales_desk.services.progress import Progress
from aftersales_desk.services.report_registry import Period, ReportSpec, register
from aftersales_desk.services.settings import SettingsService
from aftersales_desk.services.stock import CONSUMPTION_KINDS

AVG_DAYS_PER_MONTH = 30.44


@dataclass(frozen=True, slots=True)
class StockLine:
    part_no: str
    name: str
    unit: str
    category: str
    on_hand: int
    min_qty: int
    max_qty: int
    avg_cost: int
    value: int
    consumed: int  # pieces issued or sold in the window
    monthly: float  # consumption per month


def _as_of(day: date) -> datetime:
    """The end of the local day before ``day`` (reports run up to a period's end)."""
    return datetime.combine(day, time()).astimezone()


def _day(as_of: datetime) -> str:
    """The last day a report covers (``as_of`` is the midnight after it)."""
    return (as_of - timedelta(seconds=1)).date().isoformat()


def stock_lines(db: Database, actor: Actor, as_of: datetime, months: int) -> list[StockLine]:
    """Every part with stock history in this branch, with its consumption in the ``months``
    before ``as_of``: one SQL statement, plain columns (no ORM objects for 20,000 parts)."""
    since = as_of - timedelta(days=months * AVG_DAYS_PER_MONTH)
    used = (
        select(
            StockMovement.part_id.label("part_id"),
            (-func.sum(StockMovement.qty)).label("used"),
        )
        .where(
            StockMovement.branch_id == actor.branch_id,
            StockMovement.kind.in_(CONSUMPTION_KINDS),
            StockMovement.at >= since,
            StockMovement.at < as_of,
        )
        .group_by(StockMovement.part_id)
        .subquery()
    )
    q = (
        select(
            Part.part_no,
            Part.name,
            Part.unit,
            Part.category,
            PartStock.qty,
            Part.min_qty,
            Part.max_qty,
            PartStock.avg_cost,
            PartStock.value,
            func.coalesce(used.c.used, 0),
        )
        .join(Part, Part.id == PartStock.part_id)
        .outerjoin(used, used.c.part_id == PartStock.part_id)
        .where(PartStock.branch_id == actor.branch_id)
        .order_by(Part.part_no)
    )
    with db.uow(actor) as uow:
        rows = uow.session.execute(q).all()
    return [
        StockLine(*row[:9], int(row[9] or 0), (row[9] or 0) / months if months else 0.0)
        for row in rows
    ]


def suggested_order(line: StockLine) -> int:
    """Order up to the maximum once stock is at or below the minimum; without min/max, one and
    two months of consumption stand in for them."""
    low = line.min_qty or math.ceil(line.monthly)
    high = line.max_qty or math.ceil(2 * line.monthly)
    if high <= 0 or line.on_hand > low:
        return 0
    return max(0, high - line.on_hand)


def _branch_name(db: Database, actor: Actor) -> str:
    with db.uow(actor) as uow:
        b = uow.session.get(Branch, actor.branch_id)
        return b.name if b else ""


def _settings(db: Database, actor: Actor) -> dict:
    return SettingsService(db, actor).all()


def _cover(line: StockLine) -> str:
    return f"{line.on_hand / line.monthly:.1f}" if line.monthly > 0 else "∞"


def replenishment_report(db: Database, actor: Actor, as_of: datetime) -> TableReport:
    months = int(_settings(db, actor)["parts_consumption_months"])
    lines = [x for x in stock_lines(db, actor, as_of, months) if suggested_order(x) > 0]
    return TableReport(
        title=_("Parts plan (replenishment)"),
        subtitle=_("{branch} · consumption of the last {n} months before {day}").format(
            branch=_branch_name(db, actor), n=months, day=_day(as_of)
        ),
        columns=[
            _("Part no."),
            _("Part name"),
            _("Unit"),
            _("On hand"),
            _("Min"),
            _("Max"),
            _("Monthly use"),
            _("Order qty"),
            _("Unit cost"),
            _("Order value"),
        ],
        rows=[
            [
                x.part_no,
                x.name,
                x.unit,
                x.on_hand,
                x.min_qty,
                x.max_qty,
                round(x.monthly, 1),
                suggested_order(x),
                x.avg_cost,
                suggested_order(x) * x.avg_cost,
            ]
            for x in lines
        ],
        money_cols={8, 9},
    )


def understock_report(db: Database, actor: Actor, as_of: datetime) -> TableReport:
    months = int(_settings(db, actor)["parts_consumption_months"])
    lines = [
        x for x in stock_lines(db, actor, as_of, months) if x.min_qty and x.on_hand < x.min_qty
    ]
    return TableReport(
        title=_("Under-stock"),
        subtitle=_branch_name(db, actor),
        columns=[
            _("Part no."),
            _("Part name"),
            _("On hand"),
            _("Min"),
            _("Short"),
            _("Monthly use"),
        ],
        rows=[
            [x.part_no, x.name, x.on_hand, x.min_qty, x.min_qty - x.on_hand, round(x.monthly, 1)]
            for x in lines
        ],
    )


def overstock_report(db: Database, actor: Actor, as_of: datetime) -> TableReport:
    cfg = _settings(db, actor)
    months, limit = int(cfg["parts_consumption_months"]), int(cfg["parts_overstock_months"])
    lines = [
        x
        for x in stock_lines(db, actor, as_of, months)
        if x.on_hand > 0
        and (
            (x.monthly > 0 and x.on_hand / x.monthly > limit)
            or (x.max_qty and x.on_hand > x.max_qty)
        )
    ]
    return TableReport(
        title=_("Over-stock"),
        subtitle=_("{branch} · more than {n} months of cover or above the maximum").format(
            branch=_branch_name(db, actor), n=limit
        ),
        columns=[
            _("Part no."),
            _("Part name"),
            _("On hand"),
            _("Max"),
            _("Monthly use"),
            _("Months of cover"),
            _("Stock value"),
        ],
        rows=[
            [x.part_no, x.name, x.on_hand, x.max_qty, round(x.monthly, 1), _cover(x), x.value]
            for x in lines
        ],
        money_cols={6},
    )


def slow_moving_report(db: Database, actor: Actor, as_of: datetime) -> TableReport:
    days = int(_settings(db, actor)["parts_slow_moving_days"])
    cutoff = as_of - timedelta(days=days)
    with db.uow(actor) as uow:
        result = uow.session.execute(
            select(Part, PartStock)
            .join(PartStock, PartStock.part_id == Part.id)
            .where(
                PartStock.branch_id == actor.branch_id,
                PartStock.qty > 0,
                (PartStock.last_issue_at.is_(None)) | (PartStock.last_issue_at < cutoff),
            )
            .order_by(PartStock.last_issue_at, Part.part_no)
        ).all()
        rows = [
            [
                p.part_no,
                p.name,
                ps.qty,
                ps.last_issue_at.astimezone().date().isoformat() if ps.last_issue_at else "",
                (as_of - ps.last_issue_at).days if ps.last_issue_at else _("never issued"),
                ps.value,
            ]
            for p, ps in result
        ]
    return TableReport(
        title=_("Slow-moving and dead stock"),
        subtitle=_("{branch} · no issue for {n} days before {day}").format(
            branch=_branch_name(db, actor), n=days, day=_day(as_of)
        ),
        columns=[
            _("Part no."),
            _("Part name"),
            _("On hand"),
            _("Last issue"),
            _("Days since"),
            _("Stock value"),
        ],
        rows=rows,
        money_cols={5},
        totals=["", _("Total"), sum(r[2] for r in rows), "", "", sum(r[5] for r in rows)],
    )


def valuation_report(db: Database, actor: Actor, as_of: datetime) -> TableReport:
    with db.uow(actor) as uow:
        rows = [
            list(r)
            for r in uow.session.execute(
                select(
                    Part.part_no,
                    Part.name,
                    Part.category,
                    PartStock.qty,
                    PartStock.avg_cost,
                    PartStock.value,
                )
                .join(PartStock, PartStock.part_id == Part.id)
                .where(PartStock.branch_id == actor.branch_id, PartStock.qty != 0)
                .order_by(Part.part_no)
            )
        ]
    return TableReport(
        title=_("Stock valuation"),
        subtitle=_("{branch} · moving-average cost, current stock").format(
            branch=_branch_name(db, actor)
        ),
        columns=[
            _("Part no."),
            _("Part name"),
            _("Category"),
            _("On hand"),
            _("Average cost"),
            _("Stock value"),
        ],
        rows=rows,
        money_cols={4, 5},
        totals=["", _("Total"), "", sum(r[3] for r in rows), "", sum(r[5] for r in rows)],
    )


BUILDERS = {
    "replenishment": (N_("Parts plan (replenishment)"), replenishment_report),
    "under-stock": (N_("Under-stock"), understock_report),
    "over-stock": (N_("Over-stock"), overstock_report),
    "slow-moving": (N_("Slow-moving and dead stock"), slow_moving_report),
    "stock-valuation": (N_("Stock valuation"), valuation_report),
}


def _writer(name: str):
    def write(db: Database, actor: Actor, period: Period, out: Path, progress: Progress) -> None:
        progress.step(0, 2)
        report = BUILDERS[name][1](db, actor, _as_of(period.end))
        progress.step(1, 2)
        write_table(report, out)
        progress.step(2, 2)

    return write


for _name, (_title, _fn) in BUILDERS.items():
    register(ReportSpec(_name, _title, ("xlsx", "pdf"), ("date", "month"), _writer(_name)))


def write_report(db: Database, actor: Actor, name: str, out: Path, *, day: date) -> None:
    """The window's entry: report ``name`` as of the end of ``day``."""
    write_table(BUILDERS[name][1](db, actor, _as_of(day + timedelta(days=1))), out)
