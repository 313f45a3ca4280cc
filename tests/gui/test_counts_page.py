"""The stock count page offscreen: open a blind count, scan lines (bin label, parts, a typed
quantity), see a variance, recount, approve, post."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from aftersales_desk.services.counts import CountScope, StockCounts
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.parts_catalog import PartsCatalog
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tasks import Ops
from tests.parts_helpers import make_shop


@pytest.fixture
def page(qtbot, db, admin):
    from aftersales_desk.ui.tabs.parts import PartsTab

    shop = make_shop(db, admin)
    DocumentService(db, admin).receive(
        [
            LineInput(shop.parts["P0001"], shop.bins["A-01"], 10, 100),
            LineInput(shop.parts["P0002"], shop.bins["A-01"], 4, 200),
        ]
    )
    ops = Ops()
    tab = PartsTab(AppContext(db, admin, ops))
    qtbot.addWidget(tab)
    tab.resize(1300, 850)
    tab.show()
    tab.pages.setCurrentWidget(tab.counts)
    yield tab.counts, shop
    ops.wait_idle()


def scan(qtbot, edit, code):
    qtbot.keyClicks(edit, code)  # as fast as a scanner
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def typed(qtbot, edit, text):
    for ch in text:  # slower than a scanner: a person typing
        qtbot.keyClick(edit, ch)
        qtbot.wait(80)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def line(page, part_no):
    for i in range(page.lines_model.rowCount()):
        row = page.lines_model.row(i)
        if row.part_no == part_no:
            return row
    raise AssertionError(part_no)


def test_blind_count_scan_variance_recount_approve_post(qtbot, page, db, admin):
    counts, shop = page
    counts.start(CountScope(bins=("A-01",)), blind=True, note="月末")
    qtbot.waitUntil(lambda: counts.number is not None and counts.index is not None)
    assert counts.title.text().endswith("blind")
    assert counts.lines_model.rowCount() == 3  # P0001, P0002 and P0003 (default bin, zero)

    scan(qtbot, counts.scan_edit, "A-01")  # a bin label: the current bin
    assert counts.bin_box.currentText() == "A-01"
    for _ in range(3):
        scan(qtbot, counts.scan_edit, "6900000000001")
    qtbot.waitUntil(lambda: counts.pending_scans == 0 and line(counts, "P0001").counted_qty == 3)
    typed(qtbot, counts.scan_edit, "6")  # the last scan was six pieces: 3 − 1 + 6 = 8
    qtbot.waitUntil(lambda: counts.pending_scans == 0 and line(counts, "P0001").counted_qty == 8)
    scan(qtbot, counts.scan_edit, "6900000000002")
    typed(qtbot, counts.scan_edit, "4")  # at once, while the scan may still be being written
    qtbot.waitUntil(lambda: counts.pending_scans == 0 and line(counts, "P0002").counted_qty == 4)
    scan(qtbot, counts.scan_edit, "NOSUCH-1")
    qtbot.waitUntil(lambda: counts.pending_scans == 0)
    assert "NOSUCH-1" in counts.scan_label.text()

    # the manager sees the variance live (10 expected, 8 counted)
    assert (line(counts, "P0001").expected, line(counts, "P0001").variance) == (10, -2)
    counts.on_mark_rest()
    qtbot.waitUntil(lambda: line(counts, "P0003").counted)
    counts.submit()
    qtbot.waitUntil(lambda: counts.last_submit is not None)
    assert counts.last_submit.recounts == 1 and not counts.last_submit.submitted
    qtbot.waitUntil(lambda: counts.lines_model.rowCount() == 1)  # the "to recount" filter
    assert line(counts, "P0001").recount_needed and line(counts, "P0001").pass_no == 2

    # the recount finds one more: 9
    scan(qtbot, counts.scan_edit, "P0001")
    qtbot.waitUntil(lambda: counts.pending_scans == 0)
    typed(qtbot, counts.scan_edit, "9")
    qtbot.waitUntil(lambda: counts.pending_scans == 0 and line(counts, "P0001").counted_qty == 9)
    counts.last_submit = None
    counts.submit()
    qtbot.waitUntil(lambda: counts.last_submit is not None)
    assert counts.last_submit.submitted and counts.last_submit.variance_lines == 1
    counts.filter_box.setCurrentIndex(2)  # with variance
    qtbot.waitUntil(lambda: counts.lines_model.rowCount() == 1)
    row = line(counts, "P0001")
    assert (row.variance, row.reason) == (-1, "shortage")
    assert counts.btn_approve.isEnabled() and not counts.btn_post.isEnabled()

    counts.approve()
    qtbot.waitUntil(lambda: counts.btn_post.isEnabled())
    counts.post()
    qtbot.waitUntil(lambda: StockCounts(db, admin).view(counts.number).status == "posted")
    qtbot.waitUntil(lambda: "TZ000001" in counts.scan_label.text())
    assert PartsCatalog(db, admin).get(shop.parts["P0001"]).on_hand == 9
    assert not counts.scan_edit.isEnabled()
    assert counts.btn_result.isEnabled()


def test_tolerance_dialog_saves_per_category(qtbot, page, db, admin):
    from aftersales_desk.ui.tabs.parts.counts import ToleranceDialog

    counts, _shop = page
    dlg = ToleranceDialog(counts.service.tolerance(), ["滤清器"], counts)
    qtbot.addWidget(dlg)
    assert dlg.values() == {"*": [0, 0], "滤清器": [0, 0]}
    dlg.table.cellWidget(1, 1).setValue(2)
    dlg.table.cellWidget(1, 2).setValue(5)
    counts.service.save_tolerance(dlg.values())
    assert counts.service.tolerance() == {"*": [0, 0], "滤清器": [2, 5]}
