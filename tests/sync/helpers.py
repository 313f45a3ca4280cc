"""Desks (branch devices) for the sync tests, and a comparable picture of the synced state."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.services.bootstrap import local_actor
from aftersales_desk.services.sync import client


@dataclass
class Desk:
    name: str
    path: Path
    db: Database
    actor: Actor
    url: str

    def sync(self) -> client.SyncResult:
        return client.sync(self.db, self.actor, self.url)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        # through the desk's pooled connection (a new one parses the whole schema each time)
        conn = self.db.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("BEGIN")
            rows = cur.execute(sql, params).fetchall()
            cur.execute("COMMIT")
            return rows
        finally:
            conn.close()

    def one(self, sql: str, params: tuple = ()) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def add_customer(self, no: str, name: str, phone: str = "") -> uuid.UUID:
        from aftersales_desk.data.models.archive import Customer

        with self.db.uow(self.actor, write=True) as uow:
            c = Customer(branch_id=self.actor.branch_id, customer_no=no, name=name, phone=phone)
            uow.session.add(c)
            uow.commit()
            return c.id

    def edit_customer(self, cid: uuid.UUID, **values: Any) -> None:
        from aftersales_desk.data.models.archive import Customer

        with self.db.uow(self.actor, write=True) as uow:
            c = uow.session.get(Customer, cid)
            assert c is not None
            for k, v in values.items():
                setattr(c, k, v)
            uow.commit()

    def delete_customer(self, cid: uuid.UUID) -> None:
        from aftersales_desk.data.models.archive import Customer

        with self.db.uow(self.actor, write=True) as uow:
            c = uow.session.get(Customer, cid)
            assert c is not None
            uow.session.delete(c)
            uow.commit()

    def customer(self, cid: uuid.UUID) -> dict[str, Any] | None:
        rows = self.rows(
            "SELECT name, phone, address, region FROM customers WHERE id = ?", (cid.hex,)
        )
        if not rows:
            return None
        return dict(zip(("name", "phone", "address", "region"), rows[0], strict=True))

    def close(self) -> None:
        self.db.dispose()


def first_desk(template: Path, folder: Path, url: str, name: str = "A") -> Desk:
    path = folder / f"{name}.sqlite"
    shutil.copy(template, path)
    db = Database(path)
    return Desk(name, path, db, local_actor(db), url)


def join_desk(folder: Path, url: str, name: str) -> Desk:
    path = folder / f"{name}.sqlite"
    db, _result = client.join(path, url, device_code=name)
    return Desk(name, path, db, local_actor(db), url)


def synced_state(desk: Desk) -> dict[str, list[tuple]]:
    """Every synced table's rows (synced columns only), sorted: equal on converged desks."""
    out: dict[str, list[tuple]] = {}
    raw = desk.db.engine.raw_connection()
    try:
        conn = raw.cursor()
        for t in cap.synced_tables():
            cols = [c.name for c in cap.sync_columns(t)]
            collist = ", ".join(f'"{c}"' for c in cols)
            where = " WHERE branch_id IS NOT NULL" if "branch_id" in t.c else ""
            out[t.name] = sorted(
                conn.execute(f'SELECT {collist} FROM "{t.name}"{where}').fetchall(), key=repr
            )
    finally:
        raw.close()
    return out


def derived_state(desk: Desk) -> dict[str, list[tuple]]:
    """The stock caches (never synced, rebuilt from the ledger)."""
    with sqlite3.connect(desk.path) as conn:
        return {
            "stock_balances": sorted(
                conn.execute("SELECT branch_id, part_id, bin_id, qty FROM stock_balances")
            ),
            "part_stock": sorted(
                conn.execute("SELECT branch_id, part_id, qty, value FROM part_stock")
            ),
        }


def central_rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def first_user_id(desk: Desk) -> uuid.UUID:
    from aftersales_desk.data.models import User

    with desk.db.uow() as uow:
        return uow.session.scalars(select(User.id)).first()
