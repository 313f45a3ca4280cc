"""The pull cursor never skips a late commit; protocol/schema versions; clocks that jump
(acceptance 6 and 7 of issue 9)."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.domain.hlc import Stamp
from aftersales_desk.services.sync import central
from tests.sync.helpers import Desk, central_rows, synced_state

DAY_MS = 24 * 3600 * 1000


def _insert_part(conn: psycopg.Connection, no: str) -> uuid.UUID:
    pid = uuid.uuid4()
    conn.execute(
        "INSERT INTO parts (id, part_no, name, model_fit, unit, purchase_price, sale_price, "
        "default_bin, min_qty, max_qty, category, barcode, active, created_at, updated_at) "
        "VALUES (%s, %s, '刹车片', '', '套', 100, 200, '', 0, 0, '', '', true, now(), now())",
        (pid, no),
    )
    return pid


def test_a_transaction_committing_late_still_reaches_a_device(desks, central_url):
    a, _b = desks
    long = psycopg.connect(central_url)  # central staff editing the catalogue, slowly
    p1 = _insert_part(long, "LATE-1")  # its change gets the lower sequence number
    with psycopg.connect(central_url) as quick:
        p2 = _insert_part(quick, "QUICK-2")  # commits first
    seqs = dict(central_rows(central_url, "SELECT pk, seq FROM sync_changes WHERE tbl = 'parts'"))
    assert p2.hex in seqs  # the quick one is visible, the long one not yet
    a.sync()  # pulls in between: the quick change is held back behind the running one
    assert a.rows("SELECT part_no FROM parts WHERE part_no IN ('LATE-1', 'QUICK-2')") == []
    long.commit()
    long.close()
    a.sync()
    got = sorted(r[0] for r in a.rows("SELECT part_no FROM parts"))
    assert "LATE-1" in got and "QUICK-2" in got
    assert a.one("SELECT count(*) FROM parts WHERE id IN (?, ?)", (p1.hex, p2.hex)) == 2


def test_a_device_outside_the_accepted_schema_range_is_refused_with_nothing_applied(
    desks, central_url
):
    a, _b = desks
    a.add_customer("V0001", "周九")
    before = central_rows(central_url, "SELECT count(*) FROM sync_batches")
    with psycopg.connect(central_url) as conn:
        accepted = conn.execute("SELECT value FROM sync_meta WHERE key = 'revisions'").fetchone()
    assert "0001_core" not in accepted[0]
    a.rows("UPDATE alembic_version SET version_num = '0001_core'")
    with pytest.raises(central.VersionRefused, match="does not accept this program"):
        a.sync()
    assert central_rows(central_url, "SELECT count(*) FROM sync_batches") == before
    assert a.one("SELECT count(*) FROM sync_outbox") > 0


def test_a_device_one_revision_behind_syncs_without_loss(desks, central_url):
    a, b = desks
    with psycopg.connect(central_url) as conn:
        accepted = conn.execute("SELECT value FROM sync_meta WHERE key = 'revisions'").fetchone()
    previous = accepted[0][1]
    # desk A runs the previous program: its customers table lacks a column central has
    with cap_conn(a) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (previous,))
        cap.drop_capture(conn)
        conn.execute("ALTER TABLE customers DROP COLUMN notes")
        cap.ensure_capture(conn)
        cid = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, "
            "address, region, id_number, club_member, vip, consent_call, created_at, "
            "updated_at) SELECT ?, branch_id, 'OLD1', '吴十', 'person', '13500000000', '', "
            "'', '', '', 0, 0, 1, '2026-11-23 08:00:00.000000', '2026-11-23 08:00:00.000000' "
            "FROM branches, devices WHERE devices.is_local = 1",
            (cid,),
        )
    a.sync()
    b.sync()
    assert b.rows("SELECT name, phone, notes FROM customers WHERE id = ?", (cid,)) == [
        ("吴十", "13500000000", "")
    ]
    b.edit_customer(uuid.UUID(cid), phone="13500000001", notes="老客户")
    b.sync()
    a.sync()
    assert a.rows("SELECT phone FROM customers WHERE id = ?", (cid,)) == [("13500000001",)]
    assert central_rows(
        central_url, "SELECT notes FROM customers WHERE id = %s", (uuid.UUID(cid),)
    ) == [("老客户",)]


class cap_conn:
    def __init__(self, desk: Desk) -> None:
        import sqlite3

        self.conn = sqlite3.connect(desk.path)

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.commit()
        self.conn.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_a_clock_two_days_fast_neither_goes_back_nor_wins(desks, central_url):
    a, b = desks
    cid = a.add_customer("K0001", "郑十一", "13000000000")
    a.sync()
    b.sync()
    # desk A ran two days ahead and wrote with that clock; now its clock is right again
    future = Stamp(_now_ms() + 2 * DAY_MS, 5, a.one("SELECT id FROM devices WHERE is_local = 1"))
    a.rows("UPDATE sync_state SET hlc_floor = ?", (future.encode(),))
    a.edit_customer(cid, phone="13000000001")
    stamp = Stamp.decode(a.one("SELECT max(hlc) FROM sync_outbox"))
    assert (stamp.wall, stamp.counter) > (future.wall, future.counter)  # monotonic
    result = a.sync()
    assert result.skewed  # flagged
    time.sleep(0.01)
    b.edit_customer(cid, phone="13000000002")  # later in real time
    b.sync()
    a.sync()
    # A's stamp was taken as central's time of arrival, so B's later edit wins everywhere
    assert a.customer(cid)["phone"] == b.customer(cid)["phone"] == "13000000002"
    assert synced_state(a) == synced_state(b)


def test_a_future_stamp_from_central_does_not_drag_the_device_clock(desks, central_url):
    a, _b = desks
    far = Stamp(_now_ms() + 2 * DAY_MS, 0, "f" * 32).encode()
    with psycopg.connect(central_url) as conn:
        conn.execute(
            "INSERT INTO sync_changes (branch_id, tbl, pk, op, cols, hlc) "
            "VALUES (NULL, 'parts', %s, 'D', NULL, %s)",
            (uuid.uuid4().hex, far),
        )
    result = a.sync()
    assert result.skewed and result.pulled == 1
    floor = a.one("SELECT hlc_floor FROM sync_state")
    assert floor < far
    cid = a.add_customer("K0002", "王十二")
    assert a.one("SELECT max(hlc) FROM sync_outbox") < far
    assert cid is not None
    assert cap.NO_NODE not in a.one("SELECT max(hlc) FROM sync_outbox")
