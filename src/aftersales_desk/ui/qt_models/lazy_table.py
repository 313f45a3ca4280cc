"""The table model every list uses: rows (plain dataclasses with an ``id``) fetched a page at a
time from a service as the view scrolls (``canFetchMore``/``fetchMore``), never the whole table.

A page fetch must be an index-backed keyset query (a few milliseconds), so it runs on the UI
thread as Qt asks for it; filters that may be slow reload through ``Ops`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from aftersales_desk.i18n import _
from aftersales_desk.services.pages import Page

Fetch = Callable[[Any | None, int], Page[Any]]
AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # an English msgid marked with N_(), translated when shown
    fmt: Callable[[Any], str] | None = None
    align_right: bool = False


class LazyTableModel(QAbstractTableModel):
    ROW_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(
        self, columns: list[Column], fetch: Fetch, *, page_size: int = 200, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.columns = columns
        self._fetch = fetch
        self.page_size = page_size
        self._rows: list[Any] = []
        self._cursor: Any | None = None
        self._exhausted = False
        self._loaded_once = False
        self._fetching = False  # views may ask for more while rows are being inserted

    # --- the data ---------------------------------------------------------------------------
    def reload(self, fetch: Fetch | None = None) -> None:
        """Start again from the first page (e.g. after a filter change or an edit)."""
        self.beginResetModel()
        if fetch is not None:
            self._fetch = fetch
        self._rows, self._cursor, self._exhausted = [], None, False
        self._append(self._fetch(None, self.page_size), notify=False)
        self._loaded_once = True
        self.endResetModel()

    def _append(self, page: Page[Any], *, notify: bool) -> None:
        if not page.rows:
            self._exhausted = True
            return
        start = len(self._rows)
        if notify:
            self.beginInsertRows(QModelIndex(), start, start + len(page.rows) - 1)
        self._rows.extend(page.rows)
        self._cursor = page.next_cursor
        self._exhausted = page.next_cursor is None
        if notify:
            self.endInsertRows()

    def row(self, row: int) -> Any:
        return self._rows[row]

    def row_for_id(self, row_id: Any) -> int | None:
        for i, r in enumerate(self._rows):
            if r.id == row_id:
                return i
        return None

    @property
    def loaded_rows(self) -> int:
        return len(self._rows)

    # --- Qt ---------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid() or self._fetching:
            return False
        return not self._loaded_once or not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._fetching:
            return
        if not self._loaded_once:
            self.reload()
            return
        if not self._exhausted:
            self._fetching = True
            try:
                self._append(self._fetch(self._cursor, self.page_size), notify=True)
            finally:
                self._fetching = False

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = getattr(row, col.key)
            if col.fmt is not None:
                return col.fmt(value)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.ROW_ROLE:
            return row
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(self.columns[section].title)
        return None
