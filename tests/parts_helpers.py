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
