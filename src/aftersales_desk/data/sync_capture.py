"""Change capture for sync, generated from the SQLAlchemy metadata.

Which tables sync (``classify``):
- **branch** tables have a ``branch_id``; **child** tables have none but a non-null foreign key to
  a branch table (a slip's lines belong to the slip's branch);
- **master** tables have neither (branches, the parts catalogue): central owns them, devices only
  receive them, and a device does not capture its own edits of them;
- **local** tables never leave the device: sync bookkeeping (``sync_*``), caches derived from other
  rows (stock balances, the archive search index) and ``alembic_version``. A model can say so
  itself with ``__table_args__ = {"info": {"sync": "local"}}``; a column with
  ``info={"sync": "local"}`` (or listed in ``LOCAL_COLUMNS``) stays out of sync.

Every synced table gets AFTER INSERT/UPDATE/DELETE triggers (ledgers in ``APPEND_ONLY_TABLES``:
INSERT only) that write a ``sync_outbox`` row in the writing transaction: table, key, operation,
the changed columns' new values and their values before (``base``), a hybrid-logical-clock stamp
computed in SQL from the wall clock and the device's last stamp. The triggers stay silent while ``sync_applying``
holds a row (only inside the transaction that applies pulled changes).

``ensure_capture`` compares the triggers in the database with the ones the metadata asks for and
(re)creates what differs; it runs after migrations and whenever a database is opened for writing,
so a table added later is captured from its first use.

Values travel in the *wire* form, which is SQLite's storage form: UUIDs as 32 hex digits, times as
``YYYY-MM-DD HH:MM:SS.ffffff`` UTC, booleans as 0/1, JSON columns as their JSON text.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Table, Time, Uuid

NO_NODE = "0" * 32
# Branch ids are derived from the branch code, so every device of a branch and central agree on
# them without having talked to each other.
BRANCH_NAMESPACE = uuid.UUID("6f1b8e2a-5c57-4d0e-9a39-8c1f0e7d2b64")


def branch_uuid(code: str) -> uuid.UUID:
    return uuid.uuid5(BRANCH_NAMESPACE, code.strip().upper())


TRIGGER_PREFIX = "sync_"
# Caches derived from synced rows: rebuilt on the device after applying, never sent.
LOCAL_TABLES = frozenset(
    {"alembic_version", "archive_search", "archive_search_keys", "stock_balances", "part_stock"}
)
# Per-device state inside synced tables: which device row is this install, login counters.
LOCAL_COLUMNS: dict[str, frozenset[str]] = {
    "devices": frozenset({"is_local"}),
    "users": frozenset({"failed_logins", "locked_until", "last_login_at"}),
}


def _metadata() -> Any:
    import aftersales_desk.data.models  # noqa: F401  (registers every table)
    from aftersales_desk.data.base import Base

    return Base.metadata


def _append_only() -> frozenset[str]:
    from aftersales_desk.data.models.core import APPEND_ONLY_TABLES

    return frozenset(APPEND_ONLY_TABLES)


def classify(table: Table) -> str:
    """``branch``, ``child``, ``master`` or ``local`` (see the module's docstring)."""
    explicit = table.info.get("sync")
    if explicit:
        return str(explicit)
    if table.name in LOCAL_TABLES or table.name.startswith("sync_"):
        return "local"
    if "branch_id" in table.c:
        return "branch"
    if child_parent(table) is not None:
        return "child"
    return "master"


def child_parent(table: Table) -> tuple[str, str] | None:
    """(column, parent table) through which a table without ``branch_id`` belongs to a branch."""
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        parent = fk.column.table
        if not fk.parent.nullable and "branch_id" in parent.c and parent is not table:
            return fk.parent.name, parent.name
    return None


@cache
def synced_tables() -> tuple[Table, ...]:
    """Tables whose rows travel between devices and central (branch, child and master), in
    dependency order."""
    return tuple(t for t in _metadata().sorted_tables if classify(t) != "local")


def table(name: str) -> Table:
    return _metadata().tables[name]


def sync_columns(t: Table) -> list[Column[Any]]:
    local = LOCAL_COLUMNS.get(t.name, frozenset())
    return [c for c in t.c if c.name not in local and c.info.get("sync") != "local"]


def is_captured(t: Table) -> bool:
    """Devices capture their own writes of branch and child tables (master data is central's)."""
    return classify(t) in ("branch", "child")


# --- triggers ---------------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json(prefix: str, cols: list[str]) -> str:
    """A new row's values as a JSON object, its members in PostgreSQL's ``jsonb`` key order
    (shorter names first, then byte order): central parses every pushed row into ``jsonb``,
    whose key sort then finds them already in order (a check instead of a sort)."""
    ordered = sorted(cols, key=lambda c: (len(c.encode()), c.encode()))
    return "json_object(" + ", ".join(f"'{c}', {prefix}.{_q(c)}" for c in ordered) + ")"


# The clock stamp, in SQL so that any connection can write (no function to register): the
# wall clock in milliseconds, or the last stamp of this device plus one when the wall clock is
# behind it (stamps stay monotonic when the clock is put back). 'now' is fixed within one
# statement, so the rows of one bulk statement share the millisecond and count up.
# The last stamp is the newest outbox row's (stamps rise with the row id, so that is one step
# down the rowid b-tree: no index on the stamp to maintain on every write), or the floor left
# by pushes and pulls (``sync_state.hlc_floor``) when that is higher.
CLOCK_SQL = (
    "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS w, "
    "CAST(substr(m, 1, 16) AS INTEGER) AS lw, CAST(substr(m, 18, 9) AS INTEGER) AS lc, "
    f"coalesce((SELECT id FROM devices WHERE is_local = 1), '{NO_NODE}') AS dev FROM ("
    "SELECT max(coalesce((SELECT hlc FROM sync_outbox ORDER BY id DESC LIMIT 1), ''), "
    "coalesce((SELECT hlc_floor FROM sync_state WHERE id = 1), '')) AS m)"
)


def stamp_sql(k: str = "1", clock: str = "") -> str:
    """The stamp of the ``k``-th (an SQL expression, from 1) of consecutive captured rows that
    all see the same clock inputs (``clock``: the prefix of ``CLOCK_SQL``'s columns ``w`` wall
    ms, ``lw``/``lc`` the last stamp's ms and counter, ``dev`` this device): what the trigger
    gives that row after rows 1..k-1 were captured in the same millisecond. The triggers and the
    set-based capture of bulk inserts (``data/sync_bulk.py``) share it."""
    first, nth = ("0", f"{clock}lc + 1") if k == "1" else (f"{k} - 1", f"{clock}lc + {k}")
    return (
        f"CASE WHEN {clock}w > {clock}lw THEN printf('%016d-%09d-', {clock}w, {first}) "
        f"ELSE printf('%016d-%09d-', {clock}lw, {nth}) END || {clock}dev"
    )


_NODE_SQL = f"(SELECT {stamp_sql()} FROM ({CLOCK_SQL}))"
OUTBOX_COLUMNS = "tbl, pk, op, cols, base, hlc"


def _changed_json(side: str, cols: list[str]) -> str:
    """The JSON object of the columns an UPDATE changed, with their ``side`` (NEW or OLD)
    values, built by concatenation: only the changed columns are quoted (``json_quote`` is what
    ``json_object`` does per value), instead of an object of every column and a ``json_remove``
    of the unchanged ones."""
    parts = " || ".join(
        f"CASE WHEN NEW.{_q(c)} IS NOT OLD.{_q(c)} THEN ',\"{c}\":' || json_quote({side}.{_q(c)}) "
        "ELSE '' END"
        for c in cols
    )
    return f"('{{' || substr({parts}, 2) || '}}')"


def capture_columns(table_name: str, existing_columns: tuple[str, ...] | None) -> list[str]:
    """The columns a table's capture sends (of those the database has, when given)."""
    cols = [c.name for c in sync_columns(table(table_name))]
    if existing_columns is not None:
        have = set(existing_columns)
        cols = [c for c in cols if c in have]
    return cols


def insert_capture(
    table_name: str, existing_columns: tuple[str, ...] | None, row: str
) -> tuple[str, list[str]]:
    """What the INSERT trigger writes for a new row (``row``: its alias, ``NEW`` in a trigger):
    the condition besides capture being quiet (" AND …" or "") and the outbox values in
    ``OUTBOX_COLUMNS`` order, all but the stamp."""
    t = table(table_name)
    cols = capture_columns(table_name, existing_columns)
    (pk,) = [c.name for c in t.primary_key]
    # A row of a branch table without a branch (system entries written before the branch
    # existed) stays on the device: no branch can own it on central.
    only = ""
    if "branch_id" in t.c and t.c.branch_id.nullable and "branch_id" in cols:
        only = f" AND {row}.branch_id IS NOT NULL"
    return only, [f"'{table_name}'", f"{row}.{_q(pk)}", "'I'", _json(row, cols), "NULL"]


def trigger_sql(t: Table, existing_columns: Iterable[str] | None = None) -> dict[str, str]:
    """The capture triggers of one table: name → CREATE TRIGGER statement."""
    return dict(_trigger_sql(t.name, None if existing_columns is None else tuple(existing_columns)))


@cache
def _trigger_sql(table_name: str, existing_columns: tuple[str, ...] | None) -> tuple:
    t = table(table_name)
    cols = capture_columns(table_name, existing_columns)
    (pk,) = [c.name for c in t.primary_key]
    quiet = "NOT EXISTS (SELECT 1 FROM sync_applying)"
    name = t.name
    # A row of a branch table without a branch (system entries written before the branch
    # existed) stays on the device: no branch can own it on central.
    local_new = local_old = ""
    if "branch_id" in t.c and t.c.branch_id.nullable and "branch_id" in cols:
        local_new = " AND NEW.branch_id IS NOT NULL"
        local_old = " AND OLD.branch_id IS NOT NULL"
    out = {
        f"{TRIGGER_PREFIX}{name}_i": (
            f"CREATE TRIGGER {TRIGGER_PREFIX}{name}_i AFTER INSERT ON {_q(name)} WHEN {quiet}{local_new} "
            f"BEGIN INSERT INTO sync_outbox (tbl, pk, op, cols, base, hlc) VALUES "
            f"('{name}', NEW.{_q(pk)}, 'I', {_json('NEW', cols)}, NULL, {_NODE_SQL}); END"
        )
    }
    if name in _append_only():
        return tuple(out.items())
    changed = " OR ".join(f"NEW.{_q(c)} IS NOT OLD.{_q(c)}" for c in cols)
    out[f"{TRIGGER_PREFIX}{name}_u"] = (
        f"CREATE TRIGGER {TRIGGER_PREFIX}{name}_u AFTER UPDATE ON {_q(name)} "
        f"WHEN {quiet}{local_new} AND ({changed}) "
        f"BEGIN INSERT INTO sync_outbox (tbl, pk, op, cols, base, hlc) VALUES "
        f"('{name}', NEW.{_q(pk)}, 'U', {_changed_json('NEW', cols)}, "
        f"{_changed_json('OLD', cols)}, {_NODE_SQL}); END"
    )
    out[f"{TRIGGER_PREFIX}{name}_d"] = (
        f"CREATE TRIGGER {TRIGGER_PREFIX}{name}_d AFTER DELETE ON {_q(name)} WHEN {quiet}{local_old} "
        f"BEGIN INSERT INTO sync_outbox (tbl, pk, op, cols, base, hlc) VALUES "
        f"('{name}', OLD.{_q(pk)}, 'D', NULL, {_json('OLD', cols)}, {_NODE_SQL}); END"
    )
    return tuple(out.items())


def wanted_triggers(conn: sqlite3.Connection) -> dict[str, str]:
    """Every capture trigger the metadata asks for, for the tables this database has."""
    columns: dict[str, list[str]] = {}
    for tname, cname in conn.execute(
        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p "
        "WHERE m.type = 'table' ORDER BY m.name, p.cid"
    ):
        columns.setdefault(tname, []).append(cname)
    out: dict[str, str] = {}
    for t in synced_tables():
        if t.name in columns and is_captured(t):
            out.update(trigger_sql(t, columns[t.name]))
    return out


def ensure_capture(conn: sqlite3.Connection) -> int:
    """(Re)create the capture triggers that are missing or differ; drop stale ones. Runs inside
    the caller's transaction (or its own when none is open). Returns how many were changed."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "sync_outbox" not in present:
        return 0  # not yet migrated to the sync schema
    wanted = wanted_triggers(conn)
    have = {
        r[0]: r[1]
        for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        if r[0].startswith(TRIGGER_PREFIX)
    }
    changes = 0
    for name, sql in have.items():
        if wanted.get(name) != sql:
            conn.execute(f"DROP TRIGGER {_q(name)}")
            changes += 1
    for name, sql in wanted.items():
        if have.get(name) != sql:
            conn.execute(sql)
            changes += 1
    return changes


def ensure_capture_file(path: Any) -> int:
    """``ensure_capture`` on a database file, writing only when something is missing (the
    usual open reads the schema and changes nothing)."""
    import contextlib

    with contextlib.closing(sqlite3.connect(str(path), timeout=5, isolation_level=None)) as conn:
        wanted = wanted_triggers(conn)
        have = {
            r[0]: r[1]
            for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            if r[0].startswith(TRIGGER_PREFIX)
        }
        if have == wanted:
            return 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            changed = ensure_capture(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return changed


def drop_capture(conn: sqlite3.Connection) -> None:
    names = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        if r[0].startswith(TRIGGER_PREFIX)
    ]
    for name in names:
        conn.execute(f"DROP TRIGGER {_q(name)}")


def missing_capture(conn: sqlite3.Connection) -> list[str]:
    """Names of capture triggers the metadata asks for that the database lacks or has changed."""
    wanted = wanted_triggers(conn)
    have = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    return sorted(n for n, sql in wanted.items() if have.get(n) != sql)


# --- values: wire form <-> Python <-> SQLite --------------------------------------------------


def _kind(col: Column[Any]) -> str:
    t = col.type
    impl = getattr(t, "impl", None)
    if isinstance(t, Uuid):
        return "uuid"
    if isinstance(t, DateTime) or isinstance(impl, DateTime):
        return "datetime"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Time):
        return "time"
    return "plain"


@cache
def column_kinds(table_name: str) -> dict[str, str]:
    return {c.name: _kind(c) for c in table(table_name).c}


def _dt_wire(v: datetime) -> str:
    if v.tzinfo is not None:
        v = v.astimezone(UTC).replace(tzinfo=None)
    return v.strftime("%Y-%m-%d %H:%M:%S.%f")


def to_wire(kind: str, v: Any) -> Any:
    """A Python (or PostgreSQL-returned) value in the wire form."""
    if v is None:
        return None
    if kind == "uuid":
        return v.hex if isinstance(v, uuid.UUID) else str(v).replace("-", "")
    if kind == "datetime":
        return _dt_wire(v if isinstance(v, datetime) else datetime.fromisoformat(str(v)))
    if kind == "bool":
        return 1 if v else 0
    if kind == "json":
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    if kind == "date":
        return v.isoformat() if isinstance(v, date) else str(v)
    if kind == "time":
        return v.strftime("%H:%M:%S.%f") if isinstance(v, time) else str(v)
    return v


def from_wire(kind: str, v: Any) -> Any:
    """A wire value as the Python value PostgreSQL takes (aware UTC times, UUIDs, parsed JSON)."""
    if v is None:
        return None
    if kind == "uuid":
        return uuid.UUID(str(v))
    if kind == "datetime":
        d = datetime.fromisoformat(str(v))
        return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)
    if kind == "bool":
        return bool(v)
    if kind == "json":
        return json.loads(v) if isinstance(v, str) else v
    if kind == "date":
        return date.fromisoformat(str(v))
    if kind == "time":
        return time.fromisoformat(str(v))
    return v


def python_default(col: Column[Any]) -> Any:
    """The value an insert gets for a column it does not name (an older device's change, or a
    device-local column): the model's scalar default, else NULL."""
    d = col.default
    if d is None:
        return None
    if getattr(d, "is_scalar", False):
        return d.arg
    if getattr(d, "is_callable", False):
        return d.arg(None)
    return None
