"""Posting a stock count is one transaction: a process killed before any statement of it leaves
either no adjustment at all (the count still approved) or every one of them (the count posted)."""

from __future__ import annotations

import os
import sqlite3
import sys

import pytest

from aftersales_desk.domain.roles import Role
from aftersales_desk.services.counts import CountScope, StockCounts
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.integrity import run_checks
from aftersales_desk.services.settings import SettingsService
from tests.integration.forked import run_forked
from tests.parts_helpers import make_shop

N_PARTS = 4


def _post_and_die(path, number: str, crash_at: int) -> None:
    """In a forked child: post the count; ``os._exit`` just before statement ``crash_at``
    (0: never) — as in a power cut: no rollback, no cleanup."""
    from sqlalchemy import event

    from aftersales_desk.data.uow import Database
    from aftersales_desk.services.bootstrap import local_actor

    db = Database(path)
    keeper = local_actor(db, "u_warehouse")
    count = 0

    def on_statement(conn, cursor, statement, params, context, executemany):
        nonlocal count
        count += 1
        if count == crash_at:
            os._exit(17)

    event.listen(db.engine, "before_cursor_execute", on_statement)
    StockCounts(db, keeper).post(number)
    os.write(3, str(count).encode())
    os._exit(0)


def _child(path, number: str, crash_at: int) -> tuple[int, int]:
    return run_forked(_post_and_die, path, number, crash_at)


def _state(path) -> tuple[str, int, int, int, int]:
    """The count's status, its adjustment movements, their captured sync changes, the posting's
    audit entry and the stock on hand."""
    conn = sqlite3.connect(path)
    try:
        status = conn.execute("SELECT status FROM stock_count_sessions").fetchone()[0]
        moves = conn.execute(
            "SELECT count(*) FROM stock_movements WHERE kind = 'adjust'"
        ).fetchone()[0]
        captured = conn.execute(
            "SELECT count(*) FROM sync_outbox AS o JOIN stock_movements AS m ON m.id = o.pk"
            " WHERE o.tbl = 'stock_movements' AND m.kind = 'adjust'"
        ).fetchone()[0]
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'post' AND entity = 'stock_documents'"
        ).fetchone()[0]
        on_hand = conn.execute("SELECT COALESCE(SUM(qty), 0) FROM stock_balances").fetchone()[0]
        return status, moves, captured, audited, on_hand
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_killed_at_every_statement_of_posting_leaves_none_or_all(db, admin, db_path, make_actor):
    shop = make_shop(db, admin, n_parts=N_PARTS)
    a = shop.bins["A-01"]
    DocumentService(db, admin).receive([LineInput(p, a, 10, 100) for p in shop.parts.values()])
    SettingsService(db, admin).update({"counts_tolerance": {"*": [100, 0]}})
    keeper, manager = make_actor(Role.WAREHOUSE), make_actor(Role.MANAGER)
    counts = StockCounts(db, keeper)
    number = counts.start(CountScope(bins=("A-01",)))
    idx = counts.scan_index(number)
    for i, part_no in enumerate(sorted(shop.parts)):
        counts.scan(idx, part_no, qty=10 + (i % 3) - 1)  # 9, 10, 11, 9: three variance lines
    counts.mark_counted(number)
    assert counts.submit(number).submitted
    StockCounts(db, manager).approve(number)
    db.dispose()
    before = _state(db_path)
    assert before == ("approved", 0, 0, 0, 40)

    # a copy posts cleanly to count the statements of the posting transaction
    import shutil

    probe = db_path.with_name("probe.sqlite")
    shutil.copyfile(db_path, probe)
    rc, total = _child(probe, number, 0)
    assert rc == 0 and total > 8
    after = _state(probe)
    assert after == ("posted", 3, 3, 1, 39)

    for n in range(1, total + 1):
        rc, _count = _child(db_path, number, n)
        assert rc == 17, n
        assert _state(db_path) == before, n
    assert _child(db_path, number, 0)[0] == 0
    assert _state(db_path) == after
    from aftersales_desk.data.uow import Database

    again = Database(db_path)
    try:
        result = run_checks(again)
        assert result.ok, result.problems
    finally:
        again.dispose()
