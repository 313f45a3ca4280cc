"""The set-based capture of bulk inserts (``data/sync_bulk.py``) leaves exactly the outbox rows the
per-row capture triggers write: the same rows, column by column (id, table, key, operation, the
values, base, stamp, batch), in the same order — for the tables the stock-count posting writes
in bulk and for a table whose rows without a branch stay on the device."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from aftersales_desk.data import sync_bulk
from aftersales_desk.services.documents import DocumentService, LineInput
from tests.parts_helpers import make_shop

FUTURE = "9999999999999999-000000007-" + "f" * 32  # a floor ahead of the wall clock

MOVE_SQL = (
    "INSERT INTO stock_movements (id, branch_id, seq, at, kind, part_id, bin_id, qty, unit_cost,"
    " value, document_id, line_id, reverses_id, username, device_id, note)"
    " VALUES (?, ?, ?, ?, 'adjust', ?, ?, ?, ?, ?, ?, NULL, NULL, ?, NULL, ?)"
)
LINE_SQL = (
    "INSERT INTO stock_document_lines (id, document_id, line_no, part_id, bin_id, to_bin_id, qty,"
    " unit_price, discount, amount, original_line_id) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, 0, ?, NULL)"
)
AUDIT_SQL = (
    "INSERT INTO audit_log (id, at, branch_id, username, action, entity, entity_id, after, note)"
    " VALUES (?, '2026-01-01 00:00:00.000000', ?, '王强', 'bench', 'e', ?, ?, '')"
)


def _outbox(conn: sqlite3.Connection, since: int) -> list[tuple]:
    return conn.execute(
        "SELECT id, tbl, pk, op, cols, base, hlc, batch_no FROM sync_outbox WHERE id > ? ORDER BY id",
        (since,),
    ).fetchall()


def _both_ways(
    path: Path, table: str, sql: str, rows: list[tuple], floor: str | None
) -> tuple[list[tuple], list[tuple], int]:
    """The outbox rows the trigger writes for ``rows`` and those ``insert_captured`` writes, each
    in a transaction on the same database state (rolled back after)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        (since,) = conn.execute("SELECT coalesce(max(id), 0) FROM sync_outbox").fetchone()
        out: list[list[tuple]] = []
        written = 0
        for bulk in (False, True):
            conn.execute("BEGIN IMMEDIATE")
            if floor is not None:
                conn.execute("UPDATE sync_state SET hlc_floor = ? WHERE id = 1", (floor,))
            if bulk:
                written = sync_bulk.insert_captured(conn, table, sql, rows)
            else:
                conn.executemany(sql, rows)
            out.append(_outbox(conn, since))
            assert conn.execute("SELECT count(*) FROM sync_applying").fetchone()[0] == 0
            conn.execute("ROLLBACK")
        return out[0], out[1], written
    finally:
        conn.close()


@pytest.fixture
def stocked(db, admin):
    shop = make_shop(db, admin, n_parts=6)
    doc = DocumentService(db, admin).receive(
        [LineInput(p, shop.bins["A-01"], 3, 100) for p in shop.parts.values()]
    )
    return shop, doc


def _ids(db, admin, doc_number: str) -> tuple[str, str]:
    from sqlalchemy import select

    from aftersales_desk.data.models.parts import StockDocument

    with db.uow(admin) as uow:
        doc_id = uow.session.scalar(
            select(StockDocument.id).where(StockDocument.number == doc_number)
        )
    return admin.branch_id.hex, doc_id.hex


def _rows(db, admin, stocked) -> dict[str, tuple[str, list[tuple]]]:
    shop, doc_number = stocked
    branch, doc = _ids(db, admin, doc_number)
    bins = list(shop.bins.values())
    prefix = uuid.uuid4().hex[:24]
    # keys deliberately not in insertion order: the outbox follows insertion, not the key
    order = [5, 0, 3, 1, 4, 2]
    parts = list(shop.parts.values())
    moves = [
        (
            f"{prefix}{k:08x}",
            branch,
            1000 + i,
            f"2026-03-0{1 + i} 08:00:00.000000",
            parts[k].hex,
            bins[k % 2].hex,
            (-1) ** k * (k + 1),
            250 * k,
            (-1) ** k * (k + 1) * 250 * k,
            doc if k % 2 else None,
            "王强",
            "盘亏 'quoted' \"note\"" if k == 3 else "",
        )
        for i, k in enumerate(order)
    ]
    lines = [
        (f"{prefix}{k + 16:08x}", doc, 100 + i, parts[k].hex, bins[0].hex, -k, 1234, 1234 * k)
        for i, k in enumerate(order)
    ]
    audits = [
        (
            f"{prefix}{k + 32:08x}",
            None if k in (0, 4) else branch,  # rows without a branch stay on the device
            str(k),
            json.dumps({"n": k, "名称": "机油滤清器"}, ensure_ascii=False),
        )
        for k in order
    ]
    return {
        "stock_movements": (MOVE_SQL, moves),
        "stock_document_lines": (LINE_SQL, lines),
        "audit_log": (AUDIT_SQL, audits),
    }


@pytest.mark.parametrize("table", ["stock_movements", "stock_document_lines", "audit_log"])
def test_bulk_capture_writes_the_rows_the_trigger_writes(db, admin, db_path, stocked, table):
    sql, rows = _rows(db, admin, stocked)[table]
    by_trigger, bulk, written = _both_ways(db_path, table, sql, rows, FUTURE)
    expected = 4 if table == "audit_log" else 6
    assert written == expected and len(by_trigger) == expected
    # identical, column by column: outbox id, table, key, op, values, base, stamp, batch
    assert bulk == by_trigger
    assert [r[6][:27] for r in bulk] == [
        f"9999999999999999-{n:09d}-" for n in range(8, 8 + expected)
    ]
    values = json.loads(bulk[0][4])
    assert values["id"] == rows[0][0]


def test_bulk_capture_on_the_wall_clock(db, admin, db_path, stocked):
    """With the wall clock ahead of the last stamp (the usual case) the trigger stamps each row
    in its own statement, so the milliseconds may differ; everything else is the same, and the
    bulk stamps share one millisecond, count up from 0 and follow every earlier stamp."""
    sql, rows = _rows(db, admin, stocked)["stock_movements"]
    by_trigger, bulk, _written = _both_ways(db_path, "stock_movements", sql, rows, None)
    assert [r[:6] + r[7:] for r in bulk] == [r[:6] + r[7:] for r in by_trigger]
    with sqlite3.connect(db_path) as conn:
        (last,) = conn.execute("SELECT max(hlc) FROM sync_outbox").fetchone()
    stamps = [r[6] for r in bulk]
    assert stamps == sorted(stamps) and stamps[0] > last
    assert {s[:16] for s in stamps} == {stamps[0][:16]}
    assert [int(s[17:26]) for s in stamps] == list(range(6))
    assert {s[-32:] for s in stamps} == {by_trigger[0][6][-32:]}


def _one_transaction(path: Path, fn: Callable[[sqlite3.Connection], object]) -> list[tuple]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        (since,) = conn.execute("SELECT coalesce(max(id), 0) FROM sync_outbox").fetchone()
        conn.execute("BEGIN IMMEDIATE")
        fn(conn)
        out = _outbox(conn, since)
        conn.execute("ROLLBACK")
        return out
    finally:
        conn.close()


def test_a_trigger_it_does_not_know_captures_itself(db, admin, db_path, stocked):
    """A database whose trigger differs from the one this code makes (another schema version):
    the plain insert, and the database's own trigger decides what is captured."""
    sql, rows = _rows(db, admin, stocked)["stock_movements"]

    def changed_trigger(conn: sqlite3.Connection) -> None:
        conn.execute("DROP TRIGGER sync_stock_movements_i")
        conn.execute(
            "CREATE TRIGGER sync_stock_movements_i AFTER INSERT ON stock_movements BEGIN "
            "INSERT INTO sync_outbox (tbl, pk, op, cols, base, hlc) VALUES "
            "('stock_movements', NEW.id, 'I', json_object('qty', NEW.qty), NULL, 'x'); END"
        )
        assert sync_bulk.insert_captured(conn, "stock_movements", sql, rows) == 0

    out = _one_transaction(db_path, changed_trigger)
    assert [(r[2], r[4], r[6]) for r in out] == [
        (row[0], json.dumps({"qty": row[6]}, separators=(",", ":")), "x") for row in rows
    ]


def test_nothing_is_captured_while_pulled_changes_are_applied(db, admin, db_path, stocked):
    sql, rows = _rows(db, admin, stocked)["stock_movements"]

    def applying(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO sync_applying (id) VALUES (1)")
        assert sync_bulk.insert_captured(conn, "stock_movements", sql, rows) == 0
        assert conn.execute("SELECT count(*) FROM sync_applying").fetchone()[0] == 1
        (n,) = conn.execute(
            "SELECT count(*) FROM stock_movements WHERE id IN (?, ?)", (rows[0][0], rows[-1][0])
        ).fetchone()
        assert n == 2

    assert _one_transaction(db_path, applying) == []
