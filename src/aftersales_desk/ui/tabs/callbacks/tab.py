"""The callback queue tab (回访): the queue (due today, overdue, upcoming, done; filters by type,
advisor and department; F2 starts the next call), the quick-handling forms (overdue ones first;
closing one schedules the second callback) and the branch's questionnaires (each save is a new
version)."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.data.models.archive import VISIT_KINDS
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive import kind_label
from aftersales_desk.services.callback_questionnaires import SCRIPT_LABELS, QuestionnaireRow
from aftersales_desk.services.callback_rules import RULES
from aftersales_desk.services.callbacks import (
    Bucket,
    CallbackService,
    CallResult,
    CallSheet,
    Counts,
    Filters,
    FormRow,
    Generated,
    QueueRow,
    RuleSettings,
    rule_settings,
    update_rule_settings,
)
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.doc_numbers import number_width
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.callbacks.dialogs import (
    CallDialog,
    CloseFormDialog,
    FormDialog,
    QuestionnaireEditor,
)

AREA = "callbacks"
_OVERDUE = QColor("#f8d7da")
_PROBLEM = QColor("#fff3cd")


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _table(model: LazyTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class QueueModel(LazyTableModel):
    def __init__(self, columns: list[Column], fetch: Any, today: date) -> None:
        super().__init__(columns, fetch)
        self.today = today

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            row: QueueRow = self.row(index.row())
            if row.problem:
                return _PROBLEM
            if row.status == "open" and row.due_on < self.today:
                return _OVERDUE
            return None
        return super().data(index, role)


class QueuePage(QWidget):
    def __init__(self, ctx: AppContext, service: CallbackService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        self.bucket = Bucket.TODAY
        self.filters = Filters()
        self.today = date.today()
        self.call_dialog: CallDialog | None = None
        self.form_dialog: FormDialog | None = None
        self.can_call = ctx.actor.can(Permission.WORK_CALLBACKS)
        self.model = QueueModel(
            [
                Column("due_on", N_("Due"), _iso),
                Column("rule_text", N_("Reason")),
                Column("name", N_("Customer")),
                Column("phone", N_("Phone")),
                Column("plate", N_("Plate")),
                Column("advisor", N_("Advisor")),
                Column("department", N_("Department")),
                Column("attempts", N_("Tries"), align_right=True),
                Column("status_text", N_("State")),
                Column("overall", N_("Overall"), lambda v: "" if v is None else str(v)),
                Column("note", N_("Note")),
            ],
            self._fetch,
            self.today,
        )
        self.view = _table(self.model)
        for col, width in (
            (0, 90),
            (1, 100),
            (2, 90),
            (3, 110),
            (4, 90),
            (5, 70),
            (6, 80),
            (7, 50),
            (8, 80),
            (9, 50),
        ):
            self.view.setColumnWidth(col, width)
        self.view.doubleClicked.connect(lambda _i: self.call_selected())
        self.buttons: dict[Bucket, QPushButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        bar = QHBoxLayout()
        for b in Bucket:
            btn = QPushButton(b.label)
            btn.setCheckable(True)
            btn.setChecked(b is self.bucket)
            btn.clicked.connect(lambda _c=False, b=b: self.set_bucket(b))
            group.addButton(btn)
            self.buttons[b] = btn
            bar.addWidget(btn)
        bar.addSpacing(12)
        self.cb_rule = QComboBox()
        self.cb_rule.addItem(_("All reasons"), "")
        for name, rule in RULES.items():
            self.cb_rule.addItem(rule.label, name)
        self.cb_advisor = QComboBox()
        self.cb_advisor.addItem(_("All advisors"), "")
        self.cb_department = QComboBox()
        self.cb_department.addItem(_("All departments"), "")
        for cb in (self.cb_rule, self.cb_advisor, self.cb_department):
            cb.currentIndexChanged.connect(self.on_filter)
            bar.addWidget(cb)
        bar.addStretch(1)
        self.btn_next = QPushButton(_("Next call (F2)"))
        self.btn_next.clicked.connect(self.next_call)
        self.btn_call = QPushButton(_("Call selected (Enter)"))
        self.btn_call.clicked.connect(self.call_selected)
        for b in (self.btn_next, self.btn_call):
            b.setVisible(self.can_call)
            bar.addWidget(b)
        self.lbl_info = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        layout.addWidget(self.lbl_info)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """F2 next call, Enter the selected one, F5 reload (keys the list does not use)."""
        key = event.key()
        if key == Qt.Key.Key_F2:
            self.next_call()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.call_selected()
        elif key == Qt.Key.Key_F5:
            self.refresh()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # --- loading -------------------------------------------------------------------------------
    def _fetch(self, cursor: Any, limit: int):
        return self.service.page(self.bucket, cursor, limit, today=self.today, filters=self.filters)

    def refresh(self) -> None:
        """Show the queue as it is at once; then queue what the rules say is due (a write that
        may take a moment on a large archive) and show the list again when it added calls."""
        self.ctx.ops.run(lambda _p: self.service.today(), write=False, on_success=self._loaded)
        if self.can_call:
            self.ctx.ops.run(
                lambda _p: self.service.generate(),
                on_success=self._generated,
                on_error=lambda _e: True,  # the queue is still there; the next refresh retries
            )

    def _generated(self, result: Generated) -> None:
        if result.total or result.cancelled:
            self.reload()

    def _loaded(self, today: date) -> None:
        self.today = today
        self.model.today = today
        self.ctx.ops.run(
            lambda _p: self.service.choices(), write=False, on_success=self._set_choices
        )
        self.reload()

    def _set_choices(self, choices: tuple[list[str], list[str]]) -> None:
        advisors, departments = choices
        for combo, values in ((self.cb_advisor, advisors), (self.cb_department, departments)):
            current = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for v in values:
                combo.addItem(v, v)
            i = combo.findData(current)
            combo.setCurrentIndex(max(0, i))
            combo.blockSignals(False)

    def reload(self) -> None:
        self.model.reload(self._fetch)
        if self.model.rowCount():
            self.view.selectRow(0)
        filters, today = self.filters, self.today
        self.ctx.ops.run(
            lambda _p: self.service.counts(today, filters), write=False, on_success=self.show_counts
        )

    def show_counts(self, counts: Counts) -> None:
        for b, btn in self.buttons.items():
            btn.setText(f"{b.label} ({counts.of(b)})")
        self.lbl_info.setText(
            _("Today {today}: {due} due, {overdue} overdue. F2 starts the next call.").format(
                today=self.today.isoformat(), due=counts.today, overdue=counts.overdue
            )
        )

    def set_bucket(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self.buttons[bucket].setChecked(True)
        self.reload()

    def on_filter(self, *_args: Any) -> None:
        self.filters = Filters(
            self.cb_rule.currentData() or "",
            self.cb_advisor.currentData() or "",
            self.cb_department.currentData() or "",
        )
        self.reload()

    # --- calling -------------------------------------------------------------------------------
    def next_call(self) -> None:
        if not self.can_call or self._dialog_open():
            return
        today, filters = self.today, self.filters
        self.ctx.ops.run(
            lambda _p: self._sheet_of(self.service.next_call(today, filters)),
            write=False,
            on_success=self._start,
        )

    def call_selected(self) -> None:
        if not self.can_call or self._dialog_open():
            return
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return
        row: QueueRow = self.model.row(rows[0].row())
        if row.status != "open":
            return
        self.ctx.ops.run(lambda _p: self.service.sheet(row.id), write=False, on_success=self._start)

    def _sheet_of(self, row: QueueRow | None) -> CallSheet | None:
        return self.service.sheet(row.id) if row is not None else None

    def _dialog_open(self) -> bool:
        return any(d is not None and d.isVisible() for d in (self.call_dialog, self.form_dialog))

    def _start(self, sheet: CallSheet | None) -> None:
        if sheet is None:
            QMessageBox.information(self, _("Callbacks"), _("No call is due now."))
            return
        dlg = CallDialog(self.ctx, self.service, sheet, self)
        dlg.sig_recorded.connect(self._recorded)
        self.call_dialog = dlg
        dlg.open()

    def _recorded(self, result: CallResult, sheet: CallSheet) -> None:
        self.reload()
        if not result.problem:
            return
        departments = [self.cb_department.itemData(i) for i in range(1, self.cb_department.count())]
        self.ctx.ops.run(
            lambda _p: self.service.default_deadline(),
            write=False,
            on_success=lambda deadline: self._open_form(result, sheet, departments, deadline),
        )

    def _open_form(
        self, result: CallResult, sheet: CallSheet, departments: list[str], deadline: date
    ) -> None:
        dlg = FormDialog(
            self.ctx,
            self.service,
            result.callback_id,
            customer=sheet.row.name,
            departments=departments or [result.department],
            department=result.department,
            responsible="",
            deadline=deadline,
            problem=result.problem_text,
            parent=self,
        )
        dlg.sig_saved.connect(lambda _f: self.reload())
        self.form_dialog = dlg
        dlg.open()


class FormsPage(QWidget):
    STATES = (
        ("open", N_("Being handled")),
        ("overdue", N_("Past the deadline")),
        ("closed", N_("Resolved")),
    )

    def __init__(self, ctx: AppContext, service: CallbackService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        self.model = LazyTableModel(
            [
                Column("number", N_("Form")),
                Column("opened_on", N_("Opened on"), _iso),
                Column("customer_name", N_("Customer")),
                Column("plate", N_("Plate")),
                Column("department", N_("Department")),
                Column("responsible", N_("Responsible")),
                Column("deadline", N_("Deadline"), _iso),
                Column(
                    "overdue_days",
                    N_("Days overdue"),
                    lambda v: str(v) if v else "",
                    align_right=True,
                ),
                Column("problem", N_("Problem")),
                Column("resolution", N_("Resolution")),
            ],
            self._fetch,
        )
        self.view = _table(self.model)
        self.cb_state = QComboBox()
        for key, label in self.STATES:
            self.cb_state.addItem(_(label), key)
        self.cb_state.currentIndexChanged.connect(lambda _i: self.refresh())
        self.btn_close = QPushButton(_("Close form…"))
        self.btn_close.clicked.connect(self.on_close)
        self.btn_close.setVisible(ctx.actor.can(Permission.WORK_CALLBACKS))
        bar = QHBoxLayout()
        bar.addWidget(self.cb_state)
        bar.addStretch(1)
        bar.addWidget(self.btn_close)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.view.horizontalHeader().setSectionResizeMode(8, QHeaderView.ResizeMode.Stretch)
        self.view.setColumnWidth(0, number_width(self.view))

    def _fetch(self, cursor: Any, limit: int):
        return self.service.forms(cursor, limit, state=self.cb_state.currentData() or "open")

    def refresh(self) -> None:
        self.model.reload(self._fetch)

    def on_close(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return
        form: FormRow = self.model.row(rows[0].row())
        if form.status != "open":
            return
        dlg = CloseFormDialog(form, self)
        if dlg.exec() != CloseFormDialog.DialogCode.Accepted:
            return
        resolution, confirmed = dlg.ed_resolution.toPlainText(), dlg.ed_confirmed.text()
        self.ctx.ops.run(
            lambda _p: self.service.close_form(form.id, resolution, confirmed),
            parent=self,
            changes={AREA},
            on_success=self._closed,
        )

    def _closed(self, second: QueueRow | None) -> None:
        self.refresh()
        if second is not None:
            QMessageBox.information(
                self,
                _("Form closed"),
                _("The second callback is due on {date}.").format(date=second.due_on.isoformat()),
            )


class QuestionnairesPage(QWidget):
    def __init__(self, ctx: AppContext, service: CallbackService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        self.cb_script = QComboBox()
        for key, label in SCRIPT_LABELS.items():
            self.cb_script.addItem(_(label), key)
        self.cb_script.currentIndexChanged.connect(lambda _i: self.refresh())
        self.ed_title = QLineEdit()
        self.lbl_version = QLabel()
        can = ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS)
        self.editor = QuestionnaireEditor(editable=can)
        btn_add = QPushButton(_("Add question"))
        btn_add.clicked.connect(lambda: self.editor.add())
        btn_remove = QPushButton(_("Remove question"))
        btn_remove.clicked.connect(self.editor.remove_selected)
        self.btn_save = QPushButton(_("Save as a new version"))
        self.btn_save.clicked.connect(self.on_save)
        for w in (btn_add, btn_remove, self.btn_save, self.ed_title):
            w.setEnabled(can)
        self.editor.table.setEnabled(True)
        if not can:
            self.editor.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        bar = QHBoxLayout()
        bar.addWidget(self.cb_script)
        bar.addWidget(QLabel(_("Title")))
        bar.addWidget(self.ed_title, 1)
        bar.addWidget(self.lbl_version)
        bottom = QHBoxLayout()
        bottom.addWidget(btn_add)
        bottom.addWidget(btn_remove)
        bottom.addStretch(1)
        bottom.addWidget(QLabel(_("Answers already given keep the version they were given to.")))
        bottom.addWidget(self.btn_save)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.editor)
        layout.addLayout(bottom)

    def refresh(self) -> None:
        script = self.cb_script.currentData()
        self.ctx.ops.run(
            lambda _p: self.service.questionnaire(script),
            write=False,
            on_success=self.show_questionnaire,
        )

    def show_questionnaire(self, qn: QuestionnaireRow) -> None:
        self.ed_title.setText(qn.title)
        stored = _("version {n}").format(n=qn.version) if qn.id else _("default (not yet saved)")
        self.lbl_version.setText(stored)
        self.editor.set_questions(qn.questions)

    def on_save(self) -> None:
        script, title, questions = (
            self.cb_script.currentData(),
            self.ed_title.text(),
            self.editor.questions(),
        )
        self.ctx.ops.run(
            lambda _p: self.service.save_questionnaire(script, title, questions),
            parent=self,
            changes={AREA},
            on_success=self.show_questionnaire,
        )


class RulesPage(QWidget):
    """Which rules fill the queue and with what days (the branch's settings)."""

    def __init__(self, ctx: AppContext, service: CallbackService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        can = ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS)
        self.checks: dict[str, QCheckBox] = {}
        rules = QGroupBox(_("Rules that fill the queue"))
        rl = QVBoxLayout(rules)
        for name, rule in RULES.items():
            chk = QCheckBox(rule.label)
            chk.setEnabled(can)
            self.checks[name] = chk
            rl.addWidget(chk)
        rl.addStretch(1)
        visits = QGroupBox(_("Callback after a visit: working days after it"))
        vl = QFormLayout(visits)
        self.visit_days: dict[str, QSpinBox] = {}
        for kind in VISIT_KINDS:
            sp = QSpinBox()
            sp.setRange(-1, 30)
            sp.setSpecialValueText(_("No callback"))
            sp.setEnabled(can)
            self.visit_days[kind] = sp
            vl.addRow(kind_label(kind), sp)
        other = QGroupBox(_("Calls and forms"))
        ol = QFormLayout(other)
        self.spins: dict[str, QSpinBox] = {}
        for key, label, lo, hi in (
            ("second_days", N_("Second callback: working days after a form is closed"), 0, 30),
            ("maintenance_lead_days", N_("Maintenance reminder: days before it is due"), 0, 60),
            ("max_attempts", N_("Tries before a customer counts as unreachable"), 1, 10),
            ("low_score", N_("A score at or below this opens a quick-handling form"), 1, 4),
            ("form_days", N_("Working days a quick-handling form has"), 0, 30),
        ):
            sp = QSpinBox()
            sp.setRange(lo, hi)
            sp.setEnabled(can)
            self.spins[key] = sp
            ol.addRow(_(label), sp)
        self.btn_save = QPushButton(_("Save settings"))
        self.btn_save.setEnabled(can)
        self.btn_save.clicked.connect(self.on_save)
        row = QHBoxLayout()
        row.addWidget(rules)
        row.addWidget(visits)
        row.addWidget(other, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.btn_save)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addStretch(1)
        layout.addLayout(bottom)

    def refresh(self) -> None:
        self.ctx.ops.run(
            lambda _p: rule_settings(self.ctx.db, self.ctx.actor),
            write=False,
            on_success=self.show_settings,
        )

    def show_settings(self, conf: RuleSettings) -> None:
        for name, chk in self.checks.items():
            chk.setChecked(name in conf.enabled)
        for kind, sp in self.visit_days.items():
            sp.setValue(conf.visit_days.get(kind, -1))
        for key, sp in self.spins.items():
            sp.setValue(int(getattr(conf, key)))

    def values(self) -> RuleSettings:
        return RuleSettings(
            tuple(n for n, c in self.checks.items() if c.isChecked()),
            {k: sp.value() for k, sp in self.visit_days.items() if sp.value() >= 0},
            *(
                self.spins[k].value()
                for k in (
                    "second_days",
                    "maintenance_lead_days",
                    "max_attempts",
                    "low_score",
                    "form_days",
                )
            ),
        )

    def on_save(self) -> None:
        conf = self.values()
        self.ctx.ops.run(
            lambda _p: update_rule_settings(self.ctx.db, self.ctx.actor, conf),
            parent=self,
            changes={AREA},
            on_success=lambda _r: self.refresh(),
        )


class CallbacksTab(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = CallbackService(ctx.db, ctx.actor)
        self.pages = QTabWidget()
        self.queue = QueuePage(ctx, self.service)
        self.forms = FormsPage(ctx, self.service)
        self.questionnaires = QuestionnairesPage(ctx, self.service)
        self.pages.addTab(self.queue, _("Queue"))
        self.pages.addTab(self.forms, _("Quick-handling forms"))
        self.rules = RulesPage(ctx, self.service)
        self.pages.addTab(self.questionnaires, _("Questionnaires"))
        self.pages.addTab(self.rules, _("Rules"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.pages)
        self._dirty: set[QWidget] = {self.forms, self.questionnaires, self.rules}
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        self.pages.currentChanged.connect(self.on_page_shown)
        self.queue.refresh()

    def on_changes(self, areas: frozenset[str]) -> None:
        if AREA in areas or "archive" in areas:
            self._dirty = {self.forms, self.questionnaires, self.rules} - {
                self.pages.currentWidget()
            }
            page = self.pages.currentWidget()
            if page is not self.queue:
                page.refresh()  # type: ignore[attr-defined]

    def on_page_shown(self, *_args: Any) -> None:
        page = self.pages.currentWidget()
        if page in self._dirty:
            self._dirty.discard(page)
            page.refresh()  # type: ignore[attr-defined]
        elif page is self.queue:
            self.queue.reload()
