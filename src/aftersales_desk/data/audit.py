"""Automatic audit capture: every insert, update and delete of an audited model writes an entry
(who, when, entity, before/after) in the same transaction, so no service can forget it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from aftersales_desk.data.base import Base
from aftersales_desk.data.models.core import AuditEntry
from aftersales_desk.domain.actor import SYSTEM, Actor
from aftersales_desk.domain.clock import utcnow

HIDDEN = "***"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _snapshot(obj: Base, *, changed_only: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    exclude = type(obj).__audit_exclude__
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        hist = state.attrs[key].history
        if changed_only and not hist.has_changes():
            continue
        new = hist.added[0] if hist.added else (hist.unchanged[0] if hist.unchanged else None)
        old = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else None)
        if changed_only and old == new:
            continue
        if key in exclude:
            before[key], after[key] = HIDDEN, HIDDEN
        else:
            before[key], after[key] = _jsonable(old), _jsonable(new)
    return before, after


def _entry(actor: Actor, obj: Base, action: str, before: Any, after: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "at": utcnow(),
        "branch_id": actor.branch_id,
        "device_id": actor.device_id,
        "user_id": actor.user_id,
        "username": actor.username,
        "action": action,
        "entity": type(obj).__tablename__,
        "entity_id": str(getattr(obj, "id", "") or ""),
        "before": before,
        "after": after,
        "note": "",
    }


@event.listens_for(Session, "after_flush")
def _capture(session: Session, _ctx: Any) -> None:
    actor: Actor = session.info.get("actor") or SYSTEM
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Base) and type(obj).__audited__:
            _, after = _snapshot(obj, changed_only=False)
            rows.append(_entry(actor, obj, "insert", None, after))
    for obj in session.dirty:
        if isinstance(obj, Base) and type(obj).__audited__ and session.is_modified(obj):
            before, after = _snapshot(obj, changed_only=True)
            if after:
                rows.append(_entry(actor, obj, "update", before, after))
    for obj in session.deleted:
        if isinstance(obj, Base) and type(obj).__audited__:
            before, _ = _snapshot(obj, changed_only=False)
            rows.append(_entry(actor, obj, "delete", before, None))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def record(
    session: Session,
    action: str,
    entity: str,
    entity_id: str = "",
    *,
    note: str = "",
    before: Any = None,
    after: Any = None,
) -> None:
    """An audit entry for something that is not a row change: a login, an export, a reveal."""
    actor: Actor = session.info.get("actor") or SYSTEM
    session.add(
        AuditEntry(
            at=utcnow(),
            branch_id=actor.branch_id,
            device_id=actor.device_id,
            user_id=actor.user_id,
            username=actor.username,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            note=note[:400],
        )
    )
