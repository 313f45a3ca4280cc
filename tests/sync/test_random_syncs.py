"""Property (acceptance 2 of issue 9): 2–4 devices in 1–2 branches make random edits and sync on
random schedules; after everyone has synced, every device of a branch holds the same synced
state as the others, and nothing of another branch.

Examples: ``SYNC_EXAMPLES`` (default 200; CI keeps the default)."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.uow import Database
from aftersales_desk.services.bootstrap import local_actor
from aftersales_desk.services.sync import central
from tests.sync.conftest import Cluster, branch_login
from tests.sync.helpers import Desk, synced_state

EXAMPLES = int(os.environ.get("SYNC_EXAMPLES", "200"))
_codes = itertools.count(1)
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def shared_central(pg_cluster: Cluster) -> Iterator[tuple[Cluster, str]]:
    name = "prop_" + uuid.uuid4().hex[:8]
    pg_cluster.admin_sql(f"CREATE DATABASE {name}")
    url = pg_cluster.url(db=name)
    central.init(url)
    yield pg_cluster, url
    pg_cluster.admin_sql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def empty_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at the newest schema with no branch yet (each device starts from a copy)."""
    from aftersales_desk.data.migrate import upgrade_database

    path = tmp_path_factory.mktemp("schema") / "empty.sqlite"
    path.touch()
    upgrade_database(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _device(folder: Path, empty: Path, code: str, name: str, url: str) -> Desk:
    path = folder / f"{code}-{name}.sqlite"
    shutil.copy(empty, path)
    branch = cap.branch_uuid(code)
    now = "2026-11-23 08:00:00.000000"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO branches (id, code, name, address, phone, created_at, updated_at) "
            "VALUES (?, ?, ?, '', '', ?, ?)",
            (branch.hex, code, code, now, now),
        )
        conn.execute(
            "INSERT INTO devices (id, branch_id, code, name, is_local, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 1, ?, ?)",
            (uuid.uuid4().hex, branch.hex, name, name, now, now),
        )
    db = Database(path)
    return _Kept(name, path, db, local_actor(db), url)


class _Kept(Desk):
    """A desk that keeps one central connection for all its syncs (as the window does)."""

    conn: object = None

    def sync(self):
        from aftersales_desk.services.sync import client

        if self.conn is None:
            self.conn = central.connect(self.url)
        return client.sync(self.db, self.actor, self.url, connection=self.conn)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        super().close()


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "edit", "edit", "delete", "sync", "sync"]),
        st.integers(0, 3),  # device
        st.integers(0, 50),  # which row
        st.sampled_from(["phone", "address", "name"]),
        st.integers(0, 9),  # value
    ),
    max_size=8,
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layout=st.sampled_from([(2,), (3,), (4,), (1, 1), (2, 1), (2, 2)]),
    steps=ops,
)
def test_random_edits_and_syncs_converge(shared_central, empty_schema, layout, steps):
    cluster, url = shared_central
    folder = Path(
        tempfile.mkdtemp(prefix="asd-prop-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
    )
    desks: list[Desk] = []
    branch_of: list[str] = []
    try:
        for n in layout:
            code = f"P{next(_codes)}"
            login = branch_login(cluster, url, code)
            for i in range(n):
                desks.append(_device(folder, empty_schema, code, "ABCD"[i], login.url))
                branch_of.append(code)
        for op, who, row, field, value in steps:
            desk = desks[who % len(desks)]
            if op == "sync":
                desk.sync()
                continue
            ids = [r[0] for r in desk.rows("SELECT id FROM customers ORDER BY id")]
            if op == "add" or not ids:
                desk.add_customer(f"N{next(_numbers):05d}", f"客户{value}", f"1380000000{value}")
                continue
            cid = uuid.UUID(ids[row % len(ids)])
            if op == "edit":
                desk.edit_customer(cid, **{field: f"{field[:2]}-{desk.name}-{value}"})
            else:
                desk.delete_customer(cid)
        for _round in range(2):
            for desk in desks:
                desk.sync()
        for code in set(branch_of):
            members = [d for d, b in zip(desks, branch_of, strict=True) if b == code]
            states = [synced_state(d) for d in members]
            assert all(s == states[0] for s in states[1:])
            branch = cap.branch_uuid(code).hex
            for d in members:
                assert d.one("SELECT count(*) FROM sync_outbox") == 0
                assert d.one("SELECT count(*) FROM sync_quarantine") == 0
                assert d.one("SELECT count(*) FROM customers WHERE branch_id != ?", (branch,)) == 0
    finally:
        for d in desks:
            d.close()
        shutil.rmtree(folder, ignore_errors=True)
