"""Sync capture on a branch database: every synced table (from the metadata) has its triggers,
they write the outbox in the writing transaction, and applying pulled changes is not captured."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from aftersales_desk.data import sync_bulk
from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.models.archive import Customer
from aftersales_desk.data.models.core import APPEND_ONLY_TABLES
from aftersales_desk.domain.hlc import Stamp


def _triggers(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}


def test_every_synced_table_has_its_capture_triggers(db_path: Path):
    names = _triggers(db_path)
    captured = [t for t in cap.synced_tables() if cap.is_captured(t)]
    assert len(captured) >= 20
    for t in captured:
        expected = {f"sync_{t.name}_i"}
        if t.name not in APPEND_ONLY_TABLES:
            expected |= {f"sync_{t.name}_u", f"sync_{t.name}_d"}
        assert expected <= names, f"{t.name} is not captured"
    with sqlite3.connect(db_path) as conn:
        assert cap.missing_capture(conn) == []
        # every synced column of every table is in its insert trigger
        for t in captured:
            sql = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (f"sync_{t.name}_i",)
            ).fetchone()[0]
            for c in cap.sync_columns(t):
                assert f'NEW."{c.name}"' in sql, (t.name, c.name)


def test_local_tables_and_columns_are_not_captured(db_path: Path):
    names = _triggers(db_path)
    for local in ("stock_balances", "part_stock", "archive_search", "sync_outbox", "parts"):
        assert not any(n.startswith(f"sync_{local}_") for n in names), local
    with sqlite3.connect(db_path) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'sync_devices_i'").fetchone()
    assert 'NEW."is_local"' not in sql[0] and 'NEW."code"' in sql[0]


def test_a_write_leaves_its_change_in_the_outbox_in_the_same_transaction(db, admin, db_path):
    with db.uow(admin, write=True) as uow:
        c = Customer(branch_id=admin.branch_id, customer_no="C1", name="张三", phone="138")
        uow.session.add(c)
        uow.session.flush()
        # rolled back with the transaction
    with sqlite3.connect(db_path) as conn:
        assert (
            conn.execute("SELECT count(*) FROM sync_outbox WHERE tbl='customers'").fetchone()[0]
            == 0
        )
    with db.uow(admin, write=True) as uow:
        c = Customer(branch_id=admin.branch_id, customer_no="C1", name="张三", phone="138")
        uow.session.add(c)
        uow.commit()
    with db.uow(admin, write=True) as uow:
        uow.session.get(Customer, c.id).phone = "139"
        uow.commit()
    with db.uow(admin, write=True) as uow:
        uow.session.delete(uow.session.get(Customer, c.id))
        uow.commit()
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT op, cols, base, hlc FROM sync_outbox WHERE tbl = 'customers' AND pk = ? "
            "ORDER BY id",
            (c.id.hex,),
        ).fetchall()
        device = conn.execute("SELECT id FROM devices WHERE is_local = 1").fetchone()[0]
    assert [r[0] for r in rows] == ["I", "U", "D"]
    inserted = json.loads(rows[0][1])
    assert inserted["name"] == "张三" and inserted["branch_id"] == admin.branch_id.hex
    changed, base = json.loads(rows[1][1]), json.loads(rows[1][2])
    assert changed["phone"] == "139" and base["phone"] == "138"
    assert "name" not in changed  # only what changed
    assert rows[2][1] is None and json.loads(rows[2][2])["phone"] == "139"
    stamps = [Stamp.decode(r[3]) for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert {s.node for s in stamps} == {device}


def test_applying_pulled_changes_is_not_captured(db_path: Path):
    with sqlite3.connect(db_path) as conn:
        before = conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0]
        conn.execute("INSERT INTO sync_applying (id) VALUES (1)")
        conn.execute("UPDATE users SET display_name = 'x'")
        conn.execute("DELETE FROM sync_applying")
        assert conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0] == before
        conn.execute("UPDATE users SET display_name = 'y'")
        assert conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0] == before + 1


def test_stamps_stay_monotonic_after_the_clock_was_ahead(db_path: Path):
    with sqlite3.connect(db_path) as conn:
        future = "9999999999999999-000000003-" + "a" * 32
        conn.execute("UPDATE sync_state SET hlc_floor = ?", (future,))
        conn.execute("UPDATE users SET display_name = 'z'")
        stamp = conn.execute("SELECT max(hlc) FROM sync_outbox").fetchone()[0]
    assert stamp.startswith("9999999999999999-000000004-")


def test_bulk_insert_captures_what_the_trigger_would(db_path: Path):
    """``sync_bulk.insert_captured`` (the bulk postings' set-based capture) leaves the same outbox rows as
    the per-row trigger: same table, key, operation and values, insertion order, rows without a
    branch left out, stamps that keep counting up (also past a clock that was ahead)."""
    sql = (
        "INSERT INTO audit_log (id, at, branch_id, username, action, entity, entity_id, note)"
        " VALUES (?, '2026-01-01 00:00:00.000000', ?, 'u', 'bench', 'e', ?, '')"
    )
    with sqlite3.connect(db_path) as conn:
        branch = conn.execute("SELECT id FROM branches LIMIT 1").fetchone()[0]

        def rows(prefix: str) -> list[tuple]:
            keys = ["c", "a", "d", "b"]  # not in key order: the outbox follows insertion
            return [(f"{prefix}{k * 31}", None if k == "d" else branch, k) for k in keys]

        def captured(prefix: str) -> list[tuple]:
            return conn.execute(
                "SELECT pk, op, cols, base, hlc FROM sync_outbox WHERE tbl = 'audit_log' "
                "AND pk LIKE ? ORDER BY id",
                (prefix + "%",),
            ).fetchall()

        conn.executemany(sql, rows("1"))
        sync_bulk.insert_captured(conn, "audit_log", sql, rows("2"))
        future = "9999999999999999-000000003-" + "a" * 32
        conn.execute("UPDATE sync_state SET hlc_floor = ?", (future,))
        sync_bulk.insert_captured(conn, "audit_log", sql, rows("3"))
        by_trigger, bulk, ahead = captured("1"), captured("2"), captured("3")
        assert conn.execute("SELECT count(*) FROM sync_applying").fetchone()[0] == 0
    assert (
        [r[0][1:] for r in bulk] == [r[0][1:] for r in by_trigger] == ["c" * 31, "a" * 31, "b" * 31]
    )
    for b, t in zip(bulk, by_trigger, strict=True):
        assert b[1:4] == (t[1], t[2].replace('"1', '"2'), t[3])
        assert json.loads(b[2])["entity_id"] == b[0][1]
    stamps = [r[4] for r in by_trigger + bulk + ahead]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert {s[-32:] for s in stamps} == {by_trigger[0][4][-32:]}
    assert [s[:27] for s in stamps[-3:]] == [f"9999999999999999-00000000{n}-" for n in (4, 5, 6)]


def test_lost_triggers_come_back_when_the_database_is_opened(db_path: Path):
    from aftersales_desk.services.bootstrap import open_database

    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER sync_customers_u")
        assert cap.missing_capture(conn) == ["sync_customers_u"]
    db = open_database(db_path)
    db.dispose()
    with sqlite3.connect(db_path) as conn:
        assert cap.missing_capture(conn) == []


@pytest.mark.parametrize(
    "kind,value",
    [
        ("uuid", "0f" * 16),
        ("datetime", "2026-11-23 10:00:00.000000"),
        ("bool", 1),
        ("json", '{"a": 1}'),
        ("date", "2026-11-23"),
        ("time", "08:30:00.000000"),
        ("plain", "x"),
    ],
)
def test_wire_values_round_trip(kind, value):
    assert cap.to_wire(kind, cap.from_wire(kind, value)) == value


def test_an_update_captures_only_the_changed_columns_as_json(db_path: Path):
    """The update trigger builds ``cols``/``base`` from the changed columns only (quoted as
    json_object would): strings with quotes and backslashes, numbers, texts that look like JSON."""
    with sqlite3.connect(db_path) as conn:
        branch = conn.execute("SELECT id FROM branches LIMIT 1").fetchone()[0]
        conn.execute(
            "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, "
            "address, region, id_number, club_member, vip, consent_call, notes, created_at, "
            "updated_at) VALUES ('c' || hex(randomblob(15)), ?, 'J1', '张\"三', 'person', '1', "
            "'', '北京', '', '', 0, 0, 1, '{\"a\": 1}', '2026-01-01 00:00:00.000000', "
            "'2026-01-01 00:00:00.000000')",
            (branch,),
        )
        conn.execute(
            "UPDATE customers SET name = 'O''Brien \\ 李', vip = 1, notes = '' "
            "WHERE customer_no = 'J1'"
        )
        cols, base = conn.execute(
            "SELECT cols, base FROM sync_outbox WHERE tbl = 'customers' AND op = 'U' "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        expected = conn.execute(
            "SELECT json_object('name', name, 'vip', vip, 'notes', notes) FROM customers "
            "WHERE customer_no = 'J1'"
        ).fetchone()[0]
    assert cols == expected
    assert json.loads(cols) == {"name": "O'Brien \\ 李", "vip": 1, "notes": ""}
    assert json.loads(base) == {"name": '张"三', "vip": 0, "notes": '{"a": 1}'}
