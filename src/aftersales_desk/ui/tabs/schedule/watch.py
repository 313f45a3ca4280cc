"""Overdue duties in the status bar and, where the desktop has a tray, as a notification when
their number grows. Checked every minute and after every change to the schedule, off the UI
thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon, QWidget

from aftersales_desk.i18n import _
from aftersales_desk.services.schedule import AgendaItem, ScheduleService
from aftersales_desk.ui.context import AppContext

STATUS_KEY = "schedule_overdue"
INTERVAL_MS = 60_000


class OverdueWatcher(QObject):
    sig_overdue = Signal(int)  # the number of overdue duties after each check

    def __init__(self, ctx: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.service = ScheduleService(ctx.db, ctx.actor)
        self.count = 0
        self._busy = False
        self.tray: QSystemTrayIcon | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        QTimer.singleShot(0, self, self.refresh)  # dropped if the window goes first

    def on_changes(self, areas: frozenset[str]) -> None:
        if "schedule" in areas:
            self.refresh()

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.ctx.ops.run(
            lambda _progress: self.service.overdue(),
            write=False,
            on_success=self.show,
            on_error=self._failed,
        )

    def _failed(self, _exc: BaseException) -> bool:
        self._busy = False
        return True  # a watcher never interrupts the user with a dialog; the next tick retries

    def show(self, items: list[AgendaItem]) -> None:
        self._busy = False
        n = len(items)
        if n:
            text = _("⚠ Overdue duties: {n}").format(n=n)
            tip = "\n".join(f"{i.due_at:%m-%d %H:%M}  {i.title}" for i in items[:15]) + (
                "\n…" if n > 15 else ""
            )
            self.ctx.status.post(STATUS_KEY, f"<b style='color:#b00020'>{text}</b>", tip)
        else:
            self.ctx.status.post(STATUS_KEY, "")
        if n > self.count:
            self._notify(items)
        self.count = n
        self.sig_overdue.emit(n)

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
