"""The Conflicts and set-aside view on a desk (no server needed): what it shows, what a clerk
may not do, an edited value going through the service, a set-aside change dismissed."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from aftersales_desk.data.models.archive import Customer
from aftersales_desk.data.models.sync import SyncConflict, SyncQuarantine
from aftersales_desk.domain.hlc import Stamp, wall_ms
from aftersales_desk.domain.roles import Role


@pytest.fixture
def conflict(db, admin):
    with db.uow(admin, write=True) as uow:
        s = uow.session
        local = str(s.execute(text("SELECT id FROM devices WHERE is_local = 1")).scalar_one())
        c = Customer(branch_id=admin.branch_id, customer_no="C0009", name="王五", phone="137-2")
        s.add(c)
        s.flush()
        other = uuid.uuid4().hex
        conflict = SyncConflict(
            tbl="customers",
            pk=c.id.hex,
            col="phone",
            kept_value="137-2",
            lost_value="137-1",
            kept_hlc=Stamp(wall_ms(), 0, other).encode(),
            lost_hlc=Stamp(wall_ms() - 5000, 0, local).encode(),
        )
        s.add(conflict)
        s.add(
            SyncQuarantine(
                tbl="customers",
                pk=uuid.uuid4().hex,
                op="I",
                cols=json.dumps({"customer_no": "C0009", "name": "赵六"}),
                hlc=Stamp(wall_ms(), 0, other).encode(),
                reason="Not applied on this desk: UNIQUE constraint failed",
            )
        )
        uow.commit()
        return c.id


def test_a_clerk_sees_conflicts_but_cannot_resolve(qtbot, db, conflict, make_actor):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.sync.review import SyncReviewDialog
    from aftersales_desk.ui.tasks import Ops

    clerk = make_actor(Role.CLERK)
    dlg = SyncReviewDialog(AppContext(db=db, actor=clerk, ops=Ops()))
    qtbot.addWidget(dlg)
    page = dlg.conflicts
    assert page.model.rowCount() == 1
    assert page.model.data(page.model.index(0, 0)) == "Customer C0009 王五"
    assert page.model.data(page.model.index(0, 4)) == "another desk"
    assert not page.btn_keep.isEnabled() and not page.btn_other.isEnabled()
    assert not page.btn_edit.isEnabled()
    assert "Only a manager or administrator" in page.lbl_detail.text()
    assert not dlg.quarantine.btn_dismiss.isEnabled()


def test_an_edited_value_and_a_dismissed_change(qtbot, ctx, db, conflict, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from aftersales_desk.ui.sync.review import SyncReviewDialog

    dlg = SyncReviewDialog(ctx)
    qtbot.addWidget(dlg)
    page = dlg.conflicts
    assert "Now on this desk: 137-2" in page.lbl_detail.text()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("13912345678", True))
    page.btn_edit.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=5000)
    with db.uow() as uow:
        assert uow.session.get(Customer, conflict).phone == "13912345678"
    page.cb_resolved.setChecked(True)
    assert page.model.rowCount() == 1
    assert "typed a value" in page.lbl_detail.text() and "admin" in page.lbl_detail.text()
    assert not page.btn_keep.isEnabled()

    q = dlg.quarantine
    assert q.model.rowCount() == 1 and not q.btn_resend.isEnabled()  # another desk's row
    assert "Not applied on this desk" in q.lbl_detail.text()
    q.btn_dismiss.click()
    qtbot.waitUntil(lambda: q.model.rowCount() == 0, timeout=5000)
    assert not q.lbl_empty.isHidden()


def test_the_sync_menu_and_status_button_follow_the_role(qtbot, db, make_actor, monkeypatch):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.sync import controller
    from aftersales_desk.ui.tasks import Ops

    for role, may_configure in ((Role.CLERK, False), (Role.WAREHOUSE, False), (Role.MANAGER, True)):
        ctx = AppContext(db=db, actor=make_actor(role), ops=Ops())
        win = MainWindow(ctx, branch_name="北京朝阳4S店")
        qtbot.addWidget(win)
        assert win.act_sync.isEnabled()  # everyone may sync
        assert win.act_sync_connection.isEnabled() is may_configure
        qtbot.waitUntil(lambda w=win: "to send" in w.lbl_sync.toolTip(), timeout=5000)
        ctx.ops.wait_idle()
    # a clerk pressing "Sync now" before it is set up is told whom to ask, no dialog
    clerk_ctx = AppContext(db=db, actor=make_actor(Role.CLERK), ops=Ops())
    win = MainWindow(clerk_ctx, branch_name="x")
    qtbot.addWidget(win)
    opened: list[str] = []
    monkeypatch.setattr(controller.SyncController, "open_settings", lambda self: opened.append("x"))
    assert win.sync.sync_now() is False
    assert opened == [] and "ask the manager" in win.statusBar().currentMessage()
    clerk_ctx.ops.wait_idle()


def test_cancelling_a_sync_is_quiet_and_leaves_no_connection(
    qtbot, ctx, monkeypatch, message_boxes
):
    """The controller's side of Cancel (the real round stops between pulled pages, see
    tests/sync): no error dialog, the state says so, nothing stays busy or connected."""
    import time

    from aftersales_desk.services.sync import central, client, connection
    from aftersales_desk.ui.main_window import MainWindow

    class FakeConnection:
        closed = False

        def close(self):
            self.closed = True

    conn = FakeConnection()
    started: list[bool] = []

    def slow_sync(db, actor, url, *, progress=None, connection=None, password=None):
        assert connection is conn
        started.append(True)
        for n in range(500):  # a long pull: a page every 10 ms until cancelled
            time.sleep(0.01)
            progress(n)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(central, "connect", lambda url, password=None: conn)
    monkeypatch.setattr(client, "sync", slow_sync)
    win = MainWindow(ctx, branch_name="x")
    qtbot.addWidget(win)
    win.sync.settings = connection.SyncSettings("postgresql://u@127.0.0.1:1/db", "disable", 0)
    assert win.sync.sync_now()
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    with qtbot.waitSignal(win.sync.sig_finished, timeout=10000) as done:
        win.sync.cancel()
    assert done.args == [False]
    assert not win.sync.busy and win.sync._held is None and conn.closed
    assert win.sync.reason == "The sync was cancelled; nothing is lost."
    assert message_boxes == []
