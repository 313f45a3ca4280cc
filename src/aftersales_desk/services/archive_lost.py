"""Lost customers and churn (流失客户): when a vehicle counts as lost (the branch's rules), which
vehicles are lost now and why, and the churn rate month by month — one ordered scan of the
visits for all of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales_desk.data.models.archive import Customer, LostReason, Vehicle
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import (
    PaidVisit,
    churn_in_month,
    expected_after,
    lapses,
    mask_phone,
    summarise,
)
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.archive import LOST_REASONS, date_cache
from aftersales_desk.services.auth import require
from aftersales_desk.services.progress import NO_PROGRESS, Progress
from aftersales_desk.services.settings import SettingsService


@dataclass(frozen=True, slots=True)
class LostOverview:
    rows: list[LostRow]  # the most overdue lost vehicles
    total: int  # how many vehicles are lost in all
    churn: list[ChurnMonth]


@dataclass(frozen=True, slots=True)
class LostRules:
    default_months: int  # expected interval of a vehicle with nothing better to go by
    margin_days: int  # overdue by more than this = lost
    service_km: int  # km between services, for vehicles with a known km per day


@dataclass(frozen=True, slots=True)
class ChurnMonth:
    year: int
    month: int
    active: int  # vehicles active at the month's start
    lost: int  # of them, lost during the month
    rate: float

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class LostRow:
    id: uuid.UUID  # the vehicle
    customer_id: uuid.UUID
    customer_no: str
    name: str
    phone: str
    plate: str
    last_visit: date
    expected: date
    overdue_days: int
    reason: str


class LostCustomers:
    """The lost-customer use cases of one branch, for one acting user."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    # --- the rules ---------------------------------------------------------------------------
    def _lost_rules(self) -> dict[str, int]:
        rules = self.lost_rules()
        return {
            "default_days": rules.default_months * 30,
            "margin_days": rules.margin_days,
            "service_km": rules.service_km,
        }

    def lost_rules(self) -> LostRules:
        settings = SettingsService(self.db, self.actor).all()
        return LostRules(
            int(settings["archive_lost_months"]),
            int(settings["archive_lost_margin_days"]),
            int(settings["archive_service_km"]),
        )

    def set_lost_rules(self, rules: LostRules) -> LostRules:
        """When the branch counts a vehicle as lost (manager or admin)."""
        for value, low, high, name in (
            (rules.default_months, 1, 36, "archive_lost_months"),
            (rules.margin_days, 0, 365, "archive_lost_margin_days"),
            (rules.service_km, 500, 100000, "archive_service_km"),
        ):
            if not isinstance(value, int) or not low <= value <= high:
                raise ValidationError(
                    _("{value} is outside {low}–{high}.").format(value=value, low=low, high=high),
                    field=name,
                )
        SettingsService(self.db, self.actor).update(
            {
                "archive_lost_months": rules.default_months,
                "archive_lost_margin_days": rules.margin_days,
                "archive_service_km": rules.service_km,
            }
        )
        return rules

    def _histories(
        self, s: Session, until: date
    ) -> Iterator[tuple[uuid.UUID, date | None, list[PaidVisit]]]:
        """(vehicle, purchase date, paid visits up to ``until`` oldest first) per vehicle of the
        branch: one ordered scan of the visits (a million rows take a few seconds)."""
        conn = s.connection()
        branch = self.actor.branch_id.hex if self.actor.branch_id else None
        day = date_cache()
        purchased = {
            vid: day(d)
            for vid, d in conn.exec_driver_sql(
                "SELECT id, purchase_date FROM vehicles "
                "WHERE branch_id IS ? AND purchase_date IS NOT NULL",
                (branch,),
            )
        }
        rows = conn.exec_driver_sql(
            "SELECT vehicle_id, visit_date, mileage_km, next_due_date, next_due_km FROM visits "
            "WHERE branch_id IS ? AND vehicle_id IS NOT NULL AND free_campaign = 0 "
            "AND visit_date <= ? ORDER BY vehicle_id, visit_date",
            (branch, until.isoformat()),
        )
        current: str | None = None
        history: list[PaidVisit] = []
        for vid, visited, km, due_date, due_km in rows:
            if vid != current:
                if current is not None:
                    yield uuid.UUID(hex=current), purchased.get(current), history
                current, history = vid, []
            history.append(
                PaidVisit(day(visited), km or 0, day(due_date) if due_date else None, due_km)
            )
        if current is not None:
            yield uuid.UUID(hex=current), purchased.get(current), history

    def _scan(
        self,
        s: Session,
        until: date,
        *,
        today: date | None,
        spans: list[tuple[date, date]],
        progress: Progress,
    ) -> tuple[list[tuple[int, uuid.UUID, date, date]], list[int], list[int]]:
        """One pass over the paid visits for both questions: the vehicles overdue on ``today``
        (overdue days, vehicle, last visit, expected; none if ``today`` is None) and, per month
        span, how many vehicles were active at its start and lost in it. Cancellable."""
        rules = self._lost_rules()
        margin = rules.pop("margin_days")
        total = s.scalar(select(func.count()).select_from(Vehicle)) or None
        overdue: list[tuple[int, uuid.UUID, date, date]] = []
        active = [0] * len(spans)
        lost = [0] * len(spans)
        first_start = min((start for start, _end in spans), default=None)
        for n, (vid, since, history) in enumerate(self._histories(s, until)):
            if n % 20000 == 0:
                progress.step(n, total, _("Finding lost customers…"))
            stats = summarise(history, since)
            expected = expected_after(stats, **rules)
            if today is not None:
                days = (today - expected).days
                if days > margin:
                    overdue.append((days, vid, stats.last.day, expected))
            # lost for good before the first month: active in none of them (most lost vehicles)
            if first_start is not None and (expected - first_start).days + margin >= 0:
                lapsed = lapses(history, since=since, margin_days=margin, **rules)
                for i, (start, end) in enumerate(spans):
                    was_active, was_lost = churn_in_month(lapsed, start, end)
                    active[i] += was_active
                    lost[i] += was_lost
        return overdue, active, lost

    def lost_overview(
        self,
        months: list[tuple[int, int]],
        today: date | None = None,
        limit: int = 1000,
        progress: Progress = NO_PROGRESS,
    ) -> LostOverview:
        """``find_lost`` and ``churn`` in one pass over the visits (what the lost-customer
        window shows); ``months`` should lie before ``today``."""
        today = today or date.today()
        spans = _spans(months)
        with self.db.uow(self.actor) as uow:
            overdue, active, lost = self._scan(
                uow.session, today, today=today, spans=spans, progress=progress
            )
            rows = self._lost_rows(uow.session, overdue, limit)
        return LostOverview(rows, len(overdue), _churn_months(months, active, lost))

    def find_lost(self, today: date | None = None, limit: int = 1000) -> tuple[list[LostRow], int]:
        """(the ``limit`` most overdue lost vehicles, how many are lost in all).

        A vehicle is lost when its expected return (``domain.archive.expected_return``: the next
        maintenance its last visit set, by date or by mileage at its own km per day, else its
        own interval between visits, else the branch default) is overdue by more than the
        branch's margin. Free campaign visits do not count as a return."""
        today = today or date.today()
        with self.db.uow(self.actor) as uow:
            overdue, _a, _l = self._scan(
                uow.session, today, today=today, spans=[], progress=NO_PROGRESS
            )
            return self._lost_rows(uow.session, overdue, limit), len(overdue)

    def _lost_rows(
        self, s: Session, overdue: list[tuple[int, uuid.UUID, date, date]], limit: int
    ) -> list[LostRow]:
        """The ``limit`` most overdue of ``overdue`` with their customers and recorded reasons."""
        overdue.sort(key=lambda r: (-r[0], r[1]))
        top = overdue[:limit]
        ids = [r[1] for r in top]
        info: dict[uuid.UUID, tuple[Any, ...]] = {}
        reasons: dict[uuid.UUID, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for row in s.execute(
                select(
                    Vehicle.id,
                    Vehicle.plate,
                    Vehicle.vin,
                    Customer.id,
                    Customer.customer_no,
                    Customer.name,
                    Customer.phone,
                )
                .join(Customer, Customer.id == Vehicle.customer_id)
                .where(Vehicle.id.in_(chunk))
            ):
                info[row[0]] = tuple(row[1:])
            for vid, reason in s.execute(
                select(LostReason.vehicle_id, LostReason.reason)
                .where(LostReason.vehicle_id.in_(chunk))
                .order_by(LostReason.noted_on, LostReason.created_at)
            ):
                reasons[vid] = reason  # the latest wins
        out = []
        for days, vid, last, expected in top:
            plate, vin, cid, no, name, phone = info[vid]
            out.append(
                LostRow(
                    vid,
                    cid,
                    no,
                    name,
                    mask_phone(phone),
                    plate or vin,
                    last,
                    expected,
                    days,
                    reasons.get(vid, ""),
                )
            )
        return out

    def lost(self, today: date | None = None, limit: int = 1000) -> list[LostRow]:
        """The ``limit`` most overdue lost vehicles (see ``find_lost``)."""
        return self.find_lost(today, limit)[0]

    def record_lost_reason(self, vehicle_id: uuid.UUID, reason: str, note: str = "") -> None:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        if reason not in LOST_REASONS:
            raise ValidationError(_("Unknown reason: {reason}").format(reason=reason), "reason")
        with self.db.uow(self.actor, write=True) as uow:
            if uow.session.get(Vehicle, vehicle_id) is None:
                raise RefusedError(_("This vehicle no longer exists."))
            uow.session.add(
                LostReason(
                    branch_id=self.actor.branch_id,
                    vehicle_id=vehicle_id,
                    reason=reason,
                    note=note.strip()[:400],
                    noted_on=date.today(),
                )
            )
            uow.commit()

    def churn(self, months: list[tuple[int, int]]) -> list[ChurnMonth]:
        """The churn rate of each (year, month): of the vehicles active at the month's start
        (their expected return plus the margin not yet passed), the share that was lost in
        the month (that date passed inside it without a paid visit). Each expectation uses
        only the visits known at the time, by the same rule as ``find_lost``. One scan."""
        spans = _spans(months)
        if not spans:
            return []
        until = max(end for _start, end in spans)
        with self.db.uow(self.actor) as uow:
            _o, active, lost = self._scan(
                uow.session, until, today=None, spans=spans, progress=NO_PROGRESS
            )
        return _churn_months(months, active, lost)

    def churn_rate(self, year: int, month: int) -> tuple[int, int, float]:
        """(vehicles active at the month's start, of them lost in the month, rate)."""
        c = self.churn([(year, month)])[0]
        return c.active, c.lost, c.rate


def _spans(months: list[tuple[int, int]]) -> list[tuple[date, date]]:
    return [(date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1)) for y, m in months]


def _churn_months(
    months: list[tuple[int, int]], active: list[int], lost: list[int]
) -> list[ChurnMonth]:
    return [
        ChurnMonth(y, m, a, n, n / a if a else 0.0)
        for (y, m), a, n in zip(months, active, lost, strict=True)
    ]
