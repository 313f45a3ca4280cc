"""The window's side of sync: "Sync now" in the background, the permanent status-bar button
(state, changes to send, open conflicts, set-aside changes; a click opens the review), and the
automatic sync when the branch enables it.

Never two syncs at once (one flag covers the reachability probe and the sync). An automatic sync
that cannot reach central, or fails, is quiet: the button says "offline" and the next try waits
longer (doubling up to ``MAX_BACKOFF`` times the branch's interval). The work itself is
``services/sync/client.sync`` on a pool thread through ``ui/tasks.Ops``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QToolButton, QWidget

from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import Cancelled, RefusedError, UserError
from aftersales_desk.i18n import _, ngettext
from aftersales_desk.services.sync import central, client, connection, registry
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tabs import TAB_NAMES

log = logging.getLogger(__name__)

FIRST_AUTO_DELAY_MS = 15_000  # the first automatic sync waits until the window has settled
MAX_BACKOFF = 8
# Areas whose lists a pulled change may touch: every tab, the settings, the sync views.
ALL_AREAS = frozenset({*TAB_NAMES, "settings", "sync"})


class State(StrEnum):
    NOT_CONFIGURED = "not_configured"
    NEVER = "never"
    SYNCING = "syncing"
    SYNCED = "synced"
    OFFLINE = "offline"
    REFUSED = "refused"
    FAILED = "failed"


def _local_time(at: datetime) -> str:
    local = at.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


class SyncController(QObject):
    """Owned by the main window; ``widget`` goes in its status bar."""

    sig_changed = Signal()  # state or counts changed
    sig_finished = Signal(bool)  # a sync round ended (ok?)

    def __init__(self, ctx: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self.ctx, self.window = ctx, window
        self.settings = connection.load(ctx.db, ctx.actor)
        self.state = State.NEVER if self.settings.configured else State.NOT_CONFIGURED
        self.reason = ""
        self.status: registry.SyncStatus | None = None
        self.last_result: client.SyncResult | None = None
        self.busy = False
        self.failures = 0
        self._held: tuple[connection.SyncSettings, Any] | None = None  # settings, connection
        self._op: Any = None  # the running round's operation (for cancel)
        self.widget = QToolButton()
        self.widget.setObjectName("sync_status")
        self.widget.setAutoRaise(True)
        self.widget.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.widget.clicked.connect(self.open_review)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.auto_tick)
        self._recount = QTimer(self)
        self._recount.setSingleShot(True)
        self._recount.setInterval(400)
        self._recount.timeout.connect(self.refresh_counts)
        ctx.ops.sig_changes_applied.connect(self._on_changes)
        self.render()
        self.refresh_counts()
        self.schedule(FIRST_AUTO_DELAY_MS)

    # --- what the button says ---------------------------------------------------------------
    def state_text(self) -> str:
        if self.state is State.NOT_CONFIGURED:
            return _("Sync: not set up (working offline)")
        if self.state is State.SYNCING:
            return _("Sync: syncing…")
        if self.state is State.OFFLINE:
            return _("Sync: offline")
        if self.state is State.REFUSED:
            reason = self.reason if len(self.reason) <= 40 else self.reason[:39] + "…"
            return _("Sync: refused — {reason}").format(reason=reason)
        if self.state is State.FAILED:
            return _("Sync: failed")
        at = self.status.last_sync_at if self.status else None
        if at is None:
            return _("Sync: not synced yet")
        return _("Sync: synced {time}").format(time=_local_time(at))

    def counts_text(self) -> str:
        """What waits: changes to send, open conflicts, set-aside changes — only those that are
        not zero (the status bar is shared with every module; the tooltip has all three)."""
        if self.status is None:
            return ""
        st = self.status
        parts = [
            ngettext("{n} change to send", "{n} changes to send", st.pending),
            ngettext("{n} conflict", "{n} conflicts", st.open_conflicts),
            ngettext("{n} set aside", "{n} set aside", st.quarantined),
        ]
        counts = (st.pending, st.open_conflicts, st.quarantined)
        return " · ".join(p.format(n=n) for p, n in zip(parts, counts, strict=True) if n)

    def all_counts_text(self) -> str:
        if self.status is None:
            return ""
        return _("{pending} to send · {conflicts} conflicts · {quarantined} set aside").format(
            pending=self.status.pending,
            conflicts=self.status.open_conflicts,
            quarantined=self.status.quarantined,
        )

    def render(self) -> None:
        counts = self.counts_text()
        text = self.state_text() + (f" · {counts}" if counts else "")
        self.widget.setText(text)
        # amber when something awaits review, red when the last round failed
        attention = bool(self.status and (self.status.open_conflicts or self.status.quarantined))
        bad = self.state in (State.OFFLINE, State.REFUSED, State.FAILED)
        self.widget.setStyleSheet(
            "QToolButton { color: #b3261e; }"
            if bad
            else "QToolButton { color: #a05a00; font-weight: bold; }"
            if attention
            else ""
        )
        tips = [self.all_counts_text()] if self.status else []
        if self.status and self.status.last_sync_at:
            tips.append(
                _("Last sync: {at}").format(
                    at=self.status.last_sync_at.astimezone().strftime("%Y-%m-%d %H:%M")
                )
            )
        if self.reason:
            tips.append(self.reason)
        if self.settings.auto_minutes:
            tips.append(
                _("Automatic sync every {n} minutes when online.").format(
                    n=self.settings.auto_minutes
                )
            )
        tips.append(_("Click to review conflicts and set-aside changes."))
        self.widget.setToolTip("\n".join(tips))
        self.sig_changed.emit()

    # --- counts -----------------------------------------------------------------------------
    def _on_changes(self, areas: Any) -> None:
        if "settings" in areas:
            self.settings = connection.load(self.ctx.db, self.ctx.actor)
            if not self.settings.configured:
                self.state = State.NOT_CONFIGURED
            elif self.state is State.NOT_CONFIGURED:
                self.state = State.NEVER
            self.render()
            self.schedule()
        self._recount.start()

    def refresh_counts(self) -> None:
        db, actor = self.ctx.db, self.ctx.actor
        self.ctx.ops.run(
            lambda _p: registry.status(db, actor),
            on_success=self._got_status,
            on_error=self._quiet_error,
            write=False,
        )

    def _got_status(self, status: registry.SyncStatus) -> None:
        self.status = status
        self.render()

    def _quiet_error(self, exc: BaseException) -> bool:
        log.warning("sync status: %s", exc, exc_info=exc)
        return True

    # --- a round ----------------------------------------------------------------------------
    def sync_now(self) -> bool:
        """The menu's "Sync now": with a progress dialog, errors as one line in a dialog."""
        if not self.settings.configured:
            if self.ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS):
                self.open_settings()
            else:
                self._message(_("Sync is not set up; ask the manager to set up the connection."))
            return False
        if self.busy:
            self._message(_("A sync is already running."))
            return False
        return self._start(manual=True)

    def _message(self, text: str) -> None:
        from PySide6.QtWidgets import QMainWindow

        if isinstance(self.window, QMainWindow):
            self.window.statusBar().showMessage(text, 6000)

    def _start(self, *, manual: bool) -> bool:
        if self.busy:
            return False
        self.busy = True
        self.timer.stop()
        self.state, self.reason = State.SYNCING, ""
        self.render()
        db, actor, settings = self.ctx.db, self.ctx.actor, self.settings

        def work(progress: Any) -> tuple[client.SyncResult, registry.SyncStatus, Any]:
            progress.step(0, None, _("Sending this desk's changes…"))

            def pulled(n: int) -> None:
                progress.step(n, None, _("Received {n} changes…").format(n=n))

            # one central connection is kept between rounds (rounds never overlap); any
            # failure drops it and the next round connects again
            held = self._held
            if held is not None and (held[0] != settings or held[1].closed):
                self._drop_connection()
                held = None
            if held is None:
                url = settings.conninfo()
                conn = central.connect(url, password=client.resolve_password(url, None))
                held = self._held = (settings, conn)
            try:
                result = client.sync(
                    db, actor, settings.conninfo(), progress=pulled, connection=held[1]
                )
            except BaseException:
                self._drop_connection()
                raise
            return result, registry.status(db, actor), connection.load(db, actor)

        self._op = self.ctx.ops.run(
            work,
            parent=self.window if manual else None,
            label=_("Syncing with the central database…") if manual else None,
            on_success=self._done,
            on_error=lambda exc: self._failed(exc, manual=manual),
            write=False,
        )
        return True

    def cancel(self) -> None:
        """Stop the running round at its next step (what the progress dialog's Cancel does);
        what was already applied stays applied, the rest comes with the next round."""
        if self.busy and self._op is not None:
            self._op.progress.cancel()

    def _drop_connection(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            try:
                held[1].close()
            except Exception:  # closing a broken connection: nothing more to do
                log.debug("closing the central connection failed", exc_info=True)

    def close(self) -> None:
        """The window closes: stop the timer, let go of the central connection."""
        self.timer.stop()
        if not self.busy:
            self._drop_connection()

    def _done(self, out: tuple[client.SyncResult, registry.SyncStatus, Any]) -> None:
        result, status, settings = out
        self.busy = False
        self.failures = 0
        self.last_result, self.status = result, status
        self._message(
            _(
                "Sent {pushed} changes, received {pulled}; {conflicts} new conflicts, "
                "{quarantined} set aside."
            ).format(
                pushed=result.pushed,
                pulled=result.pulled,
                conflicts=len(result.conflicts),
                quarantined=len(result.quarantined),
            )
        )
        self.settings = settings
        self.state, self.reason = State.SYNCED, ""
        if result.skewed:
            self.reason = _(
                "This computer's clock differs from the central server's by more than "
                "five minutes; set the clock right."
            )
        self.render()
        self.schedule()
        if result.pulled or result.pushed or result.shared.added or result.shared.closed:
            self.ctx.ops.sig_changes_applied.emit(ALL_AREAS)
        self.sig_finished.emit(True)

    def _failed(self, exc: BaseException, *, manual: bool) -> bool:
        self.busy = False
        if isinstance(exc, Cancelled):
            self.state, self.reason = State.NEVER, _("The sync was cancelled; nothing is lost.")
        elif isinstance(exc, RefusedError):
            self.state, self.reason = State.REFUSED, exc.message
        elif isinstance(exc, UserError):
            self.state, self.reason = State.OFFLINE, exc.message
        else:
            log.error("sync failed", exc_info=exc)
            self.state, self.reason = State.FAILED, _("Unexpected error: {error}").format(error=exc)
        if not manual and not isinstance(exc, Cancelled):
            self.failures += 1
        self.render()
        self.refresh_counts()
        self.schedule()
        self.sig_finished.emit(False)
        # by hand: the one-line message in a dialog (Ops shows it); automatic: quiet
        return not manual or isinstance(exc, Cancelled)

    # --- automatic sync ---------------------------------------------------------------------
    def interval_ms(self) -> int:
        """The wait before the next automatic try: the branch's interval, doubled per failure."""
        base = self.settings.auto_minutes * 60_000
        return base * min(2**self.failures, MAX_BACKOFF)

    def schedule(self, delay_ms: int | None = None) -> None:
        self.timer.stop()
        if not self.settings.configured or not self.settings.auto_minutes:
            return
        self.timer.start(self.interval_ms() if delay_ms is None else delay_ms)

    def auto_tick(self) -> None:
        """Probe the server off the UI thread; sync quietly when it answers."""
        if self.busy or not self.settings.configured or not self.settings.auto_minutes:
            self.schedule()
            return
        self.busy = True
        settings = self.settings
        self.ctx.ops.run(
            lambda _p: connection.reachable(settings),
            on_success=self._probed,
            on_error=lambda exc: self._failed(exc, manual=False),
            write=False,
        )

    def _probed(self, online: bool) -> None:
        self.busy = False
        if not online:
            self.failures += 1
            self.state = State.OFFLINE
            self.reason = _("The central server cannot be reached; the next try is automatic.")
            self.render()
            self.schedule()
            return
        self._start(manual=False)

    # --- dialogs ----------------------------------------------------------------------------
    def open_review(self) -> None:
        from aftersales_desk.ui.sync.review import SyncReviewDialog

        dlg = SyncReviewDialog(self.ctx, self.window)
        dlg.exec()
        self.refresh_counts()

    def open_settings(self) -> None:
        from aftersales_desk.ui.sync.settings import SyncSettingsDialog

        dlg = SyncSettingsDialog(self.ctx, self.window)
        if dlg.exec() and dlg.saved is not None:
            self.settings = dlg.saved
            self.state = State.NEVER if self.settings.configured else State.NOT_CONFIGURED
            self.reason = ""
            self.failures = 0
            self.render()
            self.schedule()
