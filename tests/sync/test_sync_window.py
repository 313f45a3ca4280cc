"""Sync from the window against a real central PostgreSQL: set up the connection, sync in the
background, see the state in the status bar, resolve a conflict in the Conflicts view and see
the choice reach the other desk; automatic sync, quiet when offline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from PySide6.QtWidgets import QMessageBox

from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tasks import Ops
from tests.memory_keyring import memory_keyring
from tests.sync.conftest import Cluster, branch_login
from tests.sync.helpers import Desk, central_rows, first_desk, join_desk


@pytest.fixture
def message_boxes(monkeypatch):
    shown: list[tuple[str, str, str]] = []
    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(
            QMessageBox,
            kind,
            staticmethod(
                lambda parent, title, text, *a, _k=kind, **kw: shown.append((_k, title, text))
            ),
        )
    return shown


@pytest.fixture
def window_desk(
    qtbot, pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path
) -> Iterator[tuple[object, Desk, str]]:
    """Desk A in a main window (no sync set up yet), and the branch login URL."""
    from aftersales_desk.ui.main_window import MainWindow

    login = branch_login(pg_cluster, central_url, "BJ01")
    desk = first_desk(desk_template, tmp_path, login.url, "A")
    with memory_keyring():
        ctx = AppContext(db=desk.db, actor=desk.actor, ops=Ops())
        win = MainWindow(ctx, branch_name="北京朝阳4S店")
        qtbot.addWidget(win)
        yield win, desk, login.url
        ctx.ops.wait_idle()
    desk.close()


def _without_password(url: str) -> tuple[str, str]:
    info = conninfo_to_dict(url)
    password = info.pop("password")
    info.pop("sslmode", None)
    host, port, user, db = info["host"], info["port"], info["user"], info["dbname"]
    return f"postgresql://{user}@{host}:{port}/{db}", password


def _configure(qtbot, win, url: str, *, sslmode: str = "disable", minutes: int = 0) -> None:
    from aftersales_desk.ui.sync.settings import SyncSettingsDialog

    address, password = _without_password(url)
    dlg = SyncSettingsDialog(win.ctx, win)
    qtbot.addWidget(dlg)
    dlg.ed_url.setText(address)
    dlg.cb_ssl.setCurrentIndex(dlg.cb_ssl.findData(sslmode))
    dlg.ed_password.setText(password)
    dlg.sp_auto.setValue(minutes)
    dlg.on_test()
    qtbot.waitUntil(lambda: dlg.btn_test.isEnabled(), timeout=15000)
    assert dlg.lbl_result.text() == "Connected: this login syncs branch BJ01."
    dlg.on_save()
    qtbot.waitUntil(lambda: dlg.saved is not None, timeout=10000)
    # the settings change reaches the controller through "changes applied"
    qtbot.waitUntil(lambda: win.sync.settings.configured, timeout=5000)


def _sync_in_window(qtbot, win) -> None:
    with qtbot.waitSignal(win.sync.sig_finished, timeout=30000) as done:
        win.act_sync.trigger()
    assert done.args == [True], win.sync.reason
    qtbot.waitUntil(lambda: "Sync: synced" in win.lbl_sync.text(), timeout=5000)


def test_sync_from_the_window_and_resolve_a_conflict(qtbot, window_desk, tmp_path, message_boxes):
    from aftersales_desk.ui.sync.review import SyncReviewDialog

    win, a, url = window_desk
    qtbot.waitUntil(lambda: "to send" in win.lbl_sync.text(), timeout=5000)
    assert win.lbl_sync.text().startswith("Sync: not set up (working offline) · ")
    _configure(qtbot, win, url)
    assert win.lbl_sync.text().startswith("Sync: not synced yet")

    _sync_in_window(qtbot, win)
    assert " · " not in win.lbl_sync.text()  # nothing waits: only the state is shown
    assert "0 to send · 0 conflicts · 0 set aside" in win.lbl_sync.toolTip()
    assert win.statusBar().currentMessage().startswith("Sent ")
    kept = win.sync._held[1]  # the central connection is kept between rounds

    b = join_desk(tmp_path, url, "B")
    try:
        b.sync()
        cid = a.add_customer("C0002", "李四", "13800000001")
        qtbot.waitUntil(
            lambda: (
                "1 change to send" in win.lbl_sync.text()
                or "2 changes to send" in win.lbl_sync.text()
            )
        )
        _sync_in_window(qtbot, win)
        b.sync()
        a.edit_customer(cid, phone="13700000001")  # earlier: loses
        b.edit_customer(cid, phone="13700000002")  # later: wins
        b.sync()
        _sync_in_window(qtbot, win)  # A pushes second: A records the conflict
        assert win.lbl_sync.text().endswith(" · 1 conflict")
        assert a.customer(cid)["phone"] == "13700000002"

        dlg = SyncReviewDialog(win.ctx, win)
        qtbot.addWidget(dlg)
        page = dlg.conflicts
        assert page.model.rowCount() == 1
        row = page.current()
        assert (row.record, row.field) == ("Customer C0002 李四", "Phone")
        assert (row.kept, row.kept_by) == ("13700000002", "desk B")
        assert (row.other, row.other_by) == ("13700000001", "this desk")
        assert page.model.data(page.model.index(0, 0)) == "Customer C0002 李四"
        assert page.btn_other.isEnabled() and page.btn_keep.isEnabled()
        page.btn_other.click()  # "use the other value"
        qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=10000)
        assert page.lbl_empty.isVisibleTo(dlg)
        qtbot.waitUntil(lambda: "conflict" not in win.lbl_sync.text(), timeout=5000)
        assert "to send" in win.lbl_sync.text()  # the choice waits to be sent

        _sync_in_window(qtbot, win)
        b.sync()
        assert a.customer(cid)["phone"] == b.customer(cid)["phone"] == "13700000001"
        assert win.sync._held[1] is kept and not kept.closed
        assert " · " not in win.lbl_sync.text()  # nothing to send, no conflict
        assert central_rows(url, "SELECT phone FROM customers WHERE customer_no = 'C0002'") == [
            ("13700000001",)
        ]
        assert a.one("SELECT resolved, resolution FROM sync_conflicts") == 1
        assert b.one("SELECT count(*) FROM sync_conflicts WHERE resolved = 0") == 0
        assert message_boxes == []
    finally:
        b.close()


def test_a_failing_sync_by_hand_is_one_line_and_the_state_says_why(
    qtbot, window_desk, message_boxes
):
    win, _a, url = window_desk
    _configure(qtbot, win, url)
    # the server goes away: the same address on a port nobody listens on
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    address = make_conninfo(win.sync.settings.conninfo(), port=str(dead))
    win.sync.settings = type(win.sync.settings)(address, "disable", 0)
    with qtbot.waitSignal(win.sync.sig_finished, timeout=30000) as done:
        win.act_sync.trigger()
    assert done.args == [False]
    assert win.lbl_sync.text().startswith("Sync: offline")
    assert win.sync._held is None
    ((kind, _title, text),) = message_boxes
    assert kind == "warning" and text.startswith("Cannot connect to the central database")
    assert "\n" not in text and "Traceback" not in text


def test_automatic_sync_runs_quietly_and_backs_off_when_offline(qtbot, window_desk, message_boxes):
    win, _a, url = window_desk
    _configure(qtbot, win, url, minutes=5)
    ctl = win.sync
    assert ctl.timer.isActive() and ctl.interval_ms() == 5 * 60_000
    with qtbot.waitSignal(ctl.sig_finished, timeout=30000) as done:
        ctl.auto_tick()
    assert done.args == [True]
    assert ctl.state == "synced" and ctl.failures == 0 and ctl.timer.isActive()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    ctl.settings = type(ctl.settings)(make_conninfo(ctl.settings.url, port=str(dead)), "disable", 5)
    for failures in (1, 2):
        ctl.auto_tick()
        assert ctl.busy
        assert ctl.sync_now() is False  # never two at once
        qtbot.waitUntil(lambda n=failures: ctl.failures == n, timeout=10000)
        assert not ctl.busy and ctl.state == "offline"
        assert win.lbl_sync.text().startswith("Sync: offline")
        assert ctl.interval_ms() == 5 * 60_000 * 2**failures
    assert message_boxes == []  # quiet: no dialog
