"""PDF of stock documents: issue slips, receipt notes and counter-sale receipts.

Slips come in A4, A5 (landscape) and 241×140 mm continuous form, with a Code 128 barcode of the
number, the branch header, the lines, totals and signature boxes; counter-sale receipts also come
as an 80 mm roll. The CJK font is embedded so the Chinese text prints and can be extracted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from aftersales_desk.domain.money import format_money
from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import N_, _
from aftersales_desk.reports.fonts import register_pdf_font

SLIP_SIZES: dict[str, tuple[float, float]] = {
    "A4": A4,
    "A5": landscape(A5),
    "241x140": (241 * mm, 140 * mm),
}
RECEIPT_SIZES = ("80mm", "A5")
PAYMENT_LABELS = {
    "cash": N_("Cash"),
    "wechat": N_("WeChat Pay"),
    "alipay": N_("Alipay"),
    "card": N_("Bank card"),
}


@dataclass(frozen=True, slots=True)
class SlipLine:
    line_no: int
    part_no: str
    name: str
    unit: str
    bin: str
    qty: int
    unit_price: int
    discount: int
    amount: int


@dataclass(frozen=True)
class SlipData:
    number: str
    kind: str
    title: str
    branch_code: str
    branch_name: str
    branch_address: str
    branch_phone: str
    posted_at: datetime
    posted_by: str
    technician: str = ""
    provider: str = ""
    supplier: str = ""
    customer_name: str = ""
    customer_phone: str = ""
    payment_method: str = ""
    original_number: str = ""
    work_order: str = ""  # the work order(s) 维修工单 the parts went to or came back from
    note: str = ""
    lines: list[SlipLine] = field(default_factory=list)
    total: int = 0
    void: bool = False
    void_reason: str = ""
    copy: bool = False
    print_no: int = 0


def _local(dt: datetime) -> str:
    return dt.astimezone().strftime("%Y-%m-%d %H:%M")


def _fit(c: Canvas, text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis so it fits ``width``."""
    if c.stringWidth(text, font, size) <= width:
        return text
    while text and c.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _barcode(c: Canvas, value: str, x_right: float, y_top: float, height: float) -> None:
    bc = Code128(value, barHeight=height, barWidth=0.3 * mm, quiet=True, lquiet=4 * mm)
    bc.drawOn(c, x_right - bc.width, y_top - height)


def _marks(c: Canvas, data: SlipData, font: str, width: float, height: float) -> None:
    if data.void:
        c.saveState()
        c.setFillColorRGB(0.85, 0.1, 0.1, alpha=0.35)
        c.setFont(font, min(width, height) / 5)
        c.translate(width / 2, height / 2)
        c.rotate(25)
        c.drawCentredString(0, 0, _("VOID"))
        c.restoreState()


def _party_lines(data: SlipData) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [
        (_("Date"), _local(data.posted_at)),
        (_("Clerk"), data.posted_by),
    ]
    if data.technician:
        out.append((_("Technician"), data.technician))
    if data.provider:
        out.append((_("Service provider"), data.provider))
    if data.supplier:
        out.append((_("Supplier"), data.supplier))
    if data.customer_name or data.customer_phone:
        out.append((_("Customer"), f"{data.customer_name} {data.customer_phone}".strip()))
    if data.payment_method:
        out.append((_("Payment"), _(PAYMENT_LABELS.get(data.payment_method, data.payment_method))))
    if data.original_number:
        out.append((_("Against"), data.original_number))
    if data.work_order:
        out.append((_("Work order"), data.work_order))
    return out


def slip_size(size: str) -> tuple[float, float]:
    """(width, height) in points of a slip paper size; ``UsageError`` for an unknown one."""
    if size not in SLIP_SIZES:
        raise UsageError(
            _("Unknown paper size: {value}").format(value=size) + " (" + ", ".join(SLIP_SIZES) + ")"
        )
    return SLIP_SIZES[size]


def render_slip(data: SlipData, out: Path, *, size: str = "A4") -> None:
    """Write ``data`` as a slip PDF of ``size`` (A4, A5 or 241x140)."""
    width, height = slip_size(size)
    font = register_pdf_font()
    c = Canvas(str(out), pagesize=(width, height), pageCompression=1, initialFontName=font)
    draw_slip(c, data, width, height, font)
    c.save()


def draw_slip(c: Any, data: SlipData, width: float, height: float, font: str) -> None:
    """Lay the slip out on ``c``: a reportlab canvas, or anything with the same drawing calls
    (the window's print preview paints through such an adapter, so paper and PDF match)."""
    small = height < 200 * mm
    margin = (8 if small else 15) * mm
    fs = 8.5 if small else 10
    row_h = fs * 1.7
    c.setTitle(f"{data.title} {data.number}")
    c.setAuthor(data.branch_name)
    # columns: (title, share of width, right aligned)
    cols = [
        (_("No."), 0.05, False),
        (_("Part no."), 0.17, False),
        (_("Part name"), 0.29, False),
        (_("Unit"), 0.06, False),
        (_("Bin"), 0.1, False),
        (_("Qty"), 0.08, True),
        (_("Unit price"), 0.12, True),
        (_("Amount"), 0.13, True),
    ]
    inner = width - 2 * margin
    xs = [margin]
    for _t, share, _r in cols:
        xs.append(xs[-1] + share * inner)
    pages = 1
    y = 0.0

    def header() -> float:
        top = height - margin
        c.setFont(font, fs + 4)
        c.drawString(margin, top - fs - 4, _fit(c, data.branch_name, font, fs + 4, inner * 0.6))
        c.setFont(font, fs + 2)
        title = data.title
        if data.copy:
            title += "  " + _("(COPY {n})").format(n=max(1, data.print_no - 1))
        c.drawString(margin, top - 2 * fs - 12, title)
        c.setFont(font, fs)
        c.drawString(margin, top - 3 * fs - 18, _("No. {number}").format(number=data.number))
        _barcode(c, data.number, width - margin, top, (12 if small else 15) * mm)
        c.setFont(font, fs - 1)
        c.drawRightString(width - margin, top - (12 if small else 15) * mm - fs, data.number)
        yy = top - 3 * fs - 24
        info = _party_lines(data)
        c.setFont(font, fs)
        per_row = 3
        for i in range(0, len(info), per_row):
            x = margin
            for label, value in info[i : i + per_row]:
                c.drawString(x, yy - fs, _fit(c, f"{label}: {value}", font, fs, inner / per_row))
                x += inner / per_row
            yy -= row_h
        yy -= 2
        c.setLineWidth(0.6)
        c.line(margin, yy, width - margin, yy)
        c.setFont(font, fs)
        for (t, _s, right), x0, x1 in zip(cols, xs, xs[1:], strict=False):
            if right:
                c.drawRightString(x1 - 2, yy - fs - 2, t)
            else:
                c.drawString(x0 + 2, yy - fs - 2, t)
        yy -= row_h
        c.line(margin, yy, width - margin, yy)
        _marks(c, data, font, width, height)
        return yy

    def footer_space() -> float:
        return margin + (22 if small else 30) * mm

    y = header()
    for line in data.lines:
        if y - row_h < footer_space():
            c.setFont(font, fs - 1)
            c.drawRightString(width - margin, margin / 2, _("continued…"))
            c.showPage()
            pages += 1
            y = header()
        values = [
            str(line.line_no),
            line.part_no,
            line.name,
            line.unit,
            line.bin,
            str(line.qty),
            format_money(line.unit_price),
            format_money(line.amount),
        ]
        c.setFont(font, fs)
        for (_t, _s, right), x0, x1, v in zip(cols, xs, xs[1:], values, strict=False):
            text = _fit(c, v, font, fs, x1 - x0 - 4)
            if right:
                c.drawRightString(x1 - 2, y - fs - 2, text)
            else:
                c.drawString(x0 + 2, y - fs - 2, text)
        y -= row_h
    c.line(margin, y, width - margin, y)
    qty_total = sum(line.qty for line in data.lines)
    c.setFont(font, fs + 1)
    c.drawString(xs[4] + 2, y - fs - 3, _("Total"))
    c.drawRightString(xs[6] - 2, y - fs - 3, str(qty_total))
    c.drawRightString(xs[8] - 2, y - fs - 3, format_money(data.total, symbol="¥"))
    y -= row_h + 2
    if data.note:
        c.setFont(font, fs)
        c.drawString(
            margin, y - fs, _fit(c, _("Note: {note}").format(note=data.note), font, fs, inner)
        )
        y -= row_h
    if data.void:
        c.setFont(font, fs)
        c.setFillColorRGB(0.8, 0.1, 0.1)
        c.drawString(
            margin,
            y - fs,
            _fit(c, _("VOID: {reason}").format(reason=data.void_reason), font, fs, inner),
        )
        c.setFillColorRGB(0, 0, 0)
    # signature boxes
    box_h = (14 if small else 18) * mm
    labels = (
        [_("Issued by"), _("Received by"), _("Approved by")]
        if data.kind != "receipt"
        else [_("Delivered by"), _("Received by"), _("Approved by")]
    )
    bw = inner / len(labels)
    c.setLineWidth(0.5)
    for i, label in enumerate(labels):
        x = margin + i * bw
        c.rect(x + 2, margin, bw - 4, box_h)
        c.setFont(font, fs - 1)
        c.drawString(x + 5, margin + box_h - fs - 2, label)
    c.setFont(font, fs - 2)
    c.drawString(
        margin,
        margin / 2,
        _fit(c, f"{data.branch_address}  {data.branch_phone}".strip(), font, fs - 2, inner * 0.7),
    )
    if pages > 1:
        c.drawRightString(width - margin, margin / 2, _("{n} pages").format(n=pages))
    c.showPage()


ROLL_FS = 8


def receipt_size(data: SlipData) -> tuple[float, float]:
    """An 80 mm roll receipt is as long as its lines need."""
    n_rows = (
        10
        + len(_party_lines(data))
        + 2 * len(data.lines)
        + (2 if data.void else 0)
        + (1 if data.copy else 0)
    )
    return 80 * mm, n_rows * ROLL_FS * 1.45 + 8 * mm + 14 * mm


def render_receipt(data: SlipData, out: Path, *, size: str = "80mm") -> None:
    """A counter-sale receipt: ``80mm`` roll (height follows the lines) or ``A5``."""
    if size == "A5":
        render_slip(data, out, size="A5")
        return
    if size != "80mm":
        raise UsageError(_("Unknown paper size: {value}").format(value=size) + " (80mm, A5)")
    font = register_pdf_font()
    width, height = receipt_size(data)
    c = Canvas(str(out), pagesize=(width, height), pageCompression=1, initialFontName=font)
    draw_receipt(c, data, width, height, font)
    c.save()


def draw_receipt(c: Any, data: SlipData, width: float, height: float, font: str) -> None:
    """Lay an 80 mm roll receipt out on ``c`` (see ``draw_slip``)."""
    margin = 4 * mm
    fs = ROLL_FS
    lh = fs * 1.45
    inner = width - 2 * margin
    info = _party_lines(data)
    c.setTitle(f"{data.title} {data.number}")
    y = height - margin

    def center(text: str, size: float = fs) -> None:
        nonlocal y
        c.setFont(font, size)
        c.drawCentredString(width / 2, y - size, _fit(c, text, font, size, inner))
        y -= size * 1.45

    center(data.branch_name, fs + 2)
    center(data.title, fs + 1)
    if data.copy:
        center(_("(COPY {n})").format(n=max(1, data.print_no - 1)))
    if data.void:
        center(_("VOID: {reason}").format(reason=data.void_reason))
    bc = Code128(data.number, barHeight=10 * mm, barWidth=0.25 * mm, quiet=True, lquiet=3 * mm)
    bc.drawOn(c, (width - bc.width) / 2, y - 10 * mm)
    y -= 10 * mm + 2
    center(data.number)
    c.setFont(font, fs)
    for label, value in info:
        c.drawString(margin, y - fs, _fit(c, f"{label}: {value}", font, fs, inner))
        y -= lh
    c.line(margin, y - 2, width - margin, y - 2)
    y -= 4
    for line in data.lines:
        c.drawString(margin, y - fs, _fit(c, f"{line.part_no} {line.name}", font, fs, inner))
        y -= lh
        left = f"{line.qty} {line.unit} × {format_money(line.unit_price)}"
        if line.discount:
            left += " − " + format_money(line.discount)
        c.drawString(margin + 3 * mm, y - fs, left)
        c.drawRightString(width - margin, y - fs, format_money(line.amount))
        y -= lh
    c.line(margin, y - 2, width - margin, y - 2)
    y -= 4
    c.setFont(font, fs + 1)
    c.drawString(margin, y - fs - 1, _("Total"))
    c.drawRightString(width - margin, y - fs - 1, format_money(data.total, symbol="¥"))
    y -= lh + 3
    c.setFont(font, fs - 1)
    for text in (data.branch_address, data.branch_phone, _("Thank you for your visit.")):
        if text:
            c.drawCentredString(width / 2, y - fs, _fit(c, text, font, fs - 1, inner))
            y -= lh
    _marks(c, data, font, width, height)
    c.showPage()
