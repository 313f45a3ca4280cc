"""Log-in: user name, password and the language to use; errors shown in the dialog itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from aftersales_desk.domain.actor import Actor
from aftersales_desk.errors import UserError
from aftersales_desk.i18n import LANGUAGE_NAMES, LANGUAGES, _, current_language
from aftersales_desk.ui.widgets import ok_cancel

if TYPE_CHECKING:
    from aftersales_desk.data.uow import Database


class LoginDialog(QDialog):
    sig_language_changed = Signal(str)

    def __init__(
        self, db: Database | Callable[[], Database], branch_name: str, parent=None
    ) -> None:
        """``db`` may be a callable that returns the database once it is open: the window shows
        while the database is still being opened (and upgraded) in the background."""
        super().__init__(parent)
        self._db = db
        self.db: Database | None = None
        self.actor: Actor | None = None
        self.branch_name = branch_name
        self.setMinimumWidth(380)
        self.ed_user = QLineEdit()
        self.ed_user.setText(str(QSettings().value("login/last_user", "")))
        self.ed_password = QLineEdit()
        self.ed_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.cb_lang = QComboBox()
        for lang in LANGUAGES:
            self.cb_lang.addItem(LANGUAGE_NAMES[lang], lang)
        self.cb_lang.setCurrentIndex(LANGUAGES.index(current_language()))
        self.cb_lang.currentIndexChanged.connect(
            lambda _i: self.sig_language_changed.emit(self.cb_lang.currentData())
        )
        self.lbl_error = QLabel()
        self.lbl_error.setStyleSheet("color: #b00020;")
        self.lbl_error.setWordWrap(True)
        self.lbl_user, self.lbl_password, self.lbl_lang = QLabel(), QLabel(), QLabel()
        form = QFormLayout()
        form.addRow(self.lbl_user, self.ed_user)
        form.addRow(self.lbl_password, self.ed_password)
        form.addRow(self.lbl_lang, self.cb_lang)
        self.buttons = buttons = ok_cancel(self, _("Log in"), on_ok=self.on_login)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setDefault(True)
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>{branch_name}</h2>")
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.lbl_error)
        layout.addWidget(buttons)
        self.retitle()
        (self.ed_password if self.ed_user.text() else self.ed_user).setFocus()

    def retitle(self) -> None:
        """Set every text again in the current language (the language box changes it)."""
        self.setWindowTitle(_("Log in — {branch}").format(branch=self.branch_name))
        self.lbl_user.setText(_("User name"))
        self.lbl_password.setText(_("Password"))
        self.lbl_lang.setText(_("Language"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Log in"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.lbl_error.clear()

    def on_login(self) -> None:
        from aftersales_desk.services.auth import login

        try:
            if self.db is None:
                self.db = self._db() if callable(self._db) else self._db
            self.actor = login(self.db, self.ed_user.text(), self.ed_password.text())
        except UserError as exc:
            self.lbl_error.setText(exc.message)
            self.ed_password.selectAll()
            self.ed_password.setFocus()
            return
        QSettings().setValue("login/last_user", self.actor.username)
        self.accept()
