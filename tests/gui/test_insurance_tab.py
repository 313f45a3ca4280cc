"""The insurance tab offscreen: enter a policy for an archive vehicle, see it in the renewal
pipeline, mark it renewed (the renewal linked); a refused policy keeps its dialog open; the other
pages and the daily figures show what was entered."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QDialog

from aftersales_desk.domain.roles import Role
from aftersales_desk.services.insurance import InsuranceService
from aftersales_desk.ui.tabs.insurance.dialogs import to_qdate
from tests.insurance_helpers import add_vehicle


def _settle(qtbot, ctx) -> None:
    for _i in range(4):
        ctx.ops.wait_idle()
        qtbot.wait(20)


def _select(view, row: int) -> None:
    view.selectionModel().select(
        view.model().index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def test_enter_a_policy_see_it_in_the_pipeline_and_mark_it_renewed(
    qtbot, db, admin, make_actor, message_boxes
):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.tasks import Ops

    _cid, vehicle_id = add_vehicle(db, admin, "京A12345")
    clerk = make_actor(Role.CLERK)
    ctx = AppContext(db=db, actor=clerk, ops=Ops())
    window = MainWindow(ctx, branch_name="北京朝阳4S店")
    qtbot.addWidget(window)
    tab = window.show_tab("insurance")
    window.show()
    _settle(qtbot, ctx)
    assert tab.pipeline.model.rowCount() == 0

    # enter a compulsory policy that ends in 20 days, the vehicle found by its plate
    tab.pages.setCurrentWidget(tab.policies)
    _settle(qtbot, ctx)
    svc = InsuranceService(db, clerk)
    today = svc.today()
    dlg = tab.policies.open_dialog(svc.create_policy)
    dlg.ed_find.setText("A12345")
    dlg.on_find()
    assert dlg.cb_vehicle.count() == 1 and dlg.cb_vehicle.currentData() == vehicle_id
    dlg.ed_no.setText("PDZA2025110001")
    dlg.sp_premium.setValue(950)
    dlg.sp_rate.setValue(4)
    dlg.ed_start.setDate(to_qdate(today - timedelta(days=345)))  # end follows: a year less a day
    assert dlg.lbl_commission.text() == "¥38.00"
    dlg.accept()
    assert dlg.result() == QDialog.DialogCode.Accepted and not dlg.error
    tab.policies.saved()
    _settle(qtbot, ctx)
    rows = [tab.policies.model.row(r) for r in range(tab.policies.model.rowCount())]
    assert [(r.policy_no, r.plate, r.kind) for r in rows] == [
        ("PDZA2025110001", "京A12345", "compulsory")
    ]
    _select(tab.policies.view, 0)
    _settle(qtbot, ctx)
    assert tab.policies.vehicle_model.rowCount() == 1
    assert "京A12345" in tab.policies.lbl_vehicle.text()

    # the same number again is refused: a warning, the dialog stays open with what was typed
    again = tab.policies.open_dialog(svc.create_policy)
    again.ed_find.setText("京A12345")
    again.on_find()
    again.ed_no.setText("PDZA2025110001")
    again.sp_premium.setValue(950)
    again.accept()
    assert again.result() != QDialog.DialogCode.Accepted
    assert "PDZA2025110001 is already recorded" in again.error
    assert message_boxes and "already recorded" in message_boxes[-1][2]
    assert again.ed_no.text() == "PDZA2025110001"

    # the pipeline shows it in the 30-day bucket
    tab.pages.setCurrentWidget(tab.pipeline)
    _settle(qtbot, ctx)
    page = tab.pipeline
    assert page.model.rowCount() == 1
    row = page.model.row(0)
    assert (row.policy_no, row.bucket, row.days_left) == ("PDZA2025110001", "d30", 19)
    assert page.counts == {"expired": 0, "d30": 1, "d60": 0, "d90": 0}
    assert "1" in page.lbl_counts.text()

    # mark it renewed: the renewal form comes filled in for the next year
    _select(page.view, 0)
    assert page.buttons["renewed"].isEnabled()
    renewal = page.renewal_dialog(row)
    assert renewal.cb_vehicle.currentData() == vehicle_id
    assert renewal.ed_start.date() == to_qdate(row.end_date + timedelta(days=1))
    assert renewal.cb_business.currentData() == "renewal"
    renewal.ed_no.setText("PDZA2026110001")
    renewal.accept()
    assert renewal.result() == QDialog.DialogCode.Accepted, renewal.error
    page.saved()
    _settle(qtbot, ctx)
    assert page.model.rowCount() == 0  # nothing left to renew
    page.chk_closed.setChecked(True)
    _settle(qtbot, ctx)
    (closed,) = [page.model.row(r) for r in range(page.model.rowCount())]
    assert closed.renewal_status == "renewed"
    new = svc.policy(closed.renewed_by_id)
    assert new.policy_no == "PDZA2026110001" and new.vehicle_id == vehicle_id
    assert new.start_date == row.end_date + timedelta(days=1)

    # the figures count both policies issued today
    tab.pages.setCurrentWidget(tab.figures)
    _settle(qtbot, ctx)
    assert tab.figures.figures is not None and tab.figures.figures.policies_today == 2
    assert tab.figures.table.item(0, 1).text() == "2"
    window.close()


def test_steps_accidents_and_oil_pages(qtbot, ctx, db, admin, message_boxes):
    from aftersales_desk.ui.tabs.insurance.tab import InsuranceTab
    from tests.insurance_helpers import policy_input

    _c, v = add_vehicle(db, admin, "京A12345")
    svc = InsuranceService(db, admin)
    today = svc.today()
    svc.create_policy(policy_input(db, admin, "P1", v, today - timedelta(days=300)))
    tab = InsuranceTab(ctx)
    qtbot.addWidget(tab)
    tab.show()
    _settle(qtbot, ctx)
    page = tab.pipeline
    assert page.model.rowCount() == 1
    _select(page.view, 0)
    from aftersales_desk.ui.tabs.insurance.dialogs import RenewalStepDialog

    quoted = RenewalStepDialog(
        page.model.row(0), "quoted", lambda v: svc.set_renewal(page.model.row(0).id, **v)
    )
    quoted.sp_quote.setValue(880)
    quoted.accept()
    assert quoted.result() == QDialog.DialogCode.Accepted
    row_id = page.model.row(0).id
    lost = RenewalStepDialog(page.model.row(0), "lost", lambda v: svc.set_renewal(row_id, **v))
    lost.cb_reason.setEditText("")
    lost.accept()  # no reason: refused, stays open
    assert lost.result() != QDialog.DialogCode.Accepted
    page.saved()
    _settle(qtbot, ctx)
    assert page.model.row(0).renewal_status == "quoted"
    assert page.model.row(0).quoted_minor == 88000

    from aftersales_desk.services.insurance_logs import InsuranceLogs
    from aftersales_desk.ui.tabs.insurance.dialogs import AccidentDialog, OilSaleDialog

    logs = InsuranceLogs(db, admin)
    acc = AccidentDialog(logs, svc.insurers(), logs.create_accident)
    acc.ed_plate.setText("京A12345")
    acc.on_plate()
    acc.ed_claim.setText("RDAA2026000001")
    acc.sp_estimate.setValue(3200)
    acc.accept()
    assert acc.result() == QDialog.DialogCode.Accepted, acc.error
    oil = OilSaleDialog(svc, logs.create_oil_sale)
    oil.ed_product.setText("美孚1号 5W-30 4L")
    oil.sp_qty.setValue(2)
    oil.sp_amount.setValue(916)
    oil.ed_find.setText("京A12345")
    oil.on_find()
    oil.accept()
    assert oil.result() == QDialog.DialogCode.Accepted, oil.error
    tab.accidents.saved()
    tab.pages.setCurrentWidget(tab.accidents)
    _settle(qtbot, ctx)
    assert tab.accidents.model.row(0).claim_no == "RDAA2026000001"
    tab.pages.setCurrentWidget(tab.oil)
    _settle(qtbot, ctx)
    assert tab.oil.model.row(0).who == "王建国"
    tab.pages.setCurrentWidget(tab.figures)
    _settle(qtbot, ctx)
    f = tab.figures.figures
    assert (f.accidents_today, f.oil_qty_today, f.oil_amount_today) == (1, 2, 91600)


def test_the_manager_adds_an_insurer_the_clerk_does_not_see_the_button(
    qtbot, ctx, db, make_actor, message_boxes
):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.insurance.dialogs import InsurersDialog
    from aftersales_desk.ui.tabs.insurance.tab import InsuranceTab
    from aftersales_desk.ui.tasks import Ops

    tab = InsuranceTab(ctx)  # admin
    qtbot.addWidget(tab)
    assert not tab.policies.btn_insurers.isHidden()
    svc = InsuranceService(db, ctx.actor)
    dlg = InsurersDialog(svc)
    assert dlg.list.count() == 10
    dlg.ed_code.setText("ANSHENG")
    dlg.ed_name.setText("安盛天平财产保险有限公司")
    dlg.ed_short.setText("安盛天平")
    dlg.on_add()
    assert dlg.added and dlg.list.count() == 11 and dlg.ed_code.text() == ""
    dlg.ed_code.setText("ANSHENG")
    dlg.ed_name.setText("安盛天平财产保险有限公司")
    dlg.on_add()
    assert "already listed" in message_boxes[-1][2] and dlg.list.count() == 11
    _settle(qtbot, ctx)
    clerk_tab = InsuranceTab(AppContext(db=db, actor=make_actor(Role.CLERK), ops=Ops()))
    qtbot.addWidget(clerk_tab)
    assert clerk_tab.policies.btn_insurers.isHidden()
    _settle(qtbot, clerk_tab.ctx)


def test_pipeline_opens_with_a_screenful_and_pages_on_in_order(qtbot, ctx, db, admin):
    from aftersales_desk.ui.tabs.insurance.tab import OPEN_ROWS, PipelinePage
    from tests.insurance_helpers import policy_input

    svc = InsuranceService(db, admin)
    today = svc.today()
    for i in range(OPEN_ROWS + 15):
        _c, v = add_vehicle(db, admin, f"京A{i:05d}")
        start = today - timedelta(days=330 - i % 40)  # ends in 34 … 73 days
        svc.create_policy(policy_input(db, admin, f"P{i:03d}", v, start))
    page = PipelinePage(ctx, svc)
    qtbot.addWidget(page)
    _settle(qtbot, ctx)
    model = page.model
    while model.canFetchMore():
        model.fetchMore()
    rows = [model.row(r) for r in range(model.rowCount())]
    assert len(rows) == OPEN_ROWS + 15 == len({r.id for r in rows})
    assert [(r.end_date, r.id.hex) for r in rows] == sorted((r.end_date, r.id.hex) for r in rows)
    assert page.counts["d90"] + page.counts["d60"] + page.counts["d30"] == len(rows)
