"""Daily schedule: a year of occurrences for every default duty (issue 8: ≤ 50 ms), against bare
dateutil expansion of the same rules (no calendar, no moves) in the same run; the agenda opening
with 5 years of check-off history (≤ 100 ms) — the service call, and the tab from construction to
rows shown — against one unit of work reading the duty list."""

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
    return ok


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
