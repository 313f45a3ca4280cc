"""Forms of the archive tab: customer, vehicle, visit, work order steps, lost-customer reason.
They only collect input into the services' plain dataclasses; saving happens in the tab."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import format_money, parse_money
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.archive import (
    LOST_REASONS,
    VISIT_KIND_LABELS,
    CustomerCard,
    CustomerInput,
    VehicleInput,
    VehicleRow,
    VisitInput,
)
from aftersales_desk.services.archive_lost import LostRules
from aftersales_desk.services.archive_work_orders import CloseInput
from aftersales_desk.ui.widgets import ok_cancel


class DateField(QWidget):
    """A date that may be empty (a check box in front of the date edit)."""

    def __init__(self, value: date | None = None, *, optional: bool = True) -> None:
        super().__init__()
        from PySide6.QtWidgets import QHBoxLayout

        self.chk = QCheckBox()
        self.edit = QDateEdit()
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("yyyy-MM-dd")
        self.set(value)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if optional:
            layout.addWidget(self.chk)
            self.chk.toggled.connect(self.edit.setEnabled)
        else:
            self.chk.setChecked(True)
        layout.addWidget(self.edit, 1)

    def set(self, value: date | None) -> None:
        self.chk.setChecked(value is not None)
        self.edit.setEnabled(value is not None)
        d = value or date.today()
        self.edit.setDate(QDate(d.year, d.month, d.day))

    def value(self) -> date | None:
        if not self.chk.isChecked():
            return None
        q = self.edit.date()
        return date(q.year(), q.month(), q.day())


def _km() -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, 2_000_000)
    box.setSuffix(" km")
    box.setGroupSeparatorShown(True)
    return box


class CustomerDialog(QDialog):
    """New customer (with an optional first vehicle) or edit of an existing one."""

    def __init__(self, card: CustomerCard | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("New customer") if card is None else _("Edit customer"))
        self.ed_no = QLineEdit(card.customer_no if card else "")
        self.ed_no.setPlaceholderText(_("assigned automatically when empty"))
        self.ed_name = QLineEdit(card.name if card else "")
        self.cb_kind = QComboBox()
        self.cb_kind.addItem(_("Person"), "person")
        self.cb_kind.addItem(_("Company"), "company")
        if card and card.kind == "company":
            self.cb_kind.setCurrentIndex(1)
        self.ed_phone = QLineEdit(card.phone if card else "")
        self.ed_phone2 = QLineEdit(card.phone2 if card else "")
        self.ed_address = QLineEdit(card.address if card else "")
        self.ed_region = QLineEdit(card.region if card else "")
        self.ed_id = QLineEdit(card.id_number if card else "")
        self.chk_member = QCheckBox(_("Club member"))
        self.chk_vip = QCheckBox(_("VIP / key account"))
        self.chk_consent = QCheckBox(_("Agrees to be called"))
        self.chk_member.setChecked(bool(card and card.club_member))
        self.chk_vip.setChecked(bool(card and card.vip))
        self.chk_consent.setChecked(card.consent_call if card else True)
        self.ed_notes = QPlainTextEdit(card.notes if card else "")
        self.ed_notes.setMaximumHeight(60)
        form = QFormLayout()
        form.addRow(_("Customer no."), self.ed_no)
        form.addRow(_("Name"), self.ed_name)
        form.addRow(_("Type"), self.cb_kind)
        form.addRow(_("Mobile phone"), self.ed_phone)
        form.addRow(_("Other phone"), self.ed_phone2)
        form.addRow(_("Address"), self.ed_address)
        form.addRow(_("Region"), self.ed_region)
        form.addRow(_("ID / credit code"), self.ed_id)
        form.addRow("", self.chk_member)
        form.addRow("", self.chk_vip)
        form.addRow("", self.chk_consent)
        form.addRow(_("Notes"), self.ed_notes)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.vehicle: VehicleForm | None = None
        if card is None:
            layout.addWidget(QLabel("<b>" + _("First vehicle or product (optional)") + "</b>"))
            self.vehicle = VehicleForm(None)
            layout.addWidget(self.vehicle)
        layout.addWidget(ok_cancel(self))

    def values(self) -> CustomerInput:
        return CustomerInput(
            name=self.ed_name.text(),
            customer_no=self.ed_no.text(),
            kind=self.cb_kind.currentData(),
            phone=self.ed_phone.text(),
            phone2=self.ed_phone2.text(),
            address=self.ed_address.text(),
            region=self.ed_region.text(),
            id_number=self.ed_id.text(),
            club_member=self.chk_member.isChecked(),
            vip=self.chk_vip.isChecked(),
            consent_call=self.chk_consent.isChecked(),
            notes=self.ed_notes.toPlainText(),
        )

    def vehicle_values(self) -> VehicleInput | None:
        if self.vehicle is None or self.vehicle.is_empty():
            return None
        return self.vehicle.values()


class VehicleForm(QWidget):
    def __init__(self, row: VehicleRow | None) -> None:
        super().__init__()
        self.ed_vin = QLineEdit(row.vin if row else "")
        self.ed_vin.setMaxLength(17)
        self.ed_plate = QLineEdit(row.plate if row else "")
        self.ed_engine = QLineEdit(row.engine_no if row else "")
        self.ed_brand = QLineEdit(row.brand if row else "")
        self.ed_model = QLineEdit(row.model if row else "")
        self.ed_colour = QLineEdit(row.colour if row else "")
        self.purchase = DateField(row.purchase_date if row else None)
        self.sale = DateField(row.sale_date if row else None)
        self.sp_km = _km()
        self.sp_km.setValue(row.mileage_km if row else 0)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(_("VIN"), self.ed_vin)
        form.addRow(_("Plate"), self.ed_plate)
        form.addRow(_("Engine no."), self.ed_engine)
        form.addRow(_("Brand"), self.ed_brand)
        form.addRow(_("Model"), self.ed_model)
        form.addRow(_("Colour"), self.ed_colour)
        form.addRow(_("Purchase date"), self.purchase)
        form.addRow(_("Sale date"), self.sale)
        form.addRow(_("Mileage"), self.sp_km)

    def is_empty(self) -> bool:
        return not (self.ed_vin.text().strip() or self.ed_plate.text().strip())

    def values(self) -> VehicleInput:
        return VehicleInput(
            vin=self.ed_vin.text(),
            engine_no=self.ed_engine.text(),
            plate=self.ed_plate.text(),
            brand=self.ed_brand.text(),
            model=self.ed_model.text(),
            colour=self.ed_colour.text(),
            purchase_date=self.purchase.value(),
            sale_date=self.sale.value(),
            mileage_km=self.sp_km.value(),
        )


class VehicleDialog(QDialog):
    def __init__(self, row: VehicleRow | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("New vehicle or product") if row is None else _("Edit vehicle"))
        self.form = VehicleForm(row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(ok_cancel(self))

    def values(self) -> VehicleInput:
        return self.form.values()


class MoneyEdit(QLineEdit):
    def __init__(self, minor: int = 0) -> None:
        super().__init__(format_money(minor) if minor else "")
        self.setPlaceholderText("0.00")

    def minor(self, field: str) -> int:
        text = self.text().strip()
        if not text:
            return 0
        try:
            return parse_money(text)
        except ValueError as exc:
            raise ValidationError(str(exc), field=field) from None


class VisitDialog(QDialog):
    """A visit on the service card (for visits not made through a work order)."""

    def __init__(self, card: CustomerCard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("New visit"))
        self.cb_vehicle = QComboBox()
        for v in card.vehicles:
            self.cb_vehicle.addItem(f"{v.plate or '-'}  {v.vin}  {v.brand}{v.model}", v.id)
        self.cb_vehicle.addItem(_("(no vehicle)"), None)
        self.day = DateField(date.today(), optional=False)
        self.cb_kind = QComboBox()
        for key, label in VISIT_KIND_LABELS.items():
            self.cb_kind.addItem(_(label), key)
        self.chk_free = QCheckBox(_("Free campaign visit"))
        self.sp_km = _km()
        self.ed_items = QLineEdit()
        self.ed_parts = QLineEdit()
        self.ed_labour = MoneyEdit()
        self.ed_parts_amount = MoneyEdit()
        self.ed_advisor = QLineEdit()
        self.next_date = DateField(None)
        self.sp_next_km = _km()
        self.ed_declined = QLineEdit()
        form = QFormLayout()
        form.addRow(_("Vehicle"), self.cb_vehicle)
        form.addRow(_("Date"), self.day)
        form.addRow(_("Type"), self.cb_kind)
        form.addRow("", self.chk_free)
        form.addRow(_("Mileage"), self.sp_km)
        form.addRow(_("Work done"), self.ed_items)
        form.addRow(_("Parts"), self.ed_parts)
        form.addRow(_("Labour (yuan)"), self.ed_labour)
        form.addRow(_("Parts amount (yuan)"), self.ed_parts_amount)
        form.addRow(_("Service advisor"), self.ed_advisor)
        form.addRow(_("Next maintenance date"), self.next_date)
        form.addRow(_("Next maintenance mileage"), self.sp_next_km)
        form.addRow(_("Advice declined"), self.ed_declined)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    def values(self) -> VisitInput:
        day = self.day.value()
        assert day is not None
        return VisitInput(
            visit_date=day,
            kind=self.cb_kind.currentData(),
            vehicle_id=self.cb_vehicle.currentData(),
            mileage_km=self.sp_km.value(),
            free_campaign=self.chk_free.isChecked(),
            items=self.ed_items.text(),
            parts=self.ed_parts.text(),
            labour_minor=self.ed_labour.minor("labour_minor"),
            parts_minor=self.ed_parts_amount.minor("parts_minor"),
            advisor=self.ed_advisor.text(),
            next_due_date=self.next_date.value(),
            next_due_km=self.sp_next_km.value() or None,
            declined_advice=self.ed_declined.text(),
        )


class OpenWorkOrderDialog(QDialog):
    def __init__(self, card: CustomerCard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Open a work order for {name}").format(name=card.name))
        self.cb_vehicle = QComboBox()
        for v in card.vehicles:
            self.cb_vehicle.addItem(f"{v.plate or '-'}  {v.vin}  {v.brand}{v.model}", v.id)
        self.cb_vehicle.addItem(_("(no vehicle)"), None)
        self.cb_kind = QComboBox()
        for key, label in VISIT_KIND_LABELS.items():
            self.cb_kind.addItem(_(label), key)
        self.cb_kind.setCurrentIndex(list(VISIT_KIND_LABELS).index("repair"))
        self.ed_fault = QPlainTextEdit()
        self.ed_fault.setMaximumHeight(80)
        self.ed_advisor = QLineEdit()
        self.sp_km = _km()
        form = QFormLayout()
        form.addRow(_("Vehicle"), self.cb_vehicle)
        form.addRow(_("Type"), self.cb_kind)
        form.addRow(_("Fault or request"), self.ed_fault)
        form.addRow(_("Service advisor"), self.ed_advisor)
        form.addRow(_("Mileage"), self.sp_km)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))


class CloseWorkOrderDialog(QDialog):
    def __init__(self, number: str, mileage_km: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Close work order {number}").format(number=number))
        self.ed_items = QLineEdit()
        self.ed_parts = QLineEdit()
        self.ed_labour = MoneyEdit()
        self.ed_parts_amount = MoneyEdit()
        self.sp_km = _km()
        self.sp_km.setValue(mileage_km)
        self.next_date = DateField(None)
        self.sp_next_km = _km()
        self.ed_declined = QLineEdit()
        self.chk_free = QCheckBox(_("Free campaign visit"))
        form = QFormLayout()
        form.addRow(_("Work done"), self.ed_items)
        form.addRow(_("Parts"), self.ed_parts)
        form.addRow(_("Labour (yuan)"), self.ed_labour)
        form.addRow(_("Parts amount (yuan)"), self.ed_parts_amount)
        form.addRow(_("Mileage"), self.sp_km)
        form.addRow(_("Next maintenance date"), self.next_date)
        form.addRow(_("Next maintenance mileage"), self.sp_next_km)
        form.addRow(_("Advice declined"), self.ed_declined)
        form.addRow("", self.chk_free)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    def values(self) -> CloseInput:
        return CloseInput(
            items=self.ed_items.text(),
            parts=self.ed_parts.text(),
            labour_minor=self.ed_labour.minor("labour_minor"),
            parts_minor=self.ed_parts_amount.minor("parts_minor"),
            mileage_km=self.sp_km.value(),
            next_due_date=self.next_date.value(),
            next_due_km=self.sp_next_km.value() or None,
            declined_advice=self.ed_declined.text(),
            free_campaign=self.chk_free.isChecked(),
        )


class LostReasonDialog(QDialog):
    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Why was {what} lost?").format(what=label))
        self.cb_reason = QComboBox()
        for key, text in LOST_REASONS.items():
            self.cb_reason.addItem(_(text), key)
        self.ed_note = QLineEdit()
        form = QFormLayout()
        form.addRow(_("Reason"), self.cb_reason)
        form.addRow(_("Note"), self.ed_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))


class LostRulesDialog(QDialog):
    """When a vehicle counts as lost: the default interval, the margin, the km between services."""

    def __init__(self, rules: LostRules, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Lost customer rules"))
        self.sp_months = QSpinBox()
        self.sp_months.setRange(1, 36)
        self.sp_months.setSuffix(_(" months"))
        self.sp_months.setValue(rules.default_months)
        self.sp_margin = QSpinBox()
        self.sp_margin.setRange(0, 365)
        self.sp_margin.setSuffix(_(" days"))
        self.sp_margin.setValue(rules.margin_days)
        self.sp_km = QSpinBox()
        self.sp_km.setRange(500, 100000)
        self.sp_km.setSingleStep(500)
        self.sp_km.setSuffix(" km")
        self.sp_km.setValue(rules.service_km)
        note = QLabel(
            _(
                "A vehicle is expected back at the next maintenance its last visit set (date or "
                "mileage at its own km per day), else after its own usual interval, else after "
                "the default interval. It counts as lost once that is overdue by the margin; "
                "free campaign visits are not a return."
            )
        )
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow(_("Default interval"), self.sp_months)
        form.addRow(_("Margin"), self.sp_margin)
        form.addRow(_("Km between services"), self.sp_km)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    def values(self) -> LostRules:
        return LostRules(self.sp_months.value(), self.sp_margin.value(), self.sp_km.value())
