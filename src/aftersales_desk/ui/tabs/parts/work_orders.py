"""The parts tab's pages for the shared work order 维修工单: work orders waiting for parts
待件工单 (waiting since, days waiting, part arrived), and the parts issued to an open work order
with their cost, from where parts are issued to it, returned from it, old parts received against
it and waits recorded."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import format_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.documents import DOC_TITLES
from aftersales_desk.services.old_parts import OldParts
from aftersales_desk.services.pages import Page
from aftersales_desk.services.part_waits import IssuedLine, PartWaits, WaitRow, WorkOrderRef
from aftersales_desk.services.parts_catalog import PartsCatalog
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.parts.dialogs import DocumentDialog
from aftersales_desk.ui.tabs.parts.scanner import PartField, ScanLineEdit, WorkOrderField
from aftersales_desk.ui.widgets import ok_cancel

ARRIVED_BACKGROUND = QColor("#dff3e4")


def _money(v: int) -> str:
    return format_money(v)


def _when(v) -> str:
    return v.astimezone().strftime("%Y-%m-%d %H:%M") if v else ""


def _view(model: LazyTableModel):
    from aftersales_desk.ui.tabs.parts.pages import make_view

    return make_view(model)


class WaitsModel(LazyTableModel):
    """Waits whose part arrived are shaded green: the clerk issues those first."""

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (
            role == Qt.ItemDataRole.BackgroundRole
            and index.isValid()
            and index.row() < self.loaded_rows
            and self.row(index.row()).arrived
        ):
            return QBrush(ARRIVED_BACKGROUND)
        return super().data(index, role)


class RegisterWaitDialog(QDialog):
    """Record that a work order waits for a part: order (scan or number), part, quantity."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Work order waits for a part"))
        self.order_field = WorkOrderField(PartWaits(ctx.db, ctx.actor))
        self.part_field = PartField(PartsCatalog(ctx.db, ctx.actor))
        self.qty = QSpinBox()
        self.qty.setRange(1, 10_000)
        self.ed_note = QLineEdit()
        self.ed_note.setPlaceholderText(_("e.g. ordered from the factory, expected Friday"))
        form = QFormLayout()
        form.addRow(_("Work order"), self.order_field)
        form.addRow(_("Part"), self.part_field)
        form.addRow(_("Qty"), self.qty)
        form.addRow(_("Note"), self.ed_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Record")))
        self.resize(720, 200)

    def accept(self) -> None:
        """Close only with a work order number and a part found (the service checks the rest)."""
        if not self.order_field.number():
            self.order_field.label.setText(_("Scan or type the work order's number."))
            self.order_field.edit.setFocus()
            return
        if self.part_field.part is None:
            self.part_field.label.setText(_("Scan or type the part the order waits for."))
            self.part_field.edit.setFocus()
            return
        super().accept()


class WaitsPage(QWidget):
    """待件工单: which open work order waits for which part since when; green when it arrived."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = PartWaits(ctx.db, ctx.actor)
        self.catalog = PartsCatalog(ctx.db, ctx.actor)
        self.chk_arrived = QCheckBox(_("Only those whose part arrived"))
        self.chk_arrived.toggled.connect(lambda _c: self.reload())
        self.lbl_summary = QLabel()
        self.lbl_summary.setStyleSheet("color: #1b5e20; font-weight: bold;")
        self.model = WaitsModel(
            [
                Column("work_order_no", N_("Work order")),
                Column("customer_name", N_("Customer")),
                Column("plate", N_("Plate")),
                Column("assignee", N_("Technician / provider")),
                Column("part_no", N_("Part no.")),
                Column("part_name", N_("Part name")),
                Column("qty", N_("Qty"), align_right=True),
                Column("issued_qty", N_("Issued"), align_right=True),
                Column("since", N_("Waiting since"), _when),
                Column("days_waiting", N_("Days waiting"), align_right=True),
                Column("status_label", N_("Status")),
                Column("arrived_at", N_("Arrived"), _when),
                Column("arrival_document", N_("Receipt note")),
                Column("note", N_("Note")),
            ],
            self._fetch,
            parent=self,
        )
        self.view = _view(self.model)
        self.view.doubleClicked.connect(lambda _i: self.issue_selected())
        self.btn_register = QPushButton(_("Work order waits for a part…"))
        self.btn_issue = QPushButton(_("Issue to the work order…"))
        self.btn_cancel = QPushButton(_("Cancel wait…"))
        self.btn_register.clicked.connect(self.open_register)
        self.btn_issue.clicked.connect(self.issue_selected)
        self.btn_cancel.clicked.connect(self.on_cancel)
        can_post = ctx.actor.can(Permission.POST_STOCK)
        for b in (self.btn_register, self.btn_issue, self.btn_cancel):
            b.setEnabled(can_post)
        self.register_dialog: RegisterWaitDialog | None = None
        self.last_document: DocumentDialog | None = None
        from aftersales_desk.ui.tabs.parts.pages import buttons_row

        layout = QVBoxLayout(self)
        layout.addWidget(self.chk_arrived)
        layout.addWidget(self.lbl_summary)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons_row(self.btn_register, self.btn_issue, self.btn_cancel))

    def _fetch(self, cursor, limit) -> Page[WaitRow]:
        if cursor is None:  # the first page: count the arrivals again (an indexed count)
            n, _rows = self.service.arrived(limit=0)
            self.lbl_summary.setText(
                _("Parts arrived for {n} waiting work orders: issue them now.").format(n=n)
                if n
                else ""
            )
        return self.service.page(cursor, limit, arrived_only=self.chk_arrived.isChecked())

    def reload(self) -> None:
        self.model.reload()

    def current(self) -> WaitRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def select_wait(self, wait_id: uuid.UUID) -> bool:
        i = self.model.row_for_id(wait_id)
        if i is None:
            return False
        self.view.selectRow(i)
        return True

    def open_register(self, _checked: bool = False) -> RegisterWaitDialog:
        dlg = RegisterWaitDialog(self.ctx, self)
        dlg.accepted.connect(lambda: self._register(dlg))
        self.register_dialog = dlg
        dlg.open()
        return dlg

    def _register(self, dlg: RegisterWaitDialog) -> None:
        part = dlg.part_field.part
        assert part is not None  # the dialog closes only with a part
        self.register(dlg.order_field.number(), part.id, dlg.qty.value(), dlg.ed_note.text())

    def register(self, number: str, part_id: uuid.UUID, qty: int, note: str = "") -> None:
        self.ctx.ops.run(
            lambda _p: self.service.register(number, part_id, qty, note=note),
            parent=self,
            label=_("Saving…"),
            changes={"parts", "archive"},
        )

    def issue_selected(self, _checked: bool = False) -> DocumentDialog | None:
        """An issue slip to the selected wait's work order with the missing pieces on it."""
        row = self.current()
        if row is None:
            return None
        dlg = DocumentDialog(self.ctx, "issue", self)
        dlg.wo_field.set_number(row.work_order_no)
        part = self.catalog.get(row.part_id)
        dlg.on_part(part)
        dlg.table.cellWidget(0, 3).setValue(max(1, row.qty - row.issued_qty))
        self.last_document = dlg
        dlg.open()
        return dlg

    def on_cancel(self) -> None:
        row = self.current()
        if row is None:
            return
        reason, ok = QInputDialog.getText(
            self,
            _("Cancel wait"),
            _("{number} no longer waits for {part}. Reason:").format(
                number=row.work_order_no, part=row.part_no
            ),
        )
        if ok:
            wait_id = row.id
            self.ctx.ops.run(
                lambda _p: self.service.cancel(wait_id, reason),
                parent=self,
                changes={"parts", "archive"},
            )


class OldPartDialog(QDialog):
    """Receive an old part 旧件 against an issue slip or a work order's issue line."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Receive old part"))
        self.part_field = PartField(PartsCatalog(ctx.db, ctx.actor))
        self.order_field = WorkOrderField(PartWaits(ctx.db, ctx.actor))
        self.qty = QSpinBox()
        self.qty.setRange(1, 10000)
        self.who = QLineEdit()
        self.slip = QLineEdit()
        self.slip.setPlaceholderText(_("issue slip number (optional)"))
        form = QFormLayout()
        form.addRow(_("Part"), self.part_field)
        form.addRow(_("Qty"), self.qty)
        form.addRow(_("Returned by"), self.who)
        form.addRow(_("Work order"), self.order_field)
        form.addRow(_("Issue slip"), self.slip)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Receive")))
        self.resize(720, 240)
        self.order_field.sig_order.connect(
            lambda o: self.who.setText(self.who.text() or o.assignee)
        )

    def accept(self) -> None:
        if self.part_field.part is None:
            self.part_field.label.setText(_("Scan or type the old part's number."))
            self.part_field.edit.setFocus()
            return
        super().accept()


def receive_old_part(ctx: AppContext, parent: QWidget, work_order_no: str = "") -> OldPartDialog:
    """Open the old-part dialog (prefilled with a work order); posts when accepted."""
    dlg = OldPartDialog(ctx, parent)
    if work_order_no:
        dlg.order_field.set_number(work_order_no)
    service = OldParts(ctx.db, ctx.actor)

    def post() -> None:
        assert dlg.part_field.part is not None  # the dialog closes only with a part
        pid, n, by = dlg.part_field.part.id, dlg.qty.value(), dlg.who.text()
        number, order = dlg.slip.text(), dlg.order_field.number()
        ctx.ops.run(
            lambda _p: service.receive(
                pid, n, returned_by=by, slip_number=number, work_order_no=order
            ),
            parent=parent,
            changes={"parts"},
        )

    dlg.accepted.connect(post)
    dlg.open()
    return dlg


def _doc_kind(kind: str) -> str:
    return _(DOC_TITLES[kind])


class WorkOrderPartsPage(QWidget):
    """Open work orders; for the one chosen, the parts issued to it and returned from it with
    their cost, and the parts it waits for."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = PartWaits(ctx.db, ctx.actor)
        self.search = ScanLineEdit()
        self.search.setPlaceholderText(
            _("Work order number, customer or plate — or scan the work order")
        )
        self.search.sig_code.connect(self.on_search)
        self.search.textChanged.connect(lambda t: None if t else self.on_search("", False))
        self._text = ""
        self.orders = LazyTableModel(
            [
                Column("number", N_("Work order")),
                Column("status_label", N_("Status")),
                Column("customer_name", N_("Customer")),
                Column("plate", N_("Plate")),
                Column("assignee", N_("Technician / provider")),
                Column("fault", N_("Fault or request")),
            ],
            lambda _c, _n: Page(self.service.open_work_orders(self._text), None),
            parent=self,
        )
        self.orders_view = _view(self.orders)
        self.orders_view.selectionModel().selectionChanged.connect(lambda *_a: self.show_order())
        self.lines_data: list[IssuedLine] = []
        self.lines = LazyTableModel(
            [
                Column("document", N_("Number")),
                Column("kind", N_("Document"), _doc_kind),
                Column("posted_at", N_("Posted"), _when),
                Column("part_no", N_("Part no.")),
                Column("part_name", N_("Part name")),
                Column("qty", N_("Qty"), align_right=True),
                Column("cost", N_("Cost"), _money, align_right=True),
                Column("amount", N_("Amount"), _money, align_right=True),
                Column("document_status", N_("Status"), lambda s: _("Void") if s == "void" else ""),
            ],
            lambda _c, _n: Page(self.lines_data, None),
            parent=self,
        )
        self.lines_view = _view(self.lines)
        self.lbl_order = QLabel()
        self.lbl_order.setWordWrap(True)
        self.lbl_totals = QLabel()
        self.lbl_waits = QLabel()
        self.lbl_waits.setWordWrap(True)
        self.btn_issue = QPushButton(_("Issue to this order…"))
        self.btn_return = QPushButton(_("Return from this order…"))
        self.btn_old = QPushButton(_("Receive old part…"))
        self.btn_wait = QPushButton(_("Waits for a part…"))
        self.btn_issue.clicked.connect(lambda: self.open_document("issue"))
        self.btn_return.clicked.connect(lambda: self.open_document("return"))
        self.btn_old.clicked.connect(self.on_old_part)
        self.btn_wait.clicked.connect(self.on_wait)
        can_post = ctx.actor.can(Permission.POST_STOCK)
        for b in (self.btn_issue, self.btn_return, self.btn_old, self.btn_wait):
            b.setEnabled(can_post)
        self.current_order: WorkOrderRef | None = None
        self.last_document: DocumentDialog | None = None
        self.last_dialog: QDialog | None = None
        from aftersales_desk.ui.tabs.parts.pages import buttons_row

        below = QWidget()
        bl = QVBoxLayout(below)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.lbl_order)
        bl.addWidget(self.lines_view, 1)
        bl.addLayout(buttons_row(self.lbl_totals))
        bl.addWidget(self.lbl_waits)
        bl.addLayout(buttons_row(self.btn_issue, self.btn_return, self.btn_old, self.btn_wait))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.orders_view)
        split.addWidget(below)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(split, 1)

    def reload(self) -> None:
        keep = self.current_order.id if self.current_order else None
        self.orders.reload()
        i = self.orders.row_for_id(keep) if keep else None
        if i is not None:
            self.orders_view.selectRow(i)
        self.show_order()

    def on_search(self, text: str, _scanned: bool) -> None:
        self._text = text
        self.orders.reload()
        if self.orders.rowCount():
            exact = [
                i
                for i in range(self.orders.rowCount())
                if self.orders.row(i).number == text.strip().upper()
            ]
            self.orders_view.selectRow(exact[0] if exact else 0)
        self.show_order()

    def select_order(self, number: str) -> bool:
        self.search.setText(number)
        self.on_search(number, False)
        return self.current_order is not None and self.current_order.number == number

    def show_order(self) -> None:
        rows = self.orders_view.selectionModel().selectedRows()
        ref = self.orders.row(rows[0].row()) if rows else None
        self.current_order = ref
        if ref is None:
            self.lines_data = []
            self.lbl_order.clear()
            self.lbl_totals.clear()
            self.lbl_waits.clear()
            self.lines.reload()
            return
        parts = self.service.work_order_parts(ref.id)
        waits = self.service.page(None, 50, work_order_id=ref.id).rows
        self.lines_data = parts.lines
        self.lines.reload()
        self.lbl_order.setText(f"<b>{ref.label}</b> — {ref.fault}")
        self.lbl_totals.setText(
            _("Parts cost {cost} · at sale prices {amount}").format(
                cost=format_money(parts.cost, symbol="¥"),
                amount=format_money(parts.amount, symbol="¥"),
            )
        )
        self.lbl_waits.setText(
            _("Waiting for: {parts}").format(
                parts=", ".join(
                    f"{w.part_no} {w.part_name} ×{w.qty - w.issued_qty} ({w.status_label})"
                    for w in waits
                )
            )
            if waits
            else ""
        )

    def open_document(self, kind: str) -> DocumentDialog | None:
        if self.current_order is None:
            return None
        dlg = DocumentDialog(self.ctx, kind, self)
        dlg.wo_field.set_number(self.current_order.number)
        self.last_document = dlg
        dlg.open()
        return dlg

    def on_old_part(self) -> None:
        if self.current_order is not None:
            self.last_dialog = receive_old_part(self.ctx, self, self.current_order.number)

    def on_wait(self) -> None:
        if self.current_order is None:
            return
        dlg = RegisterWaitDialog(self.ctx, self)
        dlg.order_field.set_number(self.current_order.number)
        service = self.service

        def post() -> None:
            part = dlg.part_field.part
            assert part is not None  # the dialog closes only with a part
            number, pid, n, note = (
                dlg.order_field.number(),
                part.id,
                dlg.qty.value(),
                dlg.ed_note.text(),
            )
            self.ctx.ops.run(
                lambda _p: service.register(number, pid, n, note=note),
                parent=self,
                changes={"parts", "archive"},
            )

        dlg.accepted.connect(post)
        self.last_dialog = dlg
        dlg.open()
