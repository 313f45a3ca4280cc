"""The window's sync figures (issue 9, "Use"): the status-bar counts with 100,000 changes waiting
to be sent, and pages of the Conflicts view with 10,000 conflicts (first page and a deep page,
the lazy list's keyset). Baselines, measured in the same run: the same counts and the same page
read with bare sqlite3 (the page baseline also looks up each record's naming fields)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

from bench.common import header, measure, report

SCALE = float(os.environ.get("SYNCUI_BENCH_SCALE", "1"))
N_PENDING = int(100_000 * SCALE)
N_CONFLICTS = int(10_000 * SCALE)
N_CUSTOMERS = max(100, N_CONFLICTS // 10)
PAGE = 100


def _build(path: Path) -> None:
    from aftersales_desk.domain.hlc import Stamp
    from aftersales_desk.services.bootstrap import initialize

    db = initialize(
        path,
        branch_code="BJ01",
        branch_name="北京朝阳4S店",
        device_code="A",
        admin_password="x1234567",
    )
    db.dispose()
    conn = sqlite3.connect(path)
    with conn:
        branch = conn.execute("SELECT id FROM branches").fetchone()[0]
        local = conn.execute("SELECT id FROM devices WHERE is_local = 1").fetchone()[0]
        other = uuid.uuid4().hex
        now = "2026-11-23 08:00:00.000000"
        ids = [uuid.uuid4().hex for _ in range(N_CUSTOMERS)]
        conn.executemany(
            "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, "
            "address, region, id_number, club_member, vip, consent_call, notes, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, 'person', ?, '', '', '', '', 0, 0, 1, '', ?, ?)",
            [
                (cid, branch, f"C{i:06d}", f"客户{i}", f"138{i:08d}", now, now)
                for i, cid in enumerate(ids)
            ],
        )
        conn.execute("DELETE FROM sync_outbox")
        wall = 1_790_000_000_000
        conn.executemany(
            "INSERT INTO sync_outbox (tbl, pk, op, cols, base, hlc) VALUES "
            "('customers', ?, 'U', ?, ?, ?)",
            [
                (
                    ids[i % N_CUSTOMERS],
                    '{"phone": "13900000000"}',
                    '{"phone": "13800000000"}',
                    Stamp(wall + i, 0, local).encode(),
                )
                for i in range(N_PENDING)
            ],
        )
        conn.executemany(
            "INSERT INTO sync_conflicts (id, at, tbl, pk, col, kept_value, lost_value, "
            "kept_hlc, lost_hlc, resolved) VALUES (?, ?, 'customers', ?, 'phone', ?, ?, ?, ?, 0)",
            [
                (
                    uuid.uuid4().hex,
                    f"2026-11-23 08:{i // 6000:02d}:{(i // 100) % 60:02d}.{i % 100:06d}",
                    ids[i % N_CUSTOMERS],
                    '"13900000000"',
                    '"13700000000"',
                    Stamp(wall + i, 0, other).encode(),
                    Stamp(wall + i - 1, 0, local).encode(),
                )
                for i in range(N_CONFLICTS)
            ],
        )
    conn.close()


def main() -> bool:
    from aftersales_desk.services.bootstrap import local_actor, open_database
    from aftersales_desk.services.sync import registry, review

    header(
        f"syncui: status-bar counts with {N_PENDING:,} changes to send, Conflicts view with "
        f"{N_CONFLICTS:,} conflicts"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-syncui-"))
    ok = True
    try:
        path = work / "desk.sqlite"
        _build(path)
        db = open_database(path)
        actor = local_actor(db, "admin")
        raw = sqlite3.connect(path)

        def raw_status() -> tuple:
            return (
                raw.execute("SELECT last_sync_at FROM sync_state WHERE id = 1").fetchone(),
                raw.execute("SELECT count(*) FROM sync_outbox").fetchone(),
                raw.execute("SELECT count(*) FROM sync_conflicts WHERE resolved = 0").fetchone(),
                raw.execute("SELECT count(*) FROM sync_quarantine").fetchone(),
            )

        st = registry.status(db, actor)
        assert st.pending == N_PENDING and st.open_conflicts == N_CONFLICTS, st
        base = measure(raw_status, repeat=15)
        t = measure(lambda: registry.status(db, actor), repeat=15)
        ok &= report(
            f"status-bar counts ({N_PENDING:,} to send)",
            t.median * 1000,
            target=100,
            baseline=base.median * 1000,
            baseline_name="bare sqlite3 counts",
        )  # the difference is the unit of work's fixed cost (~1-2 ms), not the counting

        def raw_page(after: tuple | None) -> list:
            where = "WHERE resolved = 0" + (" AND (at, id) > (?, ?)" if after else "")
            rows = raw.execute(
                f"SELECT id, at, tbl, pk, col, kept_value, lost_value, kept_hlc, lost_hlc "
                f"FROM sync_conflicts {where} ORDER BY at, id LIMIT {PAGE}",
                after or (),
            ).fetchall()
            for r in rows:
                raw.execute(
                    "SELECT customer_no, name, phone FROM customers WHERE id = ?", (r[3],)
                ).fetchone()
            return rows

        first = review.conflicts_page(db, actor, None, PAGE)
        assert len(first.rows) == PAGE and first.rows[0].record.startswith("Customer C")
        # a deep page: the cursor of the row 100 before the end
        deep_at, deep_id = raw.execute(
            "SELECT at, id FROM sync_conflicts ORDER BY at, id LIMIT 1 OFFSET ?",
            (N_CONFLICTS - PAGE - 1,),
        ).fetchone()
        from aftersales_desk.data import sync_capture as cap

        deep_cursor = (cap.from_wire("datetime", deep_at), uuid.UUID(deep_id))
        assert len(review.conflicts_page(db, actor, deep_cursor, PAGE).rows) == PAGE
        base_first = measure(lambda: raw_page(None), repeat=15)
        t_first = measure(lambda: review.conflicts_page(db, actor, None, PAGE), repeat=15)
        ok &= report(
            f"Conflicts view: first page of {PAGE}",
            t_first.median * 1000,
            target=100,
            baseline=base_first.median * 1000,
            baseline_name="bare sqlite3 page + lookups",
        )
        t_deep = measure(lambda: review.conflicts_page(db, actor, deep_cursor, PAGE), repeat=15)
        ok &= report(
            f"Conflicts view: page {N_CONFLICTS // PAGE} of {N_CONFLICTS // PAGE} (keyset)",
            t_deep.median * 1000,
            target=100,
            baseline=t_first.median * 1000,
            baseline_name="first page",
            max_ratio=2,
        )
        raw.close()
        db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
