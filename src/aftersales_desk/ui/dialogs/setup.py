"""First run: no database yet — create the branch database (the window's form of ``init``)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from aftersales_desk.i18n import _
from aftersales_desk.ui.widgets import ok_cancel


class SetupDialog(QDialog):
    def __init__(self, path: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("New branch database"))
        self.setMinimumWidth(460)
        intro = QLabel(
            _(
                "There is no database at {path} yet. Create it for your branch; you will "
                "log in as 'admin' with the password chosen here."
            ).format(path=path)
        )
        intro.setWordWrap(True)
        self.ed_code = QLineEdit()
        self.ed_code.setPlaceholderText("BJ01")
        self.ed_name = QLineEdit()
        self.ed_device = QLineEdit("A")
        self.ed_pw, self.ed_pw2 = QLineEdit(), QLineEdit()
        for ed in (self.ed_pw, self.ed_pw2):
            ed.setEchoMode(QLineEdit.EchoMode.Password)
        self.lbl_error = QLabel()
        self.lbl_error.setStyleSheet("color: #b00020;")
        self.lbl_error.setWordWrap(True)
        form = QFormLayout()
        form.addRow(_("Branch code"), self.ed_code)
        form.addRow(_("Branch name"), self.ed_name)
        form.addRow(_("Device code"), self.ed_device)
        form.addRow(_("Admin password"), self.ed_pw)
        form.addRow(_("Repeat the password"), self.ed_pw2)
        buttons = ok_cancel(self, _("Create"), on_ok=self.on_ok)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.lbl_error)
        layout.addWidget(buttons)
        self.values: dict[str, str] = {}

    def on_ok(self) -> None:
        if self.ed_pw.text() != self.ed_pw2.text():
            self.lbl_error.setText(_("The passwords differ."))
            return
        self.values = {
            "branch_code": self.ed_code.text(),
            "branch_name": self.ed_name.text(),
            "device_code": self.ed_device.text(),
            "admin_password": self.ed_pw.text(),
        }
        self.accept()
