"""Document numbers at central (issue 9): uniqueness per branch and document type generated from
the metadata, a taken number set aside with a translated reason without blocking the batch, the
gap report per device series at central and a desk's own numbers."""

from __future__ import annotations

import json
import uuid

import pytest

from aftersales_desk.i18n import set_language
from aftersales_desk.services.sync.central_documents import (
    central_gaps,
    compress,
    desk_series,
    numbered_tables,
)
from tests.integration.test_cli import one_clear_line, run
from tests.sync.conftest import branch_login
from tests.sync.helpers import Desk, central_rows


def _parts_and_shelf(url: str, a: Desk, b: Desk) -> tuple[uuid.UUID, uuid.UUID]:
    import psycopg

    from aftersales_desk.services.parts_catalog import PartsCatalog

    pid = uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO parts (id, part_no, name, model_fit, unit, purchase_price, sale_price, "
            "default_bin, min_qty, max_qty, category, barcode, active, created_at, updated_at) "
            "VALUES (%s, 'P0001', '机油滤清器', '', '个', 1000, 1500, 'A-01', 0, 0, '滤清器', '', "
            "true, now(), now())",
            (pid,),
        )
    a.sync()
    shelf = PartsCatalog(a.db, a.actor).save_bin("A-01", "货架 A-01")
    a.sync()
    b.sync()
    return pid, shelf


def _desk_series(desk: Desk, kind: str) -> dict:
    conn = desk.db.engine.raw_connection()
    try:
        found = [s for s in desk_series(conn.cursor()) if s.kind == kind and s.local]
    finally:
        conn.close()
    assert len(found) == 1, found
    return found[0].as_dict()


def test_the_numbered_tables_come_from_the_metadata():
    names = {t.name for t in numbered_tables()}
    assert {
        "stock_documents",
        "stock_count_sessions",
        "old_part_batches",
        "work_orders",
        "callback_forms",
    } <= names
    assert "customers" not in names  # a customer number is not a document number


def test_every_numbered_table_at_central_has_a_unique_number_per_branch(central_url):
    """Reads central's catalogue, not the module's list: a document table (a branch table with a
    column ``number``) that central holds without a unique (branch, number) index fails here."""
    tables = central_rows(
        central_url,
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.columns b ON b.table_schema = c.table_schema "
        "AND b.table_name = c.table_name AND b.column_name = 'branch_id' "
        "WHERE c.table_schema = current_schema() AND c.column_name = 'number' "
        "AND c.table_name NOT LIKE 'sync\\_%%'",
    )
    assert {t for (t,) in tables} == {t.name for t in numbered_tables()}
    for (table,) in tables:
        unique = central_rows(
            central_url,
            "SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indpred IS NULL "
            "GROUP BY i.indexrelid",
            (table,),
        )
        assert ["branch_id", "number"] in [cols for (cols,) in unique], table
    names = {
        r[0]
        for r in central_rows(
            central_url, "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'sync_docno_%%'"
        )
    }
    assert names == {f"sync_docno_{t.name}" for t in numbered_tables()}


def test_a_taken_work_order_number_is_set_aside_in_the_desks_language(desks, central_url):
    from aftersales_desk.services.archive_work_orders import WorkOrderService

    a, b = desks
    cid = a.add_customer("C0001", "张三", "13800000000")
    a.sync()
    b.sync()
    # desk B's work-order series carries desk A's prefix (a desk cloned from A's file): both
    # desks open a work order offline with the same number
    from aftersales_desk.data.models import Device
    from aftersales_desk.data.models.parts import NumberSeries

    with b.db.uow(b.actor, write=True) as uow:
        device = uow.session.query(Device).filter_by(is_local=True).one()
        uow.session.add(
            NumberSeries(
                branch_id=b.actor.branch_id,
                device_id=device.id,
                kind="work_order",
                prefix="BJ01-A-WO",
                last_seq=0,
            )
        )
        uow.commit()
    wa = WorkOrderService(a.db, a.actor).open(cid, fault="更换机油")
    wb = WorkOrderService(b.db, b.actor).open(cid, fault="空调不制冷")
    assert wa.number == wb.number
    later = b.add_customer("C0002", "李四")  # after the refused one, in the same batch
    a.sync()
    set_language("zh_CN")
    try:
        result = b.sync()
    finally:
        set_language("en")
    refused = [q for q in result.quarantined if q.tbl == "work_orders" and q.pk == wb.id.hex]
    assert len(refused) == 1
    reason = refused[0].reason
    assert wb.number in reason and "A" in reason and "工单" in reason, reason
    assert "duplicate key" not in reason
    # the rest of the batch went in, and the quarantine on central has the same reason
    assert central_rows(central_url, "SELECT name FROM customers WHERE id = %s", (later,)) == [
        ("李四",)
    ]
    assert central_rows(
        central_url, "SELECT reason FROM sync_quarantine WHERE tbl = 'work_orders'"
    ) == [(reason,)]
    assert b.one("SELECT count(*) FROM sync_outbox") == 0


def test_gaps_per_device_series_at_central_and_on_the_desk(desks, central_url):
    from aftersales_desk.services.documents import DocumentService, LineInput

    a, b = desks
    part, shelf = _parts_and_shelf(central_url, a, b)
    for qty in (1, 2, 3):
        DocumentService(a.db, a.actor).receive([LineInput(part, shelf, qty, 1000)])
    # desk B's receipt series was set up with desk A's prefix (a desk cloned from A's file):
    # its first receipt carries a number A already used
    with b.db.uow(b.actor, write=True) as uow:
        from aftersales_desk.data.models import Device
        from aftersales_desk.data.models.parts import NumberSeries

        device = uow.session.query(Device).filter_by(is_local=True).one()
        uow.session.add(
            NumberSeries(
                branch_id=b.actor.branch_id,
                device_id=device.id,
                kind="receipt",
                prefix="BJ01-A-RK",
                last_seq=0,
            )
        )
        uow.commit()
    number = DocumentService(b.db, b.actor).receive([LineInput(part, shelf, 5, 1000)])
    assert number == "BJ01-A-RK000001"
    a.sync()
    result = b.sync()
    refused = [
        q
        for q in result.quarantined
        if q.tbl == "stock_documents" and q.op == "I" and not q.reason.startswith("Not applied")
    ]
    assert len(refused) == 1, result.quarantined
    assert "BJ01-A-RK000001" in refused[0].reason and "desk A" in refused[0].reason
    # A's receipt with that number collides on B: set aside there, said in plain words, and
    # its lines and movements with it (the pull is not blocked)
    pulled = [q for q in result.quarantined if q.reason.startswith("Not applied")]
    assert any("BJ01-A-RK000001" in q.reason and "same number" in q.reason for q in pulled)
    assert {"stock_document_lines", "stock_movements"} <= {q.tbl for q in pulled}
    # A issues a fourth receipt and does not sync yet
    DocumentService(a.db, a.actor).receive([LineInput(part, shelf, 4, 1000)])

    report = {(g.device, g.kind): g for g in central_gaps(central_url)}
    ga = report[("A", "receipt")]
    assert (ga.first, ga.last, ga.count, ga.last_issued, ga.missing) == (1, 3, 3, 3, [])
    gb = report[("B", "receipt")]
    assert (gb.count, gb.last_issued, gb.missing, gb.set_aside) == (0, 1, [(1, 1)], [1])
    assert central_gaps(central_url, branch="bj01") != []

    mine = _desk_series(a, "receipt")
    assert mine["last_issued"] == 4 and mine["used"] == 4
    assert mine["not_pushed"] == [[4, 4]] and mine["missing"] == []
    theirs = _desk_series(b, "receipt")
    assert theirs["set_aside"] == [1] and theirs["not_pushed"] == []
    a.sync()
    assert _desk_series(a, "receipt")["not_pushed"] == []
    report = {(g.device, g.kind): g for g in central_gaps(central_url)}
    assert (report[("A", "receipt")].last, report[("A", "receipt")].missing) == (4, [])


def test_a_branch_login_sees_only_its_own_series(pg_cluster, central_url, desks):
    a, _b = desks
    from aftersales_desk.services.documents import DocumentService, LineInput

    part, shelf = _parts_and_shelf(central_url, a, _b)
    DocumentService(a.db, a.actor).receive([LineInput(part, shelf, 1, 1000)])
    a.sync()
    other = branch_login(pg_cluster, central_url, "SH02")
    assert central_gaps(other.url) == []
    assert [g.kind for g in central_gaps(a.url)] == ["receipt"]


def test_compress_makes_ranges():
    assert compress([7, 1, 2, 3, 9, 10]) == [(1, 3), (7, 7), (9, 10)]
    assert compress([]) == []


def test_gap_commands(desks, central_url):
    a, _b = desks
    r = run("central", "gaps", "--url", central_url, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []
    r = run("central", "gaps", "--url", central_url)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    r = run("central", "gaps", "--url", central_url, "--branch", "XX99", "--lang", "en")
    assert r.returncode == 2
    assert "XX99" in one_clear_line(r)
    r = run("ls", "number-gaps", "--db", str(a.path), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_init_refuses_clearly_when_central_already_holds_a_duplicate_number(central_url):
    """A document table whose model forgot the unique key: central init adds it, and when
    duplicates are already stored it stops with a message instead of a database error."""
    import psycopg

    from aftersales_desk.errors import RefusedError
    from aftersales_desk.services.sync import central
    from aftersales_desk.services.sync.central_documents import ensure_schema

    central.add_branch(central_url, "BJ01")
    with psycopg.connect(central_url) as conn, conn.cursor() as cur:
        cur.execute("DROP INDEX sync_docno_old_part_batches")
        for (name,) in cur.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'old_part_batches'::regclass "
            "AND contype = 'u'"
        ).fetchall():
            cur.execute(f'ALTER TABLE old_part_batches DROP CONSTRAINT "{name}"')
        for _i in range(2):
            cur.execute(
                "INSERT INTO old_part_batches (id, created_at, updated_at, branch_id, number, "
                "status, factory, note) SELECT gen_random_uuid(), now(), now(), id, "
                "'BJ01-A-FC000001', 'open', '', '' FROM branches WHERE code = 'BJ01'"
            )
        conn.commit()
        with pytest.raises(RefusedError, match="same number") as err:
            ensure_schema(cur)
        assert "old_part_batches" in err.value.message
