"""Print preview and printing of slips and receipts from the window.

The PDF layout (``reports.slips.draw_slip`` / ``draw_receipt``) draws through a handful of canvas
calls; ``QtCanvas`` offers the same calls on a ``QPainter``, so the printed page and the PDF are
the same layout. ``QPrintPreviewDialog`` shows it and prints through the Qt print dialog.
"""

from __future__ import annotations

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPen
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QDialog, QWidget

from aftersales_desk.i18n import _
from aftersales_desk.reports.fonts import find_cjk_font
from aftersales_desk.reports.slips import (
    SlipData,
    draw_receipt,
    draw_slip,
    receipt_size,
    slip_size,
)

_family_cache: list[str] = []


def _cjk_family() -> str:
    """The family of the CJK font the PDFs embed, loaded into Qt once."""
    if not _family_cache:
        from PySide6.QtGui import QFontDatabase

        family = ""
        try:
            font_id = QFontDatabase.addApplicationFont(str(find_cjk_font().path))
            families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
            family = families[0] if families else ""
        except Exception:  # no CJK font: Qt falls back to its default font
            family = ""
        _family_cache.append(family or QFont().family())
    return _family_cache[0]


class QtCanvas:
    """The subset of reportlab's canvas the slip layouts (and Code 128 bars) use, on a QPainter.
    Coordinates are points with the origin at the bottom left, as in reportlab."""

    def __init__(self, painter: QPainter, printer: QPrinter, height_pt: float) -> None:
        self.p = painter
        self.printer = printer
        self.family = _cjk_family()
        dpi = printer.resolution()
        self._dpi = dpi
        k = dpi / 72.0
        painter.resetTransform()
        painter.scale(k, -k)
        painter.translate(0, -height_pt)
        self._font = QFont(self.family)
        self._size = 10.0
        self._fill = QColor(0, 0, 0)
        self._line_width = 1.0
        self._stack: list[tuple[QColor, float, float]] = []
        self.setFont("", 10)

    # state
    def saveState(self) -> None:
        self.p.save()
        self._stack.append((self._fill, self._line_width, self._size))

    def restoreState(self) -> None:
        self.p.restore()
        self._fill, self._line_width, size = self._stack.pop()
        self.setFont("", size)

    def translate(self, x: float, y: float) -> None:
        self.p.translate(x, y)

    def rotate(self, degrees: float) -> None:
        self.p.rotate(degrees)

    def setTitle(self, _title: str) -> None:
        """PDF metadata: nothing to do on paper."""

    def setAuthor(self, _author: str) -> None:
        """PDF metadata: nothing to do on paper."""

    def setFont(self, _name: str, size: float) -> None:
        self._size = size
        font = QFont(self.family)
        # a point size that comes out as ``size`` logical units under the world transform
        font.setPointSizeF(max(0.5, size * 72.0 / self._dpi))
        self._font = font
        self.p.setFont(font)

    def stringWidth(self, text: str, _font: str, size: float) -> float:
        font = QFont(self.family)
        font.setPointSizeF(max(0.5, size * 72.0 / self._dpi))
        return QFontMetricsF(font, self.printer).horizontalAdvance(text)

    def setFillColorRGB(self, r: float, g: float, b: float, alpha: float | None = None) -> None:
        self._fill = QColor.fromRgbF(r, g, b, 1.0 if alpha is None else alpha)

    def setLineWidth(self, width: float) -> None:
        self._line_width = width

    # drawing
    def _text(self, x: float, y: float, text: str) -> None:
        self._maybe_new_page()
        self.p.save()
        self.p.translate(x, y)
        self.p.scale(1, -1)
        self.p.setPen(QPen(self._fill))
        self.p.drawText(QPointF(0, 0), text)
        self.p.restore()

    def drawString(self, x: float, y: float, text: str) -> None:
        self._text(x, y, text)

    def drawRightString(self, x: float, y: float, text: str) -> None:
        self._text(x - self.stringWidth(text, "", self._size), y, text)

    def drawCentredString(self, x: float, y: float, text: str) -> None:
        self._text(x - self.stringWidth(text, "", self._size) / 2, y, text)

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self._maybe_new_page()
        pen = QPen(QColor(0, 0, 0))
        pen.setWidthF(self._line_width)
        self.p.setPen(pen)
        self.p.drawLine(QPointF(x1, y1), QPointF(x2, y2))

    def rect(self, x: float, y: float, w: float, h: float, stroke: int = 1, fill: int = 0) -> None:
        self._maybe_new_page()
        if fill:
            self.p.fillRect(QRectF(x, y, w, h), self._fill)
        if stroke:
            pen = QPen(QColor(0, 0, 0))
            pen.setWidthF(self._line_width)
            self.p.setPen(pen)
            self.p.setBrush(Qt.BrushStyle.NoBrush)
            self.p.drawRect(QRectF(x, y, w, h))

    def showPage(self) -> None:
        """reportlab ends every page with showPage; a new printer page starts only if more
        drawing follows (``_pending``)."""
        self._pending = True

    _pending = False

    def _maybe_new_page(self) -> None:
        if self._pending:
            self._pending = False
            self.printer.newPage()


def page_size_of(data: SlipData, size: str) -> tuple[float, float]:
    """Points (width, height) of ``size``: a slip size, ``80mm`` or ``A5`` for receipts."""
    if size == "80mm":
        return receipt_size(data)
    return slip_size(size)


def paint(printer: QPrinter, data: SlipData, size: str) -> None:
    """Paint ``data`` on ``printer`` in the layout of ``size``."""
    width, height = page_size_of(data, size)
    painter = QPainter(printer)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        canvas = QtCanvas(painter, printer, height)
        if size == "80mm":
            draw_receipt(canvas, data, width, height, "")
        else:
            draw_slip(canvas, data, width, height, "")
    finally:
        painter.end()


def make_printer(data: SlipData, size: str) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    width, height = page_size_of(data, size)
    page = QPageSize(
        QSizeF(width / 72 * 25.4, height / 72 * 25.4),
        QPageSize.Unit.Millimeter,
        size,
        QPageSize.SizeMatchPolicy.ExactMatch,
    )
    orientation = QPageLayout.Orientation.Portrait
    printer.setPageLayout(
        QPageLayout(page, orientation, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
    )
    printer.setFullPage(True)
    printer.setDocName(f"{data.title} {data.number}")
    return printer


def preview(parent: QWidget | None, data: SlipData, size: str) -> QPrintPreviewDialog:
    """A print preview of ``data`` (not yet shown: call ``exec()`` or ``open()``)."""
    printer = make_printer(data, size)
    dlg = QPrintPreviewDialog(printer, parent)
    dlg.setWindowTitle(_("Print preview — {number}").format(number=data.number))
    dlg.paintRequested.connect(lambda p: paint(p, data, size))
    dlg.resize(900, 700)
    dlg._printer = printer  # type: ignore[attr-defined]  (kept alive with the dialog)
    return dlg


def print_with_dialog(parent: QWidget | None, data: SlipData, size: str) -> bool:
    """The Qt print dialog, then print. Returns whether it printed."""
    printer = make_printer(data, size)
    dlg = QPrintDialog(printer, parent)
    dlg.setWindowTitle(_("Print {number}").format(number=data.number))
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return False
    paint(printer, data, size)
    return True
