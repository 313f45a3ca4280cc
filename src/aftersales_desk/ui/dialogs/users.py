"""Users of the branch (managers, admins): list, add, edit role/name/active, reset password,
unlock; and changing one's own password."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from aftersales_desk.domain.roles import Role
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.auth import UserRow, UserService
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.widgets import ok_cancel


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _when(value) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


class UserEditDialog(QDialog):
    def __init__(self, row: UserRow | None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("New user") if row is None else _("Edit user"))
        self.ed_username = QLineEdit(row.username if row else "")
        self.ed_username.setEnabled(row is None)
        self.ed_name = QLineEdit(row.display_name if row else "")
        self.cb_role = QComboBox()
        for role in Role:
            self.cb_role.addItem(role.label, role.value)
        if row:
            self.cb_role.setCurrentIndex([r.value for r in Role].index(row.role))
        self.ed_password = QLineEdit()
        self.ed_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.chk_active = QCheckBox(_("Active"))
        self.chk_active.setChecked(row.active if row else True)
        form = QFormLayout()
        form.addRow(_("User name"), self.ed_username)
        form.addRow(_("Name"), self.ed_name)
        form.addRow(_("Role"), self.cb_role)
        if row is None:
            form.addRow(_("Password"), self.ed_password)
        else:
            form.addRow("", self.chk_active)
        buttons = ok_cancel(self)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)


class UsersDialog(QDialog):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = UserService(ctx.db, ctx.actor)
        self.setWindowTitle(_("Users"))
        self.resize(760, 420)
        self.model = LazyTableModel(
            [
                Column("username", N_("User name")),
                Column("display_name", N_("Name")),
                Column("role", N_("Role"), fmt=lambda r: Role(r).label),
                Column("active", N_("Active"), fmt=_yes_no),
                Column("locked", N_("Locked"), fmt=_yes_no),
                Column("last_login_at", N_("Last log-in"), fmt=_when),
            ],
            self.service.page,
            parent=self,
        )
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.doubleClicked.connect(lambda _i: self.on_edit())
        self.btn_add = QPushButton(_("&Add…"))
        self.btn_edit = QPushButton(_("&Edit…"))
        self.btn_password = QPushButton(_("&Reset password…"))
        self.btn_add.clicked.connect(self.on_add)
        self.btn_edit.clicked.connect(self.on_edit)
        self.btn_password.clicked.connect(self.on_reset_password)
        row = QHBoxLayout()
        for b in (self.btn_add, self.btn_edit, self.btn_password):
            row.addWidget(b)
        row.addStretch(1)
        close = QPushButton(_("Close"))
        close.clicked.connect(self.accept)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addLayout(row)
        self.model.reload()

    def selected(self) -> UserRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def _run(self, fn) -> None:
        self.ctx.ops.run(
            lambda _p: fn(),
            parent=self,
            on_success=lambda _r: self.model.reload(),
            changes={"users"},
        )

    def on_add(self) -> None:
        dlg = UserEditDialog(None, self)
        if dlg.exec():
            u, n, r, p = (
                dlg.ed_username.text(),
                dlg.ed_name.text(),
                dlg.cb_role.currentData(),
                dlg.ed_password.text(),
            )
            self._run(lambda: self.service.create(u, n, r, p))

    def on_edit(self) -> None:
        row = self.selected()
        if row is None:
            return
        dlg = UserEditDialog(row, self)
        if dlg.exec():
            n, r, a = dlg.ed_name.text(), dlg.cb_role.currentData(), dlg.chk_active.isChecked()
            self._run(lambda: self.service.update(row.id, display_name=n, role=r, active=a))

    def on_reset_password(self) -> None:
        row = self.selected()
        if row is None:
            return
        pw, ok = QInputDialog.getText(
            self,
            _("Reset password"),
            _("New password for {name} (also unlocks the account):").format(name=row.username),
            QLineEdit.EchoMode.Password,
        )
        if ok:
            self._run(lambda: self.service.reset_password(row.id, pw))


class ChangePasswordDialog(QDialog):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Change my password"))
        self.ed_old, self.ed_new, self.ed_again = QLineEdit(), QLineEdit(), QLineEdit()
        for ed in (self.ed_old, self.ed_new, self.ed_again):
            ed.setEchoMode(QLineEdit.EchoMode.Password)
        self.lbl_error = QLabel()
        self.lbl_error.setStyleSheet("color: #b00020;")
        form = QFormLayout()
        form.addRow(_("Current password"), self.ed_old)
        form.addRow(_("New password"), self.ed_new)
        form.addRow(_("Repeat the new password"), self.ed_again)
        buttons = ok_cancel(self, on_ok=self.on_ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.lbl_error)
        layout.addWidget(buttons)

    def on_ok(self) -> None:
        if self.ed_new.text() != self.ed_again.text():
            self.lbl_error.setText(_("The new passwords differ."))
            return
        old, new = self.ed_old.text(), self.ed_new.text()
        service = UserService(self.ctx.db, self.ctx.actor)

        def failed(exc: BaseException) -> bool:
            from aftersales_desk.errors import UserError

            if isinstance(exc, UserError):
                self.lbl_error.setText(exc.message)
                return True
            return False

        self.ctx.ops.run(
            lambda _p: service.change_own_password(old, new),
            parent=self,
            on_success=lambda _r: self.accept(),
            on_error=failed,
        )
