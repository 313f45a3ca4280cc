"""The parts catalogue (shared master data), the branch's bins and service providers, the stock
list with on-hand quantities, and the instant look-up a barcode scan needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from aftersales_desk.data.models.parts import Bin, Part, PartStock, ServiceProvider
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import UsageError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page, keyset, page


@dataclass(frozen=True, slots=True)
class PartInput:
    part_no: str
    name: str
    model_fit: str = ""
    unit: str = ""
    purchase_price: int = 0
    sale_price: int = 0
    default_bin: str = ""
    min_qty: int = 0
    max_qty: int = 0
    category: str = ""
    barcode: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class PartRow:
    """A part with this branch's stock: what lists, pickers and scans show."""

    id: uuid.UUID
    part_no: str
    name: str
    model_fit: str
    unit: str
    category: str
    default_bin: str
    purchase_price: int
    sale_price: int
    min_qty: int
    max_qty: int
    barcode: str
    active: bool
    on_hand: int
    avg_cost: int
    value: int


@dataclass(frozen=True, slots=True)
class BinRow:
    id: uuid.UUID
    code: str
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class ProviderRow:
    id: uuid.UUID
    code: str
    name: str
    phone: str
    active: bool


def validate_part(data: PartInput) -> PartInput:
    """Trimmed and checked; ``ValidationError`` names the field."""
    part_no = data.part_no.strip().upper()
    if not part_no or len(part_no) > 40:
        raise ValidationError(_("A part number is 1 to 40 characters."), field="part_no")
    if not data.name.strip():
        raise ValidationError(_("The part needs a name."), field="name")
    for key in ("purchase_price", "sale_price", "min_qty", "max_qty"):
        if getattr(data, key) < 0:
            raise ValidationError(_("This value cannot be negative."), field=key)
    if data.max_qty and data.max_qty < data.min_qty:
        raise ValidationError(_("The maximum stock is below the minimum stock."), field="max_qty")
    return PartInput(
        part_no=part_no,
        name=data.name.strip()[:120],
        model_fit=data.model_fit.strip()[:200],
        unit=data.unit.strip()[:16],
        purchase_price=data.purchase_price,
        sale_price=data.sale_price,
        default_bin=data.default_bin.strip().upper()[:20],
        min_qty=data.min_qty,
        max_qty=data.max_qty,
        category=data.category.strip()[:40],
        barcode=data.barcode.strip()[:64],
        active=data.active,
    )


def apply_part(s: Session, data: PartInput) -> tuple[Part, bool]:
    """Insert or update (by part number) in the caller's transaction; returns (part, created)."""
    part = s.scalars(select(Part).where(Part.part_no == data.part_no)).first()
    created = part is None
    if part is None:
        part = Part(part_no=data.part_no)
        s.add(part)
    for f in fields(PartInput):
        if f.name != "part_no" and getattr(part, f.name) != getattr(data, f.name):
            setattr(part, f.name, getattr(data, f.name))
    return part, created


class PartsCatalog:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    # --- parts --------------------------------------------------------------------------------
    def _rows_query(self) -> Any:
        return select(Part, PartStock).outerjoin(
            PartStock,
            and_(PartStock.part_id == Part.id, PartStock.branch_id == self.actor.branch_id),
        )

    @staticmethod
    def _row(part: Part, ps: PartStock | None) -> PartRow:
        return PartRow(
            part.id,
            part.part_no,
            part.name,
            part.model_fit,
            part.unit,
            part.category,
            part.default_bin,
            part.purchase_price,
            part.sale_price,
            part.min_qty,
            part.max_qty,
            part.barcode,
            part.active,
            ps.qty if ps else 0,
            ps.avg_cost if ps else part.purchase_price,
            ps.value if ps else 0,
        )

    def page(
        self,
        cursor: str | None = None,
        limit: int = 200,
        *,
        text: str = "",
        category: str = "",
        active_only: bool = False,
    ) -> Page[PartRow]:
        """Parts ordered by part number (keyset on the unique part number index)."""
        q = self._rows_query()
        text = text.strip()
        if text:
            q = q.where(
                or_(
                    Part.part_no.startswith(text.upper(), autoescape=True),
                    Part.name.contains(text, autoescape=True),
                    Part.model_fit.contains(text, autoescape=True),
                    Part.barcode == text,
                )
            )
        if category:
            q = q.where(Part.category == category)
        if active_only:
            q = q.where(Part.active.is_(True))
        q = keyset(q, [Part.part_no], cursor, limit)
        with self.db.uow(self.actor) as uow:
            found = list(uow.session.execute(q))
            return page(found, limit, lambda r: r.part_no, lambda r: self._row(*r))

    def find_by_code(self, code: str) -> PartRow | None:
        """A scanned or typed code: barcode first, then part number (both exact, indexed)."""
        code = code.strip()
        if not code:
            return None
        with self.db.uow(self.actor) as uow:
            for cond in (Part.barcode == code, Part.part_no == code.upper()):
                hit = uow.session.execute(self._rows_query().where(cond).limit(1)).first()
                if hit is not None:
                    return self._row(hit[0], hit[1])
        return None

    def get(self, part_id: uuid.UUID) -> PartRow:
        with self.db.uow(self.actor) as uow:
            hit = uow.session.execute(self._rows_query().where(Part.id == part_id)).first()
            if hit is None:
                raise UsageError(_("No such part."))
            return self._row(hit[0], hit[1])

    def save(self, data: PartInput) -> uuid.UUID:
        """Create a part or update the one with the same part number."""
        require(self.actor, Permission.EDIT_PARTS)
        data = validate_part(data)
        with self.db.uow(self.actor, write=True) as uow:
            # issue 9: on a desk that syncs, head office keeps the catalogue
            from aftersales_desk.services.sync.central_catalogue import refuse_master_edit

            refuse_master_edit(uow.session, _("part {part}").format(part=data.part_no))
            if data.barcode:
                other = uow.session.scalars(
                    select(Part).where(Part.barcode == data.barcode, Part.part_no != data.part_no)
                ).first()
                if other is not None:
                    raise ValidationError(
                        _("The barcode {code} already belongs to part {part}.").format(
                            code=data.barcode, part=other.part_no
                        ),
                        field="barcode",
                    )
            part, _created = apply_part(uow.session, data)
            uow.commit()
            return part.id

    def categories(self) -> list[str]:
        with self.db.uow(self.actor) as uow:
            return [
                c
                for c in uow.session.scalars(
                    select(Part.category).distinct().order_by(Part.category)
                )
                if c
            ]

    # --- bins -----------------------------------------------------------------------------------
    def bins(self, *, active_only: bool = True) -> list[BinRow]:
        with self.db.uow(self.actor) as uow:
            q = select(Bin).where(Bin.branch_id == self.actor.branch_id).order_by(Bin.code)
            if active_only:
                q = q.where(Bin.active.is_(True))
            return [BinRow(b.id, b.code, b.name, b.active) for b in uow.session.scalars(q)]

    def save_bin(self, code: str, name: str = "", *, active: bool = True) -> uuid.UUID:
        require(self.actor, Permission.EDIT_PARTS)
        code = code.strip().upper()
        if not code or len(code) > 20:
            raise ValidationError(_("A bin code is 1 to 20 characters."), field="code")
        with self.db.uow(self.actor, write=True) as uow:
            b = uow.session.scalars(
                select(Bin).where(Bin.branch_id == self.actor.branch_id, Bin.code == code)
            ).first()
            if b is None:
                b = Bin(branch_id=self.actor.branch_id, code=code)
                uow.session.add(b)
            b.name, b.active = name.strip()[:100], active
            uow.commit()
            return b.id

    # --- service providers --------------------------------------------------------------------
    def providers(self, *, active_only: bool = True) -> list[ProviderRow]:
        with self.db.uow(self.actor) as uow:
            q = (
                select(ServiceProvider)
                .where(ServiceProvider.branch_id == self.actor.branch_id)
                .order_by(ServiceProvider.code)
            )
            if active_only:
                q = q.where(ServiceProvider.active.is_(True))
            return [
                ProviderRow(p.id, p.code, p.name, p.phone, p.active) for p in uow.session.scalars(q)
            ]

    def save_provider(
        self, code: str, name: str, phone: str = "", *, active: bool = True
    ) -> uuid.UUID:
        require(self.actor, Permission.EDIT_PARTS)
        code = code.strip().upper()
        if not code or len(code) > 20:
            raise ValidationError(_("A provider code is 1 to 20 characters."), field="code")
        if not name.strip():
            raise ValidationError(_("The service provider needs a name."), field="name")
        with self.db.uow(self.actor, write=True) as uow:
            p = uow.session.scalars(
                select(ServiceProvider).where(
                    ServiceProvider.branch_id == self.actor.branch_id,
                    ServiceProvider.code == code,
                )
            ).first()
            if p is None:
                p = ServiceProvider(branch_id=self.actor.branch_id, code=code)
                uow.session.add(p)
            p.name, p.phone, p.active = name.strip()[:100], phone.strip()[:40], active
            uow.commit()
            return p.id
