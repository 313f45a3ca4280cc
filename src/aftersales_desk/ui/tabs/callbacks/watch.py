"""Calls due and quick-handling forms past their deadline, in the status bar: every minute and
after every change to the queue, off the UI thread. Overdue forms escalate to the manager (users
who may approve complaint handling see them in red)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import _
from aftersales_desk.services.callbacks import CallbackService, Counts, FormRow
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.status import Level

QUEUE_KEY = "callbacks_due"
ESCALATION_KEY = "callbacks_escalated"
INTERVAL_MS = 60_000


@dataclass(frozen=True, slots=True)
class _State:
    counts: Counts | None
    overdue_forms: list[FormRow]


class CallbackWatcher(QObject):
    sig_checked = Signal(object)  # _State

    def __init__(self, ctx: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.service = CallbackService(ctx.db, ctx.actor)
        self.calls = ctx.actor.can(Permission.WORK_CALLBACKS)
        self.manager = ctx.actor.can(Permission.APPROVE)
        self.escalated = 0
        self._busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        QTimer.singleShot(0, self, self.refresh)

    def on_changes(self, areas: frozenset[str]) -> None:
        if "callbacks" in areas:
            self.refresh()

    def refresh(self) -> None:
        if self._busy or not (self.calls or self.manager):
            return
        self._busy = True
        self.ctx.ops.run(self._check, write=False, on_success=self.show, on_error=self._failed)

    def _check(self, _progress: object) -> _State:
        counts = self.service.counts() if self.calls else None
        forms = self.service.overdue_forms() if self.manager else []
        return _State(counts, forms)

    def _failed(self, _exc: BaseException) -> bool:
        self._busy = False
        return True  # never a dialog from a watcher; the next tick retries

    def show(self, state: _State) -> None:
        self._busy = False
        if state.counts is not None:
            c = state.counts
            if c.today or c.overdue:
                self.ctx.status.post(
                    QUEUE_KEY,
                    _("Callbacks: {due} due today, {overdue} overdue").format(
                        due=c.today, overdue=c.overdue
                    ),
                    short=_("Calls {due} · late {overdue}").format(due=c.today, overdue=c.overdue),
                    tab="callbacks",
                )
            else:
                self.ctx.status.clear(QUEUE_KEY)
        n = len(state.overdue_forms)
        self.escalated = n
        if n:
            text = _("⚠ Quick-handling forms past their deadline: {n}").format(n=n)
            tip = "\n".join(
                f"{f.number} {f.customer_name} · {f.department} · {f.responsible} · "
                + _("{days} days late").format(days=f.overdue_days)
                for f in state.overdue_forms[:15]
            )
            self.ctx.status.post(
                ESCALATION_KEY,
                text,
                tip,
                short=_("⚠ Forms late: {n}").format(n=n),
                tab="callbacks",
                level=Level.ALERT,
            )
        else:
            self.ctx.status.clear(ESCALATION_KEY)
        self.sig_checked.emit(state)
