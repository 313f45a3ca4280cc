"""Dialogs of the insurance tab: a policy (new, edit, renewal), a renewal step (contacted, quoted,
lost), an accident vehicle's intake, an engine-oil sale.

Each dialog saves through the ``save`` callable it is given when OK is pressed and stays open
with the message when the service refuses, so nothing typed is lost."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import apply_rate, format_money
from aftersales_desk.errors import UserError
from aftersales_desk.i18n import _
from aftersales_desk.services.insurance import (
    COVERAGES,
    LOST_REASONS,
    InsuranceService,
    InsurerRow,
    PipelineRow,
    PolicyInput,
    VehicleChoice,
    business_label,
    kind_label,
    one_year_end,
    payment_label,
)
from aftersales_desk.services.insurance_logs import AccidentInput, InsuranceLogs, OilSaleInput
from aftersales_desk.ui.tabs.parts.dialogs import money_spin, spin_minor
from aftersales_desk.ui.widgets import ok_cancel


def to_qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def from_qdate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


def date_edit(d: date) -> QDateEdit:
    edit = QDateEdit(to_qdate(d))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


class _SavingDialog(QDialog):
    """OK saves through ``save(value)``; a refusal is shown and the dialog stays open."""

    def __init__(self, save: Callable[[Any], Any], parent: QWidget | None) -> None:
        super().__init__(parent)
        self._save = save
        self.result_value: Any = None
        self.error = ""

    def accept(self) -> None:
        # ``value()`` is each dialog's own: the input its fields make
        try:
            self.result_value = self._save(self.value())
        except UserError as exc:
            self.error = exc.message
            QMessageBox.warning(self, self.windowTitle(), exc.message)
            return
        self.error = ""
        super().accept()


class PolicyDialog(_SavingDialog):
    """A policy: the vehicle from the archive (found by plate, VIN or customer), insurer, kind
    and coverages, premium and commission, dates, salesperson, new or renewal, payment."""

    def __init__(
        self,
        service: InsuranceService,
        insurers: list[InsurerRow],
        save: Callable[[PolicyInput], Any],
        *,
        initial: PolicyInput | None = None,
        vehicle: VehicleChoice | None = None,
        title: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(save, parent)
        self.service = service
        self.setWindowTitle(title or _("New policy"))
        today = service.today()
        init = initial or PolicyInput(
            policy_no="",
            insurer_id=insurers[0].id if insurers else None,
            vehicle_id=None,
            kind="compulsory",
            premium_minor=0,
            start_date=today,
            end_date=one_year_end(today),
        )
        self.ed_find = QLineEdit()
        self.ed_find.setPlaceholderText(_("plate, VIN, customer name or no."))
        self.ed_find.returnPressed.connect(self.on_find)
        btn_find = QPushButton(_("Find"))
        btn_find.clicked.connect(self.on_find)
        btn_find.setAutoDefault(False)
        self.cb_vehicle = QComboBox()
        self.cb_vehicle.setMinimumWidth(380)
        if vehicle is not None:
            self.cb_vehicle.addItem(vehicle.label, vehicle.id)
        self.lbl_found = QLabel()
        self.ed_no = QLineEdit(init.policy_no)
        self.cb_insurer = QComboBox()
        for i in insurers:
            self.cb_insurer.addItem(i.label, i.id)
        if init.insurer_id is not None:
            self.cb_insurer.setCurrentIndex(max(0, self.cb_insurer.findData(init.insurer_id)))
        self.cb_kind = QComboBox()
        for k in ("compulsory", "commercial"):
            self.cb_kind.addItem(kind_label(k), k)
        self.cb_kind.setCurrentIndex(self.cb_kind.findData(init.kind))
        self.cov: dict[str, QCheckBox] = {}
        cov_box = QWidget()
        cov_layout = QHBoxLayout(cov_box)
        cov_layout.setContentsMargins(0, 0, 0, 0)
        for code, (label, _zh) in COVERAGES.items():
            chk = QCheckBox(_(label))
            chk.setChecked(code in init.coverages)
            self.cov[code] = chk
            cov_layout.addWidget(chk)
        self.sp_premium = money_spin(init.premium_minor)
        self.sp_rate = QDoubleSpinBox()
        self.sp_rate.setDecimals(2)
        self.sp_rate.setRange(0, 100)
        self.sp_rate.setSuffix(" %")
        self.sp_rate.setValue(init.commission_rate_bp / 100)
        self.lbl_commission = QLabel()
        self.ed_start = date_edit(init.start_date or today)
        self.ed_end = date_edit(init.end_date or one_year_end(today))
        self.ed_issued = date_edit(init.issued_on or today)
        self.ed_sales = QLineEdit(init.salesperson)
        self.cb_business = QComboBox()
        for b in ("new", "renewal"):
            self.cb_business.addItem(business_label(b), b)
        self.cb_business.setCurrentIndex(self.cb_business.findData(init.business))
        self.cb_payment = QComboBox()
        for p in ("unpaid", "paid", "refunded"):
            self.cb_payment.addItem(payment_label(p), p)
        self.cb_payment.setCurrentIndex(self.cb_payment.findData(init.payment))
        self.ed_note = QLineEdit(init.note)
        find = QHBoxLayout()
        find.addWidget(self.ed_find, 1)
        find.addWidget(btn_find)
        form = QFormLayout()
        form.addRow(_("Find the vehicle"), find)
        form.addRow(_("Vehicle"), self.cb_vehicle)
        form.addRow("", self.lbl_found)
        form.addRow(_("Policy no."), self.ed_no)
        form.addRow(_("Insurer"), self.cb_insurer)
        form.addRow(_("Kind"), self.cb_kind)
        form.addRow(_("Coverages"), cov_box)
        form.addRow(_("Premium"), self.sp_premium)
        form.addRow(_("Commission rate"), self.sp_rate)
        form.addRow(_("Commission"), self.lbl_commission)
        form.addRow(_("Start date"), self.ed_start)
        form.addRow(_("End date (last day covered)"), self.ed_end)
        form.addRow(_("Issued on"), self.ed_issued)
        form.addRow(_("Salesperson"), self.ed_sales)
        form.addRow(_("New or renewal"), self.cb_business)
        form.addRow(_("Payment"), self.cb_payment)
        form.addRow(_("Notes"), self.ed_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Save")))
        self.cb_kind.currentIndexChanged.connect(self._kind_changed)
        self.sp_premium.valueChanged.connect(self._update_commission)
        self.sp_rate.valueChanged.connect(self._update_commission)
        self.ed_start.dateChanged.connect(self._start_changed)
        self._kind_changed()
        self._update_commission()
        if vehicle is not None:
            self.ed_find.setEnabled(False)
            btn_find.setEnabled(False)
            self.cb_vehicle.setEnabled(initial is None or initial.vehicle_id is None)

    def on_find(self) -> None:
        text = self.ed_find.text().strip()
        found = self.service.find_vehicles(text) if text else []
        self.cb_vehicle.clear()
        for v in found:
            self.cb_vehicle.addItem(v.label, v.id)
        self.lbl_found.setText(
            _("{n} vehicles found").format(n=len(found)) if found else _("No vehicle found.")
        )

    def _kind_changed(self, *_a: Any) -> None:
        commercial = self.cb_kind.currentData() == "commercial"
        for chk in self.cov.values():
            chk.setEnabled(commercial)
            if not commercial:
                chk.setChecked(False)

    def _start_changed(self, q: QDate) -> None:
        self.ed_end.setDate(to_qdate(one_year_end(from_qdate(q))))

    def _rate_bp(self) -> int:
        return round(self.sp_rate.value() * 100)

    def _update_commission(self, *_a: Any) -> None:
        self.lbl_commission.setText(
            format_money(apply_rate(spin_minor(self.sp_premium), self._rate_bp()), symbol="¥")
        )

    def value(self) -> PolicyInput:
        return PolicyInput(
            policy_no=self.ed_no.text(),
            insurer_id=self.cb_insurer.currentData(),
            vehicle_id=self.cb_vehicle.currentData(),
            kind=self.cb_kind.currentData(),
            premium_minor=spin_minor(self.sp_premium),
            start_date=from_qdate(self.ed_start.date()),
            end_date=from_qdate(self.ed_end.date()),
            coverages=tuple(c for c, chk in self.cov.items() if chk.isChecked()),
            commission_rate_bp=self._rate_bp(),
            commission_minor=None,
            issued_on=from_qdate(self.ed_issued.date()),
            salesperson=self.ed_sales.text(),
            business=self.cb_business.currentData(),
            payment=self.cb_payment.currentData(),
            note=self.ed_note.text(),
        )


class RenewalStepDialog(_SavingDialog):
    """Record a step of a renewal: contacted (with a note), quoted (amount), lost (reason)."""

    def __init__(
        self,
        row: PipelineRow,
        status: str,
        save: Callable[[dict[str, Any]], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(save, parent)
        self.status = status
        titles = {
            "contacted": _("Customer contacted"),
            "quoted": _("Renewal quoted"),
            "lost": _("Renewal lost"),
        }
        self.setWindowTitle(titles.get(status, _("Renewal")))
        info = QLabel(
            _("{plate} · {customer} · {kind} {no}, ends {end}").format(
                plate=row.plate,
                customer=row.customer_name,
                kind=kind_label(row.kind),
                no=row.policy_no,
                end=row.end_date.isoformat(),
            )
        )
        self.ed_note = QLineEdit(row.renewal_note)
        self.sp_quote = money_spin(row.quoted_minor or row.premium_minor)
        self.cb_reason = QComboBox()
        self.cb_reason.setEditable(True)
        self.cb_reason.addItems([_(r) for r in LOST_REASONS])
        form = QFormLayout()
        form.addRow(info)
        if status == "quoted":
            form.addRow(_("Quoted premium"), self.sp_quote)
        if status == "lost":
            form.addRow(_("Reason"), self.cb_reason)
        form.addRow(_("Note"), self.ed_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Save")))

    def value(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "note": self.ed_note.text(),
            "quoted_minor": spin_minor(self.sp_quote) if self.status == "quoted" else None,
            "lost_reason": self.cb_reason.currentText() if self.status == "lost" else "",
        }


class AccidentDialog(_SavingDialog):
    """An accident vehicle received: date, plate, insurer, claim no., tow-in, surveyor,
    estimate, and the repair's work order (looked up by the plate)."""

    def __init__(
        self,
        logs: InsuranceLogs,
        insurers: list[InsurerRow],
        save: Callable[[Any], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(save, parent)
        self.logs = logs
        self.setWindowTitle(_("Accident vehicle received"))
        self.ed_date = date_edit(logs.today())
        self.ed_plate = QLineEdit()
        self.ed_plate.editingFinished.connect(self.on_plate)
        self.cb_insurer = QComboBox()
        self.cb_insurer.addItem(_("(not known)"), None)
        for i in insurers:
            self.cb_insurer.addItem(i.label, i.id)
        self.ed_claim = QLineEdit()
        self.chk_tow = QCheckBox(_("Towed in"))
        self.ed_surveyor = QLineEdit()
        self.sp_estimate = money_spin(0)
        self.cb_order = QComboBox()
        self.cb_order.addItem(_("(no work order yet)"), None)
        self.ed_note = QLineEdit()
        form = QFormLayout()
        form.addRow(_("Intake date"), self.ed_date)
        form.addRow(_("Plate"), self.ed_plate)
        form.addRow(_("Insurer"), self.cb_insurer)
        form.addRow(_("Claim no."), self.ed_claim)
        form.addRow("", self.chk_tow)
        form.addRow(_("Surveyor"), self.ed_surveyor)
        form.addRow(_("Estimate"), self.sp_estimate)
        form.addRow(_("Work order"), self.cb_order)
        form.addRow(_("Notes"), self.ed_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Save")))

    def on_plate(self) -> None:
        self.cb_order.clear()
        self.cb_order.addItem(_("(no work order yet)"), None)
        for wo in self.logs.work_orders_for_plate(self.ed_plate.text()):
            self.cb_order.addItem(f"{wo.number} · {wo.opened_on.isoformat()}", wo.id)
        if self.cb_order.count() > 1:
            self.cb_order.setCurrentIndex(1)

    def value(self) -> AccidentInput:
        return AccidentInput(
            intake_date=from_qdate(self.ed_date.date()),
            plate=self.ed_plate.text(),
            insurer_id=self.cb_insurer.currentData(),
            claim_no=self.ed_claim.text(),
            towed_in=self.chk_tow.isChecked(),
            surveyor=self.ed_surveyor.text(),
            estimate_minor=spin_minor(self.sp_estimate),
            work_order_id=self.cb_order.currentData(),
            note=self.ed_note.text(),
        )


class OilSaleDialog(_SavingDialog):
    """An engine-oil sale: product, quantity, amount, archive customer (found by plate/name)
    or walk-in buyer."""

    def __init__(
        self, service: InsuranceService, save: Callable[[Any], Any], parent: QWidget | None = None
    ) -> None:
        super().__init__(save, parent)
        self.service = service
        self.setWindowTitle(_("Engine-oil sale"))
        self.ed_date = date_edit(service.today())
        self.ed_product = QLineEdit()
        self.ed_product.setPlaceholderText(_("e.g. 美孚1号 5W-30 4L"))
        self.sp_qty = QSpinBox()
        self.sp_qty.setRange(1, 10_000)
        self.sp_amount = money_spin(0)
        self.ed_find = QLineEdit()
        self.ed_find.setPlaceholderText(_("plate or customer name; empty for a walk-in"))
        self.ed_find.editingFinished.connect(self.on_find)
        self.list_customers = QListWidget()
        self.list_customers.setMaximumHeight(80)
        self.ed_buyer = QLineEdit()
        self.ed_sales = QLineEdit()
        form = QFormLayout()
        form.addRow(_("Date"), self.ed_date)
        form.addRow(_("Product"), self.ed_product)
        form.addRow(_("Quantity"), self.sp_qty)
        form.addRow(_("Amount"), self.sp_amount)
        form.addRow(_("Archive customer"), self.ed_find)
        form.addRow("", self.list_customers)
        form.addRow(_("Walk-in buyer"), self.ed_buyer)
        form.addRow(_("Salesperson"), self.ed_sales)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self, _("Save")))

    def on_find(self) -> None:
        self.list_customers.clear()
        seen: set[uuid.UUID] = set()
        for v in self.service.find_vehicles(self.ed_find.text()):
            if v.customer_id in seen:
                continue
            seen.add(v.customer_id)
            item = QListWidgetItem(f"{v.customer_name} · {v.customer_no} · {v.plate}")
            item.setData(Qt.ItemDataRole.UserRole, v.customer_id)
            self.list_customers.addItem(item)
        if self.list_customers.count():
            self.list_customers.setCurrentRow(0)

    def value(self) -> OilSaleInput:
        item = self.list_customers.currentItem()
        return OilSaleInput(
            sold_on=from_qdate(self.ed_date.date()),
            product=self.ed_product.text(),
            quantity=self.sp_qty.value(),
            amount_minor=spin_minor(self.sp_amount),
            customer_id=item.data(Qt.ItemDataRole.UserRole) if item is not None else None,
            buyer=self.ed_buyer.text(),
            salesperson=self.ed_sales.text(),
        )


class InsurersDialog(QDialog):
    """The insurers' master list (shared by every branch); the manager adds an insurer."""

    def __init__(self, service: InsuranceService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.added = False
        self.setWindowTitle(_("Insurers"))
        self.list = QListWidget()
        self.ed_code = QLineEdit()
        self.ed_code.setPlaceholderText(_("code, e.g. PICC"))
        self.ed_name = QLineEdit()
        self.ed_name.setPlaceholderText(_("full name"))
        self.ed_short = QLineEdit()
        self.ed_short.setPlaceholderText(_("short name"))
        self.btn_add = QPushButton(_("Add"))
        self.btn_add.clicked.connect(self.on_add)
        row = QHBoxLayout()
        for w in (self.ed_code, self.ed_name, self.ed_short, self.btn_add):
            row.addWidget(w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(560, 420)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        for i in self.service.insurers(include_inactive=True):
            self.list.addItem(f"{i.code}  ·  {i.name}  ·  {i.short_name}")

    def on_add(self) -> None:
        try:
            self.service.add_insurer(self.ed_code.text(), self.ed_name.text(), self.ed_short.text())
        except UserError as exc:
            QMessageBox.warning(self, self.windowTitle(), exc.message)
            return
        self.added = True
        for w in (self.ed_code, self.ed_name, self.ed_short):
            w.clear()
        self.reload()
