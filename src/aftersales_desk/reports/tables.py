"""A titled table written as Excel (.xlsx) or PDF (A4 landscape, CJK font embedded): the shape of
the parts counter's lists and reports (replenishment, stock valuation, return-to-factory lists)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.money import MINOR_PER_UNIT, format_money
from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import _


@dataclass
class TableReport:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    subtitle: str = ""
    money_cols: set[int] = field(default_factory=set)  # values in minor units
    totals: list[Any] | None = None
    barcode: str = ""


def cell_text(value: Any, money: bool) -> str:
    """A cell as printed: money columns in yuan, nothing for None."""
    if value is None:
        return ""
    if money and isinstance(value, int):
        return format_money(value)
    return str(value)


def write_xlsx(report: TableReport, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = report.title[:31].replace("/", "-")
    ws.append([report.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([report.subtitle])
    ws.append([])
    ws.append(report.columns)
    for cell in ws[4]:
        cell.font = Font(bold=True)
    body = [*report.rows, *([report.totals] if report.totals else [])]
    for row in body:
        ws.append(
            [
                (v / MINOR_PER_UNIT if i in report.money_cols and isinstance(v, int) else v)
                for i, v in enumerate(row)
            ]
        )
    for i in report.money_cols:
        for (cell,) in ws.iter_rows(min_row=5, min_col=i + 1, max_col=i + 1):
            cell.number_format = "#,##0.00"
    for i, title in enumerate(report.columns):
        width = max([len(str(title)) * 2] + [len(str(r[i])) for r in report.rows[:200]] + [6])
        ws.column_dimensions[ws.cell(4, i + 1).column_letter].width = min(50, width + 2)
    ws.freeze_panes = "A5"
    wb.save(out)


def start_landscape_pdf(
    out: Path, title: str, subtitle: str, *, gap_mm: float
) -> tuple[Any, list[Any], str]:
    """An A4-landscape document (CJK font embedded) and its story so far — the title, the
    subtitle with the time printed, a gap — with the font's name, for the tables that follow."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    from aftersales_desk.reports.fonts import register_pdf_font

    font = register_pdf_font()
    title_style = ParagraphStyle("t", fontName=font, fontSize=15, leading=19)
    sub_style = ParagraphStyle("s", fontName=font, fontSize=9, leading=12)
    doc = SimpleDocTemplate(
        str(out),
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
    )
    printed = utcnow().astimezone().strftime("%Y-%m-%d %H:%M")
    story: list[Any] = [
        Paragraph(escape(title), title_style),
        Paragraph(
            escape(" · ".join(x for x in (subtitle, _("printed {at}").format(at=printed)) if x)),
            sub_style,
        ),
        Spacer(1, gap_mm * mm),
    ]
    return doc, story, font


CELL_SIZE, CELL_LEADING = 8, 10
CELL_PADDING = 6.5  # reportlab's default cell padding (3 pt each side) and a hair for rounding


def _text_width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return max((stringWidth(line, font, size) for line in text.split("\n")), default=0.0)


def column_widths(texts: list[list[str]], font: str, size: float, available: float) -> list[float]:
    """Each column as wide as its widest cell, the spare page width shared equally; when that is
    too wide for the page, the narrow columns keep their width and the wide ones share the rest
    equally (their text wraps)."""
    natural = [
        max(_text_width(row[i], font, size) for row in texts) + CELL_PADDING
        for i in range(len(texts[0]))
    ]
    if sum(natural) <= available:
        spare = (available - sum(natural)) / len(natural)
        return [w + spare for w in natural]
    widths = list(natural)
    remaining, left = available, sorted(range(len(natural)), key=natural.__getitem__)
    while left:
        share = remaining / len(left)
        if natural[left[0]] > share:
            for i in left:
                widths[i] = share
            break
        remaining -= natural[left[0]]
        left.pop(0)
    return widths


def _pdf_cell(text: str, width: float, font: str, style: Any) -> Any:
    """Plain text when it fits the column (cheap to lay out), else a wrapping paragraph."""
    if _text_width(text, font, CELL_SIZE) + CELL_PADDING <= width + 0.01:
        return text
    from reportlab.platypus import Paragraph

    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def pdf_grid(
    columns: list[str],
    rows: list[list[str]],
    font: str,
    *,
    width: float,
    empty: bool,
    shade_last: bool = False,
    right_cols: set[int] | frozenset[int] = frozenset(),
) -> Any:
    """A gridded table of text cells across ``width`` whose header row repeats on every page;
    columns are sized from their text, cells that fit stay plain strings (fast to lay out) and
    the rest wrap. ``empty`` adds the line "Nothing to report.", ``shade_last`` greys the last
    row (the totals), ``right_cols`` are right-aligned (money)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import LongTable, TableStyle

    cell_style = ParagraphStyle("c", fontName=font, fontSize=CELL_SIZE, leading=CELL_LEADING)
    texts = [list(columns), *rows]
    if empty:
        texts.append([_("Nothing to report.")] + [""] * (len(columns) - 1))
    widths = column_widths(texts, font, CELL_SIZE, width)
    data = [
        [_pdf_cell(text, w, font, cell_style) for text, w in zip(row, widths, strict=True)]
        for row in texts
    ]
    table = LongTable(data, colWidths=widths, repeatRows=1)
    style: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), CELL_SIZE),
        ("LEADING", (0, 0), (-1, -1), CELL_LEADING),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.92, 0.95)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in sorted(right_cols)]
    if shade_last:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.Color(0.95, 0.95, 0.95)))
    table.setStyle(TableStyle(style))
    return table


def write_pdf(report: TableReport, out: Path) -> None:
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    doc, story, font = start_landscape_pdf(out, report.title, report.subtitle, gap_mm=4)
    if report.barcode:
        story += [Code128(report.barcode, barHeight=10 * mm, barWidth=0.3 * mm), Spacer(1, 3 * mm)]
    body = [*report.rows, *([report.totals] if report.totals else [])]
    cells = [[cell_text(v, i in report.money_cols) for i, v in enumerate(row)] for row in body]
    story.append(
        pdf_grid(
            report.columns,
            cells,
            font,
            width=doc.width,
            empty=not report.rows,
            shade_last=bool(report.totals),
            right_cols=report.money_cols,
        )
    )
    doc.build(story)


def write_by_suffix(
    out: Path, *, xlsx: Callable[[Path], None], pdf: Callable[[Path], None]
) -> None:
    """Write ``out`` as .xlsx or .pdf, chosen by its suffix; its folder is made if missing."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        xlsx(out)
    elif suffix == ".pdf":
        pdf(out)
    else:
        raise UsageError(_("Write a .xlsx or a .pdf file, not {name}.").format(name=out.name))


def write_table(report: TableReport, out: Path) -> None:
    """Write ``report`` as .xlsx or .pdf, chosen by ``out``'s suffix."""
    write_by_suffix(
        out, xlsx=lambda path: write_xlsx(report, path), pdf=lambda path: write_pdf(report, path)
    )
