"""Operations: run a service call off the UI thread, with progress, cancel, errors in a dialog and
a "changes applied" signal afterwards (Anki's CollectionOp/QueryOp are the model).

Writes go through one writer thread (SQLite has one writer); reads and network work use a small
pool. The callable receives a ``Progress`` and must not touch widgets; its result comes back to
the UI thread through a queued signal.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from aftersales_desk.errors import Cancelled, UserError
from aftersales_desk.i18n import _
from aftersales_desk.services.progress import Progress

log = logging.getLogger(__name__)
SHOW_PROGRESS_AFTER_MS = 300


def _alive(*things: object) -> bool:
    """False when a callback's Qt object (or the parent widget) was destroyed while the call ran:
    a result arriving after its window closed is dropped, not delivered to a dead object."""
    for thing in things:
        owner = getattr(thing, "__self__", thing)
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            return False
    return True


class _Relay(QObject):
    sig_progress = Signal(int, int, str)
    sig_done = Signal(object)
    sig_failed = Signal(object, str)


class _QtProgress(Progress):
    def __init__(self, relay: _Relay) -> None:
        super().__init__()
        self._relay = relay

    def report(self, done: int, total: int | None, label: str) -> None:
        self._relay.sig_progress.emit(done, total or 0, label)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[Progress], Any], relay: _Relay, progress: Progress) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn, self._relay, self._progress = fn, relay, progress

    def run(self) -> None:
        try:
            result = self._fn(self._progress)
        except BaseException as exc:  # reported on the UI thread
            self._relay.sig_failed.emit(exc, traceback.format_exc())
        else:
            self._relay.sig_done.emit(result)


class Operation(QObject):
    """One running call. ``sig_finished(ok)`` fires after the success/error handlers ran."""

    sig_finished = Signal(bool)

    def __init__(
        self,
        ops: Ops,
        fn: Callable[[Progress], Any],
        *,
        parent: QWidget | None,
        label: str | None,
        on_success: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], bool] | None,
        changes: set[str] | None,
        cancellable: bool,
    ) -> None:
        super().__init__(ops)
        self._ops, self._fn, self._parent = ops, fn, parent
        self._on_success, self._on_error, self._changes = on_success, on_error, changes
        self._relay = _Relay()
        self.progress = _QtProgress(self._relay)
        self._dialog: QProgressDialog | None = None
        self._label = label
        self._cancellable = cancellable
        self._relay.sig_progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._relay.sig_done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._relay.sig_failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def start(self, pool: QThreadPool) -> Operation:
        if self._label is not None:
            QTimer.singleShot(SHOW_PROGRESS_AFTER_MS, self._show_dialog)
        pool.start(_Job(self._fn, self._relay, self.progress))
        return self

    def _show_dialog(self) -> None:
        if self.done or self._label is None:
            return
        dlg = QProgressDialog(
            self._label, _("Cancel") if self._cancellable else "", 0, 0, self._parent
        )
        dlg.setWindowTitle(_("Please wait"))
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        if not self._cancellable:
            dlg.setCancelButton(None)
        dlg.canceled.connect(self.progress.cancel)
        dlg.show()
        self._dialog = dlg

    def _on_progress(self, done: int, total: int, label: str) -> None:
        if self._dialog is not None:
            self._dialog.setMaximum(total)
            self._dialog.setValue(min(done, total) if total else 0)
            if label:
                self._dialog.setLabelText(label)

    def _close_dialog(self) -> None:
        self.done = True
        if self._dialog is not None:
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None

    def _on_done(self, result: Any) -> None:
        self._close_dialog()
        self.result = result
        try:
            if not _alive(self._parent, self._on_success):
                return
            if self._on_success is not None:
                self._on_success(result)
            if self._changes:
                self._ops.sig_changes_applied.emit(frozenset(self._changes))
        finally:
            self.sig_finished.emit(True)
            self.deleteLater()

    def _on_failed(self, exc: BaseException, tb: str) -> None:
        self._close_dialog()
        self.error = exc
        try:
            if not _alive(self._parent, self._on_error):
                return
            if self._on_error is not None and self._on_error(exc):
                return
            if isinstance(exc, Cancelled):
                return
            show_error(self._parent, exc, tb)
        finally:
            self.sig_finished.emit(False)
            self.deleteLater()


def show_error(parent: QWidget | None, exc: BaseException, tb: str = "") -> None:
    """A user error as a warning; anything else as an unexpected error, logged with its trace."""
    if isinstance(exc, UserError):
        QMessageBox.warning(parent, _("Cannot do that"), exc.message)
        return
    from aftersales_desk.logsetup import setup_logging

    where = setup_logging()
    log.error("operation failed: %s\n%s", exc, tb)
    QMessageBox.critical(
        parent,
        _("Unexpected error"),
        _("Unexpected error: {error}. Details are in {log}.").format(error=exc, log=where or "-"),
    )


class Ops(QObject):
    """Runs operations. ``sig_changes_applied(frozenset[str])`` names the areas that changed so
    tabs that show them mark themselves dirty and refresh when next shown."""

    sig_changes_applied = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.writer = QThreadPool(self)
        self.writer.setMaxThreadCount(1)
        self.readers = QThreadPool(self)
        self.readers.setMaxThreadCount(2)

    def run(
        self,
        fn: Callable[[Progress], Any],
        *,
        parent: QWidget | None = None,
        label: str | None = None,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], bool] | None = None,
        changes: set[str] | None = None,
        write: bool = True,
        cancellable: bool = True,
    ) -> Operation:
        """Run ``fn(progress)`` off the UI thread.

        ``label`` shows a progress dialog when the call takes longer than a moment; ``changes``
        (area names) are announced on success; ``on_error`` returning True means "handled".
        """
        op = Operation(
            self,
            fn,
            parent=parent,
            label=label,
            on_success=on_success,
            on_error=on_error,
            changes=changes if write else None,
            cancellable=cancellable,
        )
        return op.start(self.writer if write else self.readers)

    def wait_idle(self, msecs: int = 30000) -> bool:
        return self.writer.waitForDone(msecs) and self.readers.waitForDone(msecs)
