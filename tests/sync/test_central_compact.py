"""Compaction of central's change log (issue 9, optional part): only changes no device needs,
wherever its cursor is; a desk behind and a new desk end in the same state."""

from __future__ import annotations

import json

from aftersales_desk.services.sync.central_compact import compact, removable
from tests.integration.test_cli import run
from tests.sync.helpers import central_rows, join_desk, synced_state

OLD, NEW, CUT = 1_000, 3_000, 2_000


def test_the_rule_for_one_row():
    # latest first: (seq, op, columns, clock ms)
    edits = [(4, "U", ["phone"], OLD), (3, "U", ["phone", "name"], OLD), (2, "U", ["phone"], OLD)]
    # seq 3 alone carries name later than the insert: it stays; the insert stays while the
    # row lives
    assert removable([*edits, (1, "I", ["id", "name", "phone"], OLD)], CUT) == [2]
    # a later edit of both columns covers all three
    assert removable([(5, "U", ["name", "phone"], OLD), *edits, (1, "I", ["x"], OLD)], CUT) == [
        4,
        3,
        2,
    ]
    # a later delete: everything before it goes, the delete stays
    assert removable([(9, "D", None, OLD), *edits, (1, "I", ["x"], OLD)], CUT) == [4, 3, 2, 1]
    # younger than the cut-off: kept
    assert removable([(9, "D", None, NEW), (2, "U", ["a"], NEW), (1, "I", ["a"], NEW)], CUT) == []
    # a delete, then the row inserted again: the new life is kept whole
    assert removable([(3, "I", ["a"], OLD), (2, "D", None, OLD), (1, "I", ["a"], OLD)], CUT) == [1]


def test_compaction_keeps_what_any_device_needs(desks, central_url, tmp_path):
    a, b = desks
    keep = a.add_customer("C0001", "张三", "13800000000")
    gone = a.add_customer("C0002", "李四", "13800000001")
    a.sync()
    b.sync()  # B's cursor is here: it has both customers
    for phone in ("13900000001", "13900000002", "13900000003"):
        a.edit_customer(keep, phone=phone)
    a.edit_customer(gone, phone="13700000000")
    a.delete_customer(gone)
    a.sync()
    before = central_rows(central_url, "SELECT count(*) FROM sync_changes")[0][0]
    assert compact(central_url, before_days=1).removed == 0  # everything is younger
    result = compact(central_url, before_days=0)
    assert result.removed >= 4 and 0 < result.examined < before  # ledgers are not examined
    after = central_rows(central_url, "SELECT count(*) FROM sync_changes")[0][0]
    assert after == before - result.removed
    # the deleted customer's insert and edits are gone, its delete is kept
    ops = central_rows(
        central_url, "SELECT op FROM sync_changes WHERE tbl = 'customers' AND pk = %s", (gone.hex,)
    )
    assert [o.strip() for (o,) in ops] == ["D"]
    # the desk that was behind and a brand-new desk both end where A is
    b.sync()
    c = join_desk(tmp_path, a.url, "C")
    try:
        c.sync()
        a.sync()
        b.sync()
        assert b.customer(keep)["phone"] == "13900000003" and b.customer(gone) is None
        assert c.customer(keep)["phone"] == "13900000003" and c.customer(gone) is None
        assert synced_state(a) == synced_state(b) == synced_state(c)
    finally:
        c.close()


def test_compact_command(desks, central_url):
    a, _b = desks
    r = run("central", "compact", "--url", central_url, "--before", "30", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["removed"] == 0
    r = run("central", "compact", "--url", central_url, "--lang", "en")
    assert r.returncode == 2 and "--before" in r.stderr
    r = run("central", "compact", "--url", a.url, "--before", "0", "--lang", "en")
    assert r.returncode == 4 and "head office" in r.stderr
