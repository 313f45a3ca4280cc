"""The "Service clocks" page (服务时效) of the schedule tab: open work orders, oldest first, read a
page at a time, with the step due next, the time left or overdue (red), pauses and escalations;
actions mark the customer contacted, on site / first feedback, progress followed up, pause and
resume with a reason, and give the reason an order stays open over three days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.domain.sla import PauseReason, Stage, StageState
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.pages import Page
from aftersales_desk.services.service_clocks import (
    MAX_CLOCK_NOTE,
    ClockDetail,
    ClockRow,
    ClockSummary,
    ServiceClockService,
)
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.doc_numbers import number_width
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.widgets import ok_cancel

AREA = "schedule"
CHANGES = {"schedule", "archive"}  # a pause for parts moves the work order to 待件
PAGE_SIZE = 60  # a screenful and more; the rest loads as the list scrolls
_RED, _RED_TEXT = QColor("#f8d7da"), QColor("#b00020")
_PAUSED, _ESCALATE = QColor("#e2e3e5"), QColor("#fff3cd")


# What is to be done next, as the front desk says it (the domain's labels name a step done).
NEXT_STEP_LABELS = {
    Stage.DISPATCH: N_("Dispatch a technician"),
    Stage.CONTACT: N_("Contact the customer"),
    Stage.ON_SITE: N_("On site / first feedback"),
    Stage.FOLLOW_UP: N_("Follow up the progress"),
    Stage.CLOSE: N_("Close the order"),
}


def step_text(stage: Stage | None) -> str:
    return _(NEXT_STEP_LABELS[stage]) if stage else "—"


def duration_text(value: timedelta) -> str:
    """A span as people say it: 2 d 3 h, 5 h 20 min, 12 min."""
    minutes = int(abs(value).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("{d} d {h} h").format(d=days, h=hours)
    if hours:
        return _("{h} h {m} min").format(h=hours, m=mins)
    return _("{m} min").format(m=mins)


def left_text(remaining: timedelta | None) -> str:
    if remaining is None:
        return "—"
    if remaining < timedelta():
        return _("overdue {span}").format(span=duration_text(remaining))
    return duration_text(remaining)


class ClockModel(LazyTableModel):
    """Open orders tinted: overdue red, paused grey, escalated without a reason yellow."""

    def __init__(self, fetch, tz: ZoneInfo) -> None:
        self.tz = tz
        super().__init__(
            [
                Column("number", N_("Work order")),
                Column("customer_name", N_("Customer")),
                Column("plate", N_("Plate")),
                Column("assignee", N_("Technician / provider")),
                Column("stage", N_("Next step"), step_text),
                Column("deadline", N_("Deadline"), self._local),
                Column("remaining", N_("Time left"), left_text),
                Column("pause_reason", N_("Paused"), lambda r: r.label if r else ""),
                Column("open_for", N_("Open for"), duration_text),
                Column("escalation_reason", N_("Escalation")),
            ],
            fetch,
            page_size=PAGE_SIZE,
        )

    def _local(self, value: datetime | None) -> str:
        return value.astimezone(self.tz).strftime("%m-%d %H:%M") if value else "—"

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self.loaded_rows:
            return None
        row: ClockRow = self.row(index.row())
        key = self.columns[index.column()].key
        if role == Qt.ItemDataRole.DisplayRole and key == "escalation_reason" and row.needs_reason:
            return _("Reason needed (open over {days} d)").format(
                days=int(row.open_for.total_seconds() // 86400)
            )
        if role == Qt.ItemDataRole.BackgroundRole:
            if row.overdue:
                return QBrush(_RED)
            if row.paused:
                return QBrush(_PAUSED)
            if row.needs_reason:
                return QBrush(_ESCALATE)
        if role == Qt.ItemDataRole.ForegroundRole and row.overdue and key in ("remaining", "stage"):
            return QBrush(_RED_TEXT)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(t for t in (row.fault, row.status_text, row.escalation_reason) if t)
        return super().data(index, role)


class ClockNoteDialog(QDialog):
    """A note for a step, or a reason (pause: chosen from a list; escalation: written)."""

    def __init__(
        self,
        title: str,
        order: str,
        *,
        reasons: bool = False,
        required: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(460, 220)
        self.required = required
        self.cb_reason = QComboBox()
        for reason in PauseReason:
            self.cb_reason.addItem(reason.label, reason)
        self.ed_note = QPlainTextEdit()
        self.ed_note.setPlaceholderText(
            _("Why the order stays open, what is done about it")
            if required
            else _("e.g. called the customer, visit booked for tomorrow 9:00")
        )
        self.lbl_error = QLabel()
        self.lbl_error.setStyleSheet("color:#b00020")
        form = QFormLayout()
        form.addRow(_("Work order"), QLabel(order))
        if reasons:
            form.addRow(_("Reason"), self.cb_reason)
        form.addRow(_("Reason") if required else _("Note"), self.ed_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.lbl_error)
        layout.addWidget(ok_cancel(self))

    @property
    def note(self) -> str:
        return self.ed_note.toPlainText().strip()

    @property
    def reason(self) -> PauseReason:
        return self.cb_reason.currentData()

    def accept(self) -> None:
        if self.required and not self.note:
            self.lbl_error.setText(_("An escalation needs a reason."))
            return
        if len(self.note) > MAX_CLOCK_NOTE:
            self.lbl_error.setText(_("A note is at most {n} characters.").format(n=MAX_CLOCK_NOTE))
            return
        super().accept()


class ClocksPage(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = ServiceClockService(ctx.db, ctx.actor)
        self.tz = ZoneInfo("Asia/Shanghai")
        self.escalated_only = False
        self._pending: Any = None  # the order to select after the next reload
        self._started = False  # no reading before the first refresh (the page may never show)
        self.model = ClockModel(self._fetch, self.tz)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        hh = self.view.horizontalHeader()
        hh.setStretchLastSection(True)
        for col, width in ((0, 95), (1, 80), (2, 95), (3, 140), (4, 160), (5, 90), (6, 150),
                           (7, 120), (8, 90)):  # fmt: skip
            self.view.setColumnWidth(col, width)
        self.view.setColumnWidth(0, max(95, number_width(self.view)))
        hh.setSectionResizeMode(9, QHeaderView.ResizeMode.Stretch)
        self.view.selectionModel().selectionChanged.connect(self._selected_changed)
        self.cb_filter = QComboBox()
        self.cb_filter.addItem(_("All open orders"))  # index 0
        self.cb_filter.addItem(_("Escalated (open over the limit)"))  # index 1
        self.cb_filter.currentIndexChanged.connect(self.on_filter)
        self.lbl_summary = QLabel()
        can = ctx.actor.can(Permission.EDIT_SCHEDULE)
        self.btn_contact = QPushButton(_("Customer contacted…"))
        self.btn_on_site = QPushButton(_("On site / feedback…"))
        self.btn_follow = QPushButton(_("Followed up…"))
        self.btn_pause = QPushButton(_("Pause…"))
        self.btn_resume = QPushButton(_("Resume…"))
        self.btn_escalate = QPushButton(_("Escalation reason…"))
        self.btn_contact.clicked.connect(lambda: self.on_mark(Stage.CONTACT))
        self.btn_on_site.clicked.connect(lambda: self.on_mark(Stage.ON_SITE))
        self.btn_follow.clicked.connect(lambda: self.on_mark(Stage.FOLLOW_UP))
        self.btn_pause.clicked.connect(self.on_pause)
        self.btn_resume.clicked.connect(self.on_resume)
        self.btn_escalate.clicked.connect(self.on_escalate)
        self.actions = (self.btn_contact, self.btn_on_site, self.btn_follow, self.btn_pause,
                        self.btn_resume, self.btn_escalate)  # fmt: skip
        for b in self.actions:
            b.setVisible(can)
            b.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.cb_filter)
        bar.addSpacing(12)
        bar.addWidget(self.lbl_summary, 1)
        actions = QHBoxLayout()
        for b in self.actions:
            actions.addWidget(b)
        actions.addStretch(1)
        self.lbl_detail = QLabel()
        self.lbl_detail.setWordWrap(True)
        self.lbl_detail.setTextFormat(Qt.TextFormat.RichText)
        self.lbl_detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.lbl_detail.setMinimumHeight(90)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(actions)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.lbl_detail)
        self.summary_timer = QTimer(self)
        self.summary_timer.setSingleShot(True)
        self.summary_timer.setInterval(150)
        self.summary_timer.timeout.connect(self._count)
        # deadlines pass while the page is open: re-read it every minute while it is shown
        self.timer = QTimer(self)
        self.timer.setInterval(60_000)
        self.timer.timeout.connect(self.on_tick)
        self.timer.start()

    # --- loading ----------------------------------------------------------------------------
    def _fetch(self, cursor: Any, limit: int):
        if not self._started:  # the view asks as soon as it shows; the first refresh reads
            return Page([], None)
        return self.service.page(cursor, limit, escalated_only=self.escalated_only)

    def on_tick(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """The list's first page now; the counts over every open order off the UI thread."""
        self._started = True
        cur = self.current()
        keep = self._pending or (cur.id if cur else None)
        self._pending = None
        self.model.reload()
        if keep is None or not self.select_order(keep):
            self._selected_changed()
        # the counts need every open order's clock: off the UI thread, once the rows are painted
        self.summary_timer.start()

    def _count(self) -> None:
        self.ctx.ops.run(
            lambda _p: (self.service.rules().tz, self.service.summary()),
            write=False,
            on_success=self.show_summary,
        )

    def show_summary(self, result: tuple[ZoneInfo, ClockSummary]) -> None:
        tz, summary = result
        if tz.key != self.tz.key:
            self.tz = self.model.tz = tz
            self.view.viewport().update()
        text = _("Open: {open}   Overdue: {overdue}   Escalated: {escalated}").format(
            open=summary.open, overdue=summary.overdue, escalated=summary.escalated
        )
        if summary.without_reason:
            text += "   " + _("Without a reason: {n}").format(n=summary.without_reason)
        colour = "#b00020" if summary.overdue or summary.without_reason else "#333"
        self.lbl_summary.setText(f"<span style='color:{colour}'>{text}</span>")

    def on_filter(self, _index: int) -> None:
        # by index: a Python bool as item data trips a refcount bug in PySide6 6.12
        self.escalated_only = self.cb_filter.currentIndex() == 1
        self.refresh()

    # --- selection --------------------------------------------------------------------------
    def current(self) -> ClockRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def select_order(self, work_order_id) -> bool:
        r = self.model.row_for_id(work_order_id)
        if r is None:
            return False
        self.view.selectRow(r)
        return True

    def _selected_changed(self, *_args: Any) -> None:
        row = self.current()
        open_ok = row is not None and not row.paused
        self.btn_contact.setEnabled(open_ok and row.stage is Stage.CONTACT)
        self.btn_on_site.setEnabled(open_ok and row.stage is Stage.ON_SITE)
        self.btn_follow.setEnabled(open_ok and row.stage is Stage.FOLLOW_UP)
        self.btn_pause.setEnabled(open_ok and row.status == "dispatched")
        self.btn_resume.setEnabled(row is not None and row.paused)
        self.btn_escalate.setEnabled(row is not None)
        if row is None:
            self.lbl_detail.setText("")
            return
        self.ctx.ops.run(
            lambda _p: self.service.detail(row.id),
            write=False,
            on_success=self.show_detail,
            on_error=lambda _e: True,  # the order was closed meanwhile: the list reloads anyway
        )

    def show_detail(self, detail: ClockDetail) -> None:
        if (cur := self.current()) is None or cur.id != detail.row.id:
            return
        fmt = self.model._local
        steps = []
        for s in detail.stages:
            if s.reached_at is not None:
                mark = "✔" if s.state is StageState.MET else "⚠"
                steps.append(f"{mark} {s.stage.label} {fmt(s.reached_at)}")
            elif s.state is StageState.OVERDUE:
                steps.append(
                    f"<b style='color:#b00020'>✘ {step_text(s.stage)} {fmt(s.deadline)}</b>"
                )
            else:
                steps.append(f"○ {step_text(s.stage)} {fmt(s.deadline)}")
        lines = [f"<b>{detail.row.number}</b> {detail.row.fault}", " · ".join(steps)]
        for e in detail.events[-5:]:
            reason = PauseReason(e.reason).label if e.reason else ""
            extra = " — ".join(t for t in (reason, e.note) if t)
            lines.append(f"{fmt(e.at)}  {e.label}  {e.by}" + (f": {extra}" if extra else ""))
        self.lbl_detail.setText("<br>".join(lines))

    # --- actions ----------------------------------------------------------------------------
    def _run(self, fn, label: str) -> None:
        self.ctx.ops.run(fn, parent=self, label=label, changes=CHANGES, on_success=self._done)

    def _done(self, row: ClockRow) -> None:
        self._pending = row.id  # stays selected through the reloads that follow
        self.refresh()

    def mark(self, row: ClockRow, stage: Stage, note: str = "") -> None:
        self._run(lambda _p: self.service.mark(row.id, stage, note), _("Saving…"))

    def pause(self, row: ClockRow, reason: PauseReason, note: str = "") -> None:
        self._run(lambda _p: self.service.pause(row.id, reason, note), _("Saving…"))

    def resume(self, row: ClockRow, note: str = "") -> None:
        self._run(lambda _p: self.service.resume(row.id, note), _("Saving…"))

    def escalate(self, row: ClockRow, reason: str) -> None:
        self._run(lambda _p: self.service.escalate(row.id, reason), _("Saving…"))

    def on_mark(self, stage: Stage) -> None:
        row = self.current()
        if row is None:
            return
        dlg = ClockNoteDialog(stage.label, f"{row.number} {row.customer_name}", parent=self)
        if dlg.exec():
            self.mark(row, stage, dlg.note)

    def on_pause(self) -> None:
        row = self.current()
        if row is None:
            return
        dlg = ClockNoteDialog(
            _("Pause the clock"), f"{row.number} {row.customer_name}", reasons=True, parent=self
        )
        if dlg.exec():
            self.pause(row, dlg.reason, dlg.note)

    def on_resume(self) -> None:
        row = self.current()
        if row is None:
            return
        dlg = ClockNoteDialog(
            _("Resume the clock"), f"{row.number} {row.customer_name}", parent=self
        )
        if dlg.exec():
            self.resume(row, dlg.note)

    def on_escalate(self) -> None:
        row = self.current()
        if row is None:
            return
        dlg = ClockNoteDialog(
            _("Escalation reason"), f"{row.number} {row.customer_name}", required=True, parent=self
        )
        if dlg.exec():
            self.escalate(row, dlg.note)
