"""Small widgets the dialogs share."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox

from aftersales_desk.i18n import _


def ok_cancel(
    dialog: QDialog, ok_text: str = "", on_ok: Callable[[], object] | None = None
) -> QDialogButtonBox:
    """A dialog's OK and Cancel buttons in the current language: OK says ``ok_text`` ("OK" when
    empty) and runs ``on_ok`` (the dialog's ``accept`` when none); Cancel rejects the dialog."""
    box = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    box.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text or _("OK"))
    box.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
    box.accepted.connect(on_ok or dialog.accept)
    box.rejected.connect(dialog.reject)
    return box
