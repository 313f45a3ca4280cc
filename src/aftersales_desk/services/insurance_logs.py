"""The insurance desk's two side logs: accident vehicles received for repair (事故车进厂, with the
claim, the surveyor and the estimate, linked to the archive vehicle and its work order) and
engine-oil sales (机油销售)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from aftersales_desk.data.models.archive import Customer, Vehicle, Visit, WorkOrder
from aftersales_desk.data.models.insurance import AccidentIntake, Insurer, OilSale
from aftersales_desk.domain.archive import normalize_plate
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.insurance import INSURER_NAME, InsuranceDesk, branch_today
from aftersales_desk.services.pages import Page, keyset, page


@dataclass(frozen=True)
class AccidentInput:
    intake_date: date
    plate: str
    insurer_id: uuid.UUID | None = None
    claim_no: str = ""
    towed_in: bool = False
    surveyor: str = ""
    estimate_minor: int = 0
    work_order_id: uuid.UUID | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class AccidentRow:
    id: uuid.UUID
    intake_date: date
    plate: str
    customer_name: str
    insurer: str
    claim_no: str
    towed_in: bool
    surveyor: str
    estimate_minor: int
    work_order_no: str
    visit_date: date | None
    note: str


@dataclass(frozen=True)
class OilSaleInput:
    sold_on: date
    product: str
    quantity: int
    amount_minor: int
    customer_id: uuid.UUID | None = None
    buyer: str = ""
    salesperson: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class OilSaleRow:
    id: uuid.UUID
    sold_on: date
    product: str
    quantity: int
    amount_minor: int
    customer_name: str
    buyer: str
    salesperson: str
    note: str

    @property
    def who(self) -> str:
        return self.customer_name or self.buyer or _("Walk-in")


@dataclass(frozen=True, slots=True)
class WorkOrderChoice:
    id: uuid.UUID
    number: str
    status: str
    kind: str
    opened_on: date


class InsuranceLogs(InsuranceDesk):
    """Use cases of the accident-vehicle and engine-oil pages, for one acting user."""

    # --- accident vehicles --------------------------------------------------------------------
    def work_orders_for_plate(self, plate: str, limit: int = 20) -> list[WorkOrderChoice]:
        """The repair work orders of the archive vehicle with this plate, newest first."""
        plate = normalize_plate(plate)
        if not plate:
            return []
        with self.db.uow(self.actor) as uow:
            rows = uow.session.execute(
                select(
                    WorkOrder.id,
                    WorkOrder.number,
                    WorkOrder.status,
                    WorkOrder.kind,
                    WorkOrder.opened_at,
                )
                .join(Vehicle, Vehicle.id == WorkOrder.vehicle_id)
                .where(WorkOrder.branch_id == self.branch_id, Vehicle.plate == plate)
                .order_by(WorkOrder.opened_at.desc())
                .limit(limit)
            ).all()
        return [WorkOrderChoice(r[0], r[1], r[2], r[3], r[4].date()) for r in rows]

    def create_accident(self, data: AccidentInput) -> uuid.UUID:
        require(self.actor, Permission.EDIT_POLICIES)
        plate = normalize_plate(data.plate)
        if not plate:
            raise ValidationError(_("The plate number is missing."), field="plate")
        if data.estimate_minor < 0:
            raise ValidationError(_("The estimate cannot be negative."), field="estimate")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            if data.intake_date > branch_today(s, self.branch_id) + timedelta(days=1):
                raise ValidationError(_("The intake date is in the future."), field="intake_date")
            if data.insurer_id is not None and s.get(Insurer, data.insurer_id) is None:
                raise ValidationError(_("Unknown insurer."), field="insurer")
            vehicle = s.scalars(
                select(Vehicle)
                .where(Vehicle.branch_id == self.branch_id, Vehicle.plate == plate)
                .limit(1)
            ).first()
            visit_id = None
            if data.work_order_id is not None:
                wo = s.get(WorkOrder, data.work_order_id)
                if wo is None or wo.branch_id != self.branch_id:
                    raise ValidationError(_("Unknown work order."), field="work_order")
                if vehicle is not None and wo.vehicle_id not in (None, vehicle.id):
                    raise ValidationError(
                        _("Work order {no} is for another vehicle.").format(no=wo.number),
                        field="work_order",
                    )
                visit_id = s.scalar(select(Visit.id).where(Visit.work_order_id == wo.id))
            row = AccidentIntake(
                branch_id=self.branch_id,
                intake_date=data.intake_date,
                plate=plate,
                vehicle_id=vehicle.id if vehicle else None,
                customer_id=vehicle.customer_id if vehicle else None,
                insurer_id=data.insurer_id,
                claim_no=data.claim_no.strip()[:40],
                towed_in=data.towed_in,
                surveyor=data.surveyor.strip()[:60],
                estimate_minor=data.estimate_minor,
                work_order_id=data.work_order_id,
                visit_id=visit_id,
                note=data.note.strip()[:400],
            )
            s.add(row)
            uow.commit()
            return row.id

    def accident_page(
        self, cursor: tuple[date, uuid.UUID] | None = None, limit: int = 200
    ) -> Page[AccidentRow]:
        q = (
            select(
                AccidentIntake.id,
                AccidentIntake.intake_date,
                AccidentIntake.plate,
                func.coalesce(Customer.name, ""),
                func.coalesce(INSURER_NAME, ""),
                AccidentIntake.claim_no,
                AccidentIntake.towed_in,
                AccidentIntake.surveyor,
                AccidentIntake.estimate_minor,
                func.coalesce(WorkOrder.number, ""),
                Visit.visit_date,
                AccidentIntake.note,
            )
            .outerjoin(Customer, Customer.id == AccidentIntake.customer_id)
            .outerjoin(Insurer, Insurer.id == AccidentIntake.insurer_id)
            .outerjoin(WorkOrder, WorkOrder.id == AccidentIntake.work_order_id)
            .outerjoin(Visit, Visit.id == AccidentIntake.visit_id)
            .where(AccidentIntake.branch_id == self.branch_id)
        )
        keys = [AccidentIntake.intake_date, AccidentIntake.id]
        q = keyset(q, keys, cursor, limit, newest_first=True)
        with self.db.uow(self.actor) as uow:
            found = uow.session.execute(q).all()
        return page(found, limit, lambda r: (r.intake_date, r.id), lambda r: AccidentRow(*r))

    # --- engine oil ---------------------------------------------------------------------------
    def create_oil_sale(self, data: OilSaleInput) -> uuid.UUID:
        require(self.actor, Permission.EDIT_POLICIES)
        product = data.product.strip()
        if not product:
            raise ValidationError(_("Which oil? The product is missing."), field="product")
        if data.quantity <= 0:
            raise ValidationError(_("The quantity must be more than zero."), field="quantity")
        if data.amount_minor < 0:
            raise ValidationError(_("The amount cannot be negative."), field="amount")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            if data.sold_on > branch_today(s, self.branch_id) + timedelta(days=1):
                raise ValidationError(_("The sale date is in the future."), field="sold_on")
            if data.customer_id is not None:
                c = s.get(Customer, data.customer_id)
                if c is None or c.branch_id != self.branch_id:
                    raise ValidationError(_("The customer is not in the archive."), field="buyer")
            row = OilSale(
                branch_id=self.branch_id,
                sold_on=data.sold_on,
                product=product[:100],
                quantity=data.quantity,
                amount_minor=data.amount_minor,
                customer_id=data.customer_id,
                buyer=data.buyer.strip()[:100],
                salesperson=data.salesperson.strip()[:60],
                note=data.note.strip()[:200],
            )
            s.add(row)
            uow.commit()
            return row.id

    def oil_page(
        self, cursor: tuple[date, uuid.UUID] | None = None, limit: int = 200
    ) -> Page[OilSaleRow]:
        q = (
            select(
                OilSale.id,
                OilSale.sold_on,
                OilSale.product,
                OilSale.quantity,
                OilSale.amount_minor,
                func.coalesce(Customer.name, ""),
                OilSale.buyer,
                OilSale.salesperson,
                OilSale.note,
            )
            .outerjoin(Customer, Customer.id == OilSale.customer_id)
            .where(OilSale.branch_id == self.branch_id)
        )
        q = keyset(q, [OilSale.sold_on, OilSale.id], cursor, limit, newest_first=True)
        with self.db.uow(self.actor) as uow:
            found = uow.session.execute(q).all()
        return page(found, limit, lambda r: (r.sold_on, r.id), lambda r: OilSaleRow(*r))
