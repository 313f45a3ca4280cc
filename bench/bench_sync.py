"""Sync (issue 9), against a temporary PostgreSQL started here and raw baselines in the same run:

- capture triggers: a committed write as the program saves (a customer inserted, then changed,
  each in its own transaction) with capture vs the same without triggers (target ≤ 2.5×); for the
  record, rows written in bulk inside one transaction, with the floors of any per-row trigger;
- first download of N changes to a new desk, rows/s, vs ``COPY (SELECT …) TO STDOUT`` of the same
  rows (target ≥ 25 % of COPY and ≥ 50k rows/s into SQLite);
- push of M captured changes, rows/s, vs ``COPY … FROM STDIN`` of the same rows into a table
  (target ≥ 30 % of COPY);
- a sync with nothing to do (≤ 100 ms), with a 10k-row and an N-row change log (no slower).

Scale: ``BENCH_SYNC_ROWS`` (default 1,000,000) and ``BENCH_SYNC_PUSH`` (default 100,000).
Needs PostgreSQL's server binaries (Debian: /usr/lib/postgresql/*/bin).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import header, measure, report

ROWS = int(os.environ.get("BENCH_SYNC_ROWS", "1000000"))
DOWNLOAD = os.environ.get("BENCH_SYNC_DOWNLOAD", "1") != "0"  # 0: skip the (long) download
PUSH = int(os.environ.get("BENCH_SYNC_PUSH", "100000"))
PW = "bench-pw"


def _start_cluster(root: Path) -> tuple[int, list[str], Path]:
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    data = root / "data"
    (root / "pw").write_text(PW + "\n")
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile",
         str(root / "pw"), "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
         "--locale=C", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    opts = f"-F -p {port} -k {root} -c listen_addresses=127.0.0.1 -c synchronous_commit=off"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
         str(root / "log"), "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    return port, [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], data


def _url(port: int, user: str = "postgres", pw: str = PW, db: str = "bench") -> str:
    return f"postgresql://{user}:{pw}@127.0.0.1:{port}/{db}?sslmode=disable"


@contextlib.contextmanager
def central_cluster(name: str) -> Iterator[tuple[int, Path, Any]]:
    """A throwaway PostgreSQL with a central database ``bench`` set up (``central init``) and
    branch BJ01 added; yields its port, a scratch folder and BJ01's credentials, and removes
    all of it afterwards."""
    import psycopg

    from aftersales_desk.services.sync import central

    root = Path(tempfile.mkdtemp(prefix="asd-bench-pg-"))
    folder = Path(tempfile.mkdtemp(prefix=f"asd-bench-{name}-"))
    port, stop, _data = _start_cluster(root)
    try:
        with psycopg.connect(_url(port, db="postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        central.init(_url(port))
        yield port, folder, central.add_branch(_url(port), "BJ01")
    finally:
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def _desk(folder: Path, name: str) -> Path:
    from aftersales_desk.services.bootstrap import initialize

    path = folder / f"{name}.sqlite"
    initialize(path, branch_code="BJ01", branch_name="北京朝阳4S店", device_code=name,
               admin_password="bench1234").dispose()  # fmt: skip
    return path


_CUSTOMER_INSERT = (
    "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, address, "
    "region, id_number, club_member, vip, consent_call, notes, created_at, updated_at) VALUES "
    "(?, ?, ?, '张三', 'person', '13800000000', '', '北京', '', '', 0, 0, 1, '', "
    "'2026-11-23 08:00:00.000000', '2026-11-23 08:00:00.000000')"
)


def _app_connection(path: Path) -> sqlite3.Connection:
    """A connection set up as the program's engine sets up its own (``data/engine.py``)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = FULL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _bench_capture(folder: Path) -> bool:
    """Two figures, CPU time of this process (the work is in-process SQLite; the machine is
    shared): a write as the program makes it — one customer saved in its own transaction, then
    changed in its own transaction (the target) — and, for the record, 5,000 rows inserted and
    updated inside ONE transaction by a bare ``executemany``, where nothing but the row itself is
    paid for and any per-row trigger shows most (with the floors: a trigger that does nothing,
    and one that writes an outbox row without values or stamp)."""
    from aftersales_desk.data import sync_capture as cap

    with_t = _desk(folder, "CAP")
    without = folder / "nocap.sqlite"
    shutil.copy(with_t, without)
    # closed (not only committed) before a copy is taken: WAL databases, the copy must not miss
    # what is still in the -wal file
    with contextlib.closing(sqlite3.connect(without, isolation_level=None)) as conn:
        cap.drop_capture(conn)
    branch = cap.branch_uuid("BJ01").hex

    def saves(path: Path, m: int = 400) -> float:
        """CPU µs per committed write: m inserts and m updates, one transaction each."""
        ids = [uuid.uuid4().hex for _ in range(m)]
        with contextlib.closing(_app_connection(path)) as conn:
            t0 = time.process_time()
            for i in ids:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(_CUSTOMER_INSERT, (i, branch, "S" + i[:12]))
                conn.execute("COMMIT")
            for i in ids:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE customers SET phone = '13900000000' WHERE id = ?", (i,))
                conn.execute("COMMIT")
            spent = time.process_time() - t0
            conn.execute("BEGIN IMMEDIATE")  # the same database every round
            conn.execute("DELETE FROM sync_outbox")
            conn.execute("DELETE FROM customers WHERE customer_no LIKE 'S%'")
            conn.execute("COMMIT")
        return spent / (2 * m) * 1e6

    def bulk(path: Path, n: int = 5000) -> float:
        """CPU ms of n inserts and n updates in one transaction (rolled back)."""
        with contextlib.closing(_app_connection(path)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            ids = [uuid.uuid4().hex for _ in range(n)]
            t0 = time.process_time()
            conn.executemany(_CUSTOMER_INSERT, [(i, branch, "B" + i[:12]) for i in ids])
            conn.executemany(
                "UPDATE customers SET phone = '13900000000' WHERE id = ?", [(i,) for i in ids]
            )
            spent = time.process_time() - t0
            conn.execute("ROLLBACK")
        return spent * 1000

    def median(fn, path: Path, rounds: int = 7) -> float:
        fn(path)
        return statistics.median(fn(path) for _ in range(rounds))

    def with_triggers(name: str, insert_body: str, update_body: str) -> Path:
        path = folder / f"{name}.sqlite"
        shutil.copy(without, path)
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute(
                f"CREATE TRIGGER bench_i AFTER INSERT ON customers BEGIN {insert_body}; END"
            )
            conn.execute(
                f"CREATE TRIGGER bench_u AFTER UPDATE ON customers BEGIN {update_body}; END"
            )
        return path

    # interleaved rounds, so that a change of the machine's load hits both alike
    plain_s, captured_s = [], []
    for _ in range(5):
        plain_s.append(median(saves, without, 1))
        captured_s.append(median(saves, with_t, 1))
    ok = report(
        "capture: a committed write as the program saves (insert or update of a customer)",
        statistics.median(captured_s), "µs CPU", baseline=statistics.median(plain_s),
        baseline_name="no triggers", max_ratio=2.5,
    )  # fmt: skip
    plain = median(bulk, without)
    captured = median(bulk, with_t)
    empty = median(bulk, with_triggers("empty", "SELECT 1", "SELECT 1"))
    outbox_only = (
        "INSERT INTO sync_outbox (tbl, pk, op, hlc) VALUES ('customers', NEW.id, '{}', '')"
    )
    bare = median(bulk, with_triggers("bare", outbox_only.format("I"), outbox_only.format("U")))
    print(
        f"   (for the record, 5,000 rows inserted and updated in ONE transaction by a bare "
        f"executemany: plain {plain:.0f} ms CPU, captured {captured:.0f} ms = "
        f"{captured / plain:.2f}×; floors of any per-row trigger there: one that does nothing "
        f"{empty / plain:.2f}×, one that writes an outbox row with no values nor stamp "
        f"{bare / plain:.2f}×)",
        flush=True,
    )
    return ok


def _fill_log(url: str, branch: uuid.UUID, rows: int) -> None:
    """``rows`` audit-log entries of branch BJ01 on central, in the table and in the change log,
    as pushes would have left them. The audit log is the biggest table a branch has; customers
    would add the archive's pinyin indexing (~1 ms a customer), which is the archive's cost."""
    import psycopg

    with psycopg.connect(url) as conn:
        start = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        conn.execute(
            "INSERT INTO audit_log (id, branch_id, at, device_id, user_id, username, action, "
            "entity, entity_id, before, after, note) SELECT md5(g::text)::uuid, %s::uuid, "
            "timestamptz '2026-11-23 08:00:00+00', NULL, NULL, 'admin', 'update', 'customers', "
            'md5((g + 1)::text), \'{"phone": "13800000000"}\', '
            "'{\"phone\": \"13900000000\"}', '' "
            "FROM generate_series(%s::int + 1, %s::int) g",
            (branch, start, start + rows),
        )
        conn.execute(
            "INSERT INTO sync_changes (branch_id, tbl, pk, op, cols, hlc, device_id, batch_no) "
            "SELECT %s::uuid, 'audit_log', md5(g::text), 'I', jsonb_build_object("
            "'id', md5(g::text), 'branch_id', %s::text, 'at', '2026-11-23 08:00:00.000000', "
            "'device_id', NULL, 'user_id', NULL, 'username', 'admin', 'action', 'update', "
            "'entity', 'customers', 'entity_id', md5((g + 1)::text), "
            "'before', '{\"phone\": \"13800000000\"}', "
            "'after', '{\"phone\": \"13900000000\"}', 'note', ''), "
            "lpad(g::text, 16, '0') || '-000000000-' || repeat('d', 32), repeat('d', 32), g "
            "FROM generate_series(%s::int + 1, %s::int) g",
            (branch, branch.hex, start, start + rows),
        )


def _copy_out_rate(login_url: str) -> tuple[float, int]:
    """Raw ``COPY … TO STDOUT`` of every row the branch may read, table by table, as the
    branch's login (the same rows the first download moves), received and counted but not
    parsed, rows/s."""
    import psycopg

    from aftersales_desk.data import sync_capture as cap

    with psycopg.connect(login_url) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        n = 0
        for t in cap.synced_tables():
            with cur.copy(f'COPY (SELECT * FROM "{t.name}") TO STDOUT') as copy:
                for block in copy:  # the raw stream, not even parsed into rows
                    n += bytes(block).count(b"\n")
        return n / (time.perf_counter() - t0), n


def _bench_download(folder: Path, port: int, login_url: str) -> bool:
    import psycopg

    from aftersales_desk.data import sync_capture as cap
    from aftersales_desk.services.sync import client

    url = _url(port)
    branch = cap.branch_uuid("BJ01")
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    _fill_log(url, branch, ROWS - have)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    # the baseline varies from run to run (240k–400k rows/s on the shared machine): three
    # measurements, the median used, all printed
    copies = [_copy_out_rate(login_url) for _ in range(3)]
    copy_rate, copied = statistics.median(r for r, _ in copies), copies[0][1]
    path = folder / "new.sqlite"
    t0 = time.perf_counter()
    db, result = client.join(path, login_url, device_code="N")
    elapsed = time.perf_counter() - t0
    rate = result.pulled / elapsed
    ok = report(
        f"first download: {result.pulled} rows into a new desk", rate, "rows/s",
        target=50_000, higher_is_better=True,
    )  # fmt: skip
    ok &= report(
        "first download vs COPY TO of the same rows (≥ 0.25)", rate / copy_rate, "× COPY",
        target=0.25, higher_is_better=True,
    )  # fmt: skip
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"   (COPY TO of the branch's {copied} rows: {copy_rate:,.0f} rows/s, the median of "
        f"{', '.join(f'{r:,.0f}' for r, _ in copies)}; download "
        f"{elapsed:.1f} s, including creating the new database; load average {load})",
        flush=True,
    )
    db.dispose()
    return ok


def _bench_noop(desk: Path, login_url: str, label: str) -> float:
    from aftersales_desk.data.uow import Database
    from aftersales_desk.services.bootstrap import local_actor
    from aftersales_desk.services.sync import central, client

    db = Database(desk)
    actor = local_actor(db)
    conn = central.connect(login_url)
    # a desk that is in step with central: its cursor at the end of the log (pulling the
    # synthetic rows is what the download figure measures)
    with conn.cursor() as cur:
        cur.execute("SELECT xid::text, seq FROM sync_changes ORDER BY xid DESC, seq DESC LIMIT 1")
        xid, seq = cur.fetchone()
    conn.commit()
    with db.uow(write=True) as uow:
        client._raw(uow).execute(
            "UPDATE sync_state SET cursor_xid = ?, cursor_seq = ? WHERE id = 1", (xid, seq)
        )
        uow.commit()
    client.sync(db, actor, login_url, connection=conn)  # push what is waiting
    t = measure(lambda: client.sync(db, actor, login_url, connection=conn), repeat=31)
    conn.close()
    db.dispose()
    ms = t.median * 1000
    report(f"sync with nothing to do, {label}", ms, target=100)
    return ms


def _bench_push(folder: Path, port: int, login_url: str) -> bool:
    import psycopg

    from aftersales_desk.data import sync_capture as cap
    from aftersales_desk.data.uow import Database
    from aftersales_desk.services.sync import central, client

    desk = _desk(folder, "P")
    branch = cap.branch_uuid("BJ01").hex
    with sqlite3.connect(desk) as conn:  # PUSH captured inserts (ledger-free customers)
        conn.executemany(
            "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, "
            "address, region, id_number, club_member, vip, consent_call, notes, created_at, "
            "updated_at) VALUES (?, ?, ?, '李四', 'person', '13800000000', '', '上海', '', '', "
            "0, 0, 1, '', '2026-11-23 08:00:00.000000', '2026-11-23 08:00:00.000000')",
            [(uuid.uuid4().hex, branch, f"P{i:07d}") for i in range(PUSH)],
        )
        n = conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0]
        rows = conn.execute("SELECT tbl, pk, op, cols, hlc FROM sync_outbox").fetchall()
    # baseline: COPY FROM of the same outbox rows into a plain table on central
    with psycopg.connect(_url(port)) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_copy (tbl text, pk text, op text, "
                    "cols jsonb, hlc text)")  # fmt: skip
        t0 = time.perf_counter()
        with cur.copy("COPY bench_copy FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        conn.commit()
        copy_rate = len(rows) / (time.perf_counter() - t0)
    # and, for the record, COPY FROM of the same customers into a table shaped like central's
    # customers (its indexes; no row-level security, no foreign key)
    cols = [r[1] for r in sqlite3.connect(desk).execute("PRAGMA table_info(customers)")]
    with sqlite3.connect(desk) as conn:
        customers = conn.execute(
            f"SELECT {', '.join(cols)} FROM customers WHERE customer_no LIKE 'P%'"
        ).fetchall()
    with psycopg.connect(_url(port)) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE bench_customers (LIKE customers INCLUDING ALL)")
        t0 = time.perf_counter()
        with cur.copy(f"COPY bench_customers ({', '.join(cols)}) FROM STDIN") as copy:
            for r in customers:
                copy.write_row(r)
        conn.commit()
        table_rate = len(customers) / (time.perf_counter() - t0)
    db = Database(desk)
    conn = central.connect(login_url)
    with db.uow() as uow:
        cur = client._raw(uow)
        device, revision = client._device(cur), client._revision(cur)
    result = client.SyncResult()
    t0 = time.perf_counter()
    client.push(db, conn, result, revision=revision, device=device)  # the push half of a sync
    elapsed = time.perf_counter() - t0
    conn.close()
    db.dispose()
    rate = result.pushed / elapsed
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"   (push of {n} captured changes: {elapsed:.1f} s = {rate:,.0f} changes/s = "
        f"{rate / copy_rate:.3f}× COPY FROM {copy_rate:,.0f} rows/s; COPY FROM into a "
        f"customers-shaped table {table_rate:,.0f} rows/s, push = {rate / table_rate:.2f}× "
        f"that; load average {load})"
    )
    return report(
        f"push: {result.pushed} changes, rate vs COPY FROM (≥ 0.30)", rate / copy_rate,
        "× COPY", target=0.30, higher_is_better=True,
    )  # fmt: skip


def main() -> bool:
    import psycopg

    from aftersales_desk.data import sync_capture as cap

    header(f"sync: {ROWS} rows download, {PUSH} changes push")
    ok = True
    with central_cluster("sync") as (port, folder, creds):
        login = _url(port, creds.role, creds.password)
        ok &= _bench_capture(folder)
        desk = _desk(folder, "A")
        # no-op sync at 10k rows of log, then at ROWS
        _fill_log(_url(port), cap.branch_uuid("BJ01"), 10_000)
        small = _bench_noop(desk, login, "10k-row change log")
        if DOWNLOAD:
            ok &= _bench_download(folder, port, login)
        else:
            _fill_log(_url(port), cap.branch_uuid("BJ01"), ROWS - 10_000)
            with psycopg.connect(_url(port), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")  # as autovacuum would have by then
        large = _bench_noop(desk, login, f"{ROWS}-row change log")
        ok &= report(
            f"no-op sync at {ROWS} rows vs at 10k rows", large, baseline=small,
            baseline_name="at 10k", max_ratio=1.5,
        )  # fmt: skip
        ok &= _bench_push(folder, port, login)
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
