"""Work-order service clocks outside the window: the demo's clocks on the demo's open orders and
``ls clocks``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.data.models.service_clocks import WorkOrderClockEvent
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import as_utc, utcnow
from aftersales_desk.domain.sla import (
    PauseReason,
)
from aftersales_desk.services import demo, listing
from aftersales_desk.services.archive_work_orders import (
    OPEN_STATUSES,
)
from aftersales_desk.services.service_clocks import ServiceClockService


def _fmt_delta(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


# --- demo: the open work orders' clocks as a busy front desk leaves them -----------------------
@demo.register
def _demo_clocks(ctx: demo.DemoContext) -> None:
    notes = {
        "contacted": ("已电话联系用户，约定上门时间", "用户要求下午到店", "已短信通知用户"),
        "on_site": ("技师已上门检测", "已到店初检，反馈用户", "已远程指导，待上门"),
        "follow_up": (
            "已回访维修进度",
            "向用户说明配件到货时间",
        ),
    }
    PARTS = PauseReason.WAITING_FOR_PARTS.value
    reasons = ("厂家配件缺货，已报区域经理", "用户出差，约下周上门", "疑难故障，等待厂家技术支持")
    with ctx.db.uow(ctx.actor, write=True) as uow:
        s = uow.session
        orders = list(
            s.scalars(
                select(WorkOrder)
                .where(
                    WorkOrder.branch_id == ctx.actor.branch_id,
                    WorkOrder.status.in_(OPEN_STATUSES),
                )
                .order_by(WorkOrder.number)
            )
        )
        have = set(s.scalars(select(WorkOrderClockEvent.work_order_id).distinct()))
        now = utcnow()
        for wo in orders:
            if wo.id in have or wo.dispatched_at is None:
                continue
            t = as_utc(wo.dispatched_at)
            events: list[tuple[str, datetime, str, str]] = []
            for kind, after in (("contacted", 50), ("on_site", 60 * 20), ("follow_up", 60 * 40)):
                t = t + timedelta(minutes=ctx.rng.randint(after // 2, after * 3 // 2))
                if t >= now or ctx.rng.random() < 0.3:
                    break
                events.append((kind, t, "", ctx.rng.choice(notes[kind])))
            last = max([as_utc(wo.dispatched_at), *(e[1] for e in events)])
            if wo.status == "waiting_parts":
                events.append(("pause", min(now, last + timedelta(minutes=30)), PARTS, ""))
            if now - as_utc(wo.opened_at) > timedelta(days=3) and ctx.rng.random() < 0.6:
                events.append(("escalation", now, "", ctx.rng.choice(reasons)))
            for seq, (kind, when, reason, note) in enumerate(events, 1):
                s.add(
                    WorkOrderClockEvent(
                        branch_id=wo.branch_id, work_order_id=wo.id, seq=seq, kind=kind,
                        reason=reason, note=note, at=when, by_id=ctx.actor.user_id,
                        by=ctx.actor.display_name or ctx.actor.username,
                    )
                )  # fmt: skip
        uow.commit()


# --- ls clocks ------------------------------------------------------------------------------------
@listing.register("clocks")
def _ls_clocks(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    svc = ServiceClockService(db, actor)
    escalated = filters.get("escalated", "").lower() in ("1", "true", "yes")
    overdue = filters.get("overdue", "").lower() in ("1", "true", "yes")
    cursor = None
    while True:
        page = svc.page(cursor, 500, escalated_only=escalated)
        for r in page.rows:
            if overdue and not r.overdue:
                continue
            yield {
                "work_order_id": str(r.id),
                "number": r.number,
                "customer": r.customer_name,
                "plate": r.plate,
                "status": r.status,
                "opened_at": listing.iso(r.opened_at),
                "step": r.stage.value if r.stage else None,
                "deadline": listing.iso(r.deadline),
                "minutes_left": _fmt_delta(r.remaining),
                "state": r.state.value if r.state else None,
                "paused": r.pause_reason.value if r.pause_reason else None,
                "escalate": r.escalate,
                "escalation_reason": r.escalation_reason,
            }
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
