"""Old parts 旧件: received back from technicians or providers against the issue-slip line they
were replaced by (found by the slip's number or by the work order the part was issued to), tested, then batched into a return-to-factory list 返厂单 (numbered gaplessly,
printable, Excel) that stays open until the factory acknowledges it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from aftersales_desk.data.models import Branch
from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.data.models.parts import (
    OldPart,
    OldPartBatch,
    Part,
    StockDocument,
    StockDocumentLine,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.reports.tables import TableReport, write_table
from aftersales_desk.services.auth import require
from aftersales_desk.services.numbering import next_number
from aftersales_desk.services.pages import Page, keyset, page
from aftersales_desk.services.part_waits import work_order_by_number

TEST_RESULTS = {
    "untested": N_("Not tested"),
    "faulty": N_("Faulty"),
    "no_fault": N_("No fault found"),
    "damaged": N_("Damaged"),
}
BATCH_STATUS = {"open": N_("Open"), "sent": N_("Sent"), "acknowledged": N_("Acknowledged")}


@dataclass(frozen=True, slots=True)
class OldPartRow:
    id: uuid.UUID
    part_no: str
    name: str
    qty: int
    received_at: datetime
    returned_by: str
    slip: str
    work_order: str
    test_result: str
    test_label: str
    batch: str
    batch_status: str
    note: str


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: uuid.UUID
    number: str
    status: str
    status_label: str
    factory: str
    items: int
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None


class OldParts:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def receive(
        self,
        part_id: uuid.UUID,
        qty: int,
        *,
        returned_by: str,
        slip_number: str = "",
        line_no: int | None = None,
        note: str = "",
        work_order_no: str = "",
    ) -> uuid.UUID:
        """Record old parts handed back; with a slip number (or a work order number, or both)
        they are matched to the issue line that replaced them."""
        require(self.actor, Permission.POST_STOCK)
        if qty <= 0:
            raise ValidationError(_("The quantity must be a positive whole number."), field="qty")
        if not returned_by.strip():
            raise ValidationError(_("Who hands the old parts back?"), field="returned_by")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            if s.get(Part, part_id) is None:
                raise ValidationError(_("No such part."), field="part")
            line_id = None
            if work_order_no.strip():
                line_id = self._work_order_line(s, work_order_no, part_id, qty, slip_number)
            elif slip_number.strip():
                slip = s.scalars(
                    select(StockDocument).where(
                        StockDocument.branch_id == self.actor.branch_id,
                        StockDocument.number == slip_number.strip().upper(),
                        StockDocument.kind == "issue",
                    )
                ).first()
                if slip is None:
                    raise ValidationError(
                        _("No issue slip numbered {number}.").format(number=slip_number),
                        field="slip",
                    )
                q = select(StockDocumentLine).where(
                    StockDocumentLine.document_id == slip.id,
                    StockDocumentLine.part_id == part_id,
                )
                if line_no is not None:
                    q = q.where(StockDocumentLine.line_no == line_no)
                line = s.scalars(q.order_by(StockDocumentLine.line_no)).first()
                if line is None:
                    raise ValidationError(
                        _("The slip {number} issued no such part.").format(number=slip.number),
                        field="slip",
                    )
                already = s.scalar(
                    select(func.coalesce(func.sum(OldPart.qty), 0)).where(
                        OldPart.issue_line_id == line.id
                    )
                )
                if already + qty > line.qty:
                    raise ValidationError(
                        _("Only {n} were issued on that line; {m} are back already.").format(
                            n=line.qty, m=already
                        ),
                        field="qty",
                    )
                line_id = line.id
            old = OldPart(
                branch_id=self.actor.branch_id,
                part_id=part_id,
                issue_line_id=line_id,
                qty=qty,
                received_at=utcnow(),
                returned_by=returned_by.strip()[:100],
                note=note[:400],
            )
            s.add(old)
            uow.commit()
            return old.id

    def _work_order_line(
        self, s, work_order_no: str, part_id: uuid.UUID, qty: int, slip_number: str
    ) -> uuid.UUID:
        """The oldest posted issue line of the part to the work order (on the given slip, if
        any) that has room for ``qty`` more old pieces."""
        wo = work_order_by_number(s, self.actor, work_order_no)
        back = (
            select(func.coalesce(func.sum(OldPart.qty), 0))
            .where(OldPart.issue_line_id == StockDocumentLine.id)
            .correlate(StockDocumentLine)
            .scalar_subquery()
        )
        q = (
            select(StockDocumentLine, back)
            .join(StockDocument, StockDocument.id == StockDocumentLine.document_id)
            .where(
                StockDocumentLine.work_order_id == wo.id,
                StockDocumentLine.part_id == part_id,
                StockDocument.kind == "issue",
                StockDocument.status == "posted",
            )
            .order_by(StockDocument.posted_at, StockDocumentLine.line_no)
        )
        if slip_number.strip():
            q = q.where(StockDocument.number == slip_number.strip().upper())
        lines = s.execute(q).all()
        if not lines:
            raise ValidationError(
                _("Work order {number} was issued no such part.").format(number=wo.number),
                field="work_order",
            )
        for line, already in lines:
            if already + qty <= line.qty:
                return line.id
        raise ValidationError(
            _("Only {n} were issued on that line; {m} are back already.").format(
                n=sum(line.qty for line, _a in lines), m=sum(a for _l, a in lines)
            ),
            field="qty",
        )

    def record_test(self, old_part_id: uuid.UUID, result: str, note: str = "") -> None:
        require(self.actor, Permission.POST_STOCK)
        if result not in TEST_RESULTS:
            raise ValidationError(
                _("Unknown test result: {value}").format(value=result), field="result"
            )
        with self.db.uow(self.actor, write=True) as uow:
            old = self._old(uow.session, old_part_id)
            if old.batch_id is not None:
                raise RefusedError(_("This old part is on a return list already."))
            old.test_result, old.tested_at = result, utcnow()
            if note:
                old.note = note[:400]
            uow.commit()

    def _old(self, s, old_part_id: uuid.UUID) -> OldPart:
        old = s.get(OldPart, old_part_id)
        if old is None or old.branch_id != self.actor.branch_id:
            raise UsageError(_("No such old part."))
        return old

    def make_batch(self, old_part_ids: list[uuid.UUID], *, factory: str, note: str = "") -> str:
        """Put tested old parts on a new return-to-factory list; returns its number."""
        require(self.actor, Permission.POST_STOCK)
        if not old_part_ids:
            raise ValidationError(_("Choose the old parts to return."), field="parts")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            olds = [self._old(s, i) for i in old_part_ids]
            for old in olds:
                if old.batch_id is not None:
                    raise RefusedError(_("This old part is on a return list already."))
                if old.test_result == "untested":
                    raise RefusedError(_("Test the old parts before returning them."))
            number = next_number(s, self.actor, "old_batch")
            batch = OldPartBatch(
                id=uuid.uuid4(),
                branch_id=self.actor.branch_id,
                number=number.text,
                status="open",
                factory=factory.strip()[:100],
                note=note[:400],
            )
            s.add(batch)
            s.flush()
            for old in olds:
                old.batch_id = batch.id
            uow.commit()
            return batch.number

    def _batch(self, s, number: str) -> OldPartBatch:
        batch = s.scalars(
            select(OldPartBatch).where(
                OldPartBatch.branch_id == self.actor.branch_id,
                OldPartBatch.number == number.strip().upper(),
            )
        ).first()
        if batch is None:
            raise UsageError(_("No return list numbered {number}.").format(number=number))
        return batch

    def set_batch_status(self, number: str, status: str) -> None:
        """open → sent → acknowledged (by the factory)."""
        require(self.actor, Permission.POST_STOCK)
        order = list(BATCH_STATUS)
        with self.db.uow(self.actor, write=True) as uow:
            batch = self._batch(uow.session, number)
            if status not in BATCH_STATUS or order.index(status) != order.index(batch.status) + 1:
                raise RefusedError(
                    _("A return list goes from open to sent to acknowledged, in that order.")
                )
            batch.status = status
            if status == "sent":
                batch.sent_at = utcnow()
            else:
                batch.acknowledged_at = utcnow()
            uow.commit()

    def page(
        self,
        cursor: tuple[datetime, uuid.UUID] | None = None,
        limit: int = 200,
        *,
        unbatched_only: bool = False,
    ) -> Page[OldPartRow]:
        q = (
            select(OldPart, Part, OldPartBatch, StockDocument.number, WorkOrder.number)
            .join(Part, Part.id == OldPart.part_id)
            .outerjoin(OldPartBatch, OldPartBatch.id == OldPart.batch_id)
            .outerjoin(StockDocumentLine, StockDocumentLine.id == OldPart.issue_line_id)
            .outerjoin(StockDocument, StockDocument.id == StockDocumentLine.document_id)
            .outerjoin(WorkOrder, WorkOrder.id == StockDocumentLine.work_order_id)
            .where(OldPart.branch_id == self.actor.branch_id)
        )
        if unbatched_only:
            q = q.where(OldPart.batch_id.is_(None))
        q = keyset(q, [OldPart.received_at, OldPart.id], cursor, limit, newest_first=True)
        with self.db.uow(self.actor) as uow:
            found = list(uow.session.execute(q))
            return page(found, limit, lambda r: (r.received_at, r.id), lambda r: _old_part_row(*r))

    def batches(self) -> list[BatchRow]:
        with self.db.uow(self.actor) as uow:
            result = uow.session.execute(
                select(OldPartBatch, func.count(OldPart.id))
                .outerjoin(OldPart, OldPart.batch_id == OldPartBatch.id)
                .where(OldPartBatch.branch_id == self.actor.branch_id)
                .group_by(OldPartBatch.id)
                .order_by(OldPartBatch.created_at.desc())
            ).all()
            return [
                BatchRow(
                    b.id,
                    b.number,
                    b.status,
                    _(BATCH_STATUS[b.status]),
                    b.factory,
                    n,
                    b.created_at,
                    b.sent_at,
                    b.acknowledged_at,
                )
                for b, n in result
            ]

    def write_batch(self, number: str, out: Path) -> None:
        """The return-to-factory list as .xlsx or .pdf (by ``out``'s suffix)."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            batch = self._batch(s, number)
            branch = s.get(Branch, batch.branch_id)
            rows = [
                [
                    i,
                    p.part_no,
                    p.name,
                    o.qty,
                    _(TEST_RESULTS[o.test_result]),
                    o.returned_by,
                    o.received_at.astimezone().date().isoformat(),
                    o.note,
                ]
                for i, (o, p) in enumerate(
                    s.execute(
                        select(OldPart, Part)
                        .join(Part, Part.id == OldPart.part_id)
                        .where(OldPart.batch_id == batch.id)
                        .order_by(Part.part_no)
                    ),
                    start=1,
                )
            ]
            report = TableReport(
                title=_("Return-to-factory list {number}").format(number=batch.number),
                subtitle=" · ".join(
                    x
                    for x in (
                        branch.name if branch else "",
                        batch.factory,
                        _(BATCH_STATUS[batch.status]),
                    )
                    if x
                ),
                columns=[
                    _("No."),
                    _("Part no."),
                    _("Part name"),
                    _("Qty"),
                    _("Test result"),
                    _("Returned by"),
                    _("Received"),
                    _("Note"),
                ],
                rows=rows,
                barcode=batch.number,
            )
        write_table(report, out)


def _old_part_row(
    o: OldPart, p: Part, b: OldPartBatch | None, slip: str | None, order: str | None
) -> OldPartRow:
    return OldPartRow(
        o.id,
        p.part_no,
        p.name,
        o.qty,
        o.received_at,
        o.returned_by,
        slip or "",
        order or "",
        o.test_result,
        _(TEST_RESULTS[o.test_result]),
        b.number if b else "",
        _(BATCH_STATUS[b.status]) if b else "",
        o.note,
    )
