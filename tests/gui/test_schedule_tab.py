"""The schedule tab offscreen: check off today's duties; as time passes an unchecked one turns
overdue and escalates to the status bar (and the tray where there is one)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from aftersales_desk.domain.roles import Role
from aftersales_desk.services.schedule import AgendaState, ScheduleService
from aftersales_desk.ui.tabs.schedule.watch import OverdueWatcher

TZ = ZoneInfo("Asia/Shanghai")


def _settle(qtbot, ctx) -> None:
    for _i in range(3):
        ctx.ops.wait_idle()
        qtbot.wait(20)


def test_check_off_today_and_see_an_overdue_one_escalate(qtbot, db, admin, make_actor):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.tasks import Ops

    ScheduleService(db, admin).install_defaults()
    clerk = make_actor(Role.CLERK)
    with time_machine.travel(datetime(2026, 11, 24, 9, 30, tzinfo=TZ), tick=False) as traveller:
        # nothing is behind: everything before today was done
        svc = ScheduleService(db, clerk)
        for item in svc.overdue():
            svc.check_off(item.duty_id, item.nominal_on, note="补录")
        ctx = AppContext(db=db, actor=clerk, ops=Ops())
        window = MainWindow(ctx, branch_name="北京朝阳4S店")
        qtbot.addWidget(window)
        tab = window.show_tab("schedule")
        window.show()
        _settle(qtbot, ctx)
        page = tab.agenda
        items = [page.model.row(r) for r in range(page.model.rowCount())]
        assert {i.code for i in items} == {"D-MORNING", "D-ARRIVALS", "W2-MEETING"}
        assert all(i.state is AgendaState.DUE for i in items)
        watcher = next(w for w in window._watchers if isinstance(w, OverdueWatcher))
        assert watcher.count == 0
        label = window._posted.get("schedule_overdue")
        assert label is None or not label.isVisible()

        # check off the morning feedback and the arrivals (select both rows, one action)
        page.view.selectRow(0)
        rows = [r for r in range(page.model.rowCount()) if page.model.row(r).code != "W2-MEETING"]
        selection = page.view.selectionModel()
        page.view.clearSelection()
        for r in rows:
            selection.select(
                page.model.index(r, 0),
                selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
            )
        assert page.btn_check.isEnabled()
        page.check_off(page.selected(), "已完成", None)
        _settle(qtbot, ctx)
        states = {page.model.row(r).code: page.model.row(r) for r in range(page.model.rowCount())}
        assert states["D-MORNING"].state is AgendaState.DONE
        assert states["D-MORNING"].done_by == "clerk user"
        assert states["D-ARRIVALS"].state is AgendaState.DONE
        assert states["W2-MEETING"].state is AgendaState.DUE
        assert "Done: 2" in page.lbl_summary.text()

        # 17:05: the weekly meeting report (due 17:00) was not sent — it escalates
        traveller.move_to(datetime(2026, 11, 24, 17, 5, tzinfo=TZ))
        with qtbot.waitSignal(watcher.sig_overdue, timeout=5000) as blocker:
            watcher.refresh()
        assert blocker.args == [1]
        label = window._posted["schedule_overdue"]
        assert label.isVisible() and "Overdue duties: 1" in label.text()
        assert "下午五点前反馈服务部每周周例会" in label.toolTip()
        page.on_tick()  # the minute timer re-reads the agenda
        _settle(qtbot, ctx)
        overdue = [
            page.model.row(r)
            for r in range(page.model.rowCount())
            if page.model.row(r).state is AgendaState.OVERDUE
        ]
        assert [i.code for i in overdue] == ["W2-MEETING"]
        # checking it off (late) clears the warning
        page.check_off(overdue, "晚交", None)
        _settle(qtbot, ctx)
        assert not window._posted["schedule_overdue"].isVisible()
        window.close()


def test_tab_pages_render_for_a_warehouse_keeper_read_only(qtbot, db, admin, make_actor):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.schedule.tab import ScheduleTab
    from aftersales_desk.ui.tasks import Ops

    ScheduleService(db, admin).install_defaults()
    ctx = AppContext(db=db, actor=make_actor(Role.WAREHOUSE), ops=Ops())
    tab = ScheduleTab(ctx)
    qtbot.addWidget(tab)
    tab.show()
    _settle(qtbot, ctx)
    assert not tab.agenda.btn_check.isVisible()
    assert tab.duties.model.rowCount() == 0  # loads when first shown
    tab.pages.setCurrentWidget(tab.duties)
    _settle(qtbot, ctx)
    assert tab.duties.model.rowCount() == 13
    tab.pages.setCurrentWidget(tab.calendar)
    _settle(qtbot, ctx)
    assert tab.calendar.model.rowCount() == 0


def test_tray_notification_when_overdue_duties_grow(qtbot, db, admin):
    from PySide6.QtWidgets import QWidget

    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.schedule.watch import OverdueWatcher
    from aftersales_desk.ui.tasks import Ops

    ScheduleService(db, admin).install_defaults()
    shown: list[tuple[str, str]] = []
    host = QWidget()
    qtbot.addWidget(host)
    ctx = AppContext(db=db, actor=admin, ops=Ops())
    with time_machine.travel(datetime(2026, 11, 24, 12, 30, tzinfo=TZ), tick=False):
        watcher = OverdueWatcher(ctx, host)
        watcher.show_tray_message = lambda title, text: shown.append((title, text))
        with qtbot.waitSignal(watcher.sig_overdue, timeout=5000):
            pass  # the first check runs right after start
        first = watcher.count
        assert first > 0 and len(shown) == 1 and shown[0][0] == "Duties overdue"
        with qtbot.waitSignal(watcher.sig_overdue, timeout=5000):
            watcher.refresh()
        assert len(shown) == 1  # the same duties again: no new notification
    with time_machine.travel(datetime(2026, 11, 24, 17, 40, tzinfo=TZ), tick=False):
        with qtbot.waitSignal(watcher.sig_overdue, timeout=5000):
            watcher.refresh()
        assert watcher.count > first and len(shown) == 2
    watcher.timer.stop()
    _settle(qtbot, ctx)
