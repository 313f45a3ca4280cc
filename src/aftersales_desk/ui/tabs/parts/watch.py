"""Parts arrived for work orders that wait for them 待件到货: a status-bar message for the clerk,
checked when the window starts, after every change to parts data and every minute, off the UI
thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from aftersales_desk.i18n import _
from aftersales_desk.services.part_waits import PartWaits, WaitRow
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.status import Level

STATUS_KEY = "parts_arrived"
INTERVAL_MS = 60_000
TOOLTIP_ROWS = 15


class ArrivalsWatcher(QObject):
    sig_arrived = Signal(int)  # open waits whose part arrived, after each check

    def __init__(self, ctx: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.service = PartWaits(ctx.db, ctx.actor)
        self.count = 0
        self._busy = False
        self._again = False
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        QTimer.singleShot(0, self, self.refresh)  # dropped if the window goes first

    def on_changes(self, areas: frozenset[str]) -> None:
        if "parts" in areas or "archive" in areas:
            self.refresh()

    def refresh(self) -> None:
        if self._busy:
            self._again = True  # a change came in while checking: check once more after
            return
        self._busy = True
        self.ctx.ops.run(
            lambda _progress: self.service.arrived(TOOLTIP_ROWS),
            write=False,
            on_success=self.show,
            on_error=self._failed,
        )

    def _failed(self, _exc: BaseException) -> bool:
        self._busy = False
        return True  # a watcher never interrupts the user with a dialog; the next tick retries

    def show(self, result: tuple[int, list[WaitRow]]) -> None:
        self._busy = False
        n, rows = result
        if n:
            text = _("Parts arrived for {n} waiting work orders").format(n=n)
            tip = "\n".join(
                _("{number}  {part} {name} ×{qty}  waiting {days} days").format(
                    number=r.work_order_no,
                    part=r.part_no,
                    name=r.part_name,
                    qty=r.qty - r.issued_qty,
                    days=r.days_waiting,
                )
                for r in rows
            ) + ("\n…" if n > len(rows) else "")
            self.ctx.status.post(
                STATUS_KEY,
                text,
                tip,
                short=_("Parts in: {n}").format(n=n),
                tab="parts",
                level=Level.GOOD,
            )
        else:
            self.ctx.status.clear(STATUS_KEY)
        self.count = n
        self.sig_arrived.emit(n)
        if self._again:
            self._again = False
            self.refresh()
