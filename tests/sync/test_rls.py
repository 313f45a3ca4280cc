"""Row-level security on central, for every synced table generated from the metadata
(acceptance 5 of issue 9): a branch role cannot read, insert, update, delete or move rows into
another branch, nor write master data; the catalogue shows FORCE RLS everywhere and no
application role that bypasses it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Json
from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, Integer, Table, Time, Uuid
from sqlalchemy.types import JSON

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.models.core import APPEND_ONLY_TABLES
from aftersales_desk.services.sync import central
from tests.sync.conftest import Cluster, branch_login

SYNC_TABLES = [
    "sync_changes",
    "sync_batches",
    "sync_row_clocks",
    "sync_conflicts",
    "sync_quarantine",
]


def _checks(t: Table) -> dict[str, str]:
    """First allowed value of columns limited by ``col IN ('a', …)`` constraints."""
    out = {}
    for c in t.constraints:
        if isinstance(c, CheckConstraint):
            m = re.match(r"\s*(\w+)\s+IN\s*\(\s*'([^']*)'", str(c.sqltext))
            if m:
                out[m.group(1)] = m.group(2)
    return out


def _value(t: Table, col: Any, branch: uuid.UUID, made: dict[str, uuid.UUID]) -> Any:
    if col.name == "branch_id":
        return branch
    for fk in col.foreign_keys:
        parent = fk.column.table.name
        if parent == t.name:
            return None
        return made.get(parent)
    if col.primary_key:
        return uuid.uuid4()
    checks = _checks(t)
    if col.name in checks:
        return checks[col.name]
    kind = col.type
    if isinstance(kind, Uuid):
        return uuid.uuid4()
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, JSON):
        return Json({})
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2026, 1, 2)
    if isinstance(kind, Time):
        return time(8, 30)
    return ("r" + uuid.uuid4().hex)[: getattr(kind, "length", None) or 20]


def _make_rows(conn: psycopg.Connection, branch: uuid.UUID) -> dict[str, uuid.UUID]:
    """One row in every branch and child table for ``branch`` (as the superuser)."""
    made: dict[str, uuid.UUID] = {}
    for t in cap.synced_tables():
        if cap.classify(t) == "master":
            if t.name != "branches" and t.name not in made:  # catalogue, insurers …
                values = {c.name: _value(t, c, branch, made) for c in t.c}
                conn.execute(
                    f'INSERT INTO "{t.name}" ({", ".join(values)}) '
                    f"VALUES ({', '.join(['%s'] * len(values))})",
                    list(values.values()),
                )
                made[t.name] = values["id"]
            continue
        values = {c.name: _value(t, c, branch, made) for c in t.c}
        conn.execute(
            f'INSERT INTO "{t.name}" ({", ".join(values)}) '
            f"VALUES ({', '.join(['%s'] * len(values))})",
            list(values.values()),
        )
        made[t.name] = values["id"]
    return made


@pytest.fixture(scope="module")
def two_branches(pg_cluster: Cluster):
    name = "rls_" + uuid.uuid4().hex[:8]
    pg_cluster.admin_sql(f"CREATE DATABASE {name}")
    url = pg_cluster.url(db=name)
    central.init(url)
    bj = branch_login(pg_cluster, url, "BJ01")
    sh = branch_login(pg_cluster, url, "SH02")
    with psycopg.connect(url) as conn:
        own = _make_rows(conn, cap.branch_uuid("BJ01"))
        other = _make_rows(conn, cap.branch_uuid("SH02"))
    yield url, bj, sh, own, other
    pg_cluster.admin_sql(f"DROP DATABASE {name} WITH (FORCE)")


def _branch_tables() -> list[Table]:
    return [t for t in cap.synced_tables() if cap.classify(t) in ("branch", "child")]


def _master_tables() -> list[Table]:
    return [t for t in cap.synced_tables() if cap.classify(t) == "master"]


def test_the_generated_table_lists_cover_the_metadata():
    names = {t.name for t in _branch_tables()}
    assert {"customers", "vehicles", "stock_movements", "stock_document_lines", "users"} <= names
    assert {t.name for t in _master_tables()} == {"branches", "insurers", "parts"}
    assert "stock_balances" not in names and "part_stock" not in names


@pytest.mark.parametrize("table", [t.name for t in _branch_tables()])
def test_a_branch_cannot_touch_another_branchs_rows(two_branches, table):
    url, bj, _sh, own, other = two_branches
    t = cap.table(table)
    their, mine = other[table], own[table]
    with psycopg.connect(bj.url, autocommit=True) as conn:
        # read: their row is invisible, ours is there
        assert (
            conn.execute(f'SELECT count(*) FROM "{table}" WHERE id = %s', (their,)).fetchone()[0]
            == 0
        )
        assert (
            conn.execute(f'SELECT count(*) FROM "{table}" WHERE id = %s', (mine,)).fetchone()[0]
            == 1
        )
        col = next(c.name for c in t.c if not c.primary_key and not c.foreign_keys)
        ledger = table in APPEND_ONLY_TABLES
        if ledger:
            for sql in (
                f'UPDATE "{table}" SET "{col}" = "{col}" WHERE id = %s',
                f'DELETE FROM "{table}" WHERE id = %s',
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(sql, (mine,))
        else:
            cur = conn.execute(f'UPDATE "{table}" SET "{col}" = "{col}" WHERE id = %s', (their,))
            assert cur.rowcount == 0
            cur = conn.execute(f'DELETE FROM "{table}" WHERE id = %s', (their,))
            assert cur.rowcount == 0
        # insert into their branch: a copy of their row under a new id
        with psycopg.connect(url) as su:
            row = su.execute(f'SELECT * FROM "{table}" WHERE id = %s', (their,)).fetchone()
            names = [d.name for d in su.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
        values = dict(zip(names, row, strict=True))
        values["id"] = uuid.uuid4()
        values = {k: Json(v) if isinstance(v, dict | list) else v for k, v in values.items()}
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                f'INSERT INTO "{table}" ({", ".join(values)}) '
                f"VALUES ({', '.join(['%s'] * len(values))})",
                list(values.values()),
            )
        # move one of ours into their branch
        if not ledger:
            if "branch_id" in t.c:
                move_col, target = "branch_id", cap.branch_uuid("SH02")
            else:
                move_col, parent = cap.child_parent(t)
                target = other[parent]
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(
                    f'UPDATE "{table}" SET "{move_col}" = %s WHERE id = %s', (target, mine)
                )


@pytest.mark.parametrize("table", [t.name for t in _master_tables()])
def test_master_data_is_read_only_to_branches(two_branches, table):
    _url, bj, _sh, _own, _other = two_branches
    with psycopg.connect(bj.url, autocommit=True) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] >= 1
        for sql in (
            f'UPDATE "{table}" SET id = id',
            f'DELETE FROM "{table}"',
            f'INSERT INTO "{table}" (id) VALUES (gen_random_uuid())',
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)


def test_sync_bookkeeping_is_per_branch_and_the_role_map_is_closed(two_branches):
    _url, bj, sh, _own, _other = two_branches
    with psycopg.connect(sh.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sync_changes (branch_id, tbl, pk, op, hlc) "
            "VALUES (sync_branch(), 'customers', 'x', 'D', '0')"
        )
    with psycopg.connect(bj.url, autocommit=True) as conn:
        for table in SYNC_TABLES:
            assert (
                conn.execute(
                    f"SELECT count(*) FROM {table} WHERE branch_id IS NOT NULL"
                ).fetchone()[0]
                == 0
            ), table
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO sync_changes (branch_id, tbl, pk, op, hlc) VALUES (%s, 't', 'x', "
                "'D', '0')",
                (cap.branch_uuid("SH02"),),
            )
        for sql in (
            "SELECT * FROM branch_roles",
            "UPDATE branch_roles SET branch_id = branch_id",
            "INSERT INTO branch_roles (role, branch_id) VALUES ('x', gen_random_uuid())",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        assert conn.execute("SELECT sync_branch()").fetchone()[0] == cap.branch_uuid("BJ01")


def test_catalogue_force_rls_everywhere_and_no_bypass(two_branches):
    url, *_ = two_branches
    tables = [t.name for t in cap.synced_tables()] + SYNC_TABLES
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(%s)",
            (tables,),
        ).fetchall()
        assert sorted(r[0] for r in rows) == sorted(tables)
        assert [r for r in rows if not (r[1] and r[2])] == []
        assert {r[3] for r in rows} == {central.OWNER}
        bypass = conn.execute(
            "SELECT rolname FROM pg_roles WHERE (rolbypassrls OR rolsuper) AND rolname LIKE 'asd%%'"
        ).fetchall()
        assert bypass == []
        logins = conn.execute(
            "SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
            "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = %s",
            (central.BRANCH_GROUP,),
        ).fetchall()
        # roles are cluster-wide: other tests' centrals in this cluster add their branch roles
        members = {r[0] for r in logins}
        assert {"asd_b_bj01", "asd_b_sh02"} <= members
        assert all(name.startswith("asd_b_") for name in members)
