"""The central connection dialog: address without the password, TLS mode, password (kept in the
OS keyring), automatic sync interval, and "Test connection" off the UI thread. Saving goes
through ``services/sync/connection.save`` (manager and administrator only)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import UserError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.sync import connection
from aftersales_desk.ui.context import AppContext

SSL_LABELS = {
    "disable": N_("No encryption (disable)"),
    "allow": N_("Only if the server asks (allow)"),
    "prefer": N_("Encrypt when possible (prefer)"),
    "require": N_("Always encrypt (require)"),
    "verify-ca": N_("Encrypt, check the certificate (verify-ca)"),
    "verify-full": N_("Encrypt, check certificate and name (verify-full)"),
}


class SyncSettingsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.saved: connection.SyncSettings | None = None
        self.setWindowTitle(_("Central database connection"))
        self.setMinimumWidth(560)
        current = connection.load(ctx.db, ctx.actor)
        self.ed_url = QLineEdit(current.url)
        self.ed_url.setPlaceholderText(
            "postgresql://asd_b_bj01@central.example.com:5432/aftersales"
        )
        self.cb_ssl = QComboBox()
        for mode in connection.SSLMODES:
            self.cb_ssl.addItem(_(SSL_LABELS[mode]), mode)
        self.cb_ssl.setCurrentIndex(self.cb_ssl.findData(current.sslmode))
        self.ed_password = QLineEdit()
        self.ed_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ed_password.setPlaceholderText(_("(unchanged)"))
        self.sp_auto = QSpinBox()
        self.sp_auto.setRange(0, connection.MAX_AUTO_MINUTES)
        self.sp_auto.setSpecialValueText(_("Off (sync by hand)"))
        self.sp_auto.setSuffix(_(" min"))
        self.sp_auto.setValue(current.auto_minutes)
        form = QFormLayout()
        form.addRow(_("Address"), self.ed_url)
        form.addRow(_("Encryption (TLS)"), self.cb_ssl)
        form.addRow(_("Password"), self.ed_password)
        form.addRow(_("Automatic sync every"), self.sp_auto)
        note = QLabel(
            _(
                "The password is kept in this computer's system keyring, never in a file or the "
                "database. Automatic sync runs only when the server can be reached."
            )
        )
        note.setWordWrap(True)
        self.lbl_result = QLabel()
        self.lbl_result.setObjectName("result")
        self.lbl_result.setWordWrap(True)
        self.btn_test = QPushButton(_("&Test connection"))
        self.btn_test.clicked.connect(self.on_test)
        row = QHBoxLayout()
        row.addWidget(self.btn_test)
        row.addWidget(self.lbl_result, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.btn_save = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.btn_save.setEnabled(ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS))
        buttons.accepted.connect(self.on_save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self._check_password(current)

    def _check_password(self, current: connection.SyncSettings) -> None:
        if not current.configured:
            return
        self.ctx.ops.run(
            lambda _p: connection.has_password(current),
            on_success=lambda has: self.ed_password.setPlaceholderText(
                _("(kept in the keyring)") if has else _("(not stored yet)")
            ),
            on_error=lambda _e: True,
            parent=self,
            write=False,
        )

    def _values(self) -> tuple[str, str, int]:
        return self.ed_url.text().strip(), str(self.cb_ssl.currentData()), self.sp_auto.value()

    def _show(self, text: str, ok: bool) -> None:
        self.lbl_result.setText(text)
        self.lbl_result.setStyleSheet("color: #1b7f3a;" if ok else "color: #b3261e;")

    def _field_error(self, exc: BaseException) -> bool:
        if isinstance(exc, UserError):
            self._show(exc.message, False)
            if isinstance(exc, ValidationError):
                {"url": self.ed_url, "sslmode": self.cb_ssl, "auto_minutes": self.sp_auto}.get(
                    exc.field or "", self.ed_url
                ).setFocus()
            return True
        return False

    def on_test(self) -> None:
        url, sslmode, minutes = self._values()
        try:
            settings = connection.check(url, sslmode, minutes)
        except ValidationError as exc:
            self._field_error(exc)
            return
        password = self.ed_password.text() or None
        self._show(_("Connecting…"), True)
        self.btn_test.setEnabled(False)

        def done(text: str) -> None:
            self.btn_test.setEnabled(True)
            self._show(text, True)

        def failed(exc: BaseException) -> bool:
            self.btn_test.setEnabled(True)
            return self._field_error(exc)

        self.ctx.ops.run(
            lambda _p: connection.test_connection(settings, password),
            parent=self,
            on_success=done,
            on_error=failed,
            write=False,
        )

    def on_save(self) -> None:
        url, sslmode, minutes = self._values()
        password = self.ed_password.text() or None
        db, actor = self.ctx.db, self.ctx.actor

        def saved(settings: connection.SyncSettings) -> None:
            self.saved = settings
            self.accept()

        self.ctx.ops.run(
            lambda _p: connection.save(
                db, actor, url=url, sslmode=sslmode, auto_minutes=minutes, password=password
            ),
            parent=self,
            on_success=saved,
            on_error=self._field_error,
            changes={"settings"},
        )
