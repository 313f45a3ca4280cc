"""Reading the audit log (managers): newest first, a page at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from aftersales_desk.data.models import AuditEntry
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page, keyset, page


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
        q = select(AuditEntry)
        if self.actor.branch_id is not None:
            q = q.where(
                or_(AuditEntry.branch_id == self.actor.branch_id, AuditEntry.branch_id.is_(None))
            )
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
        q = keyset(q, [AuditEntry.at, AuditEntry.id], cursor, limit, newest_first=True)
        with self.db.uow(self.actor) as uow:
            entries = list(uow.session.scalars(q))
        return page(
            entries,
            limit,
            lambda r: (r.at, r.id),
            lambda e: AuditRow(
                e.id, e.at, e.username, e.action, e.entity, e.entity_id, e.before, e.after, e.note
            ),
        )
