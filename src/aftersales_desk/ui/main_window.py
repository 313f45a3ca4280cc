"""The main window: registers tab modules (each built on first show), menus and status bar —
nothing else. Tabs and dialogs get the ``AppContext`` in their constructors."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import _
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.status import Level, StatusItem, shorten
from aftersales_desk.ui.tabs import TabSpec, available_tabs

_LEVEL_STYLE = {
    Level.INFO: "",
    Level.GOOD: "QToolButton { color: #1b5e20; font-weight: bold; }",
    Level.ALERT: "QToolButton { color: #b00020; font-weight: bold; }",
}


class _LazyTab(QWidget):
    """Holds a tab's place and builds the real widget the first time it is shown."""

    def __init__(self, spec: TabSpec, ctx: AppContext) -> None:
        super().__init__()
        self.spec, self._ctx = spec, ctx
        self.widget: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def ensure_built(self) -> QWidget:
        if self.widget is None:
            self.widget = self.spec.factory(self._ctx)
            self._layout.addWidget(self.widget)
        return self.widget

    def showEvent(self, event) -> None:
        self.ensure_built()
        super().showEvent(event)


class MainWindow(QMainWindow):
    sig_language_changed = Signal(str)
    sig_logout = Signal()

    def __init__(self, ctx: AppContext, *, branch_name: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(_("After-sales desk — {branch}").format(branch=branch_name))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self._lazy: dict[str, _LazyTab] = {}
        for spec in available_tabs():
            holder = _LazyTab(spec, ctx)
            self._lazy[spec.name] = holder
            self.tabs.addTab(holder, _(spec.title))
        if not self._lazy:
            empty = QLabel(_("No modules are installed in this version."))
            empty.setMargin(24)
            self.setCentralWidget(empty)
        from aftersales_desk.ui.sync.controller import SyncController

        self.sync = SyncController(ctx, self)
        self._build_menus()
        self._build_status(branch_name)
        self._watchers = [spec.watch(ctx, self) for spec in available_tabs() if spec.watch]

    # --- tabs -----------------------------------------------------------------------------------
    def tab_names(self) -> list[str]:
        return list(self._lazy)

    def show_tab(self, name: str) -> QWidget:
        holder = self._lazy[name]
        self.tabs.setCurrentWidget(holder)
        return holder.ensure_built()

    # --- menus ----------------------------------------------------------------------------------
    def _action(
        self,
        menu,
        text: str,
        slot: Callable[[], None],
        shortcut: str | None = None,
        enabled: bool = True,
    ) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        act.setEnabled(enabled)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        actor = self.ctx.actor
        bar = self.menuBar()
        file_menu = bar.addMenu(_("&File"))
        self._action(
            file_menu,
            _("&Back up the database…"),
            self.on_backup,
            enabled=actor.can(Permission.BACKUP),
        )
        file_menu.addSeparator()
        self._action(file_menu, _("Log &out"), self.sig_logout.emit)
        self._action(file_menu, _("&Quit"), self.close, "Ctrl+Q")
        sync_menu = bar.addMenu(_("S&ync"))
        self.act_sync = self._action(
            sync_menu,
            _("&Sync now"),
            self.sync.sync_now,
            "F9",
            enabled=actor.can(Permission.SYNC),
        )
        self._action(sync_menu, _("&Conflicts and set-aside changes…"), self.sync.open_review)
        sync_menu.addSeparator()
        self.act_sync_connection = self._action(
            sync_menu,
            _("Central &connection…"),
            self.sync.open_settings,
            enabled=actor.can(Permission.EDIT_BRANCH_SETTINGS),
        )
        admin = bar.addMenu(_("&Settings"))
        self._action(admin, _("&Settings…"), self.on_settings, "Ctrl+,")
        self._action(admin, _("Change my &password…"), self.on_change_password)
        admin.addSeparator()
        self.act_users = self._action(
            admin, _("&Users…"), self.on_users, enabled=actor.can(Permission.MANAGE_USERS)
        )
        self.act_audit = self._action(
            admin, _("&Audit log…"), self.on_audit, enabled=actor.can(Permission.VIEW_AUDIT)
        )
        help_menu = bar.addMenu(_("&Help"))
        self._action(help_menu, _("&About aftersales-desk"), self.on_about)

    def _build_status(self, branch_name: str) -> None:
        actor = self.ctx.actor
        sb = self.statusBar()
        who = actor.display_name or actor.username
        # one short label (the modules' alerts need the width); the details in its tooltip
        self.lbl_identity = QLabel(
            _("{name} ({role}) · {branch}").format(
                name=who, role=actor.role.label, branch=branch_name
            )
        )
        self.lbl_identity.setObjectName("status_identity")
        self.lbl_identity.setToolTip(
            "\n".join(
                (
                    _("User: {name} ({role})").format(name=who, role=actor.role.label),
                    _("Branch: {name}").format(name=branch_name),
                    _("Database: {path}").format(path=self.ctx.db.path),
                )
            )
        )
        self.lbl_sync = self.sync.widget  # state, changes to send, conflicts; click: review
        sb.addWidget(self.lbl_identity)
        sb.addPermanentWidget(self.lbl_sync)
        self._posted: dict[str, QToolButton] = {}
        self.ctx.status.sig_changed.connect(self.on_status_posted)

    def closeEvent(self, event) -> None:
        self.sync.close()
        super().closeEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_status()

    # --- slots ----------------------------------------------------------------------------------
    def on_status_posted(self, key: str) -> None:
        """A tab's message (``ctx.status.post``): one button per key, hidden when empty; a
        click opens the tab the message is about."""
        button = self._posted.get(key)
        if button is None:
            button = self._posted[key] = QToolButton()
            button.setObjectName(f"status_{key}")
            button.setAutoRaise(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.clicked.connect(lambda _checked=False, k=key: self._open_status_tab(k))
            self.statusBar().addPermanentWidget(button)
        item = self.ctx.status.items[key]
        button.setStyleSheet(_LEVEL_STYLE[item.level])
        button.setVisible(bool(item.text))
        self._fit_status()

    def _open_status_tab(self, key: str) -> None:
        tab = self.ctx.status.items[key].tab
        if tab in self._lazy:
            self.show_tab(tab)

    def _fit_status(self) -> None:
        """Every message in full when the bar has the width; otherwise the messages that save
        most switch to their short form (the full text goes to the tooltip) until they fit."""
        shown = [
            (key, button, self.ctx.status.items[key])
            for key, button in self._posted.items()
            if self.ctx.status.items[key].text
        ]
        if not shown:
            return
        metrics = self.statusBar().fontMetrics()
        pad = metrics.horizontalAdvance("MM") + 8  # button margins and the bar's spacing
        bold_font = QFont(self.statusBar().font())
        bold_font.setBold(True)
        bold = QFontMetrics(bold_font)

        def width(item: StatusItem, text: str) -> int:
            return (metrics if item.level is Level.INFO else bold).horizontalAdvance(text) + pad

        room = (
            self.statusBar().width()
            - self.lbl_sync.sizeHint().width()
            - metrics.horizontalAdvance(self.lbl_identity.text()[:24])
        )
        use_short = shorten(
            {
                key: (width(item, item.text), width(item, item.short) if item.short else None)
                for key, _b, item in shown
            },
            room,
        )
        for key, button, item in shown:
            short = key in use_short
            button.setText((item.short if short else item.text).replace("&", "&&"))
            tip = "\n".join(x for x in (item.text if short else "", item.tooltip) if x)
            if item.tab in self._lazy:
                tip += ("\n" if tip else "") + _("Click to open {tab}.").format(
                    tab=_(self._lazy[item.tab].spec.title)
                )
            button.setToolTip(tip)

    def on_backup(self) -> None:
        from aftersales_desk.data.backup import backup_file, timestamped_backup_path

        suggested = timestamped_backup_path(self.ctx.db.path, "manual")
        out, _filter = QFileDialog.getSaveFileName(
            self, _("Back up the database"), str(suggested), _("Database backups (*.sqlite)")
        )
        if not out:
            return
        from pathlib import Path

        self.ctx.ops.run(
            lambda progress: backup_file(self.ctx.db.path, Path(out)),
            parent=self,
            label=_("Backing up…"),
            write=False,
            on_success=lambda _r: self.statusBar().showMessage(
                _("Backup written to {out}.").format(out=out), 8000
            ),
        )

    def on_settings(self) -> None:
        from aftersales_desk.ui.dialogs.settings import SettingsDialog

        dlg = SettingsDialog(self.ctx, self)
        dlg.sig_language_changed.connect(self.sig_language_changed.emit)
        dlg.exec()

    def on_change_password(self) -> None:
        from aftersales_desk.ui.dialogs.users import ChangePasswordDialog

        ChangePasswordDialog(self.ctx, self).exec()

    def on_users(self) -> None:
        from aftersales_desk.ui.dialogs.users import UsersDialog

        UsersDialog(self.ctx, self).exec()

    def on_audit(self) -> None:
        from aftersales_desk.ui.dialogs.audit import AuditDialog

        AuditDialog(self.ctx, self).exec()

    def on_about(self) -> None:
        from aftersales_desk.ui.dialogs.about import about_text

        QMessageBox.about(self, _("About aftersales-desk"), about_text(self.ctx))
