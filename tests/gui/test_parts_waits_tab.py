"""The parts tab and work orders waiting for parts 待件工单, offscreen: record a wait by scanning
the work order and the part, receive the part, see the wait flagged (green row, status-bar
message), issue the part to the work order from the list; the order's parts with their cost."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from aftersales_desk.services.archive_work_orders import WorkOrderService
from aftersales_desk.services.part_waits import PartWaits
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tasks import Ops
from tests.parts_helpers import make_shop, make_work_order

BARCODE = "6900000000001"  # P0001 of make_shop


@pytest.fixture
def ctx(qapp, db, admin):
    ops = Ops()
    context = AppContext(db, admin, ops)
    yield context
    ops.wait_idle()


@pytest.fixture
def tab(qtbot, ctx, db, admin):
    from aftersales_desk.ui.tabs.parts import PartsTab

    make_shop(db, admin)
    widget = PartsTab(ctx)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    return widget


def scan(qtbot, edit, code):
    edit.clear()
    qtbot.keyClicks(edit, code)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def arrived_message(ctx) -> str:
    return ctx.status.text("parts_arrived")


def test_wait_receive_flag_and_issue_to_the_work_order(qtbot, tab, ctx, db, admin):
    from aftersales_desk.ui.tabs.parts.watch import ArrivalsWatcher

    wo = make_work_order(db, admin)
    watcher = ArrivalsWatcher(ctx, tab)
    qtbot.waitUntil(lambda: not watcher._busy)
    assert arrived_message(ctx) == ""

    waits = tab.waits
    tab.pages.setCurrentWidget(waits)
    dlg = waits.open_register()
    dlg.accept()  # nothing scanned yet: the dialog stays open and says what is missing
    assert dlg.isVisible() and "work order" in dlg.order_field.label.text()
    scan(qtbot, dlg.order_field.edit, wo.number)
    assert dlg.order_field.order is not None and "张三" in dlg.order_field.label.text()
    scan(qtbot, dlg.part_field.edit, BARCODE)
    dlg.qty.setValue(2)
    dlg.accept()
    qtbot.waitUntil(lambda: waits.model.rowCount() == 1)
    row = waits.model.row(0)
    assert (row.work_order_no, row.part_no, row.qty, row.arrived) == (wo.number, "P0001", 2, False)
    assert WorkOrderService(db, admin).get(wo.id).status == "waiting_parts"

    # the part comes in on a receipt note: the wait is flagged, the row turns green
    receive = tab.stock.open_document("receipt")
    scan(qtbot, receive.part_field.edit, BARCODE)
    receive.table.cellWidget(0, 3).setValue(5)
    receive.on_post()
    qtbot.waitUntil(lambda: receive.number is not None)
    qtbot.waitUntil(lambda: waits.model.rowCount() == 1 and waits.model.row(0).arrived)
    index = waits.model.index(0, 0)
    assert waits.model.data(index, Qt.ItemDataRole.BackgroundRole) is not None
    assert waits.model.row(0).arrival_document == receive.number
    assert "1" in waits.lbl_summary.text()
    qtbot.waitUntil(lambda: "1" in arrived_message(ctx))
    posted = ctx.status.items["parts_arrived"]
    tooltip = posted.tooltip
    assert posted.tab == "parts" and "1" in posted.short
    assert wo.number in tooltip and "P0001" in tooltip

    # issue it to the work order from the list: the slip names the order and the missing pieces
    assert waits.select_wait(row.id)
    issue = waits.issue_selected()
    assert issue.wo_field.order is not None and issue.wo_field.order.number == wo.number
    assert issue.table.rowCount() == 1 and issue.table.cellWidget(0, 3).value() == 2
    issue.on_post()
    qtbot.waitUntil(lambda: issue.number is not None)
    qtbot.waitUntil(lambda: waits.model.rowCount() == 0)
    assert WorkOrderService(db, admin).get(wo.id).status == "dispatched"
    qtbot.waitUntil(lambda: arrived_message(ctx) == "")
    (done,) = PartWaits(db, admin).page(open_only=False).rows
    assert done.status == "fulfilled"

    # the work order's parts, with their cost
    page = tab.work_orders
    tab.pages.setCurrentWidget(page)
    assert page.select_order(wo.number)
    assert page.lines.rowCount() == 1
    line = page.lines.row(0)
    assert (line.document, line.part_no, line.qty, line.cost) == (issue.number, "P0001", 2, 2000)
    assert "20.00" in page.lbl_totals.text()

    # return one piece from the order
    ret = page.open_document("return")
    assert ret.wo_field.order is not None
    scan(qtbot, ret.part_field.edit, BARCODE)
    ret.on_post()
    qtbot.waitUntil(lambda: ret.number is not None)
    qtbot.waitUntil(lambda: page.lines.rowCount() == 2)
    assert page.lines.row(1).qty == -1 and "10.00" in page.lbl_totals.text()


def test_scanning_an_unknown_work_order_says_so(qtbot, tab):
    dlg = tab.stock.open_document("issue")
    scan(qtbot, dlg.wo_field.edit, "WO7654321")
    assert dlg.wo_field.order is None
    assert "WO7654321" in dlg.wo_field.label.text()
