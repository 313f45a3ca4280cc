"""The callback tab offscreen, from the keyboard: F2 starts the next call, digits answer the
scores, Ctrl+Enter saves; F6 records no answer; a low score opens the quick-handling form, which
Ctrl+Enter saves. An overdue form escalates to the manager's status bar."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from sqlalchemy import select

from aftersales_desk.data.models.callbacks import Callback, QuickForm
from aftersales_desk.domain.roles import Role
from aftersales_desk.services.archive import ArchiveService, CustomerInput, VehicleInput, VisitInput

TZ = ZoneInfo("Asia/Shanghai")
SCORES = {"reception_speed": "5", "completion_speed": "5", "checkout_speed": "4",
          "parts_price": "4", "labour_charge": "5", "staff_service": "5",
          "repair_quality": "5", "cleanliness": "5", "overall": "5"}  # fmt: skip


def _settle(qtbot, ctx) -> None:
    for _i in range(4):
        ctx.ops.wait_idle()
        qtbot.wait(20)


def _customers(db, admin):
    archive = ArchiveService(db, admin)
    for i, (name, plate) in enumerate((("张伟", "京A10001"), ("李娜", "京A10002"),
                                       ("王芳", "京A10003"))):  # fmt: skip
        saved = archive.create_customer(
            CustomerInput(name=name, phone=f"1381234567{i}"),
            VehicleInput(plate=plate, purchase_date=date(2025, 5, 1)),
        )
        vid = archive.card(saved.id).vehicles[0].id
        archive.add_visit(
            saved.id,
            VisitInput(date(2026, 11, 17 + min(i, 1)), "repair", vid, 12000, advisor="王磊"),
        )


def _answer(qtbot, dlg, scores: dict[str, str]) -> None:
    for key, digit in scores.items():
        w = dlg.inputs[key]
        assert isinstance(w, QComboBox)
        w.setFocus()
        qtbot.keyClicks(w, digit)
    qtbot.keyClicks(dlg.inputs["quoted_before"], "Y")
    qtbot.keyClicks(
        dlg.inputs["comment"], "good service" if scores["overall"] != "2" else "noise still there"
    )


def test_three_calls_from_the_keyboard(qtbot, db, admin, make_actor):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.callbacks.tab import CallbacksTab
    from aftersales_desk.ui.tasks import Ops

    _customers(db, admin)
    clerk = make_actor(Role.CLERK)
    with time_machine.travel(datetime(2026, 11, 23, 9, 30, tzinfo=TZ), tick=False):
        ctx = AppContext(db=db, actor=clerk, ops=Ops())
        tab = CallbacksTab(ctx)
        qtbot.addWidget(tab)
        tab.show()
        _settle(qtbot, ctx)
        page = tab.queue
        # visits on 17, 18, 18 Nov → due 20 (overdue), 23 and 23 (today)
        assert page.today == date(2026, 11, 23)
        assert page.buttons[page.bucket].text().endswith("(2)")
        assert "1 overdue" in page.lbl_info.text()

        # 1: the overdue call first; all good
        qtbot.keyClick(page.view, Qt.Key.Key_F2)
        _settle(qtbot, ctx)
        dlg = page.call_dialog
        assert dlg is not None and dlg.isVisible() and dlg.sheet.row.name == "张伟"
        _answer(qtbot, dlg, SCORES)
        assert dlg.answers()["overall"] == 5 and dlg.answers()["quoted_before"] is True
        qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        _settle(qtbot, ctx)
        assert not dlg.isVisible() and page.form_dialog is None

        # 2: one of today's; no answer (F6): tried again on the next working day
        qtbot.keyClick(page.view, Qt.Key.Key_F2)
        _settle(qtbot, ctx)
        dlg = page.call_dialog
        unanswered = dlg.sheet.row.name
        assert unanswered in ("李娜", "王芳")
        qtbot.keyClick(dlg.inputs["reception_speed"], Qt.Key.Key_F6)
        _settle(qtbot, ctx)
        assert not dlg.isVisible()

        # 3: the other one of today's, unhappy: the quick-handling form opens
        qtbot.keyClick(page.view, Qt.Key.Key_F2)
        _settle(qtbot, ctx)
        dlg = page.call_dialog
        assert dlg.sheet.row.name == ({"李娜", "王芳"} - {unanswered}).pop()
        _answer(qtbot, dlg, {**SCORES, "repair_quality": "1", "overall": "2"})
        qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        _settle(qtbot, ctx)
        form = page.form_dialog
        assert form is not None and form.isVisible()
        assert form.cb_department.currentText() == "机修车间"
        assert "维修质量" in form.ed_problem.toPlainText()
        assert "noise still there" in form.ed_problem.toPlainText()
        assert form.ed_deadline.date().toString("yyyy-MM-dd") == "2026-11-25"
        qtbot.keyClicks(form.ed_responsible, "Chen Gong")
        qtbot.keyClick(form.ed_responsible, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        _settle(qtbot, ctx)
        assert not form.isVisible()

    with db.uow(admin) as uow:
        rows = {c.customer_id: c for c in uow.session.scalars(select(Callback))}
        by_status = sorted((c.status, c.attempts, c.overall) for c in rows.values())
        forms = list(uow.session.scalars(select(QuickForm)))
    assert by_status == [("done", 1, 2), ("done", 1, 5), ("open", 1, None)]
    assert [(f.department, f.responsible, f.deadline) for f in forms] == [
        ("机修车间", "Chen Gong", date(2026, 11, 25))
    ]
    # the unanswered call waits among the upcoming ones, with its try counted
    page.set_bucket(page.bucket.__class__.UPCOMING)
    assert [
        (r.name, r.attempts, r.due_on)
        for r in (page.model.row(i) for i in range(page.model.rowCount()))
    ] == [(unanswered, 1, date(2026, 11, 24))]


def test_overdue_form_escalates_to_the_manager(qtbot, db, admin, make_actor):
    from PySide6.QtWidgets import QWidget

    from aftersales_desk.services.callbacks import CallbackService, FormInput
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.callbacks.watch import ESCALATION_KEY, CallbackWatcher
    from aftersales_desk.ui.tasks import Ops

    _customers(db, admin)
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 11, 20))
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=TZ), tick=False):
        cb = svc.next_call()
        svc.record_call(cb.id, "reached", answers={"overall": 1}, comment="态度差")
        svc.open_form(cb.id, FormInput("前台接待", "刘经理", date(2026, 11, 23), "态度差"))
    window = QWidget()
    qtbot.addWidget(window)
    with time_machine.travel(datetime(2026, 11, 24, 9, tzinfo=TZ), tick=False):
        for role, sees in ((Role.MANAGER, True), (Role.CLERK, False)):
            ctx = AppContext(db=db, actor=make_actor(role), ops=Ops())
            watcher = CallbackWatcher(ctx, window)
            _settle(qtbot, ctx)
            text, tip = ctx.status.text(ESCALATION_KEY), ""
            if sees:
                tip = ctx.status.items[ESCALATION_KEY].tooltip
            assert bool(text) is sees
            if sees:
                assert watcher.escalated == 1 and "刘经理" in tip and "1 days late" in tip


def test_rules_page_saves_the_branch_settings(qtbot, ctx):
    from aftersales_desk.services.callbacks import rule_settings
    from aftersales_desk.ui.tabs.callbacks.tab import CallbacksTab

    tab = CallbacksTab(ctx)
    qtbot.addWidget(tab)
    tab.pages.setCurrentWidget(tab.rules)
    _settle(qtbot, ctx)
    page = tab.rules
    assert page.visit_days["repair"].value() == 3 and page.checks["lost"].isChecked()
    page.checks["lost"].setChecked(False)
    page.visit_days["campaign"].setValue(5)
    page.visit_days["repair"].setValue(-1)  # no callback after repairs
    page.btn_save.click()
    _settle(qtbot, ctx)
    conf = rule_settings(ctx.db, ctx.actor)
    assert "lost" not in conf.enabled and conf.visit_days["campaign"] == 5
    assert "repair" not in conf.visit_days
