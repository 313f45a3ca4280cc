"""The status board: how a tab (or its background watcher) puts a short message in the main
window's status bar without knowing the window. Each message has a key; an empty text hides it.

A message says which tab it is about (a click on it opens that tab), how urgent it is (the
window colours it), and a short form the window shows instead when the bar lacks the width for
every message in full (the full text is then in the tooltip)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject, Signal


class Level(Enum):
    INFO = "info"  # plain text
    GOOD = "good"  # something the user can act on now (green)
    ALERT = "alert"  # something late (red)


@dataclass(frozen=True)
class StatusItem:
    text: str
    tooltip: str = ""
    short: str = ""  # shown when the bar is too narrow for every text in full
    tab: str | None = None  # the tab a click opens
    level: Level = Level.INFO


class StatusBoard(QObject):
    sig_changed = Signal(str)  # key

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.items: dict[str, StatusItem] = {}

    def post(
        self,
        key: str,
        text: str,
        tooltip: str = "",
        *,
        short: str = "",
        tab: str | None = None,
        level: Level = Level.INFO,
    ) -> None:
        item = StatusItem(text, tooltip, short, tab, level)
        if self.items.get(key) == item:
            return
        self.items[key] = item
        self.sig_changed.emit(key)

    def clear(self, key: str) -> None:
        self.post(key, "")

    def text(self, key: str) -> str:
        item = self.items.get(key)
        return item.text if item else ""


def shorten(widths: dict[str, tuple[int, int | None]], room: int) -> set[str]:
    """Which messages show their short form: none when every full text fits in ``room``;
    otherwise those that save the most width first, until the rest fits (or none is left to
    shorten). ``widths``: key → (full width, short width or None when there is no short form)."""
    total = sum(full for full, _short in widths.values())
    chosen: set[str] = set()
    savings = sorted(
        ((full - short, key) for key, (full, short) in widths.items() if short is not None),
        reverse=True,
    )
    for saving, key in savings:
        if total <= room:
            break
        chosen.add(key)
        total -= saving
    return chosen
