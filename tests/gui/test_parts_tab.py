"""The parts tab offscreen: receive, issue on a slip by scanning, print preview, void; sell over
the counter and print the receipt; the scanner rhythm."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrintPreviewWidget

from aftersales_desk.services.documents import DocumentService
from aftersales_desk.services.parts_catalog import PartsCatalog
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tasks import Ops
from tests.parts_helpers import make_shop

BARCODE = "6900000000001"  # P0001 of make_shop


@pytest.fixture
def tab(qtbot, db, admin):
    from aftersales_desk.ui.tabs.parts import PartsTab

    make_shop(db, admin)
    ops = Ops()
    widget = PartsTab(AppContext(db, admin, ops))
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    ops.wait_idle()


def scan(qtbot, edit, code):
    edit.clear()
    qtbot.keyClicks(edit, code)  # as fast as a scanner
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def pages_of(dialog) -> int:
    widget = dialog.findChild(QPrintPreviewWidget)
    widget.updatePreview()
    return widget.pageCount()


def test_receive_issue_by_scanning_preview_and_void(qtbot, tab, db, admin):
    receive = tab.stock.open_document("receipt")
    scan(qtbot, receive.part_field.edit, BARCODE)
    assert receive.table.rowCount() == 1
    receive.table.cellWidget(0, 3).setValue(5)
    receive.on_post()
    qtbot.waitUntil(lambda: receive.number is not None)
    assert receive.number == "BJ01-A-RK000001"
    pid = PartsCatalog(db, admin).find_by_code(BARCODE).id
    assert PartsCatalog(db, admin).get(pid).on_hand == 5

    issue = tab.stock.open_document("issue")
    issue.ed_technician.setText("李师傅")
    scan(qtbot, issue.part_field.edit, BARCODE)
    scan(qtbot, issue.part_field.edit, BARCODE)
    assert issue.table.rowCount() == 1 and issue.table.cellWidget(0, 3).value() == 2
    assert "P0001" in issue.part_field.label.text()
    issue.on_post()
    qtbot.waitUntil(lambda: issue.number is not None)
    assert issue.number == "BJ01-A-000001"
    assert PartsCatalog(db, admin).get(pid).on_hand == 3

    docs = tab.documents
    tab.pages.setCurrentWidget(docs)
    docs.reload()
    assert docs.select_number("BJ01-A-000001")
    docs.on_preview()
    assert pages_of(docs.preview_dialog) == 1
    docs.preview_dialog.close()

    docs.void("BJ01-A-000001", "领料人填错")
    qtbot.waitUntil(
        lambda: DocumentService(db, admin).page(kinds=("issue",)).rows[0].status == "void"
    )
    assert PartsCatalog(db, admin).get(pid).on_hand == 5
    qtbot.waitUntil(lambda: docs.model.rowCount() > 0 and docs.model.row(0).status == "void")


def test_sell_over_the_counter_and_print_receipt(qtbot, tab, db, admin):
    receive = tab.stock.open_document("receipt")
    scan(qtbot, receive.part_field.edit, BARCODE)
    receive.table.cellWidget(0, 3).setValue(3)
    receive.on_post()
    qtbot.waitUntil(lambda: receive.number is not None)

    sale = tab.sale
    tab.pages.setCurrentWidget(sale)
    scan(qtbot, sale.part_field.edit, BARCODE)
    assert sale.table.rowCount() == 1
    sale.cb_payment.setCurrentIndex(sale.cb_payment.findData("wechat"))
    sale.ed_customer.setText("张先生")
    sale.on_sell()
    qtbot.waitUntil(lambda: sale.last_number is not None)
    assert sale.last_number == "BJ01-A-LS000001"
    assert sale.btn_receipt.isEnabled()
    sale.on_receipt()
    qtbot.waitUntil(lambda: sale.preview_dialog is not None)
    assert pages_of(sale.preview_dialog) == 1
    sale.preview_dialog.close()
    row = DocumentService(db, admin).page(kinds=("sale",)).rows[0]
    assert (row.total, row.print_count, row.party) == (1500, 1, "张先生")
    sale.cb_receipt_size.setCurrentIndex(1)  # A5
    first = sale.preview_dialog
    sale.on_receipt()
    qtbot.waitUntil(lambda: sale.preview_dialog is not first)
    assert pages_of(sale.preview_dialog) == 1
    sale.preview_dialog.close()
    assert DocumentService(db, admin).page(kinds=("sale",)).rows[0].print_count == 2


def test_scanner_rhythm_and_search(qtbot, tab):
    from aftersales_desk.ui.tabs.parts.scanner import ScanLineEdit

    edit = ScanLineEdit()
    qtbot.addWidget(edit)
    got = []
    edit.sig_code.connect(lambda code, scanned: got.append((code, scanned)))
    qtbot.keyClicks(edit, "P0002")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    edit.clear()
    qtbot.keyClicks(edit, "P0003", delay=80)  # a person typing
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert got == [("P0002", True), ("P0003", False)]
    scan(qtbot, tab.stock.search, "6900000000002")
    assert tab.stock.model.rowCount() == 1 and tab.stock.model.row(0).part_no == "P0002"


def test_import_from_the_window_shows_rejected_rows(qtbot, tab, tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "parts.xlsx"
    wb = Workbook()
    wb.active.append(["零件号", "名称", "售价"])
    wb.active.append(["NEW-1", "火花塞", "12.5"])
    wb.active.append(["NEW-2", "", "1"])
    wb.save(path)
    tab.stock.import_file(path)
    qtbot.waitUntil(lambda: tab.stock.import_message is not None)
    assert tab.stock.last_import.created == 1
    assert "row 3, column 名称" in tab.stock.import_message.text()
    tab.stock.import_message.close()
    tab.pages.setCurrentWidget(tab.documents)
    tab.pages.setCurrentWidget(tab.stock)  # refreshed when shown again
    assert any(tab.stock.model.row(i).part_no == "NEW-1" for i in range(tab.stock.model.rowCount()))


def test_scanning_into_the_barcode_field_does_not_close_the_part_dialog(qtbot):
    from aftersales_desk.ui.tabs.parts.dialogs import PartDialog

    dlg = PartDialog(None)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.ed_no.setText("N-1")
    dlg.ed_name.setText("火花塞")
    qtbot.keyClicks(dlg.ed_barcode, "6912345678901")
    qtbot.keyClick(dlg.ed_barcode, Qt.Key.Key_Return)
    assert dlg.isVisible() and dlg.result() == 0
    assert dlg.value().barcode == "6912345678901"
