"""Reading the audit log (managers): newest first, a page at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, tuple_

from aftersales_desk.data.models import AuditEntry
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: uuid.UUID
    at: datetime
    username: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str


class AuditService:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def page(
        self, cursor: tuple[datetime, uuid.UUID] | None = None, limit: int = 200, *, text: str = ""
    ) -> Page[AuditRow]:
        require(self.actor, Permission.VIEW_AUDIT)
        q = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        if self.actor.branch_id is not None:
            q = q.where(
                or_(AuditEntry.branch_id == self.actor.branch_id, AuditEntry.branch_id.is_(None))
            )
        if cursor is not None:
            q = q.where(tuple_(AuditEntry.at, AuditEntry.id) < tuple_(*cursor))
        if text:
            like = f"%{text}%"
            q = q.where(
                or_(
                    AuditEntry.username.like(like),
                    AuditEntry.entity.like(like),
                    AuditEntry.action.like(like),
                    AuditEntry.entity_id.like(like),
                )
            )
        with self.db.uow(self.actor) as uow:
            entries = list(uow.session.scalars(q.limit(limit + 1)))
        rows = [
            AuditRow(
                e.id, e.at, e.username, e.action, e.entity, e.entity_id, e.before, e.after, e.note
            )
            for e in entries[:limit]
        ]
        nxt = (rows[-1].at, rows[-1].id) if len(entries) > limit else None
        return Page(rows, nxt)
