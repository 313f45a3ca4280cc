"""A report of several titled tables — figures, then lists — written as Excel (.xlsx, with
openpyxl bar charts beside the tables that have one, long lists on their own sheets) or PDF (A4
landscape, CJK font embedded, reportlab bar charts). Used by the callback queue's reports.

Percent columns hold fractions (0.975) shown as percentages; the xlsx keeps the numbers as numbers
so a manager can go on calculating with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftersales_desk.i18n import _
from aftersales_desk.reports.tables import pdf_grid, start_landscape_pdf, write_by_suffix


@dataclass
class Chart:
    title: str
    label_col: int  # the column whose values label the bars
    value_cols: list[int]  # one series per column
    percent: bool = False


@dataclass
class Section:
    heading: str
    columns: list[str]
    rows: list[list[Any]]
    percent_cols: set[int] = field(default_factory=set)
    chart: Chart | None = None
    own_sheet: bool = False  # a long list: a sheet of its own in Excel


@dataclass
class SectionedReport:
    title: str
    subtitle: str
    sections: list[Section]


def _text(value: Any, percent: bool) -> str:
    if value is None:
        return ""
    if percent and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "✓" if value else ""
    return str(value)


def _sheet_title(text: str, taken: set[str]) -> str:
    base = "".join(c for c in text if c not in "[]:*?/\\")[:28] or "Sheet"
    name, n = base, 2
    while name in taken:
        name, n = f"{base[:25]}-{n}", n + 1
    taken.add(name)
    return name


def _widths(section: Section) -> list[int]:
    widths = [max(6, len(str(c)) * 2) for c in section.columns]
    for row in section.rows[:200]:
        for i, v in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], min(50, len(_text(v, i in section.percent_cols)) + 2))
    return [min(50, w + 2) for w in widths]


def write_xlsx(report: SectionedReport, out: Path) -> None:
    """Streamed (openpyxl write-only): a month of calls is tens of thousands of cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    taken: set[str] = set()
    bold, big, mid = Font(bold=True), Font(bold=True, size=14), Font(bold=True, size=12)

    def styled(ws: Any, value: Any, font: Font | None = None, fmt: str = "") -> Any:
        cell = WriteOnlyCell(ws, value)
        if font is not None:
            cell.font = font
        if fmt:
            cell.number_format = fmt
        return cell

    summary = [s for s in report.sections if not s.own_sheet]
    ws = wb.create_sheet(_sheet_title(_("Summary"), taken))
    widths: dict[int, int] = {}
    for section in summary:
        for i, w in enumerate(_widths(section)):
            widths[i] = max(widths.get(i, 0), w)
    for i, w in widths.items():
        ws.column_dimensions[get_column_letter(i + 1)].width = w
    ws.append([styled(ws, report.title, big)])
    ws.append([report.subtitle])
    ws.append([])
    row = 4
    for section in summary:
        ws.append([styled(ws, section.heading, mid)])
        header = row + 1
        ws.append([styled(ws, c, bold) for c in section.columns])
        pct = section.percent_cols
        for r in section.rows:
            ws.append(
                [
                    styled(ws, v, fmt="0.0%") if i in pct and isinstance(v, int | float) else v
                    for i, v in enumerate(r)
                ]
            )
        last = header + len(section.rows)
        if section.chart is not None and section.rows:
            ch = section.chart
            chart = BarChart()
            chart.title = ch.title
            chart.height, chart.width = 7.5, 16
            if ch.percent:
                chart.y_axis.number_format = "0%"
            for col in ch.value_cols:
                chart.add_data(
                    Reference(ws, min_col=col + 1, min_row=header, max_row=last),
                    titles_from_data=True,
                )
            chart.set_categories(
                Reference(ws, min_col=ch.label_col + 1, min_row=header + 1, max_row=last)
            )
            chart.anchor = f"{get_column_letter(len(section.columns) + 2)}{row}"
            ws.add_chart(chart)
            while last < row + 15:  # leave room for the chart before the next table
                ws.append([])
                last += 1
        ws.append([])
        row = last + 2
    for section in report.sections:
        if not section.own_sheet:
            continue
        sheet = wb.create_sheet(_sheet_title(section.heading, taken))
        for i, w in enumerate(_widths(section)):
            sheet.column_dimensions[get_column_letter(i + 1)].width = w
        sheet.freeze_panes = "A3"
        sheet.append([styled(sheet, section.heading, mid)])
        sheet.append([styled(sheet, c, bold) for c in section.columns])
        pct = section.percent_cols
        for r in section.rows:
            sheet.append(
                [styled(sheet, v, fmt="0.0%") if i in pct else v for i, v in enumerate(r)]
                if pct
                else r
            )
    wb.save(out)


def _pdf_chart(ch: Chart, section: Section, font: str) -> Any:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    palette = [colors.Color(0.22, 0.45, 0.7), colors.Color(0.9, 0.55, 0.2), colors.grey]
    d = Drawing(760, 190)
    d.add(String(10, 175, ch.title, fontName=font, fontSize=10))
    bc = VerticalBarChart()
    bc.x, bc.y, bc.width, bc.height = 40, 40, 560, 125
    data = []
    for col in ch.value_cols:
        data.append([float(r[col] or 0) * (100 if ch.percent else 1) for r in section.rows])
    bc.data = data
    bc.categoryAxis.categoryNames = [str(r[ch.label_col])[:10] for r in section.rows]
    bc.categoryAxis.labels.fontName = font
    bc.categoryAxis.labels.fontSize = 7
    bc.categoryAxis.labels.angle = 30 if len(section.rows) > 8 else 0
    bc.categoryAxis.labels.boxAnchor = "ne" if len(section.rows) > 8 else "n"
    bc.valueAxis.labels.fontName = font
    bc.valueAxis.valueMin = 0
    if ch.percent:
        bc.valueAxis.valueMax = 100
    else:  # counts: whole-number steps
        top = max([v for series in data for v in series] + [1])
        bc.valueAxis.valueStep = max(1, math.ceil(top / 5))
        bc.valueAxis.valueMax = bc.valueAxis.valueStep * math.ceil(top / bc.valueAxis.valueStep)
    for i, colour in enumerate(palette[: len(data)]):
        bc.bars[i].fillColor = colour
    d.add(bc)
    if len(ch.value_cols) > 1:
        legend = Legend()
        legend.x, legend.y = 620, 150
        legend.fontName = font
        legend.fontSize = 8
        legend.colorNamePairs = [
            (palette[i], section.columns[c]) for i, c in enumerate(ch.value_cols)
        ]
        d.add(legend)
    return d


def write_pdf(report: SectionedReport, out: Path) -> None:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    doc, story, font = start_landscape_pdf(out, report.title, report.subtitle, gap_mm=3)
    head_style = ParagraphStyle("h", fontName=font, fontSize=11, leading=15, spaceBefore=6)
    for section in report.sections:
        story.append(Paragraph(section.heading, head_style))
        pct = section.percent_cols
        cells = [[_text(v, i in pct) for i, v in enumerate(row)] for row in section.rows]
        story.append(
            pdf_grid(section.columns, cells, font, width=doc.width, empty=not section.rows)
        )
        if section.chart is not None and section.rows:
            story += [Spacer(1, 2 * mm), _pdf_chart(section.chart, section, font)]
        story.append(Spacer(1, 3 * mm))
    doc.build(story)


def write_sections(report: SectionedReport, out: Path) -> None:
    """Write ``report`` as .xlsx or .pdf, chosen by ``out``'s suffix."""
    write_by_suffix(
        out, xlsx=lambda path: write_xlsx(report, path), pdf=lambda path: write_pdf(report, path)
    )
