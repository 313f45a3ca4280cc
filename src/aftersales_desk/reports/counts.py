"""Stock count paper: the count sheets 盘点表 (PDF, sorted by bin, a page per bin group, no
expected quantity on a blind count, boxes to write the counted quantity in) and the count result
盘点结果 of a posted count (PDF and Excel) with the variance lines, totals per reason and
signature boxes. The service hands over plain rows; labels come translated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftersales_desk.domain.money import MINOR_PER_UNIT
from aftersales_desk.i18n import _
from aftersales_desk.reports.tables import cell_text, write_by_suffix


@dataclass
class CountPaper:
    title: str
    number: str
    branch: str
    facts: list[tuple[str, str]]  # (label, value) under the title: scope, frozen at, status …
    columns: list[str]
    rows: list[list[Any]]
    widths: list[float]  # relative column widths
    money_cols: set[int] = field(default_factory=set)
    group_col: int | None = None  # start a new page when this column's value changes
    totals: list[list[Any]] = field(default_factory=list)  # rows under the table
    signatures: list[tuple[str, str]] = field(default_factory=list)  # (role, name if known)


def write_pdf(paper: CountPaper, out: Path) -> None:
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepTogether,
        LongTable,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    from aftersales_desk.reports.fonts import register_pdf_font

    font = register_pdf_font()
    title_style = ParagraphStyle("t", fontName=font, fontSize=15, leading=19)
    fact_style = ParagraphStyle("f", fontName=font, fontSize=9, leading=12)
    cell_style = ParagraphStyle("c", fontName=font, fontSize=8.5, leading=10.5)
    width = A4[0] - 24 * mm
    doc = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=f"{paper.title} {paper.number}",
    )

    def page_footer(canvas: Any, d: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(
            12 * mm,
            7 * mm,
            f"{paper.branch} · {paper.title} {paper.number}",
        )
        canvas.drawRightString(
            A4[0] - 12 * mm, 7 * mm, _("page {n}").format(n=canvas.getPageNumber())
        )
        canvas.restoreState()

    def head() -> list[Any]:
        bar = Code128(paper.number, barHeight=9 * mm, barWidth=0.28 * mm)
        top = Table(
            [[Paragraph(f"{paper.branch}<br/>{paper.title}", title_style), bar]],
            colWidths=[width - 70 * mm, 70 * mm],
        )
        top.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")])
        )
        facts = " · ".join(f"{label}: {value}" for label, value in paper.facts if value)
        return [top, Paragraph(facts, fact_style), Spacer(1, 3 * mm)]

    total_w = sum(paper.widths)
    col_widths = [width * w / total_w for w in paper.widths]
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.92, 0.95)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 1), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 4),
    ]

    def table(rows: list[list[Any]]) -> Any:
        data = [[Paragraph(c, cell_style) for c in paper.columns]]
        for row in rows:
            data.append(
                [
                    Paragraph(cell_text(v, i in paper.money_cols), cell_style)
                    for i, v in enumerate(row)
                ]
            )
        if not rows:
            data.append(
                [Paragraph(_("Nothing to report."), cell_style)] + [""] * (len(paper.columns) - 1)
            )
        t = LongTable(data, colWidths=col_widths, repeatRows=1)
        t.setStyle(TableStyle(style))
        return t

    groups: list[list[list[Any]]] = []
    if paper.group_col is None:
        groups = [paper.rows]
    else:
        for row in paper.rows:
            if not groups or groups[-1][0][paper.group_col] != row[paper.group_col]:
                groups.append([])
            groups[-1].append(row)
        groups = groups or [[]]
    story: list[Any] = []
    for i, rows in enumerate(groups):
        if i:
            story.append(PageBreak())
        story += head()
        story.append(table(rows))
    if paper.totals:
        t = Table(
            [
                [
                    Paragraph(cell_text(v, j in paper.money_cols), cell_style)
                    for j, v in enumerate(r)
                ]
                for r in paper.totals
            ],
            colWidths=col_widths,
        )
        t.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.Color(0.95, 0.95, 0.95)),
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ]
            )
        )
        story += [t]
    if paper.signatures:
        cells = [
            Paragraph(
                f"{role}<br/><br/>{name or ''}<br/>{_('Signature')}: ________________<br/>"
                f"{_('Date')}: ____________",
                fact_style,
            )
            for role, name in paper.signatures
        ]
        box = Table([cells], colWidths=[width / len(cells)] * len(cells), rowHeights=[30 * mm])
        box.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.5, colors.black),
                    ("INNERGRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [KeepTogether([Spacer(1, 6 * mm), box])]
    doc.build(story, onFirstPage=page_footer, onLaterPages=page_footer)


def write_xlsx(paper: CountPaper, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Border, Font, Side

    wb = Workbook()
    ws = wb.active
    ws.title = paper.title[:31].replace("/", "-")
    ws.append([f"{paper.branch} {paper.title}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("Number"), paper.number])
    for label, value in paper.facts:
        ws.append([label, value])
    ws.append([])
    ws.append(paper.columns)
    head_row = ws.max_row
    for cell in ws[head_row]:
        cell.font = Font(bold=True)
    for row in [*paper.rows, *paper.totals]:
        ws.append(
            [
                (v / MINOR_PER_UNIT if i in paper.money_cols and isinstance(v, int) else v)
                for i, v in enumerate(row)
            ]
        )
    for i in paper.money_cols:
        for (cell,) in ws.iter_rows(min_row=head_row + 1, min_col=i + 1, max_col=i + 1):
            cell.number_format = "#,##0.00"
    for i, w in enumerate(paper.widths):
        ws.column_dimensions[ws.cell(head_row, i + 1).column_letter].width = max(8, w * 4)
    ws.freeze_panes = ws.cell(head_row + 1, 1)
    if paper.signatures:
        ws.append([])
        thin = Side(style="thin")
        ws.append([role for role, _name in paper.signatures])
        r = ws.max_row
        ws.append([name for _role, name in paper.signatures])
        ws.append([f"{_('Signature')}:" for _s in paper.signatures])
        ws.append([f"{_('Date')}:" for _s in paper.signatures])
        for row in ws.iter_rows(min_row=r, max_row=r + 3, max_col=len(paper.signatures)):
            for cell in row:
                cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        for row in range(r + 2, r + 4):
            ws.row_dimensions[row].height = 28
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)


def write_paper(paper: CountPaper, out: Path) -> None:
    write_by_suffix(
        out, xlsx=lambda path: write_xlsx(paper, path), pdf=lambda path: write_pdf(paper, path)
    )
