"""Excel in and out for the parts counter: ``import parts`` / ``export parts`` (headers in Chinese
or English, any order; rows matched by part number update the part; valid rows go in in one
transaction; rejected rows are reported with row, column and reason) and ``export movements``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aftersales_desk.data import audit
from aftersales_desk.data.models.parts import Bin, Part, StockDocument, StockMovement
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.money import MINOR_PER_UNIT, parse_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import N_, _, current_language
from aftersales_desk.services.auth import require
from aftersales_desk.services.parts_catalog import PartInput, apply_part, validate_part
from aftersales_desk.services.progress import NO_PROGRESS, Progress
from aftersales_desk.services.xlsx_io import (
    HeaderRow,
    RowError,
    cell_bool,
    cell_int,
    cell_text,
    find_header,
    is_empty,
    load_rows,
    write_import_report,
)
from aftersales_desk.services.xlsx_io import ImportResult as BaseImportResult

# field → (English header, Chinese header, kind); the first two are what ``export`` writes
PART_COLUMNS: list[tuple[str, str, str, str]] = [
    ("part_no", "Part no.", "零件号", "text"),
    ("name", "Name", "名称", "text"),
    ("model_fit", "Model fit", "适用车型", "text"),
    ("unit", "Unit", "单位", "text"),
    ("purchase_price", "Purchase price", "进价", "money"),
    ("sale_price", "Sale price", "售价", "money"),
    ("default_bin", "Default bin", "默认货位", "text"),
    ("min_qty", "Min stock", "最低库存", "int"),
    ("max_qty", "Max stock", "最高库存", "int"),
    ("category", "Category", "类别", "text"),
    ("barcode", "Barcode", "条码", "text"),
    ("active", "Active", "启用", "bool"),
]
SYNONYMS = {
    "part number": "part_no",
    "partno": "part_no",
    "配件号": "part_no",
    "配件编号": "part_no",
    "零件编号": "part_no",
    "配件名称": "name",
    "零件名称": "name",
    "车型": "model_fit",
    "货位": "default_bin",
    "库位": "default_bin",
    "min": "min_qty",
    "max": "max_qty",
}
REQUIRED = ("part_no", "name")
MORE_TRUE = ("启用",)
MORE_FALSE = ("停用",)

# field → the headers that mean it (Chinese and English first, as export writes them)
ALIASES: dict[str, list[str]] = {
    key: [zh, en, *(s for s, k in SYNONYMS.items() if k == key)]
    for key, en, zh, _kind in PART_COLUMNS
}


@dataclass
class PartsImportResult(BaseImportResult):
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def rejected(self) -> list[RowError]:
        return self.errors

    def summary(self) -> list[tuple[str, Any]]:
        rows, *rest = super().summary()
        return [
            rows,
            (_("New"), self.created),
            (_("Updated"), self.updated),
            (_("Unchanged"), self.unchanged),
            *rest,
        ]


ImportResult = PartsImportResult  # the name the parts tab imports


def _convert(kind: str, value: Any) -> Any:
    if kind == "text":
        return cell_text(value)
    if kind == "money":
        if value is None or cell_text(value) == "":
            return 0
        if isinstance(value, float):
            value = Decimal(str(value))
        minor = parse_money(value if not isinstance(value, int) else Decimal(value))
        if minor < 0:
            raise ValueError(_("This value cannot be negative."))
        return minor
    if kind == "int":
        try:
            return cell_int(value)
        except ValueError:
            raise ValueError(
                _("Not a whole number: {value}").format(value=cell_text(value))
            ) from None
    if kind == "bool":
        try:
            return cell_bool(value, true=MORE_TRUE, false=MORE_FALSE)
        except ValueError:
            raise ValueError(_("Not yes or no: {value}").format(value=cell_text(value))) from None
    raise AssertionError(kind)


def import_parts(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> PartsImportResult:
    """Read ``path`` and insert or update parts; see the module docstring for the rules."""
    require(actor, Permission.EDIT_PARTS)
    path = Path(path)
    rows = load_rows(path)
    header = find_header(rows, ALIASES, required=REQUIRED)
    return _import_rows(db, actor, path, rows, header, dry_run=dry_run, progress=progress)


def _import_rows(
    db: Database,
    actor: Actor,
    path: Path,
    rows: list[list[Any]],
    header: HeaderRow,
    *,
    dry_run: bool,
    progress: Progress,
) -> PartsImportResult:
    columns = header.columns
    kinds = {key: kind for key, _en, _zh, kind in PART_COLUMNS}
    titles = {i: header.written[key] for i, key in columns.items()}
    result = PartsImportResult(dry_run=dry_run)
    seen: dict[str, int] = {}
    with db.uow(actor, write=True) as uow:
        s = uow.session
        # issue 9: on a desk that syncs, head office keeps the catalogue
        from aftersales_desk.services.sync.central_catalogue import refuse_master_edit

        refuse_master_edit(s, _("the parts in {file}").format(file=path.name))
        for index in range(header.index + 1, len(rows)):
            n = index + 1  # the row number Excel shows
            if n % 500 == 0:
                progress.step(index - header.index, len(rows) - header.index - 1)
            raw = rows[index]
            if is_empty(raw):
                continue
            result.rows += 1
            values: dict[str, Any] = {}
            errors: list[RowError] = []
            for i, key in columns.items():
                value = raw[i] if i < len(raw) else None
                try:
                    values[key] = _convert(kinds[key], value)
                except ValueError as exc:
                    errors.append(RowError(n, titles[i], str(exc)))
            if errors:
                result.errors.extend(errors)
                continue
            existing = s.scalars(
                select(Part).where(Part.part_no == str(values.get("part_no", "")).upper())
            ).first()
            base = (
                {f: getattr(existing, f) for f in PartInput.__dataclass_fields__}
                if existing
                else {}
            )
            merged = {**base, **values}
            merged.setdefault("active", True)
            try:
                data = validate_part(PartInput(**merged))
            except ValidationError as exc:
                col = next(
                    (titles[i] for i, k in columns.items() if k == exc.field), exc.field or ""
                )
                result.errors.append(RowError(n, col, exc.message))
                continue
            if data.part_no in seen:
                col = next(titles[i] for i, k in columns.items() if k == "part_no")
                result.errors.append(
                    RowError(
                        n,
                        col,
                        _("The part number {part} is on row {row} already.").format(
                            part=data.part_no, row=seen[data.part_no]
                        ),
                    )
                )
                continue
            if data.barcode:
                other = s.scalars(
                    select(Part.part_no).where(
                        Part.barcode == data.barcode, Part.part_no != data.part_no
                    )
                ).first()
                if other is not None:
                    col = next((titles[i] for i, k in columns.items() if k == "barcode"), "")
                    result.errors.append(
                        RowError(
                            n,
                            col,
                            _("The barcode {code} already belongs to part {part}.").format(
                                code=data.barcode, part=other
                            ),
                        )
                    )
                    continue
            seen[data.part_no] = n
            before = dict(base)
            _part, created = apply_part(s, data)
            if created:
                result.created += 1
            elif any(before.get(k) != getattr(data, k) for k in before):
                result.updated += 1
            else:
                result.unchanged += 1
            s.flush()
        if not dry_run:
            audit.record(
                s,
                "import",
                "parts",
                note=_("{file}: {created} new, {updated} updated, {rejected} rows rejected").format(
                    file=path.name,
                    created=result.created,
                    updated=result.updated,
                    rejected=result.rejected_rows,
                ),
            )
            uow.commit()
    return result


# ``import parts --report`` writes the shared report (rejected rows, warnings, summary)
__all__ = ["ImportResult", "PartsImportResult", "RowError", "write_import_report"]


def export_parts(db: Database, actor: Actor, out: Path, *, progress: Progress = NO_PROGRESS) -> int:
    """Write the whole catalogue in the format ``import parts`` reads back unchanged."""
    from openpyxl import Workbook

    zh = current_language() == "zh_CN"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Parts")[:31])
    ws.append([zh_h if zh else en for _k, en, zh_h, _kind in PART_COLUMNS])
    n = 0
    with db.uow(actor) as uow:
        for part in uow.session.scalars(
            select(Part).order_by(Part.part_no).execution_options(yield_per=1000)
        ):
            row = []
            for key, _en, _zh, kind in PART_COLUMNS:
                v = getattr(part, key)
                if kind == "money":
                    v = Decimal(v) / MINOR_PER_UNIT
                    v = float(v)
                elif kind == "bool":
                    v = ("是" if v else "否") if zh else ("yes" if v else "no")
                row.append(v)
            ws.append(row)
            n += 1
            if n % 1000 == 0:
                progress.step(n, None)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    _log_export(db, actor, "parts", f"{out.name}: {n}")
    return n


def _log_export(db: Database, actor: Actor, entity: str, note: str) -> None:
    with db.uow(actor, write=True) as uow:
        audit.record(uow.session, "export", entity, note=note)
        uow.commit()


MOVEMENT_COLUMNS = [
    N_("Seq"),
    N_("Time (UTC)"),
    N_("Kind"),
    N_("Part no."),
    N_("Bin"),
    N_("Qty"),
    N_("Unit cost"),
    N_("Value"),
    N_("Document"),
    N_("Reversal"),
    N_("User"),
    N_("Note"),
]


def export_movements(
    db: Database, actor: Actor, out: Path, *, progress: Progress = NO_PROGRESS
) -> int:
    """Every movement of the branch in posting order (streamed: the ledger may be millions)."""
    from openpyxl import Workbook

    from aftersales_desk.services.stock import KIND_LABELS

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Movements")[:31])
    ws.append([_(c) for c in MOVEMENT_COLUMNS])
    n = 0
    with db.uow(actor) as uow:
        s = uow.session
        parts = dict(s.execute(select(Part.id, Part.part_no)).all())
        bins = dict(s.execute(select(Bin.id, Bin.code)).all())
        numbers = dict(
            s.execute(
                select(StockDocument.id, StockDocument.number).where(
                    StockDocument.branch_id == actor.branch_id
                )
            ).all()
        )
        q = (
            select(StockMovement)
            .where(StockMovement.branch_id == actor.branch_id)
            .order_by(StockMovement.seq)
            .execution_options(yield_per=5000)
        )
        for m in s.scalars(q):
            ws.append(
                [
                    m.seq,
                    m.at.replace(tzinfo=None),
                    _(KIND_LABELS[m.kind]),
                    parts.get(m.part_id, ""),
                    bins.get(m.bin_id, ""),
                    m.qty,
                    m.unit_cost / MINOR_PER_UNIT,
                    m.value / MINOR_PER_UNIT,
                    numbers.get(m.document_id, "") if m.document_id else "",
                    _("yes") if m.reverses_id else "",
                    m.username,
                    m.note,
                ]
            )
            n += 1
            if n % 5000 == 0:
                progress.step(n, None)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    _log_export(db, actor, "stock_movements", f"{out.name}: {n}")
    return n
