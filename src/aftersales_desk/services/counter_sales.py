"""Counter sales 配件零售: parts (and engine oil) sold over the counter to a walk-in customer with
a printed, gaplessly numbered receipt; returns against the receipt; and the daily cash-up by
payment method. Payments are recorded, not processed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from aftersales_desk.data.models.parts import StockDocument, StockDocumentLine, StockMovement
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.reports.slips import PAYMENT_LABELS
from aftersales_desk.services.auth import require
from aftersales_desk.services.documents import LineInput, post_document
from aftersales_desk.services.settings import SettingsService

PAYMENT_METHODS = tuple(PAYMENT_LABELS)


@dataclass(frozen=True, slots=True)
class SaleLine:
    part_id: uuid.UUID
    bin_id: uuid.UUID
    qty: int
    unit_price: int | None = None  # default: the part's sale price
    discount: int = 0  # minor units off the line


@dataclass(frozen=True, slots=True)
class CashUpRow:
    method: str
    label: str
    sales: int  # number of receipts
    takings: int
    refunds: int
    net: int


@dataclass(frozen=True, slots=True)
class ReturnableLine:
    line_id: uuid.UUID
    part_id: uuid.UUID
    bin_id: uuid.UUID
    line_no: int
    sold: int
    returned: int
    unit_net: int  # what one piece was paid, after its discount (minor units, rounded down)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day ``day`` as a UTC interval (the counter closes by the wall clock)."""
    start = datetime.combine(day, time()).astimezone()
    return start, start + timedelta(days=1)


class CounterSales:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def sell(
        self,
        lines: list[SaleLine],
        *,
        payment_method: str,
        customer_name: str = "",
        customer_phone: str = "",
        note: str = "",
    ) -> str:
        """Post a counter sale and return its receipt number.

        The discount of the whole sale may not exceed the branch's limit
        (``parts_discount_limit_percent``) unless the actor may approve.
        """
        require(self.actor, Permission.POST_STOCK)
        if payment_method not in PAYMENT_METHODS:
            raise ValidationError(
                _("Unknown payment method: {value}").format(value=payment_method),
                field="payment_method",
            )
        limit = int(SettingsService(self.db, self.actor).get("parts_discount_limit_percent"))
        with self.db.uow(self.actor, write=True) as uow:
            doc = post_document(
                uow.session,
                self.actor,
                "sale",
                [LineInput(x.part_id, x.bin_id, x.qty, x.unit_price, x.discount) for x in lines],
                payment_method=payment_method,
                customer_name=customer_name.strip()[:100],
                customer_phone=customer_phone.strip()[:40],
                note=note[:400],
            )
            discount = sum(x.discount for x in lines)
            gross = doc.total + discount
            if (
                discount
                and not self.actor.can(Permission.APPROVE)
                and discount * 100 > (gross * limit)
            ):
                raise RefusedError(
                    _("A discount of more than {limit}% needs the manager's approval.").format(
                        limit=limit
                    )
                )
            uow.commit()
            return doc.number

    def returnable(self, number: str) -> list[ReturnableLine]:
        """The lines of sale ``number`` with what is still returnable."""
        with self.db.uow(self.actor) as uow:
            sale = self._sale(uow.session, number)
            return self._returnable(uow.session, sale)

    def _sale(self, s, number: str) -> StockDocument:
        sale = s.scalars(
            select(StockDocument).where(
                StockDocument.branch_id == self.actor.branch_id,
                StockDocument.number == number.strip().upper(),
            )
        ).first()
        if sale is None or sale.kind != "sale":
            raise UsageError(_("No counter-sale receipt numbered {number}.").format(number=number))
        return sale

    def _returnable(self, s, sale: StockDocument) -> list[ReturnableLine]:
        returned = dict(
            s.execute(
                select(StockDocumentLine.original_line_id, func.sum(StockDocumentLine.qty))
                .join(StockDocument, StockDocument.id == StockDocumentLine.document_id)
                .where(
                    StockDocument.original_id == sale.id,
                    StockDocument.status == "posted",
                )
                .group_by(StockDocumentLine.original_line_id)
            ).all()
        )
        out = []
        for line in s.scalars(
            select(StockDocumentLine)
            .where(StockDocumentLine.document_id == sale.id)
            .order_by(StockDocumentLine.line_no)
        ):
            out.append(
                ReturnableLine(
                    line.id,
                    line.part_id,
                    line.bin_id,
                    line.line_no,
                    line.qty,
                    int(returned.get(line.id, 0) or 0),
                    line.amount // line.qty,
                )
            )
        return out

    def return_sale(self, number: str, quantities: dict[int, int], *, reason: str) -> str:
        """Take parts back against receipt ``number``: ``quantities`` maps line no. → pieces.
        The refund is what the pieces were paid; they go back into stock at their sale cost."""
        require(self.actor, Permission.POST_STOCK)
        if not reason.strip():
            raise ValidationError(_("Give the reason for the return."), field="reason")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            sale = self._sale(s, number)
            if sale.status != "posted":
                raise RefusedError(_("The receipt {number} is void.").format(number=sale.number))
            by_no = {r.line_no: r for r in self._returnable(s, sale)}
            lines: list[LineInput] = []
            costs: dict[int, int] = {}
            for line_no, qty in sorted(quantities.items()):
                if qty == 0:
                    continue
                r = by_no.get(line_no)
                if r is None:
                    raise ValidationError(
                        _("The receipt has no line {n}.").format(n=line_no), field="line"
                    )
                if qty < 0 or qty > r.sold - r.returned:
                    raise ValidationError(
                        _("Line {n}: at most {max} can be returned.").format(
                            n=line_no, max=r.sold - r.returned
                        ),
                        field="qty",
                    )
                lines.append(LineInput(r.part_id, r.bin_id, qty, r.unit_net, 0, None, r.line_id))
                cost = s.scalar(
                    select(StockMovement.unit_cost).where(
                        StockMovement.line_id == r.line_id, StockMovement.reverses_id.is_(None)
                    )
                )
                costs[len(lines)] = int(cost or 0)
            if not lines:
                raise ValidationError(_("Nothing to return."), field="qty")
            doc = post_document(
                s,
                self.actor,
                "sale_return",
                lines,
                unit_costs=costs,
                original_id=sale.id,
                payment_method=sale.payment_method,
                customer_name=sale.customer_name,
                customer_phone=sale.customer_phone,
                note=reason.strip()[:400],
            )
            uow.commit()
            return doc.number

    def cash_up(self, day: date) -> list[CashUpRow]:
        """Takings, refunds and net by payment method for the local day ``day`` (void receipts
        excluded). Managers only."""
        require(self.actor, Permission.APPROVE)
        start, end = day_bounds(day)
        with self.db.uow(self.actor) as uow:
            rows = uow.session.execute(
                select(
                    StockDocument.payment_method,
                    StockDocument.kind,
                    func.count(),
                    func.sum(StockDocument.total),
                )
                .where(
                    StockDocument.branch_id == self.actor.branch_id,
                    StockDocument.kind.in_(("sale", "sale_return")),
                    StockDocument.status == "posted",
                    StockDocument.posted_at >= start,
                    StockDocument.posted_at < end,
                )
                .group_by(StockDocument.payment_method, StockDocument.kind)
            ).all()
        agg: dict[str, list[int]] = {m: [0, 0, 0] for m in PAYMENT_METHODS}
        for method, kind, count, total in rows:
            a = agg.setdefault(method, [0, 0, 0])
            if kind == "sale":
                a[0] += count
                a[1] += int(total or 0)
            else:
                a[2] += int(total or 0)
        return [
            CashUpRow(m, _(PAYMENT_LABELS.get(m, m)), a[0], a[1], a[2], a[1] - a[2])
            for m, a in agg.items()
        ]
