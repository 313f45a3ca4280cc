"""The pages of the parts tab: stock, documents, counter sale, old parts, tools, reports. Each
page gets the ``AppContext``; every change goes through ``ctx.ops.run`` off the UI thread."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import format_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.reports.slips import PAYMENT_LABELS, SLIP_SIZES, render_receipt, render_slip
from aftersales_desk.services.counter_sales import CounterSales, SaleLine
from aftersales_desk.services.documents import DOC_TITLES, DocRow, DocumentService
from aftersales_desk.services.old_parts import TEST_RESULTS, OldParts
from aftersales_desk.services.pages import Page
from aftersales_desk.services.parts_catalog import PartRow, PartsCatalog
from aftersales_desk.services.parts_io import export_parts, import_parts
from aftersales_desk.services.parts_reports import BUILDERS, write_report
from aftersales_desk.services.parts_settings import parts_settings, save_parts_settings
from aftersales_desk.services.tools import ToolRegister
from aftersales_desk.services.xlsx_io import ImportResult
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.parts.dialogs import (
    DocumentDialog,
    LinesTable,
    PartDialog,
    PartsSettingsDialog,
)
from aftersales_desk.ui.tabs.parts.printing import preview, print_with_dialog
from aftersales_desk.ui.tabs.parts.scanner import PartField, ScanLineEdit


def _money(v: int) -> str:
    return format_money(v)


def _when(v) -> str:
    return v.astimezone().strftime("%Y-%m-%d %H:%M") if v else ""


def make_view(model: LazyTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    # fit the columns to the first page when it (re)loads: a page is at most a few hundred rows
    model.modelReset.connect(view.resizeColumnsToContents)
    return view


def stretch(view: QTableView, column: int) -> None:
    """Give the spare width to ``column`` (a name) instead of the last one (a number)."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)


def selected(view: QTableView, model: LazyTableModel) -> list:
    return [model.row(i.row()) for i in view.selectionModel().selectedRows()]


def buttons_row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    return row


class StockPage(QWidget):
    """The catalogue with this branch's stock; search or scan; post documents from here."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.catalog = PartsCatalog(ctx.db, ctx.actor)
        self.search = ScanLineEdit()
        self.search.setPlaceholderText(_("Search part no., name, model — or scan a barcode"))
        self.search.sig_code.connect(self.on_search)
        self.search.textChanged.connect(lambda t: None if t else self.on_search("", False))
        self.model = LazyTableModel(
            [
                Column("part_no", N_("Part no.")),
                Column("name", N_("Part name")),
                Column("model_fit", N_("Model fit")),
                Column("category", N_("Category")),
                Column("unit", N_("Unit")),
                Column("default_bin", N_("Default bin")),
                Column("on_hand", N_("On hand"), align_right=True),
                Column("min_qty", N_("Min"), align_right=True),
                Column("max_qty", N_("Max"), align_right=True),
                Column("avg_cost", N_("Average cost"), _money, align_right=True),
                Column("sale_price", N_("Sale price"), _money, align_right=True),
            ],
            self._fetch,
            parent=self,
        )
        self._text = ""
        self.view = make_view(self.model)
        stretch(self.view, 1)
        self.view.doubleClicked.connect(lambda _i: self.on_edit())
        self.btn_new = QPushButton(_("New part…"))
        self.btn_edit = QPushButton(_("Edit part…"))
        self.btn_receive = QPushButton(_("Receive…"))
        self.btn_issue = QPushButton(_("Issue slip…"))
        self.btn_return = QPushButton(_("Return to stock…"))
        self.btn_transfer = QPushButton(_("Transfer…"))
        self.btn_scrap = QPushButton(_("Scrap…"))
        self.btn_bin = QPushButton(_("New bin…"))
        self.btn_provider = QPushButton(_("New service provider…"))
        self.btn_settings = QPushButton(_("Settings…"))
        self.btn_settings.clicked.connect(self.on_settings)
        self.btn_settings.setEnabled(ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS))
        self.btn_import = QPushButton(_("Import Excel…"))
        self.btn_export = QPushButton(_("Export Excel…"))
        self.btn_import.clicked.connect(self.on_import)
        self.btn_export.clicked.connect(self.on_export)
        self.btn_new.clicked.connect(self.on_new)
        self.btn_edit.clicked.connect(self.on_edit)
        self.btn_receive.clicked.connect(lambda: self.open_document("receipt"))
        self.btn_issue.clicked.connect(lambda: self.open_document("issue"))
        self.btn_return.clicked.connect(lambda: self.open_document("return"))
        self.btn_transfer.clicked.connect(lambda: self.open_document("transfer"))
        self.btn_scrap.clicked.connect(lambda: self.open_document("scrap"))
        self.btn_bin.clicked.connect(self.on_new_bin)
        self.btn_provider.clicked.connect(self.on_new_provider)
        can_edit = ctx.actor.can(Permission.EDIT_PARTS)
        can_post = ctx.actor.can(Permission.POST_STOCK)
        for b in (self.btn_new, self.btn_edit, self.btn_bin, self.btn_provider, self.btn_import):
            b.setEnabled(can_edit)
        for b in (
            self.btn_receive,
            self.btn_issue,
            self.btn_return,
            self.btn_transfer,
            self.btn_scrap,
        ):
            b.setEnabled(can_post)
        self.last_document: DocumentDialog | None = None
        self.last_import: ImportResult | None = None
        self.import_message: QMessageBox | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addLayout(
            buttons_row(
                self.btn_new,
                self.btn_edit,
                self.btn_bin,
                self.btn_provider,
                self.btn_import,
                self.btn_export,
                self.btn_settings,
            )
        )
        layout.addWidget(self.view, 1)
        layout.addLayout(
            buttons_row(
                self.btn_receive,
                self.btn_issue,
                self.btn_return,
                self.btn_transfer,
                self.btn_scrap,
            )
        )

    def _fetch(self, cursor, limit) -> Page[PartRow]:
        return self.catalog.page(cursor, limit, text=self._text)

    def reload(self) -> None:
        self.model.reload()

    def on_search(self, text: str, scanned: bool) -> None:
        if scanned:
            part = self.catalog.find_by_code(text)
            if part is not None:
                text = part.part_no
        self._text = text
        self.model.reload()
        if self.model.rowCount():
            self.view.selectRow(0)

    def current(self) -> PartRow | None:
        rows = selected(self.view, self.model)
        return rows[0] if rows else None

    def _save(self, dlg: PartDialog) -> None:
        data = dlg.value()
        self.ctx.ops.run(
            lambda _p: self.catalog.save(data),
            parent=self,
            label=_("Saving…"),
            changes={"parts"},
        )

    def on_new(self) -> None:
        dlg = PartDialog(None, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self._save(dlg)

    def on_edit(self) -> None:
        row = self.current()
        if row is None:
            return
        dlg = PartDialog(row, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self._save(dlg)

    def open_document(self, kind: str) -> DocumentDialog:
        dlg = DocumentDialog(self.ctx, kind, self)
        part = self.current()
        if part is not None and kind != "receipt":
            dlg.part_field.edit.setText(part.part_no)
        self.last_document = dlg
        dlg.open()
        return dlg

    def import_file(self, path: Path, *, dry_run: bool = False) -> None:
        """Import parts from ``path``; the outcome (and rejected rows) is shown when done."""

        def done(result: ImportResult) -> None:
            self.last_import = result
            lines = [
                _(
                    "{created} new, {updated} updated, {unchanged} unchanged, "
                    "{rejected} rows rejected."
                ).format(
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                    rejected=result.rejected_rows,
                )
            ]
            lines += [
                _("row {row}, column {column}: {reason}").format(
                    row=e.row, column=e.column, reason=e.reason
                )
                for e in result.rejected[:20]
            ]
            if len(result.rejected) > 20:
                lines.append(_("… and {n} more").format(n=len(result.rejected) - 20))
            self.import_message = QMessageBox(
                QMessageBox.Icon.Warning if result.rejected else QMessageBox.Icon.Information,
                _("Import parts"),
                "\n".join(lines),
                QMessageBox.StandardButton.Ok,
                self,
            )
            self.import_message.open()

        self.ctx.ops.run(
            lambda progress: import_parts(
                self.ctx.db, self.ctx.actor, path, dry_run=dry_run, progress=progress
            ),
            parent=self,
            label=_("Importing…"),
            on_success=done,
            changes={"parts"},
        )

    def on_import(self) -> None:
        name, _f = QFileDialog.getOpenFileName(
            self, _("Import parts"), "", _("Excel files (*.xlsx)")
        )
        if name:
            self.import_file(Path(name))

    def on_export(self) -> None:
        name, _f = QFileDialog.getSaveFileName(
            self, _("Export parts"), "parts.xlsx", _("Excel files (*.xlsx)")
        )
        if name:
            self.ctx.ops.run(
                lambda progress: export_parts(
                    self.ctx.db, self.ctx.actor, Path(name), progress=progress
                ),
                parent=self,
                label=_("Exporting…"),
                write=False,
            )

    def on_settings(self) -> None:
        dlg = PartsSettingsDialog(parts_settings(self.ctx.db, self.ctx.actor), self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            values = dlg.values()
            self.ctx.ops.run(
                lambda _p: save_parts_settings(self.ctx.db, self.ctx.actor, values),
                parent=self,
                label=_("Saving…"),
                changes={"settings"},
            )

    def on_new_bin(self) -> None:
        code, ok = QInputDialog.getText(self, _("New bin"), _("Bin code, e.g. A-01:"))
        if not ok or not code.strip():
            return
        name, ok = QInputDialog.getText(self, _("New bin"), _("Name or description:"))
        if ok:
            self.ctx.ops.run(
                lambda _p: self.catalog.save_bin(code, name), parent=self, changes={"parts"}
            )

    def on_new_provider(self) -> None:
        code, ok = QInputDialog.getText(self, _("New service provider"), _("Code:"))
        if not ok or not code.strip():
            return
        name, ok = QInputDialog.getText(self, _("New service provider"), _("Name:"))
        if not ok:
            return
        phone, ok = QInputDialog.getText(self, _("New service provider"), _("Phone:"))
        if ok:
            self.ctx.ops.run(
                lambda _p: self.catalog.save_provider(code, name, phone),
                parent=self,
                changes={"parts"},
            )


KIND_FILTERS = [
    ("", N_("All documents")),
    ("issue", DOC_TITLES["issue"]),
    ("receipt", DOC_TITLES["receipt"]),
    ("sale", DOC_TITLES["sale"]),
    ("sale_return", DOC_TITLES["sale_return"]),
    ("return", DOC_TITLES["return"]),
    ("transfer", DOC_TITLES["transfer"]),
    ("scrap", DOC_TITLES["scrap"]),
    ("adjust", DOC_TITLES["adjust"]),
]


class DocumentsPage(QWidget):
    """Posted documents, newest first: preview, print, save as PDF, void, returns of sales."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = DocumentService(ctx.db, ctx.actor)
        self.cb_kind = QComboBox()
        for value, label in KIND_FILTERS:
            self.cb_kind.addItem(_(label), value)
        self.cb_status = QComboBox()
        self.cb_status.addItem(_("Any status"), "")
        self.cb_status.addItem(_("Posted"), "posted")
        self.cb_status.addItem(_("Void"), "void")
        self.search = ScanLineEdit()
        self.search.setPlaceholderText(_("Number, technician or customer — or scan a slip"))
        self.search.sig_code.connect(lambda _t, _s: self.reload())
        self.search.textChanged.connect(lambda t: None if t else self.reload())
        self.cb_kind.currentIndexChanged.connect(lambda _i: self.reload())
        self.cb_status.currentIndexChanged.connect(lambda _i: self.reload())
        self.model = LazyTableModel(
            [
                Column("number", N_("Number")),
                Column("kind_label", N_("Document")),
                Column("status_label", N_("Status")),
                Column("posted_at", N_("Posted"), _when),
                Column("posted_by", N_("Clerk")),
                Column("party", N_("To / from")),
                Column("total", N_("Total"), _money, align_right=True),
                Column("print_count", N_("Prints"), align_right=True),
                Column("void_reason", N_("Void reason")),
            ],
            self._fetch,
            parent=self,
        )
        self.view = make_view(self.model)
        stretch(self.view, 5)
        self.cb_size = QComboBox()
        for size in SLIP_SIZES:
            self.cb_size.addItem(size, size)
        self.cb_size.addItem(_("80 mm roll (receipts)"), "80mm")
        self.btn_preview = QPushButton(_("Print preview…"))
        self.btn_print = QPushButton(_("Print…"))
        self.btn_pdf = QPushButton(_("Save PDF…"))
        self.btn_void = QPushButton(_("Void…"))
        self.btn_sale_return = QPushButton(_("Sale return…"))
        self.btn_preview.clicked.connect(self.on_preview)
        self.btn_print.clicked.connect(self.on_print)
        self.btn_pdf.clicked.connect(self.on_pdf)
        self.btn_void.clicked.connect(self.on_void)
        self.btn_sale_return.clicked.connect(self.on_sale_return)
        can_post = ctx.actor.can(Permission.POST_STOCK)
        self.btn_void.setEnabled(can_post)
        self.btn_sale_return.setEnabled(can_post)
        self.preview_dialog = None
        filters = QHBoxLayout()
        filters.addWidget(self.cb_kind)
        filters.addWidget(self.cb_status)
        filters.addWidget(self.search, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addLayout(
            buttons_row(
                QLabel(_("Paper:")),
                self.cb_size,
                self.btn_preview,
                self.btn_print,
                self.btn_pdf,
                self.btn_void,
                self.btn_sale_return,
            )
        )

    def _fetch(self, cursor, limit) -> Page[DocRow]:
        kind = self.cb_kind.currentData()
        return self.service.page(
            cursor,
            limit,
            kinds=(kind,) if kind else (),
            status=self.cb_status.currentData() or "",
            text=self.search.text(),
        )

    def reload(self) -> None:
        self.model.reload()

    def current(self) -> DocRow | None:
        rows = selected(self.view, self.model)
        return rows[0] if rows else None

    def select_number(self, number: str) -> bool:
        for i in range(self.model.rowCount()):
            if self.model.row(i).number == number:
                self.view.selectRow(i)
                return True
        return False

    def _size_for(self, row: DocRow) -> str:
        size = self.cb_size.currentData()
        if size == "80mm" and row.kind not in ("sale", "sale_return"):
            return "A4"
        return size

    def on_preview(self) -> None:
        row = self.current()
        if row is None:
            return
        data = self.service.view(row.number)
        self.preview_dialog = preview(self, data, self._size_for(row))
        self.preview_dialog.open()

    def on_print(self) -> None:
        row = self.current()
        if row is None:
            return
        size, number = self._size_for(row), row.number
        self.ctx.ops.run(
            lambda _p: self.service.for_print(number),  # counts the print (later ones: copies)
            parent=self,
            on_success=lambda data: print_with_dialog(self, data, size),
            changes={"parts"},
        )

    def on_pdf(self) -> None:
        row = self.current()
        if row is None:
            return
        name, _f = QFileDialog.getSaveFileName(
            self, _("Save PDF"), f"{row.number}.pdf", _("PDF files (*.pdf)")
        )
        if not name:
            return
        size, number = self._size_for(row), row.number

        def work(_p):
            data = self.service.for_print(number)
            if size == "80mm":
                render_receipt(data, Path(name), size=size)
            else:
                render_slip(data, Path(name), size=size)

        self.ctx.ops.run(work, parent=self, label=_("Writing PDF…"), changes={"parts"})

    def void(self, number: str, reason: str) -> None:
        self.ctx.ops.run(
            lambda _p: self.service.void(number, reason),
            parent=self,
            label=_("Voiding…"),
            changes={"parts"},
        )

    def on_void(self) -> None:
        row = self.current()
        if row is None:
            return
        reason, ok = QInputDialog.getText(
            self,
            _("Void {number}").format(number=row.number),
            _("The document keeps its number and is marked void. Reason:"),
        )
        if ok:
            self.void(row.number, reason)

    def on_sale_return(self) -> None:
        row = self.current()
        if row is None or row.kind != "sale":
            QMessageBox.information(
                self, _("Sale return"), _("Choose a counter-sale receipt first.")
            )
            return
        sales = CounterSales(self.ctx.db, self.ctx.actor)
        lines = sales.returnable(row.number)
        dlg = QDialog(self)
        dlg.setWindowTitle(_("Return against {number}").format(number=row.number))
        form = QFormLayout(dlg)
        spins: dict[int, QSpinBox] = {}
        for line in lines:
            spin = QSpinBox()
            spin.setRange(0, line.sold - line.returned)
            spins[line.line_no] = spin
            form.addRow(
                _("Line {n} ({sold} sold, {returned} returned)").format(
                    n=line.line_no, sold=line.sold, returned=line.returned
                ),
                spin,
            )
        reason = QLineEdit()
        form.addRow(_("Reason"), reason)
        ok = QPushButton(_("Post return"))
        ok.clicked.connect(dlg.accept)
        form.addRow("", ok)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            quantities = {n: s.value() for n, s in spins.items()}
            text, number = reason.text(), row.number
            self.ctx.ops.run(
                lambda _p: sales.return_sale(number, quantities, reason=text),
                parent=self,
                changes={"parts"},
            )


class SalePage(QWidget):
    """Counter sale 配件零售: scan parts, discount, payment method, sell, print the receipt."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.catalog = PartsCatalog(ctx.db, ctx.actor)
        self.sales = CounterSales(ctx.db, ctx.actor)
        self.documents = DocumentService(ctx.db, ctx.actor)
        self.part_field = PartField(self.catalog)
        self.part_field.sig_part.connect(self.on_part)
        self.table = LinesTable(self.catalog.bins(), price=True, discount=True)
        self.table.sig_changed.connect(self.on_lines_changed)
        self.lbl_total = QLabel()
        self.cb_payment = QComboBox()
        for key, label in PAYMENT_LABELS.items():
            self.cb_payment.addItem(_(label), key)
        self.ed_customer = QLineEdit()
        self.ed_phone = QLineEdit()
        self.btn_remove = QPushButton(_("Remove line"))
        self.btn_remove.clicked.connect(self.table.remove_selected)
        self.btn_sell = QPushButton(_("Sell"))
        self.btn_sell.clicked.connect(self.on_sell)
        self.btn_sell.setEnabled(ctx.actor.can(Permission.POST_STOCK))
        self.lbl_result = QLabel()
        self.btn_receipt = QPushButton(_("Print receipt…"))
        self.btn_receipt.setEnabled(False)
        self.btn_receipt.clicked.connect(self.on_receipt)
        self.cb_receipt_size = QComboBox()
        self.cb_receipt_size.addItem(_("80 mm roll"), "80mm")
        self.cb_receipt_size.addItem("A5", "A5")
        self.date_cash = QDateEdit(QDate.currentDate())
        self.date_cash.setCalendarPopup(True)
        self.btn_cash = QPushButton(_("Daily cash-up…"))
        self.btn_cash.clicked.connect(self.on_cash_up)
        self.btn_cash.setEnabled(ctx.actor.can(Permission.APPROVE))
        self.last_number: str | None = None
        self.preview_dialog = None
        form = QFormLayout()
        form.addRow(_("Part"), self.part_field)
        form.addRow(_("Customer (walk-in)"), self.ed_customer)
        form.addRow(_("Phone"), self.ed_phone)
        form.addRow(_("Payment"), self.cb_payment)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(
            buttons_row(self.btn_remove, self.lbl_total, self.btn_sell, self.lbl_result)
        )
        layout.addLayout(
            buttons_row(
                self.cb_receipt_size,
                self.btn_receipt,
                QLabel(_("Cash-up for")),
                self.date_cash,
                self.btn_cash,
            )
        )

    def on_part(self, part: PartRow) -> None:
        self.table.add_part(part, part.sale_price)
        self.on_lines_changed()

    def on_lines_changed(self) -> None:
        total = sum(max(0, x.qty * (x.unit_price or 0) - x.discount) for x in self.table.lines())
        self.lbl_total.setText(_("Total: {amount}").format(amount=format_money(total, symbol="¥")))

    def on_sell(self) -> None:
        lines = [
            SaleLine(x.part_id, x.bin_id, x.qty, x.unit_price, x.discount)
            for x in self.table.lines()
        ]
        method = self.cb_payment.currentData()
        name, phone = self.ed_customer.text(), self.ed_phone.text()

        def done(number: str) -> None:
            self.last_number = number
            self.lbl_result.setText(_("Sold: receipt {number}").format(number=number))
            self.btn_receipt.setEnabled(True)
            self.table.setRowCount(0)
            self.table.parts.clear()
            self.on_lines_changed()
            self.part_field.clear()
            self.ed_customer.clear()
            self.ed_phone.clear()

        self.ctx.ops.run(
            lambda _p: self.sales.sell(
                lines, payment_method=method, customer_name=name, customer_phone=phone
            ),
            parent=self,
            label=_("Selling…"),
            on_success=done,
            changes={"parts"},
        )

    def on_receipt(self) -> None:
        if self.last_number is None:
            return
        number, size = self.last_number, self.cb_receipt_size.currentData()

        def show(data) -> None:
            self.preview_dialog = preview(self, data, size)
            self.preview_dialog.open()

        self.ctx.ops.run(
            lambda _p: self.documents.for_print(number),  # counts the print
            parent=self,
            on_success=show,
            changes={"parts"},
        )

    def on_cash_up(self) -> None:
        day = self.date_cash.date().toPython()
        rows = self.sales.cash_up(day)
        text = "\n".join(
            _("{method}: {sales} receipts, takings {takings}, refunds {refunds}, net {net}").format(
                method=r.label,
                sales=r.sales,
                takings=_money(r.takings),
                refunds=_money(r.refunds),
                net=_money(r.net),
            )
            for r in rows
        )
        total = sum(r.net for r in rows)
        QMessageBox.information(
            self,
            _("Cash-up {day}").format(day=day.isoformat()),
            text + "\n\n" + _("Net total: {net}").format(net=_money(total)),
        )


class OldPartsPage(QWidget):
    """Old parts 旧件: receive against a slip, test, batch into a return-to-factory list."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = OldParts(ctx.db, ctx.actor)
        self.catalog = PartsCatalog(ctx.db, ctx.actor)
        self.chk_open = QCheckBox(_("Only those not on a return list"))
        self.chk_open.toggled.connect(lambda _c: self.reload())
        self.model = LazyTableModel(
            [
                Column("part_no", N_("Part no.")),
                Column("name", N_("Part name")),
                Column("qty", N_("Qty"), align_right=True),
                Column("received_at", N_("Received"), _when),
                Column("returned_by", N_("Returned by")),
                Column("slip", N_("Issue slip")),
                Column("work_order", N_("Work order")),
                Column("test_label", N_("Test result")),
                Column("batch", N_("Return list")),
                Column("batch_status", N_("List status")),
            ],
            lambda c, n: self.service.page(c, n, unbatched_only=self.chk_open.isChecked()),
            parent=self,
        )
        self.view = make_view(self.model)
        stretch(self.view, 1)
        self.btn_receive = QPushButton(_("Receive old part…"))
        self.receive_dialog: QDialog | None = None
        self.btn_test = QPushButton(_("Record test…"))
        self.btn_batch = QPushButton(_("New return list…"))
        self.cb_batch = QComboBox()
        self.btn_sent = QPushButton(_("Mark sent"))
        self.btn_ack = QPushButton(_("Mark acknowledged"))
        self.btn_save = QPushButton(_("Save list…"))
        self.btn_receive.clicked.connect(self.on_receive)
        self.btn_test.clicked.connect(self.on_test)
        self.btn_batch.clicked.connect(self.on_batch)
        self.btn_sent.clicked.connect(lambda: self.on_status("sent"))
        self.btn_ack.clicked.connect(lambda: self.on_status("acknowledged"))
        self.btn_save.clicked.connect(self.on_save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chk_open)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons_row(self.btn_receive, self.btn_test, self.btn_batch))
        layout.addLayout(
            buttons_row(
                QLabel(_("Return list:")), self.cb_batch, self.btn_sent, self.btn_ack, self.btn_save
            )
        )
        self.reload_batches()

    def reload(self) -> None:
        self.model.reload()
        self.reload_batches()

    def reload_batches(self) -> None:
        self.cb_batch.clear()
        for b in self.service.batches():
            self.cb_batch.addItem(
                _("{number} · {factory} · {status} · {n} items").format(
                    number=b.number, factory=b.factory, status=b.status_label, n=b.items
                ),
                b.number,
            )

    def on_receive(self) -> None:
        from aftersales_desk.ui.tabs.parts.work_orders import receive_old_part

        self.receive_dialog = receive_old_part(self.ctx, self)

    def on_test(self) -> None:
        rows = selected(self.view, self.model)
        if not rows:
            return
        labels = [_(v) for v in TEST_RESULTS.values()]
        choice, ok = QInputDialog.getItem(self, _("Record test"), _("Result:"), labels, 0, False)
        if not ok:
            return
        result = list(TEST_RESULTS)[labels.index(choice)]
        ids = [r.id for r in rows]

        def work(_p):
            for i in ids:
                self.service.record_test(i, result)

        self.ctx.ops.run(work, parent=self, changes={"parts"})

    def on_batch(self) -> None:
        rows = selected(self.view, self.model)
        if not rows:
            return
        factory, ok = QInputDialog.getText(self, _("New return list"), _("Return to (factory):"))
        if ok:
            ids = [r.id for r in rows]
            self.ctx.ops.run(
                lambda _p: self.service.make_batch(ids, factory=factory),
                parent=self,
                changes={"parts"},
            )

    def on_status(self, status: str) -> None:
        number = self.cb_batch.currentData()
        if number:
            self.ctx.ops.run(
                lambda _p: self.service.set_batch_status(number, status),
                parent=self,
                changes={"parts"},
            )

    def on_save(self) -> None:
        number = self.cb_batch.currentData()
        if not number:
            return
        name, _f = QFileDialog.getSaveFileName(
            self, _("Save list"), f"{number}.xlsx", _("Excel or PDF (*.xlsx *.pdf)")
        )
        if name:
            self.ctx.ops.run(
                lambda _p: self.service.write_batch(number, Path(name)), parent=self, write=False
            )


class ToolsPage(QWidget):
    """The tool register: who has which tool since when, due back when; overdue in red."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = ToolRegister(ctx.db, ctx.actor)
        self.chk_overdue = QCheckBox(_("Overdue only"))
        self.chk_overdue.toggled.connect(lambda _c: self.reload())
        self.model = LazyTableModel(
            [
                Column("code", N_("Code")),
                Column("name", N_("Tool")),
                Column("condition", N_("Condition")),
                Column("borrower", N_("Lent to")),
                Column("lent_at", N_("Lent"), _when),
                Column("due_at", N_("Due"), _when),
                Column("overdue", N_("Overdue"), lambda v: _("overdue") if v else ""),
            ],
            lambda c, n: Page(self.service.list(overdue_only=self.chk_overdue.isChecked()), None),
            parent=self,
        )
        self.view = make_view(self.model)
        stretch(self.view, 1)
        self.btn_add = QPushButton(_("Add tool…"))
        self.btn_lend = QPushButton(_("Lend…"))
        self.btn_back = QPushButton(_("Take back…"))
        self.btn_add.clicked.connect(self.on_add)
        self.btn_lend.clicked.connect(self.on_lend)
        self.btn_back.clicked.connect(self.on_back)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chk_overdue)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons_row(self.btn_add, self.btn_lend, self.btn_back))

    def reload(self) -> None:
        self.model.reload()

    def _current_code(self) -> str | None:
        rows = selected(self.view, self.model)
        return rows[0].code if rows else None

    def on_add(self) -> None:
        code, ok = QInputDialog.getText(self, _("Add tool"), _("Code:"))
        if not ok or not code.strip():
            return
        name, ok = QInputDialog.getText(self, _("Add tool"), _("Name:"))
        if ok:
            self.ctx.ops.run(
                lambda _p: self.service.add(code, name), parent=self, changes={"parts"}
            )

    def on_lend(self) -> None:
        code = self._current_code()
        if code is None:
            return
        who, ok = QInputDialog.getText(self, _("Lend {code}").format(code=code), _("Lent to:"))
        if ok:
            self.ctx.ops.run(
                lambda _p: self.service.lend(code, who), parent=self, changes={"parts"}
            )

    def on_back(self) -> None:
        code = self._current_code()
        if code is None:
            return
        condition, ok = QInputDialog.getText(
            self, _("Take back {code}").format(code=code), _("Condition on return:")
        )
        if ok:
            self.ctx.ops.run(
                lambda _p: self.service.take_back(code, condition=condition),
                parent=self,
                changes={"parts"},
            )


class ReportsPage(QWidget):
    """Replenishment, under-stock, over-stock, slow-moving and valuation as Excel or PDF."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.cb_report = QComboBox()
        for name, (title, _fn) in BUILDERS.items():
            self.cb_report.addItem(_(title), name)
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.btn_xlsx = QPushButton(_("Save Excel…"))
        self.btn_pdf = QPushButton(_("Save PDF…"))
        self.btn_xlsx.clicked.connect(lambda: self.on_save("xlsx"))
        self.btn_pdf.clicked.connect(lambda: self.on_save("pdf"))
        form = QFormLayout()
        form.addRow(_("Report"), self.cb_report)
        form.addRow(_("As of"), self.date)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons_row(self.btn_xlsx, self.btn_pdf))
        layout.addStretch(1)

    def save(self, name: str, day: date, out: Path) -> None:
        self.ctx.ops.run(
            lambda _p: write_report(self.ctx.db, self.ctx.actor, name, out, day=day),
            parent=self,
            label=_("Writing the report…"),
            write=False,
        )

    def on_save(self, ext: str) -> None:
        name = self.cb_report.currentData()
        day = self.date.date().toPython()
        path, _f = QFileDialog.getSaveFileName(
            self, _("Save report"), f"{name}-{day.isoformat()}.{ext}", f"*.{ext}"
        )
        if path:
            self.save(name, day, Path(path))
