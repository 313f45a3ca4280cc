"""Indexes and foreign keys at central (docs/sync.md "Indexes and foreign keys at central").

Central is a sync store, not a desk: on synced tables it keeps the primary key, unique
constraints and indexes, one index for each column set its own statements look rows up by
(a kept foreign key's columns, ``branch_id`` for row-level security) when the metadata has one
and no unique index already leads with it — nothing else. The ``branch_id`` → ``branches``
foreign keys are not kept; what they guaranteed still holds (tested below). The rule is stated
here again over PostgreSQL's catalogue, generated from the metadata."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import AddConstraint, CreateIndex

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.services.sync import central
from tests.sync.conftest import Cluster, branch_login


def _indexes(conn: psycopg.Connection) -> dict[str, set[tuple[str, tuple[str, ...], bool]]]:
    """Central's indexes per synced table: (name, leading columns, unique or primary)."""
    rows = conn.execute(
        "SELECT t.relname, i.relname, x.indisunique OR x.indisprimary, "
        "array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(n, o) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), "
        "x.indpred IS NOT NULL OR x.indexprs IS NOT NULL "
        "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()"
    ).fetchall()
    out: dict[str, set[tuple[str, tuple[str, ...], bool]]] = {}
    for table, name, unique, cols, partial in rows:
        # a partial or expression index serves no general lookup: mark its columns so
        cols = ("<partial>", *cols) if partial else tuple(cols)
        out.setdefault(table, set()).add((name, cols, bool(unique)))
    return out


def _foreign_keys(conn: psycopg.Connection) -> set[tuple[str, tuple[str, ...], str]]:
    rows = conn.execute(
        "SELECT t.relname, array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY "
        "k(n, o) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), "
        "r.relname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE c.contype = 'f' AND n.nspname = current_schema()"
    ).fetchall()
    return {(t, tuple(cols), r) for t, cols, r in rows}


def _lookups(t) -> list[tuple[str, ...]]:
    """Column sets central looks this table's rows up by: each foreign key it keeps (every
    one but branch_id → branches) and branch_id (row-level security)."""
    out = [
        tuple(c.name for c in fk.columns)
        for fk in t.foreign_key_constraints
        if not (
            [c.name for c in fk.columns] == ["branch_id"] and fk.referred_table.name == "branches"
        )
    ]
    if "branch_id" in t.c:
        out.append(("branch_id",))
    return out


def _metadata_has_lookup_index(t, cols: tuple[str, ...]) -> bool:
    for ix in t.indexes:
        where = any(o.get("where") is not None for o in ix.dialect_options.values())
        names = tuple(getattr(e, "name", None) for e in ix.expressions)
        if not where and names[: len(cols)] == cols:
            return True
    return False


def _assert_rule(conn: psycopg.Connection) -> None:
    indexes = _indexes(conn)
    for t in cap.synced_tables():
        have = indexes.get(t.name, set())
        unique = [cols for _n, cols, u in have if u]
        plain = [(name, cols) for name, cols, u in have if not u]
        needs = _lookups(t)
        for name, cols in plain:
            # outside the rule: an index that serves no lookup central makes, or one a unique
            # index already serves
            served = [n for n in needs if cols[: len(n)] == n]
            assert served, f"{t.name}.{name} {cols}: not an index central's statements need"
            for n in served:
                assert not any(u[: len(n)] == n for u in unique), (
                    f"{t.name}.{name}: a unique index already leads with {n}"
                )
        for n in needs:
            if not _metadata_has_lookup_index(t, n) and not any(u[: len(n)] == n for u in unique):
                continue  # the desks have no such index either
            leading = [cols for _name, cols in plain if cols[: len(n)] == n]
            leading += [u for u in unique if u[: len(n)] == n]
            assert leading, f"{t.name}: no index leads with {n}"
            assert len([c for _name, c in plain if c[: len(n)] == n]) <= 1, (
                f"{t.name}: several plain indexes lead with {n}"
            )
        # the unique constraints and indexes of the metadata are all there
        for ix in t.indexes:
            if ix.unique:
                assert ix.name in {name for name, _c, _u in have}, ix.name


def test_central_has_the_indexes_the_rule_asks_for_and_no_others(central_url):
    with psycopg.connect(central_url) as conn:
        _assert_rule(conn)
        fks = _foreign_keys(conn)
    synced = {t.name for t in cap.synced_tables()}
    assert not [fk for fk in fks if fk[0] in synced and fk[1:] == (("branch_id",), "branches")]
    for t in cap.synced_tables():
        for fk in t.foreign_key_constraints:
            key = (t.name, tuple(c.name for c in fk.columns), fk.referred_table.name)
            if key[1:] != (("branch_id",), "branches"):
                assert key in fks, f"the foreign key {key} between synced records is missing"
    assert ("branch_roles", ("branch_id",), "branches") in fks
    # a desk's search index is not at central, its foreign-key and uniqueness indexes are
    with psycopg.connect(central_url) as conn:
        names = {n for s in _indexes(conn).values() for n, _c, _u in s}
    assert "ix_customers_branch_name" not in names and "ix_vehicles_plate" not in names
    assert {"ix_vehicles_customer_id", "uq_customers_branch_id_customer_no"} <= names


def _older_central(url: str) -> None:
    """Give a central what ``central init`` made before this rule: every metadata index and the
    branch foreign keys; no key from branch_roles to branches."""
    dialect = postgresql.dialect()
    with psycopg.connect(url) as conn:
        conn.execute(f"SET ROLE {central.OWNER}")
        conn.execute("ALTER TABLE branch_roles DROP CONSTRAINT fk_branch_roles_branch")
        # the insert-clock lookup was a b-tree
        conn.execute("DROP INDEX ix_sync_changes_inserted")
        conn.execute(
            "CREATE INDEX ix_sync_changes_insert ON sync_changes (pk COLLATE \"C\") WHERE op = 'I'"
        )
        for t in cap.synced_tables():
            for ix in t.indexes:
                conn.execute(str(CreateIndex(ix, if_not_exists=True).compile(dialect=dialect)))
            for fk in t.foreign_key_constraints:
                if [c.name for c in fk.columns] == ["branch_id"]:
                    conn.execute(str(AddConstraint(fk).compile(dialect=dialect)))


def test_init_upgrades_an_older_central_and_runs_again_unchanged(central_url):
    with psycopg.connect(central_url) as conn:
        fresh, fresh_fks = _indexes(conn), _foreign_keys(conn)
    _older_central(central_url)
    with psycopg.connect(central_url) as conn:
        older = _indexes(conn)
        assert "ix_customers_branch_name" in {n for n, _c, _u in older["customers"]}
        assert ("customers", ("branch_id",), "branches") in _foreign_keys(conn)
        assert "ix_sync_changes_insert" in {n for n, _c, _u in older["sync_changes"]}
    central.init(central_url)
    with psycopg.connect(central_url) as conn:
        assert _indexes(conn) == fresh
        assert _foreign_keys(conn) == fresh_fks
    central.init(central_url)  # idempotent
    with psycopg.connect(central_url) as conn:
        assert _indexes(conn) == fresh
        assert _foreign_keys(conn) == fresh_fks
        _assert_rule(conn)


def _customer(branch: uuid.UUID) -> tuple[str, list]:
    cid = uuid.uuid4()
    return (
        "INSERT INTO customers (id, branch_id, customer_no, name, kind, phone, phone2, address, "
        "region, id_number, club_member, vip, consent_call, notes, created_at, updated_at) "
        "VALUES (%s, %s, %s, 'x', 'person', '', '', '', '', '', false, false, true, '', now(), "
        "now())",
        [cid, branch, "C" + cid.hex[:8]],
    )


def test_without_the_branch_keys_no_row_names_a_missing_or_foreign_branch(
    pg_cluster: Cluster, central_url
):
    bj = branch_login(pg_cluster, central_url, "BJ01")
    branch_login(pg_cluster, central_url, "SH02")
    missing = uuid.uuid4()
    # a branch login writes only rows of its own branch, which exists
    with psycopg.connect(bj.url, autocommit=True) as conn:
        conn.execute(*_customer(cap.branch_uuid("BJ01")))
        for branch in (missing, cap.branch_uuid("SH02")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(*_customer(branch))
    with psycopg.connect(central_url, autocommit=True) as conn:
        conn.execute(f"SET ROLE {central.OWNER}")
        # the owner's own writes (head office) name an existing branch, too
        conn.execute(*_customer(cap.branch_uuid("SH02")))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(*_customer(missing))
        # a login maps only to an existing branch
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO branch_roles (role, branch_id) VALUES ('asd_b_nowhere', %s)",
                (missing,),
            )
        # a branch that rows (or a login) refer to can neither go nor change its key
        for sql in ("DELETE FROM branches WHERE id = %s", "UPDATE branches SET id = "
                    "gen_random_uuid() WHERE id = %s"):  # fmt: skip
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                conn.execute(sql, (cap.branch_uuid("SH02"),))
        conn.execute("DELETE FROM branch_roles WHERE role = 'asd_b_sh02'")
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="customers"):
            conn.execute("DELETE FROM branches WHERE id = %s", (cap.branch_uuid("SH02"),))
        conn.execute(
            "UPDATE branches SET name = 'renamed' WHERE id = %s", (cap.branch_uuid("SH02"),)
        )
        # one nothing refers to may go
        conn.execute("DELETE FROM customers WHERE branch_id = %s", (cap.branch_uuid("SH02"),))
        conn.execute("DELETE FROM branches WHERE id = %s", (cap.branch_uuid("SH02"),))
        assert conn.execute("SELECT count(*) FROM branches WHERE id = %s",
                            (cap.branch_uuid("SH02"),)).fetchone()[0] == 0  # fmt: skip
