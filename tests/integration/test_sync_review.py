"""Reviewing sync conflicts and set-aside changes (services/sync/review.py) and the central
connection settings (services/sync/connection.py), without a screen and without a server."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from aftersales_desk.data.models import AuditEntry
from aftersales_desk.data.models.archive import Customer
from aftersales_desk.data.models.sync import SyncConflict, SyncQuarantine
from aftersales_desk.domain.hlc import Stamp, wall_ms
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.sync import connection, review
from tests.memory_keyring import MemoryKeyring, memory_keyring

OTHER_DEVICE = uuid.uuid4().hex


@pytest.fixture
def desk(db, admin):
    """This desk's device id; another desk B of the branch; a customer 李四."""
    with db.uow(admin, write=True) as uow:
        s = uow.session
        local = s.execute(text("SELECT id FROM devices WHERE is_local = 1")).scalar_one()
        s.execute(
            text(
                "INSERT INTO devices (id, branch_id, code, name, is_local, created_at, "
                "updated_at) SELECT :id, branch_id, 'B', 'B', 0, created_at, updated_at "
                "FROM devices WHERE is_local = 1"
            ),
            {"id": OTHER_DEVICE},
        )
        c = Customer(branch_id=admin.branch_id, customer_no="C0002", name="李四", phone="137-2")
        s.add(c)
        uow.commit()
    return {"local": str(local), "customer": c.id}


def _stamp(node: str, ms_ago: int) -> str:
    return Stamp(wall_ms() - ms_ago, 0, node).encode()


def _conflict(db, customer_id: uuid.UUID, local: str, col="phone", kept="137-2", lost="137-1"):
    """Desk B's later edit won over this desk's: the row shows B's value."""
    with db.uow(write=True) as uow:
        c = SyncConflict(
            tbl="customers",
            pk=customer_id.hex,
            col=col,
            kept_value=kept,
            lost_value=lost,
            kept_hlc=_stamp(OTHER_DEVICE, 1000),
            lost_hlc=_stamp(local, 2000),
        )
        uow.session.add(c)
        uow.commit()
        return c.id


def _outbox(db, tbl="customers") -> list[tuple]:
    with db.uow() as uow:
        return uow.session.execute(
            text("SELECT op, cols FROM sync_outbox WHERE tbl = :t ORDER BY id"), {"t": tbl}
        ).all()


def _audit(db, action: str) -> list[AuditEntry]:
    with db.uow() as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _customer(db, cid) -> Customer:
    with db.uow() as uow:
        c = uow.session.get(Customer, cid)
        assert c is not None
        return c


def test_the_conflicts_list_speaks_in_human_terms(db, admin, desk):
    cid = _conflict(db, desk["customer"], desk["local"])
    _conflict(db, desk["customer"], desk["local"], col="address", kept="A路", lost="B路")
    first = review.conflicts_page(db, admin, None, 1)
    assert len(first.rows) == 1 and first.next_cursor is not None
    row = first.rows[0]
    assert row.id == cid
    assert row.record == "Customer C0002 李四"
    assert row.field == "Phone"
    assert (row.kept, row.other, row.now) == ("137-2", "137-1", "137-2")
    assert (row.kept_by, row.other_by) == ("desk B", "this desk")
    assert row.kept_at is not None and row.other_at is not None and row.other_at < row.kept_at
    assert row.exists and row.editable and not row.resolved
    second = review.conflicts_page(db, admin, first.next_cursor, 1)
    assert [r.field for r in second.rows] == ["Address"] and second.next_cursor is None


def test_use_the_other_value_is_an_ordinary_audited_synced_edit(db, admin, desk):
    cid = _conflict(db, desk["customer"], desk["local"])
    before = len(_outbox(db))
    review.resolve(db, admin, cid, review.OTHER)
    assert _customer(db, desk["customer"]).phone == "137-1"
    out = _outbox(db)
    assert len(out) == before + 1
    op, cols = out[-1]
    assert op == "U" and json.loads(cols)["phone"] == "137-1"  # captured: it syncs
    with db.uow() as uow:
        c = uow.session.get(SyncConflict, cid)
        assert c.resolved and c.resolution == "other" and c.resolved_by == "admin"
        assert c.resolved_at is not None
        edits = uow.session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "customers", AuditEntry.action == "update"
            )
        ).all()
    assert any(e.after and e.after.get("phone") == "137-1" for e in edits)
    (entry,) = _audit(db, "resolve_conflict")
    assert entry.username == "admin" and entry.entity_id == desk["customer"].hex
    assert entry.before == {"phone": "137-2"} and entry.after == {"phone": "137-1"}
    assert review.conflicts_page(db, admin, None, 10).rows == []
    shown = review.conflicts_page(db, admin, None, 10, include_resolved=True).rows
    assert shown[0].resolved and shown[0].resolution == "other"


def test_keep_the_value_shown_changes_nothing_but_is_recorded(db, admin, desk):
    cid = _conflict(db, desk["customer"], desk["local"])
    before = _outbox(db)
    review.resolve(db, admin, cid, review.KEEP)
    assert _customer(db, desk["customer"]).phone == "137-2"
    assert _outbox(db) == before
    (entry,) = _audit(db, "resolve_conflict")
    assert entry.note == "phone: keep" and entry.after == {"phone": "137-2"}
    with pytest.raises(RefusedError, match="already resolved by admin"):
        review.resolve(db, admin, cid, review.OTHER)


def test_an_edited_value_is_checked_then_written(db, admin, desk):
    cid = _conflict(db, desk["customer"], desk["local"])
    with pytest.raises(ValidationError, match="at most 20 characters"):
        review.resolve(db, admin, cid, review.EDIT, "1" * 21)
    with pytest.raises(ValidationError, match="Type the value"):
        review.resolve(db, admin, cid, review.EDIT)
    assert _customer(db, desk["customer"]).phone == "137-2"
    assert _audit(db, "resolve_conflict") == []
    review.resolve(db, admin, cid, review.EDIT, " 13912345678 ")
    assert _customer(db, desk["customer"]).phone == "13912345678"
    assert json.loads(_outbox(db)[-1][1])["phone"] == "13912345678"


def test_typed_values_follow_the_column_type(db, admin, desk):
    assert review.show_value("users", "password_hash", "$argon2id$v=19$...") == "(hidden)"
    assert review.show_value("customers", "vip", 1) == "Yes"
    assert review.parse_value("customers", "vip", "是") is True
    assert review.parse_value("customers", "vip", "no") is False
    with pytest.raises(ValidationError, match="VIP is yes or no"):
        review.parse_value("customers", "vip", "maybe")
    assert review.parse_value("vehicles", "mileage_km", "12000") == 12000
    with pytest.raises(ValidationError, match="whole number"):
        review.parse_value("vehicles", "mileage_km", "12k")
    with pytest.raises(ValidationError, match="cannot be typed in"):
        review.parse_value("vehicles", "customer_id", "x")
    with pytest.raises(ValidationError, match="Role cannot be typed in"):
        review.parse_value("users", "role", "admin")  # only one of the two values


def test_a_clerk_may_not_resolve_and_nothing_changes(db, admin, desk, make_actor):
    cid = _conflict(db, desk["customer"], desk["local"])
    clerk = make_actor(Role.CLERK)
    with pytest.raises(PermissionDenied):
        review.resolve(db, clerk, cid, review.OTHER)
    assert _customer(db, desk["customer"]).phone == "137-2"
    with db.uow() as uow:
        assert not uow.session.get(SyncConflict, cid).resolved
    manager = make_actor(Role.MANAGER)
    review.resolve(db, manager, cid, review.OTHER)
    assert _customer(db, desk["customer"]).phone == "137-1"


def test_delete_wins_so_only_keeping_the_deletion_is_possible(db, admin, desk):
    cid = _conflict(db, desk["customer"], desk["local"])
    with db.uow(admin, write=True) as uow:
        uow.session.delete(uow.session.get(Customer, desk["customer"]))
        uow.commit()
    row = review.conflicts_page(db, admin, None, 10).rows[0]
    assert not row.exists and row.now == "(deleted)"
    assert row.record.startswith("Customer ")
    with pytest.raises(RefusedError, match="deleted on another desk"):
        review.resolve(db, admin, cid, review.OTHER)
    review.resolve(db, admin, cid, review.KEEP)


def _set_aside(db, pk: str, node: str, op="I", reason="duplicate key value (customer_no)"):
    with db.uow(write=True) as uow:
        q = SyncQuarantine(
            tbl="customers",
            pk=pk,
            op=op,
            cols=json.dumps({"customer_no": "C0002", "name": "李四", "phone": "137-2"}),
            hlc=_stamp(node, 500),
            reason=reason,
        )
        uow.session.add(q)
        uow.commit()
        return q.id


def test_a_set_aside_new_row_can_be_renumbered_and_sent_again(db, admin, desk, make_actor):
    qid = _set_aside(db, desk["customer"].hex, desk["local"])
    (row,) = review.quarantine_page(db, admin, None, 10).rows
    assert row.op == "New record" and row.record == "Customer C0002 李四"
    assert "Name: 李四" in row.values and row.reason.startswith("duplicate key")
    assert row.can_resend
    with pytest.raises(PermissionDenied):
        review.resend(db, make_actor(Role.CLERK), qid)
    with db.uow(admin, write=True) as uow:  # a person renumbers our customer
        uow.session.get(Customer, desk["customer"]).customer_no = "C0102"
        uow.commit()
    with db.uow() as uow:
        floor = uow.session.execute(text("SELECT max(hlc) FROM sync_outbox")).scalar_one()
    review.resend(db, admin, qid)
    with db.uow() as uow:
        op, cols, hlc = uow.session.execute(
            text(
                "SELECT op, cols, hlc FROM sync_outbox WHERE tbl = 'customers' "
                "ORDER BY id DESC LIMIT 1"
            )
        ).one()
        assert uow.session.get(SyncQuarantine, qid) is None
    values = json.loads(cols)
    assert op == "I" and values["customer_no"] == "C0102" and values["id"] == desk["customer"].hex
    assert hlc > floor and Stamp.decode(hlc).node == desk["local"]
    (entry,) = _audit(db, "resend_set_aside")
    assert entry.after["customer_no"] == "C0102"


def test_set_aside_changes_from_elsewhere_are_dismissed_not_resent(db, admin, desk, make_actor):
    pulled = _set_aside(db, uuid.uuid4().hex, OTHER_DEVICE, reason="Not applied on this desk")
    deleted = _set_aside(db, desk["customer"].hex, desk["local"], op="D")
    rows = review.quarantine_page(db, admin, None, 10).rows
    assert [r.can_resend for r in rows] == [False, False]
    assert rows[0].record == "Customer C0002 李四"  # named from the change's own values
    for qid in (pulled, deleted):
        with pytest.raises(RefusedError, match="cannot be sent again"):
            review.resend(db, admin, qid)
    with pytest.raises(PermissionDenied):
        review.dismiss(db, make_actor(Role.CLERK), pulled)
    review.dismiss(db, admin, pulled)
    assert [r.id for r in review.quarantine_page(db, admin, None, 10).rows] == [deleted]
    (entry,) = _audit(db, "dismiss_set_aside")
    assert entry.note == "Not applied on this desk" and entry.before["op"] == "I"


# --- the connection settings ---------------------------------------------------------------------


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    with memory_keyring() as r:
        yield r


def test_settings_keep_the_password_in_the_keyring_only(db, admin, ring):
    saved = connection.save(
        db,
        admin,
        url="postgresql://asd_b_bj01@central.example:5433/asd",
        sslmode="require",
        auto_minutes=15,
        password="pw-123",
    )
    assert connection.load(db, admin) == saved
    assert saved.configured and "sslmode=require" in saved.conninfo()
    assert list(ring.store.values()) == ["pw-123"]
    assert connection.has_password(saved)
    with db.uow() as uow:
        stored = uow.session.execute(text("SELECT key, value FROM settings")).all()
    assert "pw-123" not in repr(stored)
    assert db.path.read_bytes().find(b"pw-123") == -1


@pytest.mark.parametrize(
    ("url", "sslmode", "minutes", "field", "message"),
    [
        ("postgresql://u:secret@h/db", "prefer", 0, "url", "Leave the password out"),
        ("postgresql://u@h/db?sslmode=require", "prefer", 0, "url", "TLS mode in the list"),
        ("postgresql:///db", "prefer", 0, "url", "needs a server"),
        ("not a url = =", "prefer", 0, "url", "not valid"),
        ("postgresql://u@h/db", "maybe", 0, "sslmode", "Unknown TLS mode"),
        ("postgresql://u@h/db", "prefer", -1, "auto_minutes", "0 to 1440"),
    ],
)
def test_bad_settings_are_refused_with_the_field(db, admin, url, sslmode, minutes, field, message):
    with pytest.raises(ValidationError, match=message) as err:
        connection.save(db, admin, url=url, sslmode=sslmode, auto_minutes=minutes)
    assert err.value.field == field
    assert connection.load(db, admin) == connection.SyncSettings()


def test_only_managers_and_admins_set_up_the_connection(db, make_actor):
    for role in (Role.CLERK, Role.WAREHOUSE):
        with pytest.raises(PermissionDenied):
            connection.save(
                db, make_actor(role), url="postgresql://u@h/db", sslmode="prefer", auto_minutes=0
            )
    connection.save(
        db, make_actor(Role.MANAGER), url="postgresql://u@h/db", sslmode="prefer", auto_minutes=5
    )


def test_reachability_probe(ring):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        up = connection.SyncSettings(f"postgresql://u@127.0.0.1:{port}/db")
        assert connection.reachable(up, timeout=1)
    down = connection.SyncSettings(f"postgresql://u@127.0.0.1:{port}/db")
    assert not connection.reachable(down, timeout=1)
    assert not connection.reachable(connection.SyncSettings())
