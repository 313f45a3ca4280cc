"""Operations: run a service call off the UI thread, with progress, cancel, errors in a dialog and
a "changes applied" signal afterwards (Anki's CollectionOp/QueryOp are the model).

Writes go through one writer thread (SQLite has one writer); reads and network work use a small
pool. The callable receives a ``Progress`` and must not touch widgets; its result comes back to
the UI thread through a queued signal.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThreadPool, QTimer, Signal
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


class _UiThreadCollector:
    """Python's cyclic garbage collector runs in whichever thread happens to allocate when a
    generation is full — often a pool thread running a job. A cycle it frees there may hold Qt
    objects of the UI thread (a closed window's controller and its ``Ops``, a relay, a dialog),
    which are then destroyed on the pool thread while the UI thread delivers their events or
    deletes them itself: a crash in ``QObject::~QObject`` at random (seen cancelling a sync).

    So while any job runs, automatic collection is off and a UI-thread timer collects instead,
    generation by generation as the automatic collector would; when no job runs, automatic
    collection is back on (if it was on before). Jobs count themselves in on the UI thread and
    out at the very end of their pool-thread call.
    """

    INTERVAL_MS = 250

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._was_enabled = False
        self._timer: QTimer | None = None

    def job_started(self) -> None:
        with self._lock:
            first = self._running == 0
            self._running += 1
        if first and (self._timer is None or not self._timer.isActive()):
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._timer_for_app().start()

    def job_ended(self) -> None:  # on the pool thread, as its last step
        with self._lock:
            self._running -= 1

    def _timer_for_app(self) -> QTimer:
        if self._timer is None or not shiboken6.isValid(self._timer):
            self._timer = QTimer(QCoreApplication.instance())
            self._timer.setInterval(self.INTERVAL_MS)
            self._timer.timeout.connect(self.tick)
        return self._timer

    def tick(self) -> None:
        """On the UI thread: collect what the automatic collector would have collected."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                gc.collect(generation)
                break
        with self._lock:
            idle = self._running == 0
        if idle and self._timer is not None:
            self._timer.stop()
            if self._was_enabled:
                gc.enable()


_collector = _UiThreadCollector()


class _Relay(QObject):
    """Carries a job's progress and its end from the pool thread to the UI thread. One per
    ``Ops`` and its child: a pool thread never holds the last reference to it, so it is never
    destroyed off the UI thread (a parentless relay per call was: the pool thread dropped the
    last reference after the call, deleting the QObject there while the UI thread still
    delivered its queued signals — a crash at random)."""

    sig_progress = Signal(int, int, int, str)  # job, done, total, label
    sig_finished = Signal(int)  # job


class _QtProgress(Progress):
    def __init__(self, relay: _Relay, job: int) -> None:
        super().__init__()
        self._relay, self._job = relay, job

    def report(self, done: int, total: int | None, label: str) -> None:
        self._relay.sig_progress.emit(self._job, done, total or 0, label)


class _Job:
    """Runs ``box[0](box[1])`` on a pool thread and appends the outcome to ``box``.

    A plain callable handed to ``QThreadPool.start``, not a ``QRunnable`` subclass, so no
    shiboken wrapper (deleted by the pool on its thread) is part of the job's lifetime: with the
    subclass, while the collector still ran on pool threads, its ``__dict__`` was seen emptied
    under a running ``run`` ("'_Job' object has no attribute '_relay'"; not explained further).

    The callable, the progress and the outcome are reachable only through ``box``, a list the
    Operation shares and empties on the UI thread when it delivers. So whatever they reference
    (widgets in a closure, a bound method's object, an exception's frames) is released on the UI
    thread: Python frees an object in the thread that drops its last reference, and a Qt object
    must not be destroyed outside its own thread. The job keeps no local of its own to any of
    them once it has signalled the end.
    """

    __slots__ = ("_box", "_job", "_relay")

    def __init__(self, box: list[Any], relay: _Relay, job: int) -> None:
        self._box, self._relay, self._job = box, relay, job

    def __call__(self) -> None:
        box = self._box
        try:
            box.append((True, box[0](box[1])))
        except BaseException:  # reported on the UI thread
            box.append((False, (sys.exc_info()[1], traceback.format_exc())))
        # the exception handled above is released here, still held by the box
        try:
            self._relay.sig_finished.emit(self._job)
        finally:
            _collector.job_ended()


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
        self._ops, self._parent = ops, parent
        self._on_success, self._on_error, self._changes = on_success, on_error, changes
        self._job = ops._next_job()
        self.progress = _QtProgress(ops._relay, self._job)
        self._box: list[Any] = [fn, self.progress]  # + the outcome, appended by the job
        self._dialog: QProgressDialog | None = None
        self._label = label
        self._cancellable = cancellable
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def start(self, pool: QThreadPool) -> Operation:
        if self._label is not None:
            QTimer.singleShot(SHOW_PROGRESS_AFTER_MS, self._show_dialog)
        self._ops._running[self._job] = self
        _collector.job_started()
        pool.start(_Job(self._box, self._ops._relay, self._job))
        return self

    def _finished(self) -> None:
        """The job ended (UI thread): take the outcome out of the box and deliver it."""
        box, self._box = self._box, []
        ok, outcome = box[2]
        box.clear()  # the callable and the outcome are released here, on the UI thread
        if ok:
            self._on_done(outcome)
        else:
            self._on_failed(*outcome)

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

    def on_progress(self, done: int, total: int, label: str) -> None:
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
        self._relay = _Relay(self)
        self._relay.sig_progress.connect(self._progress, Qt.ConnectionType.QueuedConnection)
        self._relay.sig_finished.connect(self._finished, Qt.ConnectionType.QueuedConnection)
        self._running: dict[int, Operation] = {}  # held until delivered
        self._jobs = 0

    def _next_job(self) -> int:
        self._jobs += 1
        return self._jobs

    def _progress(self, job: int, done: int, total: int, label: str) -> None:
        op = self._running.get(job)
        if op is not None:
            op.on_progress(done, total, label)

    def _finished(self, job: int) -> None:
        op = self._running.pop(job, None)
        if op is not None:
            op._finished()

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
