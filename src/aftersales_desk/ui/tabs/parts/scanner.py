"""Barcode scanner input on part fields. A USB scanner is a keyboard ("keyboard wedge"): it types
the code very fast and presses Enter. ``ScanLineEdit`` tells a scan from typing by the keystroke
rhythm and emits ``sig_code`` with the code either way when Enter comes; ``PartField`` looks the
code up (an exact, indexed look-up of barcode or part number: a millisecond, so it runs at once)
and shows the part found; ``WorkOrderField`` does the same for a work order's number."""

from __future__ import annotations

import itertools
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget

from aftersales_desk.domain.money import format_money
from aftersales_desk.errors import UserError
from aftersales_desk.i18n import _
from aftersales_desk.services.part_waits import PartWaits, WorkOrderRef
from aftersales_desk.services.parts_catalog import PartRow, PartsCatalog

SCAN_MAX_GAP_S = 0.05  # scanners type a character every few milliseconds; people don't
SCAN_MIN_LENGTH = 4


class ScanLineEdit(QLineEdit):
    """A line edit that emits ``sig_code(text, scanned)`` on Enter; ``scanned`` is True when the
    text came in at scanner speed. After a scan the text is selected so the next scan replaces
    it."""

    sig_code = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stamps: list[float] = []
        self.setPlaceholderText(_("Scan or type a part number, then Enter"))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            text = self.text().strip()
            scanned = self._looks_scanned(len(text))
            self._stamps.clear()
            if text:
                self.sig_code.emit(text, scanned)
                if scanned:
                    self.selectAll()
            event.accept()
            return
        if event.text() and event.text().isprintable():
            if self.hasSelectedText() or not self.text():
                self._stamps.clear()  # a new code starts (typing replaces a selection)
            self._stamps.append(time.monotonic())
        super().keyPressEvent(event)

    def _looks_scanned(self, length: int) -> bool:
        stamps = self._stamps
        if length < SCAN_MIN_LENGTH or len(stamps) < SCAN_MIN_LENGTH:
            return False
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        return max(gaps) <= SCAN_MAX_GAP_S


class PartField(QWidget):
    """A part field: scan or type a code, Enter finds the part (``sig_part``) or says so."""

    sig_part = Signal(object)  # PartRow

    def __init__(self, catalog: PartsCatalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.part: PartRow | None = None
        self.edit = ScanLineEdit()
        self.label = QLabel()
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.label, 2)
        self.edit.sig_code.connect(self.on_code)

    def on_code(self, code: str, _scanned: bool = False) -> None:
        part = self.catalog.find_by_code(code)
        self.part = part
        if part is None:
            self.label.setText(_("No part with the code {code}.").format(code=code))
            self.label.setStyleSheet("color: #b00020;")
            return
        self.label.setStyleSheet("")
        self.label.setText(
            _("{part_no} {name} · on hand {qty} {unit} · {price}").format(
                part_no=part.part_no,
                name=part.name,
                qty=part.on_hand,
                unit=part.unit,
                price=format_money(part.sale_price, symbol="¥"),
            )
        )
        self.edit.selectAll()  # the next scan or typed code replaces this one
        self.sig_part.emit(part)

    def clear(self) -> None:
        self.part = None
        self.edit.clear()
        self.label.clear()


class WorkOrderField(QWidget):
    """A work order field: scan the order's barcode or type its number, Enter finds it
    (``sig_order``) and shows customer, plate and status — or says there is none."""

    sig_order = Signal(object)  # WorkOrderRef

    def __init__(self, service: PartWaits, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.order: WorkOrderRef | None = None
        self.edit = ScanLineEdit()
        self.edit.setPlaceholderText(_("Scan or type a work order number, then Enter"))
        self.label = QLabel()
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.label, 2)
        self.edit.sig_code.connect(self.on_code)
        self.edit.textEdited.connect(self._edited)

    def _edited(self, _text: str) -> None:
        self.order = None
        self.label.clear()

    def on_code(self, code: str, _scanned: bool = False) -> None:
        try:
            order = self.service.find_work_order(code)
        except UserError as exc:
            self.order = None
            self.label.setText(exc.message)
            self.label.setStyleSheet("color: #b00020;")
            return
        self.order = order
        self.label.setStyleSheet("")
        self.label.setText(order.label)
        self.edit.setText(order.number)
        self.edit.selectAll()
        self.sig_order.emit(order)

    def set_number(self, number: str) -> None:
        self.edit.setText(number)
        self.on_code(number)

    def number(self) -> str:
        """The order found, or what was typed (the service then says what is wrong with it)."""
        return self.order.number if self.order is not None else self.edit.text().strip()
