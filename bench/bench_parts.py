"""Parts counter benchmarks on a branch with 20,000 parts and 2,000,000 movements (built once with
bulk inserts and cached): stock list first page, posting a 20-line slip with its number, rendering
a slip PDF, the replenishment and slow-moving reports. Each figure is printed with a baseline
measured in the same run (the bare SQL or the bare library call the use case builds on)."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import cached_db, header, measure, report

N_PARTS = int(os.environ.get("BENCH_PARTS", 20_000))
N_MOVES = int(os.environ.get("BENCH_MOVES", 2_000_000))
N_BINS = 50
SEED = 4


def _hex() -> str:
    return uuid.uuid4().hex


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(path: Path) -> None:
    """A branch database at the newest schema, then parts, bins, movements and the caches written
    with executemany (the ledger's consistency is what ``check`` verifies afterwards)."""
    from aftersales_desk.services.bootstrap import initialize

    initialize(
        path, branch_code="BJ01", branch_name="基准网点", device_code="A", admin_password="bench123"
    ).dispose()
    rng = random.Random(SEED)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    branch = conn.execute("SELECT id FROM branches").fetchone()[0]
    now = datetime.now(UTC).replace(tzinfo=None)
    stamp = _ts(now)
    bins = [(_hex(), f"B{i:02d}") for i in range(N_BINS)]
    conn.executemany(
        "INSERT INTO stock_bins (id, branch_id, code, name, active, created_at, updated_at) "
        "VALUES (?, ?, ?, '', 1, ?, ?)",
        [(b, branch, code, stamp, stamp) for b, code in bins],
    )
    parts = []
    for i in range(N_PARTS):
        cost = rng.randrange(500, 50_000)
        parts.append(
            (
                _hex(),
                f"BP{i:06d}",
                f"配件{i}",
                cost,
                cost * 3 // 2,
                rng.choice([0, 2, 5, 10]),
                rng.choice([0, 20, 40]),
                bins[i % N_BINS],
            )
        )
    conn.executemany(
        "INSERT INTO parts (id, part_no, name, model_fit, unit, purchase_price, sale_price, "
        "default_bin, min_qty, max_qty, category, barcode, active, created_at, updated_at) "
        "VALUES (?, ?, ?, '', '个', ?, ?, ?, ?, ?, '', ?, 1, ?, ?)",
        [
            (pid, no, name, cost, sale, b[1], mn, mx, f"69{i:011d}", stamp, stamp)
            for i, (pid, no, name, cost, sale, mn, mx, b) in enumerate(parts)
        ],
    )
    qty = [0] * N_PARTS
    value = [0] * N_PARTS
    last_in: list[str | None] = [None] * N_PARTS
    last_out: list[str | None] = [None] * N_PARTS
    start = now - timedelta(days=730)
    step = timedelta(days=730) / N_MOVES
    # most activity on a fifth of the parts, as in a real store
    hot = max(1, N_PARTS // 5)
    batch = []
    sql = (
        "INSERT INTO stock_movements (id, branch_id, seq, at, kind, part_id, bin_id, qty, "
        "unit_cost, value, username, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', '')"
    )
    for i in range(N_MOVES):
        p = rng.randrange(hot) if rng.random() < 0.8 else rng.randrange(N_PARTS)
        pid, _no, _n, cost, _s, _mn, _mx, b = parts[p]
        at = _ts(start + step * i)
        n = rng.randrange(1, 6)
        if qty[p] < n or rng.random() < 0.3:
            n = rng.randrange(5, 30)
            v = n * cost
            kind, q = "receipt", n
            last_in[p] = at
        else:
            avg = round(value[p] / qty[p])
            q = -n
            v = -value[p] if qty[p] == n else q * avg
            kind = "issue"
            last_out[p] = at
        qty[p] += q
        value[p] += v
        unit = cost if kind == "receipt" else (round(value[p] / qty[p]) if qty[p] else cost)
        batch.append((_hex(), branch, i + 1, at, kind, pid, b[0], q, unit, v))
        if len(batch) >= 50_000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)
    conn.executemany(
        "INSERT INTO part_stock (id, branch_id, part_id, qty, value, avg_cost, last_receipt_at, "
        "last_issue_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                _hex(),
                branch,
                parts[i][0],
                qty[i],
                value[i],
                round(value[i] / qty[i]) if qty[i] > 0 else parts[i][3],
                last_in[i],
                last_out[i],
            )
            for i in range(N_PARTS)
            if last_in[i] is not None
        ],
    )
    conn.executemany(
        "INSERT INTO stock_balances (id, branch_id, part_id, bin_id, qty) VALUES (?, ?, ?, ?, ?)",
        [
            (_hex(), branch, parts[i][0], parts[i][7][0], qty[i])
            for i in range(N_PARTS)
            if last_in[i] is not None
        ],
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def main() -> bool:
    from aftersales_desk.data.migrate import head_revision
    from aftersales_desk.reports.slips import render_slip
    from aftersales_desk.reports.tables import write_table
    from aftersales_desk.services.bootstrap import local_actor, open_database
    from aftersales_desk.services.documents import DocumentService, LineInput
    from aftersales_desk.services.parts_catalog import PartsCatalog
    from aftersales_desk.services.parts_reports import (
        replenishment_report,
        slow_moving_report,
        valuation_report,
    )

    header(f"parts: {N_PARTS:,} parts, {N_MOVES:,} movements")
    name = f"parts-{head_revision()}-{N_PARTS // 1000}k-{N_MOVES // 1000}k"
    cached = cached_db(name, build)
    work = Path(tempfile.mkdtemp(prefix="bench-parts-"))
    try:
        path = work / "branch.sqlite"
        shutil.copyfile(cached, path)  # postings below must not change the shared cache
        db = open_database(path)
        actor = local_actor(db, "admin")
        ok = True

        # --- stock list, first page
        catalog = PartsCatalog(db, actor)
        raw = sqlite3.connect(path)
        base = measure(
            lambda: raw.execute(
                "SELECT p.*, s.* FROM parts p LEFT JOIN part_stock s ON s.part_id = p.id "
                "ORDER BY p.part_no LIMIT 201"
            ).fetchall(),
            repeat=30,
        )
        t = measure(lambda: catalog.page(None, 200), repeat=30)
        ok &= report(
            "stock list first page (200 rows), median",
            t.median * 1000,
            target=100,
            baseline=base.median * 1000,
            baseline_name="raw SQL page",
        )
        report("stock list first page, p95", t.p95 * 1000)
        t = measure(lambda: catalog.page(None, 200, text="配件1999"), repeat=10)
        report("stock list first page filtered by name, median", t.median * 1000, target=100)
        t = measure(lambda: catalog.find_by_code("6900000012345"), repeat=30)
        ok &= report("scan: find a part by barcode, median", t.median * 1000, target=10)

        # --- posting a 20-line slip, number included
        docs = DocumentService(db, actor)
        with db.uow(actor) as uow:
            from sqlalchemy import select

            from aftersales_desk.data.models.parts import PartStock, StockBalance

            stocked = uow.session.execute(
                select(StockBalance.part_id, StockBalance.bin_id)
                .join(PartStock, PartStock.part_id == StockBalance.part_id)
                .where(StockBalance.qty >= 20)
                .limit(400)
            ).all()
        rng = random.Random(1)
        numbers: list[str] = []

        def post() -> None:
            lines = [LineInput(p, b, 1) for p, b in rng.sample(stocked, 20)]
            numbers.append(docs.issue(lines, technician="基准"))

        def bare_insert() -> None:
            with raw:
                raw.executemany(
                    "INSERT INTO audit_log (id, at, username, action, entity, entity_id, note) "
                    "VALUES (?, '2026-01-01', 'b', 'bench', 'bench', '', '')",
                    [(_hex(),) for _ in range(20)],
                )

        base = measure(bare_insert, repeat=15)
        t = measure(post, repeat=15)
        ok &= report(
            "post a 20-line issue slip incl. its number, median",
            t.median * 1000,
            target=150,
            baseline=base.median * 1000,
            baseline_name="bare 20-row insert+commit",
        )
        report("post a 20-line issue slip, p95", t.p95 * 1000)

        # --- rendering a slip PDF
        data = docs.view(numbers[-1])
        out = work / "slip.pdf"
        from reportlab.pdfgen.canvas import Canvas

        from aftersales_desk.reports.fonts import register_pdf_font

        font = register_pdf_font()

        def empty_pdf() -> None:
            c = Canvas(str(work / "empty.pdf"), initialFontName=font)
            c.drawString(10, 10, "空")
            c.showPage()
            c.save()

        base = measure(empty_pdf, repeat=15)
        t = measure(lambda: render_slip(data, out, size="A4"), repeat=15)
        ok &= report(
            "render a 20-line slip PDF (A4), median",
            t.median * 1000,
            target=50,
            baseline=base.median * 1000,
            baseline_name="one-glyph CJK PDF",
        )
        report("render a 20-line slip PDF, p95", t.p95 * 1000)

        # --- work orders and the parts they wait for 待件工单
        ok &= _bench_work_orders(db, actor, raw, stocked, bare_insert)

        # --- reports
        as_of = datetime.now(UTC)
        base = measure(
            lambda: raw.execute(
                "SELECT COUNT(*) FROM stock_movements WHERE at >= ?",
                (_ts((as_of - timedelta(days=91)).replace(tzinfo=None)),),
            ).fetchone(),
            repeat=3,
        )
        t = measure(
            lambda: write_table(replenishment_report(db, actor, as_of), work / "r.xlsx"), repeat=3
        )
        ok &= report(
            "replenishment report → Excel (3 months of consumption), median",
            t.median * 1000,
            target=2000,
            baseline=base.median * 1000,
            baseline_name="count of the window's movements",
        )
        t = measure(
            lambda: write_table(replenishment_report(db, actor, as_of), work / "r.pdf"), repeat=3
        )
        ok &= report("replenishment report → PDF, median", t.median * 1000, target=2000)
        for ext in ("xlsx", "pdf"):
            t = measure(
                lambda ext=ext: write_table(
                    slow_moving_report(db, actor, as_of), work / f"s.{ext}"
                ),
                repeat=3,
            )
            ok &= report(f"slow-moving report → {ext}, median", t.median * 1000, target=2000)
        t = measure(lambda: valuation_report(db, actor, as_of), repeat=3)
        report("stock valuation (all parts in stock), median", t.median * 1000)
        from aftersales_desk.services.stock import check_balances

        def ledger_check() -> None:
            with db.uow(actor) as uow:
                assert check_balances(uow.session) == []

        t = measure(ledger_check, repeat=1, warmup=0)
        report("check: balances and totals against the whole ledger", t.median * 1000)
        raw.close()
        db.dispose()
        return ok
    finally:
        shutil.rmtree(work, ignore_errors=True)


N_ORDERS = 300
N_WAITS = 1500


def _bench_work_orders(db, actor, raw, stocked, bare_insert) -> bool:
    """300 open work orders, 1,500 of them waiting for parts: the 待件工单 list's first page, a
    20-line receipt that flags waits (arrivals found in the posting transaction), a 20-line issue
    slip to a work order that fulfils its 20 waits and settles its status, the parts of a work
    order with their cost."""
    from sqlalchemy import select

    from aftersales_desk.data.models.archive import Customer, WorkOrder
    from aftersales_desk.data.models.parts import Part, PartWait
    from aftersales_desk.services.documents import DocumentService, LineInput
    from aftersales_desk.services.part_waits import PartWaits

    rng = random.Random(6)
    now = datetime.now(UTC)
    with db.uow(actor, write=True) as uow:
        s = uow.session
        customer = Customer(branch_id=actor.branch_id, customer_no="B0000001", name="基准客户")
        s.add(customer)
        s.flush()
        orders = []
        for i in range(N_ORDERS):
            wo = WorkOrder(
                branch_id=actor.branch_id,
                number=f"WO{i + 1:07d}",
                customer_id=customer.id,
                fault="基准",
                assignee="基准技师",
                status="waiting_parts",
                opened_at=now - timedelta(days=rng.randrange(0, 30)),
                dispatched_at=now - timedelta(days=1),
            )
            s.add(wo)
            orders.append(wo)
        s.flush()
        all_parts = list(s.scalars(select(Part.id).order_by(Part.part_no).limit(5000)))
        # the orders an issue slip goes to below wait for 20 stocked parts each
        issue_orders = orders[:20]
        for k, wo in enumerate(issue_orders):
            for p, _b in stocked[k * 20 : k * 20 + 20]:
                s.add(
                    PartWait(
                        branch_id=actor.branch_id,
                        work_order_id=wo.id,
                        part_id=p,
                        qty=1,
                        since=now - timedelta(days=rng.randrange(1, 20)),
                        requested_by="bench",
                    )
                )
        waited = []
        for _ in range(N_WAITS - 400):
            p = rng.choice(all_parts)
            waited.append(p)
            s.add(
                PartWait(
                    branch_id=actor.branch_id,
                    work_order_id=rng.choice(orders[20:]).id,
                    part_id=p,
                    qty=rng.randrange(1, 3),
                    since=now - timedelta(days=rng.randrange(1, 60), hours=rng.randrange(24)),
                    requested_by="bench",
                )
            )
        uow.commit()
    raw.execute("ANALYZE")
    ok = True
    waits = PartWaits(db, actor)
    docs = DocumentService(db, actor)
    branch = raw.execute("SELECT id FROM branches").fetchone()[0]
    base = measure(
        lambda: raw.execute(
            "SELECT w.*, o.number FROM part_waits w JOIN work_orders o ON o.id = w.work_order_id "
            "WHERE w.branch_id = ? AND w.status IN ('waiting', 'arrived') "
            "ORDER BY w.since, w.id LIMIT 201",
            (branch,),
        ).fetchall(),
        repeat=30,
    )
    t = measure(lambda: waits.page(None, 200), repeat=30)
    ok &= report(
        f"待件工单 list first page (200 of {N_WAITS} waits), median",
        t.median * 1000,
        target=100,
        baseline=base.median * 1000,
        baseline_name="raw SQL page",
    )
    bin_of = {p: b for p, b in stocked}
    any_bin = stocked[0][1]

    unwaited = sorted(set(all_parts) - set(waited))

    def receive(pool) -> None:
        parts = rng.sample(pool, 20)
        lines = [LineInput(p, bin_of.get(p, any_bin), 2, 1000) for p in dict.fromkeys(parts)]
        docs.receive(lines, supplier="基准")

    base = measure(lambda: receive(unwaited), repeat=15)
    t = measure(lambda: receive(waited), repeat=15)
    ok &= report(
        "post a 20-line receipt that flags waiting work orders, median",
        t.median * 1000,
        target=150,
        baseline=base.median * 1000,
        baseline_name="the same receipt of parts nobody waits for",
        max_ratio=1.5,
    )
    turn = iter(issue_orders)

    def issue() -> None:
        k = issue_orders.index(wo := next(turn))
        lines = [LineInput(p, b, 1) for p, b in stocked[k * 20 : k * 20 + 20]]
        docs.issue(lines, work_order_no=wo.number)

    def plain_issue() -> None:
        docs.issue([LineInput(p, b, 1) for p, b in rng.sample(stocked, 20)], technician="基准")

    base = measure(plain_issue, repeat=15)
    t = measure(issue, repeat=15, warmup=1)
    ok &= report(
        "post a 20-line issue slip to a work order (fulfils 20 waits), median",
        t.median * 1000,
        target=150,
        baseline=base.median * 1000,
        baseline_name="a 20-line slip to a technician",
        max_ratio=2.0,
    )
    with db.uow(actor) as uow:
        statuses = {
            st
            for st in uow.session.scalars(
                select(WorkOrder.status).where(WorkOrder.id.in_([o.id for o in issue_orders[:16]]))
            )
        }
    if statuses != {"dispatched"}:
        print(f"  !! work orders whose waits were fulfilled are {statuses}, not dispatched")
        ok = False
    t = measure(lambda: waits.work_order_parts(issue_orders[0].id), repeat=30)
    ok &= report("parts of a work order with their cost, median", t.median * 1000, target=50)
    return ok


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.1f} s)")
