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


# --- master data the migrations seed --------------------------------------------------------------

_SEED_CACHE: dict[str, dict[str, list[dict[str, Any]]]] = {}


def _seeded_rows() -> dict[str, list[dict[str, Any]]]:
    """Master-table rows (wire form) that a new desk database has after its migrations (e.g.
    the insurers' list): computed once per process from a scratch database at head."""
    import sqlite3
    import tempfile

    from aftersales_desk.data import sync_capture as cap
    from aftersales_desk.data.migrate import head_revision, upgrade_database

    head = str(head_revision())
    if head not in _SEED_CACHE:
        with tempfile.TemporaryDirectory(prefix="asd-seed-") as folder:
            path = Path(folder) / "seed.sqlite"
            upgrade_database(path)
            conn = sqlite3.connect(path)
            try:
                out: dict[str, list[dict[str, Any]]] = {}
                for t in cap.synced_tables():
                    if cap.classify(t) != "master" or t.name == "branches":
                        continue
                    names = [c.name for c in cap.sync_columns(t)]
                    cols = ", ".join(f'"{n}"' for n in names)
                    rows = conn.execute(f'SELECT {cols} FROM "{t.name}"').fetchall()
                    if rows:
                        out[t.name] = [dict(zip(names, r, strict=True)) for r in rows]
            finally:
                conn.close()
        _SEED_CACHE[head] = out
    return _SEED_CACHE[head]


def seed_master_data(cur: Any) -> int:
    """Give central the master rows every desk's migrations seed, with the same ids (so desks
    find nothing to change when they pull them; a policy pushed from a desk finds its insurer).
    Rows central already has (same id or same unique key) are left alone. Called by ``central
    init`` as the owner; returns how many rows were added."""
    from aftersales_desk.data import sync_capture as cap
    from aftersales_desk.services.sync.central import _pg_value

    added = 0
    for table, rows in _seeded_rows().items():
        kinds = cap.column_kinds(table)
        names = list(rows[0])
        cur.executemany(
            f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)}) '
            f"VALUES ({', '.join(['%s'] * len(names))}) ON CONFLICT DO NOTHING",
            [[_pg_value(kinds[n], r[n]) for n in names] for r in rows],
        )
        added += max(cur.rowcount, 0)
    return added


# --- insurers ----------------------------------------------------------------------------------

# field → (Chinese header, English header, more names)
INSURER_ALIASES: dict[str, list[str]] = {
    "code": ["代码", "Code", "保险公司代码", "insurer code"],
    "name": ["名称", "Name", "保险公司", "保险公司名称", "insurer"],
    "short_name": ["简称", "Short name"],
    "active": ["启用", "Active"],
    "sort_order": ["排序", "Order", "sort order"],
}
INSURER_FIELDS = ["code", "name", "short_name", "active", "sort_order"]
# an insurer's id is derived from its code, as the desks' seed (migration 0009) does, so an
# insurer head office adds that a desk already has is the same row there
INSURER_NAMESPACE = uuid.UUID("6f1c2d8e-3b7a-4c51-9a0e-2f4d6b8c1a35")


def _insurer_row(raw: list[Any], header: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The row's values (trimmed, converted) and its problems as (field, message)."""
    from aftersales_desk.services.xlsx_io import cell_bool, cell_int, cell_text

    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for i, key in header.columns.items():
        value = raw[i] if i < len(raw) else None
        try:
            if key == "active":
                values[key] = (
                    True
                    if cell_text(value) == ""
                    else cell_bool(value, true=("启用",), false=("停用",))
                )
            elif key == "sort_order":
                values[key] = None if cell_text(value) == "" else cell_int(value)
            else:
                values[key] = cell_text(value)
        except ValueError:
            problems.append((key, _("Not a valid value: {value}").format(value=cell_text(value))))
    values["code"] = values.get("code", "").strip().upper()
    values["name"] = values.get("name", "").strip()
    if not values["code"] or len(values["code"]) > 16:
        problems.append(("code", _("An insurer code is 1 to 16 characters.")))
    if not values["name"] or len(values["name"]) > 100:
        problems.append(("name", _("An insurer name is 1 to 100 characters.")))
    if len(values.get("short_name", "")) > 20:
        problems.append(("short_name", _("A short name is at most 20 characters.")))
    return values, problems


def import_insurers(
    url: str, path: Path, *, user: str = "system", dry_run: bool = False
) -> CentralImportResult:
    """Insert or update central's insurer list (matched by code) from ``path``, all or
    nothing, as ``asd_owner``; the desks get it with their next pull."""
    from aftersales_desk.services.sync.central import connect

    path = Path(path)
    rows = load_rows(path)
    header = find_header(rows, INSURER_ALIASES, required=("code", "name"))
    title = {key: header.written[key] for key in header.columns.values()}
    result = CentralImportResult(dry_run=dry_run)
    with connect(url) as conn, conn.cursor() as cur:
        _as_owner(cur)
        cur.execute(f"SELECT id, {', '.join(INSURER_FIELDS)} FROM insurers FOR UPDATE")
        by_code = {r[1]: (r[0], dict(zip(INSURER_FIELDS, r[1:], strict=True))) for r in cur}
        by_name = {v["name"]: code for code, (_id, v) in by_code.items()}
        order = max((v["sort_order"] for _id, v in by_code.values()), default=0)
        seen: dict[str, int] = {}
        for index in range(header.index + 1, len(rows)):
            n = index + 1
            if is_empty(rows[index]):
                continue
            result.rows += 1
            values, problems = _insurer_row(rows[index], header)
            code = values["code"]
            if not problems and code in seen:
                problems.append(
                    ("code", _("The code {code} is on row {row} already.").format(
                        code=code, row=seen[code]
                    ))
                )  # fmt: skip
            holder = by_name.get(values["name"])
            if not problems and holder is not None and holder != code:
                problems.append(
                    ("name", _("The name {name} already belongs to insurer {code}.").format(
                        name=values["name"], code=holder
                    ))
                )  # fmt: skip
            if problems:
                result.errors += [RowError(n, title.get(f, f), m) for f, m in problems]
                continue
            seen[code] = n
            current = by_code.get(code)
            base = current[1] if current else {"short_name": "", "active": True}
            new = {**base, **{k: v for k, v in values.items() if v is not None}}
            if new.get("sort_order") is None:
                order += 10
                new["sort_order"] = order
            new = {f: new.get(f) for f in INSURER_FIELDS}
            by_name[new["name"]] = code
            if current is None:
                result.created += 1
                result.planned.append(("insert", new))
                by_code[code] = (uuid.uuid4(), new)
            elif any(current[1][f] != new[f] for f in INSURER_FIELDS):
                result.updated += 1
                result.planned.append(("update", {**new, "id": current[0]}))
            else:
                result.unchanged += 1
        if result.errors or dry_run:
            conn.rollback()
            return result
        now = utcnow().replace(tzinfo=None)
        for op, v in result.planned:
            if op == "insert":
                cur.execute(
                    f"INSERT INTO insurers (id, {', '.join(INSURER_FIELDS)}, created_at, "
                    f"updated_at) VALUES (%s, {', '.join(['%s'] * len(INSURER_FIELDS))}, %s, %s)",
                    [
                        uuid.uuid5(INSURER_NAMESPACE, v["code"]),
                        *(v[f] for f in INSURER_FIELDS),
                        now,
                        now,
                    ],
                )
            else:
                cur.execute(
                    f"UPDATE insurers SET {', '.join(f'{f} = %s' for f in INSURER_FIELDS)}, "
                    "updated_at = %s WHERE id = %s",
                    [*(v[f] for f in INSURER_FIELDS), now, v["id"]],
                )
        cur.execute(
            "INSERT INTO audit_log (id, at, username, action, entity, entity_id, note) "
            "VALUES (%s, %s, %s, 'import', 'insurers', '', %s)",
            (
                uuid.uuid4(),
                now,
                user[:64],
                _("{file}: {created} new, {updated} updated, {unchanged} unchanged").format(
                    file=path.name,
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                )[:400],
            ),
        )
        result.logged_changes = len(result.planned)
        conn.commit()
    result.written = True
    return result


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
