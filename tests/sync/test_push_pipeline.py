"""The pipelined push (client.push): while central applies batch n, a helper thread numbers and
reads batch n+1 and removes batch n from the outbox. A crash at any step of any batch leaves
whole batches on both sides, nothing runs after the push has given up, and a rerun converges
with nothing duplicated."""

from __future__ import annotations

import time

import pytest

from aftersales_desk.services.sync import client
from tests.sync.helpers import central_rows, synced_state


class Crash(Exception):
    pass


def _outbox(desk) -> list[tuple]:
    return desk.rows("SELECT id, batch_no FROM sync_outbox ORDER BY id")


@pytest.mark.parametrize("point", ["push:send", "push:ack", "push:local-commit"])
@pytest.mark.parametrize("nth", [1, 2, 4])
def test_a_crash_at_any_step_of_any_batch_of_a_pipelined_push_converges(
    desks, central_url, monkeypatch, point, nth
):
    a, b = desks
    device = a.one("SELECT id FROM devices WHERE is_local = 1")

    def batches_at_central() -> list[tuple]:
        return central_rows(
            central_url,
            "SELECT batch_no, changes FROM sync_batches WHERE device_id = %s ORDER BY batch_no",
            (device,),
        )

    before = len(batches_at_central())
    monkeypatch.setattr(client, "BATCH_SIZE", 3)
    ids = [a.add_customer(f"P{i:04d}", f"顾客{i}", "13800000000") for i in range(8)]
    a.edit_customer(ids[0], phone="13911112222")
    waiting = len(_outbox(a))
    assert waiting >= 6 * 3  # several batches of three
    seen = {"n": 0}

    def crash(at: str) -> None:
        if at == point:
            seen["n"] += 1
            if seen["n"] == nth:
                raise Crash(f"{at} #{nth}")

    monkeypatch.setattr(client, "FAULT", crash)
    with pytest.raises(Crash):
        a.sync()
    after_crash = _outbox(a)
    time.sleep(0.3)
    assert _outbox(a) == after_crash  # the helper thread did nothing after push gave up
    # the batches before the crashed one are marked sent; the desk keeps the rest, oldest first
    assert len(after_crash) == waiting - 3 * (nth - 1)
    assert [r[0] for r in after_crash] == sorted(r[0] for r in after_crash)
    # central has whole batches: before the crash point (send), up to it (ack lost), or one
    # more (marking failed while the next batch was already on its way)
    sent = {"push:send": nth - 1, "push:ack": nth, "push:local-commit": nth + 1}[point]
    recorded = batches_at_central()[before:]
    assert [n for _no, n in recorded] == [3] * sent
    monkeypatch.setattr(client, "FAULT", None)
    a.sync()
    assert _outbox(a) == []
    assert (
        central_rows(
            central_url,
            "SELECT count(*) FROM customers WHERE customer_no LIKE 'P%%'",
        )[0][0]
        == 8
    )
    dupes = central_rows(
        central_url,
        "SELECT tbl, pk FROM sync_changes WHERE op = 'I' GROUP BY tbl, pk HAVING count(*) > 1",
    )
    assert dupes == []
    b.sync()
    assert synced_state(a) == synced_state(b)
    assert b.customer(ids[0])["phone"] == "13911112222"


def test_a_push_sends_what_was_waiting_when_it_began_batch_by_batch(desks, central_url):
    a, _b = desks
    for i in range(7):
        a.add_customer(f"Q{i:04d}", f"客户{i}")
    waiting = len(_outbox(a))
    client.assign_batches(a.db, 4, batches=1)  # one batch numbered ahead (an earlier crash)
    # a batch is numbered by its last row: the four oldest rows
    numbered = a.rows("SELECT id FROM sync_outbox WHERE batch_no IS NOT NULL")
    assert len(numbered) == 1
    assert a.one("SELECT count(*) FROM sync_outbox WHERE id <= ?", (numbered[0][0],)) == 4
    result = a.sync()
    assert result.pushed == waiting and a.one("SELECT count(*) FROM sync_outbox") == 0
    assert result.batches == 1 + (waiting - 4 + client.BATCH_SIZE - 1) // client.BATCH_SIZE
