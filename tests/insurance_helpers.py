"""Shared set-up for the insurance tests: archive vehicles and policies in a line."""

from __future__ import annotations

import uuid
from datetime import date

from aftersales_desk.services.archive import ArchiveService, CustomerInput, VehicleInput
from aftersales_desk.services.insurance import InsuranceService, PolicyInput, one_year_end


def add_vehicle(db, actor, plate: str, name: str = "王建国") -> tuple[uuid.UUID, uuid.UUID]:
    """A new archive customer with one vehicle: (customer id, vehicle id)."""
    archive = ArchiveService(db, actor)
    saved = archive.create_customer(
        CustomerInput(name=name, phone="13812345678"),
        VehicleInput(plate=plate, brand="大众", model="帕萨特"),
    )
    card = archive.card(saved.id)
    return saved.id, card.vehicles[0].id


def insurer_id(db, actor, code: str = "PICC") -> uuid.UUID:
    return next(i.id for i in InsuranceService(db, actor).insurers() if i.code == code)


def policy_input(
    db,
    actor,
    no: str,
    vehicle_id: uuid.UUID,
    start: date,
    *,
    kind: str = "compulsory",
    end: date | None = None,
    premium: int = 95000,
    insurer: str = "PICC",
    **kw,
) -> PolicyInput:
    return PolicyInput(
        policy_no=no,
        insurer_id=insurer_id(db, actor, insurer),
        vehicle_id=vehicle_id,
        kind=kind,
        premium_minor=premium,
        start_date=start,
        end_date=end or one_year_end(start),
        coverages=() if kind == "compulsory" else ("vehicle_damage", "third_party"),
        **kw,
    )
