"""Document numbers across desks: uniqueness at central and gap reports (docs/sync.md,
"Document numbers").

A *numbered document table* is a synced branch table with a column ``number`` (or a column
marked ``info={"document_number": True}``), found in the metadata, so a document table another
module adds later is covered without a change here. Central keeps a unique index
``sync_docno_<table>`` on (branch, number) for each of them — the table is the document type
(stock documents carry their kind in the number's prefix: ``BJ01-A-RK000012``) — created by
``central init``. A pushed document whose number another document of the branch already has is
set aside in the quarantine with a reason saying which number and whose it is; the rest of the
batch goes on.

Numbers are issued on the desks by *device series* (``number_series``: branch × device × kind,
prefix ``<branch>-<device>-<kind prefix>``, ``services/numbering.py``). The gap report compares,
per series, the numbers central has with the last number the desk says it issued.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.i18n import N_, _

INDEX_PREFIX = "sync_docno_"
SERIES_TABLE = "number_series"

# what a person calls the documents of a table (fallback: the table's name)
DOCUMENT_NAMES: dict[str, str] = {
    "stock_documents": N_("stock document (slip, receipt note, sale receipt)"),
    "stock_count_sessions": N_("stock count sheet"),
    "old_part_batches": N_("return-to-factory list"),
    "work_orders": N_("work order"),
    "callback_forms": N_("quick-handling form"),
}


def number_column(t: Table) -> str | None:
    """The document-number column of ``t``, or None."""
    for c in t.c:
        if c.info.get("document_number"):
            return c.name
    return "number" if "number" in t.c else None


def numbered_tables() -> list[Table]:
    """Synced branch tables that hold numbered documents (generated from the metadata)."""
    return [
        t
        for t in cap.synced_tables()
        if cap.classify(t) == "branch" and number_column(t) is not None
    ]


def series_tables() -> list[Table]:
    """Numbered tables whose rows name their series (``series_id`` → number_series, ``seq``)."""
    out = []
    for t in numbered_tables():
        if "series_id" not in t.c or "seq" not in t.c:
            continue
        if any(fk.column.table.name == SERIES_TABLE for fk in t.c.series_id.foreign_keys):
            out.append(t)
    return out


def document_name(table: str) -> str:
    label = DOCUMENT_NAMES.get(table)
    return _(label) if label else table


def index_name(t: Table) -> str:
    return (INDEX_PREFIX + t.name)[:63]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schema_sql() -> list[str]:
    """The unique indexes central keeps on (branch, number) of every numbered table."""
    return [
        f"CREATE UNIQUE INDEX IF NOT EXISTS {_q(index_name(t))} ON {_q(t.name)} "
        f"(branch_id, {_q(number_column(t) or 'number')})"
        for t in numbered_tables()
    ]


def ensure_schema(cur: Any) -> None:
    """Create the uniqueness indexes (called by ``central.init`` as the owner role). Duplicates
    already stored (a table added before this rule) stop the upgrade with a clear message."""
    import psycopg

    from aftersales_desk.errors import RefusedError

    for t, sql in zip(numbered_tables(), schema_sql(), strict=True):
        try:
            with cur.connection.transaction():
                cur.execute(sql)
        except psycopg.errors.UniqueViolation as exc:
            raise RefusedError(
                _(
                    "Central already holds two documents with the same number in one branch "
                    "({document}, table {table}); renumber one of them, then run 'central init' "
                    "again."
                ).format(document=document_name(t.name), table=t.name)
            ) from exc


# --- a pushed document whose number is taken ----------------------------------------------------


def refusal_reason(
    cur: Any, ch: Any, exc: BaseException, branch: uuid.UUID, device_id: str
) -> str | None:
    """The reason to store when central refused ``ch`` (pushed by ``device_id``) because its
    document number is taken (None when that is not why). Runs in the pushing transaction,
    after the change's savepoint was rolled back, under the branch's role."""
    import psycopg

    if not isinstance(exc, psycopg.errors.UniqueViolation) or ch.op not in ("I", "U"):
        return None
    t = next((t for t in numbered_tables() if t.name == ch.tbl), None)
    if t is None:
        return None
    col = number_column(t) or "number"
    number = (ch.cols or {}).get(col)
    if not number:
        return None
    cur.execute(
        f"SELECT id FROM {_q(t.name)} WHERE branch_id = %s AND {_q(col)} = %s",
        (branch, number),
    )
    row = cur.fetchone()
    if row is None or cap.to_wire("uuid", row[0]) == ch.pk:
        return None  # the number is free: another unique key refused the change
    cur.execute(
        "SELECT c.device_id, d.code FROM sync_changes c LEFT JOIN devices d "
        "ON replace(d.id::text, '-', '') = c.device_id "
        "WHERE c.tbl = %s AND c.pk = %s AND c.op = 'I' ORDER BY c.seq LIMIT 1",
        (t.name, cap.to_wire("uuid", row[0])),
    )
    holder = cur.fetchone()
    device = (holder[1] or holder[0]) if holder is not None and holder[0] else None
    document = document_name(t.name)
    if holder is not None and holder[0] == device_id:
        return _(
            "Document number {number} was issued twice on desk {device} (was this desk's "
            "database restored from an older copy?); central keeps the first {document}, this "
            "one was set aside. Void this one and enter it again under a new number."
        ).format(number=number, device=device, document=document)
    if device is not None:
        return _(
            "Document number {number} is already used at central by a {document} from desk "
            "{device}; this desk's {document} was set aside. Void it and enter it again under a "
            "new number."
        ).format(number=number, device=device, document=document)
    return _(
        "Document number {number} is already used at central by another {document} of this "
        "branch; this desk's {document} was set aside. Void it and enter it again under a new "
        "number."
    ).format(number=number, document=document)


# --- gaps ---------------------------------------------------------------------------------------


def compress(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as inclusive ranges: [1, 2, 3, 7] → [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def ranges_text(ranges: list[tuple[int, int]]) -> str:
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges) or "-"


def _range_count(ranges: list[tuple[int, int]]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


@dataclass
class SeriesGaps:
    """One device series as central sees it."""

    branch: str
    device: str
    kind: str
    prefix: str
    last_issued: int  # the series' last number as the desk last pushed it
    count: int = 0  # documents central has
    first: int | None = None
    last: int | None = None
    missing: list[tuple[int, int]] = field(default_factory=list)
    set_aside: list[int] = field(default_factory=list)  # missing numbers in the quarantine

    @property
    def missing_count(self) -> int:
        return _range_count(self.missing)

    def as_dict(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "device": self.device,
            "kind": self.kind,
            "prefix": self.prefix,
            "last_issued": self.last_issued,
            "first": self.first,
            "last": self.last,
            "count": self.count,
            "missing": [list(r) for r in self.missing],
            "missing_count": self.missing_count,
            "set_aside": self.set_aside,
        }


def _seq_pattern(prefix: str) -> re.Pattern[str]:
    from aftersales_desk.services.numbering import DIGITS

    return re.compile(re.escape(prefix) + r"(\d{" + str(DIGITS) + "})$")


def _quarantined_seq(
    tbl: str, cols: dict[str, Any], series_hex: str, pattern: re.Pattern[str]
) -> int | None:
    """The number of series ``series_hex`` a set-aside document insert carried, or None."""
    if tbl in {t.name for t in series_tables()}:
        if cols.get("series_id") == series_hex and str(cols.get("seq", "")).isdigit():
            return int(cols["seq"])
        return None
    t = next((t for t in numbered_tables() if t.name == tbl), None)
    m = pattern.match(str(cols.get(number_column(t) or "number") or "")) if t is not None else None
    return int(m.group(1)) if m else None


def _seen_sql() -> str:
    """(series id, number) of every document central has that a device series issued."""
    from aftersales_desk.services.numbering import DIGITS

    parts = [f"SELECT series_id AS sid, seq FROM {_q(t.name)}" for t in series_tables()]
    for t in numbered_tables():
        if t in series_tables():
            continue
        col = _q(number_column(t) or "number")
        parts.append(
            f"SELECT s.id AS sid, substr(x.{col}, length(s.prefix) + 1)::int AS seq "
            f"FROM {_q(t.name)} x JOIN {SERIES_TABLE} s ON s.branch_id = x.branch_id "
            f"AND s.prefix = left(x.{col}, -{DIGITS}) "  # an equality: a hash join
            f"AND right(x.{col}, {DIGITS}) ~ '^[0-9]{{{DIGITS}}}$'"
        )
    return " UNION ALL ".join(parts)


def central_gaps(url: str, *, branch: str | None = None) -> list[SeriesGaps]:
    """Per device series: the numbers central has (range, count) and the missing ones (as
    ranges), with those sitting in the quarantine named. ``url``: central staff (all branches)
    or a branch login (row-level security shows its own branch)."""
    from aftersales_desk.services.sync.central import connect

    code = branch.strip().upper() if branch else None
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT s.id, b.code, coalesce(d.code, ''), s.kind, s.prefix, s.last_seq, b.id "
            f"FROM {SERIES_TABLE} s JOIN branches b ON b.id = s.branch_id "
            "LEFT JOIN devices d ON d.id = s.device_id "
            "WHERE (%s::text IS NULL OR b.code = %s) ORDER BY b.code, d.code, s.kind",
            (code, code),
        )
        series = cur.fetchall()
        if code is not None and not series:
            cur.execute("SELECT 1 FROM branches WHERE code = %s", (code,))
            if cur.fetchone() is None:
                from aftersales_desk.errors import UsageError

                raise UsageError(
                    _("Central has no branch {code} (or this login may not see it).").format(
                        code=code
                    )
                )
        # one pass: per series the count, range and the holes between consecutive numbers
        cur.execute(
            "SELECT sid, count(*), min(seq), max(seq), "
            "array_agg(prev + 1 ORDER BY seq) FILTER (WHERE seq - prev > 1), "
            "array_agg(seq - 1 ORDER BY seq) FILTER (WHERE seq - prev > 1) "
            "FROM (SELECT sid, seq, lag(seq, 1, 0) OVER (PARTITION BY sid ORDER BY seq) AS prev "
            f"FROM ({_seen_sql()}) a) g GROUP BY sid"
        )
        stats: dict[uuid.UUID, tuple[int, int | None, int | None]] = {}
        holes: dict[uuid.UUID, list[tuple[int, int]]] = {}
        for sid, count, lo, hi, starts, ends in cur.fetchall():
            stats[sid] = (count, lo, hi)
            holes[sid] = [(int(a), int(b)) for a, b in zip(starts or [], ends or [], strict=True)]
        tables = [t.name for t in numbered_tables()]
        cur.execute(
            "SELECT branch_id, tbl, cols FROM sync_quarantine WHERE tbl = ANY(%s) AND op = 'I'",
            (tables,),
        )
        quarantined = cur.fetchall()
        conn.rollback()
    out: list[SeriesGaps] = []
    for sid, bcode, dcode, kind, prefix, last_seq, bid in series:
        g = SeriesGaps(bcode, dcode, kind, prefix, int(last_seq))
        count, lo, hi = stats.get(sid, (0, None, None))
        g.count, g.first, g.last = int(count), lo, hi
        g.missing = list(holes.get(sid, []))
        top = int(hi or 0)
        if g.last_issued > top:
            g.missing.append((top + 1, g.last_issued))
        if g.missing:
            pattern = _seq_pattern(prefix)
            aside = set()
            for qbranch, tbl, qcols in quarantined:
                n = _quarantined_seq(tbl, qcols or {}, cap.to_wire("uuid", sid), pattern)
                if qbranch == bid and n is not None and any(a <= n <= b for a, b in g.missing):
                    aside.add(n)
            g.set_aside = sorted(aside)
        out.append(g)
    return out


# --- the desk's own numbers ---------------------------------------------------------------------


@dataclass
class DeskSeries:
    """One series on a desk: what it issued, what is not on central yet, what is missing."""

    device: str
    kind: str
    prefix: str
    last_issued: int
    used: int
    not_pushed: list[tuple[int, int]]
    missing: list[tuple[int, int]]
    set_aside: list[int]
    local: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "local_device": self.local,
            "kind": self.kind,
            "prefix": self.prefix,
            "last_issued": self.last_issued,
            "used": self.used,
            "not_pushed": [list(r) for r in self.not_pushed],
            "not_pushed_count": _range_count(self.not_pushed),
            "missing": [list(r) for r in self.missing],
            "missing_count": _range_count(self.missing),
            "set_aside": self.set_aside,
        }


def desk_series(conn: Any) -> list[DeskSeries]:
    """The desk's series (``conn``: the desk's SQLite DB-API connection or cursor): numbers
    used, those whose document is still in the outbox (not yet on central), numbers missing
    locally (none on a whole database) and numbers central set aside."""
    import json

    series = conn.execute(
        f"SELECT s.id, coalesce(d.code, ''), coalesce(d.is_local, 0), s.kind, s.prefix, "
        f"s.last_seq, s.branch_id FROM {SERIES_TABLE} s LEFT JOIN devices d ON d.id = s.device_id "
        "ORDER BY d.is_local DESC, d.code, s.kind"
    ).fetchall()
    tables = numbered_tables()
    with_series = {t.name for t in series_tables()}
    out: list[DeskSeries] = []
    marks = ", ".join("?" * len(tables))
    quarantined = conn.execute(
        f"SELECT tbl, cols FROM sync_quarantine WHERE op = 'I' AND tbl IN ({marks})",
        [t.name for t in tables],
    ).fetchall()
    for sid, dcode, is_local, kind, prefix, last_seq, branch_id in series:
        pattern = _seq_pattern(prefix)
        used: list[int] = []
        pending: list[int] = []
        for t in tables:
            col = _q(number_column(t) or "number")
            if t.name in with_series:
                rows = conn.execute(
                    f"SELECT x.seq, x.{col}, EXISTS (SELECT 1 FROM sync_outbox o WHERE "
                    f"o.tbl = ? AND o.pk = x.id AND o.op = 'I') FROM {_q(t.name)} x "
                    "WHERE x.series_id = ?",
                    (t.name, sid),
                ).fetchall()
                found = [(int(seq), bool(p)) for seq, _n, p in rows]
            else:
                rows = conn.execute(
                    f"SELECT x.{col}, EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = ? AND "
                    f"o.pk = x.id AND o.op = 'I') FROM {_q(t.name)} x "
                    f"WHERE x.branch_id = ? AND x.{col} >= ? AND x.{col} < ?",  # an index range
                    (t.name, branch_id, prefix, prefix + "\U0010ffff"),
                ).fetchall()
                found = []
                for number, p in rows:
                    m = pattern.match(number or "")
                    if m:
                        found.append((int(m.group(1)), bool(p)))
            used += [n for n, _p in found]
            pending += [n for n, p in found if p]
        have = set(used)
        missing = compress([n for n in range(1, int(last_seq) + 1) if n not in have])
        aside = set()
        for tbl, cols in quarantined:
            n = _quarantined_seq(tbl, json.loads(cols) if cols else {}, sid, pattern)
            if n is not None:
                aside.add(n)
        out.append(
            DeskSeries(
                device=dcode,
                kind=kind,
                prefix=prefix,
                last_issued=int(last_seq),
                used=len(used),
                not_pushed=compress(pending),
                missing=missing,
                set_aside=sorted(aside),
                local=bool(is_local),
            )
        )
    return out
