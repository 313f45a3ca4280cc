"""The stock count page 盘点 of the parts tab: the counts, and the lines of the chosen one.

Scanning: scan a bin label to make it the current bin, then scan parts — every scan adds one;
typing a number and Enter right after a scan makes that scan's quantity the number. The code is
looked up in memory (``ScanIndex``, loaded once per count) and the entry is written on the writer
thread, so a scanner at 10 scans a second never waits for the database; the scanned line's row is
refreshed in place. Everything else (start, import, submit, approve, post, print) runs through
``ctx.ops`` with progress where it can take long.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import format_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import UserError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.counts import (
    REASON_LABELS,
    CountRow,
    CountScope,
    LineRow,
    ScanIndex,
    ScanResult,
    StockCounts,
    SubmitResult,
)
from aftersales_desk.services.counts_io import (
    CountImportResult,
    export_sheet,
    import_sheet,
    print_count,
)
from aftersales_desk.services.pages import Page
from aftersales_desk.services.parts_catalog import PartsCatalog
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.parts.scanner import ScanLineEdit
from aftersales_desk.ui.widgets import ok_cancel

MAX_TYPED_QTY = 99_999  # a typed number up to this after a scan is that scan's quantity

FILTERS = [
    ("", N_("All lines")),
    ("uncounted", N_("Not counted yet")),
    ("variance", N_("With variance")),
    ("recount", N_("To recount")),
]


def _when(v: Any) -> str:
    return v.astimezone().strftime("%Y-%m-%d %H:%M") if v else ""


def _yes(v: bool) -> str:
    return _("yes") if v else ""


def _opt(v: Any) -> str:
    return "" if v is None else str(v)


def _money(v: Any) -> str:
    return "" if v is None else format_money(v)


class LinesModel(LazyTableModel):
    """Count lines, a page at a time; a scanned line's row is replaced in place."""

    def replace_row(self, row: LineRow) -> int | None:
        i = self.row_for_id(row.id)
        if i is None:
            return None
        self._rows[i] = row
        self.dataChanged.emit(self.index(i, 0), self.index(i, self.columnCount() - 1))
        return i


class NewCountDialog(QDialog):
    """Scope (bins, categories, moved since, ABC class), blind or not, a note."""

    def __init__(self, bins: list[str], categories: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(_("New stock count"))
        self.bins = QListWidget()
        self.bins.setSelectionMode(QListWidget.SelectionMode.MultiSelection)
        for code in bins:
            self.bins.addItem(QListWidgetItem(code))
        self.categories = QListWidget()
        self.categories.setSelectionMode(QListWidget.SelectionMode.MultiSelection)
        for cat in categories:
            self.categories.addItem(QListWidgetItem(cat))
        self.moved = QCheckBox(_("Only parts moved since"))
        self.since = QDateEdit(QDate.currentDate().addMonths(-1))
        self.since.setCalendarPopup(True)
        self.abc = QComboBox()
        self.abc.addItem(_("Any class"), "")
        for c in ("A", "B", "C"):
            self.abc.addItem(_("Class {abc} (cycle count)").format(abc=c), c)
        self.blind = QCheckBox(_("Blind count (counters do not see the expected quantities)"))
        self.blind.setChecked(True)
        self.note = QLineEdit()
        form = QFormLayout()
        form.addRow(QLabel(_("Nothing chosen means everything.")))
        form.addRow(_("Bins"), self.bins)
        form.addRow(_("Categories"), self.categories)
        row = QHBoxLayout()
        row.addWidget(self.moved)
        row.addWidget(self.since)
        form.addRow(_("Movement"), row)
        form.addRow(_("ABC class"), self.abc)
        form.addRow("", self.blind)
        form.addRow(_("Note"), self.note)
        buttons = ok_cancel(self, _("Start and freeze"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def value(self) -> tuple[CountScope, bool, str]:
        since: date | None = self.since.date().toPython() if self.moved.isChecked() else None
        scope = CountScope(
            bins=tuple(i.text() for i in self.bins.selectedItems()),
            categories=tuple(i.text() for i in self.categories.selectedItems()),
            moved_since=since,
            abc=self.abc.currentData() or "",
        )
        return scope, self.blind.isChecked(), self.note.text()


class ToleranceDialog(QDialog):
    """Tolerance per part category: a line whose variance exceeds both the pieces and the
    percentage of its expected quantity needs a recount before approval."""

    def __init__(self, values: dict[str, list[int]], categories: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle(_("Count tolerance"))
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([_("Category"), _("Pieces"), _("Percent")])
        self.table.horizontalHeader().setStretchLastSection(True)
        keys = ["*", *sorted(set(categories) | (set(values) - {"*"}))]
        for key in keys:
            pieces, percent = values.get(key, values.get("*", [0, 0]))
            r = self.table.rowCount()
            self.table.insertRow(r)
            item = QTableWidgetItem(_("(all other categories)") if key == "*" else key)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 0, item)
            for c, v, high in ((1, pieces, 1_000_000), (2, percent, 100)):
                spin = QSpinBox()
                spin.setRange(0, high)
                spin.setValue(int(v))
                self.table.setCellWidget(r, c, spin)
        buttons = ok_cancel(self, _("Save"))
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                _(
                    "A line needs a recount when its variance is over both the pieces and the "
                    "percentage of its expected quantity."
                )
            )
        )
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 420)

    def values(self) -> dict[str, list[int]]:
        out = {}
        for r in range(self.table.rowCount()):
            key = self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            out[key] = [self.table.cellWidget(r, 1).value(), self.table.cellWidget(r, 2).value()]
        return out


class CountsPage(QWidget):
    """The counts (newest first) above, the chosen count's lines and the scanner below."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = StockCounts(ctx.db, ctx.actor)
        self.number: str | None = None
        self.index: ScanIndex | None = None
        self.last_scan: ScanResult | None = None
        self.last_submit: SubmitResult | None = None
        self.last_import: CountImportResult | None = None
        self.message_box: QMessageBox | None = None
        self.pending_scans = 0
        self.awaiting_qty = False  # a part was just scanned: a typed number is its quantity
        self._last_written: ScanResult | None = None  # set on the writer thread

        # --- the counts -------------------------------------------------------------------
        self.counts_model = LazyTableModel(
            [
                Column("number", N_("Count no.")),
                Column("status_label", N_("Status")),
                Column("scope", N_("Scope")),
                Column("blind", N_("Blind"), _yes),
                Column("frozen_at", N_("Frozen at"), _when),
                Column("lines", N_("Lines"), align_right=True),
                Column("counted", N_("Counted lines"), align_right=True),
                Column("variance_lines", N_("Variance lines"), align_right=True),
                Column("recounts", N_("To recount"), align_right=True),
                Column("approved_by", N_("Approved by")),
                Column("document", N_("Adjustment note")),
            ],
            self._fetch_counts,
            page_size=100,
            parent=self,
        )
        from aftersales_desk.ui.tabs.parts.pages import make_view, stretch

        self.counts_view = make_view(self.counts_model)
        stretch(self.counts_view, 2)
        self.counts_view.selectionModel().currentRowChanged.connect(self._on_count_row)
        can_count = ctx.actor.can(Permission.POST_STOCK)
        can_approve = ctx.actor.can(Permission.APPROVE)
        self.btn_new = QPushButton(_("New count…"))
        self.btn_sheets = QPushButton(_("Print count sheets…"))
        self.btn_export = QPushButton(_("Export sheet (Excel)…"))
        self.btn_import = QPushButton(_("Import filled-in sheet…"))
        self.btn_result = QPushButton(_("Print result…"))
        self.btn_cancel = QPushButton(_("Cancel count…"))
        self.btn_tolerance = QPushButton(_("Tolerance…"))
        self.btn_tolerance.clicked.connect(self.on_tolerance)
        self.btn_tolerance.setEnabled(ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS))
        self.btn_new.clicked.connect(self.on_new)
        self.btn_sheets.clicked.connect(self.on_print_sheets)
        self.btn_export.clicked.connect(self.on_export)
        self.btn_import.clicked.connect(self.on_import)
        self.btn_result.clicked.connect(self.on_print_result)
        self.btn_cancel.clicked.connect(self.on_cancel)
        for b in (self.btn_new, self.btn_import, self.btn_cancel):
            b.setEnabled(can_count)

        # --- the chosen count -------------------------------------------------------------
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.bin_box = QComboBox()
        self.bin_box.setEditable(True)
        self.bin_box.setMinimumWidth(110)
        self.bin_box.setToolTip(_("Scan a bin label or choose the bin being counted"))
        self.scan_edit = ScanLineEdit()
        self.scan_edit.setPlaceholderText(
            _(
                "Scan a bin label, then parts (each scan adds 1; type a number after a scan for more)"
            )
        )
        self.scan_edit.sig_code.connect(self.on_code)
        self.scan_label = QLabel()
        self.scan_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.filter_box = QComboBox()
        for key, label in FILTERS:
            self.filter_box.addItem(_(label), key)
        self.filter_box.currentIndexChanged.connect(lambda _i: self.reload_lines())
        self.search = QLineEdit()
        self.search.setPlaceholderText(_("Find bin, part no. or name"))
        self.search.returnPressed.connect(self.reload_lines)
        self.lines_model = LinesModel(
            [
                Column("line_no", N_("No."), align_right=True),
                Column("bin", N_("Bin")),
                Column("part_no", N_("Part no.")),
                Column("name", N_("Part name")),
                Column("unit", N_("Unit")),
                Column("expected", N_("Expected"), _opt, align_right=True),
                Column("counted_qty", N_("Counted"), align_right=True),
                Column("counted", N_("Counted mark"), _yes),
                Column("variance", N_("Variance"), _opt, align_right=True),
                Column("reason_label", N_("Reason")),
                Column("pass_no", N_("Pass"), align_right=True),
                Column("recount_needed", N_("Recount"), _yes),
                Column("value", N_("Variance value"), _money, align_right=True),
            ],
            self._fetch_lines,
            parent=self,
        )
        self.lines_view = make_view(self.lines_model)
        stretch(self.lines_view, 3)
        self.btn_enter = QPushButton(_("Enter quantity…"))
        self.btn_mark = QPushButton(_("Mark the rest counted (none found)"))
        self.btn_reason = QPushButton(_("Reason…"))
        self.btn_submit = QPushButton(_("Counting done: submit"))
        self.btn_recount = QPushButton(_("Recount selected"))
        self.btn_approve = QPushButton(_("Approve"))
        self.btn_post = QPushButton(_("Post adjustments"))
        self.btn_enter.clicked.connect(self.on_enter)
        self.btn_mark.clicked.connect(self.on_mark_rest)
        self.btn_reason.clicked.connect(self.on_reason)
        self.btn_submit.clicked.connect(self.submit)
        self.btn_recount.clicked.connect(self.recount_selected)
        self.btn_approve.clicked.connect(self.approve)
        self.btn_post.clicked.connect(self.post)
        for b in (self.btn_enter, self.btn_mark, self.btn_reason, self.btn_submit, self.btn_post):
            b.setEnabled(can_count)
        for b in (self.btn_recount, self.btn_approve):
            b.setEnabled(can_approve)
            b.setVisible(can_approve)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(
            _row(
                self.btn_new,
                self.btn_sheets,
                self.btn_export,
                self.btn_import,
                self.btn_result,
                self.btn_cancel,
                self.btn_tolerance,
            )
        )
        tl.addWidget(self.counts_view, 1)
        bottom = QGroupBox()
        bl = QVBoxLayout(bottom)
        bl.addWidget(self.title)
        scan_row = QHBoxLayout()
        scan_row.addWidget(QLabel(_("Bin")))
        scan_row.addWidget(self.bin_box)
        scan_row.addWidget(self.scan_edit, 2)
        scan_row.addWidget(self.scan_label, 3)
        bl.addLayout(scan_row)
        filter_row = QHBoxLayout()
        filter_row.addWidget(self.filter_box)
        filter_row.addWidget(self.search, 1)
        bl.addLayout(filter_row)
        bl.addWidget(self.lines_view, 1)
        bl.addLayout(
            _row(
                self.btn_enter,
                self.btn_mark,
                self.btn_reason,
                self.btn_submit,
                self.btn_recount,
                self.btn_approve,
                self.btn_post,
            )
        )
        self.detail = bottom
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._update_buttons(None)

    # --- data -----------------------------------------------------------------------------
    def _fetch_counts(self, cursor: Any, limit: int) -> Page[CountRow]:
        return self.service.page(cursor, limit)

    def _fetch_lines(self, cursor: Any, limit: int) -> Page[LineRow]:
        if self.number is None:
            return Page([], None)
        return self.service.lines(
            self.number,
            cursor,
            limit,
            only=self.filter_box.currentData() or "",
            text_filter=self.search.text(),
        )

    def reload(self) -> None:
        """Reload the counts, keeping the chosen one."""
        number = self.number
        self.counts_model.reload()
        if number is not None:
            self.select_count(number)
        elif self.counts_model.rowCount():
            self.counts_view.selectRow(0)

    def reload_lines(self) -> None:
        self.lines_model.reload()

    def current(self) -> CountRow | None:
        if self.number is None:
            return None
        return self.service.view(self.number)

    def select_count(self, number: str) -> bool:
        for i in range(self.counts_model.rowCount()):
            if self.counts_model.row(i).number == number:
                self.counts_view.selectRow(i)
                self._open(number)
                return True
        return False

    def _on_count_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            row = self.counts_model.row(current.row())
            if row.number != self.number:
                self._open(row.number)

    def _open(self, number: str) -> None:
        if number != self.number:
            self.scan_label.clear()  # what was said about another count
        self.number = number
        self.index = None
        self.last_scan = None
        self.awaiting_qty = False
        view = self.service.view(number)
        self.title.setText(
            _("{number} · {status} · {scope} · {counted}/{lines} lines counted").format(
                number=view.number,
                status=view.status_label,
                scope=view.scope,
                counted=view.counted,
                lines=view.lines,
            )
            + (" · " + _("blind") if view.blind else "")
        )
        if view.status == "open":
            self.index = self.service.scan_index(number)
            current = self.bin_box.currentText()
            self.bin_box.clear()
            self.bin_box.addItem("")
            self.bin_box.addItems(sorted(self.index.bins))
            self.bin_box.setCurrentText(current if current in self.index.bins else "")
        self._update_buttons(view)
        self.reload_lines()

    def _update_buttons(self, view: CountRow | None) -> None:
        status = view.status if view else ""
        can_count = self.ctx.actor.can(Permission.POST_STOCK)
        can_approve = self.ctx.actor.can(Permission.APPROVE)
        counting = status == "open" and can_count
        for w in (self.scan_edit, self.bin_box, self.btn_enter, self.btn_mark, self.btn_submit):
            w.setEnabled(counting)
        self.btn_reason.setEnabled(can_count and status in ("open", "submitted"))
        self.btn_recount.setEnabled(can_approve and status in ("open", "submitted"))
        self.btn_approve.setEnabled(can_approve and status == "submitted")
        self.btn_post.setEnabled(can_count and status == "approved")
        self.btn_sheets.setEnabled(view is not None)
        self.btn_export.setEnabled(status == "open")
        self.btn_import.setEnabled(counting)
        self.btn_result.setEnabled(status in ("submitted", "approved", "posted"))
        self.btn_cancel.setEnabled(can_count and status in ("open", "submitted", "approved"))

    def _refresh_count(self) -> None:
        """After a change of the count's state: the list row and the lines."""
        number = self.number
        self.counts_model.reload()
        if number is not None:
            self.select_count(number)

    def on_tolerance(self) -> None:
        dlg = ToleranceDialog(
            self.service.tolerance(), PartsCatalog(self.ctx.db, self.ctx.actor).categories(), self
        )
        if dlg.exec() == QDialog.DialogCode.Accepted:
            values = dlg.values()
            self.ctx.ops.run(
                lambda _p: self.service.save_tolerance(values),
                parent=self,
                label=_("Saving…"),
                changes={"settings"},
            )

    # --- starting ---------------------------------------------------------------------------
    def on_new(self) -> None:
        catalog = PartsCatalog(self.ctx.db, self.ctx.actor)
        dlg = NewCountDialog([b.code for b in catalog.bins()], catalog.categories(), self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            scope, blind, note = dlg.value()
            self.start(scope, blind=blind, note=note)

    def start(self, scope: CountScope, *, blind: bool = True, note: str = "") -> None:
        def done(number: str) -> None:
            self.number = None
            self.counts_model.reload()
            self.select_count(number)

        self.ctx.ops.run(
            lambda _p: self.service.start(scope, blind=blind, note=note),
            parent=self,
            label=_("Freezing the expected quantities…"),
            on_success=done,
            changes={"parts"},
        )

    # --- scanning ---------------------------------------------------------------------------
    def on_code(self, code: str, scanned: bool) -> None:
        """A code from the scanner or the keyboard: a bin label, a part, or a quantity."""
        if self.index is None or self.number is None:
            return
        code = code.strip()
        self.scan_edit.clear()
        if code.upper() in self.index.bins:
            self.bin_box.setCurrentText(code.upper())
            self._say(_("Counting bin {bin}.").format(bin=code.upper()))
            return
        if (
            not scanned
            and self.awaiting_qty
            and code.isdigit()
            and 0 < int(code) <= MAX_TYPED_QTY
            and self.index.find_part(code) is None
        ):
            # a quantity typed after a scan: that scan counted ``code`` pieces, not one. The
            # writer runs jobs in order, so the scan before it has been written when this runs.
            self.awaiting_qty = False
            extra = int(code) - 1

            def more() -> ScanResult:
                last = self._last_written
                if last is None:
                    raise ValidationError(_("Scan a part first, then type its quantity."))
                self._last_written = None
                return self._entry(last.line_id, extra) if extra else last

            self._write(more, typed=code)
            return
        source = "scanner" if scanned else "keyboard"
        bin_code = self.bin_box.currentText().strip()
        index = self.index

        def work() -> ScanResult:
            return self.service.scan(index, code, bin_code=bin_code, source=source)

        self.awaiting_qty = True
        self._write(work)

    def _entry(self, line_id: uuid.UUID, qty: int) -> ScanResult:
        index = self.index
        assert index is not None
        total = self.service.add_entry(index.session_id, line_id, qty)
        part_no, name, b = index.info[line_id]
        return ScanResult(line_id, part_no, name, b, total, False)

    def _write(self, fn: Any, *, typed: str = "") -> None:
        """Run a count entry on the writer thread (in order with the others), then refresh the
        line's row. ``typed``: the quantity typed after a scan, for the message."""
        number = self.number
        self.pending_scans += 1

        def job(_p: Any) -> tuple[ScanResult, LineRow]:
            result = fn()
            self._last_written = None if typed else result
            return result, self.service.line_row(number, result.line_id)  # type: ignore[arg-type]

        def done(value: tuple[ScanResult, LineRow]) -> None:
            self.pending_scans -= 1
            result, row = value
            if result.added:
                self.reload_lines()
            else:
                self.lines_model.replace_row(row)  # None when not loaded or filtered out
            i = self.lines_model.row_for_id(row.id)
            if i is not None:
                self.lines_view.selectRow(i)
            self.last_scan = result
            if typed:
                text = _("{part_no} {name}: {qty} pieces").format(
                    part_no=result.part_no, name=result.name, qty=typed
                )
            else:
                text = _("{part_no} {name} · bin {bin} · counted {qty}").format(
                    part_no=result.part_no, name=result.name, bin=result.bin, qty=result.counted_qty
                ) + ((" · " + _("found here, line added")) if result.added else "")
            self._say(text)

        def failed(exc: BaseException) -> bool:
            self.pending_scans -= 1
            if isinstance(exc, UserError):
                QApplication.beep()
                self._say(str(exc), error=True)
                return True
            return False

        self.ctx.ops.run(job, parent=self, on_success=done, on_error=failed, changes=None)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.scan_label.setText(text)
        self.scan_label.setStyleSheet("color: #b00020;" if error else "color: #1b5e20;")

    # --- the other counting actions ---------------------------------------------------------
    def selected_lines(self) -> list[LineRow]:
        return [
            self.lines_model.row(i.row()) for i in self.lines_view.selectionModel().selectedRows()
        ]

    def on_enter(self) -> None:
        rows = self.selected_lines()
        if not rows or self.index is None:
            return
        row = rows[0]
        qty, ok = QInputDialog.getInt(
            self,
            _("Enter quantity"),
            _("{part_no} {name} in bin {bin}: pieces to add (negative corrects a mistake)").format(
                part_no=row.part_no, name=row.name, bin=row.bin
            ),
            1,
            -MAX_TYPED_QTY,
            MAX_TYPED_QTY,
        )
        if ok and qty:
            self._write(lambda: self._entry(row.id, qty))

    def on_mark_rest(self) -> None:
        number = self.number
        if number is None:
            return
        self.ctx.ops.run(
            lambda _p: self.service.mark_counted(number),
            parent=self,
            label=_("Marking…"),
            on_success=lambda n: (
                self._say(_("{n} lines marked counted.").format(n=n)),
                self._refresh_count(),
            ),
            changes={"parts"},
        )

    def on_reason(self) -> None:
        rows = self.selected_lines()
        if not rows:
            return
        labels = [_(REASON_LABELS[k]) for k in REASON_LABELS]
        label, ok = QInputDialog.getItem(
            self, _("Reason"), _("Reason of the variance:"), labels, 0, False
        )
        if ok:
            reason = list(REASON_LABELS)[labels.index(label)]
            self.set_reason(rows[0].id, reason)

    def set_reason(self, line_id: uuid.UUID, reason: str) -> None:
        number = self.number
        self.ctx.ops.run(
            lambda _p: self.service.set_reason(number, line_id, reason),  # type: ignore[arg-type]
            parent=self,
            on_success=lambda _r: self._replace(line_id),
            changes={"parts"},
        )

    def _replace(self, line_id: uuid.UUID) -> None:
        if self.number is not None:
            self.lines_model.replace_row(self.service.line_row(self.number, line_id))

    def submit(self) -> None:
        number = self.number
        if number is None:
            return

        def done(result: SubmitResult) -> None:
            self.last_submit = result
            self._refresh_count()
            if result.submitted:
                text = _("Submitted for approval: {n} lines differ.").format(
                    n=result.variance_lines
                )
            else:
                text = _("{n} lines are over the tolerance and must be counted again.").format(
                    n=result.recounts
                )
                self.filter_box.setCurrentIndex(3)
            self._say(text, error=not result.submitted)

        self.ctx.ops.run(
            lambda _p: self.service.submit(number),
            parent=self,
            label=_("Working out the variances…"),
            on_success=done,
            changes={"parts"},
        )

    def recount_selected(self) -> None:
        number = self.number
        ids = [r.id for r in self.selected_lines()]
        if number is None or not ids:
            return
        self.ctx.ops.run(
            lambda _p: self.service.request_recount(number, ids),
            parent=self,
            on_success=lambda _n: self._refresh_count(),
            changes={"parts"},
        )

    def approve(self) -> None:
        number = self.number
        if number is None:
            return
        self.ctx.ops.run(
            lambda _p: self.service.approve(number),
            parent=self,
            on_success=lambda _r: self._refresh_count(),
            changes={"parts"},
        )

    def post(self) -> None:
        number = self.number
        if number is None:
            return

        def done(doc: str) -> None:
            self._refresh_count()
            self._say(
                _("Posted: adjustment note {doc}.").format(doc=doc)
                if doc
                else _("Posted: nothing differed.")
            )

        self.ctx.ops.run(
            lambda p: self.service.post(number, p),
            parent=self,
            label=_("Posting the adjustments…"),
            on_success=done,
            changes={"parts"},
        )

    def on_cancel(self) -> None:
        number = self.number
        if number is None:
            return
        reason, ok = QInputDialog.getText(self, _("Cancel count"), _("Why is the count cancelled?"))
        if ok and reason.strip():
            self.ctx.ops.run(
                lambda _p: self.service.cancel(number, reason),
                parent=self,
                on_success=lambda _r: self._refresh_count(),
                changes={"parts"},
            )

    # --- paper and Excel --------------------------------------------------------------------
    def on_print_sheets(self) -> None:
        if self.number is None:
            return
        name, _f = QFileDialog.getSaveFileName(
            self, _("Count sheets"), f"{self.number}.pdf", _("PDF files (*.pdf)")
        )
        if name:
            self.write_paper(Path(name), "sheet")

    def on_print_result(self) -> None:
        if self.number is None:
            return
        name, _f = QFileDialog.getSaveFileName(
            self,
            _("Stock count result"),
            f"{self.number}.pdf",
            _("PDF or Excel (*.pdf *.xlsx)"),
        )
        if name:
            self.write_paper(Path(name), "result")

    def write_paper(self, out: Path, what: str) -> None:
        number = self.number
        self.ctx.ops.run(
            lambda _p: print_count(self.ctx.db, self.ctx.actor, number, out, what=what),  # type: ignore[arg-type]
            parent=self,
            label=_("Writing…"),
            write=False,
            on_success=lambda _r: self._say(_("Written to {out}.").format(out=out)),
        )

    def on_export(self) -> None:
        if self.number is None:
            return
        name, _f = QFileDialog.getSaveFileName(
            self, _("Export count sheet"), f"{self.number}.xlsx", _("Excel files (*.xlsx)")
        )
        if name:
            number = self.number
            self.ctx.ops.run(
                lambda _p: export_sheet(self.ctx.db, self.ctx.actor, number, Path(name)),
                parent=self,
                label=_("Exporting…"),
                write=False,
                on_success=lambda n: self._say(
                    _("{n} rows written to {out}.").format(n=n, out=name)
                ),
            )

    def on_import(self) -> None:
        name, _f = QFileDialog.getOpenFileName(
            self, _("Import count sheet"), "", _("Excel files (*.xlsx)")
        )
        if name:
            self.import_file(Path(name))

    def import_file(self, path: Path) -> None:
        def done(result: CountImportResult) -> None:
            self.last_import = result
            if result.errors:
                lines = [
                    _(
                        "The count sheet was not imported: {n} rows are wrong. Nothing changed."
                    ).format(n=result.rejected_rows)
                ]
                lines += [
                    _("row {row}, column {column}: {reason}").format(
                        row=e.row, column=e.column, reason=e.message
                    )
                    for e in result.errors[:20]
                ]
                if len(result.errors) > 20:
                    lines.append(_("… and {n} more").format(n=len(result.errors) - 20))
                icon = QMessageBox.Icon.Warning
            else:
                lines = [
                    _("Stock count {number}: {lines} lines counted, {added} lines added.").format(
                        number=result.number, lines=result.lines_counted, added=result.lines_added
                    )
                ]
                icon = QMessageBox.Icon.Information
            self.message_box = QMessageBox(
                icon, _("Import count sheet"), "\n".join(lines), QMessageBox.StandardButton.Ok, self
            )
            self.message_box.open()
            self._refresh_count()

        self.ctx.ops.run(
            lambda p: import_sheet(self.ctx.db, self.ctx.actor, path, progress=p),
            parent=self,
            label=_("Importing…"),
            on_success=done,
            changes={"parts"},
        )


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    return row
