"""Batches on the desk (client.assign_batches, _batch_range): a batch is a range of outbox ids
numbered by its last row; its members do not change until it is sent; a batch numbered row by
row (an older program) reads the same; a push's first batches grow up to BATCH_SIZE."""

from __future__ import annotations

from aftersales_desk.services.sync import client
from tests.sync.helpers import central_rows


def _read(desk, batch_no: int) -> list[tuple]:
    with desk.db.uow() as uow:
        cur = client._raw(uow)
        return [(c.tbl, c.pk, c.op, c.hlc) for c in client._read_batch(cur, batch_no)]


def test_a_batch_is_a_range_numbered_by_its_last_row_and_keeps_its_members(desks):
    a, _b = desks
    for i in range(4):
        a.add_customer(f"R{i:04d}", f"客户{i}")
    ids = [r[0] for r in a.rows("SELECT id FROM sync_outbox ORDER BY id")]
    assert len(ids) >= 8
    client.assign_batches(a.db, 3, batches=2)
    marked = a.rows("SELECT id, batch_no FROM sync_outbox WHERE batch_no IS NOT NULL ORDER BY id")
    assert [r[0] for r in marked] == [ids[2], ids[5]]  # one row written per batch
    first, second = marked[0][1], marked[1][1]
    assert second == first + 1
    before = (_read(a, first), _read(a, second))
    assert [len(b) for b in before] == [3, 3]
    # rows captured later never join a numbered batch
    a.add_customer("R0100", "后来")
    assert (_read(a, first), _read(a, second)) == before
    # the rest, numbered in one go: every waiting row in exactly one batch, in capture order
    client.assign_batches(a.db, 3)
    numbers = [r[0] for r in a.rows("SELECT batch_no FROM sync_outbox WHERE batch_no IS NOT NULL")]
    rows = [r for n in sorted(numbers) for r in _read(a, n)]
    everything = a.rows("SELECT tbl, pk, op, hlc FROM sync_outbox ORDER BY id")
    assert rows == [tuple(r) for r in everything]
    # a batch numbered row by row (as an older program did) reads the same
    with a.db.uow(write=True) as uow:
        client._raw(uow).execute(
            "UPDATE sync_outbox SET batch_no = ? WHERE id > ? AND id <= ?",
            (second, ids[2], ids[5]),
        )
        uow.commit()
    assert _read(a, second) == before[1] and _read(a, first) == before[0]
    result = a.sync()
    assert result.pushed == len(everything)
    assert a.one("SELECT count(*) FROM sync_outbox") == 0


def test_a_push_starts_with_small_batches_that_double(desks, central_url, monkeypatch):
    a, _b = desks
    device = a.one("SELECT id FROM devices WHERE is_local = 1")
    monkeypatch.setattr(client, "FIRST_BATCH", 2)
    monkeypatch.setattr(client, "BATCH_SIZE", 6)
    for i in range(9):
        a.add_customer(f"S{i:04d}", f"客户{i}")
    waiting = a.one("SELECT count(*) FROM sync_outbox")
    assert waiting >= 18
    before = central_rows(
        central_url, "SELECT count(*) FROM sync_batches WHERE device_id = %s", (device,)
    )[0][0]
    result = a.sync()
    sizes = [
        r[0]
        for r in central_rows(
            central_url,
            "SELECT changes FROM sync_batches WHERE device_id = %s ORDER BY batch_no",
            (device,),
        )[before:]
    ]
    assert sizes[:3] == [2, 4, 6] and all(s == 6 for s in sizes[2:-1])
    assert sum(sizes) == waiting == result.pushed


def test_a_run_travels_as_lines_only_when_no_text_holds_a_line_break():
    """A run's keys, values and stamps go to central one line a row (central._payload):
    captured JSON escapes a line break inside a value, so it travels; a key or stamp holding
    one sends the run change by change."""
    import json
    import uuid

    from aftersales_desk.services.sync import central

    def change(**cols) -> central.Change:
        values = {"id": uuid.uuid4().hex, "name": "李四", "notes": "", "phone": ""}
        values.update(cols)
        raw = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        return central.Change("customers", values["id"], "I", None, None, "0" * 28, raw)

    run = [change(), change(notes="a\nb"), change()]
    payload = central._payload(run)
    assert payload is not None
    assert payload.values.split("\n") == [c.raw for c in run]
    assert payload.pks.split("\n") == [c.pk for c in run]
    broken = change()
    broken.pk += "\n"
    assert central._payload([change(), broken]) is None
    broken = change()
    broken.hlc += "\n"
    assert central._payload([change(), broken]) is None


def test_a_run_with_a_row_lacking_a_column_goes_change_by_change(desks, central_url, monkeypatch):
    """Central checks by name only a run's nullable columns (a NOT NULL one missing from a row
    fails the statement by itself): either way the run is redone change by change and every
    row arrives, the missing column with the model's default."""
    import json
    import uuid

    from aftersales_desk.services.sync import PROTOCOL_VERSION, central

    a, _b = desks
    device = a.one("SELECT id FROM devices WHERE is_local = 1")
    branch = a.one("SELECT id FROM branches LIMIT 1")
    stamp = f"{client._wall_ms():016d}-000000000-{device}"
    one_by_one: list[str] = []
    real = central._apply_one_saved

    def spy(conn, cur, ch, *args):
        one_by_one.append(ch.tbl)
        return real(conn, cur, ch, *args)

    monkeypatch.setattr(central, "_apply_one_saved", spy)

    def audit(**drop: bool) -> central.Change:
        cols = {
            "id": uuid.uuid4().hex, "branch_id": branch, "at": "2026-11-23 08:00:00.000000",
            "device_id": None, "user_id": None, "username": "admin", "action": "update",
            "entity": "customers", "entity_id": uuid.uuid4().hex, "before": None,
            "after": None, "note": "n",
        }  # fmt: skip
        for k in drop:
            cols.pop(k)
        raw = json.dumps(cols, ensure_ascii=False, separators=(",", ":"))
        return central.Change("audit_log", cols["id"], "I", None, None, stamp, raw)

    def customer(**drop: bool) -> central.Change:
        cid = uuid.uuid4().hex
        cols = {
            "id": cid, "branch_id": branch, "customer_no": "N" + cid[:6], "name": "赵六",
            "kind": "person", "phone": "", "phone2": "", "address": "", "region": "",
            "id_number": "", "club_member": 0, "vip": 0, "consent_call": 1, "notes": "备注",
            "created_at": "2026-11-23 08:00:00.000000", "updated_at": "2026-11-23 08:00:00.000000",
        }  # fmt: skip
        for k in drop:
            cols.pop(k)
        raw = json.dumps(cols, ensure_ascii=False, separators=(",", ":"))
        return central.Change("customers", cid, "I", None, None, stamp, raw)

    last = central_rows(
        central_url, "SELECT coalesce(max(batch_no), 0) FROM sync_batches WHERE device_id = %s",
        (device,),
    )[0][0]  # fmt: skip
    whole = [audit(), audit(), customer(), customer()]
    # same number of members (the client's check passes), a nullable column renamed
    odd_audit = audit(user_id=True)
    odd_audit.raw = odd_audit.raw.replace('"note":', '"user_id":null,"note":').replace(
        '"after":null,', '"extra":1,'
    )
    lacking = [audit(), odd_audit, audit(), customer(), customer(notes=True), customer()]
    with central.connect(a.url) as conn:
        for no, changes in ((last + 1, whole), (last + 2, lacking)):
            ack = central.push_batch(
                conn, device_id=device, batch_no=no, changes=changes,
                protocol=PROTOCOL_VERSION, revision=a.one("SELECT version_num FROM alembic_version"),
                device_ms=client._wall_ms(),
            )  # fmt: skip
            assert ack.applied == len(changes) and not ack.quarantined
            if no == last + 1:
                assert one_by_one == []  # whole runs go set-based
    assert one_by_one == ["audit_log"] * 3 + ["customers"] * 3
    got = central_rows(
        central_url, "SELECT notes FROM customers WHERE id = %s", (uuid.UUID(lacking[4].pk),)
    )
    assert got == [("",)]  # the model's default
