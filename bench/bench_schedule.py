"""Daily schedule: a year of occurrences for every default duty (issue 8: ≤ 50 ms), against bare
dateutil expansion of the same rules (no calendar, no moves) in the same run; the agenda opening
with 5 years of check-off history (≤ 100 ms) — the service call, and the tab from construction to
rows shown — against one unit of work reading the duty list; the service clocks page opening with
5k open work orders counted in working hours (≤ 100 ms to rows shown) against the raw SQL reading
the same first page of orders and their clock events, and the status bar's count over all of them
(off the UI thread)."""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import cached_db, header, measure, report

YEARS = int(os.environ.get("BENCH_SCHEDULE_YEARS", "5"))
ORDERS = int(os.environ.get("BENCH_CLOCKS_ORDERS", "5000"))
TZ = ZoneInfo("Asia/Shanghai")


def build(path: Path) -> None:
    from sqlalchemy import insert

    from aftersales_desk.data.models import DutyCheckoff
    from aftersales_desk.services.bootstrap import initialize, local_actor
    from aftersales_desk.services.schedule import ScheduleService

    db = initialize(path, branch_code="BJ01", branch_name="北京朝阳4S店", device_code="A",
                    admin_password="bench1234")  # fmt: skip
    actor = local_actor(db, "admin")
    svc = ScheduleService(db, actor)
    svc.install_defaults()
    today = svc.today()
    duties = {d.code: d for d in svc.duties()}
    for back in range(0, 365 * YEARS, 91):  # a campaign a quarter
        svc.add_event(duties["E-CAMPAIGN"].id, "季度活动", today - timedelta(days=back + 5))
    rng = random.Random(5)
    now = datetime.now(UTC)
    rows = []
    for d, o in svc.occurrences(today - timedelta(days=365 * YEARS), today):
        if o.due_at >= now or rng.random() < 0.03:
            continue
        rows.append({
            "id": uuid.uuid4(), "branch_id": actor.branch_id, "duty_id": d.id,
            "nominal_on": o.nominal, "due_at": o.due_at,
            "done_at": o.due_at - timedelta(minutes=rng.randint(-120, 300)),
            "done_by_id": None, "done_by": rng.choice(["张丽", "刘洋"]), "note": "已完成",
            "attachment_sha256": None, "attachment_name": "", "attachment_size": 0,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
    with db.uow(actor, write=True) as uow:
        uow.session.execute(insert(DutyCheckoff), rows)
        uow.commit()
    print(f"({len(rows)} check-offs over {YEARS} years)", flush=True)
    db.dispose()


def main() -> bool:
    from dateutil.rrule import rrulestr

    from aftersales_desk.data.migrate import head_revision
    from aftersales_desk.domain.recurrence import DutyRule, occurrences
    from aftersales_desk.domain.workcal import WorkCalendar
    from aftersales_desk.services.bootstrap import local_actor, open_database
    from aftersales_desk.services.schedule import DEFAULT_DUTIES, ScheduleService

    header("daily schedule")
    ok = True
    # --- a year of occurrences -------------------------------------------------------------------
    start, end = date(2026, 1, 1), date(2027, 1, 1)
    events = tuple(date(2026, m, 28) for m in (3, 6, 9, 12))
    cal = WorkCalendar({date(2026, 12, 4): False})
    rules = [DutyRule(d.rrule, d.dtstart, d.due_time, d.shift, d.offset_days, events)
             for d in DEFAULT_DUTIES]  # fmt: skip

    def program() -> int:
        return sum(len(occurrences(r, cal, start, end, TZ)) for r in rules)

    def bare() -> int:
        lo, hi = datetime(2026, 1, 1), datetime(2026, 12, 31, 23, 59)
        return sum(
            len(rrulestr(d.rrule, dtstart=datetime(2020, 1, 1)).between(lo, hi, inc=True))
            for d in DEFAULT_DUTIES
            if d.rrule
        )

    n = program()
    t_bare = measure(bare, repeat=30)
    t_prog = measure(program, repeat=30)
    print(f"{len(rules)} duties, {n} occurrences in 2026", flush=True)
    ok &= report("a year of occurrences, all duties (median)", t_prog.median * 1000, target=50,
                 baseline=t_bare.median * 1000, baseline_name="bare dateutil")  # fmt: skip
    report("a year of occurrences, all duties (p95)", t_prog.p95 * 1000, target=50)
    # --- agenda with 5 years of history ------------------------------------------------------------
    path = cached_db(f"schedule-{head_revision()}-{YEARS}y", build)
    db = open_database(path)
    try:
        actor = local_actor(db, "admin")
        svc = ScheduleService(db, actor)

        def duty_list() -> int:
            from sqlalchemy import select

            from aftersales_desk.data.models import Duty

            with db.uow(actor) as uow:
                return len(list(uow.session.execute(select(Duty.id, Duty.code, Duty.rrule))))

        t_base = measure(duty_list, repeat=30)
        t_agenda = measure(lambda: svc.agenda(), repeat=30)
        ok &= report(f"agenda service call, {YEARS} years of history (median)", t_agenda.median * 1000,
                     target=100, baseline=t_base.median * 1000, baseline_name="read duty list")  # fmt: skip
        report(
            f"agenda service call, {YEARS} years of history (p95)", t_agenda.p95 * 1000, target=100
        )
        t_month = measure(lambda: svc.month(date(2025, 1, 1), date(2025, 2, 1)), repeat=15)
        report("a month of duties with done/late (report data, median)", t_month.median * 1000)
        t_tab = _tab_open(db, actor)
        ok &= report("agenda tab opens with rows shown (median)", t_tab.median * 1000, target=100,
                     baseline=t_base.median * 1000, baseline_name="read duty list")  # fmt: skip
        report("agenda tab opens with rows shown (p95)", t_tab.p95 * 1000, target=100)
    finally:
        db.dispose()
    ok &= _clocks()
    return ok


def build_clocks(path: Path) -> None:
    """``ORDERS`` open work orders opened over the last ten days, dispatched, most contacted,
    some on site, a fifth waiting for parts; the branch counts clocks in opening hours."""
    from sqlalchemy import insert

    from aftersales_desk.data.models import WorkOrderClockEvent
    from aftersales_desk.data.models.archive import WorkOrder
    from aftersales_desk.services.archive import ArchiveService, CustomerInput
    from aftersales_desk.services.bootstrap import initialize, local_actor
    from aftersales_desk.services.settings import SettingsService

    db = initialize(path, branch_code="BJ01", branch_name="北京朝阳4S店", device_code="A",
                    admin_password="bench1234")  # fmt: skip
    actor = local_actor(db, "admin")
    SettingsService(db, actor).update({"schedule_sla_working_hours": True})
    archive = ArchiveService(db, actor)
    customers = [
        archive.create_customer(CustomerInput(name=f"客户{i:03d}", phone=f"1390000{i:04d}")).id
        for i in range(60)
    ]
    rng = random.Random(8)
    now = datetime.now(UTC)
    orders, events = [], []
    for i in range(ORDERS):
        opened = now - timedelta(minutes=rng.randint(10, 10 * 24 * 60))
        dispatched = opened + timedelta(minutes=rng.randint(5, 50))
        waiting = rng.random() < 0.2 and dispatched < now
        wid = uuid.uuid4()
        orders.append({
            "id": wid, "branch_id": actor.branch_id, "number": f"WO{i + 1:07d}",
            "customer_id": customers[i % len(customers)], "vehicle_id": None, "kind": "repair",
            "fault": "空调不制冷", "advisor": "刘洋", "assignee": "王师傅",
            "assignee_is_provider": False, "mileage_km": 0,
            "status": "waiting_parts" if waiting else "dispatched", "opened_at": opened,
            "dispatched_at": dispatched, "closed_at": None, "cancel_reason": "",
            "created_at": now, "updated_at": now,
        })  # fmt: skip
        t, seq = dispatched, 0
        for kind, minutes in (("contacted", 90), ("on_site", 20 * 60)):
            t = t + timedelta(minutes=rng.randint(minutes // 3, minutes))
            if t >= now or rng.random() < 0.25:
                break
            seq += 1
            events.append((wid, seq, kind, "", t))
        if waiting:
            seq += 1
            events.append(
                (wid, seq, "pause", "waiting_for_parts", min(now, t + timedelta(hours=1)))
            )
    rows = [
        {"id": uuid.uuid4(), "branch_id": actor.branch_id, "work_order_id": wid, "seq": seq,
         "kind": kind, "reason": reason, "note": "", "at": at, "by_id": None, "by": "张丽",
         "created_at": now, "updated_at": now}
        for wid, seq, kind, reason, at in events
    ]  # fmt: skip
    with db.uow(actor, write=True) as uow:
        uow.session.execute(insert(WorkOrder), orders)
        uow.session.execute(insert(WorkOrderClockEvent), rows)
        uow.commit()
    print(f"({ORDERS} open work orders, {len(rows)} clock events)", flush=True)
    db.dispose()


def _clocks() -> bool:
    from sqlalchemy import select, text

    from aftersales_desk.data.migrate import head_revision
    from aftersales_desk.data.models import WorkOrderClockEvent
    from aftersales_desk.data.models.archive import OPEN_ORDERS_SQL, Customer, WorkOrder
    from aftersales_desk.services.bootstrap import local_actor, open_database
    from aftersales_desk.services.service_clocks import ServiceClockService
    from aftersales_desk.ui.tabs.schedule.clocks import PAGE_SIZE

    ok = True
    path = cached_db(f"clocks-{head_revision()}-{ORDERS}", build_clocks)
    db = open_database(path)
    try:
        actor = local_actor(db, "admin")
        svc = ServiceClockService(db, actor)

        def raw_page() -> int:
            with db.uow(actor) as uow:
                s = uow.session
                found = list(
                    s.execute(
                        select(WorkOrder.id, WorkOrder.number, Customer.name, WorkOrder.opened_at)
                        .join(Customer, Customer.id == WorkOrder.customer_id)
                        .where(WorkOrder.branch_id == actor.branch_id, text(OPEN_ORDERS_SQL))
                        .order_by(WorkOrder.opened_at, WorkOrder.id)
                        .limit(PAGE_SIZE + 1)
                    )
                )
                ids = [r.id for r in found]
                return len(
                    list(
                        s.execute(
                            select(WorkOrderClockEvent.kind, WorkOrderClockEvent.at).where(
                                WorkOrderClockEvent.work_order_id.in_(ids)
                            )
                        )
                    )
                )

        t_raw = measure(raw_page, repeat=20)
        t_page = measure(lambda: svc.page(None, PAGE_SIZE), repeat=20)
        ok &= report(f"clocks: first page of {PAGE_SIZE}, {ORDERS} open orders (median)",
                     t_page.median * 1000, target=100, baseline=t_raw.median * 1000,
                     baseline_name="raw SQL, same rows")  # fmt: skip
        t_open = _clocks_open(db, actor)
        ok &= report("clocks page opens with rows shown (median)", t_open.median * 1000,
                     target=100, baseline=t_raw.median * 1000,
                     baseline_name="raw SQL, same rows")  # fmt: skip
        report("clocks page opens with rows shown (p95)", t_open.p95 * 1000, target=100)
        cold = ServiceClockService(db, actor)
        t0 = time.perf_counter()
        cold.summary()
        t_cold = time.perf_counter() - t0
        report(f"clocks: overdue count over all {ORDERS}, first (status bar, off the UI thread)",
               t_cold * 1000, baseline=t_raw.median * 1000,
               baseline_name="raw SQL, first page")  # fmt: skip
        t_warm = measure(cold.summary, repeat=5, warmup=0)
        report(f"clocks: overdue count over all {ORDERS}, each minute after (median)",
               t_warm.median * 1000, baseline=t_raw.median * 1000,
               baseline_name="raw SQL, first page")  # fmt: skip
    finally:
        db.dispose()
    return ok


def _clocks_open(db, actor):
    from PySide6.QtWidgets import QApplication

    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.schedule.clocks import ClocksPage
    from aftersales_desk.ui.tasks import Ops

    app = QApplication.instance() or QApplication([])
    ctx = AppContext(db=db, actor=actor, ops=Ops())
    samples, pages = [], []
    for i in range(16):
        t0 = time.perf_counter()
        page = ClocksPage(ctx)
        page.show()
        page.refresh()  # the first page is read here, on the UI thread; the counts go off it
        app.processEvents()
        assert page.model.rowCount() > 0
        samples.append(time.perf_counter() - t0)
        page.summary_timer.stop()
        page._count()  # the counts over every order, off the UI thread: done before the next
        ctx.ops.wait_idle()
        app.processEvents()
        page.timer.stop()
        page.close()
        pages.append(page)
        if i == 0:
            samples.clear()  # warm-up
    ctx.ops.wait_idle()
    app.processEvents()
    for page in pages:
        page.deleteLater()
    app.processEvents()
    from bench.common import Timing

    return Timing(samples)


def _tab_open(db, actor):
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.schedule.tab import ScheduleTab
    from aftersales_desk.ui.tasks import Ops

    app = QApplication.instance() or QApplication([])
    ctx = AppContext(db=db, actor=actor, ops=Ops())
    samples, tabs = [], []
    for i in range(16):
        t0 = time.perf_counter()
        tab = ScheduleTab(ctx)
        tab.show()
        while tab.agenda.agenda is None:  # block for events as the real loop does (no spinning)
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        samples.append(time.perf_counter() - t0)
        ctx.ops.wait_idle()
        app.processEvents()
        tab.close()
        tabs.append(tab)  # kept until the end: no widget is destroyed under a queued result
        if i == 0:
            samples.clear()  # warm-up
    for tab in tabs:
        tab.deleteLater()
    ctx.ops.wait_idle()
    app.processEvents()
    from bench.common import Timing

    return Timing(samples)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
