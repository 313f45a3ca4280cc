"""The status board: how a tab (or its background watcher) puts a short message in the main
window's status bar without knowing the window. Each message has a key; an empty text hides it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class StatusBoard(QObject):
    sig_changed = Signal(str, str, str)  # key, text, tooltip

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.messages: dict[str, tuple[str, str]] = {}

    def post(self, key: str, text: str, tooltip: str = "") -> None:
        if self.messages.get(key) == (text, tooltip):
            return
        self.messages[key] = (text, tooltip)
        self.sig_changed.emit(key, text, tooltip)
