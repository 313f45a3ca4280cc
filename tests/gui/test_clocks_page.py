"""The schedule tab's "Service clocks" page offscreen: a real work order goes overdue (red row,
status bar), the clerk marks the customer contacted, pauses it for parts; after three days the
manager sees it escalate and the reason given."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from PySide6.QtCore import Qt

from aftersales_desk.domain.roles import Role
from aftersales_desk.domain.sla import PauseReason, Stage
from aftersales_desk.services.archive import ArchiveService, CustomerInput, VehicleInput
from aftersales_desk.services.archive_work_orders import WorkOrderService
from aftersales_desk.ui.tabs.schedule.watch import OverdueWatcher

TZ = ZoneInfo("Asia/Shanghai")


def at(d, hh, mm=0) -> datetime:
    return datetime(2026, 11, d, hh, mm, tzinfo=TZ)


def _settle(qtbot, ctx) -> None:
    for _i in range(4):
        ctx.ops.wait_idle()
        qtbot.wait(20)


def _rows(page):
    return [page.model.row(r) for r in range(page.model.rowCount())]


def _order(db, actor):
    customer = ArchiveService(db, actor).create_customer(
        CustomerInput(name="赵六", phone="13700001111"),
        VehicleInput(vin="LFV2A21K4A3123456", plate="京C·12345", brand="大众"),
    )
    orders = WorkOrderService(db, actor)
    vehicle = ArchiveService(db, actor).card(customer.id).vehicles[0]
    wo = orders.open(customer.id, vehicle_id=vehicle.id, fault="冰箱不制冷")
    return orders.dispatch(wo.id, "李师傅")


def test_an_order_goes_overdue_is_contacted_and_paused(qtbot, db, make_actor):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.tabs.schedule.clocks import _PAUSED, _RED
    from aftersales_desk.ui.tasks import Ops

    clerk = make_actor(Role.CLERK)
    with time_machine.travel(at(23, 9, 0), tick=False) as traveller:
        wo = _order(db, clerk)
        ctx = AppContext(db=db, actor=clerk, ops=Ops())
        window = MainWindow(ctx, branch_name="北京朝阳4S店")
        qtbot.addWidget(window)
        tab = window.show_tab("schedule")
        window.show()
        tab.pages.setCurrentWidget(tab.clocks_holder)
        _settle(qtbot, ctx)
        page = tab.clocks
        (row,) = _rows(page)
        assert row.number == wo.number and row.stage is Stage.CONTACT and not row.overdue
        assert page.model.index(0, 6).data() == "2 h 0 min"
        qtbot.waitUntil(lambda: "Overdue: 0" in page.lbl_summary.text(), timeout=5000)
        watcher = next(w for w in window._watchers if isinstance(w, OverdueWatcher))
        assert watcher.clock_count == 0

        # 11:05: nobody called the customer (due 11:00) — red row, status bar
        traveller.move_to(at(23, 11, 5))
        with qtbot.waitSignal(watcher.sig_clocks, timeout=5000) as blocker:
            watcher.refresh()
        assert blocker.args == [1]
        label = window._posted["schedule_clocks"]
        assert label.isVisible() and "Service clocks overdue: 1" in label.text()
        assert wo.number in label.toolTip()
        page.on_tick()
        _settle(qtbot, ctx)
        (row,) = _rows(page)
        assert row.overdue
        assert page.model.index(0, 6).data() == "overdue 5 min"
        assert page.model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole).color() == _RED
        qtbot.waitUntil(lambda: "Overdue: 1" in page.lbl_summary.text(), timeout=5000)

        # mark contacted
        page.view.selectRow(0)
        assert page.btn_contact.isEnabled() and not page.btn_resume.isEnabled()
        assert not page.btn_on_site.isEnabled()
        with qtbot.waitSignal(watcher.sig_clocks, timeout=5000) as blocker:
            page.mark(page.current(), Stage.CONTACT, "已电话联系，约明天上门")
            _settle(qtbot, ctx)
        assert blocker.args == [0]
        _settle(qtbot, ctx)
        (row,) = _rows(page)
        assert row.stage is Stage.ON_SITE and not row.overdue and row.late_steps == 1
        assert not window._posted["schedule_clocks"].isVisible()
        assert page.current() is not None and page.current().id == wo.id  # still selected
        assert "已电话联系，约明天上门" in page.lbl_detail.text()

        # pause: waiting for parts
        assert page.btn_pause.isEnabled()
        page.pause(page.current(), PauseReason.WAITING_FOR_PARTS, "压缩机待到货")
        _settle(qtbot, ctx)
        (row,) = _rows(page)
        assert row.paused and row.status == "waiting_parts"
        assert page.model.index(0, 7).data() == "Waiting for parts"
        assert page.model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole).color() == _PAUSED
        assert page.btn_resume.isEnabled() and not page.btn_pause.isEnabled()
        assert WorkOrderService(db, clerk).get(wo.id).status == "waiting_parts"
        # a day later it is still not overdue: the clock stood still
        traveller.move_to(at(24, 12, 0))
        page.on_tick()
        _settle(qtbot, ctx)
        (row,) = _rows(page)
        assert row.paused and not row.overdue
        window.close()


def test_the_manager_sees_escalations_and_their_reasons(qtbot, db, admin, make_actor):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.tabs.schedule.clocks import _ESCALATE, ClockNoteDialog
    from aftersales_desk.ui.tasks import Ops

    clerk = make_actor(Role.CLERK)
    with time_machine.travel(at(23, 9, 0), tick=False) as traveller:
        wo = _order(db, clerk)
    with time_machine.travel(at(26, 9, 30), tick=False) as traveller:
        ctx = AppContext(db=db, actor=make_actor(Role.MANAGER), ops=Ops())
        window = MainWindow(ctx, branch_name="北京朝阳4S店")
        qtbot.addWidget(window)
        tab = window.show_tab("schedule")
        window.show()
        tab.pages.setCurrentWidget(tab.clocks_holder)
        page = tab.clocks
        page.cb_filter.setCurrentIndex(1)  # escalated only
        _settle(qtbot, ctx)
        watcher = next(w for w in window._watchers if isinstance(w, OverdueWatcher))
        with qtbot.waitSignal(watcher.sig_clocks, timeout=5000):
            watcher.refresh()
        label = window._posted["schedule_clocks"]
        assert "Open over the limit: 1 (1 without a reason)" in label.text()
        (row,) = _rows(page)
        assert row.id == wo.id and row.needs_reason
        assert page.model.index(0, 9).data() == "Reason needed (open over 3 d)"
        # an empty reason is refused by the dialog itself
        dlg = ClockNoteDialog("x", wo.number, required=True)
        qtbot.addWidget(dlg)
        dlg.accept()
        assert dlg.result() == 0 and dlg.lbl_error.text() == "An escalation needs a reason."
        page.view.selectRow(0)
        page.escalate(page.current(), "厂家配件缺货，已报区域经理")
        _settle(qtbot, ctx)
        (row,) = _rows(page)
        assert row.escalation_reason == "厂家配件缺货，已报区域经理" and not row.needs_reason
        assert page.model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) != _ESCALATE
        _settle(qtbot, ctx)
        assert "(0 without a reason)" in window._posted["schedule_clocks"].text()
        assert "厂家配件缺货" in window._posted["schedule_clocks"].toolTip()
        traveller.move_to(at(26, 9, 31))
        window.close()


def test_pages_read_only_when_first_shown(qtbot, db, admin):
    from datetime import date

    from aftersales_desk.services.schedule import ScheduleService
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.schedule.tab import ScheduleTab
    from aftersales_desk.ui.tasks import Ops

    ScheduleService(db, admin).set_day(date(2027, 10, 1), working=False, note="国庆节")
    ctx = AppContext(db=db, actor=admin, ops=Ops())
    tab = ScheduleTab(ctx)
    qtbot.addWidget(tab)
    tab.show()
    _settle(qtbot, ctx)
    assert tab._clocks is None  # the clocks page is not even built yet
    assert tab.calendar.model.rowCount() == 0  # nor the calendar read
    tab.pages.setCurrentWidget(tab.calendar)
    _settle(qtbot, ctx)
    assert tab.calendar.model.rowCount() == 1
    assert tab.calendar.model.row(0).note == "国庆节"
    tab.pages.setCurrentWidget(tab.clocks_holder)
    _settle(qtbot, ctx)
    assert tab._clocks is not None and tab.clocks.model.rowCount() == 0  # no open orders
