"""Reviewing what sync could not decide alone: conflicts (the same field changed on two desks)
and changes central set aside (quarantine). No Qt; the window's Conflicts view calls these.

A reviewer's choice is an **ordinary edit** of the record through the ORM, so it is audited by
the session hook, captured by the sync triggers and reaches every desk like any other edit; the
conflict is then marked resolved (who, when, how) in the same transaction. Dismissing or
resending a set-aside change is audited with ``audit.record``. Rules: docs/sync.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Float, Integer, String, select, text
from sqlalchemy.orm import Session

from aftersales_desk.data import audit
from aftersales_desk.data import sync_capture as cap
from aftersales_desk.data.base import Base
from aftersales_desk.data.models.core import APPEND_ONLY_TABLES
from aftersales_desk.data.models.sync import SyncConflict, SyncQuarantine, SyncState
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.hlc import Stamp, wall_ms
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.auth import require
from aftersales_desk.services.pages import Page

KEEP, OTHER, EDIT = "keep", "other", "edit"
CHOICES = (KEEP, OTHER, EDIT)

# What a person calls the tables and fields a conflict can be about; anything not named here
# is shown by its column name (still readable, never a UUID).
TABLE_LABELS: dict[str, str] = {
    "customers": N_("Customer"),
    "vehicles": N_("Vehicle"),
    "customer_documents": N_("Customer document"),
    "work_orders": N_("Work order"),
    "visits": N_("Visit"),
    "policies": N_("Insurance policy"),
    "accident_intakes": N_("Accident intake"),
    "callbacks": N_("Callback"),
    "callback_forms": N_("Quick-handling form"),
    "callback_attempts": N_("Callback attempt"),
    "parts": N_("Part"),
    "part_waits": N_("Part wait"),
    "stock_bins": N_("Stock bin"),
    "stock_documents": N_("Stock document"),
    "stock_document_lines": N_("Stock document line"),
    "stock_movements": N_("Stock movement"),
    "stock_count_sessions": N_("Stock count"),
    "tools": N_("Tool"),
    "tool_loans": N_("Tool loan"),
    "schedule_duties": N_("Duty"),
    "schedule_checkoffs": N_("Duty check-off"),
    "service_providers": N_("Service provider"),
    "settings": N_("Setting"),
    "users": N_("User"),
    "devices": N_("Desk"),
    "oil_sales": N_("Oil sale"),
    "old_parts": N_("Old part"),
}
FIELD_LABELS: dict[str, str] = {
    "name": N_("Name"),
    "phone": N_("Phone"),
    "phone2": N_("Second phone"),
    "address": N_("Address"),
    "region": N_("Region"),
    "notes": N_("Notes"),
    "note": N_("Note"),
    "customer_no": N_("Customer no."),
    "id_number": N_("ID number"),
    "kind": N_("Kind"),
    "vip": N_("VIP"),
    "club_member": N_("Club member"),
    "consent_call": N_("Agrees to calls"),
    "plate": N_("Plate"),
    "vin": N_("VIN"),
    "engine_no": N_("Engine no."),
    "brand": N_("Brand"),
    "model": N_("Model"),
    "colour": N_("Colour"),
    "mileage_km": N_("Mileage (km)"),
    "purchase_date": N_("Purchase date"),
    "status": N_("Status"),
    "title": N_("Title"),
    "code": N_("Code"),
    "number": N_("Number"),
    "advisor": N_("Service advisor"),
    "assignee": N_("Assignee"),
    "fault": N_("Fault"),
    "due_on": N_("Due on"),
    "department": N_("Department"),
    "value": N_("Value"),
    "active": N_("Active"),
    "display_name": N_("Display name"),
    "role": N_("Role"),
    "language": N_("Language"),
    "part_no": N_("Part no."),
    "sale_price": N_("Sale price"),
    "purchase_price": N_("Purchase price"),
    "condition": N_("Condition"),
    "borrower": N_("Borrower"),
}
# Columns that name a record, in the order they are tried (two at most are shown).
_NAMING_COLUMNS = (
    "customer_no",
    "number",
    "policy_no",
    "part_no",
    "code",
    "key",
    "plate",
    "vin",
    "username",
    "name",
    "title",
    "customer_name",
    "product",
)
OP_LABELS = {"I": N_("New record"), "U": N_("Change"), "D": N_("Deletion")}


def table_label(tbl: str) -> str:
    return _(TABLE_LABELS[tbl]) if tbl in TABLE_LABELS else tbl


def field_label(col: str) -> str:
    return _(FIELD_LABELS[col]) if col in FIELD_LABELS else col


def stamp_time(hlc: str) -> datetime | None:
    """The wall-clock time in a clock stamp (UTC), or None when it is not a stamp."""
    try:
        return datetime.fromtimestamp(Stamp.decode(hlc).wall / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def show_value(tbl: str, col: str, wire: Any) -> str:
    """A stored (wire-form) value as a person reads it."""
    if wire is None or wire == "":
        return "—"
    if col in _secret_columns(tbl):
        return _("(hidden)")
    kind = cap.column_kinds(tbl).get(col, "plain") if _has_table(tbl) else "plain"
    if kind == "bool":
        return _("Yes") if wire in (1, True, "1") else _("No")
    if kind == "datetime":
        try:
            return cap.from_wire("datetime", wire).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return str(wire)
    if isinstance(wire, dict | list):
        return json.dumps(wire, ensure_ascii=False)
    return str(wire)


@cache
def _secret_columns(tbl: str) -> frozenset[str]:
    """Columns never shown (the audit log leaves them out too: password hashes)."""
    try:
        return frozenset(getattr(_model(tbl), "__audit_exclude__", frozenset()))
    except RefusedError:
        return frozenset()


def _has_table(tbl: str) -> bool:
    try:
        cap.table(tbl)
    except KeyError:
        return False
    return True


def _model(tbl: str) -> type[Any]:
    for mapper in Base.registry.mappers:
        if getattr(mapper.local_table, "name", None) == tbl:
            return mapper.class_
    raise RefusedError(_("This program does not know the table {table}.").format(table=tbl))


def _cursor(s: Session) -> Any:
    return s.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


class _Rows:
    """Reads records' stored (wire-form) values, a page's records of one table in one query;
    the columns a table has on this desk are read once."""

    def __init__(self, s: Session) -> None:
        self.cur = _cursor(s)
        self._have: dict[str, set[str]] = {}

    def have(self, tbl: str) -> set[str]:
        if tbl not in self._have:
            self._have[tbl] = {r[1] for r in self.cur.execute(f'PRAGMA table_info("{tbl}")')}
        return self._have[tbl]

    def many(self, tbl: str, pks: list[str], cols: list[str]) -> dict[str, dict[str, Any]]:
        cols = [c for c in dict.fromkeys(cols) if c in self.have(tbl)]
        out: dict[str, dict[str, Any]] = {}
        if not self.have(tbl):
            return out
        collist = ", ".join(["id", *(f'"{c}"' for c in cols)])
        unique = list(dict.fromkeys(pks))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.cur.execute(
                f'SELECT {collist} FROM "{tbl}" WHERE id IN ({marks})', chunk
            ):
                out[str(row[0])] = dict(zip(cols, row[1:], strict=True))
        return out

    def one(self, tbl: str, pk: str, cols: list[str]) -> dict[str, Any] | None:
        return self.many(tbl, [pk], cols).get(pk)


def _row(s: Session, tbl: str, pk: str, cols: list[str]) -> dict[str, Any] | None:
    """The record's stored (wire-form) values, or None when it is not on this desk."""
    return _Rows(s).one(tbl, pk, cols)


@cache
def naming_columns(tbl: str) -> tuple[str, ...]:
    if not _has_table(tbl):
        return ()
    columns = cap.table(tbl).c
    return tuple(c for c in _NAMING_COLUMNS if c in columns)


def record_label(tbl: str, pk: str, values: dict[str, Any] | None) -> str:
    """ "Customer C0002 李四": the table and up to two naming fields of the record (``values``:
    the desk's row, else e.g. a set-aside change's own values)."""
    source = values or {}
    parts = [str(source[c]) for c in naming_columns(tbl) if source.get(c) not in (None, "")][:2]
    if not parts:
        parts = [pk[:8]]
    return f"{table_label(tbl)} {' '.join(parts)}"


def _devices(s: Session) -> tuple[str, dict[str, str]]:
    rows = s.execute(text("SELECT id, code, is_local FROM devices")).all()
    local = next((str(r[0]) for r in rows if r[2]), "")
    return local, {str(r[0]): str(r[1]) for r in rows}


def _who(node: str, local: str, codes: dict[str, str]) -> str:
    if node == local:
        return _("this desk")
    if node in codes:
        return _("desk {code}").format(code=codes[node])
    return _("another desk")


# --- conflicts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictRow:
    id: uuid.UUID
    at: datetime
    table: str
    pk: str
    col: str
    record: str  # "Customer C0002 李四"
    field: str  # "Phone"
    kept: str  # the value that won (what the record shows)
    other: str  # the value that lost
    kept_at: datetime | None  # the clock times of both edits
    other_at: datetime | None
    kept_by: str  # "this desk", "desk B"
    other_by: str
    now: str  # the value on this desk now
    exists: bool  # False: the record was deleted (delete wins)
    editable: bool  # a value a person can type (text, number, yes/no, date)
    resolved: bool
    resolved_by: str
    resolved_at: datetime | None
    resolution: str


# Records whose values a reviewer may only pick, never type: accounts (a typed role would
# bypass the user rules), desks, number series, settings (typed JSON), the audit log.
NOT_TYPED_TABLES = frozenset({"users", "devices", "branches", "number_series", "settings"})


def _editable(tbl: str, col: str) -> bool:
    if not _has_table(tbl) or col not in cap.table(tbl).c:
        return False
    if tbl in NOT_TYPED_TABLES or tbl in APPEND_ONLY_TABLES or tbl == "audit_log":
        return False
    column = cap.table(tbl).c[col]
    if column.primary_key or column.foreign_keys:
        return False
    return cap.column_kinds(tbl)[col] in ("plain", "bool", "date")


def _oldest_first(
    s: Any, model: Any, cursor: tuple[datetime, uuid.UUID] | None, limit: int, *where: Any
) -> tuple[list[Any], bool]:
    """A keyset page of ``model`` rows oldest first, by (at, id): the rows, and whether more
    follow."""
    q = select(model).where(*where).order_by(model.at, model.id).limit(limit + 1)
    if cursor is not None:
        at, key = cursor
        q = q.where((model.at > at) | ((model.at == at) & (model.id > key)))
    found = list(s.scalars(q))
    return found[:limit], len(found) > limit


def _records(
    s: Any, found: list[Any], extra: Callable[[str], Iterable[str]] = lambda _tbl: ()
) -> dict[str, dict[str, dict[str, Any]]]:
    """The records the listed items (``tbl``, ``pk``) are about, one query per table: the
    columns that name them, and ``extra(tbl)``."""
    reader = _Rows(s)
    return {
        tbl: reader.many(
            tbl, [x.pk for x in found if x.tbl == tbl], [*naming_columns(tbl), *extra(tbl)]
        )
        for tbl in {x.tbl for x in found}
    }


def conflicts_page(
    db: Database,
    actor: Actor,
    cursor: tuple[datetime, uuid.UUID] | None,
    limit: int,
    *,
    include_resolved: bool = False,
) -> Page[ConflictRow]:
    """Conflicts to review, oldest first, a keyset page at a time."""
    with db.uow(actor) as uow:
        s = uow.session
        open_only = () if include_resolved else (SyncConflict.resolved.is_(False),)
        found, more = _oldest_first(s, SyncConflict, cursor, limit, *open_only)
        local, codes = _devices(s)
        records = _records(s, found, lambda tbl: {c.col for c in found if c.tbl == tbl})
        rows = []
        for c in found:
            current = records[c.tbl].get(c.pk)
            kept_node = _node(c.kept_hlc)
            other_node = _node(c.lost_hlc)
            rows.append(
                ConflictRow(
                    id=c.id,
                    at=c.at,
                    table=c.tbl,
                    pk=c.pk,
                    col=c.col,
                    record=record_label(c.tbl, c.pk, current),
                    field=field_label(c.col),
                    kept=show_value(c.tbl, c.col, c.kept_value),
                    other=show_value(c.tbl, c.col, c.lost_value),
                    kept_at=stamp_time(c.kept_hlc),
                    other_at=stamp_time(c.lost_hlc),
                    kept_by=_who(kept_node, local, codes),
                    other_by=_who(other_node, local, codes),
                    now=show_value(c.tbl, c.col, current.get(c.col)) if current else _("(deleted)"),
                    exists=current is not None,
                    editable=_editable(c.tbl, c.col),
                    resolved=c.resolved,
                    resolved_by=c.resolved_by or "",
                    resolved_at=c.resolved_at,
                    resolution=c.resolution or "",
                )
            )
        nxt = (found[-1].at, found[-1].id) if more and found else None
        return Page(rows, nxt)


def _node(hlc: str) -> str:
    try:
        return Stamp.decode(hlc).node
    except ValueError:
        return ""


def parse_value(tbl: str, col: str, typed: str) -> Any:
    """A value a reviewer typed, as the Python value of the column (or ValidationError)."""
    if not _editable(tbl, col):
        raise ValidationError(
            _("{field} cannot be typed in; keep the value shown or use the other value.").format(
                field=field_label(col)
            ),
            field=col,
        )
    column = cap.table(tbl).c[col]
    kind = cap.column_kinds(tbl)[col]
    typed = typed.strip()
    if typed == "":
        if column.nullable:
            return None
        if isinstance(column.type, String):
            return ""
        raise ValidationError(_("{field} needs a value.").format(field=field_label(col)), field=col)
    if kind == "bool":
        low = typed.lower()
        if low in ("1", "yes", "y", "true", "是", "对"):
            return True
        if low in ("0", "no", "n", "false", "否", "不"):
            return False
        raise ValidationError(_("{field} is yes or no.").format(field=field_label(col)), field=col)
    if kind == "date":
        try:
            return date.fromisoformat(typed)
        except ValueError:
            raise ValidationError(
                _("{field} is a date like 2026-03-31.").format(field=field_label(col)), field=col
            ) from None
    sql_type = getattr(column.type, "impl", column.type)  # a TypeDecorator's stored type
    if isinstance(sql_type, Integer):
        try:
            return int(typed)
        except ValueError:
            raise ValidationError(
                _("{field} is a whole number.").format(field=field_label(col)), field=col
            ) from None
    if isinstance(sql_type, Float):
        try:
            return float(typed)
        except ValueError:
            raise ValidationError(
                _("{field} is a number.").format(field=field_label(col)), field=col
            ) from None
    length = getattr(column.type, "length", None)
    if length and len(typed) > length:
        raise ValidationError(
            _("{field} is at most {n} characters.").format(field=field_label(col), n=length),
            field=col,
        )
    return typed


def resolve(
    db: Database, actor: Actor, conflict_id: uuid.UUID, choice: str, typed: str | None = None
) -> None:
    """The reviewer's decision: ``keep`` the value the record shows, use the ``other`` value,
    or ``edit`` (``typed``). Other and edit are ordinary edits of the record (audited, synced);
    the conflict is marked resolved in the same transaction."""
    require(actor, Permission.REVIEW_SYNC)
    if choice not in CHOICES:
        raise ValidationError(_("Unknown choice: {choice}").format(choice=choice))
    if choice == EDIT and typed is None:
        raise ValidationError(_("Type the value to use."))
    with db.uow(actor, write=True) as uow:
        s = uow.session
        c = s.get(SyncConflict, conflict_id)
        if c is None:
            raise RefusedError(_("This conflict no longer exists."))
        if c.resolved:
            raise RefusedError(
                _("This conflict was already resolved by {who}.").format(who=c.resolved_by or "-")
            )
        current = _row(s, c.tbl, c.pk, [c.col])
        before = current[c.col] if current else None
        after = before
        if choice != KEEP:
            if current is None:
                raise RefusedError(
                    _(
                        "{record} was deleted on another desk (a deletion wins over an edit); "
                        "only keeping the deletion is possible."
                    ).format(record=table_label(c.tbl))
                )
            if choice == OTHER:
                value = cap.from_wire(cap.column_kinds(c.tbl)[c.col], c.lost_value)
            else:
                value = parse_value(c.tbl, c.col, typed or "")
            _edit(s, c.tbl, c.pk, c.col, value)
            s.flush()
            after = (_row(s, c.tbl, c.pk, [c.col]) or {}).get(c.col)
        c.resolved = True
        c.resolved_at = utcnow()
        c.resolved_by = actor.username
        c.resolution = choice
        audit.record(
            s,
            "resolve_conflict",
            c.tbl,
            c.pk,
            note=f"{c.col}: {choice}",
            before={c.col: before},
            after={c.col: after},
        )
        uow.commit()


def _edit(s: Session, tbl: str, pk: str, col: str, value: Any) -> None:
    model = _model(tbl)
    obj = s.get(model, uuid.UUID(pk))
    if obj is None:
        raise RefusedError(_("The record is no longer on this desk."))
    mapper = type(obj).__mapper__
    prop = mapper.get_property_by_column(mapper.local_table.c[col])
    if cap.column_kinds(tbl)[col] == "datetime" and isinstance(value, datetime):
        value = value.astimezone(UTC)
    setattr(obj, prop.key, value)


# --- set-aside changes (quarantine) ---------------------------------------------------------------


@dataclass(frozen=True)
class QuarantineRow:
    id: uuid.UUID
    at: datetime
    table: str
    pk: str
    op: str  # "New record", "Change", "Deletion"
    record: str
    values: str  # "Name: 李四; Phone: 138…"
    reason: str
    can_resend: bool


def _resendable(q: SyncQuarantine, local: str, *, exists: bool) -> bool:
    """A change of this desk (not one pulled from central) for a record still on this desk
    (``exists``): it can go again, as the record is now (after someone renumbered it, say)."""
    if not exists or q.op == "D" or _node(q.hlc) != local or not _has_table(q.tbl):
        return False
    return cap.classify(cap.table(q.tbl)) in ("branch", "child")


def quarantine_page(
    db: Database, actor: Actor, cursor: tuple[datetime, uuid.UUID] | None, limit: int
) -> Page[QuarantineRow]:
    with db.uow(actor) as uow:
        s = uow.session
        found, more = _oldest_first(s, SyncQuarantine, cursor, limit)
        local, _codes = _devices(s)
        records = _records(s, found)
        rows = []
        for item in found:
            values = json.loads(item.cols) if item.cols else {}
            record = records[item.tbl].get(item.pk)
            shown = "; ".join(
                _("{field}: {value}").format(field=field_label(k), value=show_value(item.tbl, k, v))
                for k, v in values.items()
                if k not in ("id", "branch_id", "created_at", "updated_at")
            )
            rows.append(
                QuarantineRow(
                    id=item.id,
                    at=item.at,
                    table=item.tbl,
                    pk=item.pk,
                    op=_(OP_LABELS.get(item.op, item.op)),
                    record=record_label(item.tbl, item.pk, record or values),
                    values=shown,
                    reason=item.reason,
                    can_resend=_resendable(item, local, exists=record is not None),
                )
            )
        nxt = (found[-1].at, found[-1].id) if more and found else None
        return Page(rows, nxt)


def dismiss(db: Database, actor: Actor, quarantine_id: uuid.UUID) -> None:
    """Drop a set-aside change from the list (the record on this desk is not touched)."""
    require(actor, Permission.REVIEW_SYNC)
    with db.uow(actor, write=True) as uow:
        s = uow.session
        item = s.get(SyncQuarantine, quarantine_id)
        if item is None:
            raise RefusedError(_("This set-aside change no longer exists."))
        audit.record(
            s,
            "dismiss_set_aside",
            item.tbl,
            item.pk,
            note=item.reason,
            before={"op": item.op, "values": json.loads(item.cols) if item.cols else None},
        )
        s.delete(item)
        uow.commit()


def resend(db: Database, actor: Actor, quarantine_id: uuid.UUID) -> None:
    """Send the record again, as it is on this desk now, as a new row (with a new clock
    stamp); the set-aside entry is removed. Only for this desk's changes of records it still
    has (e.g. after renumbering a customer whose number another desk took)."""
    require(actor, Permission.REVIEW_SYNC)
    with db.uow(actor, write=True) as uow:
        s = uow.session
        item = s.get(SyncQuarantine, quarantine_id)
        if item is None:
            raise RefusedError(_("This set-aside change no longer exists."))
        local, _codes = _devices(s)
        exists = _row(s, item.tbl, item.pk, []) is not None
        if not _resendable(item, local, exists=exists):
            raise RefusedError(
                _(
                    "This change cannot be sent again: it is a deletion, came from another "
                    "desk, or its record is no longer on this desk. Dismiss it instead."
                )
            )
        cols = [c.name for c in cap.sync_columns(cap.table(item.tbl))]
        values = _row(s, item.tbl, item.pk, cols) or {}
        s.execute(
            text(
                "INSERT INTO sync_outbox (tbl, pk, op, cols, base, hlc) "
                "VALUES (:tbl, :pk, 'I', :cols, NULL, :hlc)"
            ),
            {
                "tbl": item.tbl,
                "pk": item.pk,
                "cols": json.dumps(values, ensure_ascii=False),
                "hlc": _next_stamp(s, local),
            },
        )
        audit.record(s, "resend_set_aside", item.tbl, item.pk, note=item.reason, after=values)
        s.delete(item)
        uow.commit()


def _next_stamp(s: Session, device: str) -> str:
    """A stamp after every stamp this desk issued or saw (as the capture triggers make)."""
    top = s.scalar(text("SELECT max(hlc) FROM sync_outbox")) or ""
    state = s.get(SyncState, 1)
    floor = state.hlc_floor if state else ""
    last = max(top, floor)
    now = wall_ms()
    try:
        prev = Stamp.decode(last)
    except ValueError:
        return Stamp(now, 0, device).encode()
    if now > prev.wall:
        return Stamp(now, 0, device).encode()
    return Stamp(prev.wall, prev.counter + 1, device).encode()
