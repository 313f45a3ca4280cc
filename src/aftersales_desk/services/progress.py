"""Progress and cancellation for long use cases, without Qt: the window and the command line
each pass their own ``Progress``; services call ``step`` and stop when cancelled."""

from __future__ import annotations

import threading

from aftersales_desk.errors import Cancelled


class Progress:
    """Reports progress; ``cancel()`` (from any thread) makes the next ``step`` raise ``Cancelled``."""

    def __init__(self) -> None:
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def step(self, done: int, total: int | None = None, label: str = "") -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.report(done, total, label)

    def report(self, done: int, total: int | None, label: str) -> None:
        """Override to show progress."""


NO_PROGRESS = Progress()
