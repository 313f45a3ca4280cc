"""Reports of the insurance log (``report NAME``): ``renewals`` — the policies ending in a period,
how their renewal went and the renewal rate 续保率 by month of expiry — and ``insurance-daily``,
the manager's daily figures with the day's policies. Excel or PDF (CJK font embedded)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import aliased

from aftersales_desk.data.models.archive import Customer
from aftersales_desk.data.models.insurance import Policy
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import mask_phone
from aftersales_desk.domain.money import format_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.reports.tables import TableReport, write_table
from aftersales_desk.services.insurance import (
    coverage_labels,
    daily_figures,
    figure_lines,
    kind_label,
    policy_query,
    renewal_label,
    renewal_rates,
)
from aftersales_desk.services.progress import Progress
from aftersales_desk.services.report_registry import Period, ReportSpec, register


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def renewals_report(db: Database, actor: Actor, period: Period) -> TableReport:
    reveal = actor.can(Permission.VIEW_PERSONAL_DATA)
    renewed = aliased(Policy)
    last = period.end - timedelta(days=1)
    with db.uow(actor) as uow:
        s = uow.session
        rows = s.execute(
            policy_query()
            .add_columns(Customer.phone, renewed.policy_no)
            .outerjoin(renewed, renewed.id == Policy.renewed_by_id)
            .where(
                Policy.branch_id == actor.branch_id,
                Policy.end_date >= period.start,
                Policy.end_date < period.end,
            )
            .order_by(Policy.end_date, Policy.policy_no)
        ).all()
        rates = renewal_rates(s, actor.branch_id, period.start, last)
    body = []
    premium = 0
    for r in rows:
        phone = r[-2] if reveal else mask_phone(r[-2])
        body.append(
            [
                r.end_date.isoformat(),
                r.policy_no,
                kind_label(r.kind),
                r[3],  # insurer
                r.name,
                phone,
                r.plate,
                r.premium_minor,
                renewal_label(r.renewal_status),
                r[-1] or "",
                r.lost_reason or r.renewal_note,
            ]
        )
        premium += r.premium_minor
    due = sum(x.due for x in rates)
    renewed_n = sum(x.renewed for x in rates)
    by_month = "; ".join(f"{x.month} {_pct(x.rate)} ({x.renewed}/{x.due})" for x in rates if x.due)
    subtitle = _("Ending {start} – {end}: {due} policies, {renewed} renewed, rate {rate}").format(
        start=period.start.isoformat(),
        end=last.isoformat(),
        due=due,
        renewed=renewed_n,
        rate=_pct(renewed_n / due if due else None),
    )
    if by_month and len(rates) > 1:
        subtitle += " · " + by_month
    return TableReport(
        title=_("Insurance renewals {period}").format(period=period.label),
        subtitle=subtitle,
        columns=[
            _("Ends"),
            _("Policy no."),
            _("Kind"),
            _("Insurer"),
            _("Customer"),
            _("Phone"),
            _("Plate"),
            _("Premium"),
            _("Renewal state"),
            _("Renewed by"),
            _("Reason / note"),
        ],
        rows=body,
        money_cols={7},
        totals=[_("Total"), str(len(body)), "", "", "", "", "", premium, "", "", ""],
    )


def daily_report(db: Database, actor: Actor, period: Period) -> TableReport:
    day = period.start
    with db.uow(actor) as uow:
        s = uow.session
        figures = daily_figures(s, actor.branch_id, day)
        policies = s.execute(
            policy_query()
            .where(Policy.branch_id == actor.branch_id, Policy.issued_on == day)
            .order_by(Policy.policy_no)
        ).all()
    body: list[list[object]] = [
        [label, today, month] for label, today, month in figure_lines(figures)
    ]
    if policies:
        body.append(["", "", ""])
        body.append([_("Policies issued today"), "", ""])
        for r in policies:
            body.append(
                [
                    f"{r.policy_no} · {kind_label(r.kind)} · {r[3]}",
                    f"{r.plate} {r.name}",
                    " ".join(
                        t
                        for t in (
                            format_money(r.premium_minor),
                            coverage_labels(r.coverages),
                            r.salesperson,
                        )
                        if t
                    ),
                ]
            )
    return TableReport(
        title=_("Insurance daily figures {day}").format(day=day.isoformat()),
        subtitle=_("Today and this month up to today"),
        columns=[_("Figure"), _("Today"), _("This month")],
        rows=body,
    )


def _write_renewals(db: Database, actor: Actor, period: Period, out: Path, progress: Progress):
    progress.step(0, 2, _("Renewals"))
    write_table(renewals_report(db, actor, period), out)
    progress.step(2, 2, _("Renewals"))


def _write_daily(db: Database, actor: Actor, period: Period, out: Path, progress: Progress):
    progress.step(0, 2, _("Daily figures"))
    write_table(daily_report(db, actor, period), out)
    progress.step(2, 2, _("Daily figures"))


register(
    ReportSpec(
        "renewals",
        N_("Insurance renewals and renewal rate"),
        ("xlsx", "pdf"),
        ("month", "week", "date"),
        _write_renewals,
    )
)
register(
    ReportSpec(
        "insurance-daily",
        N_("Insurance daily figures"),
        ("xlsx", "pdf"),
        ("date",),
        _write_daily,
    )
)
