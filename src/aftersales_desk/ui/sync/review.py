"""The Conflicts view (and the set-aside changes): lazy lists of what sync left for a person.

A conflict shows the record and field by name, the value kept and the other value, the clock
times of both edits and which desk's edit won; the reviewer keeps the value shown, uses the
other value, or types one. Set-aside changes show the reason; they can be dismissed or, for
this desk's own records, sent again. Every action is a service call
(``services/sync/review.py``) run through ``Ops``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.sync import review
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.sync.controller import ALL_AREAS


def _when(at: datetime | None) -> str:
    return "" if at is None else at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


RESOLUTIONS = {
    "keep": N_("kept the value shown"),
    "other": N_("used the other value"),
    "edit": N_("typed a value"),
}

CONFLICT_COLUMNS = [
    Column("record", N_("Record")),
    Column("field", N_("Field")),
    Column("kept", N_("Value kept (shown)")),
    Column("kept_at", N_("Kept edit at"), _when),
    Column("kept_by", N_("Won")),
    Column("other", N_("Other value")),
    Column("other_at", N_("Other edit at"), _when),
    Column("other_by", N_("Other edit by")),
]
QUARANTINE_COLUMNS = [
    Column("at", N_("Set aside at"), _when),
    Column("record", N_("Record")),
    Column("op", N_("Change")),
    Column("reason", N_("Reason")),
    Column("values", N_("Values")),
]


def _table(model: LazyTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.setWordWrap(False)
    return view


class _ReviewPage(QWidget):
    """A lazy list of items to review with a detail line; a page adds its buttons, ``_fetch``
    (a page of rows) and ``_selected`` (buttons and detail for the selected row)."""

    MAX_COLUMN_WIDTH = 220

    def __init__(
        self, ctx: AppContext, columns: list[Column], empty: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = LazyTableModel(columns, self._fetch, page_size=100, parent=self)
        self.view = _table(self.model)
        self.view.selectionModel().selectionChanged.connect(lambda *_a: self._selected())
        self.lbl_detail = QLabel()
        self.lbl_detail.setWordWrap(True)
        self.lbl_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lbl_empty = QLabel(empty)

    def reload(self) -> None:
        self.model.reload()
        self.view.resizeColumnsToContents()
        for col in range(self.model.columnCount()):
            self.view.setColumnWidth(col, min(self.view.columnWidth(col), self.MAX_COLUMN_WIDTH))
        self.lbl_empty.setVisible(self.model.rowCount() == 0)
        if self.model.rowCount():
            self.view.selectRow(0)
        self._selected()

    def current(self) -> Any:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None


class ConflictsPage(_ReviewPage):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, CONFLICT_COLUMNS, _("No conflicts to review."), parent)
        self.view.doubleClicked.connect(lambda _i: self.on_edit())
        self.cb_resolved = QCheckBox(_("Show resolved conflicts too"))
        self.cb_resolved.toggled.connect(lambda _on: self.reload())
        self.btn_keep = QPushButton(_("&Keep the value shown"))
        self.btn_other = QPushButton(_("&Use the other value"))
        self.btn_edit = QPushButton(_("&Edit the value…"))
        self.btn_keep.clicked.connect(lambda: self.on_resolve(review.KEEP))
        self.btn_other.clicked.connect(lambda: self.on_resolve(review.OTHER))
        self.btn_edit.clicked.connect(self.on_edit)
        buttons = QHBoxLayout()
        for b in (self.btn_keep, self.btn_other, self.btn_edit):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.cb_resolved)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.lbl_empty)
        layout.addWidget(self.lbl_detail)
        layout.addLayout(buttons)
        self.reload()

    def _fetch(self, cursor: Any, limit: int) -> Any:
        return review.conflicts_page(
            self.ctx.db,
            self.ctx.actor,
            cursor,
            limit,
            include_resolved=self.cb_resolved.isChecked(),
        )

    def _selected(self) -> None:
        row = self.current()
        may = self.ctx.actor.can(Permission.REVIEW_SYNC)
        open_ = row is not None and not row.resolved
        self.btn_keep.setEnabled(may and open_)
        self.btn_other.setEnabled(may and open_ and bool(row and row.exists))
        self.btn_edit.setEnabled(may and open_ and bool(row and row.exists and row.editable))
        if row is None:
            self.lbl_detail.setText("")
            return
        lines = [
            _("{record} — {field}").format(record=row.record, field=row.field),
            _("Now on this desk: {value}").format(value=row.now),
            _("Kept: {value} ({by}, {at})").format(
                value=row.kept, by=row.kept_by, at=_when(row.kept_at)
            ),
            _("Other: {value} ({by}, {at})").format(
                value=row.other, by=row.other_by, at=_when(row.other_at)
            ),
        ]
        if row.resolved:
            lines.append(
                _("Resolved by {who} at {at}: {how}").format(
                    who=row.resolved_by,
                    at=_when(row.resolved_at),
                    how=_(RESOLUTIONS.get(row.resolution, row.resolution)),
                )
            )
        elif not may:
            lines.append(_("Only a manager or administrator may resolve conflicts."))
        self.lbl_detail.setText("\n".join(lines))

    def on_resolve(self, choice: str, typed: str | None = None) -> None:
        row = self.current()
        if row is None:
            return
        db, actor, cid = self.ctx.db, self.ctx.actor, row.id
        self.ctx.ops.run(
            lambda _p: review.resolve(db, actor, cid, choice, typed),
            parent=self,
            on_success=lambda _r: self.reload(),
            changes=set(ALL_AREAS),
        )

    def on_edit(self) -> None:
        row = self.current()
        if row is None or not self.btn_edit.isEnabled():
            return
        start = row.now if row.now not in ("—",) else ""
        text, ok = QInputDialog.getText(
            self,
            _("Edit the value"),
            _("{record} — {field}:").format(record=row.record, field=row.field),
            text=start,
        )
        if ok:
            self.on_resolve(review.EDIT, text)


class QuarantinePage(_ReviewPage):
    MAX_COLUMN_WIDTH = 260

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, QUARANTINE_COLUMNS, _("No changes are set aside."), parent)
        self.btn_dismiss = QPushButton(_("&Dismiss"))
        self.btn_resend = QPushButton(_("Send &again as it is now"))
        self.btn_dismiss.clicked.connect(lambda: self._act(review.dismiss))
        self.btn_resend.clicked.connect(lambda: self._act(review.resend))
        buttons = QHBoxLayout()
        buttons.addWidget(self.btn_dismiss)
        buttons.addWidget(self.btn_resend)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.lbl_empty)
        layout.addWidget(self.lbl_detail)
        layout.addLayout(buttons)
        self.reload()

    def _fetch(self, cursor: Any, limit: int) -> Any:
        return review.quarantine_page(self.ctx.db, self.ctx.actor, cursor, limit)

    def _selected(self) -> None:
        row = self.current()
        may = self.ctx.actor.can(Permission.REVIEW_SYNC)
        self.btn_dismiss.setEnabled(may and row is not None)
        self.btn_resend.setEnabled(may and row is not None and row.can_resend)
        if row is None:
            self.lbl_detail.setText("")
            return
        self.lbl_detail.setText(
            "\n".join(
                [
                    f"{row.record} — {row.op}",
                    _("Reason: {reason}").format(reason=row.reason),
                    _("Values: {values}").format(values=row.values or "—"),
                ]
            )
        )

    def _act(self, fn: Any) -> None:
        row = self.current()
        if row is None:
            return
        db, actor, qid = self.ctx.db, self.ctx.actor, row.id
        self.ctx.ops.run(
            lambda _p: fn(db, actor, qid),
            parent=self,
            on_success=lambda _r: self.reload(),
            changes={"sync"},
        )


class SyncReviewDialog(QDialog):
    """Conflicts and set-aside changes, opened from the status bar and the Sync menu."""

    def __init__(
        self, ctx: AppContext, parent: QWidget | None = None, *, show_set_aside: bool = False
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Sync conflicts and set-aside changes"))
        self.resize(1100, 560)
        self.pages = QTabWidget()
        self.conflicts = ConflictsPage(ctx)
        self.quarantine = QuarantinePage(ctx)
        self.pages.addTab(self.conflicts, _("Conflicts"))
        self.pages.addTab(self.quarantine, _("Set aside"))
        if show_set_aside or (
            self.conflicts.model.rowCount() == 0 and self.quarantine.model.rowCount() > 0
        ):
            self.pages.setCurrentWidget(self.quarantine)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addWidget(close)
