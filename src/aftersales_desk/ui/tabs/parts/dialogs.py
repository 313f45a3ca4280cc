"""Dialogs of the parts tab: a part's card, and a stock document (receipt, issue slip, return,
transfer, scrap) whose lines are added by scanning or typing part codes."""

from __future__ import annotations

import uuid

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import MINOR_PER_UNIT, format_money
from aftersales_desk.i18n import _
from aftersales_desk.services.documents import DOC_TITLES, DocumentService, LineInput
from aftersales_desk.services.part_waits import PartWaits
from aftersales_desk.services.parts_catalog import BinRow, PartInput, PartRow, PartsCatalog
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tabs.parts.scanner import PartField, ScanLineEdit, WorkOrderField
from aftersales_desk.ui.widgets import ok_cancel


def money_spin(value_minor: int = 0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(2)
    spin.setRange(0, 10_000_000)
    spin.setValue(value_minor / MINOR_PER_UNIT)
    spin.setPrefix("¥")
    return spin


def spin_minor(spin: QDoubleSpinBox) -> int:
    return round(spin.value() * MINOR_PER_UNIT)


class PartDialog(QDialog):
    """A part's card: new (row None) or edit; ``value()`` gives the input to save."""

    def __init__(self, row: PartRow | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("New part") if row is None else _("Edit part"))
        self.ed_no = QLineEdit(row.part_no if row else "")
        self.ed_no.setEnabled(row is None)
        self.ed_name = QLineEdit(row.name if row else "")
        self.ed_fit = QLineEdit(row.model_fit if row else "")
        self.ed_unit = QLineEdit(row.unit if row else "个")
        self.sp_purchase = money_spin(row.purchase_price if row else 0)
        self.sp_sale = money_spin(row.sale_price if row else 0)
        self.ed_bin = QLineEdit(row.default_bin if row else "")
        self.sp_min = QSpinBox()
        self.sp_min.setRange(0, 1_000_000)
        self.sp_min.setValue(row.min_qty if row else 0)
        self.sp_max = QSpinBox()
        self.sp_max.setRange(0, 1_000_000)
        self.sp_max.setValue(row.max_qty if row else 0)
        self.ed_category = QLineEdit(row.category if row else "")
        # a scanner's Enter must not press OK: the scan just fills the field
        self.ed_barcode = ScanLineEdit()
        self.ed_barcode.setText(row.barcode if row else "")
        self.ed_barcode.setPlaceholderText(_("scan the part's barcode"))
        self.chk_active = QCheckBox(_("Active"))
        self.chk_active.setChecked(row.active if row else True)
        form = QFormLayout()
        form.addRow(_("Part no."), self.ed_no)
        form.addRow(_("Part name"), self.ed_name)
        form.addRow(_("Model fit"), self.ed_fit)
        form.addRow(_("Unit"), self.ed_unit)
        form.addRow(_("Purchase price"), self.sp_purchase)
        form.addRow(_("Sale price"), self.sp_sale)
        form.addRow(_("Default bin"), self.ed_bin)
        form.addRow(_("Min stock"), self.sp_min)
        form.addRow(_("Max stock"), self.sp_max)
        form.addRow(_("Category"), self.ed_category)
        form.addRow(_("Barcode"), self.ed_barcode)
        form.addRow("", self.chk_active)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Save")))

    def value(self) -> PartInput:
        return PartInput(
            part_no=self.ed_no.text(),
            name=self.ed_name.text(),
            model_fit=self.ed_fit.text(),
            unit=self.ed_unit.text(),
            purchase_price=spin_minor(self.sp_purchase),
            sale_price=spin_minor(self.sp_sale),
            default_bin=self.ed_bin.text(),
            min_qty=self.sp_min.value(),
            max_qty=self.sp_max.value(),
            category=self.ed_category.text(),
            barcode=self.ed_barcode.text(),
            active=self.chk_active.isChecked(),
        )


class LinesTable(QTableWidget):
    """The lines being entered: part, bin, quantity, price (and target bin for transfers)."""

    sig_changed = Signal()

    def __init__(
        self, bins: list[BinRow], *, price: bool, discount: bool = False, to_bin: bool = False
    ) -> None:
        self.bins = bins
        self.cols = [_("Part no."), _("Part name"), _("Bin"), _("Qty")]
        self.has_price, self.has_discount, self.has_to_bin = price, discount, to_bin
        if to_bin:
            self.cols.append(_("To bin"))
        if price:
            self.cols.append(_("Unit price"))
        if discount:
            self.cols.append(_("Discount"))
        super().__init__(0, len(self.cols))
        self.setHorizontalHeaderLabels(self.cols)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setStretchLastSection(True)
        self.parts: list[PartRow] = []

    def _bin_combo(self, code: str) -> QComboBox:
        combo = QComboBox()
        for b in self.bins:
            combo.addItem(f"{b.code} {b.name}".strip(), b.id)
        codes = [b.code for b in self.bins]
        if code in codes:
            combo.setCurrentIndex(codes.index(code))
        return combo

    def add_part(self, part: PartRow, price: int) -> None:
        """Add a line for ``part``, or one more piece on its line if it is there already."""
        for i, p in enumerate(self.parts):
            if p.id == part.id:
                spin = self.cellWidget(i, 3)
                spin.setValue(spin.value() + 1)
                self.selectRow(i)
                return
        row = self.rowCount()
        self.insertRow(row)
        self.parts.append(part)
        from PySide6.QtWidgets import QTableWidgetItem

        self.setItem(row, 0, QTableWidgetItem(part.part_no))
        self.setItem(row, 1, QTableWidgetItem(part.name))
        self.setCellWidget(row, 2, self._bin_combo(part.default_bin))
        qty = QSpinBox()
        qty.setRange(1, 1_000_000)
        qty.setValue(1)
        qty.valueChanged.connect(self.sig_changed)
        self.setCellWidget(row, 3, qty)
        col = 4
        if self.has_to_bin:
            self.setCellWidget(row, col, self._bin_combo(""))
            col += 1
        if self.has_price:
            spin = money_spin(price)
            spin.valueChanged.connect(self.sig_changed)
            self.setCellWidget(row, col, spin)
            col += 1
        if self.has_discount:
            spin = money_spin(0)
            spin.valueChanged.connect(self.sig_changed)
            self.setCellWidget(row, col, spin)
        self.selectRow(row)

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.selectedIndexes()}, reverse=True)
        for r in rows:
            self.removeRow(r)
            del self.parts[r]
        self.sig_changed.emit()

    def lines(self) -> list[LineInput]:
        out = []
        for i, part in enumerate(self.parts):
            col = 4
            to_bin: uuid.UUID | None = None
            if self.has_to_bin:
                to_bin = self.cellWidget(i, col).currentData()
                col += 1
            price = None
            if self.has_price:
                price = spin_minor(self.cellWidget(i, col))
                col += 1
            discount = spin_minor(self.cellWidget(i, col)) if self.has_discount else 0
            out.append(
                LineInput(
                    part.id,
                    self.cellWidget(i, 2).currentData(),
                    self.cellWidget(i, 3).value(),
                    price,
                    discount,
                    to_bin,
                )
            )
        return out


class DocumentDialog(QDialog):
    """Enter and post a stock document of ``kind``; ``number`` holds what was posted."""

    def __init__(self, ctx: AppContext, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.kind = ctx, kind
        self.number: str | None = None
        self.catalog = PartsCatalog(ctx.db, ctx.actor)
        self.setWindowTitle(_("New {document}").format(document=_(DOC_TITLES[kind])))
        self.resize(820, 520)
        bins = self.catalog.bins()
        self.part_field = PartField(self.catalog)
        self.part_field.sig_part.connect(self.on_part)
        self.table = LinesTable(bins, price=kind == "receipt", to_bin=kind == "transfer")
        form = QFormLayout()
        self.ed_technician = QLineEdit()
        self.cb_provider = QComboBox()
        self.ed_supplier = QLineEdit()
        self.ed_note = QLineEdit()
        # issue slips and returns can go to / come back from a work order 维修工单
        self.wo_field = WorkOrderField(PartWaits(ctx.db, ctx.actor))
        if kind in ("issue", "return"):
            form.addRow(_("Work order"), self.wo_field)
        if kind == "issue":
            self.cb_provider.addItem(_("(none: a technician)"), None)
            for p in self.catalog.providers():
                self.cb_provider.addItem(f"{p.code} {p.name}", p.id)
            form.addRow(_("Technician"), self.ed_technician)
            form.addRow(_("or service provider"), self.cb_provider)
        elif kind == "return":
            form.addRow(_("Returned by"), self.ed_technician)
        elif kind == "receipt":
            form.addRow(_("Supplier"), self.ed_supplier)
        form.addRow(_("Reason") if kind == "scrap" else _("Note"), self.ed_note)
        form.addRow(_("Part"), self.part_field)
        if not bins:
            form.addRow("", QLabel(_("Add a bin first (Stock → New bin…).")))
        self.btn_remove = QPushButton(_("Remove line"))
        self.btn_remove.clicked.connect(self.table.remove_selected)
        self.lbl_total = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.btn_remove)
        row.addStretch(1)
        row.addWidget(self.lbl_total)
        self.buttons = ok_cancel(self, _("Post"))
        self.buttons.accepted.disconnect()
        self.buttons.accepted.connect(self.on_post)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.buttons)
        self.part_field.edit.setFocus()

    def on_part(self, part: PartRow) -> None:
        self.table.add_part(part, part.avg_cost or part.purchase_price)
        self.lbl_total.setText(_("{n} lines").format(n=self.table.rowCount()))

    def on_post(self) -> None:
        service = DocumentService(self.ctx.db, self.ctx.actor)
        lines = self.table.lines()
        kind = self.kind
        technician = self.ed_technician.text()
        provider = self.cb_provider.currentData() if kind == "issue" else None
        supplier, note = self.ed_supplier.text(), self.ed_note.text()
        order = self.wo_field.number()

        def work(_progress):
            if kind == "receipt":
                return service.receive(lines, supplier=supplier, note=note)
            if kind == "issue":
                return service.issue(
                    lines,
                    technician=technician,
                    provider_id=provider,
                    note=note,
                    work_order_no=order,
                )
            if kind == "return":
                return service.return_to_stock(
                    lines, technician=technician, note=note, work_order_no=order
                )
            if kind == "transfer":
                return service.transfer(lines, note=note)
            return service.scrap(lines, note=note)

        def done(number: str) -> None:
            self.number = number
            self.accept()

        self.buttons.setEnabled(False)
        op = self.ctx.ops.run(
            work, parent=self, label=_("Posting…"), on_success=done, changes={"parts"}
        )
        op.sig_finished.connect(lambda _ok: self.buttons.setEnabled(True))


def money(minor: int) -> str:
    return format_money(minor)


class PartsSettingsDialog(QDialog):
    """The branch's parts counter settings (managers)."""

    def __init__(self, values: dict, parent: QWidget | None = None) -> None:
        from aftersales_desk.services.parts_settings import SPECS

        super().__init__(parent)
        self.setWindowTitle(_("Parts counter settings"))
        self.widgets: dict[str, QWidget] = {}
        form = QFormLayout()
        for spec in SPECS:
            if spec.kind == "bool":
                w: QWidget = QCheckBox()
                w.setChecked(bool(values[spec.key]))
            else:
                w = QSpinBox()
                w.setRange(spec.low, spec.high)
                w.setValue(int(values[spec.key]))
            self.widgets[spec.key] = w
            form.addRow(_(spec.label), w)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Save")))

    def values(self) -> dict:
        return {
            key: (w.isChecked() if isinstance(w, QCheckBox) else w.value())
            for key, w in self.widgets.items()
        }
