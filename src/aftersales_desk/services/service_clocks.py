"""Work-order service clocks (服务时效), the daily schedule's view of the archive's work orders.

Every open order runs the chain dispatched ≤ 30 min, customer contacted ≤ 2 h, on site / first
feedback ≤ 24 h, progress followed up ≤ 48 h, closed ≤ 72 h (the branch's
``schedule_sla_minutes``), round the clock or only in opening hours on working days
(``schedule_sla_working_hours``), stopped while the order waits for parts or for the customer.
Orders open longer than ``schedule_escalate_days`` are escalated and need a reason; the manager
sees them.

The rules are ``domain.sla.ServiceClock``; this module replays a work order's facts into it: the
archive's ``opened_at``/``dispatched_at``/``closed_at`` and the ``work_order_clock_events``
ledger (milestones, pauses, escalations, who and when). The branch's rules and the replay are in
``service_clocks_rules``; the demo filler and ``ls clocks`` in ``service_clocks_exports``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from aftersales_desk.data.models.archive import OPEN_ORDERS_SQL, Customer, Vehicle, WorkOrder
from aftersales_desk.data.models.service_clocks import WorkOrderClockEvent
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import as_utc, utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.domain.sla import (
    PauseReason,
    ServiceClock,
    Stage,
    StageState,
    StageStatus,
)
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.archive_work_orders import (
    OPEN_STATUSES,
    add_clock_event,
    open_pause_reason,
    set_waiting,
    status_label,
)
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page, keyset, page
from aftersales_desk.services.service_clocks_rules import (
    MARKED_STAGES,
    MAX_CLOCK_NOTE,
    ClockRules,
    _Brief,
    _brief,
    _Facts,
    clock_rules,
    event_label,
    replay,
)


@dataclass(frozen=True, slots=True)
class ClockRow:
    """One open work order on the clocks page: the step due next and how it stands."""

    id: uuid.UUID  # the work order's
    number: str
    customer_name: str
    plate: str
    fault: str
    assignee: str
    status: str
    opened_at: datetime
    stage: Stage | None  # the step due next; None when every step is done
    limit: timedelta | None
    deadline: datetime | None  # None while the clock is stopped
    remaining: timedelta | None  # negative when overdue
    state: StageState | None
    pause_reason: PauseReason | None  # set while paused
    paused_since: datetime | None
    open_for: timedelta
    escalate: bool  # open longer than the branch's escalation limit
    escalation_reason: str  # the latest reason given, "" when none
    late_steps: int  # steps reached after their deadline

    @property
    def paused(self) -> bool:
        return self.pause_reason is not None

    @property
    def overdue(self) -> bool:
        return self.state is StageState.OVERDUE

    @property
    def needs_reason(self) -> bool:
        return self.escalate and not self.escalation_reason

    @property
    def status_text(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True, slots=True)
class ClockEventRow:
    seq: int
    kind: str
    label: str
    reason: str
    note: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class PauseRow:
    reason: PauseReason
    start: datetime
    end: datetime | None
    by: str
    note: str


@dataclass(frozen=True, slots=True)
class ClockDetail:
    row: ClockRow
    stages: list[StageStatus]
    events: list[ClockEventRow]
    pauses: list[PauseRow]


@dataclass(frozen=True, slots=True)
class ClockSummary:
    open: int
    overdue: int
    escalated: int
    without_reason: int
    overdue_rows: list[ClockRow]  # most overdue first, at most 15
    escalated_rows: list[ClockRow]  # oldest first, at most 15


def _row(r: Any, clock: ServiceClock, rules: ClockRules, now: datetime) -> ClockRow:
    stage = limit = deadline = remaining = state = None
    reached = [(lim, clock.reached[st]) for st, lim in rules.chain if st in clock.reached]
    if not clock.closed:
        stage, limit = next(((st, lim) for st, lim in rules.chain if st not in clock.reached),
                            (None, None))  # fmt: skip
    # one pass over the clock's time: counted now and at each step reached, the next deadline
    counted, deadlines = clock.measure([now, *(t for _l, t in reached)], [limit] if limit else [])
    late = sum(1 for (lim, _t), c in zip(reached, counted[1:], strict=True) if c > lim)
    if stage is not None and limit is not None:
        deadline = deadlines[0]
        remaining = limit - counted[0]
        if remaining < timedelta():
            state = StageState.OVERDUE
        elif clock.paused:
            state = StageState.PAUSED
        else:
            state = StageState.RUNNING
    pause = clock.pauses[-1] if clock.paused else None
    open_for = clock.open_for(now)
    return ClockRow(
        r.id, r.number, r.name, r.plate or "", r.fault, r.assignee, r.status,
        as_utc(r.opened_at), stage, limit, deadline, remaining, state,
        pause.reason if pause else None, pause.start if pause else None, open_for,
        not clock.closed and open_for > rules.escalate_after,
        clock.escalations[-1][1] if clock.escalations else "", late,
    )  # fmt: skip


_OPEN = text(OPEN_ORDERS_SQL)  # literal, so that SQLite uses the partial index ix_work_orders_open

_COLUMNS = (
    WorkOrder.id,
    WorkOrder.number,
    Customer.name,
    Vehicle.plate,
    WorkOrder.fault,
    WorkOrder.assignee,
    WorkOrder.status,
    WorkOrder.opened_at,
    WorkOrder.dispatched_at,
    WorkOrder.closed_at,
)


def _query():
    return (
        select(*_COLUMNS)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .outerjoin(Vehicle, Vehicle.id == WorkOrder.vehicle_id)
    )


_EVENT_COLUMNS = (
    WorkOrderClockEvent.id,
    WorkOrderClockEvent.work_order_id,
    WorkOrderClockEvent.seq,
    WorkOrderClockEvent.kind,
    WorkOrderClockEvent.reason,
    WorkOrderClockEvent.note,
    WorkOrderClockEvent.at,
    WorkOrderClockEvent.by,
)


def _events_of(s: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """The orders' clock events in order, as plain rows (no ORM objects: lists are long)."""
    out: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        for e in s.execute(
            select(*_EVENT_COLUMNS)
            .where(WorkOrderClockEvent.work_order_id.in_(part))
            .order_by(WorkOrderClockEvent.work_order_id, WorkOrderClockEvent.seq)
        ):
            out[e.work_order_id].append(e)
    return out


def _facts(r: Any) -> _Facts:
    return _Facts(r.opened_at, r.dispatched_at, r.closed_at, r.status)


def _rows(s: Session, rules: ClockRules, found: list[Any], now: datetime) -> list[ClockRow]:
    events = _events_of(s, [r.id for r in found])
    out = []
    for r in found:
        clock = replay(_facts(r), events[r.id], rules)
        out.append(_row(r, clock, rules, now))
    return out


class ServiceClockService:
    """The service clocks of the acting user's branch."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor
        self._briefs: dict[uuid.UUID, _Brief] = {}  # see summary()
        self._rules: ClockRules | None = None

    @property
    def branch_id(self) -> uuid.UUID | None:
        return self.actor.branch_id

    # --- reading ----------------------------------------------------------------------------
    def rules(self) -> ClockRules:
        with self.db.uow(self.actor) as uow:
            return clock_rules(uow.session, self.branch_id)

    def page(
        self,
        cursor: tuple[datetime, str] | None = None,
        limit: int = 200,
        *,
        escalated_only: bool = False,
    ) -> Page[ClockRow]:
        """Open orders, oldest first (the most urgent), keyset on (opened_at, id).
        ``escalated_only``: those open longer than the escalation limit."""
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            s = uow.session
            rules = clock_rules(s, self.branch_id)
            q = _query().where(WorkOrder.branch_id == self.branch_id, _OPEN)
            if escalated_only:
                q = q.where(WorkOrder.opened_at < now - rules.escalate_after)
            after = None if cursor is None else (cursor[0], uuid.UUID(cursor[1]))
            q = keyset(q, [WorkOrder.opened_at, WorkOrder.id], after, limit)
            kept = page(list(s.execute(q)), limit, lambda r: (r.opened_at, str(r.id)))
            return Page(_rows(s, rules, kept.rows, now), kept.next_cursor)

    def get(self, work_order_id: uuid.UUID) -> ClockRow:
        return self.detail(work_order_id).row

    def detail(self, work_order_id: uuid.UUID) -> ClockDetail:
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            s = uow.session
            rules = clock_rules(s, self.branch_id)
            r = s.execute(
                _query().where(WorkOrder.id == work_order_id, WorkOrder.branch_id == self.branch_id)
            ).first()
            if r is None:
                raise RefusedError(_("This work order no longer exists."))
            events = _events_of(s, [r.id])[r.id]
            clock = replay(_facts(r), events, rules)
            row = _row(r, clock, rules, now)
            rows = [
                ClockEventRow(e.seq, e.kind, event_label(e.kind), e.reason, e.note, e.at, e.by)
                for e in events
            ]
        pauses: list[PauseRow] = []
        for e in rows:
            if e.kind == "pause":
                pauses.append(PauseRow(PauseReason(e.reason), e.at, None, e.by, e.note))
            elif e.kind == "resume" and pauses and pauses[-1].end is None:
                p = pauses[-1]
                pauses[-1] = PauseRow(p.reason, p.start, e.at, p.by, p.note)
        if pauses and pauses[-1].end is None and Stage.CLOSE in clock.reached:
            p = pauses[-1]
            pauses[-1] = PauseRow(p.reason, p.start, clock.reached[Stage.CLOSE], p.by, p.note)
        return ClockDetail(row, clock.status(now), rows, pauses)

    def summary(self) -> ClockSummary:
        """Every open order's clock as of now: how many are overdue, escalated, without a reason.

        The status bar asks every minute, over thousands of open orders. An order's deadline
        does not move while nothing happens to it, so each order's brief is kept (on this
        service object) until its status, dispatch or clock events change — or the branch's
        rules do; a minute later only the comparisons with the new time are done again."""
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            s = uow.session
            rules = clock_rules(s, self.branch_id)
            cache = self._briefs if rules == self._rules else {}
            last = (
                select(
                    WorkOrderClockEvent.work_order_id.label("wid"),
                    func.max(WorkOrderClockEvent.seq).label("seq"),
                )
                .group_by(WorkOrderClockEvent.work_order_id)
                .subquery()
            )
            found = list(
                s.execute(
                    select(
                        WorkOrder.id,
                        WorkOrder.opened_at,
                        WorkOrder.dispatched_at,
                        WorkOrder.closed_at,
                        WorkOrder.status,
                        last.c.seq,
                    )
                    .outerjoin(last, last.c.wid == WorkOrder.id)
                    .where(WorkOrder.branch_id == self.branch_id, _OPEN)
                    .order_by(WorkOrder.opened_at, WorkOrder.id)
                )
            )
            briefs: dict[uuid.UUID, _Brief] = {}
            stale = []
            for r in found:
                key = (r.status, r.dispatched_at, r.seq)
                known = cache.get(r.id)
                if known is not None and known.key == key:
                    briefs[r.id] = known
                else:
                    stale.append((r, key))
            events = _events_of(s, [r.id for r, _k in stale])
            for r, key in stale:
                briefs[r.id] = _brief(key, replay(_facts(r), events[r.id], rules), rules)
            self._briefs, self._rules = briefs, rules
            overdue = [r.id for r in found if briefs[r.id].overdue(now)]
            escalated = [r.id for r in found if now - as_utc(r.opened_at) > rules.escalate_after]
            without = sum(1 for i in escalated if not briefs[i].reason_given)
            top = sorted(overdue, key=lambda i: briefs[i].since)[:15]
            wanted = list(dict.fromkeys([*top, *escalated[:15]]))
            shown = {
                row.id: row
                for row in _rows(
                    s, rules, list(s.execute(_query().where(WorkOrder.id.in_(wanted)))), now
                )
            }
        return ClockSummary(
            len(found),
            len(overdue),
            len(escalated),
            without,
            sorted((shown[i] for i in top), key=lambda r: r.remaining or timedelta()),
            [shown[i] for i in escalated[:15]],
        )

    # --- recording --------------------------------------------------------------------------
    def _open_order(self, s: Session, work_order_id: uuid.UUID) -> WorkOrder:
        wo = s.get(WorkOrder, work_order_id)
        if wo is None or wo.branch_id != self.branch_id:
            raise RefusedError(_("This work order no longer exists."))
        if wo.status not in OPEN_STATUSES:
            raise RefusedError(
                _("Work order {number} is {status}; that cannot be done now.").format(
                    number=wo.number, status=status_label(wo.status)
                )
            )
        return wo

    def _clock(self, s: Session, wo: WorkOrder) -> ServiceClock:
        rules = clock_rules(s, self.branch_id)
        events = _events_of(s, [wo.id])[wo.id]
        return replay(
            _Facts(wo.opened_at, wo.dispatched_at, wo.closed_at, wo.status), events, rules
        )

    @staticmethod
    def _note(note: str, *, required: bool = False) -> str:
        note = note.strip()
        if required and not note:
            raise ValidationError(_("An escalation needs a reason."), field="reason")
        if len(note) > MAX_CLOCK_NOTE:
            raise ValidationError(
                _("A note is at most {n} characters.").format(n=MAX_CLOCK_NOTE), field="note"
            )
        return note

    @staticmethod
    def _check(apply) -> None:
        """Run one of the domain's checks; its refusal becomes a message for the user."""
        try:
            apply()
        except ValueError as exc:
            raise RefusedError(str(exc)) from None

    def mark(self, work_order_id: uuid.UUID, stage: Stage | str, note: str = "") -> ClockRow:
        """Record that the customer was contacted, someone was on site / gave first feedback, or
        the progress was followed up — now, by the acting user, with a note."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        stage = Stage(stage)
        if stage not in MARKED_STAGES:
            raise ValidationError(
                _("This step is not recorded here: {step}").format(step=stage.label), "stage"
            )
        note = self._note(note)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            wo = self._open_order(s, work_order_id)
            clock = self._clock(s, wo)
            self._check(lambda: clock.reach(stage, utcnow()))
            add_clock_event(s, wo, MARKED_STAGES[stage], note=note)
            uow.commit()
        return self.get(work_order_id)

    def pause(
        self, work_order_id: uuid.UUID, reason: PauseReason | str, note: str = ""
    ) -> ClockRow:
        """Stop the order's clock: waiting for parts (the order goes to 待件) or the customer is
        unavailable. Only a dispatched order pauses."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        try:
            reason = PauseReason(reason)
        except ValueError:
            raise ValidationError(
                _("Unknown reason for a pause: {value}").format(value=reason), "reason"
            ) from None
        note = self._note(note)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            wo = self._open_order(s, work_order_id)
            clock = self._clock(s, wo)
            self._check(lambda: clock.pause(utcnow(), reason))
            if wo.status != "dispatched":
                raise RefusedError(
                    _("Work order {number} is {status}; dispatch it before pausing.").format(
                        number=wo.number, status=status_label(wo.status)
                    )
                )
            if reason is PauseReason.WAITING_FOR_PARTS:
                set_waiting(s, wo, True, note)
            else:
                add_clock_event(s, wo, "pause", reason=reason.value, note=note)
            uow.commit()
        return self.get(work_order_id)

    def resume(self, work_order_id: uuid.UUID, note: str = "") -> ClockRow:
        """Start the clock again (the parts came, the customer answered)."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        note = self._note(note)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            wo = self._open_order(s, work_order_id)
            running = open_pause_reason(s, wo.id)
            if running is None:
                raise RefusedError(_("The order is not paused."))
            if running == PauseReason.WAITING_FOR_PARTS.value and wo.status == "waiting_parts":
                set_waiting(s, wo, False, note)
            else:
                add_clock_event(s, wo, "resume", reason=running, note=note)
            uow.commit()
        return self.get(work_order_id)

    def escalate(self, work_order_id: uuid.UUID, reason: str) -> ClockRow:
        """Give the reason an order stays open (orders open longer than the branch's limit need
        one); the manager sees it."""
        require(self.actor, Permission.EDIT_SCHEDULE)
        reason = self._note(reason, required=True)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            wo = self._open_order(s, work_order_id)
            add_clock_event(s, wo, "escalation", note=reason)
            uow.commit()
        return self.get(work_order_id)


# Registers the demo filler and ``ls clocks``; they need ``ServiceClockService`` above.
from aftersales_desk.services import service_clocks_exports  # noqa: E402, F401
