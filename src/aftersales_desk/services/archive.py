"""Customer archive use cases: customers, vehicles/products, visits (the service card), the paper
file's document checklist with scans, personal-data masking and reveal, lost customers and churn.

Every write is one unit of work that also rewrites the customer's search entry
(``archive_search.reindex``), so the index is in step with what was committed. Widgets get the
plain dataclasses defined here.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aftersales_desk.data import audit
from aftersales_desk.data.models.archive import (
    CUSTOMER_KINDS,
    VISIT_KINDS,
    Attachment,
    Customer,
    CustomerDocument,
    LostReason,
    SearchEntry,
    Vehicle,
    Visit,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import (
    check_id_number,
    check_phone,
    check_plate,
    check_vin,
    mask_id,
    mask_phone,
)
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive_search import CustomerRow, reindex, rows_from
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page, keyset, page
from aftersales_desk.services.settings import SettingsService

VISIT_KIND_LABELS = {
    "maintenance": N_("Maintenance"),
    "repair": N_("Repair"),
    "warranty": N_("Warranty"),
    "accident": N_("Accident"),
    "campaign": N_("Campaign"),
    "first_service": N_("First service"),
}
LOST_REASONS = {
    "moved": N_("Moved away"),
    "sold": N_("Sold the vehicle"),
    "price": N_("Prices too high"),
    "quality": N_("Unhappy with the service"),
    "competitor": N_("Goes to another workshop"),
    "distance": N_("Too far away"),
    "other": N_("Other"),
}
CUSTOMER_NO_PREFIX = "C"


def kind_label(kind: str) -> str:
    return _(VISIT_KIND_LABELS.get(kind, kind))


# --- inputs and outputs ---------------------------------------------------------------------------
@dataclass
class CustomerInput:
    name: str
    customer_no: str = ""
    kind: str = "person"
    phone: str = ""
    phone2: str = ""
    address: str = ""
    region: str = ""
    id_number: str = ""
    club_member: bool = False
    vip: bool = False
    consent_call: bool = True
    notes: str = ""


@dataclass
class VehicleInput:
    vin: str = ""
    engine_no: str = ""
    plate: str = ""
    brand: str = ""
    model: str = ""
    colour: str = ""
    purchase_date: date | None = None
    sale_date: date | None = None
    mileage_km: int = 0


@dataclass
class VisitInput:
    visit_date: date
    kind: str
    vehicle_id: uuid.UUID | None = None
    mileage_km: int = 0
    free_campaign: bool = False
    items: str = ""
    parts: str = ""
    labour_minor: int = 0
    parts_minor: int = 0
    advisor: str = ""
    next_due_date: date | None = None
    next_due_km: int | None = None
    declined_advice: str = ""


@dataclass(frozen=True, slots=True)
class VehicleRow:
    id: uuid.UUID
    vin: str
    engine_no: str
    plate: str
    brand: str
    model: str
    colour: str
    purchase_date: date | None
    sale_date: date | None
    mileage_km: int


@dataclass(frozen=True, slots=True)
class VisitRow:
    id: uuid.UUID
    vehicle_id: uuid.UUID | None
    plate: str
    visit_date: date
    mileage_km: int
    kind: str
    free_campaign: bool
    items: str
    parts: str
    labour_minor: int
    parts_minor: int
    amount_minor: int
    advisor: str
    next_due_date: date | None
    next_due_km: int | None
    declined_advice: str
    work_order_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class DocumentRow:
    name: str
    received: bool
    received_on: date | None
    attachment_id: uuid.UUID | None
    attachment_name: str


@dataclass
class CustomerCard:
    id: uuid.UUID
    customer_no: str
    name: str
    kind: str
    phone: str
    phone2: str
    address: str
    region: str
    id_number: str
    club_member: bool
    vip: bool
    consent_call: bool
    notes: str
    revealed: bool
    vehicles: list[VehicleRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    documents: list[DocumentRow] = field(default_factory=list)

    @property
    def missing_documents(self) -> list[str]:
        return [d.name for d in self.documents if not d.received]

    def pending_advice(self) -> list[tuple[str, str]]:
        """(plate, advice) the customer declined at each vehicle's latest visit."""
        seen: set[Any] = set()
        out = []
        for v in self.visits:  # newest first
            if v.vehicle_id in seen:
                continue
            seen.add(v.vehicle_id)
            if v.declined_advice.strip():
                out.append((v.plate, v.declined_advice.strip()))
        return out


@dataclass(frozen=True, slots=True)
class Saved:
    id: uuid.UUID
    warnings: tuple[str, ...] = ()


# --- validation ---------------------------------------------------------------------------------
def clean_customer(data: CustomerInput) -> tuple[CustomerInput, list[str]]:
    """The normalised input and its warnings; raises ``ValidationError`` on an error."""
    warnings: list[str] = []
    name = data.name.strip()
    if not name:
        raise ValidationError(_("The customer needs a name."), field="name")
    if len(name) > 100:
        raise ValidationError(_("The name is longer than 100 characters."), field="name")
    if data.kind not in CUSTOMER_KINDS:
        raise ValidationError(_("Unknown customer type: {kind}").format(kind=data.kind), "kind")
    phone = check_phone(data.phone, field="phone")
    phone2 = check_phone(data.phone2, field="phone2")
    ident = check_id_number(data.id_number, data.kind)
    for c in (phone, phone2, ident):
        warnings += c.warnings
    out = CustomerInput(
        name=name,
        customer_no=data.customer_no.strip().upper(),
        kind=data.kind,
        phone=phone.value,
        phone2=phone2.value,
        address=data.address.strip()[:200],
        region=data.region.strip()[:60],
        id_number=ident.value,
        club_member=bool(data.club_member),
        vip=bool(data.vip),
        consent_call=bool(data.consent_call),
        notes=data.notes.strip(),
    )
    return out, warnings


def clean_vehicle(data: VehicleInput) -> tuple[VehicleInput, list[str]]:
    vin = check_vin(data.vin)
    plate = check_plate(data.plate)
    if not vin.value and not plate.value:
        raise ValidationError(_("A vehicle needs a VIN or a plate number."), field="vin")
    if data.mileage_km < 0:
        raise ValidationError(_("The mileage cannot be negative."), field="mileage_km")
    if data.purchase_date and data.purchase_date > date.today() + timedelta(days=1):
        raise ValidationError(_("The purchase date is in the future."), field="purchase_date")
    out = VehicleInput(
        vin=vin.value,
        engine_no=data.engine_no.strip().upper()[:40],
        plate=plate.value,
        brand=data.brand.strip()[:40],
        model=data.model.strip()[:60],
        colour=data.colour.strip()[:20],
        purchase_date=data.purchase_date,
        sale_date=data.sale_date,
        mileage_km=int(data.mileage_km),
    )
    return out, list(vin.warnings + plate.warnings)


def clean_visit(data: VisitInput) -> VisitInput:
    if data.kind not in VISIT_KINDS:
        raise ValidationError(_("Unknown visit type: {kind}").format(kind=data.kind), "kind")
    for name in ("mileage_km", "labour_minor", "parts_minor"):
        if getattr(data, name) < 0:
            raise ValidationError(_("Amounts and mileage cannot be negative."), field=name)
    if data.next_due_date and data.next_due_date < data.visit_date:
        raise ValidationError(
            _("The next maintenance date is before the visit."), field="next_due_date"
        )
    return data


def duplicate_warnings(
    s: Session,
    *,
    phones: list[str],
    plates: list[str],
    vins: list[str],
    customer_id: uuid.UUID | None = None,
    vehicle_id: uuid.UUID | None = None,
) -> list[str]:
    """Other customers or vehicles with the same phone, plate or VIN."""
    out: list[str] = []
    phones = [p for p in phones if p]
    if phones:
        q = select(Customer.customer_no, Customer.name).where(
            or_(Customer.phone.in_(phones), Customer.phone2.in_(phones))
        )
        if customer_id is not None:
            q = q.where(Customer.id != customer_id)
        for no, name in s.execute(q.limit(3)):
            out.append(
                _("The phone number is also on customer {no} {name}.").format(no=no, name=name)
            )
    for col, values, msg in (
        (Vehicle.plate, [p for p in plates if p], N_("Plate {value} is already on {no} {name}.")),
        (Vehicle.vin, [v for v in vins if v], N_("VIN {value} is already on {no} {name}.")),
    ):
        if not values:
            continue
        q = (
            select(col, Customer.customer_no, Customer.name)
            .join(Customer, Customer.id == Vehicle.customer_id)
            .where(col.in_(values))
        )
        if vehicle_id is not None:
            q = q.where(Vehicle.id != vehicle_id)
        for value, no, name in s.execute(q.limit(3)):
            out.append(_(msg).format(value=value, no=no, name=name))
    return out


def next_customer_no(s: Session, branch_id: uuid.UUID | None) -> str:
    """C0000001, C0000002, …: the highest C-number of the branch plus one (index range)."""
    last = s.scalars(
        select(Customer.customer_no)
        .where(
            Customer.branch_id == branch_id,
            Customer.customer_no >= CUSTOMER_NO_PREFIX + "0000000",
            Customer.customer_no <= CUSTOMER_NO_PREFIX + "9999999",
        )
        .order_by(Customer.customer_no.desc())
        .limit(1)
    ).first()
    n = int(last[1:]) + 1 if last and last[1:].isdigit() else 1
    return f"{CUSTOMER_NO_PREFIX}{n:07d}"


def _vehicle_row(v: Vehicle) -> VehicleRow:
    return VehicleRow(
        v.id,
        v.vin,
        v.engine_no,
        v.plate,
        v.brand,
        v.model,
        v.colour,
        v.purchase_date,
        v.sale_date,
        v.mileage_km,
    )


def attachments_dir(db: Database) -> Path:
    """Scans live beside the database: ``<name>.files/ab/abcdef…`` (by SHA-256)."""
    return db.path.with_name(db.path.name + ".files")


# --- the service ----------------------------------------------------------------------------------
class ArchiveService:
    """Customers, vehicles, visits and the paper file of one branch, for one acting user."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    @property
    def reveals(self) -> bool:
        return self.actor.can(Permission.VIEW_PERSONAL_DATA)

    # --- lists ------------------------------------------------------------------------------------
    def page(self, cursor: str | None = None, limit: int = 200) -> Page[CustomerRow]:
        """Customers by customer no., a keyset page at a time."""
        with self.db.uow(self.actor) as uow:
            q = (
                select(
                    Customer.id,
                    Customer.customer_no,
                    Customer.name,
                    Customer.phone,
                    Customer.region,
                    Customer.vip,
                    Customer.club_member,
                    SearchEntry.plates,
                )
                .outerjoin(SearchEntry, SearchEntry.customer_id == Customer.id)
                .where(Customer.branch_id == self.actor.branch_id)
            )
            q = keyset(q, [Customer.customer_no], cursor, limit)
            rows = rows_from(uow.session.execute(q).all(), self.actor)
        return page(rows, limit, lambda r: r.customer_no)

    def find_by_no(self, customer_no: str) -> uuid.UUID | None:
        with self.db.uow(self.actor) as uow:
            return uow.session.scalars(
                select(Customer.id).where(
                    Customer.branch_id == self.actor.branch_id,
                    Customer.customer_no == customer_no.strip().upper(),
                )
            ).first()

    # --- the card ---------------------------------------------------------------------------------
    def card(self, customer_id: uuid.UUID, *, reveal: bool = False) -> CustomerCard:
        """The customer service card: the customer, vehicles, every visit (newest first) and the
        document checklist. ``reveal`` shows phone and ID numbers unmasked (audited)."""
        if reveal:
            require(self.actor, Permission.VIEW_PERSONAL_DATA)
        with self.db.uow(self.actor, write=reveal) as uow:
            s = uow.session
            c = s.get(Customer, customer_id)
            if c is None:
                raise RefusedError(_("This customer no longer exists."))
            vehicles = list(
                s.scalars(
                    select(Vehicle).where(Vehicle.customer_id == c.id).order_by(Vehicle.created_at)
                )
            )
            plates = {v.id: v.plate or v.vin for v in vehicles}
            # straight rows, not entities or typed columns: a card with hundreds of visits opens
            # without building an ORM object, a UUID per vehicle reference or a parsed date per
            # cell (the vehicles' ids are reused, dates parsed once per distinct day)
            vehicle_ids = {v.id.hex: v.id for v in vehicles}
            day = date_cache()
            visits = [
                VisitRow(
                    uuid.UUID(hex=vid),
                    vehicle_ids.get(veh) if veh else None,
                    plates.get(vehicle_ids.get(veh), "") if veh else "",
                    day(visit_date),
                    mileage_km,
                    kind,
                    bool(free_campaign),
                    items,
                    parts,
                    labour_minor,
                    parts_minor,
                    amount_minor,
                    advisor,
                    day(next_due_date) if next_due_date else None,
                    next_due_km,
                    declined_advice,
                    uuid.UUID(hex=work_order) if work_order else None,
                )
                for (
                    vid,
                    veh,
                    visit_date,
                    mileage_km,
                    kind,
                    free_campaign,
                    items,
                    parts,
                    labour_minor,
                    parts_minor,
                    amount_minor,
                    advisor,
                    next_due_date,
                    next_due_km,
                    declined_advice,
                    work_order,
                ) in s.connection().exec_driver_sql(
                    "SELECT id, vehicle_id, visit_date, mileage_km, kind, free_campaign, items, "
                    "parts, labour_minor, parts_minor, amount_minor, advisor, next_due_date, "
                    "next_due_km, declined_advice, work_order_id FROM visits "
                    "WHERE customer_id = ? ORDER BY visit_date DESC, id DESC",
                    (c.id.hex,),
                )
            ]
            documents = self._documents(s, c.id)
            show = reveal or False
            card = CustomerCard(
                c.id,
                c.customer_no,
                c.name,
                c.kind,
                c.phone if show else mask_phone(c.phone),
                c.phone2 if show else mask_phone(c.phone2),
                c.address,
                c.region,
                c.id_number if show else mask_id(c.id_number),
                c.club_member,
                c.vip,
                c.consent_call,
                c.notes,
                show,
                [_vehicle_row(v) for v in vehicles],
                visits,
                documents,
            )
            if reveal:
                audit.record(
                    s,
                    "reveal",
                    "customers",
                    str(c.id),
                    note=_("phone and ID numbers of {no} shown").format(no=c.customer_no),
                )
                uow.commit()
            return card

    def required_documents(self) -> list[str]:
        return list(SettingsService(self.db, self.actor).get("archive_documents"))

    def set_required_documents(self, names: list[str]) -> list[str]:
        """The branch's checklist of a customer's paper file (manager or admin)."""
        clean: list[str] = []
        for name in names:
            name = name.strip()
            if len(name) > 60:
                raise ValidationError(
                    _("A document name has at most 60 characters: {name}").format(name=name),
                    field="archive_documents",
                )
            if name and name not in clean:
                clean.append(name)
        if not clean:
            raise ValidationError(
                _("The checklist needs at least one document."), field="archive_documents"
            )
        SettingsService(self.db, self.actor).update({"archive_documents": clean})
        return clean

    def _documents(self, s: Session, customer_id: uuid.UUID) -> list[DocumentRow]:
        from aftersales_desk.data.models.core import Setting

        setting = s.scalars(
            select(Setting.value).where(
                Setting.branch_id == self.actor.branch_id, Setting.key == "archive_documents"
            )
        ).first()
        from aftersales_desk.services.settings import DEFAULTS

        required = list(setting if setting is not None else DEFAULTS["archive_documents"])
        ticks = {
            d.name: d
            for d in s.scalars(
                select(CustomerDocument).where(CustomerDocument.customer_id == customer_id)
            )
        }
        names = {
            a.id: a.file_name
            for a in s.scalars(
                select(Attachment).where(
                    Attachment.id.in_([d.attachment_id for d in ticks.values() if d.attachment_id])
                )
            )
        }
        out = []
        for name in required + [n for n in ticks if n not in required]:
            d = ticks.get(name)
            out.append(
                DocumentRow(
                    name,
                    bool(d and d.received),
                    d.received_on if d else None,
                    d.attachment_id if d else None,
                    names.get(d.attachment_id, "") if d and d.attachment_id else "",
                )
            )
        return out

    # --- customers ------------------------------------------------------------------------------
    def check_customer(
        self, data: CustomerInput, customer_id: uuid.UUID | None = None
    ) -> list[str]:
        """Warnings (including duplicates) to show before saving; raises on errors."""
        clean, warnings = clean_customer(data)
        with self.db.uow(self.actor) as uow:
            warnings += duplicate_warnings(
                uow.session,
                phones=[clean.phone, clean.phone2],
                plates=[],
                vins=[],
                customer_id=customer_id,
            )
        return warnings

    def create_customer(self, data: CustomerInput, vehicle: VehicleInput | None = None) -> Saved:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        clean, warnings = clean_customer(data)
        vclean = None
        if vehicle is not None:
            vclean, vw = clean_vehicle(vehicle)
            warnings += vw
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            no = clean.customer_no or next_customer_no(s, self.actor.branch_id)
            if s.scalars(
                select(Customer.id).where(
                    Customer.branch_id == self.actor.branch_id, Customer.customer_no == no
                )
            ).first():
                raise ValidationError(
                    _("Customer no. {no} is taken.").format(no=no), field="customer_no"
                )
            values = {f.name: getattr(clean, f.name) for f in fields(clean)}
            values["customer_no"] = no
            c = Customer(branch_id=self.actor.branch_id, **values)
            s.add(c)
            s.flush()
            if vclean is not None:
                s.add(Vehicle(branch_id=self.actor.branch_id, customer_id=c.id, **vars(vclean)))
            reindex(s, [c.id])
            uow.commit()
            return Saved(c.id, tuple(warnings))

    def update_customer(self, customer_id: uuid.UUID, data: CustomerInput) -> Saved:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        require(self.actor, Permission.VIEW_PERSONAL_DATA)  # the form shows them unmasked
        clean, warnings = clean_customer(data)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            c = s.get(Customer, customer_id)
            if c is None:
                raise RefusedError(_("This customer no longer exists."))
            if (
                clean.customer_no
                and clean.customer_no != c.customer_no
                and s.scalars(
                    select(Customer.id).where(
                        Customer.branch_id == self.actor.branch_id,
                        Customer.customer_no == clean.customer_no,
                    )
                ).first()
            ):
                raise ValidationError(
                    _("Customer no. {no} is taken.").format(no=clean.customer_no),
                    field="customer_no",
                )
            for f in fields(clean):
                if f.name == "customer_no" and not clean.customer_no:
                    continue
                setattr(c, f.name, getattr(clean, f.name))
            reindex(s, [c.id])
            uow.commit()
            return Saved(c.id, tuple(warnings))

    def delete_customer(self, customer_id: uuid.UUID) -> None:
        """Only a customer without visits or work orders may be removed (a mistake)."""
        from aftersales_desk.data.models.archive import WorkOrder

        require(self.actor, Permission.EDIT_CUSTOMERS)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            c = s.get(Customer, customer_id)
            if c is None:
                return
            if s.scalars(select(Visit.id).where(Visit.customer_id == c.id).limit(1)).first() or (
                s.scalars(
                    select(WorkOrder.id).where(WorkOrder.customer_id == c.id).limit(1)
                ).first()
            ):
                raise RefusedError(
                    _("{no} has a service history and cannot be deleted.").format(no=c.customer_no)
                )
            for model in (CustomerDocument,):
                for row in s.scalars(select(model).where(model.customer_id == c.id)):
                    s.delete(row)
            for v in s.scalars(select(Vehicle).where(Vehicle.customer_id == c.id)):
                for lr in s.scalars(select(LostReason).where(LostReason.vehicle_id == v.id)):
                    s.delete(lr)
                s.delete(v)
            from sqlalchemy import delete

            from aftersales_desk.data.models.archive import SearchKey

            s.execute(delete(SearchEntry).where(SearchEntry.customer_id == c.id))
            s.execute(delete(SearchKey).where(SearchKey.customer_id == c.id))
            s.delete(c)
            uow.commit()

    # --- vehicles ---------------------------------------------------------------------------------
    def check_vehicle(self, data: VehicleInput, vehicle_id: uuid.UUID | None = None) -> list[str]:
        clean, warnings = clean_vehicle(data)
        with self.db.uow(self.actor) as uow:
            warnings += duplicate_warnings(
                uow.session,
                phones=[],
                plates=[clean.plate],
                vins=[clean.vin],
                vehicle_id=vehicle_id,
            )
        return warnings

    def add_vehicle(self, customer_id: uuid.UUID, data: VehicleInput) -> Saved:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        clean, warnings = clean_vehicle(data)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            if s.get(Customer, customer_id) is None:
                raise RefusedError(_("This customer no longer exists."))
            v = Vehicle(branch_id=self.actor.branch_id, customer_id=customer_id, **vars(clean))
            s.add(v)
            s.flush()
            reindex(s, [customer_id])
            uow.commit()
            return Saved(v.id, tuple(warnings))

    def update_vehicle(self, vehicle_id: uuid.UUID, data: VehicleInput) -> Saved:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        clean, warnings = clean_vehicle(data)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            v = s.get(Vehicle, vehicle_id)
            if v is None:
                raise RefusedError(_("This vehicle no longer exists."))
            for k, value in vars(clean).items():
                setattr(v, k, value)
            reindex(s, [v.customer_id])
            uow.commit()
            return Saved(v.id, tuple(warnings))

    # --- visits -----------------------------------------------------------------------------------
    def add_visit(self, customer_id: uuid.UUID, data: VisitInput) -> Saved:
        require(self.actor, Permission.EDIT_CUSTOMERS)
        clean = clean_visit(data)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            visit = add_visit_row(s, self.actor, customer_id, clean)
            uow.commit()
            return Saved(visit.id)

    # --- documents --------------------------------------------------------------------------------
    def set_document(
        self,
        customer_id: uuid.UUID,
        name: str,
        received: bool,
        received_on: date | None = None,
        scan: Path | None = None,
    ) -> None:
        """Tick (or untick) a document of the customer's file, optionally attaching a scan.

        The scan is copied beside the database under its SHA-256 before the row is written;
        a crash in between leaves an unreferenced file, never a reference to a missing one."""
        require(self.actor, Permission.EDIT_CUSTOMERS)
        name = name.strip()
        if not name:
            raise ValidationError(_("The document needs a name."), field="name")
        attachment: tuple[str, str, int] | None = None
        if scan is not None:
            attachment = store_file(self.db, scan)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            if s.get(Customer, customer_id) is None:
                raise RefusedError(_("This customer no longer exists."))
            d = s.scalars(
                select(CustomerDocument).where(
                    CustomerDocument.customer_id == customer_id, CustomerDocument.name == name
                )
            ).first()
            if d is None:
                d = CustomerDocument(
                    branch_id=self.actor.branch_id, customer_id=customer_id, name=name
                )
                s.add(d)
            d.received = received
            d.received_on = (received_on or date.today()) if received else None
            if attachment is not None:
                sha, file_name, size = attachment
                a = Attachment(
                    branch_id=self.actor.branch_id, sha256=sha, file_name=file_name, size=size
                )
                s.add(a)
                s.flush()
                d.attachment_id = a.id
            uow.commit()

    def attachment_path(self, attachment_id: uuid.UUID) -> tuple[Path, str]:
        """Where a stored scan is, and its original file name."""
        with self.db.uow(self.actor) as uow:
            a = uow.session.get(Attachment, attachment_id)
            if a is None:
                raise RefusedError(_("This attachment no longer exists."))
            path = attachments_dir(self.db) / a.sha256[:2] / a.sha256
            if not path.exists():
                raise RefusedError(
                    _("The file of {name} is missing from {folder}.").format(
                        name=a.file_name, folder=path.parent
                    )
                )
            return path, a.file_name

    def missing_documents_page(
        self, cursor: str | None = None, limit: int = 200
    ) -> Page[tuple[CustomerRow, list[str]]]:
        """Customers whose file lacks required documents, by customer no."""
        required = self.required_documents()
        out: list[tuple[CustomerRow, list[str]]] = []
        last = cursor
        with self.db.uow(self.actor) as uow:
            s = uow.session
            while len(out) < limit:
                q = (
                    select(Customer.id, Customer.customer_no)
                    .where(Customer.branch_id == self.actor.branch_id)
                    .order_by(Customer.customer_no)
                    .limit(500)
                )
                if last is not None:
                    q = q.where(Customer.customer_no > last)
                batch = s.execute(q).all()
                if not batch:
                    last = None
                    break
                ids = [r[0] for r in batch]
                have: dict[uuid.UUID, set[str]] = {}
                for cid, name in s.execute(
                    select(CustomerDocument.customer_id, CustomerDocument.name).where(
                        CustomerDocument.customer_id.in_(ids),
                        CustomerDocument.received.is_(True),
                    )
                ):
                    have.setdefault(cid, set()).add(name)
                lacking = {
                    cid: [n for n in required if n not in have.get(cid, set())] for cid in ids
                }
                want = [cid for cid in ids if lacking[cid]]
                rows = {}
                if want:
                    for r in rows_from(
                        s.execute(
                            select(
                                Customer.id,
                                Customer.customer_no,
                                Customer.name,
                                Customer.phone,
                                Customer.region,
                                Customer.vip,
                                Customer.club_member,
                                SearchEntry.plates,
                            )
                            .outerjoin(SearchEntry, SearchEntry.customer_id == Customer.id)
                            .where(Customer.id.in_(want))
                        ).all(),
                        self.actor,
                    ):
                        rows[r.id] = r
                for cid, no in batch:
                    last = no
                    if cid in rows:
                        out.append((rows[cid], lacking[cid]))
                        if len(out) >= limit:
                            break
                if len(batch) < 500 and len(out) < limit:
                    last = None
                    break
        return Page(out, last if len(out) >= limit else None)


def date_cache() -> Callable[[str], date]:
    """date.fromisoformat with memory: a million visits have a few thousand distinct days."""
    cache: dict[str, date] = {}

    def day(text: str) -> date:
        d = cache.get(text)
        if d is None:
            d = cache[text] = date.fromisoformat(str(text)[:10])
        return d

    return day


def add_visit_row(
    s: Session,
    actor: Actor,
    customer_id: uuid.UUID,
    data: VisitInput,
    *,
    work_order_id: uuid.UUID | None = None,
) -> Visit:
    """Write one visit (also used when a work order is closed) and raise the vehicle's mileage."""
    if s.get(Customer, customer_id) is None:
        raise RefusedError(_("This customer no longer exists."))
    vehicle = None
    if data.vehicle_id is not None:
        vehicle = s.get(Vehicle, data.vehicle_id)
        if vehicle is None or vehicle.customer_id != customer_id:
            raise ValidationError(_("The vehicle is not this customer's."), field="vehicle_id")
    visit = Visit(
        branch_id=actor.branch_id,
        customer_id=customer_id,
        vehicle_id=data.vehicle_id,
        work_order_id=work_order_id,
        visit_date=data.visit_date,
        mileage_km=data.mileage_km,
        kind=data.kind,
        free_campaign=data.free_campaign,
        items=data.items.strip(),
        parts=data.parts.strip(),
        labour_minor=data.labour_minor,
        parts_minor=data.parts_minor,
        amount_minor=data.labour_minor + data.parts_minor,
        advisor=data.advisor.strip()[:60],
        next_due_date=data.next_due_date,
        next_due_km=data.next_due_km,
        declined_advice=data.declined_advice.strip(),
    )
    s.add(visit)
    if vehicle is not None and data.mileage_km > vehicle.mileage_km:
        vehicle.mileage_km = data.mileage_km
    s.flush()
    return visit


def store_file(db: Database, source: Path) -> tuple[str, str, int]:
    """Copy ``source`` into the attachment store; returns (sha256, original name, size)."""
    source = Path(source)
    try:
        h = hashlib.sha256()
        with source.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ValidationError(
            _("Cannot read {file}: {error}").format(file=source, error=exc.strerror or exc)
        ) from None
    sha = h.hexdigest()
    target = attachments_dir(db) / sha[:2] / sha
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    return sha, source.name[:200], source.stat().st_size


def now_date() -> date:
    return utcnow().date()
