"""Stock documents: receipt notes 入库单, issue slips 出库单, returns to stock 退库单, transfers,
scrap and adjustments. Each is posted in one transaction that takes its gapless number, writes its
lines and appends its movements; a document is voided (作废, with a reason) by reversing movements,
never deleted, and keeps its number. Printing counts the prints; every print after the first is a
copy."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import Branch
from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.data.models.parts import (
    Bin,
    Part,
    ServiceProvider,
    StockDocument,
    StockDocumentLine,
    StockMovement,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.reports.slips import SlipData, SlipLine
from aftersales_desk.services.auth import require
from aftersales_desk.services.numbering import next_number
from aftersales_desk.services.pages import Page, keyset, page
from aftersales_desk.services.part_waits import (
    check_void,
    check_work_order_lines,
    flag_arrivals,
    sync_waits,
    unflag_arrivals,
    work_order_by_number,
)
from aftersales_desk.services.stock import Move, post_moves, reverse_moves

DOC_KINDS = ("receipt", "issue", "return", "transfer", "scrap", "adjust", "sale", "sale_return")
DOC_TITLES = {
    "receipt": N_("Receipt note"),
    "issue": N_("Issue slip"),
    "return": N_("Return to stock note"),
    "transfer": N_("Transfer note"),
    "scrap": N_("Scrap note"),
    "adjust": N_("Stock adjustment note"),
    "sale": N_("Counter sale receipt"),
    "sale_return": N_("Sale return receipt"),
}
STATUS_LABELS = {"posted": N_("Posted"), "void": N_("Void")}


@dataclass(frozen=True, slots=True)
class LineInput:
    part_id: uuid.UUID
    bin_id: uuid.UUID
    qty: int  # always positive; the document kind says in or out
    unit_price: int | None = None  # receipt: purchase cost; issue/sale: sale price (default part's)
    discount: int = 0  # minor units off the line (counter sales)
    to_bin_id: uuid.UUID | None = None  # transfers
    original_line_id: uuid.UUID | None = None  # sale returns
    work_order_id: uuid.UUID | None = None  # issue to / return from a work order 维修工单


@dataclass(frozen=True, slots=True)
class DocRow:
    id: uuid.UUID
    number: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    posted_at: datetime
    posted_by: str
    party: str
    total: int
    print_count: int
    void_reason: str


# direction of each document's movements (+1 into stock, -1 out of it)
_SIGN = {
    "receipt": 1,
    "issue": -1,
    "return": 1,
    "scrap": -1,
    "sale": -1,
    "sale_return": 1,
}


def _check_lines(
    s: Session, actor: Actor, kind: str, lines: list[LineInput]
) -> dict[uuid.UUID, Part]:
    """Validate the lines; returns their parts by id (one query for parts, one for bins)."""
    if not lines:
        raise ValidationError(_("A document needs at least one line."), field="lines")
    parts = {
        p.id: p for p in s.scalars(select(Part).where(Part.id.in_({x.part_id for x in lines})))
    }
    bin_ids = {x.bin_id for x in lines} | {x.to_bin_id for x in lines if x.to_bin_id}
    bins = {b.id: b for b in s.scalars(select(Bin).where(Bin.id.in_(bin_ids)))}
    for i, line in enumerate(lines, start=1):
        if kind == "adjust":
            if line.qty == 0:
                raise ValidationError(
                    _("Line {n}: the quantity cannot be zero.").format(n=i), field="qty"
                )
        elif line.qty <= 0:
            raise ValidationError(
                _("Line {n}: the quantity must be a positive whole number.").format(n=i),
                field="qty",
            )
        part = parts.get(line.part_id)
        if part is None:
            raise ValidationError(_("Line {n}: no such part.").format(n=i), field="part")
        if not part.active and kind == "receipt":
            raise ValidationError(
                _("Line {n}: the part {part} is no longer active.").format(n=i, part=part.part_no),
                field="part",
            )
        for bin_id in (line.bin_id, line.to_bin_id):
            if bin_id is None:
                continue
            b = bins.get(bin_id)
            if b is None or b.branch_id != actor.branch_id:
                raise ValidationError(_("Line {n}: no such bin.").format(n=i), field="bin")
        if kind == "transfer" and (line.to_bin_id is None or line.to_bin_id == line.bin_id):
            raise ValidationError(
                _("Line {n}: a transfer needs a different target bin.").format(n=i), field="bin"
            )
        if line.discount < 0 or (line.unit_price is not None and line.unit_price < 0):
            raise ValidationError(
                _("Line {n}: prices and discounts cannot be negative.").format(n=i),
                field="price",
            )
    check_work_order_lines(s, actor, kind, lines)
    return parts


def post_document(
    s: Session,
    actor: Actor,
    kind: str,
    lines: list[LineInput],
    *,
    unit_costs: dict[int, int] | None = None,
    at: datetime | None = None,
    **header: object,
) -> StockDocument:
    """Number, write and post a document in the caller's transaction (see module docstring).
    ``at`` back-dates the posting (demo data and imports of old paper slips only)."""
    parts = _check_lines(s, actor, kind, lines)
    number = next_number(s, actor, kind)
    now = at or utcnow()
    doc = StockDocument(
        id=uuid.uuid4(),
        branch_id=actor.branch_id,
        kind=kind,
        series_id=number.series_id,
        seq=number.seq,
        number=number.text,
        status="posted",
        posted_at=now,
        posted_by=actor.username,
        **header,
    )
    s.add(doc)
    s.flush()
    moves: list[Move] = []
    total = 0
    for i, line in enumerate(lines, start=1):
        part = parts[line.part_id]
        if line.unit_price is not None:
            price = line.unit_price
        else:
            price = part.purchase_price if kind == "receipt" else part.sale_price
        amount = abs(line.qty) * price - line.discount
        if amount < 0:
            raise ValidationError(
                _("Line {n}: the discount is larger than the line.").format(n=i), field="discount"
            )
        row = StockDocumentLine(
            id=uuid.uuid4(),
            document_id=doc.id,
            line_no=i,
            part_id=line.part_id,
            bin_id=line.bin_id,
            to_bin_id=line.to_bin_id,
            qty=line.qty,
            unit_price=price,
            discount=line.discount,
            amount=amount,
            original_line_id=line.original_line_id,
            work_order_id=line.work_order_id,
        )
        s.add(row)
        total += amount
        cost = (unit_costs or {}).get(i)
        if kind == "transfer":
            assert line.to_bin_id is not None
            moves.append(Move(line.part_id, line.bin_id, -line.qty, kind, line_id=row.id))
            moves.append(Move(line.part_id, line.to_bin_id, line.qty, kind, line_id=row.id))
        elif kind == "adjust":
            moves.append(Move(line.part_id, line.bin_id, line.qty, kind, line_id=row.id))
        elif kind == "receipt":
            moves.append(Move(line.part_id, line.bin_id, line.qty, kind, price, row.id))
        else:
            sign = _SIGN[kind]
            moves.append(Move(line.part_id, line.bin_id, sign * line.qty, kind, cost, row.id))
    doc.total = total
    s.flush()
    post_moves(s, actor, moves, document_id=doc.id, at=now)
    _after_posting(s, doc, lines)
    return doc


def _after_posting(s: Session, doc: StockDocument, lines: list[LineInput]) -> None:
    """Work orders waiting for parts: a receipt flags the waits it covers; an issue to or return
    from a work order settles its waits (and the order's status) — same transaction."""
    if doc.kind == "receipt":
        received: dict[uuid.UUID, int] = defaultdict(int)
        for line in lines:
            received[line.part_id] += line.qty
        flag_arrivals(s, doc, received)
    pairs = {(x.work_order_id, x.part_id) for x in lines if x.work_order_id is not None}
    if pairs:
        s.flush()
        sync_waits(s, pairs)


def void_document(s: Session, actor: Actor, doc: StockDocument, reason: str) -> None:
    """Void ``doc`` in the caller's transaction: reversing movements, status void, number kept."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Give the reason for voiding."), field="reason")
    if doc.status == "void":
        raise RefusedError(_("The document {number} is already void.").format(number=doc.number))
    pending = s.scalar(
        select(
            exists().where(StockDocument.original_id == doc.id, StockDocument.status == "posted")
        )
    )
    if pending:
        raise RefusedError(
            _("The document {number} has returns posted against it; void those first.").format(
                number=doc.number
            )
        )
    check_void(s, doc)
    movements = list(
        s.scalars(
            select(StockMovement)
            .where(StockMovement.document_id == doc.id, StockMovement.reverses_id.is_(None))
            .order_by(StockMovement.seq)
        )
    )
    reverse_moves(s, actor, movements, note=_("void {number}").format(number=doc.number))
    doc.status = "void"
    doc.void_reason = reason[:400]
    doc.voided_at = utcnow()
    doc.voided_by = actor.username
    if doc.kind == "receipt":
        unflag_arrivals(s, doc)
    pairs = set(
        s.execute(
            select(StockDocumentLine.work_order_id, StockDocumentLine.part_id).where(
                StockDocumentLine.document_id == doc.id,
                StockDocumentLine.work_order_id.is_not(None),
            )
        ).all()
    )
    if pairs:
        s.flush()
        sync_waits(s, pairs)


def doc_party(doc: StockDocument, provider: str | None) -> str:
    if doc.technician:
        return doc.technician
    if provider:
        return provider
    if doc.customer_name:
        return doc.customer_name
    return doc.supplier


def slip_data(s: Session, doc: StockDocument, *, copy: bool) -> SlipData:
    branch = s.get(Branch, doc.branch_id)
    assert branch is not None
    provider = s.get(ServiceProvider, doc.provider_id) if doc.provider_id else None
    original = s.get(StockDocument, doc.original_id) if doc.original_id else None
    lines = []
    for line, part, b in s.execute(
        select(StockDocumentLine, Part, Bin)
        .join(Part, Part.id == StockDocumentLine.part_id)
        .join(Bin, Bin.id == StockDocumentLine.bin_id)
        .where(StockDocumentLine.document_id == doc.id)
        .order_by(StockDocumentLine.line_no)
    ):
        to_bin = s.get(Bin, line.to_bin_id) if line.to_bin_id else None
        lines.append(
            SlipLine(
                line_no=line.line_no,
                part_no=part.part_no,
                name=part.name,
                unit=part.unit,
                bin=b.code + (f" → {to_bin.code}" if to_bin else ""),
                qty=line.qty,
                unit_price=line.unit_price,
                discount=line.discount,
                amount=line.amount,
            )
        )
    if not lines:
        # a stock count's adjustment has no lines of its own: its movements are its lines
        # (services/counts.py, posting), listed as the count sheet is, by bin and part
        for i, (m, part, b) in enumerate(
            s.execute(
                select(StockMovement, Part, Bin)
                .join(Part, Part.id == StockMovement.part_id)
                .join(Bin, Bin.id == StockMovement.bin_id)
                .where(StockMovement.document_id == doc.id, StockMovement.reverses_id.is_(None))
                .order_by(Bin.code, Part.part_no, StockMovement.seq)
            ),
            start=1,
        ):
            lines.append(
                SlipLine(
                    line_no=i,
                    part_no=part.part_no,
                    name=part.name,
                    unit=part.unit,
                    bin=b.code,
                    qty=m.qty,
                    unit_price=m.unit_cost,
                    discount=0,
                    amount=abs(m.value),
                )
            )
    orders = s.scalars(
        select(WorkOrder.number)
        .join(StockDocumentLine, StockDocumentLine.work_order_id == WorkOrder.id)
        .where(StockDocumentLine.document_id == doc.id)
        .distinct()
        .order_by(WorkOrder.number)
    ).all()
    return SlipData(
        number=doc.number,
        kind=doc.kind,
        title=_(DOC_TITLES[doc.kind]),
        branch_code=branch.code,
        branch_name=branch.name,
        branch_address=branch.address,
        branch_phone=branch.phone,
        posted_at=doc.posted_at,
        posted_by=doc.posted_by,
        technician=doc.technician,
        provider=provider.name if provider else "",
        supplier=doc.supplier,
        customer_name=doc.customer_name,
        customer_phone=doc.customer_phone,
        payment_method=doc.payment_method,
        original_number=original.number if original else "",
        work_order=", ".join(orders),
        note=doc.note,
        lines=lines,
        total=doc.total,
        void=doc.status == "void",
        void_reason=doc.void_reason,
        copy=copy,
        print_no=doc.print_count,
    )


class DocumentService:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    # --- posting --------------------------------------------------------------------------------
    def _post(
        self, kind: str, lines: list[LineInput], *, work_order_no: str = "", **header: object
    ) -> str:
        require(self.actor, Permission.POST_STOCK)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            if work_order_no.strip():
                # the whole document goes to (or comes back from) this work order, except lines
                # that name another one themselves
                wo = work_order_by_number(s, self.actor, work_order_no)
                lines = [x if x.work_order_id else replace(x, work_order_id=wo.id) for x in lines]
                if (
                    kind in ("issue", "return")
                    and not header.get("technician")
                    and not (header.get("provider_id"))
                ):
                    # the order's technician; a return without one is booked to the order
                    header["technician"] = (wo.assignee or (wo.number if kind == "return" else ""))[
                        :100
                    ]
                if kind == "issue" and not header["technician"]:
                    raise ValidationError(
                        _(
                            "Work order {number} has no technician yet: name who takes the parts."
                        ).format(number=wo.number),
                        field="recipient",
                    )
            doc = post_document(s, self.actor, kind, lines, **header)
            uow.commit()
            return doc.number

    def receive(self, lines: list[LineInput], *, supplier: str = "", note: str = "") -> str:
        """Post a receipt note 入库单 (lines' ``unit_price`` is the purchase cost). Returns its
        number."""
        return self._post("receipt", lines, supplier=supplier.strip()[:100], note=note[:400])

    def issue(
        self,
        lines: list[LineInput],
        *,
        technician: str = "",
        provider_id: uuid.UUID | None = None,
        note: str = "",
        work_order_no: str = "",
    ) -> str:
        """Post an issue slip 出库单 to a technician or a service provider, optionally against a
        work order (picked by number or scanned; its technician takes the parts unless another
        is named). Returns its number."""
        technician = technician.strip()
        if not technician and provider_id is None and not work_order_no.strip():
            raise ValidationError(
                _("An issue slip goes to a technician or a service provider."), field="recipient"
            )
        if technician and provider_id is not None:
            raise ValidationError(
                _("An issue slip goes to a technician or a service provider, not both."),
                field="recipient",
            )
        return self._post(
            "issue",
            lines,
            work_order_no=work_order_no,
            technician=technician[:100],
            provider_id=provider_id,
            note=note[:400],
        )

    def return_to_stock(
        self,
        lines: list[LineInput],
        *,
        technician: str = "",
        note: str = "",
        work_order_no: str = "",
    ) -> str:
        """Post a return to stock 退库单 of unused parts, optionally from a work order (which
        reduces what was issued to it)."""
        if not technician.strip() and not work_order_no.strip():
            raise ValidationError(_("Who returns the parts?"), field="technician")
        return self._post(
            "return",
            lines,
            work_order_no=work_order_no,
            technician=technician.strip()[:100],
            note=note[:400],
        )

    def transfer(self, lines: list[LineInput], *, note: str = "") -> str:
        return self._post("transfer", lines, note=note[:400])

    def scrap(self, lines: list[LineInput], *, note: str) -> str:
        if not note.strip():
            raise ValidationError(_("Give the reason for scrapping."), field="note")
        return self._post("scrap", lines, note=note.strip()[:400])

    def adjust(self, lines: list[LineInput], *, note: str) -> str:
        """A manual stock adjustment (signed quantities); managers only."""
        require(self.actor, Permission.APPROVE)
        if not note.strip():
            raise ValidationError(_("Give the reason for the adjustment."), field="note")
        return self._post("adjust", lines, note=note.strip()[:400])

    def _by_number(self, s: Session, number: str) -> StockDocument:
        doc = s.scalars(
            select(StockDocument).where(
                StockDocument.branch_id == self.actor.branch_id,
                StockDocument.number == number.strip().upper(),
            )
        ).first()
        if doc is None:
            raise UsageError(_("No document numbered {number}.").format(number=number))
        return doc

    def void(self, number: str, reason: str) -> None:
        require(self.actor, Permission.POST_STOCK)
        with self.db.uow(self.actor, write=True) as uow:
            void_document(uow.session, self.actor, self._by_number(uow.session, number), reason)
            uow.commit()

    # --- reading --------------------------------------------------------------------------------
    def page(
        self,
        cursor: tuple[datetime, uuid.UUID] | None = None,
        limit: int = 200,
        *,
        kinds: tuple[str, ...] = (),
        status: str = "",
        text: str = "",
    ) -> Page[DocRow]:
        """Documents, newest first (keyset on posted_at, id)."""
        q = (
            select(StockDocument, ServiceProvider.name)
            .outerjoin(ServiceProvider, ServiceProvider.id == StockDocument.provider_id)
            .where(StockDocument.branch_id == self.actor.branch_id)
        )
        if kinds:
            q = q.where(StockDocument.kind.in_(kinds))
        if status:
            q = q.where(StockDocument.status == status)
        text = text.strip()
        if text:
            q = q.where(
                or_(
                    StockDocument.number.contains(text.upper(), autoescape=True),
                    StockDocument.technician.contains(text, autoescape=True),
                    StockDocument.customer_name.contains(text, autoescape=True),
                )
            )
        q = keyset(q, [StockDocument.posted_at, StockDocument.id], cursor, limit, newest_first=True)
        with self.db.uow(self.actor) as uow:
            found = list(uow.session.execute(q))
            return page(found, limit, lambda r: (r.posted_at, r.id), lambda r: _doc_row(*r))

    def view(self, number: str) -> SlipData:
        """The document as it would print (without counting a print)."""
        with self.db.uow(self.actor) as uow:
            doc = self._by_number(uow.session, number)
            return slip_data(uow.session, doc, copy=doc.print_count > 0)

    def for_print(self, number: str) -> SlipData:
        """Count a print and return what to print: the first print is the original, every later
        one is marked as a copy."""
        with self.db.uow(self.actor, write=True) as uow:
            doc = self._by_number(uow.session, number)
            doc.print_count += 1
            data = slip_data(uow.session, doc, copy=doc.print_count > 1)
            uow.commit()
            return data

    def movements_of(self, number: str) -> list[tuple[str, str, int, int, bool]]:
        """(part no., bin, qty, value, is_reversal) of a document's movements, in posting order."""
        with self.db.uow(self.actor) as uow:
            doc = self._by_number(uow.session, number)
            rows = uow.session.execute(
                select(
                    Part.part_no,
                    Bin.code,
                    StockMovement.qty,
                    StockMovement.value,
                    StockMovement.reverses_id,
                )
                .join(Part, Part.id == StockMovement.part_id)
                .join(Bin, Bin.id == StockMovement.bin_id)
                .where(and_(StockMovement.document_id == doc.id))
                .order_by(StockMovement.seq)
            ).all()
        return [(p, b, q, v, r is not None) for p, b, q, v, r in rows]


def _doc_row(d: StockDocument, provider: str | None) -> DocRow:
    return DocRow(
        d.id,
        d.number,
        d.kind,
        _(DOC_TITLES[d.kind]),
        d.status,
        _(STATUS_LABELS[d.status]),
        d.posted_at,
        d.posted_by,
        doc_party(d, provider),
        d.total,
        d.print_count,
        d.void_reason,
    )
