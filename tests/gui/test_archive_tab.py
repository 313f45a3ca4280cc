"""The archive tab offscreen: add a customer with a vehicle and a visit, find them by pinyin
initials and by a plate fragment, tick a document of the paper file."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from aftersales_desk.services.archive import CustomerInput
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tabs.archive import dialogs
from aftersales_desk.ui.tabs.archive.tab import ArchiveTab
from aftersales_desk.ui.tasks import Ops

VIN = "LSGPC54U7BF000016"


@pytest.fixture
def tab(qtbot, db, admin):
    ctx = AppContext(db=db, actor=admin, ops=Ops())
    widget = ArchiveTab(ctx)
    qtbot.addWidget(widget)
    widget.resize(1400, 800)
    widget.show()
    yield widget
    ctx.ops.wait_idle()


def _card(tab):
    return tab.card_view.card


def test_add_customer_vehicle_visit_search_and_tick(qtbot, tab, monkeypatch):
    def fill_customer(dlg):
        dlg.ed_name.setText("张三")
        dlg.ed_phone.setText("+86 138 1234 5678")
        dlg.ed_region.setText("朝阳")
        dlg.vehicle.ed_vin.setText(VIN)
        dlg.vehicle.ed_plate.setText("京A·12345")
        dlg.vehicle.ed_brand.setText("别克")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(dialogs.CustomerDialog, "exec", fill_customer)
    tab.on_new_customer()
    qtbot.waitUntil(lambda: _card(tab) is not None and _card(tab).name == "张三", timeout=10000)
    card = _card(tab)
    assert card.vehicles[0].plate == "京A12345" and card.phone == "138****5678"
    assert tab.card_view.vehicles.item(0, 0).text() == "京A12345"

    def fill_visit(dlg):
        dlg.cb_kind.setCurrentIndex(dlg.cb_kind.findData("maintenance"))
        dlg.sp_km.setValue(5000)
        dlg.ed_items.setText("更换机油、机滤")
        dlg.ed_labour.setText("120")
        dlg.ed_parts_amount.setText("¥280.50")
        dlg.ed_declined.setText("建议更换雨刮片")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(dialogs.VisitDialog, "exec", fill_visit)
    tab.on_add_visit()
    qtbot.waitUntil(lambda: len(_card(tab).visits) == 1, timeout=10000)
    visit = _card(tab).visits[0]
    assert visit.amount_minor == 40050 and visit.vehicle_id == card.vehicles[0].id
    assert tab.card_view.visits.rowCount() == 1
    assert "建议更换雨刮片" in tab.card_view.lbl_advice.text()

    # another customer, so that the searches below have something to leave out
    tab.service.create_customer(CustomerInput(name="李四", phone="13900001111"))

    for query in ("zs", "A123"):
        tab.ed_search.clear()
        qtbot.keyClicks(tab.ed_search, query)
        qtbot.waitUntil(lambda: tab.lbl_hits.text() == "1 found", timeout=10000)
        assert tab.model.rowCount() == 1 and tab.model.row(0).name == "张三"

    tab.ed_search.clear()
    qtbot.keyClicks(tab.ed_search, "zzzzzz")
    qtbot.waitUntil(lambda: tab.lbl_hits.text() == "0 found", timeout=10000)
    assert tab.model.rowCount() == 0

    tab.ed_search.clear()
    qtbot.keyClicks(tab.ed_search, "zhangsan")
    qtbot.waitUntil(lambda: tab.lbl_hits.text() == "1 found", timeout=10000)
    qtbot.waitUntil(lambda: _card(tab) is not None and _card(tab).name == "张三", timeout=10000)
    item = tab.card_view.documents.item(0)
    name = item.data(Qt.ItemDataRole.UserRole)
    assert item.checkState() == Qt.CheckState.Unchecked
    item.setCheckState(Qt.CheckState.Checked)
    qtbot.waitUntil(
        lambda: _card(tab).documents[0].received and _card(tab).documents[0].name == name,
        timeout=10000,
    )
    assert "9" in tab.card_view.lbl_missing.text()


def test_reveal_shows_numbers(qtbot, tab):
    saved = tab.service.create_customer(CustomerInput(name="王五", phone="13812345678"))
    tab.refresh()
    tab.select_customer(saved.id)
    qtbot.waitUntil(lambda: _card(tab) is not None and _card(tab).id == saved.id, timeout=10000)
    assert _card(tab).phone == "138****5678"
    tab.on_reveal()
    qtbot.waitUntil(lambda: _card(tab).revealed, timeout=10000)
    assert _card(tab).phone == "13812345678"
    assert not tab.card_view.btn_reveal.isEnabled()


def test_a_late_masked_read_does_not_cover_the_revealed_card(qtbot, tab, monkeypatch):
    """Reads run on the reader pool and the audited reveal on the writer: they may finish in any
    order. A masked read that was asked for first and answers last must not be shown."""
    import threading

    saved = tab.service.create_customer(CustomerInput(name="钱七", phone="13912345678"))
    card = tab.service.card
    release = threading.Event()

    def slow_masked(customer_id, *, reveal=False):
        if not reveal:
            release.wait(10)
        return card(customer_id, reveal=reveal)

    monkeypatch.setattr(tab.service, "card", slow_masked)
    tab.load_card(saved.id)
    tab.on_reveal()
    qtbot.waitUntil(lambda: _card(tab) is not None and _card(tab).revealed, timeout=10000)
    release.set()
    tab.ctx.ops.wait_idle()
    qtbot.wait(50)  # let the late answer's signal be delivered
    assert _card(tab).revealed and _card(tab).phone == "13912345678"


def test_lost_customers_dialog_records_a_reason(qtbot, tab, monkeypatch):
    from datetime import date, timedelta

    from aftersales_desk.services.archive import VehicleInput, VisitInput
    from aftersales_desk.ui.tabs.archive.lists import LostDialog

    saved = tab.service.create_customer(
        CustomerInput(name="赵六", phone="13700001111"), VehicleInput(plate="京B22222")
    )
    vehicle = tab.service.card(saved.id).vehicles[0]
    tab.service.add_visit(
        saved.id,
        VisitInput(
            visit_date=date.today() - timedelta(days=400), kind="repair", vehicle_id=vehicle.id
        ),
    )
    dlg = LostDialog(tab.ctx, tab)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 1, timeout=10000)
    assert dlg.model.row(0).plate == "京B22222" and dlg.model.row(0).phone == "137****1111"
    assert "1" in dlg.lbl_churn.text() and len(dlg.churn) == LostDialog.CHURN_MONTHS

    def give_reason(d):
        d.cb_reason.setCurrentIndex(d.cb_reason.findData("competitor"))
        d.ed_note.setText("去了另一家4S店")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(dialogs.LostReasonDialog, "exec", give_reason)
    dlg.view.selectRow(0)
    dlg.on_reason()
    qtbot.waitUntil(lambda: dlg.rows[0].reason != "", timeout=10000)
    assert dlg.rows[0].reason == "competitor"


def test_import_dialog_previews_then_imports(qtbot, tab, tmp_path, monkeypatch):
    from openpyxl import Workbook

    from aftersales_desk.ui.tabs.archive.lists import ImportDialog

    path = tmp_path / "客户.xlsx"
    wb = Workbook()
    wb.active.append(["客户档案"])
    wb.active.append(["客户名称", "手机", "车牌号", "购车日期"])
    wb.active.append(["王小明", 13800001111, "京A12345", "2023/5/6"])
    wb.active.append(["钱七", "12345", "京A54321", "2023年13月1日"])
    wb.save(path)
    dlg = ImportDialog(tab.ctx, tab)
    qtbot.addWidget(dlg)
    dlg.preview(path)
    qtbot.waitUntil(lambda: dlg.problems.rowCount() > 0, timeout=10000)
    cells = {(dlg.problems.item(i, 0).text(), dlg.problems.item(i, 1).text()) for i in range(2)}
    assert ("4", "手机") in cells or ("4", "购车日期") in cells
    assert dlg.btn_import.isEnabled()
    assert tab.service.page().rows == []  # the preview saved nothing
    from PySide6.QtWidgets import QMessageBox

    told = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: told.append(a))
    dlg.btn_import.click()
    qtbot.waitUntil(lambda: bool(told), timeout=10000)
    assert [r.name for r in tab.service.page().rows] == ["王小明"]
    assert not dlg.btn_import.isEnabled()
