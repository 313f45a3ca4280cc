"""Dialogs of the schedule tab: check-off (note, attachment), a duty's editor, an event of a duty
that is due after events (e.g. a campaign's end)."""

from __future__ import annotations

from datetime import date, time

from PySide6.QtCore import QDate, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.workcal import Shift
from aftersales_desk.i18n import _
from aftersales_desk.services.schedule import DutyRow, DutySpec
from aftersales_desk.ui.widgets import ok_cancel


def to_qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def from_qdate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


class CheckOffDialog(QDialog):
    def __init__(self, titles: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Check off"))
        self.resize(520, 300)
        shown = "\n".join(f"• {t}" for t in titles[:8]) + ("\n…" if len(titles) > 8 else "")
        lbl = QLabel(shown)
        lbl.setWordWrap(True)
        self.ed_note = QPlainTextEdit()
        self.ed_note.setPlaceholderText(_("What was done, to whom it was sent…"))
        self.ed_file = QLineEdit()
        self.ed_file.setPlaceholderText(_("optional: a file to keep with the check-off"))
        browse = QPushButton(_("Browse…"))
        browse.clicked.connect(self.on_browse)
        row = QHBoxLayout()
        row.addWidget(self.ed_file, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow(_("Note"), self.ed_note)
        form.addRow(_("Attachment"), row)
        layout = QVBoxLayout(self)
        layout.addWidget(lbl)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    def on_browse(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, _("Attach a file"))
        if path:
            self.ed_file.setText(path)

    @property
    def note(self) -> str:
        return self.ed_note.toPlainText()

    @property
    def attachment(self) -> str:
        return self.ed_file.text().strip()


PRESETS = [
    ("", ""),
    ("FREQ=DAILY", "daily"),
    ("FREQ=WEEKLY;BYDAY=MO", "weekly"),
    ("FREQ=MONTHLY;BYMONTHDAY=5", "monthly"),
    ("FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1", "quarterly"),
]


class DutyDialog(QDialog):
    """New or existing duty. The recurrence is an RFC 5545 RRULE; presets fill common ones."""

    def __init__(self, row: DutyRow | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("New duty") if row is None else _("Edit duty"))
        self.resize(560, 420)
        self.ed_code = QLineEdit(row.code if row else "")
        self.ed_title = QLineEdit(row.title if row else "")
        self.cb_kind = QComboBox()
        self.cb_kind.addItem(_("Recurs by a rule"), "rule")
        self.cb_kind.addItem(_("Due some days after each event"), "event")
        self.cb_preset = QComboBox()
        for body, key in PRESETS:
            self.cb_preset.addItem(
                {
                    "": _("(choose a common rule)"),
                    "daily": _("Every day"),
                    "weekly": _("Every Monday"),
                    "monthly": _("Every month on the 5th"),
                    "quarterly": _("Last day of each quarter"),
                }[key],
                body,
            )
        self.cb_preset.currentIndexChanged.connect(self.on_preset)
        self.ed_rrule = QLineEdit(row.rrule if row else "FREQ=DAILY")
        self.ed_rrule.setToolTip(_("RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=TU,TH"))
        self.ed_start = QDateEdit(to_qdate(row.dtstart) if row else QDate.currentDate())
        self.ed_start.setCalendarPopup(True)
        self.ed_start.setDisplayFormat("yyyy-MM-dd")
        t = row.due_time if row else time(17, 0)
        self.ed_time = QTimeEdit(QTime(t.hour, t.minute))
        self.ed_time.setDisplayFormat("HH:mm")
        self.cb_shift = QComboBox()
        for s in Shift:
            self.cb_shift.addItem(s.label, s.value)
        if row:
            self.cb_shift.setCurrentIndex(list(Shift).index(row.shift))
        self.sp_offset = QSpinBox()
        self.sp_offset.setRange(0, 365)
        self.sp_offset.setValue(row.offset_days if row else 3)
        self.ed_note = QLineEdit(row.note if row else "")
        self.chk_active = QCheckBox(_("Active"))
        self.chk_active.setChecked(row.active if row else True)
        self.sp_order = QSpinBox()
        self.sp_order.setRange(0, 10000)
        self.sp_order.setValue(row.sort_order if row else 200)
        form = QFormLayout()
        form.addRow(_("Code"), self.ed_code)
        form.addRow(_("Duty"), self.ed_title)
        form.addRow(_("Kind"), self.cb_kind)
        form.addRow(_("Common rules"), self.cb_preset)
        form.addRow(_("Recurrence rule"), self.ed_rrule)
        form.addRow(_("Days after the event"), self.sp_offset)
        form.addRow(_("From"), self.ed_start)
        form.addRow(_("Due at"), self.ed_time)
        form.addRow(_("On a day off"), self.cb_shift)
        form.addRow(_("Note"), self.ed_note)
        form.addRow(_("Order"), self.sp_order)
        form.addRow("", self.chk_active)
        self.form = form
        self.cb_kind.currentIndexChanged.connect(self.on_kind)
        self.cb_kind.setCurrentIndex(1 if row is not None and not row.rrule else 0)
        self.on_kind()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    def on_preset(self) -> None:
        body = self.cb_preset.currentData()
        if body:
            self.ed_rrule.setText(body)

    def on_kind(self) -> None:
        by_rule = self.cb_kind.currentData() == "rule"
        for w in (self.cb_preset, self.ed_rrule):
            self.form.setRowVisible(w, by_rule)
        self.form.setRowVisible(self.sp_offset, not by_rule)

    def spec(self) -> DutySpec:
        by_rule = self.cb_kind.currentData() == "rule"
        qt = self.ed_time.time()
        return DutySpec(
            code=self.ed_code.text(),
            title=self.ed_title.text(),
            rrule=self.ed_rrule.text() if by_rule else "",
            dtstart=from_qdate(self.ed_start.date()),
            due_time=time(qt.hour(), qt.minute()),
            shift=Shift(self.cb_shift.currentData()),
            offset_days=0 if by_rule else self.sp_offset.value(),
            note=self.ed_note.text(),
            active=self.chk_active.isChecked(),
            sort_order=self.sp_order.value(),
        )


class EventDialog(QDialog):
    def __init__(self, duty_title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Add an event"))
        self.ed_label = QLineEdit()
        self.ed_label.setPlaceholderText(_("e.g. spring maintenance campaign"))
        self.ed_day = QDateEdit(QDate.currentDate())
        self.ed_day.setCalendarPopup(True)
        self.ed_day.setDisplayFormat("yyyy-MM-dd")
        form = QFormLayout()
        form.addRow(_("Duty"), QLabel(duty_title))
        form.addRow(_("Event"), self.ed_label)
        form.addRow(_("Ended on"), self.ed_day)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    @property
    def label(self) -> str:
        return self.ed_label.text()

    @property
    def day(self) -> date:
        return from_qdate(self.ed_day.date())
