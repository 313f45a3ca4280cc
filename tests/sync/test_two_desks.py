"""Two desks of one branch against a real central PostgreSQL: convergence, conflicts, stock,
delete-versus-edit, quarantine (acceptance 1 and 4 of issue 9)."""

from __future__ import annotations

import uuid

import pytest

from tests.sync.helpers import (
    Desk,
    central_rows,
    derived_state,
    synced_state,
)


def _converge(*desks: Desk) -> None:
    for _round in range(2):
        for d in desks:
            d.sync()


def _conflicts(url: str) -> list[tuple]:
    return central_rows(url, "SELECT tbl, col, kept_value, lost_value FROM sync_conflicts")


def test_a_joined_desk_gets_the_branch_and_its_own_device(desks):
    a, b = desks
    assert synced_state(a) == synced_state(b)
    assert a.rows("SELECT code, is_local FROM devices ORDER BY code") == [("A", 1), ("B", 0)]
    assert b.rows("SELECT code, is_local FROM devices ORDER BY code") == [("A", 0), ("B", 1)]
    assert b.one("SELECT count(*) FROM users WHERE username = 'admin'") == 1
    assert a.one("SELECT count(*) FROM sync_outbox") == 0


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_different_fields_merge_without_conflict(desks, central_url, order):
    a, b = desks
    cid = a.add_customer("C0001", "张三", "13800000000")
    _converge(a, b)
    a.edit_customer(cid, phone="13911112222")
    b.edit_customer(cid, address="北京市朝阳区建国路 1 号")
    first, second = (a, b) if order == "ab" else (b, a)
    first.sync()
    second.sync()
    first.sync()
    assert a.customer(cid) == b.customer(cid)
    assert a.customer(cid)["phone"] == "13911112222"
    assert a.customer(cid)["address"] == "北京市朝阳区建国路 1 号"
    assert synced_state(a) == synced_state(b)
    assert _conflicts(central_url) == []
    assert a.one("SELECT count(*) FROM sync_conflicts") == 0
    assert b.one("SELECT count(*) FROM sync_conflicts") == 0


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_same_field_keeps_the_later_edit_and_logs_one_conflict(desks, central_url, order):
    a, b = desks
    cid = a.add_customer("C0002", "李四", "13800000001")
    _converge(a, b)
    a.edit_customer(cid, phone="13700000001")  # earlier
    b.edit_customer(cid, phone="13700000002")  # later: wins whatever the sync order
    first, second = (a, b) if order == "ab" else (b, a)
    first.sync()
    second.sync()
    first.sync()
    assert a.customer(cid)["phone"] == b.customer(cid)["phone"] == "13700000002"
    assert synced_state(a) == synced_state(b)
    conflicts = _conflicts(central_url)
    assert len(conflicts) == 1
    tbl, col, kept, lost = conflicts[0]
    assert (tbl, col) == ("customers", "phone")
    assert {kept, lost} == {"13700000001", "13700000002"} and kept == "13700000002"
    # the desk that synced second was told, for its Conflicts view
    local = second.rows("SELECT col, kept_value, lost_value FROM sync_conflicts")
    assert local == [("phone", '"13700000002"', '"13700000001"')]


def test_delete_wins_over_an_edit(desks, central_url):
    a, b = desks
    cid = a.add_customer("C0003", "王五")
    _converge(a, b)
    a.delete_customer(cid)
    b.edit_customer(cid, phone="13600000000")
    a.sync()
    b.sync()
    a.sync()
    assert a.customer(cid) is None and b.customer(cid) is None
    assert synced_state(a) == synced_state(b)
    assert ("customers", "phone") in [(t, c) for t, c, _k, _l in _conflicts(central_url)]


def test_a_refused_change_is_quarantined_and_the_queue_goes_on(desks, central_url):
    a, b = desks
    # the same customer number on both desks offline: central's unique key refuses the second
    a.add_customer("C0100", "赵六")
    b.add_customer("C0100", "钱七")
    ok = b.add_customer("C0101", "孙八")
    a.sync()
    result = b.sync()
    # central refused B's 钱七, and B could not take A's 赵六 over its own C0100: both are
    # kept aside with the reason, for a person to renumber one of them
    assert [q.tbl for q in result.quarantined] == ["customers", "customers"]
    assert "unique" in result.quarantined[0].reason.lower()
    assert result.quarantined[1].reason.startswith("Not applied on this desk")
    assert b.one("SELECT count(*) FROM sync_quarantine") == 2
    assert b.rows("SELECT name FROM customers WHERE customer_no = 'C0100'") == [("钱七",)]
    assert b.one("SELECT count(*) FROM sync_outbox") == 0  # nothing blocks the queue
    a.sync()
    assert a.customer(ok) == b.customer(ok)
    assert central_rows(central_url, "SELECT count(*) FROM sync_quarantine")[0][0] == 1


def _add_parts_on_central(url: str, n: int) -> list[uuid.UUID]:
    import psycopg

    ids = [uuid.uuid4() for _ in range(n)]
    with psycopg.connect(url) as conn:
        for i, pid in enumerate(ids, 1):
            conn.execute(
                "INSERT INTO parts (id, part_no, name, model_fit, unit, purchase_price, "
                "sale_price, default_bin, min_qty, max_qty, category, barcode, active, "
                "created_at, updated_at) VALUES (%s, %s, %s, '', '个', %s, %s, 'A-01', 0, 0, "
                "'滤清器', '', true, now(), now())",
                (pid, f"P{i:04d}", f"机油滤清器 {i}", 1000 * i, 1500 * i),
            )
    return ids


def test_stock_movements_from_two_desks_all_arrive(desks, central_url):
    from aftersales_desk.services.documents import DocumentService, LineInput
    from aftersales_desk.services.parts_catalog import PartsCatalog

    a, b = desks
    parts = _add_parts_on_central(central_url, 2)
    a.sync()
    shelf = PartsCatalog(a.db, a.actor).save_bin("A-01", "货架 A-01")
    _converge(a, b)
    DocumentService(a.db, a.actor).receive([LineInput(parts[0], shelf, 10, 1000)])
    DocumentService(b.db, b.actor).receive([LineInput(parts[0], shelf, 5, 1200)])
    DocumentService(b.db, b.actor).receive([LineInput(parts[1], shelf, 3, 2000)])
    DocumentService(a.db, a.actor).issue([LineInput(parts[0], shelf, 4)], technician="王师傅")
    _converge(a, b)
    assert a.one("SELECT count(*) FROM stock_movements") == 4
    assert synced_state(a) == synced_state(b)
    assert derived_state(a) == derived_state(b)
    assert a.one("SELECT qty FROM part_stock WHERE part_id = ?", (parts[0].hex,)) == 11
    from aftersales_desk.services.integrity import run_checks

    assert [p for p in run_checks(b.db).problems if "tock" in p] == []
    # the ledger is append-only in both databases
    import sqlite3

    conn = sqlite3.connect(a.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE stock_movements SET qty = 0")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM stock_movements")
    conn.close()
    import psycopg

    with psycopg.connect(central_url) as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute("DELETE FROM stock_movements")
    with psycopg.connect(central_url) as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute("UPDATE stock_movements SET qty = 0")
    assert central_rows(central_url, "SELECT count(*) FROM stock_movements")[0][0] == 4


def test_a_run_of_inserts_with_one_bad_row_keeps_the_good_ones(desks, central_url):
    a, b = desks
    a.add_customer("R0003", "冯一")
    a.sync()
    branch = b.actor.branch_id.hex
    conn = b.db.engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute("BEGIN")
        cur.executemany(  # one statement: consecutive inserts, pushed as one run
            "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, "
            "address, region, id_number, club_member, vip, consent_call, notes, created_at, "
            "updated_at) VALUES (?, ?, ?, '批量', 'person', '', '', '', '', '', 0, 0, 1, '', "
            "'2026-11-23 08:00:00.000000', '2026-11-23 08:00:00.000000')",
            [(uuid.uuid4().hex, branch, f"R{i:04d}") for i in range(1, 7)],
        )
        cur.execute("COMMIT")
    finally:
        conn.close()
    result = b.sync()
    refused = [q for q in result.quarantined if not q.reason.startswith("Not applied")]
    assert len(refused) == 1 and refused[0].cols["customer_no"] == "R0003"
    assert "unique" in refused[0].reason.lower()
    on_central = central_rows(
        central_url, "SELECT customer_no FROM customers WHERE name = '批量' ORDER BY 1"
    )
    assert [r[0] for r in on_central] == ["R0001", "R0002", "R0004", "R0005", "R0006"]
