"""The shared work order 维修工单: opened at reception for a customer's vehicle or product,
dispatched to a technician or service provider, possibly waiting for parts, then closed — which
writes the visit on the customer service card — or cancelled.

Other modules (parts counter, daily schedule) refer to ``work_orders.id``; they never keep a
second copy. Status moves: opened → dispatched ⇄ waiting_parts → closed; any open state →
cancelled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models.archive import VISIT_KINDS, Customer, Vehicle, WorkOrder
from aftersales_desk.data.models.service_clocks import WorkOrderClockEvent
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import SYSTEM, Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive import VisitInput, add_visit_row, clean_visit
from aftersales_desk.services.auth import require
from aftersales_desk.services.numbering import next_number
from aftersales_desk.services.pages import Page, keyset, page

STATUS_LABELS = {
    "opened": N_("Opened"),
    "dispatched": N_("Dispatched"),
    "waiting_parts": N_("Waiting for parts"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
OPEN_STATUSES = ("opened", "dispatched", "waiting_parts")
PARTS_PAUSE = "waiting_for_parts"  # the service clock's pause while the order waits for parts


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


@dataclass(frozen=True, slots=True)
class WorkOrderRow:
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    customer_no: str
    customer_name: str
    vehicle_id: uuid.UUID | None
    plate: str
    kind: str
    fault: str
    advisor: str
    assignee: str
    assignee_is_provider: bool
    mileage_km: int
    status: str
    opened_at: datetime
    dispatched_at: datetime | None
    closed_at: datetime | None
    cancel_reason: str


@dataclass
class CloseInput:
    items: str = ""
    parts: str = ""
    labour_minor: int = 0
    parts_minor: int = 0
    mileage_km: int | None = None
    visit_date: date | None = None
    next_due_date: date | None = None
    next_due_km: int | None = None
    declined_advice: str = ""
    free_campaign: bool = False


_COLUMNS = (
    WorkOrder.id,
    WorkOrder.number,
    WorkOrder.customer_id,
    Customer.customer_no,
    Customer.name,
    WorkOrder.vehicle_id,
    Vehicle.plate,
    WorkOrder.kind,
    WorkOrder.fault,
    WorkOrder.advisor,
    WorkOrder.assignee,
    WorkOrder.assignee_is_provider,
    WorkOrder.mileage_km,
    WorkOrder.status,
    WorkOrder.opened_at,
    WorkOrder.dispatched_at,
    WorkOrder.closed_at,
    WorkOrder.cancel_reason,
)


def work_order_query():
    return (
        select(*_COLUMNS)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .outerjoin(Vehicle, Vehicle.id == WorkOrder.vehicle_id)
    )


def to_row(r) -> WorkOrderRow:
    values = list(r)
    values[6] = values[6] or ""
    return WorkOrderRow(*values)


def _last_clock_event(s: Session, work_order_id: uuid.UUID) -> WorkOrderClockEvent | None:
    return s.scalars(
        select(WorkOrderClockEvent)
        .where(WorkOrderClockEvent.work_order_id == work_order_id)
        .order_by(WorkOrderClockEvent.seq.desc())
        .limit(1)
    ).first()


def open_pause_reason(s: Session, work_order_id: uuid.UUID) -> str | None:
    """The reason of the order's running pause, None when its clock runs."""
    last = s.scalars(
        select(WorkOrderClockEvent)
        .where(
            WorkOrderClockEvent.work_order_id == work_order_id,
            WorkOrderClockEvent.kind.in_(("pause", "resume")),
        )
        .order_by(WorkOrderClockEvent.seq.desc())
        .limit(1)
    ).first()
    return last.reason if last is not None and last.kind == "pause" else None


def add_clock_event(
    s: Session, wo: WorkOrder, kind: str, *, reason: str = "", note: str = ""
) -> WorkOrderClockEvent:
    """Append one event to the order's service clock, now, by the unit of work's actor. The time
    never goes back behind the order's last event (a PC clock set back cannot reorder them)."""
    actor: Actor = s.info.get("actor", SYSTEM)
    last = _last_clock_event(s, wo.id)
    floor = max(t for t in (wo.opened_at, wo.dispatched_at, last and last.at) if t is not None)
    event = WorkOrderClockEvent(
        branch_id=wo.branch_id,
        work_order_id=wo.id,
        seq=(last.seq + 1) if last is not None else 1,
        kind=kind,
        reason=reason,
        note=note,
        at=max(utcnow(), floor),
        by_id=actor.user_id,
        by=(actor.display_name or actor.username)[:100],
    )
    s.add(event)
    s.flush()
    return event


def mark_waiting_for_parts(session: Session, wo: WorkOrder, waiting: bool) -> None:
    """Put a dispatched order on "waiting for parts" (待件) or take it off again, in the caller's
    session: the status moves dispatched ⇄ waiting_parts and the service clock's "waiting for
    parts" pause opens or closes with it (a running "customer unavailable" pause gives way to it).
    Marking an order that is already so does nothing; the caller commits."""
    set_waiting(session, wo, waiting, "")


def set_waiting(session: Session, wo: WorkOrder, waiting: bool, note: str) -> None:
    """``mark_waiting_for_parts`` with a note on the clock's pause or resume event."""
    if waiting == (wo.status == "waiting_parts"):
        return
    if wo.status != ("dispatched" if waiting else "waiting_parts"):
        raise RefusedError(
            _("Work order {number} is {status}; that cannot be done now.").format(
                number=wo.number, status=status_label(wo.status)
            )
        )
    running = open_pause_reason(session, wo.id)
    if running is not None:
        add_clock_event(session, wo, "resume", reason=running, note="" if waiting else note)
    if waiting:
        add_clock_event(session, wo, "pause", reason=PARTS_PAUSE, note=note)
        wo.status = "waiting_parts"
    else:
        wo.status = "dispatched"


class WorkOrderService:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def page(
        self, cursor: tuple[datetime, str] | None = None, limit: int = 200, *, open_only=False
    ) -> Page[WorkOrderRow]:
        """Newest first, keyset on (opened_at, id)."""
        with self.db.uow(self.actor) as uow:
            q = work_order_query().where(WorkOrder.branch_id == self.actor.branch_id)
            if open_only:
                q = q.where(WorkOrder.status.in_(OPEN_STATUSES))
            after = None if cursor is None else (cursor[0], uuid.UUID(cursor[1]))
            q = keyset(q, [WorkOrder.opened_at, WorkOrder.id], after, limit, newest_first=True)
            found = uow.session.execute(q).all()
        return page(found, limit, lambda r: (r.opened_at, str(r.id)), to_row)

    def get(self, work_order_id: uuid.UUID) -> WorkOrderRow:
        with self.db.uow(self.actor) as uow:
            r = uow.session.execute(work_order_query().where(WorkOrder.id == work_order_id)).first()
            if r is None:
                raise RefusedError(_("This work order no longer exists."))
            return to_row(r)

    def open(
        self,
        customer_id: uuid.UUID,
        *,
        vehicle_id: uuid.UUID | None = None,
        kind: str = "repair",
        fault: str = "",
        advisor: str = "",
        mileage_km: int = 0,
    ) -> WorkOrderRow:
        """Open a work order at reception (接车)."""
        require(self.actor, Permission.EDIT_CUSTOMERS)
        if kind not in VISIT_KINDS:
            raise ValidationError(_("Unknown visit type: {kind}").format(kind=kind), "kind")
        if not fault.strip():
            raise ValidationError(_("Describe the fault or request."), field="fault")
        if mileage_km < 0:
            raise ValidationError(_("The mileage cannot be negative."), field="mileage_km")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            if s.get(Customer, customer_id) is None:
                raise RefusedError(_("This customer no longer exists."))
            if vehicle_id is not None:
                v = s.get(Vehicle, vehicle_id)
                if v is None or v.customer_id != customer_id:
                    raise ValidationError(
                        _("The vehicle is not this customer's."), field="vehicle_id"
                    )
            wo = WorkOrder(
                branch_id=self.actor.branch_id,
                number=next_number(s, self.actor, "work_order").text,
                customer_id=customer_id,
                vehicle_id=vehicle_id,
                kind=kind,
                fault=fault.strip(),
                advisor=(advisor or self.actor.display_name or self.actor.username).strip()[:60],
                mileage_km=mileage_km,
                status="opened",
                opened_at=utcnow(),
            )
            s.add(wo)
            uow.commit()
            wid = wo.id
        return self.get(wid)

    def _load(self, s, work_order_id: uuid.UUID, allowed: tuple[str, ...]) -> WorkOrder:
        wo = s.get(WorkOrder, work_order_id)
        if wo is None:
            raise RefusedError(_("This work order no longer exists."))
        if wo.status not in allowed:
            raise RefusedError(
                _("Work order {number} is {status}; that cannot be done now.").format(
                    number=wo.number, status=status_label(wo.status)
                )
            )
        return wo

    def dispatch(
        self, work_order_id: uuid.UUID, assignee: str, *, provider: bool = False
    ) -> WorkOrderRow:
        """Assign a technician or a service provider (派工)."""
        require(self.actor, Permission.EDIT_CUSTOMERS)
        if not assignee.strip():
            raise ValidationError(_("Name the technician or service provider."), "assignee")
        with self.db.uow(self.actor, write=True) as uow:
            wo = self._load(uow.session, work_order_id, OPEN_STATUSES)
            wo.assignee = assignee.strip()[:100]
            wo.assignee_is_provider = provider
            if wo.status == "opened":
                wo.status = "dispatched"
                wo.dispatched_at = utcnow()
            uow.commit()
        return self.get(work_order_id)

    def set_waiting_for_parts(self, work_order_id: uuid.UUID, waiting: bool) -> WorkOrderRow:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        with self.db.uow(self.actor, write=True) as uow:
            wo = self._load(
                uow.session, work_order_id, ("dispatched",) if waiting else ("waiting_parts",)
            )
            mark_waiting_for_parts(uow.session, wo, waiting)
            uow.commit()
        return self.get(work_order_id)

    def update(
        self, work_order_id: uuid.UUID, *, fault: str, advisor: str, mileage_km: int
    ) -> WorkOrderRow:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        if not fault.strip():
            raise ValidationError(_("Describe the fault or request."), field="fault")
        with self.db.uow(self.actor, write=True) as uow:
            wo = self._load(uow.session, work_order_id, OPEN_STATUSES)
            wo.fault, wo.advisor, wo.mileage_km = fault.strip(), advisor.strip()[:60], mileage_km
            uow.commit()
        return self.get(work_order_id)

    def close(self, work_order_id: uuid.UUID, data: CloseInput) -> uuid.UUID:
        """Close the order and write its visit on the service card; returns the visit id."""
        require(self.actor, Permission.EDIT_CUSTOMERS)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            wo = self._load(s, work_order_id, ("dispatched", "opened"))
            now = utcnow()
            visit = clean_visit(
                VisitInput(
                    visit_date=data.visit_date or now.date(),
                    kind=wo.kind,
                    vehicle_id=wo.vehicle_id,
                    mileage_km=data.mileage_km if data.mileage_km is not None else wo.mileage_km,
                    free_campaign=data.free_campaign,
                    items=data.items or wo.fault,
                    parts=data.parts,
                    labour_minor=data.labour_minor,
                    parts_minor=data.parts_minor,
                    advisor=wo.advisor,
                    next_due_date=data.next_due_date,
                    next_due_km=data.next_due_km,
                    declined_advice=data.declined_advice,
                )
            )
            row = add_visit_row(s, self.actor, wo.customer_id, visit, work_order_id=wo.id)
            wo.status = "closed"
            wo.closed_at = now
            if wo.dispatched_at is None:
                wo.dispatched_at = now
            uow.commit()
            return row.id

    def cancel(self, work_order_id: uuid.UUID, reason: str) -> WorkOrderRow:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        if not reason.strip():
            raise ValidationError(_("Give the reason for cancelling."), field="reason")
        with self.db.uow(self.actor, write=True) as uow:
            wo = self._load(uow.session, work_order_id, OPEN_STATUSES)
            wo.status = "cancelled"
            wo.cancel_reason = reason.strip()[:200]
            wo.closed_at = utcnow()
            uow.commit()
        return self.get(work_order_id)
