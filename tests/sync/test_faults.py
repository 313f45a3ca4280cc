"""Crashes anywhere in push and pull, lost acknowledgements, replayed and reordered batches
(acceptance 3 of issue 9): no partial state, a rerun converges, nothing is duplicated."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest

from aftersales_desk.errors import RefusedError
from aftersales_desk.services.sync import PROTOCOL_VERSION, central, client
from tests.sync.helpers import Desk, central_rows, synced_state


class Crash(Exception):
    pass


class _Counting:
    """Counts the SQL statements of both sides; raises ``Crash`` before statement ``at``."""

    def __init__(self, at: int) -> None:
        self.at, self.n = at, 0

    def tick(self) -> None:
        self.n += 1
        if self.n == self.at:
            raise Crash(f"crash before statement {self.n}")


class _LocalCursor:
    def __init__(self, cur: sqlite3.Cursor, counter: _Counting) -> None:
        self._cur, self._counter = cur, counter

    def execute(self, *args: Any) -> Any:
        self._counter.tick()
        return self._cur.execute(*args)

    def executemany(self, *args: Any) -> Any:
        self._counter.tick()
        return self._cur.executemany(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def _no_duplicates(url: str) -> None:
    dupes = central_rows(
        url,
        "SELECT tbl, pk, count(*) FROM sync_changes WHERE op = 'I' GROUP BY tbl, pk "
        "HAVING count(*) > 1",
    )
    assert dupes == []


def test_a_crash_before_any_statement_of_push_or_pull_leaves_nothing_partial(
    desks, central_url, monkeypatch
):
    a, b = desks
    real_raw = client._raw
    real_execute = psycopg.Cursor.execute
    counter = _Counting(0)
    monkeypatch.setattr(client, "_raw", lambda uow: _LocalCursor(real_raw(uow), counter))

    def central_execute(self, *args: Any, **kwargs: Any) -> Any:
        counter.tick()
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", central_execute)
    at, crashes = 1, 0
    while True:
        cid = a.add_customer(f"F{at:04d}", f"顾客{at}", "13800000000")
        a.edit_customer(cid, phone=f"139{at:08d}")
        b_cid = b.add_customer(f"G{at:04d}", f"客户{at}")
        b.sync()  # something for A to pull
        counter.at, counter.n = at, 0
        try:
            a.sync()
        except Crash:
            crashes += 1
        else:
            break  # the round has fewer statements than ``at``: every point was tried
        counter.at = 0
        # after the crash: either the whole batch is on central or none of it
        on_central = central_rows(
            central_url, "SELECT count(*) FROM customers WHERE id = %s", (cid,)
        )[0][0]
        outbox = a.one("SELECT count(*) FROM sync_outbox")
        assert on_central == 1 or outbox > 0
        a.sync()  # the rerun converges
        assert a.one("SELECT count(*) FROM sync_outbox") == 0
        assert a.customer(cid)["phone"] == f"139{at:08d}"
        assert a.customer(b_cid) is not None
        _no_duplicates(central_url)
        at += 1
    assert crashes >= 10  # push and pull on both sides were interrupted at every statement
    counter.at = 0
    b.sync()
    a.sync()
    assert synced_state(a) == synced_state(b)


def test_lost_acknowledgement_is_resent_and_applied_once(desks, central_url, monkeypatch):
    a, b = desks
    cid = a.add_customer("C0001", "张三")

    def lose_ack(point: str) -> None:
        if point == "push:ack":
            raise Crash("network gone after central committed")

    monkeypatch.setattr(client, "FAULT", lose_ack)
    with pytest.raises(Crash):
        a.sync()
    assert central_rows(central_url, "SELECT count(*) FROM customers WHERE id = %s", (cid,)) == [
        (1,)
    ]
    assert a.one("SELECT count(*) FROM sync_outbox") > 0  # not marked sent without the ack
    monkeypatch.setattr(client, "FAULT", None)
    result = a.sync()
    assert result.replayed == 1 and result.pushed == 0
    assert a.one("SELECT count(*) FROM sync_outbox") == 0
    _no_duplicates(central_url)
    b.sync()
    assert synced_state(a) == synced_state(b)


def _batch(desk: Desk) -> tuple[str, int, list[central.Change], str]:
    client.assign_batches(desk.db, size=2)
    # a batch is a range of outbox ids numbered by its last row (client._batch_range)
    with desk.db.uow() as uow:
        cur = client._raw(uow)
        numbers = [
            r[0]
            for r in cur.execute(
                "SELECT batch_no FROM sync_outbox WHERE batch_no IS NOT NULL ORDER BY batch_no"
            ).fetchall()
        ]
        batches = {no: client._read_batch(cur, no) for no in numbers}
    assert sum(len(b) for b in batches.values()) == desk.one("SELECT count(*) FROM sync_outbox")
    device = desk.one("SELECT id FROM devices WHERE is_local = 1")
    revision = desk.one("SELECT version_num FROM alembic_version")
    return device, min(batches), [batches[k] for k in sorted(batches)], revision


def test_replayed_and_reordered_batches_change_nothing(desks, central_url):
    a, b = desks
    cid = a.add_customer("C0002", "李四")
    a.edit_customer(cid, phone="13811112222")
    a.edit_customer(cid, phone="13833334444")
    device, first, batches, revision = _batch(a)
    assert len(batches) >= 2

    def send(conn: Any, no: int, changes: list[central.Change]) -> central.Ack:
        return central.push_batch(
            conn,
            device_id=device,
            batch_no=no,
            changes=changes,
            protocol=PROTOCOL_VERSION,
            revision=revision,
            device_ms=client._wall_ms(),
        )

    def snapshot() -> list[tuple]:
        return central_rows(
            central_url,
            "SELECT (SELECT count(*) FROM sync_changes), (SELECT count(*) FROM sync_batches), "
            "(SELECT phone FROM customers WHERE id = %s)",
            (cid,),
        )

    with psycopg.connect(a.url) as conn:
        before = snapshot()
        # a later batch before the earlier one: refused whole
        with pytest.raises(RefusedError, match="expected batch"):
            send(conn, first + 1, batches[1])
        assert snapshot() == before
        for i, changes in enumerate(batches):
            send(conn, first + i, changes)
        after = snapshot()
        assert after[0][2] == "13833334444"
        # every batch again, in any order: nothing changes
        for i, changes in reversed(list(enumerate(batches))):
            ack = send(conn, first + i, changes)
            assert ack.replayed
        assert snapshot() == after
    # the desk still holds the batches (no ack reached it): its sync resends and converges
    a.sync()
    assert a.one("SELECT count(*) FROM sync_outbox") == 0
    b.sync()
    assert b.customer(cid)["phone"] == "13833334444"
    _no_duplicates(central_url)
