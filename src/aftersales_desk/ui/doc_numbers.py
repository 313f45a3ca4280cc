"""Lists with a fixed column for a document number size it for a device-series number
(``BJ01-A-WO000123``: branch, device, kind, six digits; ``services/numbering.py``)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView

SAMPLE = "BJ01-A-WO000000"
PADDING = 20  # the cell's margins and the header's sort indicator room


def number_width(view: QAbstractItemView) -> int:
    """Pixels a column needs to show a whole device-series number in ``view``'s font."""
    return view.fontMetrics().horizontalAdvance(SAMPLE) + PADDING
