"""Catalogue maintenance at head office (docs/sync.md, "Catalogue at central").

Master data (parts, insurers, branches) is read-only to branch roles; head office keeps it on
central. ``central import parts`` reads the same workbook as a desk's ``import parts`` (the same
headers in Chinese or English, the same cell conversion and part validation from
``services/parts_io.py`` / ``parts_catalog.validate_part``) and writes it as the table owner
``asd_owner``, so central's capture triggers put every new or changed part into the change log
and every desk gets it on its next pull. All or nothing: a file with one bad cell is reported
(row, column, reason) and nothing is written.

On a desk that syncs, the catalogue is head office's: ``refuse_master_edit`` stops a local
create or edit of master data with a message saying where the change is made instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from aftersales_desk.domain.clock import utcnow
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.parts_catalog import PartInput, validate_part
from aftersales_desk.services.parts_io import (
    ALIASES,
    PART_COLUMNS,
    REQUIRED,
    PartsImportResult,
    _convert,
)
from aftersales_desk.services.progress import NO_PROGRESS, Progress
from aftersales_desk.services.xlsx_io import RowError, find_header, is_empty, load_rows

FIELDS = [f for f in PartInput.__dataclass_fields__]  # part_no first, as PartInput has them
SQL_TYPES = {
    f: {int: "integer", bool: "boolean"}.get(
        type(PartInput.__dataclass_fields__[f].default), "text"
    )
    for f in FIELDS
}


@dataclass
class CentralImportResult(PartsImportResult):
    written: bool = False  # False: dry run, or a bad file (nothing written)
    logged_changes: int = 0  # rows central's change log got for the desks
    planned: list[tuple[str, dict[str, Any]]] = field(default_factory=list, repr=False)


def _as_owner(cur: Any) -> None:
    """Work as the table owner; a branch login (or any other) is refused with a message."""
    import psycopg

    from aftersales_desk.services.sync.central import OWNER

    cur.execute("SELECT 1")  # in the caller's transaction, so SET LOCAL lasts until its end
    try:
        with cur.connection.transaction():
            cur.execute(f'SET LOCAL ROLE "{OWNER}"')
    except psycopg.errors.InsufficientPrivilege as exc:
        raise RefusedError(
            _(
                "This central login may not maintain central (catalogue, change log); use "
                "head office's login (a member of {owner}, e.g. the one that ran 'central init')."
            ).format(owner=OWNER)
        ) from exc
    except psycopg.errors.InvalidParameterValue as exc:
        raise RefusedError(
            _("The central database is not set up; run 'central init' first.")
        ) from exc


def import_parts(
    url: str,
    path: Path,
    *,
    user: str = "system",
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> CentralImportResult:
    """Insert or update central's parts from ``path`` in one transaction as ``asd_owner``."""
    import psycopg

    from aftersales_desk.services.sync.central import connect

    path = Path(path)
    rows = load_rows(path)
    header = find_header(rows, ALIASES, required=REQUIRED)
    result = CentralImportResult(dry_run=dry_run)
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('parts') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            raise RefusedError(_("The central database is not set up; run 'central init' first."))
        _as_owner(cur)
        cur.execute(f"SELECT id, {', '.join(FIELDS)} FROM parts FOR UPDATE")
        existing: dict[str, tuple[uuid.UUID, dict[str, Any]]] = {
            r[1]: (r[0], dict(zip(FIELDS, r[1:], strict=True))) for r in cur.fetchall()
        }
        _validate(rows, header, existing, result, progress)
        if result.errors or dry_run:
            conn.rollback()
            return result
        now = utcnow().replace(tzinfo=None)
        inserts = [v for op, v in result.planned if op == "insert"]
        updates = [v for op, v in result.planned if op == "update"]
        try:
            for i in range(0, len(inserts), 5000):  # one statement per 5000 rows (no COPY
                chunk = inserts[i : i + 5000]  # under row-level security)
                cur.execute(
                    f"INSERT INTO parts (id, {', '.join(FIELDS)}, created_at, updated_at) "
                    f"SELECT *, %s::timestamp, %s::timestamp FROM unnest(%s::uuid[], "
                    f"{', '.join(f'%s::{SQL_TYPES[f]}[]' for f in FIELDS)})",
                    [now, now, [uuid.uuid4() for _v in chunk]]
                    + [[v[f] for v in chunk] for f in FIELDS],
                )
            for v in updates:
                changed = v["changed"]
                sets = ", ".join(f"{c} = %s" for c in changed)
                cur.execute(
                    f"UPDATE parts SET {sets}, updated_at = %s WHERE id = %s",
                    [*(v[c] for c in changed), now, v["id"]],
                )
            note = _("{file}: {created} new, {updated} updated, {unchanged} unchanged").format(
                file=path.name,
                created=result.created,
                updated=result.updated,
                unchanged=result.unchanged,
            )
            cur.execute(
                "INSERT INTO audit_log (id, at, username, action, entity, entity_id, note) "
                "VALUES (%s, %s, %s, 'import', 'parts', '', %s)",
                (uuid.uuid4(), now, user[:64], note[:400]),
            )
            result.logged_changes = len(inserts) + len(updates)
            conn.commit()
        except psycopg.Error as exc:
            conn.rollback()
            raise RefusedError(
                _("Central refused the catalogue change; nothing was written: {reason}").format(
                    reason=str(exc).strip().splitlines()[0] if str(exc).strip() else exc
                )
            ) from exc
    result.written = True
    return result


def _validate(
    rows: list[list[Any]],
    header: Any,
    existing: dict[str, tuple[uuid.UUID, dict[str, Any]]],
    result: CentralImportResult,
    progress: Progress,
) -> None:
    """The checks of a desk's parts import, against central's catalogue; fills ``result``
    (errors, counts and the planned writes)."""
    columns = header.columns
    kinds = {key: kind for key, _en, _zh, kind in PART_COLUMNS}
    titles = {i: header.written[key] for i, key in columns.items()}
    title_of = {key: titles[i] for i, key in columns.items()}
    barcodes = {v["barcode"]: no for no, (_id, v) in existing.items() if v["barcode"]}
    seen: dict[str, int] = {}
    total = len(rows) - header.index - 1
    for index in range(header.index + 1, len(rows)):
        n = index + 1  # the row number Excel shows
        if n % 500 == 0:
            progress.step(index - header.index, total)
        raw = rows[index]
        if is_empty(raw):
            continue
        result.rows += 1
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        for i, key in columns.items():
            try:
                values[key] = _convert(kinds[key], raw[i] if i < len(raw) else None)
            except ValueError as exc:
                errors.append(RowError(n, titles[i], str(exc)))
        if errors:
            result.errors.extend(errors)
            continue
        current = existing.get(str(values.get("part_no", "")).strip().upper())
        base = dict(current[1]) if current else {}
        merged = {**base, **values}
        merged.setdefault("active", True)
        try:
            data = validate_part(PartInput(**merged))
        except ValidationError as exc:
            result.errors.append(
                RowError(n, title_of.get(exc.field or "", exc.field or ""), exc.message)
            )
            continue
        if data.part_no in seen:
            result.errors.append(
                RowError(
                    n,
                    title_of["part_no"],
                    _("The part number {part} is on row {row} already.").format(
                        part=data.part_no, row=seen[data.part_no]
                    ),
                )
            )
            continue
        if data.barcode and barcodes.get(data.barcode, data.part_no) != data.part_no:
            result.errors.append(
                RowError(
                    n,
                    title_of.get("barcode", ""),
                    _("The barcode {code} already belongs to part {part}.").format(
                        code=data.barcode, part=barcodes[data.barcode]
                    ),
                )
            )
            continue
        seen[data.part_no] = n
        new = {f: getattr(data, f) for f in FIELDS}
        if data.barcode:
            barcodes[data.barcode] = data.part_no
        if current is None:
            result.created += 1
            result.planned.append(("insert", new))
            existing[data.part_no] = (uuid.uuid4(), new)  # later rows see it (barcodes)
            continue
        changed = [f for f in FIELDS if f != "part_no" and base.get(f) != new[f]]
        if changed:
            result.updated += 1
            result.planned.append(("update", {**new, "id": current[0], "changed": changed}))
        else:
            result.unchanged += 1


# --- on a desk --------------------------------------------------------------------------------


def desk_syncs(s: Session) -> bool:
    """True once this desk has synced with central (pushed or pulled anything)."""
    row = s.execute(
        text(
            "SELECT 1 FROM sync_state WHERE id = 1 AND (last_sync_at IS NOT NULL "
            "OR cursor_seq > 0 OR next_batch_no > 1)"
        )
    ).first()
    return row is not None


def refuse_master_edit(s: Session, what: str) -> None:
    """Refuse a local create or edit of master data (``what``: the thing, e.g. "part P0001")
    on a desk that syncs: head office keeps it, and a local one would never reach the others
    (its stock movements would be set aside at central)."""
    if desk_syncs(s):
        raise RefusedError(
            _(
                "This desk syncs with head office, which keeps the parts catalogue and the "
                "insurer list: {what} cannot be added or changed here. Ask head office to add "
                "it (central import parts); it arrives here with the next sync."
            ).format(what=what)
        )
