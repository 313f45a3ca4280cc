"""A stock count posted on one desk (the bulk path: movements and their sync capture written
set-based, one audit entry for the document) reaches central under the branch's role and the
other desk of the branch, which ends with the same ledger and the same stock."""

from __future__ import annotations

from tests.sync.helpers import (
    central_rows,
    derived_state,
    synced_state,
)
from tests.sync.test_two_desks import _add_parts_on_central


def test_a_posted_count_syncs_to_central_and_the_other_desk(desks, central_url):
    from aftersales_desk.services.counts import CountScope, StockCounts
    from aftersales_desk.services.documents import DocumentService, LineInput
    from aftersales_desk.services.integrity import run_checks
    from aftersales_desk.services.parts_catalog import PartsCatalog
    from aftersales_desk.services.settings import SettingsService

    a, b = desks
    parts = _add_parts_on_central(central_url, 3)
    a.sync()
    shelf = PartsCatalog(a.db, a.actor).save_bin("A-01", "货架 A-01")
    DocumentService(a.db, a.actor).receive([LineInput(p, shelf, 10, 1000) for p in parts])
    SettingsService(a.db, a.actor).update({"counts_tolerance": {"*": [100_000, 0]}})
    counts = StockCounts(a.db, a.actor)
    number = counts.start(CountScope(), blind=False)
    idx = counts.scan_index(number)
    for part_no, qty in (("P0001", 8), ("P0002", 10), ("P0003", 13)):
        counts.scan(idx, part_no, qty=qty)
    counts.mark_counted(number)
    counts.submit(number)
    counts.approve(number)
    doc = counts.post(number)
    # captured set-based, in the posting's transaction: one outbox row per movement
    assert (
        a.one(
            "SELECT count(*) FROM sync_outbox AS o JOIN stock_movements AS m ON m.id = o.pk "
            "WHERE o.tbl = 'stock_movements' AND m.kind = 'adjust'"
        )
        == 2
    )
    for _round in range(2):
        a.sync()
        b.sync()
    assert a.one("SELECT count(*) FROM sync_outbox") == 0
    assert synced_state(a) == synced_state(b)
    assert derived_state(a) == derived_state(b)
    assert sorted(
        b.rows(
            "SELECT m.qty FROM stock_movements AS m JOIN stock_documents AS d "
            "ON d.id = m.document_id WHERE d.number = ?",
            (doc,),
        )
    ) == [(-2,), (3,)]
    assert b.one("SELECT sum(qty) FROM stock_balances") == 31
    assert (
        b.one("SELECT count(*) FROM audit_log WHERE action = 'post' AND note = ?", (number,)) == 1
    )
    assert central_rows(
        central_url, "SELECT count(*) FROM stock_movements WHERE kind = 'adjust'"
    ) == [(2,)]
    assert [p for p in run_checks(b.db).problems if "tock" in p] == []
