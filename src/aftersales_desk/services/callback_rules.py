"""The rules that put callbacks in the queue (回访规则).

Each rule is a plain function ``(session, branch_id, today) -> iterable of Candidate``; a
candidate carries a natural key (``visit:<id>``, ``maint:<vehicle>:<visit>`` …) so running the
rules again — every time the queue is opened, or by the ``callbacks`` command each morning —
never queues the same call twice. Customers who refused calls are dropped by the queue service,
whatever a rule returns.

Built in: follow-up after a visit (N *working* days after the visit date, N per visit type, on the
branch's working calendar — weekends, China's public holidays and the branch's own days), second
callback after a resolved complaint, maintenance due (by date or by mileage at the vehicle's own
rate, whichever comes first) and lost customers. Another module adds its rule with one call::

    register_rule("insurance", N_("Insurance renewal"), my_rule)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import CalendarDay, Setting
from aftersales_desk.data.models.archive import Customer, Vehicle, Visit
from aftersales_desk.data.models.callbacks import QuickForm
from aftersales_desk.domain.workcal import WorkCalendar
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.settings import DEFAULTS

# Which department a visit's callback belongs to (the daily report groups problems by it).
DEPARTMENT_BY_KIND = {
    "maintenance": "机修车间",
    "repair": "机修车间",
    "warranty": "机修车间",
    "first_service": "机修车间",
    "accident": "钣喷车间",
    "campaign": "前台接待",
}
CUSTOMER_SERVICE = "客户服务"


@dataclass(frozen=True, slots=True)
class Candidate:
    key: str  # natural key, unique per branch: the same call is never queued twice
    customer_id: uuid.UUID
    due_on: date
    vehicle_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    form_id: uuid.UUID | None = None
    advisor: str = ""
    department: str = ""
    note: str = ""
    in_warranty: bool = False


RuleFn = Callable[[Session, uuid.UUID, date], Iterable[Candidate]]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str  # English msgid (N_), translated when shown
    fn: RuleFn

    @property
    def label(self) -> str:
        return _(self.title)


RULES: dict[str, Rule] = {}


def register_rule(name: str, title: str, fn: RuleFn) -> Rule:
    """Add (or replace) a rule; it runs with the others when the queue is generated."""
    rule = Rule(name, title, fn)
    RULES[name] = rule
    return rule


def rule_label(name: str) -> str:
    rule = RULES.get(name)
    return rule.label if rule else name


# --- what rules read ------------------------------------------------------------------------------
def branch_settings(s: Session, branch_id: uuid.UUID | None) -> dict[str, Any]:
    with s.no_autoflush:  # plain columns, no ORM rows and no flush of pending changes
        stored = dict(
            s.execute(
                select(Setting.key, Setting.value).where(Setting.branch_id == branch_id)
            ).all()
        )
    return {k: stored.get(k, v) for k, v in DEFAULTS.items()}


def work_calendar(s: Session, branch_id: uuid.UUID | None) -> WorkCalendar:
    settings = branch_settings(s, branch_id)
    overrides = {
        c.day: c.working
        for c in s.scalars(select(CalendarDay).where(CalendarDay.branch_id == branch_id))
    }
    return WorkCalendar(overrides, public_holidays=bool(settings["schedule_public_holidays"]))


def add_working_days(cal: WorkCalendar, start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``days`` ≤ 0: the first working day on or
    after ``start``)."""
    d = start
    if days <= 0:
        for _i in range(60):
            if cal.is_working(d):
                return d
            d += timedelta(days=1)
        return start
    left = days
    for _i in range(days + 60):
        d += timedelta(days=1)
        if cal.is_working(d):
            left -= 1
            if left == 0:
                return d
    return start + timedelta(days=days)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def in_warranty(purchase: date | None, visit_day: date, kind: str, years: int) -> bool:
    if kind == "warranty":
        return True
    if purchase is None:
        return False
    try:
        end = purchase.replace(year=purchase.year + years)
    except ValueError:  # 29 February
        end = purchase.replace(year=purchase.year + years, day=28)
    return visit_day < end


# --- the built-in rules ---------------------------------------------------------------------------
def visit_follow_up(s: Session, branch_id: uuid.UUID, today: date) -> Iterable[Candidate]:
    """Every visit of a kind in ``callbacks_visit_days`` → a call due that many working days
    after the visit (visits within ``callbacks_lookback_days``)."""
    conf = branch_settings(s, branch_id)
    days_by_kind: dict[str, int] = dict(conf["callbacks_visit_days"])
    if not days_by_kind:
        return []
    cal = work_calendar(s, branch_id)
    years = int(conf["callbacks_warranty_years"])
    since = today - timedelta(days=int(conf["callbacks_lookback_days"]))
    q = (
        select(
            Visit.id,
            Visit.customer_id,
            Visit.vehicle_id,
            Visit.visit_date,
            Visit.kind,
            Visit.advisor,
            func.coalesce(Vehicle.purchase_date, Vehicle.sale_date),
        )
        .outerjoin(Vehicle, Vehicle.id == Visit.vehicle_id)
        .where(
            Visit.branch_id == branch_id,
            Visit.visit_date >= since,
            Visit.visit_date <= today,
            Visit.kind.in_(list(days_by_kind)),
        )
    )
    out = []
    for vid, cid, veh, day, kind, advisor, bought in s.execute(q):
        day = _as_date(day)
        out.append(
            Candidate(
                key=f"visit:{vid}",
                customer_id=cid,
                vehicle_id=veh,
                visit_id=vid,
                due_on=add_working_days(cal, day, int(days_by_kind[kind])),
                advisor=advisor or "",
                department=DEPARTMENT_BY_KIND.get(kind, CUSTOMER_SERVICE),
                in_warranty=in_warranty(_as_date(bought) if bought else None, day, kind, years),
            )
        )
    return out


def second_callback(s: Session, branch_id: uuid.UUID, today: date) -> Iterable[Candidate]:
    """A closed quick-handling form → a second callback ``callbacks_second_days`` working days
    after it was closed (closing a form also queues it at once)."""
    conf = branch_settings(s, branch_id)
    cal = work_calendar(s, branch_id)
    days = int(conf["callbacks_second_days"])
    since = today - timedelta(days=int(conf["callbacks_lookback_days"]))
    q = select(QuickForm).where(
        QuickForm.branch_id == branch_id,
        QuickForm.status == "closed",
        QuickForm.closed_on >= since,
    )
    return [second_candidate(f, cal, days) for f in s.scalars(q)]


def second_candidate(form: QuickForm, cal: WorkCalendar, days: int) -> Candidate:
    assert form.closed_on is not None
    return Candidate(
        key=f"second:{form.id}",
        customer_id=form.customer_id,
        form_id=form.id,
        due_on=add_working_days(cal, form.closed_on, days),
        advisor=form.responsible,
        department=form.department,
        note=_("Second callback after form {number}").format(number=form.number),
    )


def maintenance_due(s: Session, branch_id: uuid.UUID, today: date) -> Iterable[Candidate]:
    """Each vehicle's next maintenance — the last visit's due date, or the day its mileage
    reaches the due mileage at the vehicle's own km/day (else ``callbacks_km_per_day``),
    whichever comes first — → a reminder ``callbacks_maintenance_lead_days`` before it, queued
    once the reminder is within ``callbacks_upcoming_days``."""
    conf = branch_settings(s, branch_id)
    lead = int(conf["callbacks_maintenance_lead_days"])
    horizon = today + timedelta(days=int(conf["callbacks_upcoming_days"]))
    default_rate = float(conf["callbacks_km_per_day"])
    stats = (
        select(
            Visit.vehicle_id.label("vid"),
            func.max(Visit.visit_date).label("last"),
            func.min(Visit.visit_date).label("first"),
            func.min(Visit.mileage_km).label("km0"),
            func.max(Visit.mileage_km).label("km1"),
        )
        .where(Visit.branch_id == branch_id, Visit.vehicle_id.is_not(None))
        .group_by(Visit.vehicle_id)
        .subquery()
    )
    q = (
        select(
            Visit.id,
            Visit.customer_id,
            Visit.vehicle_id,
            Visit.visit_date,
            Visit.mileage_km,
            Visit.next_due_date,
            Visit.next_due_km,
            Visit.advisor,
            stats.c.first,
            stats.c.km0,
            stats.c.km1,
        )
        .join(stats, (stats.c.vid == Visit.vehicle_id) & (stats.c.last == Visit.visit_date))
        .where(
            Visit.branch_id == branch_id,
            (Visit.next_due_date.is_not(None)) | (Visit.next_due_km.is_not(None)),
        )
    )
    out: dict[uuid.UUID, Candidate] = {}
    for vid, cid, veh, day, km, due_date, due_km, advisor, first, km0, km1 in s.execute(q):
        day = _as_date(day)
        due = maintenance_date(
            day,
            km,
            _as_date(due_date) if due_date else None,
            due_km,
            first=_as_date(first),
            km_first=km0,
            km_last=km1,
            default_rate=default_rate,
        )
        if due is None:
            continue
        remind = due - timedelta(days=lead)
        if remind > horizon or due < today - timedelta(days=30):
            continue  # not yet, or so long ago that the lost-customer rule takes over
        out[veh] = Candidate(
            key=f"maint:{veh}:{vid}",
            customer_id=cid,
            vehicle_id=veh,
            visit_id=vid,
            due_on=max(remind, day + timedelta(days=1)),
            advisor=advisor or "",
            department="前台接待",
            note=_("Maintenance due {date}").format(date=due.isoformat()),
        )
    return out.values()


def maintenance_date(
    last: date,
    km: int,
    due_date: date | None,
    due_km: int | None,
    *,
    first: date,
    km_first: int,
    km_last: int,
    default_rate: float,
) -> date | None:
    """When the next maintenance is due: the earlier of the date and the day the mileage gets
    there at the vehicle's rate (its km between its first and last visit per day)."""
    by_km: date | None = None
    if due_km is not None and due_km > km:
        days = (last - first).days
        rate = (km_last - km_first) / days if days >= 30 and km_last > km_first else default_rate
        if rate > 0:
            by_km = last + timedelta(days=int((due_km - km) / rate))
    candidates = [d for d in (due_date, by_km) if d is not None]
    return min(candidates) if candidates else None


def lost_customers(s: Session, branch_id: uuid.UUID, today: date) -> Iterable[Candidate]:
    """A vehicle whose expected next visit (the last paid visit's next-maintenance date, else
    ``archive_lost_months`` after it) is overdue by more than ``archive_lost_margin_days`` → a
    call to find out why (once per lapse; free campaign visits are not a return)."""
    conf = branch_settings(s, branch_id)
    months = int(conf["archive_lost_months"])
    margin = int(conf["archive_lost_margin_days"])
    oldest = today - timedelta(days=int(conf["callbacks_lost_max_days"]))
    last = (
        select(Visit.vehicle_id.label("vid"), func.max(Visit.visit_date).label("last"))
        .where(
            Visit.branch_id == branch_id,
            Visit.vehicle_id.is_not(None),
            Visit.free_campaign.is_(False),
        )
        .group_by(Visit.vehicle_id)
        .subquery()
    )
    q = (
        select(
            Visit.id,
            Visit.customer_id,
            Visit.vehicle_id,
            Visit.visit_date,
            Visit.next_due_date,
            Visit.advisor,
        )
        .join(last, (last.c.vid == Visit.vehicle_id) & (last.c.last == Visit.visit_date))
        .where(
            Visit.free_campaign.is_(False),
            Visit.visit_date >= oldest,
            Visit.visit_date < today - timedelta(days=margin + 30),
        )
    )
    out: dict[uuid.UUID, Candidate] = {}
    for vid, cid, veh, day, due_date, advisor in s.execute(q):
        day = _as_date(day)
        expected = _as_date(due_date) if due_date else day + timedelta(days=months * 30)
        if (today - expected).days <= margin:
            continue
        out[veh] = Candidate(
            key=f"lost:{veh}:{vid}",
            customer_id=cid,
            vehicle_id=veh,
            visit_id=vid,
            due_on=today,
            advisor=advisor or "",
            department=CUSTOMER_SERVICE,
            note=_("Last visit {date}; expected back by {expected}").format(
                date=day.isoformat(), expected=expected.isoformat()
            ),
        )
    return out.values()


register_rule("visit", N_("Visit follow-up"), visit_follow_up)
register_rule("second", N_("Second callback"), second_callback)
register_rule("maintenance", N_("Maintenance due"), maintenance_due)
register_rule("lost", N_("Lost customer"), lost_customers)


def refused(s: Session, customer_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(set(customer_ids))
    out: set[uuid.UUID] = set()
    for i in range(0, len(ids), 500):
        out.update(
            s.scalars(
                select(Customer.id).where(
                    Customer.id.in_(ids[i : i + 500]), Customer.consent_call.is_(False)
                )
            )
        )
    return out
