"""Insurance log with 100k policies (``AFTERSALES_BENCH_INSURANCE_POLICIES``, default 100000, built
once from the archive's demo customers and the insurance demo's policy series, cached):

- the renewal pipeline opens (issue 7: ≤ 100 ms): the service reads the bucket counts and the
  first page, and the pipeline page of the tab from construction to rows shown;
- the daily figures compute (≤ 100 ms): ``daily_figures`` for the newest day.

Baseline for each, in the same run: the same SQL written by hand and run with bare ``sqlite3``
on the same file (the counts and the first page's join; the month's aggregates), so the ratio is
what the service layer (SQLAlchemy, dataclasses, the unit of work) costs over the bare queries.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.common import Timing, cached_db, header, measure, report

POLICIES = int(os.environ.get("AFTERSALES_BENCH_INSURANCE_POLICIES", "100000"))


def build(path: Path) -> None:
    from sqlalchemy import insert, select

    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.data.models.archive import Vehicle
    from aftersales_desk.data.models.insurance import Insurer, OilSale, Policy
    from aftersales_desk.services.archive_demo import fill_archive
    from aftersales_desk.services.bootstrap import initialize, local_actor
    from aftersales_desk.services.demo import DemoContext
    from aftersales_desk.services.insurance import branch_today
    from aftersales_desk.services.insurance_demo import policy_rows
    from aftersales_desk.services.progress import NO_PROGRESS

    db = initialize(path, branch_code="BJ01", branch_name="北京朝阳4S店", device_code="A",
                    admin_password="bench1234")  # fmt: skip
    actor = local_actor(db, "admin")
    customers = max(50, POLICIES // 4)  # about 1.5 vehicles each, 3.2 policies a vehicle
    fill_archive(DemoContext(db, actor, random.Random(7), customers, NO_PROGRESS))
    rng = random.Random(7)
    with db.uow(actor) as uow:
        s = uow.session
        today = branch_today(s, actor.branch_id)
        vehicles = s.execute(select(Vehicle.id, Vehicle.customer_id).order_by(Vehicle.id)).all()
        insurers = [(i.id, i.code) for i in s.scalars(select(Insurer).order_by(Insurer.sort_order))]
    made, seq = 0, 0
    with db.uow(actor, write=True) as uow:
        conn = uow.session.connection()
        for i in range(0, len(vehicles), 500):
            rows = policy_rows(rng, vehicles[i : i + 500], insurers, actor.branch_id, today,
                               share=1.0, numbers_from=seq)  # fmt: skip
            rows = rows[: max(0, POLICIES - made)] if made + len(rows) > POLICIES else rows
            ids = {r["id"] for r in rows}
            for r in rows:  # a series cut short at the end: its last link points nowhere
                if r["renewed_by_id"] is not None and r["renewed_by_id"] not in ids:
                    r["renewed_by_id"], r["renewal_status"] = None, "open"
            if rows:
                conn.execute(insert(Policy.__table__), rows)
            made += len(rows)
            seq += 10 * len(rows)
            if made >= POLICIES:
                break
        now = time.time()
        oil = [
            {"id": uuid.uuid4(), "branch_id": actor.branch_id,
             "sold_on": today - timedelta(days=d % 730), "product": "美孚1号 5W-30 4L",
             "quantity": 1 + d % 3, "amount_minor": 45800 * (1 + d % 3), "customer_id": None,
             "buyer": "", "salesperson": "张丽", "note": "",
             "created_at": datetime.fromtimestamp(now),
             "updated_at": datetime.fromtimestamp(now)}
            for d in range(5000)
        ]  # fmt: skip
        conn.execute(insert(OilSale.__table__), oil)
        uow.commit()
    print(f"({made} policies for {len(vehicles)} vehicles, {len(oil)} oil sales)", flush=True)
    db.dispose()


def raw_first_page(conn: sqlite3.Connection, branch: str, today: date, limit: int) -> list:
    first, last = (today - timedelta(days=30)).isoformat(), (today + timedelta(days=90)).isoformat()
    return conn.execute(
        "SELECT p.id, p.policy_no, p.kind, coalesce(nullif(i.short_name, ''), i.name), "
        "p.customer_id, c.name, c.phone, p.vehicle_id, v.plate, p.end_date, p.premium_minor, "
        "p.renewal_status, p.renewal_note, p.quoted_minor, p.lost_reason, p.renewed_by_id "
        "FROM policies p JOIN insurers i ON i.id = p.insurer_id "
        "JOIN customers c ON c.id = p.customer_id JOIN vehicles v ON v.id = p.vehicle_id "
        "WHERE p.branch_id = ? AND p.end_date >= ? AND p.end_date <= ? "
        "AND p.renewal_status IN ('open', 'contacted', 'quoted') "
        "ORDER BY p.end_date, p.id LIMIT ?",
        (branch, first, last, limit + 1),
    ).fetchall()


def raw_pipeline(conn: sqlite3.Connection, branch: str, today: date) -> tuple:
    first, last = (today - timedelta(days=30)).isoformat(), (today + timedelta(days=90)).isoformat()
    t, d30, d60 = today.isoformat(), (today + timedelta(30)).isoformat(), (today + timedelta(60)).isoformat()  # fmt: skip
    counts = conn.execute(
        "SELECT sum(end_date < ?), sum(end_date >= ? AND end_date <= ?), "
        "sum(end_date > ? AND end_date <= ?), sum(end_date > ?) "
        "FROM policies INDEXED BY ix_policies_open_end "
        "WHERE branch_id = ? AND end_date >= ? AND end_date <= ? "
        "AND policies.renewal_status IN ('open', 'contacted', 'quoted')",
        (t, t, d30, d30, d60, d60, branch, first, last),
    ).fetchone()
    page = conn.execute(
        "SELECT p.id, p.policy_no, p.kind, coalesce(nullif(i.short_name, ''), i.name), "
        "p.customer_id, c.name, c.phone, p.vehicle_id, v.plate, p.end_date, p.premium_minor, "
        "p.renewal_status, p.renewal_note, p.quoted_minor, p.lost_reason, p.renewed_by_id "
        "FROM policies p JOIN insurers i ON i.id = p.insurer_id "
        "JOIN customers c ON c.id = p.customer_id JOIN vehicles v ON v.id = p.vehicle_id "
        "WHERE p.branch_id = ? AND p.end_date >= ? AND p.end_date <= ? "
        "AND p.renewal_status IN ('open', 'contacted', 'quoted') "
        "ORDER BY p.end_date, p.id LIMIT 201",  # ix_policies_open_end gives this order
        (branch, first, last),
    ).fetchall()
    return counts, page


def raw_figures(conn: sqlite3.Connection, branch: str, day: date) -> tuple:
    m0 = date(day.year, day.month, 1)
    m1 = date(m0.year + (m0.month == 12), m0.month % 12 + 1, 1)
    d, s = day.isoformat(), m0.isoformat()
    p = conn.execute(
        "SELECT count(*), sum(premium_minor), sum(commission_minor), sum(issued_on = ?), "
        "sum(CASE WHEN issued_on = ? THEN premium_minor ELSE 0 END), "
        "sum(CASE WHEN issued_on = ? THEN commission_minor ELSE 0 END), "
        "sum(issued_on = ? AND kind = 'compulsory'), sum(issued_on = ? AND kind = 'commercial'), "
        "sum(business = 'renewal') FROM policies "
        "WHERE branch_id = ? AND issued_on >= ? AND issued_on <= ?",
        (d, d, d, d, d, branch, s, d),
    ).fetchone()
    r = conn.execute(
        "SELECT count(*), sum(renewal_status = 'renewed'), sum(renewal_status = 'lost') "
        "FROM policies WHERE branch_id = ? AND end_date >= ? AND end_date < ?",
        (branch, s, m1.isoformat()),
    ).fetchone()
    due = conn.execute(
        "SELECT count(*) FROM policies WHERE branch_id = ? AND end_date >= ? AND end_date <= ? "
        "AND renewal_status IN ('open', 'contacted', 'quoted')",
        (branch, d, (day + timedelta(30)).isoformat()),
    ).fetchone()
    a = conn.execute(
        "SELECT count(*), sum(intake_date = ?), sum(estimate_minor) FROM accident_intakes "
        "WHERE branch_id = ? AND intake_date >= ? AND intake_date <= ?",
        (d, branch, s, d),
    ).fetchone()
    o = conn.execute(
        "SELECT sum(quantity), sum(amount_minor), sum(CASE WHEN sold_on = ? THEN quantity END), "
        "sum(CASE WHEN sold_on = ? THEN amount_minor END) FROM oil_sales "
        "WHERE branch_id = ? AND sold_on >= ? AND sold_on <= ?",
        (d, d, branch, s, d),
    ).fetchone()
    return p, r, due, a, o


def _tab_open(db, actor) -> tuple[Timing, Timing]:
    """The pipeline page from construction to its first rows shown, and to its bucket counts
    shown (read right after the rows)."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from aftersales_desk.services.insurance import InsuranceService
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.insurance.tab import PipelinePage
    from aftersales_desk.ui.tasks import Ops

    app = QApplication.instance() or QApplication([])
    ctx = AppContext(db=db, actor=actor, ops=Ops())
    svc = InsuranceService(db, actor)
    rows, counts, pages = [], [], []
    for i in range(16):
        t0 = time.perf_counter()
        page = PipelinePage(ctx, svc)  # starts its first read
        reset_at: list[float] = []
        page.model.modelReset.connect(lambda r=reset_at: r.append(time.perf_counter()))
        page.show()
        while page.today is None:  # block for events as the real loop does
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        # rows shown = the rows in the model (not whatever else the same pass of the event
        # loop handled after them) + painting them
        t_paint = time.perf_counter()
        page.view.viewport().repaint()
        rows.append(reset_at[-1] - t0 + time.perf_counter() - t_paint)
        while not page.counts:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        page.lbl_counts.repaint()
        counts.append(time.perf_counter() - t0)
        ctx.ops.wait_idle()
        app.processEvents()
        page.close()
        pages.append(page)
        if i == 0:
            rows.clear()  # warm-up
            counts.clear()
    for page in pages:
        page.deleteLater()
    ctx.ops.wait_idle()
    app.processEvents()
    return Timing(rows), Timing(counts)


def main() -> bool:
    from sqlalchemy import func, select

    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.data.models.insurance import Policy
    from aftersales_desk.services.bootstrap import local_actor, open_database
    from aftersales_desk.services.insurance import InsuranceService

    header(f"insurance log, {POLICIES} policies")
    path = cached_db(f"insurance_{POLICIES}", build)
    db = open_database(path)
    ok = True
    try:
        actor = local_actor(db, "admin")
        svc = InsuranceService(db, actor)
        today = svc.today()
        with db.uow(actor) as uow:
            n = uow.session.scalar(select(func.count()).select_from(Policy))
        print(f"({n} policies; today {today})", flush=True)
        branch = actor.branch_id.hex
        conn = sqlite3.connect(path)

        def open_pipeline():
            return svc.open_pipeline(limit=200)

        _today, _counts, first = open_pipeline()
        raw_counts, raw_page = raw_pipeline(conn, branch, today)
        assert [r.id.hex for r in first.rows] == [r[0] for r in raw_page[:200]], "not the same rows"
        assert tuple(svc.pipeline_counts(today).values()) == tuple(v or 0 for v in raw_counts)
        t_raw = measure(lambda: raw_pipeline(conn, branch, today), repeat=30)
        t_svc = measure(open_pipeline, repeat=30)
        ok &= report("renewal pipeline opens: counts + first page (median)",
                     t_svc.median * 1000, target=100, baseline=t_raw.median * 1000,
                     baseline_name="raw SQL")  # fmt: skip
        report("renewal pipeline opens: counts + first page (p95)", t_svc.p95 * 1000, target=100)
        from aftersales_desk.ui.tabs.insurance.tab import OPEN_ROWS

        t_raw_rows = measure(lambda: raw_first_page(conn, branch, today, OPEN_ROWS), repeat=30)
        t_rows, t_counts = _tab_open(db, actor)
        ok &= report(f"renewal pipeline page: built to rows shown ({OPEN_ROWS}) (median)",
                     t_rows.median * 1000, target=100, baseline=t_raw_rows.median * 1000,
                     baseline_name="raw SQL of that page")  # fmt: skip
        report("renewal pipeline page: built to rows shown (p95)", t_rows.p95 * 1000, target=100)  # fmt: skip
        report("renewal pipeline page: built to bucket counts shown (median)",
               t_counts.median * 1000, baseline=t_raw.median * 1000,
               baseline_name="raw SQL")  # fmt: skip

        day = today
        f = svc.daily_figures(day)
        p, _r, _due, _a, o = raw_figures(conn, branch, day)
        assert (f.policies_month, f.premium_month) == (p[0], p[1] or 0), "not the same figures"
        assert f.oil_amount_month == (o[1] or 0)
        t_raw_f = measure(lambda: raw_figures(conn, branch, day), repeat=30)
        t_f = measure(lambda: svc.daily_figures(day), repeat=30)
        ok &= report(f"daily figures ({f.policies_month} policies this month) (median)",
                     t_f.median * 1000, target=100, baseline=t_raw_f.median * 1000,
                     baseline_name="raw SQL")  # fmt: skip
        report("daily figures (p95)", t_f.p95 * 1000, target=100)
        conn.close()
    finally:
        db.dispose()
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
