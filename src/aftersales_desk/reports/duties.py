"""The monthly duty report (``report duties --month``): every occurrence with its deadline, when
and by whom it was done, on time / late / missed, as Excel or PDF (Chinese font embedded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aftersales_desk.i18n import _


@dataclass(frozen=True, slots=True)
class DutyReportRow:
    due_at: datetime  # in the branch's zone
    code: str
    title: str
    state: str  # translated
    done_at: datetime | None  # in the branch's zone
    done_by: str
    note: str
    late: bool
    missed: bool


def _headers() -> list[str]:
    return [_("Due"), _("Code"), _("Duty"), _("State"), _("Done at"), _("Done by"), _("Note")]


def _cells(r: DutyReportRow) -> list[str]:
    return [
        r.due_at.strftime("%Y-%m-%d %H:%M"),
        r.code,
        r.title,
        r.state,
        r.done_at.strftime("%Y-%m-%d %H:%M") if r.done_at else "",
        r.done_by,
        r.note,
    ]


def _summary(rows: Sequence[DutyReportRow]) -> list[tuple[str, int]]:
    done = sum(1 for r in rows if r.done_at is not None)
    return [
        (_("Occurrences"), len(rows)),
        (_("Done"), done),
        (_("of which late"), sum(1 for r in rows if r.late)),
        (_("Missed (overdue, not done)"), sum(1 for r in rows if r.missed)),
    ]


def write_xlsx(out: Path, title: str, subtitle: str, rows: Sequence[DutyReportRow]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = _("Duties")
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([subtitle])
    ws.append([])
    for label, value in _summary(rows):
        ws.append([label, value])
    ws.append([])
    head_row = ws.max_row + 1
    ws.append(_headers())
    for cell in ws[head_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
    red = Font(color="B00020")
    for r in rows:
        ws.append(_cells(r))
        if r.late or r.missed:
            ws.cell(ws.max_row, 4).font = red
    for col, width in zip("ABCDEFG", (18, 16, 60, 12, 18, 12, 30), strict=True):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=head_row + 1):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(head_row + 1, 1)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)


def write_pdf(out: Path, title: str, subtitle: str, rows: Sequence[DutyReportRow]) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from aftersales_desk.reports.fonts import register_pdf_font

    font = register_pdf_font()
    h = ParagraphStyle("h", fontName=font, fontSize=15, leading=20)
    p = ParagraphStyle("p", fontName=font, fontSize=8.5, leading=11)
    tmp = out.with_name(out.name + ".part")
    doc = SimpleDocTemplate(
        str(tmp),
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
    )
    summary = "    ".join(f"{label}: {value}" for label, value in _summary(rows))
    data = [[Paragraph(h_, p) for h_ in _headers()]]
    for r in rows:
        data.append([Paragraph(c.replace("&", "&amp;").replace("<", "&lt;"), p) for c in _cells(r)])
    widths = [28 * mm, 31 * mm, 98 * mm, 18 * mm, 28 * mm, 20 * mm, 50 * mm]
    table = Table(data, colWidths=widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE4EE")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, r in enumerate(rows, start=1):
        if r.late or r.missed:
            style.append(("BACKGROUND", (3, i), (3, i), colors.HexColor("#F8D7DA")))
    table.setStyle(TableStyle(style))
    doc.build(
        [
            Paragraph(title, h),
            Paragraph(subtitle, p),
            Paragraph(summary, p),
            Spacer(1, 4 * mm),
            table,
        ]
    )
    tmp.replace(out)
