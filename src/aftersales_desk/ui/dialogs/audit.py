"""The audit log (managers): newest first, searchable, with before/after of the selected entry."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
)

from aftersales_desk.i18n import N_, _
from aftersales_desk.services.audit import AuditService
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel


class AuditDialog(QDialog):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Audit log"))
        self.resize(980, 560)
        self.service = AuditService(ctx.db, ctx.actor)
        self.search = QLineEdit()
        self.search.setPlaceholderText(_("Filter by user, record kind, action or record id"))
        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.on_filter)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.model = LazyTableModel(
            [
                Column(
                    "at", N_("When"), fmt=lambda v: v.astimezone().strftime("%Y-%m-%d %H:%M:%S")
                ),
                Column("username", N_("User")),
                Column("action", N_("Action")),
                Column("entity", N_("Record kind")),
                Column("entity_id", N_("Record")),
            ],
            self.service.page,
            parent=self,
        )
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.detail)
        split.setSizes([380, 160])
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(split)
        self.model.reload()
        self.view.selectionModel().currentRowChanged.connect(self.on_current)

    def on_filter(self) -> None:
        text = self.search.text().strip()
        self.model.reload(lambda cursor, limit: self.service.page(cursor, limit, text=text))

    def on_current(self, current, _previous) -> None:
        if not current.isValid():
            self.detail.clear()
            return
        row = self.model.row(current.row())
        parts = []
        if row.before is not None:
            parts.append(_("Before:") + "\n" + json.dumps(row.before, ensure_ascii=False, indent=2))
        if row.after is not None:
            parts.append(_("After:") + "\n" + json.dumps(row.after, ensure_ascii=False, indent=2))
        if row.note:
            parts.append(row.note)
        self.detail.setPlainText("\n\n".join(parts))
