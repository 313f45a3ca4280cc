"""The schedule tab: today's agenda (check off with a note and an attachment; who did it), the
work orders' service clocks (``clocks.py``), the branch's duties (edit, add, events, install the
default set), and its working calendar and settings (``calendar.py``: days the branch adds when
the holiday package is out of date)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QLocale, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _, current_language
from aftersales_desk.services.pages import Page
from aftersales_desk.services.schedule import (
    Agenda,
    AgendaItem,
    AgendaState,
    DutyRow,
    ScheduleService,
)
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.schedule.clocks import ClocksPage
from aftersales_desk.ui.tabs.schedule.dialogs import (
    CheckOffDialog,
    DutyDialog,
    EventDialog,
    from_qdate,
    to_qdate,
)

AREA = "schedule"
_STATE_COLOURS = {
    AgendaState.OVERDUE: QColor("#f8d7da"),
    AgendaState.DONE: QColor("#d4edda"),
    AgendaState.LATE: QColor("#fff3cd"),
}


def _page_of(rows: list[Any]):
    def fetch(cursor: int | None, limit: int) -> Page[Any]:
        start = cursor or 0
        nxt = start + limit
        return Page(rows[start:nxt], nxt if nxt < len(rows) else None)

    return fetch


def _hm(value: datetime | None) -> str:
    """A time the service gave in the branch's zone, shown as it is (not in the PC's zone)."""
    return value.strftime("%m-%d %H:%M") if value else ""


class _TitledModel(LazyTableModel):
    """Rows with a ``title`` (and maybe a ``note``): the full text as a tooltip."""

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid():
            row = self.row(index.row())
            return "\n".join(t for t in (row.title, getattr(row, "note", "")) if t)
        return super().data(index, role)


class AgendaModel(_TitledModel):
    """The agenda's rows, tinted by state."""

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            return _STATE_COLOURS.get(self.row(index.row()).state)
        return super().data(index, role)


def _table(model: LazyTableModel, *, multi: bool = False) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(
        QAbstractItemView.SelectionMode.ExtendedSelection
        if multi
        else QAbstractItemView.SelectionMode.SingleSelection
    )
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.setAlternatingRowColors(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class AgendaPage(QWidget):
    def __init__(self, ctx: AppContext, service: ScheduleService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        self.day: date | None = None  # None: today (follows the clock)
        self.agenda: Agenda | None = None
        can_edit = ctx.actor.can(Permission.EDIT_SCHEDULE)
        self.model = AgendaModel(
            [
                Column("due_at", N_("Due"), lambda v: v.strftime("%m-%d %H:%M")),
                Column("state", N_("State"), lambda v: v.label),
                Column("code", N_("Code")),
                Column("title", N_("Duty")),
                Column("done_by", N_("Done by")),
                Column("done_at", N_("Done at"), _hm),
                Column("note", N_("Note")),
                Column("attachment_name", N_("Attachment")),
            ],
            _page_of([]),
        )
        self.view = _table(self.model, multi=True)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        hh.setStretchLastSection(False)
        for col, width in ((0, 100), (1, 80), (2, 110), (4, 80), (5, 100), (6, 200), (7, 120)):
            self.view.setColumnWidth(col, width)
        self.view.doubleClicked.connect(lambda _i: self.on_check_off())
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.ed_day = QDateEdit()
        self.ed_day.setCalendarPopup(True)
        self.ed_day.setDisplayFormat("yyyy-MM-dd ddd")
        if current_language() == "zh_CN":  # the weekday in the program's language, not the system's
            self.ed_day.setLocale(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
        self.ed_day.dateChanged.connect(self.on_day_changed)
        prev_btn, next_btn = QPushButton("◀"), QPushButton("▶")
        prev_btn.setToolTip(_("Day before"))
        next_btn.setToolTip(_("Day after"))
        for b in (prev_btn, next_btn):
            b.setFixedWidth(36)
        prev_btn.clicked.connect(lambda: self.ed_day.setDate(self.ed_day.date().addDays(-1)))
        next_btn.clicked.connect(lambda: self.ed_day.setDate(self.ed_day.date().addDays(1)))
        today_btn = QPushButton(_("Today"))
        today_btn.clicked.connect(self.on_today)
        self.lbl_summary = QLabel()
        self.btn_check = QPushButton(_("Check off…"))
        self.btn_check.clicked.connect(self.on_check_off)
        self.btn_check.setEnabled(False)
        self.btn_check.setVisible(can_edit)
        self.btn_undo = QPushButton(_("Undo check-off"))
        self.btn_undo.clicked.connect(self.on_undo)
        self.btn_undo.setEnabled(False)
        self.btn_undo.setVisible(can_edit)
        self.btn_file = QPushButton(_("Save attachment…"))
        self.btn_file.clicked.connect(self.on_save_attachment)
        self.btn_file.setEnabled(False)
        bar = QHBoxLayout()
        for w in (prev_btn, self.ed_day, next_btn, today_btn):
            bar.addWidget(w)
        bar.addSpacing(16)
        bar.addWidget(self.lbl_summary, 1)
        for w in (self.btn_check, self.btn_undo, self.btn_file):
            bar.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        # deadlines pass while the agenda is open: re-read it every minute while it is shown
        self.timer = QTimer(self)
        self.timer.setInterval(60_000)
        self.timer.timeout.connect(self.on_tick)
        self.timer.start()

    def on_tick(self) -> None:
        if self.isVisible():
            self.refresh()

    # --- loading -------------------------------------------------------------------------------
    def refresh(self) -> None:
        day = self.day
        self.ctx.ops.run(
            lambda _p: self.service.agenda(day), write=False, on_success=self.show_agenda
        )

    def show_agenda(self, agenda: Agenda) -> None:
        self.agenda = agenda
        self.ed_day.blockSignals(True)
        self.ed_day.setDate(to_qdate(agenda.day))
        self.ed_day.blockSignals(False)
        self.model.reload(_page_of(agenda.items))
        counts = {s: 0 for s in AgendaState}
        for item in agenda.items:
            counts[item.state] += 1
        self.lbl_summary.setText(
            _("Due: {due}   Overdue: {overdue}   Done: {done}   Done late: {late}").format(
                due=counts[AgendaState.DUE],
                overdue=counts[AgendaState.OVERDUE],
                done=counts[AgendaState.DONE],
                late=counts[AgendaState.LATE],
            )
        )
        self._update_buttons()

    def on_day_changed(self, q: QDate) -> None:
        self.day = from_qdate(q)
        self.refresh()

    def on_today(self) -> None:
        self.day = None
        self.refresh()

    # --- actions -------------------------------------------------------------------------------
    def selected(self) -> list[AgendaItem]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.model.row(r) for r in rows]

    def _update_buttons(self, *_args: Any) -> None:
        sel = self.selected()
        self.btn_check.setEnabled(any(i.done_at is None for i in sel))
        self.btn_undo.setEnabled(len(sel) == 1 and sel[0].done_at is not None)
        self.btn_file.setEnabled(len(sel) == 1 and bool(sel[0].attachment_sha256))

    def on_check_off(self) -> None:
        todo = [i for i in self.selected() if i.done_at is None]
        if not todo or not self.ctx.actor.can(Permission.EDIT_SCHEDULE):
            return
        dlg = CheckOffDialog([i.title for i in todo], self)
        if dlg.exec():
            self.check_off(todo, dlg.note, Path(dlg.attachment) if dlg.attachment else None)

    def check_off(self, items: list[AgendaItem], note: str, attachment: Path | None) -> None:
        """Check off ``items`` (all or none) by the acting user, then reload."""
        keys = [(i.duty_id, i.nominal_on) for i in items]
        self.ctx.ops.run(
            lambda _p: self.service.check_off_many(keys, note=note, attachment=attachment),
            parent=self,
            label=_("Checking off…"),
            changes={AREA},
            on_success=lambda _n: self.refresh(),
        )

    def on_undo(self) -> None:
        sel = self.selected()
        if len(sel) != 1 or sel[0].done_at is None:
            return
        item = sel[0]
        answer = QMessageBox.question(
            self,
            _("Undo check-off"),
            _("Take back the check-off of “{duty}” by {who}?").format(
                duty=item.title, who=item.done_by
            ),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.ctx.ops.run(
            lambda _p: self.service.undo_check_off(item.duty_id, item.nominal_on),
            parent=self,
            changes={AREA},
            on_success=lambda _r: self.refresh(),
        )

    def on_save_attachment(self) -> None:
        sel = self.selected()
        if len(sel) != 1 or not sel[0].attachment_sha256:
            return
        item = sel[0]
        out, _filter = QFileDialog.getSaveFileName(self, _("Save attachment"), item.attachment_name)
        if out:
            self.ctx.ops.run(
                lambda _p: self.service.save_attachment_as(item.attachment_sha256, Path(out)),
                parent=self,
                write=False,
            )


class DutiesPage(QWidget):
    def __init__(self, ctx: AppContext, service: ScheduleService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        can_edit = ctx.actor.can(Permission.EDIT_SCHEDULE)
        self.model = _TitledModel(
            [
                Column("code", N_("Code")),
                Column("title", N_("Duty")),
                Column("when_text", N_("When")),
                Column("rrule", N_("Recurrence rule")),
                Column("shift", N_("On a day off"), lambda v: v.label),
                Column("next_due", N_("Next due"), _hm),
                Column("active", N_("Active"), lambda v: _("yes") if v else _("no")),
            ],
            _page_of([]),
        )
        self.view = _table(self.model)
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.view.horizontalHeader().setStretchLastSection(False)
        for col, width in ((0, 130), (2, 170), (3, 230), (4, 120), (5, 100), (6, 60)):
            self.view.setColumnWidth(col, width)
        self.view.doubleClicked.connect(lambda _i: self.on_edit())
        buttons = QHBoxLayout()
        for text, slot in (
            (_("New duty…"), self.on_new),
            (_("Edit…"), self.on_edit),
            (_("Add an event…"), self.on_event),
            (_("Add the default duties"), self.on_defaults),
        ):
            b = QPushButton(text)
            b.clicked.connect(slot)
            b.setEnabled(can_edit)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.lbl_events = QLabel()
        self.lbl_events.setWordWrap(True)
        self.view.selectionModel().selectionChanged.connect(self._show_events)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.lbl_events)

    def refresh(self) -> None:
        self.ctx.ops.run(
            lambda _p: self.service.duties(),
            write=False,
            on_success=lambda rows: self.model.reload(_page_of(rows)),
        )

    def current(self) -> DutyRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def _show_events(self, *_args: Any) -> None:
        row = self.current()
        if row is None or row.rrule:
            self.lbl_events.setText("")
            return
        events = "; ".join(f"{d:%Y-%m-%d} {label}" for d, label in row.events[-6:]) or "—"
        self.lbl_events.setText(_("Events: {events}").format(events=events))

    def _save(self, fn, message: str) -> None:
        self.ctx.ops.run(
            fn, parent=self, changes={AREA}, on_success=lambda _r: self._saved(message)
        )

    def _saved(self, message: str) -> None:
        self.refresh()
        window = self.window()
        if hasattr(window, "statusBar"):
            window.statusBar().showMessage(message, 5000)

    def on_new(self) -> None:
        dlg = DutyDialog(None, self)
        if dlg.exec():
            spec = dlg.spec()
            self._save(lambda _p: self.service.create_duty(spec), _("Duty added."))

    def on_edit(self) -> None:
        row = self.current()
        if row is None or not self.ctx.actor.can(Permission.EDIT_SCHEDULE):
            return
        dlg = DutyDialog(row, self)
        if dlg.exec():
            spec = dlg.spec()
            self._save(lambda _p: self.service.update_duty(row.id, spec), _("Duty saved."))

    def on_event(self) -> None:
        row = self.current()
        if row is None:
            return
        if row.rrule:
            QMessageBox.information(
                self,
                _("Add an event"),
                _("Only a duty due after events takes events; this one recurs by its rule."),
            )
            return
        dlg = EventDialog(row.title, self)
        if dlg.exec():
            label, day = dlg.label, dlg.day
            self._save(lambda _p: self.service.add_event(row.id, label, day), _("Event added."))

    def on_defaults(self) -> None:
        self._save(lambda _p: self.service.install_defaults(), _("Default duties added."))


class ScheduleTab(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = ScheduleService(ctx.db, ctx.actor)
        self.pages = QTabWidget()
        self.agenda = AgendaPage(ctx, self.service)
        self.duties = DutiesPage(ctx, self.service)
        from aftersales_desk.ui.tabs.schedule.calendar import CalendarPage  # it imports this module

        self.calendar = CalendarPage(ctx, self.service)
        # the clocks page is built when first shown: the agenda opens without it
        self.clocks_holder = QWidget()
        QVBoxLayout(self.clocks_holder).setContentsMargins(0, 0, 0, 0)
        self._clocks: ClocksPage | None = None
        self.pages.addTab(self.agenda, _("Agenda"))
        self.pages.addTab(self.clocks_holder, _("Service clocks"))
        self.pages.addTab(self.duties, _("Duties"))
        self.pages.addTab(self.calendar, _("Working calendar"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.pages)
        # the agenda loads now; the other pages when first shown (and again after changes)
        self._dirty: set[QWidget] = {self.duties, self.calendar, self.clocks_holder}
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        self.pages.currentChanged.connect(self.on_page_shown)
        self.agenda.refresh()

    @property
    def clocks(self) -> ClocksPage:
        if self._clocks is None:
            self._clocks = ClocksPage(self.ctx)
            self.clocks_holder.layout().addWidget(self._clocks)
        return self._clocks

    def on_changes(self, areas: frozenset[str]) -> None:
        if AREA in areas:
            self._dirty = {self.agenda, self.duties, self.calendar, self.clocks_holder}
        if "archive" in areas:  # work orders opened, dispatched, closed
            self._dirty.add(self.clocks_holder)
        self.on_page_shown()

    def on_page_shown(self, *_args: Any) -> None:
        page = self.pages.currentWidget()
        if page in self._dirty:
            self._dirty.discard(page)
            (self.clocks if page is self.clocks_holder else page).refresh()
