"""Row clocks at central (docs/sync.md, Push): a row only inserted has no sync_row_clocks row —
every field carries its insert's clock, which its change-log entry holds; its first edit or
delete writes the clocks from there. The decisions are the same as with a stored clock."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aftersales_desk.services.sync import PROTOCOL_VERSION, central, client
from tests.sync.helpers import Desk, central_rows


def _send(desk: Desk, device: str, batch_no: int, changes: list[central.Change]) -> central.Ack:
    with central.connect(desk.url) as conn:
        return central.push_batch(
            conn,
            device_id=device,
            batch_no=batch_no,
            changes=changes,
            protocol=PROTOCOL_VERSION,
            revision=desk.one("SELECT version_num FROM alembic_version"),
            device_ms=client._wall_ms(),
        )


def _clocks(url: str, pk: str) -> list[tuple[Any, ...]]:
    return central_rows(
        url, "SELECT clocks, deleted_hlc FROM sync_row_clocks WHERE tbl = 'customers' AND pk = %s",
        (pk,),
    )  # fmt: skip


def _insert_stamp(url: str, pk: str) -> str:
    return central_rows(
        url, "SELECT hlc FROM sync_changes WHERE tbl = 'customers' AND pk = %s AND op = 'I'", (pk,)
    )[0][0]


def _compact(values: dict[str, Any]) -> str:
    """JSON as the capture writes it (compact, as the set-based insert reads it)."""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _customer_insert(desk: Desk, no: str, hlc: str) -> central.Change:
    pk = uuid.uuid4().hex
    values = {
        "id": pk, "branch_id": desk.actor.branch_id.hex, "customer_no": no, "name": "王五",
        "kind": "person", "phone": "13800000000", "phone2": "", "address": "", "region": "",
        "id_number": "", "club_member": 0, "vip": 0, "consent_call": 1, "notes": "",
        "created_at": "2026-11-23 08:00:00.000000", "updated_at": "2026-11-23 08:00:00.000000",
    }  # fmt: skip
    return central.Change("customers", pk, "I", None, None, hlc, _compact(values))


def test_an_inserted_row_has_no_clock_row_until_its_first_edit_or_delete(desks, central_url):
    a, b = desks
    cids = [a.add_customer(f"K{i:03d}", f"客户{i}", "13800000000") for i in range(4)]
    a.sync()
    pks = [c.hex for c in cids]
    assert all(_clocks(central_url, pk) == [] for pk in pks)
    b.sync()
    b.edit_customer(cids[0], phone="13712345678")
    b.delete_customer(cids[1])
    b.sync()
    # the first edit: every field keeps the insert's clock, the edited one gets the edit's
    [(clocks, deleted)] = _clocks(central_url, pks[0])
    assert clocks["*"] == _insert_stamp(central_url, pks[0]) and deleted is None
    assert clocks["phone"] > clocks["*"]
    # the first delete: a tombstone over the insert's clock
    [(clocks, deleted)] = _clocks(central_url, pks[1])
    assert clocks == {"*": _insert_stamp(central_url, pks[1])} and deleted > clocks["*"]
    assert _clocks(central_url, pks[2]) == []
    a.sync()
    assert a.customer(cids[0])["phone"] == "13712345678"
    assert a.customer(cids[1]) is None


def test_an_edit_older_than_the_insert_loses_to_it(desks, central_url):
    """The insert's clock is read from the log: an edit stamped before it does not win (it
    would if a missing clock row meant "no clock")."""
    a, _b = desks
    now = client._wall_ms()
    late = f"{now:016d}-000000000-{'e' * 32}"
    early = f"{now - 60_000:016d}-000000000-{'f' * 32}"
    ins = _customer_insert(a, "Z001", late)
    device = uuid.uuid4().hex
    ack = _send(a, device, 1, [ins])
    assert ack.applied == 1 and not ack.quarantined
    edit = central.Change(
        "customers", ins.pk, "U", {"phone": "13999999999"}, {"phone": "13800000000"}, early
    )
    ack = _send(a, device, 2, [edit])
    assert not ack.quarantined
    assert central_rows(
        central_url, "SELECT phone FROM customers WHERE id = %s", (uuid.UUID(ins.pk),)
    ) == [("13800000000",)]
    [(clocks, _deleted)] = _clocks(central_url, ins.pk)
    assert clocks == {"*": _insert_stamp(central_url, ins.pk)}


def test_a_deleted_row_sent_again_in_a_run_of_inserts_stays_deleted(desks, central_url):
    """A run of inserts whose key has a tombstone at central goes change by change: delete wins
    there (the set-based insert alone would bring the row back)."""
    a, _b = desks
    cid = a.add_customer("D001", "赵六")
    a.sync()
    values = central_rows(
        central_url, "SELECT cols FROM sync_changes WHERE pk = %s AND op = 'I'", (cid.hex,)
    )[0][0]
    a.delete_customer(cid)
    a.sync()
    assert _clocks(central_url, cid.hex)[0][1] is not None
    device = uuid.uuid4().hex
    stamp = f"{client._wall_ms():016d}-000000000-{device}"
    again = central.Change("customers", cid.hex, "I", None, None, stamp, _compact(values))
    # a second new row with the same columns: the two go to central as one set-based run
    other_pk = uuid.uuid4().hex
    other = central.Change(
        "customers", other_pk, "I", None, None, stamp.replace("-000000000-", "-000000001-"),
        _compact({**values, "id": other_pk, "customer_no": "D002"}),
    )  # fmt: skip
    ack = _send(a, device, 1, [again, other])
    assert not ack.quarantined and ack.conflicts
    assert {c.pk for c in ack.conflicts} == {cid.hex}
    on_central = central_rows(
        central_url, "SELECT id FROM customers WHERE id = ANY(%s)", ([cid, uuid.UUID(other.pk)],)
    )
    assert on_central == [(uuid.UUID(other.pk),)]
