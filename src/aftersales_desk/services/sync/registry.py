"""Sync's registrations: ``ls conflicts`` / ``ls sync-quarantine``, the ``check`` that every
synced table is captured, and the sync state for the status bar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.models.sync import SyncConflict, SyncOutbox, SyncQuarantine, SyncState
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import integrity, listing


@listing.register("conflicts")
def _conflicts(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    query = select(SyncConflict).order_by(SyncConflict.at, SyncConflict.id)
    if filters.get("open", "").lower() in ("1", "true", "yes"):
        query = query.where(SyncConflict.resolved.is_(False))
    return listing.stream(
        db,
        actor,
        query,
        lambda c: {
            "id": str(c.id),
            "at": listing.iso(c.at),
            "table": c.tbl,
            "row_id": c.pk,
            "field": c.col,
            "kept_value": c.kept_value,
            "lost_value": c.lost_value,
            "kept_clock": c.kept_hlc,
            "lost_clock": c.lost_hlc,
            "resolved": c.resolved,
        },
    )


@listing.register("sync-quarantine")
def _quarantine(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    return listing.stream(
        db,
        actor,
        select(SyncQuarantine).order_by(SyncQuarantine.at, SyncQuarantine.id),
        lambda q: {
            "id": str(q.id),
            "at": listing.iso(q.at),
            "table": q.tbl,
            "row_id": q.pk,
            "operation": q.op,
            "values": json.loads(q.cols) if q.cols else None,
            "reason": q.reason,
        },
    )


@integrity.register(N_("Every synced table is captured for sync"))
def _capture_complete(s: Session) -> list[str]:
    conn = s.connection().connection.dbapi_connection
    return [
        _("Sync capture trigger {name} is missing or changed.").format(name=name)
        for name in cap.missing_capture(conn)  # type: ignore[arg-type]
    ]


@dataclass(frozen=True)
class SyncStatus:
    last_sync_at: datetime | None
    pending: int
    open_conflicts: int
    quarantined: int


def status(db: Database, actor: Actor) -> SyncStatus:
    """What the status bar shows: last sync, changes waiting, conflicts to review."""
    with db.uow(actor) as uow:
        s = uow.session
        state = s.get(SyncState, 1)
        return SyncStatus(
            last_sync_at=state.last_sync_at if state else None,
            pending=s.scalar(select(func.count()).select_from(SyncOutbox)) or 0,
            open_conflicts=s.scalar(select(func.count()).where(SyncConflict.resolved.is_(False)))
            or 0,
            quarantined=s.scalar(select(func.count()).select_from(SyncQuarantine)) or 0,
        )
