"""Compaction of central's change log (docs/sync.md, "Compaction").

Central does not know where each device's pull cursor is, so compaction removes only changes
that no device can need, wherever its cursor is. A change of a row is removed when it is older
than the cut-off (its clock) and, among the row's later changes (in pull order, ``(xid, seq)``),

- there is a delete or a new insert of the row (the delete is kept: a device that has the row
  still removes it; a device that never had it does not get it), or
- it is an update and later updates carry again every column it carries (a device that skips it
  gets those columns' later values anyway; the row's insert is kept).

Ledger rows (append-only, inserts only) and deletes are never removed. A device at any cursor
position therefore ends in the same state with or without the removed changes; a new desk
downloads less.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import _

CHUNK = 5000


@dataclass
class CompactResult:
    examined: int = 0
    removed: int = 0
    kept: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"examined": self.examined, "removed": self.removed, "kept": self.kept}


def removable(changes: list[tuple[int, str, list[str] | None, int]], cutoff_ms: int) -> list[int]:
    """``changes`` of one row, latest first: (seq, op, column names, clock wall ms). The seqs
    that may go (rule above)."""
    out: list[int] = []
    gone_later = False  # a later delete or insert replaces everything
    covered: set[str] = set()
    for seq, op, cols, wall in changes:
        superseded = gone_later or (op == "U" and cols is not None and covered.issuperset(cols))
        if op != "D" and wall < cutoff_ms and superseded:
            out.append(seq)
            continue
        if op in ("D", "I"):
            gone_later = True
        elif cols:
            covered.update(cols)
    return out


def compact(url: str, *, before_days: float) -> CompactResult:
    """Remove the changes older than ``before_days`` days that no device needs (see the
    module's docstring), in one transaction as the table owner."""
    from aftersales_desk.data.models.core import APPEND_ONLY_TABLES
    from aftersales_desk.services.sync.central import connect
    from aftersales_desk.services.sync.central_catalogue import _as_owner

    if before_days < 0:
        raise UsageError(_("--before is a number of days, 0 or more."))
    cutoff_ms = int((time.time() - before_days * 86400) * 1000)
    result = CompactResult()
    with connect(url) as conn, conn.cursor() as cur:
        _as_owner(cur)
        doomed: list[int] = []
        with conn.cursor(name="asd_compact") as rows:
            rows.itersize = CHUNK
            rows.execute(
                "SELECT tbl, pk, seq, op, "
                "(SELECT array_agg(k) FROM jsonb_object_keys(cols) k), "
                "left(hlc, 16)::bigint FROM sync_changes "
                "WHERE NOT (tbl = ANY(%s)) ORDER BY tbl, pk, xid DESC, seq DESC",
                (list(APPEND_ONLY_TABLES),),
            )
            key: tuple[str, str] | None = None
            group: list[tuple[int, str, Any, int]] = []
            for tbl, pk, seq, op, cols, wall in rows:
                result.examined += 1
                if (tbl, pk) != key:
                    doomed += removable(group, cutoff_ms)
                    key, group = (tbl, pk), []
                group.append((seq, op.strip(), cols, wall))
            doomed += removable(group, cutoff_ms)
        for i in range(0, len(doomed), CHUNK):
            cur.execute("DELETE FROM sync_changes WHERE seq = ANY(%s)", (doomed[i : i + CHUNK],))
        conn.commit()
    result.removed = len(doomed)
    result.kept = result.examined - result.removed
    return result
