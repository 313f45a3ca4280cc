"""Set-based change capture for bulk inserts (stock-count posting: 20,000 movements at once).

A captured table's INSERT trigger (``data/sync_capture.py``) writes one ``sync_outbox`` row per
new row, working out the clock stamp again for each; for a bulk insert of thousands of rows that
costs more than the insert itself. ``insert_captured`` runs the insert with capture quiet (the
``sync_applying`` row, the triggers' own switch, held only for that statement inside the
caller's transaction) and then writes the outbox rows the trigger would have written in ONE
``INSERT … SELECT`` over the new rows: the same columns and values (built from the helpers the
triggers are built from, ``sync_capture.insert_capture``), in insertion order, with the stamps
the trigger would give them one after the other (``sync_capture.stamp_sql``: the first row's
stamp, then the counter counting up, as rows stamped within one millisecond do).

Where the database's trigger is not the one the code would create (an older or newer schema),
or capture is quiet anyway (pulled changes being applied), it does the plain insert and lets the
database's own trigger capture — never a different outbox. ``tests/integration/test_sync_bulk.py``
compares the outbox rows with the ones the triggers write, column by column.

Every statement goes through the caller's connection (SQLAlchemy's ``exec_driver_sql`` or a
plain ``sqlite3.Connection``), in the caller's transaction: a crash anywhere leaves none of it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from aftersales_desk.data import sync_capture as cap


def _runner(conn: Any) -> Callable[..., Any]:
    """A ``run(sql, params)`` on a SQLAlchemy connection or a sqlite3 connection (a list of
    parameter tuples runs the statement once per tuple)."""
    if isinstance(conn, sqlite3.Connection):

        def run(sql: str, params: Any = ()) -> Any:
            if isinstance(params, list):
                return conn.executemany(sql, params)
            return conn.execute(sql, params)

        return run
    return conn.exec_driver_sql


def _columns(run: Callable[..., Any], table_name: str) -> tuple[str, ...]:
    return tuple(
        r[0] for r in run("SELECT name FROM pragma_table_info(?)", (table_name,)).fetchall()
    )


def insert_captured(conn: Any, table_name: str, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run ``sql`` (an INSERT into ``table_name``) once per row of ``rows`` with the change
    capture the table's INSERT trigger gives, written set-based (see the module). Returns how
    many outbox rows were written set-based (0 when the trigger did the capture)."""
    if not rows:
        return 0
    run = _runner(conn)
    params = list(rows)
    name = f"{cap.TRIGGER_PREFIX}{table_name}_i"
    found = run(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
    ).fetchone()
    existing = _columns(run, table_name)
    expected = cap.trigger_sql(cap.table(table_name), existing).get(name)
    if (
        found is None
        or found[0] != expected
        or run("SELECT 1 FROM sync_applying").fetchone() is not None
    ):
        run(sql, params)  # the database's trigger captures (or capture is quiet anyway)
        return 0
    (before,) = run(f"SELECT coalesce(max(rowid), 0) FROM {cap._q(table_name)}").fetchone()
    run("INSERT INTO sync_applying (id) VALUES (1)")
    try:
        run(sql, params)
    finally:
        run("DELETE FROM sync_applying")
    only, values = cap.insert_capture(table_name, existing, "n")
    q = cap._q(table_name)
    # the clock's inputs as the trigger of the first new row would read them (one row); given
    # to the INSERT … SELECT as values, it does not read the outbox it writes (SQLite would
    # first copy the whole result to a temporary table)
    clock = run(f"SELECT w, lw, lc, dev FROM ({cap.CLOCK_SQL})").fetchone()
    # row k (from 1, in insertion = rowid order, of those captured) gets the stamp the trigger
    # gives it after rows 1..k-1: one statement sees one wall-clock millisecond, so the counter
    # counts up
    (n_new, last) = run(
        f"SELECT count(*), max(rowid) FROM {q} WHERE rowid > ?", (before,)
    ).fetchone()
    if not only and last is not None and last - before == n_new:
        # consecutive row ids (the usual insert): k is the row id's distance from before
        source, k, order = f"{q} AS n WHERE n.rowid > ?", f"(n.rowid - {int(before)})", "n.rowid"
    else:
        source = (
            "(SELECT *, row_number() OVER (ORDER BY n.rowid) AS sync_bulk_k "
            f"FROM {q} AS n WHERE n.rowid > ?{only}) AS n"
        )
        k = order = "n.sync_bulk_k"
    cur = run(
        f"INSERT INTO sync_outbox ({cap.OUTBOX_COLUMNS}) "
        f"SELECT {', '.join(values)}, {cap.stamp_sql(k, 'c.')} "
        "FROM (SELECT ? AS w, ? AS lw, ? AS lc, ? AS dev) AS c, "
        f"{source} ORDER BY {order}",
        (*clock, before),
    )
    return int(cur.rowcount)
