"""A desk that syncs holds the rows of every branch (``branches`` is master data, sent to all):
the headless commands' actor and the login window's branch name are the desk's own branch (its
device's), whatever order the rows are stored in."""

from __future__ import annotations

import sqlite3
import uuid

from aftersales_desk.data.peek import peek
from aftersales_desk.services.bootstrap import initialize, local_actor


def test_the_desks_branch_is_its_devices_not_the_first_row(tmp_path):
    path = tmp_path / "desk.sqlite"
    db = initialize(
        path, branch_code="BJ01", branch_name="北京朝阳4S店", device_code="A",
        admin_password="secret123",
    )  # fmt: skip
    own = local_actor(db).branch_id
    db.dispose()
    other = uuid.UUID(int=1)  # another branch's row, older, stored first (as central sent it)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO branches (rowid, id, code, name, address, phone, created_at, "
            "updated_at) VALUES (0, ?, 'AH01', '合肥店', '', '', "
            "'2020-01-01 00:00:00.000000', '2020-01-01 00:00:00.000000')",
            (other.hex,),
        )
        first = conn.execute("SELECT code FROM branches LIMIT 1").fetchone()[0]
    assert first == "AH01"  # what "the first branch" would have picked
    from aftersales_desk.data.uow import Database

    db = Database(path)
    try:
        assert local_actor(db).branch_id == own
    finally:
        db.dispose()
    assert peek(path)["branch_name"] == "北京朝阳4S店"
