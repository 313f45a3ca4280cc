"""Small builders for parts tests: a bin or two and a few catalogue parts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.services.parts_catalog import PartInput, PartsCatalog


@dataclass
class Shop:
    bins: dict[str, uuid.UUID]
    parts: dict[str, uuid.UUID]


def make_shop(db: Database, actor: Actor, n_parts: int = 3) -> Shop:
    cat = PartsCatalog(db, actor)
    bins = {code: cat.save_bin(code, f"货架 {code}") for code in ("A-01", "B-02")}
    parts = {}
    for i in range(1, n_parts + 1):
        no = f"P{i:04d}"
        parts[no] = cat.save(
            PartInput(
                part_no=no,
                name=f"机油滤清器 {i}",
                unit="个",
                purchase_price=1000 * i,
                sale_price=1500 * i,
                default_bin="A-01",
                min_qty=2,
                max_qty=20,
                category="滤清器",
                barcode=f"69{i:011d}",
            )
        )
    return Shop(bins, parts)


def make_work_order(db: Database, actor: Actor, *, name: str = "张三", dispatch: str = "李师傅"):
    """A customer with a car and an open work order for it, dispatched to ``dispatch`` (left
    ``opened`` when empty). Returns the ``WorkOrderRow``."""
    from aftersales_desk.services.archive import ArchiveService, CustomerInput, VehicleInput
    from aftersales_desk.services.archive_work_orders import WorkOrderService

    saved = ArchiveService(db, actor).create_customer(
        CustomerInput(name=name, phone="13800138000"), VehicleInput(plate="京A12345")
    )
    orders = WorkOrderService(db, actor)
    row = orders.open(saved.id, fault="刹车异响，更换前刹车片")
    if dispatch:
        row = orders.dispatch(row.id, dispatch)
    return row
