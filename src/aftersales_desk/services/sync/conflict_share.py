"""Conflicts shared by the desks of a branch (issue 9, docs/sync.md "Conflicts on every desk").

Central records a conflict when a push loses a field to a later edit (``central._record_conflict``);
its ``sync_conflicts`` row is the branch's one copy. Each sync round, after push and pull,
``share`` reconciles a desk with it:

1. central (one transaction, as the branch login — row-level security limits everything to the
   branch): the branch's open conflicts, and what became of the ones open on this desk;
   the resolutions made on this desk of conflicts central still has open are written there
   (``UPDATE … WHERE resolved_at IS NULL``: the branch role may set only the resolution
   columns of its own branch's rows; the first desk to resolve wins, the edit itself synced
   as an ordinary edit in the push just before);
2. the desk (one SQLite transaction): a conflict open at central that the desk does not have is
   added (every desk of the branch lists it); one open here that another desk resolved is
   closed with that desk's decision (it leaves the Conflicts view); a row recorded here
   before it carried central's id (an acknowledgement replayed after it was lost, or a desk
   older than this) is linked by the conflict's clocks and column.

Both steps are idempotent and each is one transaction on its side, so a crash between or
inside them changes nothing that the next round does not finish.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.uow import Database


def _resolver(user: str | None, desk: str | None) -> str:
    """Who resolved a conflict on another desk: "wang @ B"."""
    return f"{user or '-'} @ {desk}" if desk else user or "-"


@dataclass
class Shared:
    sent: int = 0  # resolutions made here that central recorded
    added: int = 0  # conflicts recorded by another desk, now listed here
    closed: int = 0  # conflicts open here that another desk resolved


@dataclass
class _Local:
    id: str
    central_id: int | None
    key: tuple[str, str, str, str, str]  # tbl, pk, col, kept_hlc, lost_hlc
    resolved: bool
    resolved_at: Any
    resolved_by: str | None
    resolution: str | None


_LOCAL_COLUMNS = (
    "id, central_id, tbl, pk, col, kept_hlc, lost_hlc, resolved, resolved_at, resolved_by, "
    "resolution"
)


def _locals(cur: Any, where: str, params: tuple = ()) -> list[_Local]:
    rows = cur.execute(f"SELECT {_LOCAL_COLUMNS} FROM sync_conflicts WHERE {where}", params)
    return [
        _Local(str(r[0]), r[1], (r[2], r[3], r[4], r[5], r[6]), bool(r[7]), r[8], r[9], r[10])
        for r in rows.fetchall()
    ]


def share(db: Database, conn: Any) -> Shared:
    """Reconcile this desk's conflicts with central's (see the module's docstring). Runs in a
    sync round after its push and pull, which checked the protocol and schema version."""
    from aftersales_desk.services.sync import client  # its cursor helper and fault points

    out = Shared()
    with db.uow() as uow:
        # open here, or not yet linked to central's row (few: open conflicts await a person)
        local = _locals(client._raw(uow), "resolved = 0 OR central_id IS NULL")
    open_ids = [c.central_id for c in local if not c.resolved and c.central_id is not None]
    unlinked = [c.key for c in local if c.central_id is None]

    client._fault("conflicts:central")
    with conn.transaction(), conn.cursor() as pg:
        # the round's push and pull checked the version; row-level security limits all of
        # this to the login's branch
        pg.execute(
            "SELECT id, tbl, pk, col, kept_value, lost_value, kept_hlc, lost_hlc, at, "
            "resolved_at, resolved_by, resolution, resolved_device FROM sync_conflicts "
            "WHERE resolved_at IS NULL OR id = ANY(%s) "
            "OR (tbl, pk, col, kept_hlc, lost_hlc) IN (SELECT * FROM unnest("
            "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])) ORDER BY id",
            (open_ids, *([k[i] for k in unlinked] for i in range(5))),
        )
        at_central = {r[0]: r for r in pg.fetchall()}
        by_key = {(r[1], r[2], r[3], r[6], r[7]): r[0] for r in at_central.values()}
        for c in local:  # link what was recorded before it had central's id
            if c.central_id is None:
                c.central_id = by_key.get(c.key)
        open_there = [cid for cid, r in at_central.items() if r[9] is None]
        resolved_here: list[_Local] = []
        device = ""
        if open_there:
            with db.uow() as uow:  # resolved here, still open there: to send
                cur = client._raw(uow)
                device = client._device(cur)
                resolved_here = _locals(
                    cur,
                    "resolved = 1 AND central_id IN (SELECT value FROM json_each(?))",
                    (json.dumps(open_there),),
                )
        seen = {c.id for c in resolved_here}
        resolved_here += [c for c in local if c.resolved and c.id not in seen]
        send = [c for c in resolved_here if c.central_id in open_there]
        if send:
            pg.execute(
                "UPDATE sync_conflicts SET resolved_at = s.at, resolved_by = s.who, "
                "resolution = s.how, resolved_device = %s "
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[]) "
                "AS s(id, at, who, how) "
                "WHERE sync_conflicts.id = s.id AND sync_conflicts.resolved_at IS NULL",
                (
                    device,
                    [c.central_id for c in send],
                    [cap.from_wire("datetime", c.resolved_at) for c in send],
                    [c.resolved_by for c in send],
                    [c.resolution for c in send],
                ),
            )
            out.sent = pg.rowcount

    was_unlinked = set(unlinked)
    known = {c.central_id for c in local + resolved_here if c.central_id is not None}
    linked_now = [c for c in local if c.key in was_unlinked and c.central_id is not None]
    closed_there = [i for i in open_ids if i in at_central and at_central[i][9] is not None]
    new_here = [i for i in open_there if i not in known]
    if not (linked_now or closed_there or new_here):
        return out  # nothing changes on this desk (the usual round)
    client._fault("conflicts:local")
    with db.uow(write=True) as uow:
        cur = client._raw(uow)
        codes = {str(r[0]): str(r[1]) for r in cur.execute("SELECT id, code FROM devices")}
        for c in local:
            if c.central_id is None:
                continue
            cur.execute(
                "UPDATE sync_conflicts SET central_id = ? WHERE id = ? AND central_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM sync_conflicts WHERE central_id = ?)",
                (c.central_id, c.id, c.central_id),
            )
            row = at_central.get(c.central_id)
            if not c.resolved and row is not None and row[9] is not None:
                cur.execute(
                    "UPDATE sync_conflicts SET resolved = 1, resolved_at = ?, resolved_by = ?, "
                    "resolution = ? WHERE id = ? AND resolved = 0",
                    (
                        cap.to_wire("datetime", row[9]),
                        _resolver(row[10], codes.get(row[12] or "")),
                        row[11],
                        c.id,
                    ),
                )
                out.closed += cur.rowcount
        for cid in open_there:
            row = at_central[cid]
            cur.execute(
                "INSERT INTO sync_conflicts (id, at, tbl, pk, col, kept_value, lost_value, "
                "kept_hlc, lost_hlc, resolved, central_id) "
                "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM sync_conflicts WHERE central_id = ?)",
                (
                    uuid.uuid4().hex,
                    cap.to_wire("datetime", row[8]),
                    row[1],
                    row[2],
                    row[3],
                    json.dumps(row[4], ensure_ascii=False),
                    json.dumps(row[5], ensure_ascii=False),
                    row[6],
                    row[7],
                    cid,
                    cid,
                ),
            )
            out.added += cur.rowcount
        client._fault("conflicts:local-commit")
        uow.commit()
    return out
