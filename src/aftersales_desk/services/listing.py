"""``ls KIND``: one plain object per row, keys in English snake_case, dates ISO 8601.

Modules register their kinds in ``LISTINGS``; each yields dicts page by page so a large table is
streamed, never held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select

from aftersales_desk.data.models import AuditEntry, Branch, Device, User
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.services.auth import require

Lister = Callable[[Database, Actor, dict[str, str]], Iterator[dict[str, Any]]]
LISTINGS: dict[str, Lister] = {}
BATCH = 1000


def register(kind: str) -> Callable[[Lister], Lister]:
    def deco(fn: Lister) -> Lister:
        LISTINGS[kind] = fn
        return fn

    return deco


def iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def stream(
    db: Database, actor: Actor, query: Any, to_dict: Callable[[Any], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Yield ``to_dict(row)`` for every row of ``query`` (ordered by a unique key), in batches."""
    with db.uow(actor) as uow:
        for row in uow.session.execute(query.execution_options(yield_per=BATCH)).scalars():
            yield to_dict(row)


@register("branches")
def _branches(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    return stream(
        db,
        actor,
        select(Branch).order_by(Branch.code),
        lambda b: {
            "id": str(b.id),
            "code": b.code,
            "name": b.name,
            "address": b.address,
            "phone": b.phone,
        },
    )


@register("devices")
def _devices(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    return stream(
        db,
        actor,
        select(Device).order_by(Device.code),
        lambda d: {
            "id": str(d.id),
            "branch_id": str(d.branch_id),
            "code": d.code,
            "name": d.name,
            "is_local": d.is_local,
        },
    )


@register("users")
def _users(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    require(actor, Permission.MANAGE_USERS)
    q = select(User).order_by(User.username)
    if "role" in filters:
        q = q.where(User.role == filters["role"])
    return stream(
        db,
        actor,
        q,
        lambda u: {
            "id": str(u.id),
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
            "locked_until": iso(u.locked_until),
            "last_login_at": iso(u.last_login_at),
        },
    )


@register("audit")
def _audit(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    require(actor, Permission.VIEW_AUDIT)
    q = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if "entity" in filters:
        q = q.where(AuditEntry.entity == filters["entity"])
    if "user" in filters:
        q = q.where(AuditEntry.username == filters["user"])
    if "action" in filters:
        q = q.where(AuditEntry.action == filters["action"])
    return stream(
        db,
        actor,
        q,
        lambda e: {
            "id": str(e.id),
            "at": iso(e.at),
            "username": e.username,
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "before": e.before,
            "after": e.after,
            "note": e.note,
        },
    )
