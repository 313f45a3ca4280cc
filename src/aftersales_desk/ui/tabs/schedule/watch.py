"""Overdue duties and overdue work-order service clocks in the status bar and, where the desktop
has a tray, as a notification when their number grows; the manager also sees the orders open over
the escalation limit (and how many still lack a reason). Checked every minute and after every
change to the schedule or the work orders, off the UI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon, QWidget

from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import UserError
from aftersales_desk.i18n import _
from aftersales_desk.services.schedule import AgendaItem, ScheduleService
from aftersales_desk.services.service_clocks import ClockSummary, ServiceClockService
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.status import Level
from aftersales_desk.ui.tabs.schedule.clocks import step_text

STATUS_KEY = "schedule_overdue"
CLOCKS_KEY = "schedule_clocks"
INTERVAL_MS = 60_000


class OverdueWatcher(QObject):
    sig_overdue = Signal(int)  # the number of overdue duties after each check
    sig_clocks = Signal(int)  # the number of overdue service clocks after each check

    def __init__(self, ctx: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.service = ScheduleService(ctx.db, ctx.actor)
        self.clocks = ServiceClockService(ctx.db, ctx.actor)
        self.count = 0
        self.clock_count = 0
        self.manager = ctx.actor.can(Permission.APPROVE)
        self._busy = False
        self.tray: QSystemTrayIcon | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        QTimer.singleShot(0, self, self.refresh)  # dropped if the window goes first

    def on_changes(self, areas: frozenset[str]) -> None:
        if "schedule" in areas or "archive" in areas:
            self.refresh()

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.ctx.ops.run(
            lambda _progress: (self.service.overdue(), self._clock_summary()),
            write=False,
            on_success=self.show,
            on_error=self._failed,
        )

    def _clock_summary(self) -> ClockSummary | None:
        try:
            return self.clocks.summary()
        except UserError:  # e.g. the branch's clock settings are broken: the clocks page says so
            return None

    def _failed(self, _exc: BaseException) -> bool:
        self._busy = False
        return True  # a watcher never interrupts the user with a dialog; the next tick retries

    def show(self, result: tuple[list[AgendaItem], ClockSummary | None]) -> None:
        self._busy = False
        items, summary = result
        self.show_clocks(summary)
        n = len(items)
        if n:
            text = _("⚠ Overdue duties: {n}").format(n=n)
            tip = "\n".join(f"{i.due_at:%m-%d %H:%M}  {i.title}" for i in items[:15]) + (
                "\n…" if n > 15 else ""
            )
            self.ctx.status.post(
                STATUS_KEY,
                text,
                tip,
                short=_("⚠ Duties: {n}").format(n=n),
                tab="schedule",
                level=Level.ALERT,
            )
        else:
            self.ctx.status.clear(STATUS_KEY)
        if n > self.count:
            self._notify(items)
        self.count = n
        self.sig_overdue.emit(n)

    def show_clocks(self, summary: ClockSummary | None) -> None:
        n = summary.overdue if summary else 0
        parts, shorts, tips = [], [], []
        if n:
            parts.append(_("⚠ Service clocks overdue: {n}").format(n=n))
            shorts.append(_("⚠ Clocks: {n}").format(n=n))
            tips += [
                _("{number} {customer}: {step} overdue").format(
                    number=r.number,
                    customer=r.customer_name,
                    step=step_text(r.stage),
                )
                for r in summary.overdue_rows
            ]
        if summary and self.manager and summary.escalated:
            parts.append(
                _("Open over the limit: {n} ({missing} without a reason)").format(
                    n=summary.escalated, missing=summary.without_reason
                )
            )
            shorts.append(_("Over limit: {n}").format(n=summary.escalated))
            tips += [
                f"{r.number} {r.customer_name}: {r.escalation_reason or _('no reason yet')}"
                for r in summary.escalated_rows
            ]
        if parts:
            self.ctx.status.post(
                CLOCKS_KEY,
                "  ".join(parts),
                "\n".join(tips),
                short=" · ".join(shorts),
                tab="schedule",
                level=Level.ALERT,
            )
        else:
            self.ctx.status.clear(CLOCKS_KEY)
        if n > self.clock_count and summary is not None:
            self.show_tray_message(
                _("Service clocks overdue"),
                _("Work orders overdue: {n}, e.g. {number}").format(
                    n=n, number=summary.overdue_rows[0].number
                ),
            )
        self.clock_count = n
        self.sig_clocks.emit(n)

    def _notify(self, items: list[AgendaItem]) -> None:
        self.show_tray_message(
            _("Duties overdue"),
            _("Overdue duties: {n}, e.g. {title}").format(n=len(items), title=items[-1].title),
        )

    def show_tray_message(self, title: str, text: str) -> None:
        """A desktop notification from the tray icon, where the desktop has a tray."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        if self.tray is None:
            icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            self.tray = QSystemTrayIcon(icon, self)
            self.tray.setToolTip(_("After-sales desk"))
            self.tray.show()
        self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 10_000)
