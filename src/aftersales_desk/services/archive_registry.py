"""The archive's registrations: ``ls customers|vehicles|visits|work-orders``, the ``check``
invariant that the search index is in step, and the demo filler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import aftersales_desk.services.archive_demo  # noqa: F401  (registers the demo filler)
from aftersales_desk.data.models.archive import (
    Customer,
    SearchEntry,
    Vehicle,
    Visit,
    WorkOrder,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import mask_id, mask_phone
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive_work_orders import to_row, work_order_query
from aftersales_desk.services.integrity import register as register_check
from aftersales_desk.services.listing import iso, register, stream


def _bool_filter(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "y")


@register("customers")
def _customers(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    show = actor.can(Permission.VIEW_PERSONAL_DATA) and _log_unmasked_listing(db, actor, filters)
    q = select(Customer).where(Customer.branch_id == actor.branch_id).order_by(Customer.customer_no)
    for key in ("customer_no", "name", "region", "kind"):
        if key in filters:
            q = q.where(getattr(Customer, key) == filters[key])
    for key in ("vip", "club_member"):
        if key in filters:
            q = q.where(getattr(Customer, key).is_(_bool_filter(filters[key])))
    return stream(
        db,
        actor,
        q,
        lambda c: {
            "id": str(c.id),
            "customer_no": c.customer_no,
            "name": c.name,
            "kind": c.kind,
            "phone": c.phone if show else mask_phone(c.phone),
            "phone2": c.phone2 if show else mask_phone(c.phone2),
            "address": c.address,
            "region": c.region,
            "id_number": c.id_number if show else mask_id(c.id_number),
            "club_member": c.club_member,
            "vip": c.vip,
            "consent_call": c.consent_call,
            "notes": c.notes,
            "created_at": iso(c.created_at),
        },
    )


def _log_unmasked_listing(db: Database, actor: Actor, filters: dict[str, str]) -> bool:
    """Listing customers with their phone and ID numbers is an export of personal data: it is
    recorded in the audit log first. A database that cannot be written (a read-only copy)
    cannot record it, so the numbers stay masked there."""
    from aftersales_desk.data import audit

    if db.readonly:
        return False
    with db.uow(actor, write=True) as uow:
        audit.record(
            uow.session,
            "export",
            "customers",
            note=_("ls customers {filters}, phone and ID numbers unmasked")
            .format(filters=" ".join(f"{k}={v}" for k, v in sorted(filters.items())))
            .strip(),
        )
        uow.commit()
    return True


@register("vehicles")
def _vehicles(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    q = (
        select(Vehicle, Customer.customer_no)
        .join(Customer, Customer.id == Vehicle.customer_id)
        .where(Vehicle.branch_id == actor.branch_id)
        .order_by(Customer.customer_no, Vehicle.id)
    )
    for key in ("vin", "plate", "brand", "model"):
        if key in filters:
            q = q.where(getattr(Vehicle, key) == filters[key])
    if "customer_no" in filters:
        q = q.where(Customer.customer_no == filters["customer_no"])
    with db.uow(actor) as uow:
        for v, no in uow.session.execute(q.execution_options(yield_per=1000)):
            yield {
                "id": str(v.id),
                "customer_id": str(v.customer_id),
                "customer_no": no,
                "vin": v.vin,
                "engine_no": v.engine_no,
                "plate": v.plate,
                "brand": v.brand,
                "model": v.model,
                "colour": v.colour,
                "purchase_date": iso(v.purchase_date),
                "sale_date": iso(v.sale_date),
                "mileage_km": v.mileage_km,
            }


@register("visits")
def _visits(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    q = (
        select(Visit, Customer.customer_no, Vehicle.plate, Vehicle.vin)
        .join(Customer, Customer.id == Visit.customer_id)
        .outerjoin(Vehicle, Vehicle.id == Visit.vehicle_id)
        .where(Visit.branch_id == actor.branch_id)
        .order_by(Visit.visit_date, Visit.id)
    )
    if "kind" in filters:
        q = q.where(Visit.kind == filters["kind"])
    if "customer_no" in filters:
        q = q.where(Customer.customer_no == filters["customer_no"])
    if "from" in filters:
        q = q.where(Visit.visit_date >= filters["from"])
    if "to" in filters:
        q = q.where(Visit.visit_date <= filters["to"])
    with db.uow(actor) as uow:
        for v, no, plate, vin in uow.session.execute(q.execution_options(yield_per=1000)):
            yield {
                "id": str(v.id),
                "customer_id": str(v.customer_id),
                "customer_no": no,
                "vehicle_id": str(v.vehicle_id) if v.vehicle_id else None,
                "plate": plate or "",
                "vin": vin or "",
                "work_order_id": str(v.work_order_id) if v.work_order_id else None,
                "visit_date": iso(v.visit_date),
                "mileage_km": v.mileage_km,
                "kind": v.kind,
                "free_campaign": v.free_campaign,
                "items": v.items,
                "parts": v.parts,
                "labour_minor": v.labour_minor,
                "parts_minor": v.parts_minor,
                "amount_minor": v.amount_minor,
                "advisor": v.advisor,
                "next_due_date": iso(v.next_due_date),
                "next_due_km": v.next_due_km,
                "declined_advice": v.declined_advice,
            }


@register("work-orders")
def _work_orders(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    q = work_order_query().where(WorkOrder.branch_id == actor.branch_id)
    if "status" in filters:
        q = q.where(WorkOrder.status == filters["status"])
    if "number" in filters:
        q = q.where(WorkOrder.number == filters["number"])
    q = q.order_by(WorkOrder.opened_at, WorkOrder.id)
    with db.uow(actor) as uow:
        for r in uow.session.execute(q.execution_options(yield_per=1000)):
            w = to_row(r)
            yield {
                "id": str(w.id),
                "number": w.number,
                "customer_id": str(w.customer_id),
                "customer_no": w.customer_no,
                "customer_name": w.customer_name,
                "vehicle_id": str(w.vehicle_id) if w.vehicle_id else None,
                "plate": w.plate,
                "kind": w.kind,
                "fault": w.fault,
                "advisor": w.advisor,
                "assignee": w.assignee,
                "assignee_is_provider": w.assignee_is_provider,
                "mileage_km": w.mileage_km,
                "status": w.status,
                "opened_at": iso(w.opened_at),
                "dispatched_at": iso(w.dispatched_at),
                "closed_at": iso(w.closed_at),
                "cancel_reason": w.cancel_reason,
            }


@register_check(N_("Archive search index"))
def _search_index(s: Session) -> list[str]:
    customers = s.scalar(select(func.count()).select_from(Customer)) or 0
    entries = s.scalar(select(func.count()).select_from(SearchEntry)) or 0
    problems = []
    if customers != entries:
        problems.append(
            _("The archive search index has {n} entries for {m} customers.").format(
                n=entries, m=customers
            )
        )
    try:  # FTS5's own check of the index against its content table (writes nothing)
        s.execute(text("INSERT INTO archive_fts(archive_fts, rank) VALUES ('integrity-check', 1)"))
    except Exception as exc:
        if "readonly" not in str(exc) and "read-only" not in str(exc):
            problems.append(
                _("The archive search index does not match its content: {error}").format(
                    error=str(exc).splitlines()[0]
                )
            )
    return problems


@register_check(N_("Closed work orders have their visit"))
def _closed_orders(s: Session) -> list[str]:
    rows = s.execute(
        select(WorkOrder.number)
        .outerjoin(Visit, Visit.work_order_id == WorkOrder.id)
        .where(WorkOrder.status == "closed", Visit.id.is_(None))
        .limit(20)
    ).all()
    return [
        _("Work order {number} is closed but has no visit on the service card.").format(number=r[0])
        for r in rows
    ]
