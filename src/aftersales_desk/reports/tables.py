"""A titled table written as Excel (.xlsx) or PDF (A4 landscape, CJK font embedded): the shape of
the parts counter's lists and reports (replenishment, stock valuation, return-to-factory lists)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        Paragraph(title, title_style),
        Paragraph(
            " · ".join(x for x in (subtitle, _("printed {at}").format(at=printed)) if x),
            sub_style,
        ),
        Spacer(1, gap_mm * mm),
    ]
    return doc, story, font


def pdf_grid(
    columns: list[str], rows: list[list[str]], font: str, *, empty: bool, shade_last: bool = False
) -> Any:
    """A gridded table of text cells whose header row repeats on every page; ``empty`` adds the
    line "Nothing to report.", ``shade_last`` greys the last row (the totals)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import LongTable, Paragraph, TableStyle

    cell_style = ParagraphStyle("c", fontName=font, fontSize=8, leading=10)
    data: list[list[Any]] = [[Paragraph(c, cell_style) for c in columns]]
    data += [[Paragraph(c, cell_style) for c in row] for row in rows]
    if empty:
        data.append([Paragraph(_("Nothing to report."), cell_style)] + [""] * (len(columns) - 1))
    table = LongTable(data, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.92, 0.95)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
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
        pdf_grid(report.columns, cells, font, empty=not report.rows, shade_last=bool(report.totals))
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
