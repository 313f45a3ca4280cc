"""Settings: my language; the branch's paper size, window font and details (managers)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import LANGUAGE_NAMES, LANGUAGES, _, current_language
from aftersales_desk.services.auth import UserService
from aftersales_desk.services.settings import PAPER_SIZES, SettingsService
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.widgets import ok_cancel

PAPER_LABELS = {"A4": "A4", "A5": "A5", "241x140": "241×140 mm"}


class SettingsDialog(QDialog):
    sig_language_changed = Signal(str)

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Settings"))
        self.setMinimumWidth(460)
        self.settings = SettingsService(ctx.db, ctx.actor)
        values = self.settings.all()
        branch = self.settings.branch()
        can_edit = ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS)

        mine = QGroupBox(_("For me"))
        self.cb_lang = QComboBox()
        for lang in LANGUAGES:
            self.cb_lang.addItem(LANGUAGE_NAMES[lang], lang)
        self.cb_lang.setCurrentIndex(LANGUAGES.index(current_language()))
        f1 = QFormLayout(mine)
        f1.addRow(_("Language"), self.cb_lang)

        br = QGroupBox(_("For the branch"))
        self.cb_paper = QComboBox()
        for size in PAPER_SIZES:
            self.cb_paper.addItem(PAPER_LABELS[size], size)
        self.cb_paper.setCurrentIndex(PAPER_SIZES.index(values["paper_size"]))
        self.sp_font = QSpinBox()
        self.sp_font.setRange(7, 24)
        self.sp_font.setValue(int(values["ui_font_size"]))
        self.ed_name = QLineEdit(branch.name)
        self.ed_address = QLineEdit(branch.address)
        self.ed_phone = QLineEdit(branch.phone)
        f2 = QFormLayout(br)
        f2.addRow(_("Branch code"), QLabel(branch.code))
        f2.addRow(_("Branch name"), self.ed_name)
        f2.addRow(_("Address"), self.ed_address)
        f2.addRow(_("Phone"), self.ed_phone)
        f2.addRow(_("Paper size"), self.cb_paper)
        f2.addRow(_("Window font size"), self.sp_font)
        br.setEnabled(can_edit)
        if not can_edit:
            br.setToolTip(_("Only the manager changes the branch's settings."))

        buttons = ok_cancel(self, _("Save"), on_ok=self.on_save)
        layout = QVBoxLayout(self)
        layout.addWidget(mine)
        layout.addWidget(br)
        layout.addWidget(buttons)
        self._can_edit = can_edit

    def on_save(self) -> None:
        lang = self.cb_lang.currentData()
        values = {"paper_size": self.cb_paper.currentData(), "ui_font_size": self.sp_font.value()}
        branch = (self.ed_name.text(), self.ed_address.text(), self.ed_phone.text())
        actor, db, can_edit = self.ctx.actor, self.ctx.db, self._can_edit

        def save(progress) -> None:
            UserService(db, actor).set_own_language(lang)
            if can_edit:
                svc = SettingsService(db, actor)
                svc.update(values)
                svc.update_branch(name=branch[0], address=branch[1], phone=branch[2])

        def done(_result) -> None:
            self.accept()
            if lang != current_language():
                self.sig_language_changed.emit(lang)

        self.ctx.ops.run(save, parent=self, on_success=done, changes={"settings"})
