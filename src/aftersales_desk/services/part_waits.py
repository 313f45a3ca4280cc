"""Parts and the shared work order 维修工单: parts issued to an order (出库到工单) and returned
from it (退库), with their cost; and work orders waiting for parts 待件工单.

A wait records which open work order waits for which part (quantity, since when, who) and puts
the order in ``waiting_parts``. When a receipt 入库 brings the part, the oldest waits it covers
are flagged "arrived" in the receipt's own transaction. Issuing the part to the order fulfils
the wait; once no wait of the order remains open it goes back to ``dispatched``. Fulfilment is
derived from the posted issue and return lines of the order (oldest wait first), so voiding a
slip or returning parts re-opens the wait it had fulfilled.

The hooks ``flag_arrivals``, ``unflag_arrivals``, ``sync_waits`` and ``check_work_order_lines``
run inside the posting transaction of ``services.documents``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, case, exists, func, select, text
from sqlalchemy.orm import Session

from aftersales_desk.data.models.archive import Customer, Vehicle, WorkOrder
from aftersales_desk.data.models.parts import (
    Part,
    PartStock,
    PartWait,
    StockDocument,
    StockDocumentLine,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import integrity
from aftersales_desk.services.archive_work_orders import (
    OPEN_STATUSES,
    mark_waiting_for_parts,
    status_label,
)
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page, keyset, page

WAIT_LABELS = {
    "waiting": N_("Waiting"),
    "arrived": N_("Part arrived"),
    "fulfilled": N_("Issued"),
    "cancelled": N_("Cancelled"),
}
OPEN_WAITS = ("waiting", "arrived")
# the document kinds that move parts to (+1) or back from (-1) a work order
WORK_ORDER_SIGN = {"issue": 1, "return": -1}


@dataclass(frozen=True, slots=True)
class WorkOrderRef:
    """A work order as the parts counter shows it when it is picked or scanned."""

    id: uuid.UUID
    number: str
    status: str
    status_label: str
    customer_name: str
    plate: str
    assignee: str
    fault: str

    @property
    def label(self) -> str:
        return " · ".join(
            x for x in (self.number, self.customer_name, self.plate, self.status_label) if x
        )


@dataclass(frozen=True, slots=True)
class WaitRow:
    id: uuid.UUID
    work_order_id: uuid.UUID
    work_order_no: str
    work_order_status: str
    customer_name: str
    plate: str
    assignee: str
    part_id: uuid.UUID
    part_no: str
    part_name: str
    qty: int
    issued_qty: int
    status: str
    status_label: str
    since: datetime
    days_waiting: int
    requested_by: str
    arrived: bool
    arrived_at: datetime | None
    arrival_document: str
    note: str


@dataclass(frozen=True, slots=True)
class IssuedLine:
    """One line of a slip to or from a work order: ``qty`` and ``cost`` are positive for parts
    issued to it and negative for parts returned; a void document's line counts zero."""

    id: uuid.UUID
    document: str
    kind: str
    document_status: str
    posted_at: datetime
    line_no: int
    part_id: uuid.UUID
    part_no: str
    part_name: str
    unit: str
    qty: int
    cost: int  # stock value that went to the order (moving-average cost), minor units
    amount: int  # at the slip's sale price, minor units


@dataclass(frozen=True, slots=True)
class WorkOrderParts:
    work_order: WorkOrderRef
    lines: list[IssuedLine]
    cost: int
    amount: int


def days_between(since: datetime, now: datetime) -> int:
    return max(0, (now - since).days)


# --- lookups ---------------------------------------------------------------------------------
def _ref_query():
    return (
        select(WorkOrder, Customer.name, Vehicle.plate)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .outerjoin(Vehicle, Vehicle.id == WorkOrder.vehicle_id)
    )


def _ref(wo: WorkOrder, customer: str, plate: str | None) -> WorkOrderRef:
    return WorkOrderRef(
        wo.id,
        wo.number,
        wo.status,
        status_label(wo.status),
        customer,
        plate or "",
        wo.assignee,
        wo.fault,
    )


def work_order_by_number(s: Session, actor: Actor, number: str) -> WorkOrder:
    """The branch's work order numbered ``number`` (typed or scanned; case and spaces ignored)."""
    code = number.strip().upper()
    wo = s.scalars(
        select(WorkOrder).where(WorkOrder.branch_id == actor.branch_id, WorkOrder.number == code)
    ).first()
    if wo is None:
        raise ValidationError(
            _("No work order numbered {number}.").format(number=number.strip()),
            field="work_order",
        )
    return wo


def net_issued(
    s: Session, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]], *, exclude_document=None
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Pieces of each (work order, part) issued to the order less those returned from it, over
    posted documents (optionally leaving one document out)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    sign = case((StockDocument.kind == "issue", 1), else_=-1)
    q = (
        select(
            StockDocumentLine.work_order_id,
            StockDocumentLine.part_id,
            func.sum(sign * StockDocumentLine.qty),
        )
        .join(StockDocument, StockDocument.id == StockDocumentLine.document_id)
        .where(
            StockDocument.status == "posted",
            StockDocument.kind.in_(WORK_ORDER_SIGN),
            StockDocumentLine.work_order_id.in_({w for w, _p in pairs}),
            StockDocumentLine.part_id.in_({p for _w, p in pairs}),
        )
        .group_by(StockDocumentLine.work_order_id, StockDocumentLine.part_id)
    )
    if exclude_document is not None:
        q = q.where(StockDocument.id != exclude_document)
    out = dict.fromkeys(pairs, 0)
    for w, p, n in s.execute(q):
        if (w, p) in out:
            out[(w, p)] = int(n or 0)
    return out


# --- hooks run by the posting transaction ------------------------------------------------------
def check_work_order_lines(s: Session, actor: Actor, kind: str, lines: list) -> None:
    """Lines that name a work order: only on issue slips and returns to stock; the order must be
    this branch's; an issue needs it open; a return cannot bring back more than was issued."""
    named = [(i, x) for i, x in enumerate(lines, start=1) if x.work_order_id is not None]
    if not named:
        return
    if kind not in WORK_ORDER_SIGN:
        raise ValidationError(
            _("Only issue slips and returns to stock can name a work order."),
            field="work_order",
        )
    orders = {
        wo.id: wo
        for wo in s.scalars(
            select(WorkOrder).where(WorkOrder.id.in_({x.work_order_id for _i, x in named}))
        )
    }
    for i, x in named:
        wo = orders.get(x.work_order_id)
        if wo is None or wo.branch_id != actor.branch_id:
            raise ValidationError(
                _("Line {n}: no such work order.").format(n=i), field="work_order"
            )
        if kind == "issue" and wo.status not in OPEN_STATUSES:
            raise RefusedError(
                _(
                    "Line {n}: work order {number} is {status}; parts go only to open orders."
                ).format(n=i, number=wo.number, status=status_label(wo.status))
            )
    if kind == "return":
        back: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
        for _i, x in named:
            back[(x.work_order_id, x.part_id)] += x.qty
        issued = net_issued(s, back)
        for i, x in named:
            key = (x.work_order_id, x.part_id)
            if back[key] > issued[key]:
                part = s.get(Part, x.part_id)
                raise ValidationError(
                    _(
                        "Line {n}: work order {number} has {issued} of {part} issued; "
                        "{qty} cannot come back."
                    ).format(
                        n=i,
                        number=orders[x.work_order_id].number,
                        issued=issued[key],
                        part=part.part_no if part else "?",
                        qty=back[key],
                    ),
                    field="qty",
                )


def check_void(s: Session, doc: StockDocument) -> None:
    """An issue slip to a work order cannot be voided while more was returned from the order
    than would then be left issued."""
    if doc.kind != "issue":
        return
    pairs = set(
        s.execute(
            select(StockDocumentLine.work_order_id, StockDocumentLine.part_id).where(
                StockDocumentLine.document_id == doc.id,
                StockDocumentLine.work_order_id.is_not(None),
            )
        ).all()
    )
    for (w, _p), n in net_issued(s, pairs, exclude_document=doc.id).items():
        if n < 0:
            wo = s.get(WorkOrder, w)
            raise RefusedError(
                _(
                    "Parts were returned from work order {number} against the slip {slip}; "
                    "void those returns first."
                ).format(number=wo.number if wo else "?", slip=doc.number)
            )


def flag_arrivals(s: Session, doc: StockDocument, received: dict[uuid.UUID, int]) -> int:
    """A receipt brought ``received`` pieces per part: flag the oldest open waits of open orders
    that those pieces cover whole, first come first served. Returns how many were flagged."""
    if not received:
        return 0
    left = dict(received)
    flagged = 0
    waits = s.scalars(
        select(PartWait)
        .join(WorkOrder, WorkOrder.id == PartWait.work_order_id)
        .where(
            PartWait.branch_id == doc.branch_id,
            PartWait.status == "waiting",
            PartWait.part_id.in_(received),
            WorkOrder.status.in_(OPEN_STATUSES),
        )
        .order_by(PartWait.since, PartWait.id)
    )
    for w in waits:
        need = w.qty - w.issued_qty
        if left.get(w.part_id, 0) < need:
            left[w.part_id] = 0  # first come first served: a later wait does not jump the queue
            continue
        left[w.part_id] -= need
        w.status = "arrived"
        w.arrived_at = doc.posted_at
        w.arrival_document_id = doc.id
        flagged += 1
    return flagged


def unflag_arrivals(s: Session, doc: StockDocument) -> None:
    """A voided receipt did not bring the part after all: its waits wait again."""
    for w in s.scalars(
        select(PartWait).where(PartWait.arrival_document_id == doc.id, PartWait.status == "arrived")
    ):
        w.status, w.arrived_at, w.arrival_document_id = "waiting", None, None


def _settle_order(s: Session, wo: WorkOrder) -> None:
    """``waiting_parts`` while an open wait remains, ``dispatched`` when none does."""
    if wo.status not in ("dispatched", "waiting_parts"):
        return
    s.flush()
    waiting = s.scalar(
        select(exists().where(PartWait.work_order_id == wo.id, PartWait.status.in_(OPEN_WAITS)))
    )
    if waiting and wo.status == "dispatched":
        mark_waiting_for_parts(s, wo, True)
    elif not waiting and wo.status == "waiting_parts":
        mark_waiting_for_parts(s, wo, False)


def sync_waits(s: Session, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Re-derive the fulfilment of the waits of each (work order, part) from the posted issue and
    return lines of the order, then settle the orders' status.

    Pieces issued after a wait was recorded go to the oldest wait still short of its quantity;
    pieces returned come off the newest fulfilled ones first. Issues before any wait (or
    beyond what the waits ask for) fulfil nothing."""
    pairs = set(pairs)
    if not pairs:
        return
    now = utcnow()
    # one query for the waits of every pair, one for their orders' issue and return lines
    by_pair: dict[tuple[uuid.UUID, uuid.UUID], list[PartWait]] = defaultdict(list)
    for w in s.scalars(
        select(PartWait)
        .where(
            PartWait.work_order_id.in_({w for w, _p in pairs}),
            PartWait.part_id.in_({p for _w, p in pairs}),
            PartWait.status != "cancelled",
        )
        .order_by(PartWait.since, PartWait.id)
    ):
        if (w.work_order_id, w.part_id) in pairs:
            by_pair[(w.work_order_id, w.part_id)].append(w)
    if not by_pair:
        return
    events: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[str, datetime, int]]] = defaultdict(list)
    for wo_id, part_id, kind, at, qty in s.execute(
        select(
            StockDocumentLine.work_order_id,
            StockDocumentLine.part_id,
            StockDocument.kind,
            StockDocument.posted_at,
            StockDocumentLine.qty,
        )
        .join(StockDocument, StockDocument.id == StockDocumentLine.document_id)
        .where(
            StockDocument.status == "posted",
            StockDocument.kind.in_(WORK_ORDER_SIGN),
            StockDocumentLine.work_order_id.in_({w for w, _p in by_pair}),
            StockDocumentLine.part_id.in_({p for _w, p in by_pair}),
            StockDocument.posted_at >= min(ws[0].since for ws in by_pair.values()),
        )
        .order_by(StockDocument.posted_at, StockDocument.seq, StockDocumentLine.line_no)
    ):
        events[(wo_id, part_id)].append((kind, at, qty))
    for key, waits in by_pair.items():
        _allocate(waits, [e for e in events.get(key, ()) if e[1] >= waits[0].since], now)
    for wo_id in {w for w, _p in by_pair}:
        wo = s.get(WorkOrder, wo_id)
        if wo is not None:
            _settle_order(s, wo)


def _allocate(waits: list[PartWait], events: list[tuple[str, datetime, int]], now) -> None:
    """Share the issued pieces out over ``waits`` (oldest first) and set their state."""
    got = [0] * len(waits)
    spare = 0  # issued to the order beyond what its waits asked for
    for kind, at, qty in events:
        if kind == "issue":
            for k, w in enumerate(waits):
                if qty == 0:
                    break
                if w.since <= at and got[k] < w.qty:
                    take = min(qty, w.qty - got[k])
                    got[k] += take
                    qty -= take
            spare += qty
        else:
            take = min(qty, spare)
            spare -= take
            qty -= take
            for k in range(len(waits) - 1, -1, -1):
                if qty == 0:
                    break
                take = min(qty, got[k])
                got[k] -= take
                qty -= take
    for w, n in zip(waits, got, strict=True):
        w.issued_qty = n
        if n >= w.qty:
            if w.status != "fulfilled":
                w.status, w.fulfilled_at = "fulfilled", now
        else:
            w.status = "arrived" if w.arrived_at is not None else "waiting"
            w.fulfilled_at = None


_MOVED_VALUE = text(
    # INDEXED BY: the document's movements by their index whatever the table statistics say
    # (statistics gathered on a ledger of mostly undocumented movements would suggest a scan)
    "SELECT line_id, SUM(value) FROM stock_movements INDEXED BY ix_stock_movements_document_id "
    "WHERE document_id IN :docs AND line_id IS NOT NULL GROUP BY line_id"
).bindparams(bindparam("docs", expanding=True))


def _moved_value(s: Session, documents: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The stock value each line of ``documents`` moved (signed; a void's reversal nets it to
    zero)."""
    if not documents:
        return {}
    rows = s.execute(_MOVED_VALUE, {"docs": [d.hex for d in documents]})
    return {uuid.UUID(str(line)): int(v or 0) for line, v in rows}


# --- the use cases -----------------------------------------------------------------------------
class PartWaits:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def find_work_order(self, number: str) -> WorkOrderRef:
        """A work order of this branch by its number (typed or scanned)."""
        with self.db.uow(self.actor) as uow:
            wo = work_order_by_number(uow.session, self.actor, number)
            _wo, customer, plate = uow.session.execute(
                _ref_query().where(WorkOrder.id == wo.id)
            ).one()
            return _ref(wo, customer, plate)

    def open_work_orders(self, text: str = "", limit: int = 200) -> list[WorkOrderRef]:
        """Open work orders, newest first, optionally those whose number, customer or plate
        contains ``text``."""
        q = _ref_query().where(
            WorkOrder.branch_id == self.actor.branch_id, WorkOrder.status.in_(OPEN_STATUSES)
        )
        text = text.strip()
        if text:
            q = q.where(
                WorkOrder.number.contains(text.upper(), autoescape=True)
                | Customer.name.contains(text, autoescape=True)
                | Vehicle.plate.contains(text.upper(), autoescape=True)
            )
        q = q.order_by(WorkOrder.opened_at.desc(), WorkOrder.id.desc()).limit(limit)
        with self.db.uow(self.actor) as uow:
            return [_ref(wo, c, p) for wo, c, p in uow.session.execute(q)]

    def register(
        self, work_order_no: str, part_id: uuid.UUID, qty: int, *, note: str = ""
    ) -> uuid.UUID:
        """Record that the work order waits for ``qty`` of the part; the order goes to
        ``waiting_parts``. Refused when the part is in stock (issue it instead) or the order
        waits for it already."""
        require(self.actor, Permission.POST_STOCK)
        if qty <= 0:
            raise ValidationError(_("The quantity must be a positive whole number."), field="qty")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            wo = work_order_by_number(s, self.actor, work_order_no)
            if wo.status == "opened":
                raise RefusedError(
                    _("Dispatch work order {number} first: it has no technician yet.").format(
                        number=wo.number
                    )
                )
            if wo.status not in OPEN_STATUSES:
                raise RefusedError(
                    _("Work order {number} is {status}; it cannot wait for parts.").format(
                        number=wo.number, status=status_label(wo.status)
                    )
                )
            part = s.get(Part, part_id)
            if part is None:
                raise ValidationError(_("No such part."), field="part")
            if s.scalar(
                select(
                    exists().where(
                        PartWait.work_order_id == wo.id,
                        PartWait.part_id == part_id,
                        PartWait.status.in_(OPEN_WAITS),
                    )
                )
            ):
                raise RefusedError(
                    _("Work order {number} already waits for {part}.").format(
                        number=wo.number, part=part.part_no
                    )
                )
            on_hand = (
                s.scalar(
                    select(PartStock.qty).where(
                        PartStock.branch_id == self.actor.branch_id, PartStock.part_id == part_id
                    )
                )
                or 0
            )
            promised = s.scalar(
                select(func.coalesce(func.sum(PartWait.qty - PartWait.issued_qty), 0)).where(
                    PartWait.branch_id == self.actor.branch_id,
                    PartWait.part_id == part_id,
                    PartWait.status == "arrived",
                )
            )
            free = on_hand - promised
            if free >= qty:
                raise RefusedError(
                    _(
                        "{part} is in stock ({n} free): issue it to work order {number} "
                        "instead of waiting."
                    ).format(part=part.part_no, n=free, number=wo.number)
                )
            wait = PartWait(
                id=uuid.uuid4(),
                branch_id=self.actor.branch_id,
                work_order_id=wo.id,
                part_id=part_id,
                qty=qty,
                issued_qty=0,
                status="waiting",
                since=utcnow(),
                requested_by=self.actor.username,
                note=note.strip()[:200],
            )
            s.add(wait)
            _settle_order(s, wo)
            uow.commit()
            return wait.id

    def cancel(self, wait_id: uuid.UUID, reason: str) -> None:
        """The order no longer waits for the part (found elsewhere, repair changed …)."""
        require(self.actor, Permission.POST_STOCK)
        if not reason.strip():
            raise ValidationError(_("Give the reason for cancelling."), field="reason")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            wait = s.get(PartWait, wait_id)
            if wait is None or wait.branch_id != self.actor.branch_id:
                raise UsageError(_("No such wait for parts."))
            if wait.status not in OPEN_WAITS:
                raise RefusedError(
                    _("This wait is {status} already.").format(status=_(WAIT_LABELS[wait.status]))
                )
            wait.status = "cancelled"
            wait.cancelled_at = utcnow()
            wait.cancel_reason = reason.strip()[:200]
            wo = s.get(WorkOrder, wait.work_order_id)
            if wo is not None:
                _settle_order(s, wo)
            uow.commit()

    def _query(self):
        # plain columns, not entities: a page of 200 rows stays a few milliseconds
        return (
            select(
                PartWait.id,
                PartWait.work_order_id,
                WorkOrder.number,
                WorkOrder.status,
                Customer.name,
                Vehicle.plate,
                WorkOrder.assignee,
                PartWait.part_id,
                Part.part_no,
                Part.name,
                PartWait.qty,
                PartWait.issued_qty,
                PartWait.status,
                PartWait.since,
                PartWait.requested_by,
                PartWait.arrived_at,
                StockDocument.number,
                PartWait.note,
            )
            .join(WorkOrder, WorkOrder.id == PartWait.work_order_id)
            .join(Customer, Customer.id == WorkOrder.customer_id)
            .outerjoin(Vehicle, Vehicle.id == WorkOrder.vehicle_id)
            .join(Part, Part.id == PartWait.part_id)
            .outerjoin(StockDocument, StockDocument.id == PartWait.arrival_document_id)
            .where(PartWait.branch_id == self.actor.branch_id)
        )

    @staticmethod
    def _row(r, now: datetime) -> WaitRow:
        (wid, wo_id, number, wo_status, customer, plate, assignee, part_id, part_no, name) = r[:10]
        qty, issued, status, since, by, arrived_at, arrival, note = r[10:]
        return WaitRow(
            wid,
            wo_id,
            number,
            wo_status,
            customer,
            plate or "",
            assignee,
            part_id,
            part_no,
            name,
            qty,
            issued,
            status,
            _(WAIT_LABELS[status]),
            since,
            days_between(since, now),
            by,
            status == "arrived",
            arrived_at,
            arrival or "",
            note,
        )

    def page(
        self,
        cursor: tuple[datetime, uuid.UUID] | None = None,
        limit: int = 200,
        *,
        open_only: bool = True,
        arrived_only: bool = False,
        work_order_id: uuid.UUID | None = None,
    ) -> Page[WaitRow]:
        """Waits, longest waiting first (keyset on since, id). Open ones are those of open work
        orders that still wait or whose part arrived."""
        q = self._query()
        if open_only:
            q = q.where(PartWait.status.in_(OPEN_WAITS), WorkOrder.status.in_(OPEN_STATUSES))
        if arrived_only:
            q = q.where(PartWait.status == "arrived")
        if work_order_id is not None:
            q = q.where(PartWait.work_order_id == work_order_id)
        q = keyset(q, [PartWait.since, PartWait.id], cursor, limit)
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            found = list(uow.session.execute(q))
            return page(found, limit, lambda r: (r.since, r.id), lambda r: self._row(r, now))

    def arrived(self, limit: int = 50) -> tuple[int, list[WaitRow]]:
        """How many open waits have their part arrived, and the longest-waiting of them."""
        with self.db.uow(self.actor) as uow:
            n = uow.session.scalar(
                select(func.count())
                .select_from(PartWait)
                .join(WorkOrder, WorkOrder.id == PartWait.work_order_id)
                .where(
                    PartWait.branch_id == self.actor.branch_id,
                    PartWait.status == "arrived",
                    WorkOrder.status.in_(OPEN_STATUSES),
                )
            )
        if not n or limit <= 0:
            return n or 0, []
        return n, self.page(None, limit, arrived_only=True).rows

    def work_order_parts(self, work_order_id: uuid.UUID) -> WorkOrderParts:
        """The parts issued to the work order and returned from it, line by line, with their
        cost (the stock value that went out, at moving-average cost) and sale amount."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            found = s.execute(_ref_query().where(WorkOrder.id == work_order_id)).first()
            if found is None or found[0].branch_id != self.actor.branch_id:
                raise UsageError(_("This work order no longer exists."))
            ref = _ref(*found)
            q = (
                select(StockDocumentLine, StockDocument, Part)
                .join(StockDocument, StockDocument.id == StockDocumentLine.document_id)
                .join(Part, Part.id == StockDocumentLine.part_id)
                .where(
                    and_(
                        StockDocumentLine.work_order_id == work_order_id,
                        StockDocument.kind.in_(WORK_ORDER_SIGN),
                    )
                )
                .order_by(StockDocument.posted_at, StockDocument.seq, StockDocumentLine.line_no)
            )
            found_lines = s.execute(q).all()
            moved = _moved_value(s, {doc.id for _l, doc, _p in found_lines})
            lines = []
            for line, doc, part in found_lines:
                sign = WORK_ORDER_SIGN[doc.kind] if doc.status == "posted" else 0
                lines.append(
                    IssuedLine(
                        line.id,
                        doc.number,
                        doc.kind,
                        doc.status,
                        doc.posted_at,
                        line.line_no,
                        part.id,
                        part.part_no,
                        part.name,
                        part.unit,
                        sign * line.qty,
                        -moved.get(line.id, 0),
                        sign * line.amount,
                    )
                )
        return WorkOrderParts(ref, lines, sum(x.cost for x in lines), sum(x.amount for x in lines))


@integrity.register(N_("Waits for parts agree with what was issued"))
def check_waits(s: Session) -> list[str]:
    """Each wait's state matches its issued quantity (fulfilled exactly when all of it went to
    the order), and a wait flagged as arrived knows its receipt."""
    problems: list[str] = []
    q = (
        select(PartWait, WorkOrder.number, Part.part_no)
        .join(WorkOrder, WorkOrder.id == PartWait.work_order_id)
        .join(Part, Part.id == PartWait.part_id)
        .where(
            (PartWait.issued_qty < 0)
            | (PartWait.issued_qty > PartWait.qty)
            | ((PartWait.status == "fulfilled") & (PartWait.issued_qty != PartWait.qty))
            | (PartWait.status.in_(OPEN_WAITS) & (PartWait.issued_qty >= PartWait.qty))
            | ((PartWait.status == "arrived") & PartWait.arrival_document_id.is_(None))
        )
        .limit(50)
    )
    for w, number, part_no in s.execute(q):
        problems.append(
            _(
                "Work order {number} waiting for {part}: {status} with {issued} of {qty} issued."
            ).format(
                number=number,
                part=part_no,
                status=_(WAIT_LABELS[w.status]),
                issued=w.issued_qty,
                qty=w.qty,
            )
        )
    return problems
