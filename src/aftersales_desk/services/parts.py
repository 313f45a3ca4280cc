"""The parts counter's registrations: ``ls parts`` / ``ls slips`` / ``ls old-parts`` /
``ls part-waits`` / ``ls work-order-parts`` / ``ls tools``, the ``check`` invariants (ledger balances, gapless numbers), the reports and the
``demo`` filler. The use cases live in the modules imported here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, select

import aftersales_desk.services.numbering
import aftersales_desk.services.parts_demo
import aftersales_desk.services.parts_reports
import aftersales_desk.services.stock  # noqa: F401  (ledger check)
from aftersales_desk.data.models.parts import (
    Part,
    PartStock,
    ServiceProvider,
    StockDocument,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import _
from aftersales_desk.services.listing import iso, register, stream
from aftersales_desk.services.old_parts import OldParts
from aftersales_desk.services.part_waits import PartWaits
from aftersales_desk.services.tools import ToolRegister


@register("parts")
def _ls_parts(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    q = (
        select(Part, PartStock)
        .outerjoin(
            PartStock, and_(PartStock.part_id == Part.id, PartStock.branch_id == actor.branch_id)
        )
        .order_by(Part.part_no)
    )
    if "category" in filters:
        q = q.where(Part.category == filters["category"])
    if "part_no" in filters:
        q = q.where(Part.part_no == filters["part_no"].upper())
    if "active" in filters:
        q = q.where(Part.active.is_(filters["active"].lower() in ("1", "true", "yes")))
    with db.uow(actor) as uow:
        for part, ps in uow.session.execute(q.execution_options(yield_per=1000)):
            yield {
                "id": str(part.id),
                "part_no": part.part_no,
                "name": part.name,
                "model_fit": part.model_fit,
                "unit": part.unit,
                "category": part.category,
                "default_bin": part.default_bin,
                "purchase_price": part.purchase_price,
                "sale_price": part.sale_price,
                "min_qty": part.min_qty,
                "max_qty": part.max_qty,
                "barcode": part.barcode,
                "active": part.active,
                "on_hand": ps.qty if ps else 0,
                "avg_cost": ps.avg_cost if ps else 0,
                "stock_value": ps.value if ps else 0,
            }


@register("slips")
def _ls_slips(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Every numbered stock document (issue slips, receipt notes, counter-sale receipts …)."""
    q = (
        select(StockDocument)
        .where(StockDocument.branch_id == actor.branch_id)
        .order_by(StockDocument.posted_at, StockDocument.id)
    )
    if "kind" in filters:
        q = q.where(StockDocument.kind == filters["kind"])
    if "status" in filters:
        q = q.where(StockDocument.status == filters["status"])
    if "number" in filters:
        q = q.where(StockDocument.number == filters["number"].upper())
    with db.uow(actor) as uow:
        providers = dict(
            uow.session.execute(select(ServiceProvider.id, ServiceProvider.name)).all()
        )
    return stream(
        db,
        actor,
        q,
        lambda d: {
            "id": str(d.id),
            "number": d.number,
            "kind": d.kind,
            "status": d.status,
            "posted_at": iso(d.posted_at),
            "posted_by": d.posted_by,
            "technician": d.technician,
            "provider": providers.get(d.provider_id, "") if d.provider_id else "",
            "supplier": d.supplier,
            "customer_name": d.customer_name,
            "payment_method": d.payment_method,
            "total": d.total,
            "print_count": d.print_count,
            "void_reason": d.void_reason,
            "voided_at": iso(d.voided_at),
        },
    )


@register("old-parts")
def _ls_old_parts(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    service = OldParts(db, actor)
    cursor = None
    while True:
        page = service.page(cursor, 500)
        for r in page.rows:
            yield {
                "id": str(r.id),
                "part_no": r.part_no,
                "name": r.name,
                "qty": r.qty,
                "received_at": iso(r.received_at),
                "returned_by": r.returned_by,
                "slip": r.slip,
                "work_order": r.work_order,
                "test_result": r.test_result,
                "batch": r.batch,
                "note": r.note,
            }
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@register("tools")
def _ls_tools(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    overdue = filters.get("overdue", "").lower() in ("1", "true", "yes")
    for t in ToolRegister(db, actor).list(overdue_only=overdue):
        yield {
            "id": str(t.id),
            "code": t.code,
            "name": t.name,
            "condition": t.condition,
            "borrower": t.borrower,
            "lent_at": iso(t.lent_at),
            "due_at": iso(t.due_at),
            "overdue": t.overdue,
        }


@register("part-waits")
def _ls_part_waits(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Work orders waiting for parts 待件工单: open ones, longest waiting first (``all=1``: also
    fulfilled and cancelled ones; ``arrived=1``: only those whose part arrived)."""
    service = PartWaits(db, actor)
    yes = ("1", "true", "yes")
    open_only = filters.get("all", "").lower() not in yes
    arrived_only = filters.get("arrived", "").lower() in yes
    cursor = None
    while True:
        page = service.page(cursor, 500, open_only=open_only, arrived_only=arrived_only)
        for r in page.rows:
            yield {
                "id": str(r.id),
                "work_order": r.work_order_no,
                "work_order_status": r.work_order_status,
                "customer_name": r.customer_name,
                "plate": r.plate,
                "part_no": r.part_no,
                "name": r.part_name,
                "qty": r.qty,
                "issued_qty": r.issued_qty,
                "status": r.status,
                "since": iso(r.since),
                "days_waiting": r.days_waiting,
                "requested_by": r.requested_by,
                "arrived": r.arrived,
                "arrived_at": iso(r.arrived_at),
                "arrival_document": r.arrival_document,
                "note": r.note,
            }
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@register("work-order-parts")
def _ls_work_order_parts(
    db: Database, actor: Actor, filters: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """The parts issued to one work order (``work_order=WO…``) and returned from it, with their
    cost: quantities and money are negative for returns, zero on void slips."""
    number = filters.get("work_order", "").strip()
    if not number:
        raise UsageError(_("Name the work order: --filter work_order=NUMBER"))
    service = PartWaits(db, actor)
    parts = service.work_order_parts(service.find_work_order(number).id)
    for x in parts.lines:
        yield {
            "work_order": parts.work_order.number,
            "document": x.document,
            "kind": x.kind,
            "document_status": x.document_status,
            "posted_at": iso(x.posted_at),
            "line_no": x.line_no,
            "part_no": x.part_no,
            "name": x.part_name,
            "unit": x.unit,
            "qty": x.qty,
            "cost": x.cost,
            "amount": x.amount,
        }
