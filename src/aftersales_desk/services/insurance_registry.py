"""The insurance log's registrations: ``ls policies``, ``ls insurers`` and the ``check`` of the
policies' invariants (kept apart from the desk's service in ``services/insurance.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from aftersales_desk.data.models.archive import Vehicle
from aftersales_desk.data.models.insurance import Insurer, Policy
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import normalize_plate
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import integrity, listing
from aftersales_desk.services.insurance import PolicyRow, policy_query


# --- ls policies ---------------------------------------------------------------------------------
@listing.register("policies")
def _ls_policies(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    renewed = aliased(Policy)
    q = (
        policy_query()
        .add_columns(Insurer.code, renewed.policy_no)
        .outerjoin(renewed, renewed.id == Policy.renewed_by_id)
        .where(Policy.branch_id == actor.branch_id)
    )
    if "kind" in filters:
        q = q.where(Policy.kind == filters["kind"])
    if "insurer" in filters:
        q = q.where(Insurer.code == filters["insurer"].upper())
    if "renewal_status" in filters:
        q = q.where(Policy.renewal_status == filters["renewal_status"])
    if "plate" in filters:
        q = q.where(Vehicle.plate == normalize_plate(filters["plate"]))
    if "policy_no" in filters:
        q = q.where(Policy.policy_no == filters["policy_no"].upper())
    q = q.order_by(Policy.issued_on, Policy.id).execution_options(yield_per=listing.BATCH)
    with db.uow(actor) as uow:
        for r in uow.session.execute(q):
            p = PolicyRow(*r[:27])
            yield {
                "id": str(p.id),
                "policy_no": p.policy_no,
                "insurer": r[27],
                "insurer_name": p.insurer,
                "kind": p.kind,
                "coverages": [c for c in p.coverages.split(",") if c],
                "customer_no": p.customer_no,
                "customer_name": p.customer_name,
                "plate": p.plate,
                "vin": p.vin,
                "premium_minor": p.premium_minor,
                "commission_rate_bp": p.commission_rate_bp,
                "commission_minor": p.commission_minor,
                "start_date": p.start_date.isoformat(),
                "end_date": p.end_date.isoformat(),
                "issued_on": p.issued_on.isoformat(),
                "salesperson": p.salesperson,
                "business": p.business,
                "payment": p.payment,
                "renewal_status": p.renewal_status,
                "quoted_minor": p.quoted_minor,
                "lost_reason": p.lost_reason,
                "renewed_by": r[28],
            }


@listing.register("insurers")
def _ls_insurers(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    return listing.stream(
        db,
        actor,
        select(Insurer).order_by(Insurer.sort_order, Insurer.code),
        lambda i: {
            "id": str(i.id),
            "code": i.code,
            "name": i.name,
            "short_name": i.short_name,
            "active": i.active,
        },
    )


# --- check ---------------------------------------------------------------------------------------
@integrity.register(N_("Insurance policies"))
def _check_policies(s: Session) -> list[str]:
    problems: list[str] = []
    other = aliased(Policy)
    clashes = s.execute(
        select(Policy.policy_no, other.policy_no)
        .join(
            other,
            and_(
                other.vehicle_id == Policy.vehicle_id,
                other.kind == Policy.kind,
                other.id > Policy.id,
                other.start_date <= Policy.end_date,
                other.end_date >= Policy.start_date,
            ),
        )
        .limit(20)
    ).all()
    problems += [
        _("Policies {a} and {b} overlap for the same vehicle.").format(a=a, b=b) for a, b in clashes
    ]
    renewed = aliased(Policy)
    bad_links = s.execute(
        select(Policy.policy_no)
        .outerjoin(renewed, renewed.id == Policy.renewed_by_id)
        .where(
            Policy.renewal_status == "renewed",
            or_(
                renewed.id.is_(None),
                renewed.vehicle_id != Policy.vehicle_id,
                renewed.kind != Policy.kind,
            ),
        )
        .limit(20)
    ).all()
    problems += [
        _("Policy {no} is marked renewed without a renewal of the same vehicle and kind.").format(
            no=r[0]
        )
        for r in bad_links
    ]
    return problems
