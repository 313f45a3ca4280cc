"""Dialogs of the callback queue: the call itself (the customer, the visit, the script; reached /
no answer / wrong number, all from the keyboard), the quick-handling form 快速处理表, closing a
form with the responsible person's confirmation, and a questionnaire's editor."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive import LOST_REASONS, kind_label
from aftersales_desk.services.callback_questionnaires import QUESTION_KINDS, SCORE_LABELS, Question
from aftersales_desk.services.callbacks import (
    OUTCOME_LABELS,
    CallbackService,
    CallResult,
    CallSheet,
    FormInput,
    FormRow,
)
from aftersales_desk.ui.context import AppContext

KIND_LABELS = {
    "score": N_("Score 1–5"),
    "yesno": N_("Yes / no"),
    "choice": N_("Choice"),
    "text": N_("Text"),
}


def to_qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def from_qdate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


def _shortcut(widget: QWidget, keys: str | QKeySequence.StandardKey, fn: Any) -> QShortcut:
    sc = QShortcut(QKeySequence(keys), widget)
    sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    sc.activated.connect(fn)
    return sc


class CallDialog(QDialog):
    """One call. Scores are picked by typing their digit (5 = very satisfied … 1); Ctrl+Enter
    saves the call as reached, F6 records no answer, F7 a wrong number, Esc leaves it."""

    sig_recorded = Signal(object, object)  # (CallResult, CallSheet)

    def __init__(
        self,
        ctx: AppContext,
        service: CallbackService,
        sheet: CallSheet,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.service, self.sheet = ctx, service, sheet
        row = sheet.row
        self.setWindowTitle(_("Callback: {name}").format(name=row.name))
        self.resize(720, 760)
        info = QLabel()
        info.setTextFormat(Qt.TextFormat.RichText)
        info.setWordWrap(True)
        visit = ""
        if sheet.visit_date:
            visit = _("Visit {date} · {kind} · {km} km").format(
                date=sheet.visit_date.isoformat(),
                kind=kind_label(sheet.visit_kind),
                km=sheet.mileage_km or 0,
            )
            if sheet.visit_items:
                visit += f"<br>{sheet.visit_items[:200]}"
            if sheet.next_due_date or sheet.next_due_km:
                visit += "<br>" + _("Next maintenance: {date} / {km} km").format(
                    date=sheet.next_due_date.isoformat() if sheet.next_due_date else "—",
                    km=sheet.next_due_km or "—",
                )
        club = " · " + _("Club member") if row.club_member else ""
        tries = "".join(
            f"<br>{a.at.astimezone():%m-%d %H:%M} {a.by}: {_(OUTCOME_LABELS[a.outcome])}"
            + (f" — {a.note}" if a.note else "")
            for a in sheet.attempts
        )
        due = _("due {date}").format(date=row.due_on.isoformat())
        info.setText(
            f"<b style='font-size:14pt'>{row.name}</b> {row.customer_no}{club}<br>"
            f"☎ <b>{sheet.phone}</b> {sheet.phone2}<br>{sheet.vehicle}<br>"
            f"{row.rule_text} · {due} · {row.advisor} · "
            f"{row.department}<br>{row.note}<br>{visit}"
            + (f"<br><i>{_('Earlier tries')}:</i>{tries}" if tries else "")
        )
        self.inputs: dict[str, QWidget] = {}
        form = QFormLayout()
        self.cb_reason: QComboBox | None = None
        if sheet.survey:
            qn = sheet.questionnaire
            form.addRow(QLabel(f"<b>{qn.title}</b> v{qn.version}"))
            for q in qn.questions:
                w = self._input(q)
                self.inputs[q.key] = w
                label = QLabel(q.text + (" *" if q.required else ""))
                label.setWordWrap(True)
                form.addRow(label, w)
        else:
            self.inputs["comment"] = QLineEdit()
            form.addRow(_("What the customer said"), self.inputs["comment"])
            if row.rule == "lost":
                self.cb_reason = QComboBox()
                self.cb_reason.addItem("—", "")
                for key, label in LOST_REASONS.items():
                    self.cb_reason.addItem(_(label), key)
                form.addRow(_("Why they stopped coming"), self.cb_reason)
        self.chk_complaint = QCheckBox(_("The customer complains: open a quick-handling form"))
        form.addRow(self.chk_complaint)
        self.ed_note = QLineEdit()
        self.ed_note.setPlaceholderText(_("Note on this try (e.g. call back after 6 pm)"))
        form.addRow(_("Note"), self.ed_note)
        box = QWidget()
        box.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(box)
        self.btn_reached = QPushButton(_("Reached — save (Ctrl+Enter)"))
        self.btn_no_answer = QPushButton(_("No answer (F6)"))
        self.btn_wrong = QPushButton(_("Wrong number (F7)"))
        self.btn_cancel = QPushButton(_("Later (Esc)"))
        self.btn_reached.setDefault(False)
        self.btn_reached.setAutoDefault(False)
        for b in (self.btn_no_answer, self.btn_wrong, self.btn_cancel):
            b.setAutoDefault(False)
        self.btn_reached.clicked.connect(lambda: self.record("reached"))
        self.btn_no_answer.clicked.connect(lambda: self.record("no_answer"))
        self.btn_wrong.clicked.connect(lambda: self.record("wrong_number"))
        self.btn_cancel.clicked.connect(self.reject)
        _shortcut(self, "Ctrl+Return", lambda: self.record("reached"))
        _shortcut(self, "Ctrl+Enter", lambda: self.record("reached"))
        _shortcut(self, "F6", lambda: self.record("no_answer"))
        _shortcut(self, "F7", lambda: self.record("wrong_number"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.btn_reached)
        buttons.addWidget(self.btn_no_answer)
        buttons.addWidget(self.btn_wrong)
        buttons.addStretch(1)
        buttons.addWidget(self.btn_cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self._busy = False
        first = next(iter(self.inputs.values()), None)
        if first is not None:
            first.setFocus()

    def _input(self, q: Question) -> QWidget:
        if q.kind == "score":
            w = QComboBox()
            w.addItem("—", None)
            for score in range(5, 0, -1):
                w.addItem(f"{score} {_(SCORE_LABELS[score])}", score)
            return w
        if q.kind == "yesno":
            w = QComboBox()
            w.addItem("—", None)
            w.addItem(_("Yes"), True)
            w.addItem(_("No"), False)
            return w
        if q.kind == "choice":
            w = QComboBox()
            w.addItem("—", None)
            for o in q.options:
                w.addItem(o, o)
            return w
        return QLineEdit()

    def answers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, w in self.inputs.items():
            if isinstance(w, QComboBox):
                value = w.currentData()
                if value is not None:
                    out[key] = value
            elif isinstance(w, QLineEdit) and w.text().strip():
                out[key] = w.text().strip()
        return out

    def record(self, outcome: str) -> None:
        if self._busy:
            return
        self._busy = True
        cb_id = self.sheet.row.id
        answers = self.answers() if outcome == "reached" else None
        comment = str((answers or {}).get("comment", ""))
        complaint = self.chk_complaint.isChecked()
        note = self.ed_note.text()
        reason = (self.cb_reason.currentData() or "") if self.cb_reason is not None else ""

        def done(result: CallResult) -> None:
            self._busy = False
            self.accept()
            self.sig_recorded.emit(result, self.sheet)

        def failed(_exc: BaseException) -> bool:
            self._busy = False
            return False  # shown as a warning; the dialog stays open with what was typed

        self.ctx.ops.run(
            lambda _p: self.service.record_call(
                cb_id,
                outcome,
                answers=answers if self.sheet.survey else None,
                comment=comment,
                complaint=complaint,
                note=note,
                lost_reason=reason if outcome == "reached" else "",
            ),
            parent=self,
            changes={"callbacks"},
            on_success=done,
            on_error=failed,
        )


class FormDialog(QDialog):
    """快速处理表: department, responsible person, deadline, the problem and the actions.
    Ctrl+Enter saves."""

    sig_saved = Signal(object)  # FormRow

    def __init__(
        self,
        ctx: AppContext,
        service: CallbackService,
        callback_id: Any,
        *,
        customer: str,
        departments: list[str],
        department: str,
        responsible: str,
        deadline: date,
        problem: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.service, self.callback_id = ctx, service, callback_id
        self.setWindowTitle(_("Quick-handling form: {name}").format(name=customer))
        self.resize(560, 420)
        self.cb_department = QComboBox()
        self.cb_department.setEditable(True)
        self.cb_department.addItems(departments)
        self.cb_department.setCurrentText(department)
        self.ed_responsible = QLineEdit(responsible)
        self.ed_deadline = QDateEdit(to_qdate(deadline))
        self.ed_deadline.setCalendarPopup(True)
        self.ed_deadline.setDisplayFormat("yyyy-MM-dd")
        self.ed_problem = QPlainTextEdit(problem)
        self.ed_problem.setTabChangesFocus(True)
        self.ed_actions = QPlainTextEdit()
        self.ed_actions.setTabChangesFocus(True)
        form = QFormLayout()
        form.addRow(_("Department"), self.cb_department)
        form.addRow(_("Responsible person"), self.ed_responsible)
        form.addRow(_("Deadline"), self.ed_deadline)
        form.addRow(_("Problem"), self.ed_problem)
        form.addRow(_("Actions"), self.ed_actions)
        self.btn_save = QPushButton(_("Save form (Ctrl+Enter)"))
        self.btn_save.clicked.connect(self.save)
        btn_cancel = QPushButton(_("Cancel"))
        btn_cancel.clicked.connect(self.reject)
        for b in (self.btn_save, btn_cancel):
            b.setAutoDefault(False)
        _shortcut(self, "Ctrl+Return", self.save)
        _shortcut(self, "Ctrl+Enter", self.save)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.btn_save)
        buttons.addWidget(btn_cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self._busy = False
        self.ed_responsible.setFocus()

    def values(self) -> FormInput:
        return FormInput(
            self.cb_department.currentText(),
            self.ed_responsible.text(),
            from_qdate(self.ed_deadline.date()),
            self.ed_problem.toPlainText(),
            self.ed_actions.toPlainText(),
        )

    def save(self) -> None:
        if self._busy:
            return
        self._busy = True
        data, cb_id = self.values(), self.callback_id

        def done(form: FormRow) -> None:
            self._busy = False
            self.accept()
            self.sig_saved.emit(form)

        def failed(_exc: BaseException) -> bool:
            self._busy = False
            return False

        self.ctx.ops.run(
            lambda _p: self.service.open_form(cb_id, data),
            parent=self,
            changes={"callbacks"},
            on_success=done,
            on_error=failed,
        )


class CloseFormDialog(QDialog):
    def __init__(self, form: FormRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Close form {number}").format(number=form.number))
        self.resize(520, 320)
        lbl = QLabel(
            f"<b>{form.customer_name}</b> {form.plate} · {form.department} · "
            f"{form.responsible}<br>{form.problem}"
        )
        lbl.setWordWrap(True)
        self.ed_resolution = QPlainTextEdit()
        self.ed_resolution.setTabChangesFocus(True)
        self.ed_confirmed = QLineEdit()
        self.ed_confirmed.setPlaceholderText(
            _("The responsible person ({name}) confirms").format(name=form.responsible)
        )
        form_l = QFormLayout()
        form_l.addRow(_("Resolution"), self.ed_resolution)
        form_l.addRow(_("Confirmed by"), self.ed_confirmed)
        ok = QPushButton(_("Close the form"))
        ok.clicked.connect(self.accept)
        cancel = QPushButton(_("Cancel"))
        cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(ok)
        row.addWidget(cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(lbl)
        layout.addLayout(form_l)
        layout.addWidget(
            QLabel(_("Closing the form schedules the second callback to the customer."))
        )
        layout.addLayout(row)


class QuestionnaireEditor(QWidget):
    """The questions of one script as a table; saving writes a new version."""

    COLS = ("key", "text", "kind", "department", "options")

    def __init__(self, editable: bool = True) -> None:
        super().__init__()
        self.editable = editable
        self.table = QTableWidget(0, len(self.COLS))
        self.table.setHorizontalHeaderLabels(
            [_("Key"), _("Question"), _("Kind"), _("Department"), _("Options (separated by /)")]
        )
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def set_questions(self, questions: tuple[Question, ...] | list[Question]) -> None:
        self.table.setRowCount(0)
        for q in questions:
            self.add(q)

    def add(self, q: Question | None = None) -> None:
        q = q or Question("", "", "score")
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(q.key))
        self.table.setItem(r, 1, QTableWidgetItem(q.text))
        kind = QComboBox()
        for k in QUESTION_KINDS:
            kind.addItem(_(KIND_LABELS[k]), k)
        kind.setCurrentIndex(max(0, kind.findData(q.kind)))
        kind.setEnabled(self.editable)
        self.table.setCellWidget(r, 2, kind)
        self.table.setItem(r, 3, QTableWidgetItem(q.department))
        self.table.setItem(r, 4, QTableWidgetItem(" / ".join(q.options)))
        item = self.table.item(r, 0)
        item.setData(Qt.ItemDataRole.UserRole, (q.required, q.optional))

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for r in rows:
            self.table.removeRow(r)

    def questions(self) -> list[Question]:
        out = []
        for r in range(self.table.rowCount()):

            def text(c: int, r: int = r) -> str:
                item = self.table.item(r, c)
                return item.text() if item is not None else ""

            kind = self.table.cellWidget(r, 2)
            flags = (
                self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
                if self.table.item(r, 0)
                else None
            )
            required, optional = flags or (False, False)
            out.append(
                Question(
                    text(0).strip(),
                    text(1).strip(),
                    kind.currentData() if isinstance(kind, QComboBox) else "score",
                    text(3).strip(),
                    tuple(o.strip() for o in text(4).split("/") if o.strip()),
                    bool(required),
                    bool(optional),
                )
            )
        return out
