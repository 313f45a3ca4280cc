"""The window shell: log-in, tabs built on first show, role-aware menus, status bar, settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QToolButton

from aftersales_desk.domain.roles import Role
from aftersales_desk.i18n import set_language
from aftersales_desk.services.auth import UserService
from aftersales_desk.ui.tabs import TABS, TabSpec, available_tabs
from tests.conftest import ADMIN_PASSWORD


def test_login_dialog_shows_errors_inline_and_accepts(qtbot, db):
    from aftersales_desk.ui.dialogs.login import LoginDialog

    dlg = LoginDialog(db, "北京朝阳4S店")
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    qtbot.keyClicks(dlg.ed_user, "admin")
    qtbot.keyClicks(dlg.ed_password, "wrong")
    dlg.on_login()
    assert dlg.actor is None
    assert dlg.lbl_error.text() == "Unknown user name or wrong password."
    dlg.ed_password.clear()
    qtbot.keyClicks(dlg.ed_password, ADMIN_PASSWORD)
    qtbot.keyClick(dlg.ed_password, Qt.Key.Key_Return)
    assert dlg.actor is not None and dlg.actor.username == "admin"
    assert dlg.result() == dlg.DialogCode.Accepted


def test_login_dialog_switches_language(qtbot, db):
    from aftersales_desk.app import apply_language
    from aftersales_desk.ui.dialogs.login import LoginDialog

    dlg = LoginDialog(db, "北京")
    qtbot.addWidget(dlg)
    dlg.sig_language_changed.connect(lambda code: (apply_language(code), dlg.retitle()))
    dlg.cb_lang.setCurrentIndex(dlg.cb_lang.findData("zh_CN"))
    assert dlg.lbl_user.text() == "用户名"
    assert dlg.windowTitle() == "登录 — 北京"
    apply_language("en")


def test_tabs_are_built_on_first_show(qtbot, ctx, monkeypatch):
    from aftersales_desk.ui.main_window import MainWindow

    built: list[str] = []

    def factory(name):
        def make(c):
            built.append(name)
            return QLabel(name)

        return make

    available_tabs()  # registers the real tabs first, or that import would undo the patch below
    monkeypatch.setitem(
        TABS, "archive", TabSpec("archive", "Customer archive", factory("archive"), 1)
    )
    monkeypatch.setitem(TABS, "parts", TabSpec("parts", "Parts counter", factory("parts"), 2))
    win = MainWindow(ctx, branch_name="北京朝阳4S店")
    qtbot.addWidget(win)
    assert win.tab_names()[:2] == ["archive", "parts"]
    assert built == []
    win.show()
    qtbot.waitUntil(lambda: built == ["archive"])
    win.show_tab("parts")
    assert built == ["archive", "parts"]
    win.show_tab("archive")
    assert built == ["archive", "parts"]  # once each


def test_menus_follow_the_role_and_status_bar_names_user_and_branch(qtbot, db, make_actor):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.tasks import Ops

    clerk = make_actor(Role.CLERK)
    win = MainWindow(AppContext(db=db, actor=clerk, ops=Ops()), branch_name="北京朝阳4S店")
    qtbot.addWidget(win)
    assert not win.act_users.isEnabled()
    assert not win.act_audit.isEnabled()
    assert "clerk user" in win.lbl_identity.text()
    assert "北京朝阳4S店" in win.lbl_identity.text()
    assert str(db.path) in win.lbl_identity.toolTip()
    manager = make_actor(Role.MANAGER)
    win2 = MainWindow(AppContext(db=db, actor=manager, ops=Ops()), branch_name="x")
    qtbot.addWidget(win2)
    assert win2.act_users.isEnabled() and win2.act_audit.isEnabled()


def test_window_speaks_chinese(qtbot, ctx):
    from aftersales_desk.ui.main_window import MainWindow

    set_language("zh_CN")
    win = MainWindow(ctx, branch_name="北京")
    qtbot.addWidget(win)
    titles = [a.text() for a in win.menuBar().actions()]
    assert titles == ["文件(&F)", "同步(&Y)", "设置(&S)", "帮助(&H)"]
    assert win.lbl_sync.text().startswith("同步")


def test_settings_dialog_saves_and_announces_language(qtbot, ctx):
    from aftersales_desk.services.settings import SettingsService
    from aftersales_desk.ui.dialogs.settings import SettingsDialog

    dlg = SettingsDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.cb_lang.setCurrentIndex(dlg.cb_lang.findData("zh_CN"))
    dlg.cb_paper.setCurrentIndex(dlg.cb_paper.findData("A5"))
    dlg.ed_address.setText("北京市朝阳区东四环北路88号")
    with qtbot.waitSignal(dlg.sig_language_changed, timeout=5000) as sig:
        dlg.on_save()
    assert sig.args == ["zh_CN"]
    svc = SettingsService(ctx.db, ctx.actor)
    assert svc.get("paper_size") == "A5"
    assert svc.branch().address == "北京市朝阳区东四环北路88号"
    assert UserService(ctx.db, ctx.actor).own_language() == "zh_CN"


def test_users_dialog_lists_and_adds(qtbot, ctx, monkeypatch):
    from aftersales_desk.ui.dialogs import users as users_mod

    dlg = users_mod.UsersDialog(ctx)
    qtbot.addWidget(dlg)
    assert dlg.model.rowCount() == 1

    def fake_exec(self):
        self.ed_username.setText("zhangli")
        self.ed_name.setText("张丽")
        self.cb_role.setCurrentIndex(self.cb_role.findData("clerk"))
        self.ed_password.setText("password1")
        return True

    monkeypatch.setattr(users_mod.UserEditDialog, "exec", fake_exec)
    dlg.on_add()
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 2, timeout=5000)
    names = {dlg.model.row(i).username for i in range(2)}
    assert names == {"admin", "zhangli"}


def test_audit_dialog_filters(qtbot, ctx):
    from aftersales_desk.ui.dialogs.audit import AuditDialog

    UserService(ctx.db, ctx.actor).create("wangqiang", "王强", "warehouse", "password1")
    dlg = AuditDialog(ctx)
    qtbot.addWidget(dlg)
    assert dlg.model.rowCount() >= 2
    dlg.search.setText("users")
    dlg.on_filter()
    assert dlg.model.rowCount() >= 1
    assert all(dlg.model.row(i).entity == "users" for i in range(dlg.model.rowCount()))
    dlg.view.selectRow(0)
    assert "After:" in dlg.detail.toPlainText()


def test_status_messages_shorten_to_fit_and_open_their_tab(qtbot, ctx):
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.status import Level

    win = MainWindow(ctx, branch_name="北京朝阳汽车4S店")
    qtbot.addWidget(win)
    win.resize(1600, 700)
    win.show()
    long = "Parts arrived for 12 waiting work orders, and a long explanation " * 2
    ctx.status.post("a", long, "rows…", short="Parts in: 12", tab="parts", level=Level.GOOD)
    ctx.status.post("b", "⚠ Overdue duties: 3", short="⚠ Duties: 3", tab="schedule")
    button = win.findChild(QToolButton, "status_a")
    assert button.text() == long and button.toolTip().startswith("rows…")
    win.resize(900, 700)  # too narrow for both in full: the one that saves most goes short
    qtbot.waitUntil(lambda: button.text() == "Parts in: 12")
    assert button.toolTip().startswith(long)
    assert win.findChild(QToolButton, "status_b").text() == "⚠ Overdue duties: 3"
    assert win.tabs.currentWidget() is not win._lazy["parts"]
    button.click()
    assert win.tabs.currentWidget() is win._lazy["parts"]
    ctx.status.clear("a")
    assert not button.isVisible()


def test_shorten_picks_the_biggest_savings_until_the_rest_fits():
    from aftersales_desk.ui.status import shorten

    widths = {"a": (300, 100), "b": (200, 50), "c": (150, None)}
    assert shorten(widths, 700) == set()
    assert shorten(widths, 600) == {"a"}  # 650 → 450
    assert shorten(widths, 400) == {"a", "b"}  # 450 → 300
    assert shorten(widths, 100) == {"a", "b"}  # nothing else can shrink
