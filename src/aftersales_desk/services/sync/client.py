"""The device side of sync: batches from the outbox, push, pull, one ``sync`` round, joining a
new desk to its branch. Rules: docs/sync.md.

Push: outbox rows get a batch number (device, batch no.) before they are sent; central applies
and records a batch in one transaction; only then does the device delete the batch's rows. When
the acknowledgement is lost, the same batch goes again and central applies nothing twice.

Pull: pages of central's change log after the device's cursor, each page applied in one SQLite
transaction together with the new cursor, with the capture triggers silenced. A field with a
change of this device still waiting in the outbox keeps the local value (that change will be
pushed and decided by central). Caches derived from synced rows (stock balances, the archive
search index) are rebuilt in the same transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time as _time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.hlc import DEFAULT_MAX_SKEW_MS, Stamp
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import DatabaseError, RefusedError, UsageError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.sync import PROTOCOL_VERSION, central, conflict_share, pull_orphans

BATCH_SIZE = 5000
# A push's first batch is smaller, the next ones double up to BATCH_SIZE: central starts on
# batch 1 while the next is read and prepared, so the pipeline fills sooner.
FIRST_BATCH = 1000
PAGE_SIZE = 5000
# Test hook: called with a point name before each step of push and pull; raising there is a
# crash at that point (tests/sync/test_faults.py).
FAULT: Callable[[str], None] | None = None


def _fault(point: str) -> None:
    if FAULT is not None:
        FAULT(point)


@dataclass
class SyncResult:
    pushed: int = 0
    batches: int = 0
    replayed: int = 0
    pulled: int = 0
    conflicts: list[central.Conflict] = field(default_factory=list)
    quarantined: list[central.Quarantined] = field(default_factory=list)
    skewed: bool = False
    # conflicts shared with the branch's other desks this round (conflict_share.share)
    shared: conflict_share.Shared = field(default_factory=conflict_share.Shared)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "batches": self.batches,
            "replayed": self.replayed,
            "pulled": self.pulled,
            "conflicts": [c.__dict__ for c in self.conflicts],
            "quarantined": [q.__dict__ for q in self.quarantined],
            "clock_skew": self.skewed,
            "conflicts_shared": self.shared.__dict__,
        }


def _raw(uow: Any) -> sqlite3.Cursor:
    return uow.session.connection().connection.dbapi_connection.cursor()


def _device(cur: sqlite3.Cursor) -> str:
    row = cur.execute("SELECT id FROM devices WHERE is_local = 1").fetchone()
    if row is None:
        raise DatabaseError(_("This database has no local device; was 'init' run?"))
    return str(row[0])


def _revision(cur: sqlite3.Cursor) -> str:
    return str(cur.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def _wall_ms() -> int:
    return int(_time.time() * 1000)


# --- push -------------------------------------------------------------------------------------


def assign_batches(
    db: Database, size: int = BATCH_SIZE, *, batches: int | None = None, up_to: int | None = None
) -> None:
    """Give the waiting outbox rows (in capture order) their batches: all of them, or the first
    ``batches`` batches' worth of rows; only rows up to outbox id ``up_to`` when given (what was
    waiting when a push began).

    A batch is a range of outbox ids, numbered by its LAST row (``batch_no`` is set on that row
    only, ``_batch_range``): numbering a batch writes one row, not thousands. Its members cannot
    change until it is acknowledged: ids only grow (a new row's id is above the numbered last
    row, which stays until the batch is sent), and a batch leaves the outbox whole."""
    with db.uow(write=True) as uow:
        cur = _raw(uow)
        next_no = cur.execute("SELECT next_batch_no FROM sync_state WHERE id = 1").fetchone()[0]
        (last,) = cur.execute(
            "SELECT coalesce(max(id), 0) FROM sync_outbox WHERE batch_no IS NOT NULL"
        ).fetchone()
        top = (1 << 62) if up_to is None else int(up_to)
        numbered = 0
        while batches is None or numbered < batches:
            # the next ``size`` ids from the first waiting row: captured rows take consecutive
            # ids, so that is ``size`` rows (fewer only where rows were removed) — found by two
            # seeks in the id b-tree instead of stepping over ``size`` rows
            (first,) = cur.execute(
                "SELECT min(id) FROM sync_outbox WHERE id > ? AND id <= ?", (last, top)
            ).fetchone()
            if first is None:
                break
            (last,) = cur.execute(
                "SELECT max(id) FROM sync_outbox WHERE id >= ? AND id <= ?",
                (first, min(top, int(first) + size - 1)),
            ).fetchone()
            last = int(last)
            cur.execute(
                "UPDATE sync_outbox SET batch_no = ? WHERE id = ?", (next_no + numbered, last)
            )
            numbered += 1
        if numbered:
            cur.execute(
                "UPDATE sync_state SET next_batch_no = ? WHERE id = 1", (next_no + numbered,)
            )
        uow.commit()


def _batch_range(cur: sqlite3.Cursor, batch_no: int) -> tuple[int, int]:
    """Batch ``batch_no``'s outbox ids ``(lo, hi]``: up to its numbered last row, after the
    last row of the batch before it still in the outbox (batches leave in order, so usually
    none). A batch numbered row by row (before numbering by the last row) reads the same."""
    (hi,) = cur.execute(
        "SELECT max(id) FROM sync_outbox WHERE batch_no = ?", (batch_no,)
    ).fetchone()
    (lo,) = cur.execute(
        "SELECT coalesce(max(id), 0) FROM sync_outbox WHERE batch_no IS NOT NULL AND batch_no < ?",
        (batch_no,),
    ).fetchone()
    return int(lo), int(hi or 0)


def _read_batch(cur: sqlite3.Cursor, batch_no: int) -> list[central.Change]:
    """A batch's changes; inserts keep their values as the captured JSON text (sent as is)."""
    out = []
    loads = json.loads
    lo, hi = _batch_range(cur, batch_no)
    for tbl, pk, op, cols, base, hlc in cur.execute(
        "SELECT tbl, pk, op, cols, base, hlc FROM sync_outbox WHERE id > ? AND id <= ? ORDER BY id",
        (lo, hi),
    ):
        if op == "I" and cols:
            out.append(central.Change(tbl, pk, op, None, None, hlc, cols))
        else:
            out.append(
                central.Change(
                    tbl, pk, op, loads(cols) if cols else None, loads(base) if base else None, hlc
                )
            )
    return out


def _next_batch(
    db: Database, after: int, up_to: int, size: int | None = None
) -> tuple[int, list[central.Change]] | None:
    """The batch to send after batch ``after``: one numbered before (a resend after a crash or
    a lost acknowledgement), else the next ``size`` (default ``BATCH_SIZE``) waiting rows (up
    to outbox id ``up_to``) numbered now; None when nothing is left. Prepared for sending (its
    runs and their payloads), so the main thread only sends."""
    for attempt in (0, 1):
        if attempt:
            assign_batches(db, size or BATCH_SIZE, batches=1, up_to=up_to)
        with db.uow() as uow:
            cur = _raw(uow)
            row = cur.execute(
                "SELECT min(batch_no) FROM sync_outbox WHERE batch_no > ?", (after,)
            ).fetchone()
            if row[0] is not None:
                return int(row[0]), central.prepare(_read_batch(cur, int(row[0])))
    return None


def _mark_sent(
    db: Database, batch_no: int, changes: list[central.Change], ack: central.Ack
) -> None:
    """After central's acknowledgement: the batch's rows leave the outbox, its conflicts and
    set-aside changes are kept, and the clock floor passes its newest stamp."""
    with db.uow(write=True) as uow:
        cur = _raw(uow)
        top = max((c.hlc for c in changes), default="")
        cur.execute("UPDATE sync_state SET hlc_floor = max(hlc_floor, ?) WHERE id = 1", (top,))
        lo, hi = _batch_range(cur, batch_no)
        cur.execute("DELETE FROM sync_outbox WHERE id > ? AND id <= ?", (lo, hi))
        _store_results(cur, ack.conflicts, ack.quarantined)
        _fault("push:local-commit")
        uow.commit()


def push(db: Database, conn: Any, result: SyncResult, *, revision: str, device: str) -> None:
    """Send every waiting change, batch after batch, each applied by central in one transaction;
    a batch's rows leave the outbox only after central's acknowledgement.

    Pipelined: a helper thread numbers and reads batch n+1, and afterwards removes batch n from
    the outbox, while central applies batch n (resp. n+1) — one connection, batches still sent
    one after the other in order. Only what was waiting when the push began is sent."""
    with db.uow() as uow:
        top = _raw(uow).execute("SELECT max(id) FROM sync_outbox").fetchone()[0]
    if top is None:
        return
    # leaving the block waits for the helper: nothing of this push runs after it returned or
    # raised (a batch whose acknowledgement arrived is still marked sent). The cycle collector
    # is paused meanwhile: a batch is thousands of changes (strings, no cycles), and making
    # them would run it over every object of the program again and again.
    with _no_gc(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-push") as helper:
        size = min(FIRST_BATCH, BATCH_SIZE)
        upcoming = helper.submit(_next_batch, db, 0, top, size)
        marking: Future[None] | None = None
        while (batch := upcoming.result()) is not None:
            batch_no, changes = batch
            size = min(2 * size, BATCH_SIZE)
            upcoming = helper.submit(_next_batch, db, batch_no, top, size)
            _fault("push:send")
            ack = central.push_batch(
                conn,
                device_id=device,
                batch_no=batch_no,
                changes=changes,
                protocol=PROTOCOL_VERSION,
                revision=revision,
                device_ms=_wall_ms(),
            )
            _fault("push:ack")  # central committed; a crash here loses the acknowledgement
            if marking is not None:
                marking.result()
            marking = helper.submit(_mark_sent, db, batch_no, changes, ack)
            result.batches += 1
            result.pushed += len(changes) if not ack.replayed else 0
            result.replayed += 1 if ack.replayed else 0
            result.conflicts += ack.conflicts
            result.quarantined += ack.quarantined
            result.skewed = result.skewed or ack.skewed
        if marking is not None:
            marking.result()


def _store_results(
    cur: sqlite3.Cursor, conflicts: list[central.Conflict], quarantined: list[central.Quarantined]
) -> None:
    import uuid

    now = cap.to_wire("datetime", _now())
    for c in conflicts:
        cur.execute(
            "INSERT INTO sync_conflicts (id, at, tbl, pk, col, kept_value, lost_value, kept_hlc, "
            "lost_hlc, resolved, central_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (
                uuid.uuid4().hex,
                now,
                c.tbl,
                c.pk,
                c.col,
                json.dumps(c.kept_value, ensure_ascii=False),
                json.dumps(c.lost_value, ensure_ascii=False),
                c.kept_hlc,
                c.lost_hlc,
                c.id,
            ),
        )
    for q in quarantined:
        cur.execute(
            "INSERT INTO sync_quarantine (id, at, tbl, pk, op, cols, hlc, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                uuid.uuid4().hex,
                now,
                q.tbl,
                q.pk,
                q.op,
                json.dumps(q.cols, ensure_ascii=False) if q.cols is not None else None,
                q.hlc,
                q.reason,
            ),
        )


def _now() -> Any:
    from aftersales_desk.domain.clock import utcnow

    return utcnow()


# --- pull -------------------------------------------------------------------------------------


class _Applier:
    """Applies pulled changes to SQLite through one cursor, inside the caller's transaction."""

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self.cur = cur
        self.columns: dict[str, dict[str, Any]] = {}
        self.synced: dict[str, set[str]] = {}
        self.has_outbox = cur.execute("SELECT 1 FROM sync_outbox LIMIT 1").fetchone() is not None
        self.moved_parts: set[tuple[str, str]] = set()
        self.customers: set[str] = set()
        self.top = ""
        self.skewed = False
        self.refused: list[central.Quarantined] = []
        self.pending = {}

    def _local_columns(self, tbl: str) -> dict[str, Any]:
        cols = self.columns.get(tbl)
        if cols is None:
            have = {r[1] for r in self.cur.execute(f'PRAGMA table_info("{tbl}")')}
            cols = {c.name: c for c in cap.table(tbl).c if c.name in have}
            self.columns[tbl] = cols
            self.synced[tbl] = {c.name for c in cap.sync_columns(cap.table(tbl))}
        return cols

    def _load_pending(self, changes: list[central.PulledChange]) -> None:
        """What this desk's outbox still holds for the rows of a page, in one read of the
        outbox (it holds only what was written since the last push, and has no per-row index
        for the capture to maintain)."""
        self.pending: dict[tuple[str, str], tuple[set[str], bool]] = {}
        if not self.has_outbox:
            return
        keys = {(ch.tbl, ch.pk) for ch in changes}
        for tbl, pk, op, cols in self.cur.execute("SELECT tbl, pk, op, cols FROM sync_outbox"):
            if (tbl, pk) not in keys:
                continue
            names, _deleted = self.pending.setdefault((tbl, pk), (set(), False))
            if cols:
                names.update(json.loads(cols))
            if op == "D":
                self.pending[(tbl, pk)] = (names, True)

    def _pending(self, tbl: str, pk: str) -> tuple[set[str], bool]:
        return self.pending.get((tbl, pk), (set(), False))

    def apply(self, changes: list[central.PulledChange]) -> None:
        """Apply in order. Consecutive changes that make the same statement (a first download
        is mostly inserts into one table after another) go in one ``executemany``; a run that
        fails is redone change by change, so only the offending change is set aside."""
        now = _wall_ms()
        self._load_pending(changes)
        run: list[tuple[central.PulledChange, list[Any]]] = []
        run_sql = ""
        for ch in changes:
            try:
                stamp = Stamp.decode(ch.hlc)
            except ValueError:
                stamp = None
            if stamp is not None:
                if stamp.wall - now > DEFAULT_MAX_SKEW_MS:
                    self.skewed = True  # do not let a fast clock drag ours along
                elif ch.hlc > self.top:
                    self.top = ch.hlc
            stmt = self._statement(ch)
            if stmt is None:
                continue
            sql, params = stmt
            if sql != run_sql and run:
                self._run(run_sql, run)
                run = []
            run_sql = sql
            run.append((ch, params))
        if run:
            self._run(run_sql, run)

    def _run(self, sql: str, run: list[tuple[central.PulledChange, list[Any]]]) -> None:
        if len(run) > 1:
            self.cur.execute("SAVEPOINT sync_run")
            try:
                self.cur.executemany(sql, [params for _ch, params in run])
                self.cur.execute("RELEASE sync_run")
                return
            except sqlite3.IntegrityError:
                self.cur.execute("ROLLBACK TO sync_run")
                self.cur.execute("RELEASE sync_run")
        for ch, params in run:
            self.cur.execute("SAVEPOINT sync_change")
            try:
                self.cur.execute(sql, params)
            except sqlite3.IntegrityError as exc:
                # A row central has collides with one only this desk has (its insert was
                # refused by central): keep ours, note theirs for review, go on.
                self.cur.execute("ROLLBACK TO sync_change")
                self.refused.append(
                    central.Quarantined(
                        ch.tbl,
                        ch.pk,
                        ch.op,
                        ch.cols,
                        ch.hlc,
                        _("Not applied on this desk: {reason}").format(reason=exc),
                    )
                )
            self.cur.execute("RELEASE sync_change")

    def _statement(self, ch: central.PulledChange) -> tuple[str, list[Any]] | None:
        """The SQL (and its parameters) that applies one pulled change, or None."""
        try:
            t = cap.table(ch.tbl)
        except KeyError:
            return None  # a table this (older) program does not have
        local = self._local_columns(ch.tbl)
        if not local:
            return None
        pending, deleted = self._pending(ch.tbl, ch.pk)
        if deleted:
            return None  # our delete is on its way; central decides
        name = f'"{ch.tbl}"'
        if ch.op == "D":
            return f"DELETE FROM {name} WHERE id = ?", [ch.pk]
        synced = self.synced[ch.tbl]
        cols = {
            k: v
            for k, v in (ch.cols or {}).items()
            if k in local and k in synced and k not in pending
        }
        if ch.tbl == "stock_movements" and ch.cols:
            self.moved_parts.add((str(ch.cols.get("branch_id")), str(ch.cols.get("part_id"))))
        if ch.tbl == "customers":
            self.customers.add(ch.pk)
        elif ch.tbl == "vehicles" and ch.cols and ch.cols.get("customer_id"):
            self.customers.add(str(ch.cols["customer_id"]))
        if ch.op == "I":
            values = dict(cols)
            kinds = cap.column_kinds(ch.tbl)
            for cname, col in local.items():
                if cname not in values and cname not in pending:
                    default = cap.python_default(col)
                    if default is not None:
                        values[cname] = cap.to_wire(kinds[cname], default)
            values["id"] = ch.pk
            names = list(values)
            placeholders = ", ".join("?" * len(names))
            collist = ", ".join(f'"{n}"' for n in names)
            updates = [n for n in cols if n != "id"]
            if t.name in cap._append_only() or not updates:
                conflict = "DO NOTHING"
            else:
                conflict = "DO UPDATE SET " + ", ".join(f'"{n}" = excluded."{n}"' for n in updates)
            return (
                f"INSERT INTO {name} ({collist}) VALUES ({placeholders}) "
                f"ON CONFLICT (id) {conflict}",
                [values[n] for n in names],
            )
        if cols:
            sets = ", ".join(f'"{n}" = ?' for n in cols)
            return f"UPDATE {name} SET {sets} WHERE id = ?", [*cols.values(), ch.pk]
        return None

    def rebuild_caches(self, uow: Any) -> None:
        for branch_id, part_id in sorted(self.moved_parts):
            _rebuild_stock(self.cur, branch_id, part_id)
        if self.customers:
            import uuid

            from aftersales_desk.services.archive_search import reindex

            reindex(uow.session, [uuid.UUID(c) for c in sorted(self.customers)])


def _rebuild_stock(cur: sqlite3.Cursor, branch_id: str, part_id: str) -> None:
    """Stock on hand is never synced as a number: it is summed again from the ledger."""
    cur.execute(
        "DELETE FROM stock_balances WHERE branch_id = ? AND part_id = ?", (branch_id, part_id)
    )
    cur.execute(
        "INSERT INTO stock_balances (id, branch_id, part_id, bin_id, qty) "
        "SELECT lower(hex(randomblob(16))), branch_id, part_id, bin_id, sum(qty) "
        "FROM stock_movements WHERE branch_id = ? AND part_id = ? GROUP BY bin_id",
        (branch_id, part_id),
    )
    row = cur.execute(
        "SELECT coalesce(sum(qty), 0), coalesce(sum(value), 0), "
        "max(CASE WHEN kind = 'receipt' AND qty > 0 THEN at END), "
        "max(CASE WHEN kind IN ('issue', 'sale') AND qty < 0 THEN at END), "
        "(SELECT unit_cost FROM stock_movements WHERE branch_id = ?1 AND part_id = ?2 "
        " ORDER BY at DESC, seq DESC LIMIT 1) "
        "FROM stock_movements WHERE branch_id = ?1 AND part_id = ?2",
        (branch_id, part_id),
    ).fetchone()
    qty, value, last_receipt, last_issue, last_cost = row
    avg = round(value / qty) if qty > 0 else (last_cost or 0)
    cur.execute(
        "INSERT INTO part_stock (id, branch_id, part_id, qty, value, avg_cost, last_receipt_at, "
        "last_issue_at) VALUES (lower(hex(randomblob(16))), ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (branch_id, part_id) DO UPDATE SET qty = excluded.qty, "
        "value = excluded.value, avg_cost = excluded.avg_cost, "
        "last_receipt_at = excluded.last_receipt_at, last_issue_at = excluded.last_issue_at",
        (branch_id, part_id, qty, value, avg, last_receipt, last_issue),
    )


def pull(
    db: Database,
    conn: Any,
    result: SyncResult,
    *,
    revision: str,
    page_size: int = PAGE_SIZE,
    progress: Callable[[int], None] | None = None,
) -> None:
    while True:
        with db.uow() as uow:
            row = (
                _raw(uow)
                .execute("SELECT cursor_xid, cursor_seq FROM sync_state WHERE id = 1")
                .fetchone()
            )
        cursor = (str(row[0]), int(row[1]))
        page = central.pull_page(
            conn, cursor=cursor, limit=page_size, protocol=PROTOCOL_VERSION, revision=revision
        )
        if not page:
            return
        _fault("pull:apply")
        with db.uow(write=True) as uow:
            cur = _raw(uow)
            cur.execute("PRAGMA defer_foreign_keys = ON")
            cur.execute("INSERT INTO sync_applying (id) VALUES (1)")
            # hook (issue 9): rows of a parent set aside here are set aside with it
            applier = pull_orphans.apply_page(cur, page, _Applier)
            applier.rebuild_caches(uow)
            _store_results(cur, [], applier.refused)
            cur.execute("DELETE FROM sync_applying")
            last = page[-1]
            cur.execute(
                "UPDATE sync_state SET cursor_xid = ?, cursor_seq = ?, "
                "hlc_floor = max(hlc_floor, ?) WHERE id = 1",
                (last.xid, last.seq, applier.top),
            )
            _fault("pull:local-commit")
            uow.commit()
        result.pulled += len(page)
        result.quarantined += applier.refused
        result.skewed = result.skewed or applier.skewed
        if progress:
            progress(result.pulled)


# --- first download: a snapshot instead of the whole change log ------------------------------

SNAPSHOT_CACHE_KIB = -131_072  # page cache while loading a snapshot (128 MiB), then as before


def _literal(value: Any) -> str:
    """A scalar default as an SQLite literal (numbers, text; None never reaches here)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _prefetched(chunks: Iterator[list[Any]], depth: int = 2) -> Iterator[list[Any]]:
    """The chunks, fetched by a helper thread while the caller stores the previous ones (the
    central connection is used by that thread only, until the chunks are exhausted; SQLite and
    the network both release the GIL, so fetching and storing overlap). An error of the
    fetching side is raised here."""
    import queue
    import threading

    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def fetch() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                box.put(chunk)
            box.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(exc)

    worker = threading.Thread(target=fetch, name="sync-snapshot-fetch", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let the fetcher finish its current put, then end
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.05)
        worker.join()


# A snapshot's time as PostgreSQL writes it (ISO, the fraction without its trailing zeros:
# ``central._pg_snapshot_text``) completed to the wire form as the row is stored:
# 'YYYY-MM-DD HH:MM:SS' + '.000000', or the fraction padded to 6 digits; NULL stays NULL, a
# value already whole (26 characters) stays as it is.
WIRE_DATETIME_SQL = (
    "CASE WHEN length({p}) = 19 THEN {p} || '.000000' ELSE substr({p} || '00000', 1, 26) END"
)


def wire_datetime(value: str | None) -> str | None:
    """``WIRE_DATETIME_SQL`` in Python (for a row set aside, which is kept in the wire form)."""
    if value is None:
        return None
    return value + ".000000" if len(value) == 19 else (value + "00000")[:26]


def _loader_cursor(connection: Any) -> Any:
    """The snapshot loader's cursor on its apsw connection (a test hook, as ``_raw`` is for the
    program's connections: tests/sync/test_join_download.py counts its statements)."""
    return connection.cursor()


class _SnapshotLoader:
    """Stores a snapshot's rows in a new desk's database, inside the caller's transaction on
    the loader's own apsw connection (capture dropped, foreign keys deferred to the commit):
    per table one ``executemany`` per chunk of rows as the snapshot's cursor delivers them, the
    table's non-unique indexes dropped first and built once at the end. A chunk is a plain
    INSERT, again as upserts when it meets a row the desk has (a seed row), and row by row when
    that fails too, so only a row that collides with one this desk already has is set aside (as
    a pull would)."""

    def __init__(self, cur: Any) -> None:
        self.cur = cur
        self.rows = 0
        self.times: list[int] = []  # positions of the time columns of the table being loaded
        self.indexes: list[str] = []
        self.refused: list[central.Quarantined] = []
        self.have: dict[str, set[str]] = {}
        for tname, cname in cur.execute(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p "
            "WHERE m.type = 'table'"
        ).fetchall():
            self.have.setdefault(tname, set()).add(cname)

    def columns(self, t: Any) -> list[str] | None:
        have = self.have.get(t.name)
        if not have:
            return None
        return [c.name for c in cap.sync_columns(t) if c.name in have]

    def load(self, t: Any, names: list[str], chunks: Iterator[list[tuple[Any, ...]]]) -> int:
        have = self.have[t.name]
        kinds = cap.column_kinds(t.name)
        extra: dict[str, str] = {}
        for c in t.c:  # columns that do not travel (device-local): their defaults
            if c.name in have and c.name not in names:
                default = cap.python_default(c)
                if default is not None:
                    extra[c.name] = _literal(cap.to_wire(kinds[c.name], default))
        for name, sql in self.cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
            (t.name,),
        ).fetchall():
            self.cur.execute(f'DROP INDEX "{name}"')
            self.indexes.append(sql)
        collist = ", ".join(f'"{n}"' for n in [*names, *extra])
        self.times = [k for k, n in enumerate(names) if kinds[n] == "datetime"]
        values = ", ".join(
            [
                WIRE_DATETIME_SQL.format(p=f"?{k + 1}") if kinds[n] == "datetime" else f"?{k + 1}"
                for k, n in enumerate(names)
            ]
            + list(extra.values())
        )
        insert = f'INSERT INTO "{t.name}" ({collist}) VALUES ({values})'
        updates = [n for n in names if n != "id"]
        if t.name in cap._append_only() or not updates:
            conflict = "DO NOTHING"
        else:
            conflict = "DO UPDATE SET " + ", ".join(f'"{n}" = excluded."{n}"' for n in updates)
        upsert = f"{insert} ON CONFLICT (id) {conflict}"
        count = 0
        for chunk in _prefetched(chunks):
            self._store(t.name, names, insert, upsert, chunk)
            count += len(chunk)
        self.rows += count
        return count

    def _store(
        self,
        tbl: str,
        names: list[str],
        insert: str,
        upsert: str,
        chunk: list[tuple[Any, ...]],
    ) -> None:
        """A new desk's tables are empty but for a few seed rows, so a chunk is first stored
        with a plain INSERT (no conflict clause to evaluate per row); only a chunk that meets a
        row the desk has goes again as upserts, and only a chunk that still fails row by row."""
        import apsw

        for sql in (insert, upsert):
            self.cur.execute("SAVEPOINT sync_snapshot")
            try:
                self.cur.executemany(sql, chunk)
                self.cur.execute("RELEASE sync_snapshot")
                return
            except apsw.ConstraintError:
                self.cur.execute("ROLLBACK TO sync_snapshot")
                self.cur.execute("RELEASE sync_snapshot")
        pk = names.index("id")
        times = self.times
        for row in chunk:
            self.cur.execute("SAVEPOINT sync_change")
            try:
                self.cur.execute(upsert, row)
            except apsw.ConstraintError as exc:
                self.cur.execute("ROLLBACK TO sync_change")
                self.refused.append(
                    central.Quarantined(
                        tbl,
                        str(row[pk]),
                        "I",
                        {
                            n: wire_datetime(v) if k in times else v
                            for k, (n, v) in enumerate(zip(names, row, strict=True))
                        },
                        "",
                        _("Not applied on this desk: {reason}").format(reason=exc),
                    )
                )
            self.cur.execute("RELEASE sync_change")

    def finish(self) -> None:
        """Indexes built once; stock caches summed again from the ledger that arrived (the
        archive search of the customers is built afterwards, through the program's own
        connection: ``_reindex_customers``)."""
        for sql in self.indexes:
            self.cur.execute(sql)
        if "stock_movements" in self.have:
            for branch_id, part_id in self.cur.execute(
                "SELECT DISTINCT branch_id, part_id FROM stock_movements"
            ).fetchall():
                _rebuild_stock(self.cur, branch_id, part_id)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cycle collector paused while a snapshot streams through: the rows are tuples of
    strings (no cycles; reference counting frees them), but making millions of them would run
    the collector over every object of the program again and again."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextlib.contextmanager
def _bulk_connection(db: Database) -> Iterator[Any]:
    """An apsw connection to the desk being built, for storing the snapshot: apsw binds a row
    in a third of the time Python's sqlite3 takes (its SQLite is its own, newer one; nothing
    this writes needs more than the 3.40 of Python's).

    Two SQLite libraries in one process must never have the same file open at the same time
    (their POSIX locks do not see each other: sqlite.org/howtocorrupt.html 2.2.1). So: refused
    while the program's engine has a connection in use, the engine's idle connections closed
    first, and any attempt of the engine to connect while this one is open fails (a bug)."""
    import apsw
    from sqlalchemy import event

    if db.engine.pool.checkedout():
        raise RuntimeError(f"{db.path} is in use through Python's sqlite3; apsw may not open it")
    db.engine.dispose()
    is_open = [True]

    def refuse(_dbapi: Any, _record: Any) -> None:
        if is_open[0]:
            raise RuntimeError(f"{db.path} is open through apsw; Python's sqlite3 may not open it")

    event.listen(db.engine, "connect", refuse, insert=True)
    try:
        connection = apsw.Connection(str(db.path))
        flusher: _Flusher | None = None
        try:
            for pragma in (
                "journal_mode = MEMORY",
                "synchronous = OFF",
                "foreign_keys = ON",
                f"cache_size = {SNAPSHOT_CACHE_KIB}",
            ):
                connection.execute(f"PRAGMA {pragma}").fetchall()
            flusher = _Flusher(db.path)
            yield connection
        finally:
            if flusher is not None:
                flusher.stop()
            connection.close()
            # only now: closing any descriptor of a file drops every POSIX lock the process
            # holds on it, apsw's included
            if flusher is not None:
                flusher.close()
    finally:
        is_open[0] = False
        event.remove(db.engine, "connect", refuse)


class _Flusher:
    """Writes the new desk to disk while it is being filled: every second an ``fsync`` on a
    helper thread (which waits for the disk without the GIL), so the file is on disk when the
    load ends instead of hundreds of megabytes being written then (the fsync before the rename
    is what makes the desk durable; these only start the writing earlier). POSIX only; a
    failing fsync just ends the helper — the final one reports it."""

    INTERVAL = 1.0

    def __init__(self, path: Path) -> None:
        import threading

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if os.name != "posix":
            return
        self._fd = os.open(path, os.O_RDONLY)
        self._thread = threading.Thread(target=self._run, name="sync-snapshot-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.INTERVAL):
                os.fsync(self._fd)
        except OSError:
            return

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()

    def close(self) -> None:
        if self._thread is not None:
            os.close(self._fd)
            self._thread = None


def _translated(exc: Exception, path: Path) -> Exception:
    """An apsw error in the program's words (disk full, damaged file, …), as the program's own
    connections translate theirs; anything else stays as it is (a bug)."""
    from aftersales_desk.data.engine import translate_error

    mapped = translate_error(sqlite3.DatabaseError(str(exc)), path)
    return exc if isinstance(mapped, sqlite3.DatabaseError) else mapped


def download_snapshot(db: Database, conn: Any, result: SyncResult, *, revision: str) -> None:
    """Fill a new desk (the file ``join`` is building) from one consistent snapshot of what its
    branch may read, together with the pull cursor that goes with it (``central.snapshot``);
    the change log is then pulled from there on.

    The rows, the caches summed from the ledger, the capture triggers and the cursor are stored
    in ONE transaction of an apsw connection (``_bulk_connection``), opened only while the
    program's engine has the file closed; then the archive search of the customers is built
    through the program's connection. A failure between the two leaves a scratch file that
    ``join`` discards: the desk never exists half-filled."""
    import apsw

    _fault("snapshot:apply")
    with _no_gc(), _bulk_connection(db) as connection:
        cur = _loader_cursor(connection)
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute("PRAGMA defer_foreign_keys = ON")
                cur.execute("INSERT INTO sync_applying (id) VALUES (1)")
                # no capture while loading (not even its per-row check): the triggers are
                # dropped and made again at the end of the same transaction
                cap.drop_capture(cur)
                loader = _SnapshotLoader(cur)
                (xid, seq), top = central.snapshot(
                    conn,
                    protocol=PROTOCOL_VERSION,
                    revision=revision,
                    columns=loader.columns,
                    sink=loader.load,
                )
                loader.finish()
                cap.ensure_capture(cur)
                _store_results(cur, [], loader.refused)
                cur.execute("DELETE FROM sync_applying")
                cur.execute(
                    "UPDATE sync_state SET cursor_xid = ?, cursor_seq = ?, "
                    "hlc_floor = max(hlc_floor, ?) WHERE id = 1",
                    (xid, seq, top),
                )
                _fault("snapshot:local-commit")
                cur.execute("COMMIT")
            except BaseException:
                if not connection.get_autocommit():
                    cur.execute("ROLLBACK")
                raise
        except apsw.Error as exc:
            mapped = _translated(exc, db.path)
            if mapped is exc:
                raise
            raise mapped from exc
    _fault("snapshot:archive")
    if "customers" in loader.have:
        with db.uow(write=True) as uow:
            _reindex_customers(uow)
            uow.commit()
    result.pulled += loader.rows
    result.quarantined += loader.refused


def _reindex_customers(uow: Any) -> None:
    """The archive search built for every customer that arrived (the ORM's session; it is a
    cache, never synced)."""
    import uuid

    ids = [uuid.UUID(r[0]) for r in _raw(uow).execute("SELECT id FROM customers")]
    if ids:
        from aftersales_desk.services.archive_search import reindex

        reindex(uow.session, ids)


@contextlib.contextmanager
def central_errors() -> Iterator[None]:
    """A failure of the central database or the network mid-round becomes one clear line;
    whatever was committed on either side stays consistent (the next round carries on)."""
    import psycopg

    try:
        yield
    except (psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedTable) as exc:
        raise UsageError(
            _("The central database is not set up for sync; run 'central init' on it first.")
        ) from exc
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()
        raise UsageError(
            _(
                "The sync with the central database stopped: {reason}. Nothing is lost; "
                "sync again when the connection is back."
            ).format(reason=text[0] if text else type(exc).__name__)
        ) from exc


# --- a round ----------------------------------------------------------------------------------


def resolve_password(url: str, password: str | None) -> str | None:
    """The central password: given, or from the OS keyring under the URL's user and host."""
    if password:
        return password
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:
        return None
    if info.get("password"):
        return None
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, _keyring_user(info))
    except Exception:
        return None


KEYRING_SERVICE = "aftersales-desk-central"


def _keyring_user(info: dict[str, Any]) -> str:
    return f"{info.get('user', '')}@{info.get('host', '')}:{info.get('port', '')}"


def store_password(url: str, password: str) -> None:
    """Keep the central password in the OS keyring (never in a file)."""
    import keyring
    from psycopg.conninfo import conninfo_to_dict

    keyring.set_password(KEYRING_SERVICE, _keyring_user(conninfo_to_dict(url)), password)


def sync(
    db: Database,
    actor: Actor,
    url: str,
    *,
    password: str | None = None,
    progress: Callable[[int], None] | None = None,
    connection: Any = None,
) -> SyncResult:
    """One round: push everything waiting, then pull everything new. ``connection``: an open
    central connection to reuse (the window's background sync keeps one); else one is opened
    and closed here."""
    require(actor, Permission.SYNC)
    result = SyncResult()
    with db.uow() as uow:
        cur = _raw(uow)
        device = _device(cur)
        revision = _revision(cur)
    conn = connection or central.connect(url, password=resolve_password(url, password))
    try:
        with central_errors():
            push(db, conn, result, revision=revision, device=device)
            pull(db, conn, result, revision=revision, progress=progress)
            # hook (issue 9): resolutions to and from the branch's other desks
            result.shared = conflict_share.share(db, conn)
    finally:
        if connection is None:
            conn.close()
    with db.uow(write=True) as uow:
        _raw(uow).execute(
            "UPDATE sync_state SET last_sync_at = ? WHERE id = 1",
            (cap.to_wire("datetime", _now()),),
        )
        uow.commit()
    return result


def _loading(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    """A desk being built by ``join``: no WAL and no fsync (the file is not the desk yet; a
    crash leaves a scratch file the next join removes). The rollback journal stays, in memory,
    so a savepoint can still be rolled back (a chunk that collides goes again row by row)."""
    dbapi_connection.execute("PRAGMA journal_mode = MEMORY")
    dbapi_connection.execute("PRAGMA synchronous = OFF")


def _remove_database(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def join(
    path: Path, url: str, *, device_code: str, password: str | None = None
) -> tuple[Database, SyncResult]:
    """A new desk for an existing branch: a new database filled from central (its branch,
    users, settings and records: one snapshot, then the change log from the snapshot's cursor),
    then its own device row, which the next sync sends.

    The desk is built in a scratch file beside ``path`` (``<name>.joining``) without WAL and
    without fsync, and moved into place only when it is whole: flushed to disk, then renamed
    (and the folder flushed). A crash or failure at any point leaves no file at ``path``; the
    scratch file is removed by the failure or by the next join."""
    from sqlalchemy import event

    from aftersales_desk.data.migrate import upgrade_database

    device_code = device_code.strip().upper()
    if not device_code or not device_code.isalnum() or len(device_code) > 8:
        raise UsageError(_("A device code is 1 to 8 letters or digits, e.g. A."))
    if path.exists() and path.stat().st_size > 0:
        raise RefusedError(_("{path} already exists; nothing was changed.").format(path=path))
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".joining")
    _remove_database(building)  # left by a join that crashed
    conn = central.connect(url, password=resolve_password(url, password))
    db: Database | None = None
    try:
        with conn.cursor() as cur:
            branch = central.session_branch(cur)
        conn.commit()
        upgrade_database(building)
        db = Database(building)
        event.listen(db.engine, "connect", _loading)  # after make_engine's WAL + FULL
        with db.uow() as uow:
            revision = _revision(_raw(uow))
        result = SyncResult()
        with central_errors():
            download_snapshot(db, conn, result, revision=revision)
            pull(db, conn, result, revision=revision)
        conn.close()
        _add_own_device(db, branch, device_code)
        _fault("join:move")
        db.dispose()
        db = None
        _flush(building)
        os.replace(building, path)
        _flush(path.parent)
    except BaseException:
        conn.close()
        if db is not None:
            db.dispose()
        _discard(building)
        raise
    return Database(path), result


def _discard(building: Path) -> None:
    """A join that failed removes its scratch file (one that crashed leaves it to the next)."""
    _remove_database(building)


def _add_own_device(db: Database, branch: Any, device_code: str) -> None:
    import uuid

    from aftersales_desk.data.models import Device

    with db.uow(write=True) as uow:
        taken = uow.session.scalars(select(Device.code).where(Device.branch_id == branch)).all()
        if device_code in taken:
            raise RefusedError(
                _("Device {code} already exists in this branch; choose another code.").format(
                    code=device_code
                )
            )
        uow.session.add(
            Device(
                id=uuid.uuid4(),
                branch_id=branch,
                code=device_code,
                name=device_code,
                is_local=True,
            )
        )
        uow.commit()


def _flush(path: Path) -> None:
    """fsync a file, or a folder (so a rename in it is on disk; not possible on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
