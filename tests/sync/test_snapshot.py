"""A new desk is filled from one snapshot of what its branch may read (not by replaying the
change log), with the pull cursor of that same snapshot: nothing committed later is missed,
nothing of another branch arrives, and the desk ends identical to the others."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg

from aftersales_desk.services.sync import central
from tests.sync.conftest import Cluster, branch_login
from tests.sync.helpers import central_rows, first_desk, join_desk, synced_state


def _insert_part(conn: psycopg.Connection, no: str) -> uuid.UUID:
    pid = uuid.uuid4()
    conn.execute(
        "INSERT INTO parts (id, part_no, name, model_fit, unit, purchase_price, sale_price, "
        "default_bin, min_qty, max_qty, category, barcode, active, created_at, updated_at) "
        "VALUES (%s, %s, '刹车片', '', '套', 100, 200, '', 0, 0, '', '', true, now(), now())",
        (pid, no),
    )
    return pid


def test_join_takes_a_snapshot_and_then_pulls_what_committed_after_it(
    pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path, monkeypatch
):
    login = branch_login(pg_cluster, central_url, "BJ01")
    other = branch_login(pg_cluster, central_url, "SH02")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    kept = a.add_customer("S0001", "张三", "13800000001")
    gone = a.add_customer("S0002", "李四", "13800000002")
    a.edit_customer(kept, phone="13900000001")
    a.sync()
    a.delete_customer(gone)
    a.sync()
    # another branch's customer: central has it, the new desk of BJ01 must not
    foreign = uuid.uuid4()
    with psycopg.connect(other.url) as conn:
        conn.execute(
            "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, "
            "address, region, id_number, club_member, vip, consent_call, notes, created_at, "
            "updated_at) VALUES (%s, sync_branch(), 'X1', '王五', 'person', '', '', '', '', '', "
            "false, false, true, '', now(), now())",
            (foreign,),
        )
    # a catalogue edit still running while the desk joins: not in the snapshot, pulled after
    late = psycopg.connect(central_url)
    late_part = _insert_part(late, "LATE-1")
    replayed: list[int] = []
    real_pull_page = central.pull_page

    def counting(*args, **kwargs):
        page = real_pull_page(*args, **kwargs)
        replayed.append(len(page))
        return page

    monkeypatch.setattr(central, "pull_page", counting)
    b = join_desk(tmp_path, login.url, "B")
    # the snapshot brought the rows; the change log was not replayed
    assert sum(replayed) == 0
    assert b.customer(kept)["phone"] == "13900000001"
    assert b.customer(gone) is None
    assert b.one("SELECT count(*) FROM customers WHERE id = ?", (foreign.hex,)) == 0
    assert b.one("SELECT count(*) FROM parts WHERE id = ?", (late_part.hex,)) == 0
    # the archive search of the new desk knows the customers that came with the snapshot
    assert b.one("SELECT count(*) FROM archive_search WHERE customer_id = ?", (kept.hex,)) >= 1
    late.commit()
    late.close()
    b.sync()
    assert b.one("SELECT count(*) FROM parts WHERE id = ?", (late_part.hex,)) == 1
    a.sync()
    b.sync()
    assert synced_state(a) == synced_state(b)
    # the new desk's edits sync like any desk's
    b.edit_customer(kept, name="张三丰")
    b.sync()
    a.sync()
    assert a.customer(kept)["name"] == "张三丰"
    assert synced_state(a) == synced_state(b)
    assert central_rows(central_url, "SELECT count(*) FROM sync_quarantine") == [(0,)]
    a.close()
    b.close()


def test_a_push_of_many_new_rows_is_set_based_and_recorded_like_single_changes(
    pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path, monkeypatch
):
    """Runs of inserts go in one statement per run; central ends with the same rows, row
    clocks and change log as change-by-change application, and a later edit still wins by
    clock."""
    login = branch_login(pg_cluster, central_url, "BJ01")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    a.sync()
    ids = [a.add_customer(f"R{i:04d}", f"客户{i}", f"1380000{i:04d}") for i in range(30)]
    one_by_one: list[str] = []
    real = central._apply

    def tracking(cur, ch, *args):
        one_by_one.append(ch.tbl)
        return real(cur, ch, *args)

    monkeypatch.setattr(central, "_apply", tracking)
    result = a.sync()
    assert result.pushed >= 30 and "customers" not in one_by_one
    rows = central_rows(
        central_url,
        "SELECT replace(id::text, '-', ''), customer_no, phone, vip, "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM customers "
        "ORDER BY customer_no",
    )
    local = a.rows(
        "SELECT id, customer_no, phone, vip, created_at FROM customers ORDER BY customer_no"
    )
    assert [(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows] == [
        (r[0], r[1], r[2], bool(r[3]), r[4]) for r in local
    ]
    logged = central_rows(
        central_url,
        "SELECT count(*), count(DISTINCT seq) FROM sync_changes WHERE tbl = 'customers' "
        "AND op = 'I'",
    )
    assert logged == [(30, 30)]
    clocks = central_rows(
        central_url, "SELECT count(*) FROM sync_row_clocks WHERE tbl = 'customers'"
    )
    assert clocks == [(0,)]  # a row only inserted: its clock is its log entry's
    b = join_desk(tmp_path, login.url, "B")
    b.edit_customer(ids[3], phone="13712345678")
    b.sync()
    a.sync()
    assert a.customer(ids[3])["phone"] == "13712345678"
    a.close()
    b.close()


def test_a_run_whose_rows_differ_in_columns_goes_change_by_change(
    pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path
):
    """An older device's insert (without a column) in the same run as newer ones: the
    set-based statement is not used for that run; every row still arrives, the missing column
    gets the model's default."""
    from aftersales_desk.services.sync import PROTOCOL_VERSION
    from aftersales_desk.services.sync import client as sync_client

    login = branch_login(pg_cluster, central_url, "BJ01")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    a.sync()
    device = a.one("SELECT id FROM devices WHERE is_local = 1")
    revision = a.one("SELECT version_num FROM alembic_version")
    branch = a.one("SELECT id FROM branches LIMIT 1")
    stamp = f"{sync_client._wall_ms():016d}-000000000-{device}"

    def row(no: str, **drop: bool) -> central.Change:
        cols = {
            "id": uuid.uuid4().hex, "branch_id": branch, "customer_no": no, "name": "赵六",
            "kind": "person", "phone": "", "phone2": "", "address": "", "region": "",
            "id_number": "", "club_member": 0, "vip": 0, "consent_call": 1, "notes": "备注",
            "created_at": "2026-11-23 08:00:00.000000", "updated_at": "2026-11-23 08:00:00.000000",
        }  # fmt: skip
        for k in drop:
            cols.pop(k)
        return central.Change("customers", cols["id"], "I", None, None, stamp, json_text(cols))

    def json_text(cols: dict) -> str:
        import json

        return json.dumps(cols, ensure_ascii=False, separators=(",", ":"))

    changes = [row("M1"), row("M2", notes=True), row("M3")]
    last = central_rows(
        central_url, "SELECT coalesce(max(batch_no), 0) FROM sync_batches WHERE device_id = %s",
        (device,),
    )[0][0]  # fmt: skip
    with psycopg.connect(login.url) as conn:
        ack = central.push_batch(
            conn, device_id=device, batch_no=last + 1, changes=changes,
            protocol=PROTOCOL_VERSION, revision=revision, device_ms=sync_client._wall_ms(),
        )  # fmt: skip
    assert ack.applied == 3 and not ack.quarantined
    got = central_rows(
        central_url,
        "SELECT customer_no, notes FROM customers WHERE customer_no IN ('M1', 'M2', 'M3') ORDER BY 1",
    )
    assert got == [("M1", "备注"), ("M2", ""), ("M3", "备注")]
    a.close()
