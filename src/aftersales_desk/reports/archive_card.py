"""The customer service card 客户售息卡 as an A4 PDF with the CJK font embedded: the customer,
their vehicles, every visit, what they declined last time and the paper file's missing items."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aftersales_desk.domain.money import format_money
from aftersales_desk.i18n import _, current_language
from aftersales_desk.reports.fonts import register_pdf_font


def write_card_pdf(
    card: Any, branch: Any, out: Path, kind_labels: Mapping[str, str] | None = None
) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_pdf_font()
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=20, alignment=1)
    small = ParagraphStyle("s", fontName=font, fontSize=8.5, leading=11)
    head = ParagraphStyle("h", fontName=font, fontSize=11, leading=15, spaceBefore=6)

    def p(text: str, style=small) -> Paragraph:
        from xml.sax.saxutils import escape

        return Paragraph(escape(str(text or "")), style)

    doc = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{_('Customer service card')} {card.customer_no}",
    )
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8.5),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE7F3")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    story: list[Any] = [
        p(branch.name, ParagraphStyle("b", fontName=font, fontSize=9, alignment=1)),
        p(
            _("Customer service card") + ("" if current_language() == "zh_CN" else "  客户售息卡"),
            title,
        ),
        Spacer(1, 4 * mm),
    ]
    flags = [x for x, on in ((_("VIP"), card.vip), (_("Club member"), card.club_member)) if on]
    info = [
        [_("Customer no."), card.customer_no, _("Name"), card.name],
        [_("Mobile phone"), card.phone, _("Other phone"), card.phone2],
        [_("Address"), card.address, _("Region"), card.region],
        [_("ID / credit code"), card.id_number, _("Marks"), " ".join(flags)],
    ]
    t = Table([[p(c) for c in row] for row in info], colWidths=[28 * mm, 62 * mm, 28 * mm, 68 * mm])
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F0F0F0")),
                ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#F0F0F0")),
            ]
        )
    )
    story += [t, p(_("Vehicles and products"), head)]
    rows = [
        [
            _("Plate"),
            _("VIN"),
            _("Engine no."),
            _("Brand"),
            _("Model"),
            _("Colour"),
            _("Purchase date"),
            _("Mileage"),
        ]
    ]
    for v in card.vehicles:
        rows.append(
            [
                v.plate,
                v.vin,
                v.engine_no,
                v.brand,
                v.model,
                v.colour,
                v.purchase_date.isoformat() if v.purchase_date else "",
                f"{v.mileage_km:,}",
            ]
        )
    t = Table(
        [[p(c) for c in r] for r in rows],
        repeatRows=1,
        colWidths=[20 * mm, 36 * mm, 24 * mm, 16 * mm, 20 * mm, 14 * mm, 22 * mm, 18 * mm],
    )
    t.setStyle(grid)
    story += [t, p(_("Service history"), head)]
    rows = [
        [
            _("Date"),
            _("Plate"),
            _("Type"),
            _("Mileage"),
            _("Work done"),
            _("Parts"),
            _("Amount"),
            _("Advisor"),
            _("Next due"),
        ]
    ]
    for v in card.visits:
        nxt = " ".join(
            x
            for x in (
                v.next_due_date.isoformat() if v.next_due_date else "",
                f"{v.next_due_km:,} km" if v.next_due_km else "",
            )
            if x
        )
        rows.append(
            [
                v.visit_date.isoformat(),
                v.plate,
                (kind_labels or {}).get(v.kind, v.kind),
                f"{v.mileage_km:,}",
                v.items,
                v.parts,
                format_money(v.amount_minor),
                v.advisor,
                nxt,
            ]
        )
    t = Table(
        [[p(c) for c in r] for r in rows],
        repeatRows=1,
        colWidths=[21 * mm, 20 * mm, 11 * mm, 15 * mm, 35 * mm, 26 * mm, 17 * mm, 14 * mm, 26 * mm],
    )
    t.setStyle(grid)
    story.append(t)
    advice = card.pending_advice()
    if advice:
        story.append(p(_("Declined last time"), head))
        story += [p(f"{plate}: {text}") for plate, text in advice]
    missing = card.missing_documents
    story.append(p(_("Paper file"), head))
    story.append(
        p(
            _("Missing: {items}").format(items="、".join(missing))
            if missing
            else _("The file is complete.")
        )
    )
    doc.build(story)
