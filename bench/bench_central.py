"""Head-office work on central (issue 9), against a temporary PostgreSQL started here, with raw
baselines in the same run:

- ``central import parts`` of P rows (read, validate against central's catalogue, write as the
  owner, capture into the change log) vs the same rows by hand: the bare reader and one
  ``INSERT … SELECT unnest`` into central's parts, whose capture trigger logs every row as the
  desks need (target ≤ 3×); the ratio to ``COPY`` into a plain table is printed for context;
- ``central gaps`` over D stock documents in 8 device series (every 1000th number missing) vs
  the same work by hand on the one table (a window query for the holes and a ``GROUP BY``
  count; target ≤ 2×, and ≤ 2 s); the ratio to the bare count is printed for context;
- ``central compact`` over a change log of C changes vs a raw scan of the same log ordered the
  same way (target ≤ 4×).

Scale: ``BENCH_CENTRAL_PARTS`` (default 20,000), ``BENCH_CENTRAL_DOCS`` (default 500,000),
``BENCH_CENTRAL_CHANGES`` (default 200,000). Needs PostgreSQL's server binaries.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from bench.bench_sync import _url, central_cluster
from bench.common import header, measure, report

PARTS = int(os.environ.get("BENCH_CENTRAL_PARTS", "20000"))
DOCS = int(os.environ.get("BENCH_CENTRAL_DOCS", "500000"))
CHANGES = int(os.environ.get("BENCH_CENTRAL_CHANGES", "200000"))


def _workbook(path: Path, n: int) -> Path:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(["零件号", "名称", "适用车型", "单位", "进价", "售价", "默认货位", "类别", "条码"])
    for i in range(n):
        ws.append(
            [f"P{i:07d}", f"配件 {i}", "轩逸", "个", 10 + i % 90, 20 + i % 90, "A-01", "滤清器",
             f"69{i:011d}"]
        )  # fmt: skip
    wb.save(path)
    return path


def _bench_import(url: str, folder: Path) -> bool:
    import psycopg

    from aftersales_desk.services.sync.central_catalogue import import_parts
    from aftersales_desk.services.xlsx_io import load_rows

    book = _workbook(folder / "parts.xlsx", PARTS)

    def raw() -> None:
        rows = load_rows(book)[1:]
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE raw_parts AS SELECT * FROM parts WITH NO DATA")
            with cur.copy(
                "COPY raw_parts (id, part_no, name, model_fit, unit, purchase_price, "
                "sale_price, default_bin, category, barcode) FROM STDIN"
            ) as copy:
                for r in rows:
                    copy.write_row(
                        [uuid.uuid4(), r[0], r[1], r[2], r[3], int(r[4] * 100), int(r[5] * 100),
                         r[6], r[7], r[8]]
                    )  # fmt: skip

    def raw_captured() -> None:
        """The same rows by hand into central's parts (its capture trigger logs each one, as
        the desks need), in one statement; rolled back."""
        rows = load_rows(book)[1:]
        cols = list(zip(*rows, strict=True))
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO parts (id, part_no, name, model_fit, unit, purchase_price, "
                "sale_price, default_bin, category, barcode, min_qty, max_qty, active, "
                "created_at, updated_at) SELECT gen_random_uuid(), *, 0, 0, true, now(), now() "
                "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[], "
                "%s::int[], %s::text[], %s::text[], %s::text[])",
                [
                    list(cols[0]), list(cols[1]), list(cols[2]), list(cols[3]),
                    [int(v * 100) for v in cols[4]], [int(v * 100) for v in cols[5]],
                    list(cols[6]), list(cols[7]), list(cols[8]),
                ],
            )  # fmt: skip
            conn.rollback()

    base = measure(raw, repeat=3).median
    captured = measure(raw_captured, repeat=3).median
    t0 = time.perf_counter()
    result = import_parts(url, book)
    first = time.perf_counter() - t0
    assert result.created == PARTS and not result.errors, result.errors[:3]
    # again: every row is read, checked and found unchanged
    again = measure(lambda: import_parts(url, book), repeat=3, warmup=0).median
    report(
        f"central import parts, {PARTS} new rows", first * 1000,
        baseline=base * 1000, baseline_name="read + COPY into a plain table",
    )  # fmt: skip
    ok = report(
        f"central import parts, {PARTS} new rows", first * 1000,
        baseline=captured * 1000, baseline_name="read + one INSERT with capture", max_ratio=3,
    )  # fmt: skip
    ok &= report(
        f"central import parts, {PARTS} unchanged rows", again * 1000,
        baseline=captured * 1000, baseline_name="read + one INSERT with capture", max_ratio=3,
    )  # fmt: skip
    return ok


def _fill_documents(url: str) -> None:
    import psycopg

    from aftersales_desk.data import sync_capture as cap

    branch = cap.branch_uuid("BJ01")
    per = DOCS // 8
    with psycopg.connect(url) as conn:
        for d in "ABCD":
            dev = uuid.uuid4()
            conn.execute(
                "INSERT INTO devices (id, branch_id, code, name, is_local, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, false, now(), now())",
                (dev, branch, d, d),
            )
            for kind, prefix in (("issue", ""), ("receipt", "RK")):
                sid = uuid.uuid4()
                conn.execute(
                    "INSERT INTO number_series (id, branch_id, device_id, kind, prefix, last_seq) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (sid, branch, dev, kind, f"BJ01-{d}-{prefix}", per + 3),
                )
                # every 1000th number missing (set aside or not yet synced), 3 at the end
                conn.execute(
                    "INSERT INTO stock_documents (id, created_at, updated_at, branch_id, kind, "
                    "series_id, seq, number, status, posted_at, posted_by, technician, supplier, "
                    "customer_name, customer_phone, payment_method, total, note, void_reason, "
                    "voided_by, print_count) "
                    "SELECT gen_random_uuid(), now(), now(), %s, %s, %s, g, "
                    "%s || lpad(g::text, 6, '0'), 'posted', now(), 'bench', '', '', '', '', '', "
                    "0, '', '', '', 0 FROM generate_series(1, %s) g WHERE g %% 1000 <> 0",
                    (branch, kind, sid, f"BJ01-{d}-{prefix}", per),
                )


def _bench_gaps(url: str) -> bool:
    import psycopg

    from aftersales_desk.services.sync.central_documents import central_gaps

    _fill_documents(url)

    def raw_count() -> None:
        with psycopg.connect(url) as conn:
            conn.execute(
                "SELECT series_id, count(*), min(seq), max(seq) FROM stock_documents "
                "GROUP BY series_id"
            ).fetchall()

    def raw_gaps() -> None:  # the same work by hand, for the one table the rows are in
        with psycopg.connect(url) as conn:
            conn.execute(
                "SELECT series_id, prev + 1, seq - 1 FROM (SELECT series_id, seq, lag(seq, 1, 0) "
                "OVER (PARTITION BY series_id ORDER BY seq) AS prev FROM stock_documents) g "
                "WHERE seq - prev > 1"
            ).fetchall()
            conn.execute(
                "SELECT series_id, count(*), min(seq), max(seq) FROM stock_documents "
                "GROUP BY series_id"
            ).fetchall()

    count = measure(raw_count, repeat=5).median
    base = measure(raw_gaps, repeat=5).median
    report_ = central_gaps(url)
    per = DOCS // 8
    assert len(report_) == 8 and all(g.missing_count == per // 1000 + 3 for g in report_), [
        (g.count, g.missing_count) for g in report_
    ]
    got = measure(lambda: central_gaps(url), repeat=5).median
    report(
        f"central gaps, {DOCS} documents in 8 series", got * 1000,
        baseline=count * 1000, baseline_name="a bare count (no gaps found)",
    )  # fmt: skip
    return report(
        f"central gaps, {DOCS} documents in 8 series", got * 1000, target=2000,
        baseline=base * 1000, baseline_name="raw gap query + count", max_ratio=2,
    )  # fmt: skip


def _bench_compact(url: str) -> bool:
    import psycopg

    from aftersales_desk.data import sync_capture as cap
    from aftersales_desk.services.sync.central_compact import compact

    branch = cap.branch_uuid("BJ01")
    rows = CHANGES // 4
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM sync_changes")
        # per customer: an insert and three edits of the phone (two of them superseded)
        conn.execute(
            "INSERT INTO sync_changes (branch_id, tbl, pk, op, cols, hlc) "
            "SELECT %s, 'customers', md5(g::text), o.op, o.cols, "
            "lpad((1000000 + g * 4 + o.n)::text, 16, '0') || '-000000000-' || repeat('a', 32) "
            'FROM generate_series(1, %s) g, (VALUES (0, \'I\', \'{"name": "x", "phone": '
            '"1"}\'::jsonb), (1, \'U\', \'{"phone": "2"}\'), (2, \'U\', \'{"phone": "3"}\'), '
            "(3, 'U', '{\"phone\": \"4\"}')) o(n, op, cols) ORDER BY g, o.n",
            (branch, rows),
        )

    def raw() -> None:
        with psycopg.connect(url) as conn, conn.cursor(name="raw") as cur:
            cur.itersize = 5000
            cur.execute(
                "SELECT tbl, pk, seq, op, (SELECT array_agg(k) FROM jsonb_object_keys(cols) k), "
                "left(hlc, 16)::bigint FROM sync_changes ORDER BY tbl, pk, xid DESC, seq DESC"
            )
            for _row in cur:
                pass

    base = measure(raw, repeat=3).median
    t0 = time.perf_counter()
    result = compact(url, before_days=0)
    got = time.perf_counter() - t0
    assert result.removed == 2 * rows, result
    return report(
        f"central compact, {4 * rows} changes ({2 * rows} removed)", got * 1000,
        baseline=base * 1000, baseline_name="raw ordered scan", max_ratio=4,
    )  # fmt: skip


def main() -> bool:
    header(f"central: import {PARTS} parts, gaps over {DOCS} documents, compact {CHANGES}")
    ok = True
    with central_cluster("central") as (port, folder, _creds):
        url = _url(port)
        ok &= _bench_import(url, folder)
        ok &= _bench_gaps(url)
        ok &= _bench_compact(url)
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
