"""Customer archive benchmarks: search per query kind against a raw SQLite query on the same
index in the same run, the customer list's first page, a card with 200 visits, a 50k-row import.

Sizes: ``AFTERSALES_BENCH_ARCHIVE_CUSTOMERS`` (default 200000 → about 300k vehicles and 1M
visits, built once by the demo filler and cached). Baseline for each search kind: the same
SQL the service runs (FTS5 trigram MATCH, the prefix-key range for 1–2 characters, or the
(branch, customer no.) index for a whole customer no.) executed directly with ``sqlite3``,
fetching the same columns — so the ratio is the cost of the service layer (query building,
pooled connection, masking, dataclasses) over the bare index lookup.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import Timing, cached_db, header, measure, report

CUSTOMERS = int(os.environ.get("AFTERSALES_BENCH_ARCHIVE_CUSTOMERS", "200000"))
ROUNDS = int(os.environ.get("AFTERSALES_BENCH_ARCHIVE_ROUNDS", "10"))
IMPORT_ROWS = int(os.environ.get("AFTERSALES_BENCH_ARCHIVE_IMPORT_ROWS", "50000"))
# "import" runs only the 50k-row import (into a fresh database; the cached one is not opened)
ONLY = os.environ.get("AFTERSALES_BENCH_ARCHIVE_ONLY", "")
CARD_NO = "C9999999"


def _build(path: Path) -> None:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.archive import (
        ArchiveService,
        CustomerInput,
        VehicleInput,
        VisitInput,
    )
    from aftersales_desk.services.bootstrap import local_actor
    from aftersales_desk.services.demo import fill_demo

    db = fill_demo(path, customers=CUSTOMERS, seed=1)
    actor = local_actor(db, "admin")
    svc = ArchiveService(db, actor)
    cid = svc.create_customer(
        CustomerInput(name="欧阳娜娜", customer_no=CARD_NO, phone="13700001234"),
        VehicleInput(plate="京Q88888", vin="LSGPC54U7BF000016"),
    ).id
    vid = svc.card(cid).vehicles[0].id
    start = date(2010, 1, 1)
    for i in range(200):
        svc.add_visit(
            cid,
            VisitInput(
                visit_date=start + timedelta(days=20 * i),
                kind="maintenance",
                vehicle_id=vid,
                mileage_km=1000 * i,
                items="更换机油、机滤",
                parts="机油 4L",
                labour_minor=10000,
                parts_minor=20000,
            ),
        )
    db.dispose()


def _samples(path: Path, n: int = 20) -> dict[str, list[str]]:
    rng = random.Random(3)
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    total = conn.execute("SELECT max(rowid) FROM archive_search").fetchone()[0]
    picks = []
    while len(picks) < n:
        row = conn.execute(
            "SELECT c.name, c.phone, c.customer_no, v.plate, v.vin FROM archive_search s "
            "JOIN customers c ON c.id = s.customer_id JOIN vehicles v ON v.customer_id = c.id "
            "WHERE s.rowid >= ? AND c.kind = 'person' LIMIT 1",
            (rng.randrange(1, total),),
        ).fetchone()
        if row:
            picks.append(row)
    conn.close()
    from aftersales_desk.domain.archive import pinyin_keys

    out: dict[str, list[str]] = {
        "name": [p[0] for p in picks],
        "pinyin initials (2)": [pinyin_keys(p[0])[1][:2] for p in picks],
        "full pinyin": [pinyin_keys(p[0])[0] for p in picks],
        "phone, 4 middle digits": [p[1][4:8] for p in picks],
        "phone, last 4 digits": [p[1][-4:] for p in picks],
        "plate without province": [p[3][1:] for p in picks],
        "plate with province": [p[3] for p in picks],
        "VIN fragment (6)": [p[4][9:15] for p in picks],
        "customer no.": [p[2] for p in picks],
    }
    return out


def main() -> bool:
    os.environ.setdefault("AFTERSALES_DESK_HOME", tempfile.mkdtemp(prefix="asd-bench-"))
    from aftersales_desk.data.uow import Database
    from aftersales_desk.services.archive import ArchiveService
    from aftersales_desk.services.archive_search import search, search_sql
    from aftersales_desk.services.bootstrap import local_actor

    if ONLY == "import":
        header(f"archive: the {IMPORT_ROWS}-row import only")
        _load("start")
        ok = _bench_import()
        _load("end")
        return ok
    header(f"archive: {CUSTOMERS} customers")
    path = _current(cached_db(f"archive-{CUSTOMERS}", _build))
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    counts = [
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("customers", "vehicles", "visits")
    ]
    conn.close()
    print(f"data: {counts[0]} customers, {counts[1]} vehicles, {counts[2]} visits", flush=True)
    _load("start")
    db = Database(path, readonly=True)  # never upgraded or written in place
    actor = local_actor(db, "admin")
    ok = True
    raw = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)

    def raw_query(q: str) -> list:
        sql, params = search_sql(q, 50, branch=actor.branch_id)  # the service's first SQL
        import re

        names = re.findall(r":([a-z]+[0-9]*)", sql)
        return raw.execute(
            re.sub(r":([a-z]+[0-9]*)", "?", sql), [params[k] for k in names]
        ).fetchall()

    for kind, values in _samples(path).items():
        hits = sum(1 for v in values if search(db, actor, v, 50))
        for v in values:  # warm both paths' caches alike
            raw_query(v)
        # interleaved, so that both see the same machine (other processes, page cache)
        svc_samples: list[float] = []
        raw_samples: list[float] = []
        for v in values * ROUNDS:
            t0 = time.perf_counter()
            search(db, actor, v, 50)
            t1 = time.perf_counter()
            raw_query(v)
            t2 = time.perf_counter()
            svc_samples.append(t1 - t0)
            raw_samples.append(t2 - t1)
        t_svc, t_raw = Timing(svc_samples), Timing(raw_samples)
        ok &= report(
            f"search {kind} p95 ({hits}/{len(values)} found)",
            t_svc.p95 * 1000,
            target=30,
            baseline=t_raw.p95 * 1000,
            baseline_name="raw sqlite3 p95",
            max_ratio=3,
        )
        print(
            f"    median {t_svc.median * 1000:.2f} ms, raw median {t_raw.median * 1000:.2f} ms "
            f"({t_svc.median / t_raw.median:.2f}×), {len(svc_samples)} queries each",
            flush=True,
        )

    svc = ArchiveService(db, actor)
    t = measure(lambda: svc.page(None, 200), repeat=15)
    ok &= report("customer list, first page of 200 (p95)", t.p95 * 1000, target=100)
    last = svc.page(None, 200).next_cursor
    t = measure(lambda: svc.page(last, 200), repeat=15)
    ok &= report("customer list, next page of 200 (p95)", t.p95 * 1000, target=100)
    cid = svc.find_by_no(CARD_NO)
    card = svc.card(cid)
    t = measure(lambda: svc.card(cid), repeat=15)
    ok &= report(f"customer card with {len(card.visits)} visits (p95)", t.p95 * 1000, target=100)
    db.dispose()
    raw.close()
    if path.parent.name.startswith("asd-bench-copy-"):
        shutil.rmtree(path.parent, ignore_errors=True)
    ok &= _bench_import()
    _load("end")
    return ok


def _current(path: Path) -> Path:
    """The cached database itself when its schema is the newest, else an upgraded copy of it in
    a temporary folder: the cache is shared by every branch and must not be migrated in place.
    Every read of it here is immutable (no -shm or -wal file is made beside the cache)."""
    from aftersales_desk.data.migrate import current_revision, head_revision
    from aftersales_desk.data.uow import Database
    from aftersales_desk.services.bootstrap import open_database

    db = Database(path, readonly=True)
    try:
        if current_revision(db.engine) == head_revision():
            return path
    finally:
        db.dispose()
    copy = Path(tempfile.mkdtemp(prefix="asd-bench-copy-")) / path.name
    t0 = time.perf_counter()
    src, dst = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True), sqlite3.connect(copy)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    open_database(copy).dispose()
    conn = sqlite3.connect(copy)  # no WAL left beside it: it is read as immutable from here on
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    print(f"(upgraded a copy of {path.name} in {time.perf_counter() - t0:.1f} s)", flush=True)
    return copy


def _load(when: str) -> None:
    """The machine's load: on 2 shared cores, wall times follow it (CPU times are printed too)."""
    one, five, _fifteen = os.getloadavg()
    print(f"(load average at the {when}: {one:.1f} over 1 min, {five:.1f} over 5 min)", flush=True)


def _bench_import() -> bool:
    from openpyxl import Workbook

    from aftersales_desk.services.archive_files import import_customers
    from aftersales_desk.services.bootstrap import initialize, local_actor

    work = Path(tempfile.mkdtemp(prefix="asd-import-"))
    try:
        xlsx = work / "customers.xlsx"
        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(["客户档案导出"])
        ws.append(
            [
                "客户名称",
                "手机",
                "车牌号",
                "车架号",
                "品牌",
                "车型",
                "购车日期",
                "地址",
                "俱乐部会员",
            ]
        )
        from aftersales_desk.domain.archive import vin_check_digit

        for i in range(IMPORT_ROWS):
            body = f"LSGPC54U0BF{i:06d}"
            vin = body[:8] + vin_check_digit(body) + body[9:]
            ws.append(
                [
                    f"客户{i}",
                    13000000000 + i,
                    f"京A{i % 100000:05d}",
                    vin,
                    "别克",
                    "英朗",
                    f"2023/{i % 12 + 1}/{i % 28 + 1}",
                    "北京市朝阳区建国路88号",
                    "是" if i % 5 == 0 else "否",
                ]
            )
        wb.save(xlsx)
        db = initialize(
            work / "db.sqlite",
            branch_code="BJ01",
            branch_name="bench",
            device_code="A",
            admin_password="secret123",
        )
        actor = local_actor(db, "admin")
        t0, c0 = time.perf_counter(), time.process_time()
        result = import_customers(db, actor, xlsx)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        db.dispose()
        ok = report(
            f"import {IMPORT_ROWS} rows ({result.customers_added} customers added, "
            f"{result.rejected_rows} rejected)",
            seconds,
            "s",
            target=30,
        )
        print(f"    {cpu:.1f} s of CPU time in this process", flush=True)
        return ok and result.customers_added == IMPORT_ROWS
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
