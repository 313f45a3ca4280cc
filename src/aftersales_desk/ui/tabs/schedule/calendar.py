"""The schedule tab's working calendar page: days the branch declares working or off (over the
holiday package), and the branch's schedule settings — holidays, zone, overdue days, opening hours
and the service clock limits."""

from __future__ import annotations

from datetime import time

from PySide6.QtCore import QDate, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.domain.sla import Stage
from aftersales_desk.domain.workcal import KNOWN_YEARS, package_version
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.schedule import (
    ScheduleService,
    ScheduleSettings,
    weekday_label,
)
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.schedule.clocks import step_text
from aftersales_desk.ui.tabs.schedule.dialogs import (
    from_qdate,
)
from aftersales_desk.ui.tabs.schedule.tab import AREA, _page_of, _table


class CalendarPage(QWidget):
    """Days the branch declares working or off; they win over weekends and the holiday package."""

    def __init__(self, ctx: AppContext, service: ScheduleService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        can_edit = ctx.actor.can(Permission.EDIT_SCHEDULE)
        years = f"{min(KNOWN_YEARS)}–{max(KNOWN_YEARS)}" if KNOWN_YEARS else "—"
        info = QLabel(
            _(
                "Public holidays and swapped working days come from chinesecalendar {version}, "
                "which knows the years {years}. Add the days it does not know yet, or any day "
                "your branch works or closes."
            ).format(version=package_version(), years=years)
        )
        info.setWordWrap(True)
        self.model = LazyTableModel(
            [
                Column("day", N_("Day"), lambda d: f"{d.isoformat()} {weekday_label(d)}"),
                Column("working", N_("Kind"), lambda w: _("working day") if w else _("day off")),
                Column("note", N_("Note")),
            ],
            _page_of([]),  # nothing is read until the page is first shown (see refresh)
        )
        self.view = _table(self.model)
        self.view.setColumnWidth(0, 140)
        self.view.setColumnWidth(1, 90)
        self.ed_day = QDateEdit(QDate.currentDate())
        self.ed_day.setCalendarPopup(True)
        self.ed_day.setDisplayFormat("yyyy-MM-dd")
        self.cb_kind = QComboBox()
        self.cb_kind.addItem(_("day off"), False)
        self.cb_kind.addItem(_("working day"), True)
        self.ed_note = QLineEdit()
        self.ed_note.setPlaceholderText(_("e.g. National Day 2027"))
        btn_set = QPushButton(_("Set"))
        btn_set.clicked.connect(self.on_set)
        btn_clear = QPushButton(_("Remove"))
        btn_clear.clicked.connect(self.on_clear)
        for w in (btn_set, btn_clear):
            w.setEnabled(can_edit)
        bar = QHBoxLayout()
        for w in (self.ed_day, self.cb_kind, self.ed_note, btn_set, btn_clear):
            bar.addWidget(w)
        self.settings_box = SettingsBox(ctx, service)
        layout = QVBoxLayout(self)
        layout.addWidget(info)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.settings_box)

    def refresh(self) -> None:
        self.model.reload(self.service.calendar_day_page)
        self.settings_box.refresh()

    def on_set(self) -> None:
        day, working, note = (
            from_qdate(self.ed_day.date()),
            self.cb_kind.currentData(),
            self.ed_note.text(),
        )
        self.ctx.ops.run(
            lambda _p: self.service.set_day(day, working=working, note=note),
            parent=self,
            changes={AREA},
            on_success=lambda _r: self.refresh(),
        )

    def on_clear(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        day = self.model.row(rows[0].row()).day if rows else from_qdate(self.ed_day.date())
        self.ctx.ops.run(
            lambda _p: self.service.clear_day(day),
            parent=self,
            changes={AREA},
            on_success=lambda _r: self.refresh(),
        )


class SettingsBox(QGroupBox):
    """The branch's schedule settings: holidays, how long undone duties stay on the agenda, the
    zone of due times, and whether service clocks count only opening hours."""

    def __init__(self, ctx: AppContext, service: ScheduleService) -> None:
        super().__init__(_("Schedule settings"))
        self.ctx, self.service = ctx, service
        self.chk_holidays = QCheckBox(_("China's public holidays and swapped working days"))
        self.sp_overdue = QSpinBox()
        self.sp_overdue.setRange(1, 366)
        self.sp_overdue.setSuffix(_(" days"))
        self.ed_zone = QLineEdit()
        self.chk_hours = QCheckBox(_("Service clocks count only opening hours on working days"))
        self.ed_start, self.ed_end = QTimeEdit(), QTimeEdit()
        for w in (self.ed_start, self.ed_end):
            w.setDisplayFormat("HH:mm")
        # the service clock chain, in hours (stored as minutes), and the escalation limit
        self.sp_limits = []
        for _stage in range(5):
            sp = QDoubleSpinBox()
            sp.setRange(0.1, 24 * 60)
            sp.setDecimals(1)
            sp.setSingleStep(0.5)
            sp.setSuffix(_(" h"))
            self.sp_limits.append(sp)
        self.sp_escalate = QSpinBox()
        self.sp_escalate.setRange(1, 365)
        self.sp_escalate.setSuffix(_(" days"))
        self.btn_save = QPushButton(_("Save settings"))
        self.btn_save.clicked.connect(self.on_save)
        can = ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS)
        for w in (self.chk_holidays, self.sp_overdue, self.ed_zone, self.chk_hours,
                  self.ed_start, self.ed_end, self.btn_save, self.sp_escalate,
                  *self.sp_limits):  # fmt: skip
            w.setEnabled(can)
        grid = QGridLayout(self)
        grid.addWidget(self.chk_holidays, 0, 0, 1, 2)
        grid.addWidget(QLabel(_("Undone duties stay on the agenda for")), 0, 2)
        grid.addWidget(self.sp_overdue, 0, 3)
        grid.addWidget(QLabel(_("Time zone of due times")), 0, 4)
        grid.addWidget(self.ed_zone, 0, 5)
        grid.addWidget(self.chk_hours, 1, 0, 1, 2)
        grid.addWidget(QLabel(_("Opening hours")), 1, 2)
        hours = QHBoxLayout()
        hours.addWidget(self.ed_start)
        hours.addWidget(QLabel("–"))
        hours.addWidget(self.ed_end)
        grid.addLayout(hours, 1, 3)
        grid.addWidget(self.btn_save, 1, 5)
        limits = QGridLayout()  # step names above their limits: narrow in every language
        for col, (stage, sp) in enumerate(zip(Stage, self.sp_limits, strict=True)):
            limits.addWidget(QLabel(step_text(stage)), 0, col)
            limits.addWidget(sp, 1, col)
        limits.addWidget(QLabel(_("Escalate orders open over")), 0, 5)
        limits.addWidget(self.sp_escalate, 1, 5)
        limits.setColumnStretch(6, 1)
        grid.addWidget(QLabel(_("Service clock limits")), 2, 0)
        grid.addLayout(limits, 2, 1, 1, 5)

    def refresh(self) -> None:
        self.ctx.ops.run(
            lambda _p: self.service.settings(), write=False, on_success=self.show_settings
        )

    def show_settings(self, conf: ScheduleSettings) -> None:
        self.chk_holidays.setChecked(conf.public_holidays)
        self.sp_overdue.setValue(conf.overdue_days)
        self.ed_zone.setText(conf.timezone)
        self.chk_hours.setChecked(conf.sla_working_hours)
        self.ed_start.setTime(QTime(conf.work_start.hour, conf.work_start.minute))
        self.ed_end.setTime(QTime(conf.work_end.hour, conf.work_end.minute))
        for sp, minutes in zip(self.sp_limits, conf.sla_minutes, strict=False):
            sp.setValue(minutes / 60)
        self.sp_escalate.setValue(conf.escalate_days)

    def values(self) -> ScheduleSettings:
        start, end = self.ed_start.time(), self.ed_end.time()
        return ScheduleSettings(
            self.ed_zone.text().strip(),
            self.chk_holidays.isChecked(),
            self.sp_overdue.value(),
            self.chk_hours.isChecked(),
            time(start.hour(), start.minute()),
            time(end.hour(), end.minute()),
            tuple(round(sp.value() * 60) for sp in self.sp_limits),
            self.sp_escalate.value(),
        )

    def on_save(self) -> None:
        conf = self.values()
        self.ctx.ops.run(
            lambda _p: self.service.update_settings(conf),
            parent=self,
            changes={AREA},
            on_success=lambda _r: self.refresh(),
        )
