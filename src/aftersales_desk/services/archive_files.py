"""Excel in and out of the archive (``import customers``, ``export customers``, the template) and
the printed customer service card.

Import rules (CONTRACT.md): headers matched by name in Chinese or English in any order, title
rows above the header allowed, merged cells read as their top-left value, numbers held by Excel
read back as text (phone, VIN, ID), dates as Excel dates or text (2023/5/6, 2023年5月6日), empty
rows skipped. Every bad row is reported with its row number and column header; the good rows go
in one transaction; a row whose customer no. exists updates that customer. One row is one
customer with (optionally) one vehicle; more rows with the same customer no. add vehicles.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    select,
    text,
)

from aftersales_desk.data import audit
from aftersales_desk.data.base import UTCDateTime
from aftersales_desk.data.models import AuditEntry
from aftersales_desk.data.models.archive import Customer, Vehicle
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive import (
    ArchiveService,
    CustomerInput,
    VehicleInput,
    clean_customer,
    clean_vehicle,
    next_customer_no,
)
from aftersales_desk.services.archive_search import reindex
from aftersales_desk.services.auth import require
from aftersales_desk.services.progress import NO_PROGRESS, Progress
from aftersales_desk.services.xlsx_io import (
    HeaderRow,
    ImportResult,
    RowError,
    cell_bool,
    cell_date,
    cell_int,
    cell_text,
    find_header,
    is_empty,
    load_rows,
    row_values,
)

# field → (English header, Chinese header, other accepted spellings)
COLUMNS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("customer_no", N_("Customer no."), "客户编号", ("customer no", "客户号", "档案号", "编号")),
    ("name", N_("Name"), "客户名称", ("姓名", "客户姓名", "客户", "customer", "customer name")),
    ("kind", N_("Type"), "客户类型", ("类型", "type", "kind")),
    (
        "phone",
        N_("Mobile phone"),
        "手机",
        ("手机号", "手机号码", "电话", "联系电话", "mobile", "phone"),
    ),
    ("phone2", N_("Other phone"), "其他电话", ("固定电话", "座机", "phone 2", "landline")),
    ("address", N_("Address"), "地址", ("联系地址", "住址")),
    ("region", N_("Region"), "区域", ("地区", "所在区域")),
    (
        "id_number",
        N_("ID / credit code"),
        "证件号码",
        ("身份证号", "身份证", "统一社会信用代码", "id number", "id"),
    ),
    ("club_member", N_("Club member"), "俱乐部会员", ("会员",)),
    ("vip", N_("VIP / key account"), "重点用户", ("vip", "重点客户", "大客户")),
    ("consent_call", N_("Agrees to be called"), "同意回访", ("可回访", "consent")),
    ("notes", N_("Notes"), "备注", ("remarks",)),
    ("vin", N_("VIN"), "车架号", ("vin码", "底盘号", "车辆识别代号", "chassis no")),
    ("engine_no", N_("Engine no."), "发动机号", ("engine no", "engine number")),
    ("plate", N_("Plate"), "车牌号", ("车牌", "车牌号码", "plate no", "plate number")),
    ("brand", N_("Brand"), "品牌", ("厂牌",)),
    ("model", N_("Model"), "车型", ("型号", "product model")),
    ("colour", N_("Colour"), "颜色", ("color", "车身颜色")),
    ("purchase_date", N_("Purchase date"), "购车日期", ("购买日期", "purchased")),
    ("sale_date", N_("Sale date"), "销售日期", ("开票日期", "sold")),
    ("mileage_km", N_("Mileage"), "行驶里程", ("里程", "mileage km", "公里数")),
]
TEXT_FIELDS = {"customer_no", "phone", "phone2", "id_number", "vin", "engine_no", "plate"}
DATE_FIELDS = {"purchase_date", "sale_date"}
BOOL_FIELDS = {"club_member", "vip", "consent_call"}
VEHICLE_FIELDS = {
    "vin",
    "engine_no",
    "plate",
    "brand",
    "model",
    "colour",
    "purchase_date",
    "sale_date",
    "mileage_km",
}
_MORE_TRUE = ("会员", "vip")

# field → the headers that mean it (Chinese and English first, as export writes them)
ALIASES: dict[str, list[str]] = {f: [zh, en, *more] for f, en, zh, more in COLUMNS}


def header_label(field_name: str) -> str:
    """The header of a field in the current language (what export and the template write)."""
    for f, en, zh, _more in COLUMNS:
        if f == field_name:
            from aftersales_desk.i18n import current_language

            return zh if current_language() == "zh_CN" else _(en)
    return field_name


@dataclass
class CustomerImportResult(ImportResult):
    customers_added: int = 0
    customers_updated: int = 0
    vehicles_added: int = 0
    vehicles_updated: int = 0

    def summary(self) -> list[tuple[str, Any]]:
        rows, *rest = super().summary()
        return [
            rows,
            (_("Customers added"), self.customers_added),
            (_("Customers updated"), self.customers_updated),
            (_("Vehicles added"), self.vehicles_added),
            (_("Vehicles updated"), self.vehicles_updated),
            *rest,
        ]


def cell_kind(value: Any) -> str:
    text = cell_text(value).lower()
    if text in ("", "个人", "person", "私人", "individual"):
        return "person"
    if text in ("单位", "公司", "企业", "company", "organisation", "organization"):
        return "company"
    raise ValueError(text)


def customer_header(rows: list[list[Any]]) -> HeaderRow:
    """The header row of a customer sheet: a name column and at least one more known column."""
    return find_header(rows, ALIASES, required=("name",), min_known=2)


@dataclass
class _Parsed:
    row: int
    customer: CustomerInput
    vehicle: VehicleInput | None
    warnings: list[str]


def parse_rows(path: Path) -> tuple[list[_Parsed], list[RowError], list[RowError], int]:
    rows = load_rows(path)
    header = customer_header(rows)
    written = header.written
    parsed: list[_Parsed] = []
    errors: list[RowError] = []
    warnings: list[RowError] = []
    seen: dict[tuple[str, ...], int] = {}
    vin_rows: dict[str, tuple[int, str]] = {}
    count = 0
    for index in range(header.index + 1, len(rows)):
        excel_row = index + 1
        values = row_values(rows[index], header)
        if is_empty(values.values()):
            continue  # an empty row
        count += 1
        row_errors: list[RowError] = []

        def err(
            f: str, message: str, excel_row: int = excel_row, row_errors: list = row_errors
        ) -> None:
            row_errors.append(RowError(excel_row, written.get(f, header_label(f)), message))

        data: dict[str, Any] = {}
        for f, v in values.items():
            try:
                if f in DATE_FIELDS:
                    data[f] = cell_date(v)
                elif f in BOOL_FIELDS:
                    data[f] = cell_bool(v, true=_MORE_TRUE)
                elif f == "kind":
                    data[f] = cell_kind(v)
                elif f == "mileage_km":
                    data[f] = cell_int(v)
                else:
                    data[f] = cell_text(v)
            except ValueError:
                if f in DATE_FIELDS:
                    err(f, _("Not a date: {value} (e.g. 2023-05-06, 2023/5/6)").format(value=v))
                elif f == "mileage_km":
                    err(f, _("Not a whole number: {value}").format(value=v))
                elif f == "kind":
                    err(
                        f, _("The type is 个人/person or 单位/company, not {value}").format(value=v)
                    )
                else:
                    err(f, _("Give 是/yes or 否/no, not {value}").format(value=v))
        cust_data = {k: v for k, v in data.items() if k not in VEHICLE_FIELDS}
        veh_data = {k: v for k, v in data.items() if k in VEHICLE_FIELDS}
        customer = vehicle = None
        row_warnings: list[str] = []
        try:
            customer, w = clean_customer(CustomerInput(**{"name": "", **cust_data}))
            row_warnings += w
        except ValidationError as exc:
            err(exc.field or "name", exc.message)
        if veh_data.get("vin") or veh_data.get("plate"):
            try:
                vehicle, w = clean_vehicle(VehicleInput(**veh_data))
                row_warnings += w
            except ValidationError as exc:
                err(exc.field or "vin", exc.message)
        if not row_errors and customer is not None:
            key = (
                customer.customer_no,
                customer.name,
                customer.phone,
                vehicle.vin if vehicle else "",
                vehicle.plate if vehicle else "",
            )
            if key in seen:
                err("", _("The same as row {row}.").format(row=seen[key]))
            else:
                seen[key] = excel_row
            if vehicle is not None and vehicle.vin and not row_errors:
                owner = customer.customer_no or customer.name + customer.phone
                other = vin_rows.get(vehicle.vin)
                if other is not None and other[1] != owner:
                    err(
                        "vin",
                        _("VIN {vin} is also in row {row}.").format(vin=vehicle.vin, row=other[0]),
                    )
                vin_rows.setdefault(vehicle.vin, (excel_row, owner))
        if row_errors:
            errors.extend(row_errors)
            continue
        assert customer is not None
        parsed.append(_Parsed(excel_row, customer, vehicle, row_warnings))
        warnings.extend(RowError(excel_row, "", w) for w in row_warnings)
    return parsed, errors, warnings, count


def import_customers(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> CustomerImportResult:
    """Import customers (and their vehicles) from ``path``; see the module's rules."""
    require(actor, Permission.EDIT_CUSTOMERS)
    parsed, errors, warnings, count = parse_rows(Path(path))
    result = CustomerImportResult(rows=count, errors=errors, warnings=warnings, dry_run=dry_run)
    now = utcnow()
    with db.uow(actor, write=True) as uow, uow.session.no_autoflush:
        s = uow.session
        # A 50k-row import touches more index pages than SQLite's default 2 MB page cache holds
        # (pages spill to the WAL mid-transaction); a larger cache for this transaction only.
        raw = s.connection().connection.driver_connection
        cache_size = raw.execute("PRAGMA cache_size").fetchone()[0]
        raw.execute("PRAGMA cache_size = -131072")
        # Existing customers are updated through the ORM (audited by the session hook); new
        # customers and vehicles go in by bulk inserts with their audit entries written alongside.
        by_no: dict[str, Customer | dict[str, Any]] = {}
        by_name_phone: dict[tuple[str, str], dict[str, Any]] = {}
        touched: list[uuid.UUID] = []
        touched_set: set[uuid.UUID] = set()
        by_id: dict[uuid.UUID, Customer | dict[str, Any]] = {}
        nos = sorted({p.customer.customer_no for p in parsed if p.customer.customer_no})
        vehicles_of: dict[uuid.UUID, dict[str, Vehicle | dict[str, Any]]] = {}
        for i in range(0, len(nos), 500):
            found = list(
                s.scalars(
                    select(Customer).where(
                        Customer.branch_id == actor.branch_id,
                        Customer.customer_no.in_(nos[i : i + 500]),
                    )
                )
            )
            for c in found:
                by_no[c.customer_no] = c
                vehicles_of[c.id] = {}
            for v in s.scalars(
                select(Vehicle).where(Vehicle.customer_id.in_([c.id for c in found]))
            ):
                vehicles_of[v.customer_id][v.vin or v.plate] = v
        existing_nos = set(by_no)
        counter = int(next_customer_no(s, actor.branch_id)[1:])
        new_customers: list[dict[str, Any]] = []
        new_vehicles: list[dict[str, Any]] = []
        base = {"branch_id": actor.branch_id, "created_at": now, "updated_at": now}
        for n, p in enumerate(parsed):
            if n % 1000 == 0:
                progress.step(n, len(parsed), _("Importing customers"))
            data = p.customer
            c: Customer | dict[str, Any] | None = (
                by_no.get(data.customer_no)
                if data.customer_no
                else by_name_phone.get((data.name, data.phone))
            )
            if c is None:
                no = data.customer_no
                if not no:
                    while f"C{counter:07d}" in by_no or f"C{counter:07d}" in existing_nos:
                        counter += 1
                    no = f"C{counter:07d}"
                    counter += 1
                c = {**base, **vars(data), "id": uuid.uuid4(), "customer_no": no}
                new_customers.append(c)
                result.customers_added += 1
                by_no[no] = c
                if not data.customer_no:
                    by_name_phone[(data.name, data.phone)] = c
                vehicles_of[c["id"]] = {}
            elif isinstance(c, Customer) and c.id not in touched_set:
                for k, v in vars(data).items():
                    if k != "customer_no" and getattr(c, k) != v:
                        setattr(c, k, v)
                result.customers_updated += 1
            cid = c["id"] if isinstance(c, dict) else c.id
            by_id[cid] = c
            if cid not in touched_set:
                touched_set.add(cid)
                touched.append(cid)
            if p.vehicle is not None:
                key = p.vehicle.vin or p.vehicle.plate
                v = vehicles_of[cid].get(key)
                if v is None:
                    v = {**base, **vars(p.vehicle), "id": uuid.uuid4(), "customer_id": cid}
                    new_vehicles.append(v)
                    vehicles_of[cid][key] = v
                    result.vehicles_added += 1
                else:
                    for k, value in vars(p.vehicle).items():
                        if value in (None, "", 0) and k != "mileage_km":
                            continue
                        if isinstance(v, dict):
                            v[k] = value
                        elif getattr(v, k) != value:
                            setattr(v, k, value)
                    if not isinstance(v, dict):
                        result.vehicles_updated += 1
        s.flush()
        conn = s.connection()
        for model, rows in ((Customer, new_customers), (Vehicle, new_vehicles)):
            first = conn.exec_driver_sql(
                f"SELECT coalesce(max(rowid), 0) FROM {model.__tablename__}"
            ).scalar_one()
            for i in range(0, len(rows), 5000):
                _bulk_insert(conn, model.__table__, rows[i : i + 5000])
            if rows:
                _audit_inserted(conn, actor, model, first, now)
        known = {}
        for cid in touched:
            c = by_id[cid]
            vs = vehicles_of.get(cid, {}).values()
            known[cid] = (
                *(
                    (c["customer_no"], c["name"], c["phone"], c["phone2"])
                    if isinstance(c, dict)
                    else (c.customer_no, c.name, c.phone, c.phone2)
                ),
                [
                    (v["plate"], v["vin"], v["engine_no"])
                    if isinstance(v, dict)
                    else (v.plate, v.vin, v.engine_no)
                    for v in vs
                ],
            )
        reindex(s, touched, known, new={c["id"] for c in new_customers})
        audit.record(
            s,
            "import",
            "customers",
            note=_("{file}: {rows} rows, {bad} rejected").format(
                file=Path(path).name, rows=count, bad=result.rejected_rows
            ),
        )
        if not dry_run:
            uow.commit()
        raw.execute(f"PRAGMA cache_size = {int(cache_size)}")  # as the pool had it
    progress.step(len(parsed), len(parsed), _("Importing customers"))
    return result


def _bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` through the DBAPI cursor of ``conn`` (same transaction), each value
    converted by its column type's own SQLAlchemy bind processor, so what is stored is exactly
    what ``conn.execute(insert(table), rows)`` stores, at a third of the cost (a 50k-row import
    writes 200k rows with their audit entries). Columns missing from the rows get their scalar
    default; a missing column whose default is computed is a programming error."""
    if not rows:
        return
    dialect = conn.dialect
    names = [c.name for c in table.columns]
    fill: dict[str, Any] = {}
    for c in table.columns:
        if c.name in rows[0]:
            continue
        if c.default is None or c.default.is_scalar:
            fill[c.name] = c.default.arg if c.default is not None else None
        else:
            raise AssertionError(f"{table.name}.{c.name} has a computed default; give a value")
    convert = [
        (i, _memo(process) if isinstance(c.type, Date | DateTime | TypeDecorator) else process)
        for i, c in enumerate(table.columns)
        for process in [c.type.dialect_impl(dialect).bind_processor(dialect)]
        if process is not None
    ]
    pick = itemgetter(*names)
    values = []
    for r in rows:
        if fill:
            r = {**fill, **r}
        row = list(pick(r))
        for i, process in convert:
            row[i] = process(row[i])
        values.append(row)
    # One statement for all the rows, their values passed as one JSON array (stored values are
    # text, integers, reals and NULL: json_extract gives each back as bound): the sync capture
    # triggers on these tables cost a third less per row than with one statement per row.
    sql = "INSERT INTO {} ({}) SELECT {} FROM json_each(?) ORDER BY key".format(
        table.name,
        ", ".join(f'"{n}"' for n in names),
        ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names))),
    )
    for row in values:
        for v in row:
            if type(v) not in _JSON_SAFE:
                raise AssertionError(f"{table.name}: {type(v).__name__} value in a bulk insert")
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, (json.dumps(values, ensure_ascii=False),))
    finally:
        cursor.close()


_JSON_SAFE = frozenset({str, int, float, type(None)})


def _memo(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A bind processor that converts each distinct value once (the import's timestamps are the
    same on every row, dates repeat); unhashable values are converted every time."""
    if process is None:
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            out = seen[value] = process(value)
            return out
        except TypeError:
            return process(value)

    return convert


def _db_values(conn: Connection, table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row``'s values as ``table``'s column types store them (UUIDs as hex, times as text)."""
    out = {}
    for name, value in row.items():
        process = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        out[name] = process(value) if process is not None else value
    return out


def _uuid_text(column: str) -> str:
    """SQL: a CHAR(32) hex UUID column as ``str(uuid)`` writes it (8-4-4-4-12)."""
    return (
        f"substr({column}, 1, 8) || '-' || substr({column}, 9, 4) || '-' || "
        f"substr({column}, 13, 4) || '-' || substr({column}, 17, 4) || '-' || substr({column}, 21)"
    )


# SQL: a random version-4 UUID as 32 hex digits (what uuid.uuid4().hex gives)
_UUID4_HEX = (
    "lower(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || "
    "substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || "
    "hex(randomblob(6)))"
)


def _audit_inserted(
    conn: Connection, actor: Actor, model: type, after_rowid: int, now: datetime
) -> None:
    """The audit entries of the rows of ``model`` bulk-inserted in this transaction (rowid above
    ``after_rowid``), built in SQL: the entry the session hook writes for an ORM insert (``after``
    holds every column, UUIDs and times as ``data.audit._jsonable`` writes them), without a
    Python round trip per row."""
    table = model.__table__
    audit_table = AuditEntry.__table__
    fixed = _db_values(
        conn,
        audit_table,
        {
            "at": now,
            "branch_id": actor.branch_id,
            "device_id": actor.device_id,
            "user_id": actor.user_id,
        },
    )
    params: dict[str, Any] = {
        **fixed,
        "username": actor.username,
        "entity": model.__tablename__,
        "first": after_rowid,
    }
    pairs = []
    for c in table.columns:
        name = c.name
        if isinstance(c.type, Boolean):
            value = f"CASE WHEN t.{name} THEN json('true') ELSE json('false') END"
        elif isinstance(c.type, Uuid):
            value = f"CASE WHEN t.{name} IS NULL THEN NULL ELSE {_uuid_text('t.' + name)} END"
        elif isinstance(c.type, DateTime | UTCDateTime):
            # the bulk-inserted times are the import's ``now`` (as the session hook writes it)
            if name not in ("created_at", "updated_at"):
                raise AssertionError(f"{table.name}.{name}: a time column to audit")
            params["now_iso"] = now.isoformat()
            value = ":now_iso"
        elif isinstance(c.type, Date | String | Text | Integer):
            value = f"t.{name}"
        else:
            raise AssertionError(f"{table.name}.{name}: no audit form for {c.type!r}")
        pairs.append(f"'{name}', {value}")
    sql = (
        'INSERT INTO audit_log (id, "at", branch_id, device_id, user_id, username, action, '
        'entity, entity_id, "before", "after", note) '
        f"SELECT {_UUID4_HEX}, :at, :branch_id, :device_id, :user_id, :username, 'insert', "
        f":entity, {_uuid_text('t.id')}, NULL, json_object({', '.join(pairs)}), '' "
        f"FROM {table.name} t WHERE t.rowid > :first ORDER BY t.rowid"
    )
    conn.execute(text(sql), params)


# --- export and template ----------------------------------------------------------------------
EXPORT_FIELDS = [f for f, *_rest in COLUMNS]


def _sheet(fields: list[str]):
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = _("Customers")[:31]
    ws.append([header_label(f) for f in fields])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F3")
    for i, f in enumerate(fields):
        letter = ws.cell(1, i + 1).column_letter
        ws.column_dimensions[letter].width = 22 if f in ("address", "vin", "notes") else 14
        if f in TEXT_FIELDS:  # keep phones, VINs and ID numbers as text in Excel
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    return wb, ws


def _excel_value(f: str, value: Any) -> Any:
    if f in BOOL_FIELDS:
        return _("yes") if value else _("no")
    if f == "kind":
        return "单位" if value == "company" else "个人"
    if value is None:
        return ""
    return value


def export_customers(
    db: Database, actor: Actor, out: Path, progress: Progress = NO_PROGRESS
) -> int:
    """All customers, one row per vehicle, unmasked (a file ``import`` reads back unchanged).
    Needs EXPORT_PERSONAL_DATA; the export is recorded in the audit log."""
    require(actor, Permission.EXPORT_PERSONAL_DATA)
    wb, ws = _sheet(EXPORT_FIELDS)
    n = 0
    with db.uow(actor, write=True) as uow:
        s = uow.session
        total = s.scalar(select(__import__("sqlalchemy").func.count()).select_from(Customer)) or 0
        q = (
            select(Customer, Vehicle)
            .outerjoin(Vehicle, Vehicle.customer_id == Customer.id)
            .where(Customer.branch_id == actor.branch_id)
            .order_by(Customer.customer_no, Vehicle.created_at, Vehicle.id)
        )
        for c, v in s.execute(q.execution_options(yield_per=2000)):
            row = []
            for f in EXPORT_FIELDS:
                source = v if f in VEHICLE_FIELDS else c
                value = getattr(source, f) if source is not None else None
                row.append(_excel_value(f, value))
            ws.append(row)
            n += 1
            if n % 2000 == 0:
                progress.step(n, total, _("Exporting customers"))
        for col, f in enumerate(EXPORT_FIELDS, start=1):
            if f in TEXT_FIELDS:
                for r in range(2, n + 2):
                    ws.cell(r, col).number_format = "@"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        wb.save(tmp)
        tmp.replace(out)
        audit.record(
            s, "export", "customers", note=_("{n} rows to {file}").format(n=n, file=out.name)
        )
        uow.commit()
    return n


def write_template(out: Path) -> None:
    """An empty import sheet with every header and one example row, plus a notes sheet."""
    wb, ws = _sheet(EXPORT_FIELDS)
    example = {
        "customer_no": "",
        "name": "张三",
        "kind": "个人",
        "phone": "13812345678",
        "address": "北京市朝阳区建国路88号",
        "region": "朝阳",
        "club_member": _("no"),
        "vip": _("no"),
        "consent_call": _("yes"),
        "vin": "LSGPC54U7BF000016",
        "plate": "京A12345",
        "brand": "别克",
        "model": "英朗",
        "colour": "白色",
        "purchase_date": "2023-05-06",
        "mileage_km": 12000,
    }
    ws.append([example.get(f, "") for f in EXPORT_FIELDS])
    notes = wb.create_sheet(_("Notes")[:31])
    for line in (
        _("One row per customer and vehicle; more rows with the same customer no. add vehicles."),
        _("Leave the customer no. empty for new customers: numbers are given on import."),
        _("Headers may be in Chinese or English, in any order; a title row above is allowed."),
        _("Dates: 2023-05-06, 2023/5/6 or 2023年5月6日. Yes/no: 是/否 or yes/no."),
        _("Run the import with a dry run first: it lists every problem by row and column."),
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)


# --- the printed card -------------------------------------------------------------------------
def print_card(db: Database, actor: Actor, customer_no: str, out: Path) -> Path:
    """The customer service card 客户售息卡 as PDF (numbers masked unless the role may see them;
    printing them unmasked is recorded as a reveal)."""
    from aftersales_desk.errors import RefusedError
    from aftersales_desk.reports.archive_card import write_card_pdf
    from aftersales_desk.services.settings import SettingsService

    service = ArchiveService(db, actor)
    cid = service.find_by_no(customer_no)
    if cid is None:
        raise RefusedError(_("There is no customer {no}.").format(no=customer_no))
    card = service.card(cid, reveal=actor.can(Permission.VIEW_PERSONAL_DATA))
    branch = SettingsService(db, actor).branch()
    out.parent.mkdir(parents=True, exist_ok=True)
    from aftersales_desk.services.archive import VISIT_KIND_LABELS

    write_card_pdf(card, branch, out, {k: _(v) for k, v in VISIT_KIND_LABELS.items()})
    return out
