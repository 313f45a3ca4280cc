"""Excel in and out of the insurance log: ``import policies`` / ``export policies``.

Import rules (CONTRACT.md): headers matched by name in Chinese or English in any order (title rows
above the header allowed); one row is one policy of an archive vehicle found by its VIN or plate;
dates as Excel dates or text (2026-05-06, 2026/5/6, 2026年5月6日); the insurer by its name, short
name or code from the master list; money in yuan; the commission rate as "12.5%" (a number is a
percentage; a number below 1 is read as a fraction, as Excel stores a percent-formatted cell).
Every bad row is reported with its row number, column header and reason; the valid rows go in in
one transaction; a row whose policy no. is already recorded updates that policy. The same rules
as the form apply (no duplicate numbers, no overlapping periods, end not before start).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from aftersales_desk.data import audit
from aftersales_desk.data.models.archive import Customer, Vehicle
from aftersales_desk.data.models.insurance import Insurer, Policy
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import normalize_plate
from aftersales_desk.domain.money import MINOR_PER_UNIT, parse_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import N_, _, current_language
from aftersales_desk.services.auth import require
from aftersales_desk.services.insurance import (
    BUSINESS_ZH,
    COVERAGES,
    KIND_ZH,
    PAYMENT_ZH,
    PolicyInput,
    branch_today,
    check_policy_rules,
    clean_policy,
    link_renewal,
    one_year_end,
    policy_columns,
    policy_query,
)
from aftersales_desk.services.progress import NO_PROGRESS, Progress
from aftersales_desk.services.xlsx_io import (
    ImportResult,
    RowError,
    cell_date,
    cell_text,
    load_rows,
)

# field → (English header, Chinese header, other accepted spellings); export writes the first two
POLICY_COLUMNS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("policy_no", N_("Policy no."), "保单号", ("保单号码", "policy number", "保险单号")),
    ("insurer", N_("Insurer"), "保险公司", ("承保公司", "保险人", "承保机构")),
    ("kind", N_("Kind"), "险种", ("险种类别", "保险类型", "kind")),
    ("coverages", N_("Coverages"), "险别", ("承保险别", "投保险别", "险种明细")),
    ("plate", N_("Plate"), "车牌号", ("车牌", "车牌号码", "plate no")),
    ("vin", N_("VIN"), "车架号", ("vin码", "车辆识别代号", "底盘号")),
    ("customer_no", N_("Customer no."), "客户编号", ("客户号", "档案号")),
    ("customer_name", N_("Customer"), "客户名称", ("被保险人", "投保人", "客户姓名", "客户")),
    ("premium", N_("Premium"), "保费", ("保费金额", "保险费", "签单保费")),
    ("commission_rate", N_("Commission rate"), "手续费率", ("佣金比例", "返点", "费率")),
    ("commission", N_("Commission"), "手续费", ("佣金", "手续费金额")),
    ("start_date", N_("Start date"), "起保日期", ("保险起期", "生效日期", "起保日")),
    ("end_date", N_("End date"), "终保日期", ("保险止期", "到期日期", "止保日期", "到期日")),
    ("issued_on", N_("Issued on"), "出单日期", ("签单日期", "出单日")),
    ("salesperson", N_("Salesperson"), "业务员", ("出单员", "销售顾问", "经办人")),
    ("business", N_("New or renewal"), "新保续保", ("新续保", "业务类型", "新保/续保")),
    ("payment", N_("Payment"), "付款状态", ("收款状态", "缴费状态")),
    ("note", N_("Notes"), "备注", ("remarks",)),
]
# a rule's field (services.insurance) → the column a row error names
_ERROR_COLUMNS = {
    "policy_no": "policy_no",
    "insurer": "insurer",
    "vehicle": "plate",
    "kind": "kind",
    "coverages": "coverages",
    "premium": "premium",
    "commission": "commission",
    "commission_rate": "commission_rate",
    "start_date": "start_date",
    "end_date": "end_date",
    "business": "business",
    "payment": "payment",
}


def _norm(value: Any) -> str:
    text = str(value or "").strip().lower()
    return re.sub(r"[\s\*＊:：()（）._\-/%％]", "", text)


_ALIASES: dict[str, str] = {}
for _f, _en, _zh, _more in POLICY_COLUMNS:
    for _alias in (_f, _en, _zh, *_more):
        _ALIASES[_norm(_alias)] = _f

_KINDS = {
    **{
        _norm(a): "compulsory"
        for a in ("compulsory", "交强险", "交强", "ctpl", "Compulsory (CTPL)")
    },
    **{_norm(a): "commercial" for a in ("commercial", "商业险", "商业", "商险")},
}
_BUSINESS = {
    **{_norm(a): "new" for a in ("new", "新保", "新车", "新", "转保", "")},
    **{_norm(a): "renewal" for a in ("renewal", "续保", "续")},
}
_PAYMENT = {
    **{_norm(a): "unpaid" for a in ("unpaid", "未付", "未付款", "未收", "")},
    **{_norm(a): "paid" for a in ("paid", "已付", "已付款", "已收", "已收款")},
    **{_norm(a): "refunded" for a in ("refunded", "已退", "退保", "已退款")},
}
_LONG_COVERAGE_NAMES = {
    "vehicle_damage": ("车辆损失险", "机动车损失保险", "车损"),
    "third_party": ("第三者责任险", "机动车第三者责任保险", "三者"),
    "driver": ("车上人员责任险（司机）", "司机座位险", "司机"),
    "passengers": ("车上人员责任险（乘客）", "乘客座位险", "乘客"),
    "glass": ("玻璃单独破碎险", "玻璃"),
    "scratch": ("车身划痕损失险", "划痕"),
    "medical": ("医保外医疗费用责任险", "医保外用药"),
}
_COVERAGE_ALIASES: dict[str, str] = {}
for _code, (_label, _short) in COVERAGES.items():
    for _alias in (_code, _label, _short, *_LONG_COVERAGE_NAMES[_code]):
        _COVERAGE_ALIASES[_norm(_alias)] = _code


def header_label(field_name: str) -> str:
    for f, en, zh, _more in POLICY_COLUMNS:
        if f == field_name:
            return zh if current_language() == "zh_CN" else _(en)
    return field_name


@dataclass
class PolicyImportResult(ImportResult):
    """``ImportResult`` with the policy counts."""

    policies_added: int = 0
    policies_updated: int = 0
    policies_unchanged: int = 0

    def summary(self) -> list[tuple[str, Any]]:
        return [
            *super().summary(),
            (_("Policies added"), self.policies_added),
            (_("Policies updated"), self.policies_updated),
            (_("Policies unchanged"), self.policies_unchanged),
        ]


# --- reading cells ------------------------------------------------------------------------------
def cell_money(value: Any) -> int | None:
    """Yuan as minor units; None when empty. Raises ValueError."""
    if value is None or cell_text(value) == "":
        return None
    if isinstance(value, float):
        value = Decimal(repr(value))
    elif not isinstance(value, int | Decimal):
        value = cell_text(value)
    minor = parse_money(value)
    if minor < 0:
        raise ValueError(str(value))
    return minor


def cell_rate(value: Any) -> int | None:
    """A commission rate as basis points: "12.5%" → 1250, 12.5 → 1250, 0.125 → 1250."""
    if value is None or cell_text(value) == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = Decimal(repr(value))
        if number < 1:
            number *= 100
    else:
        text = cell_text(value).replace("％", "%").replace(" ", "")
        try:
            number = Decimal(text.rstrip("%"))
        except Exception:
            raise ValueError(text) from None
        if not text.endswith("%") and number < 1:
            number *= 100
    bp = number * 100
    if bp != bp.to_integral_value() or not 0 <= bp <= 10000:
        raise ValueError(str(value))
    return int(bp)


def rate_text(bp: int) -> str:
    """Basis points as the percentage text export writes: 1000 → "10%", 1250 → "12.5%"."""
    units, frac = divmod(bp, 100)
    return (f"{units}.{frac:02d}".rstrip("0") if frac else str(units)) + "%"


def _choice(table: dict[str, str], value: Any) -> str:
    key = _norm(cell_text(value))
    if key not in table:
        raise ValueError(cell_text(value))
    return table[key]


def cell_coverages(value: Any) -> tuple[str, ...]:
    text = cell_text(value)
    out: list[str] = []
    for part in re.split(r"[,，、;；/\n]+", text):
        if not part.strip():
            continue
        key = _norm(re.sub(r"[(（]?不计免赔[)）]?", "", part))
        code = _COVERAGE_ALIASES.get(key)
        if code is None:
            raise ValueError(part.strip())
        out.append(code)
    return tuple(out)


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[int, str], dict[str, str]]:
    for i, row in enumerate(rows[:20]):
        mapping: dict[int, str] = {}
        written: dict[str, str] = {}
        for j, value in enumerate(row):
            f = _ALIASES.get(_norm(value))
            if f and f not in written:
                mapping[j] = f
                written[f] = str(value).strip()
        if "policy_no" in written and ("plate" in written or "vin" in written):
            return i, mapping, written
    raise UsageError(
        _(
            "No header row found: the first 20 rows need a column for the policy no. (保单号) and "
            "one for the plate (车牌号) or VIN (车架号)."
        )
    )


@dataclass
class _Row:
    row: int
    values: dict[str, Any]


# --- import ------------------------------------------------------------------------------------
def import_policies(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> PolicyImportResult:
    """Read ``path`` and record its valid rows in one transaction (nothing when ``dry_run``).
    An unreadable file raises ``UsageError`` before anything is written."""
    require(actor, Permission.EDIT_POLICIES)
    rows = load_rows(Path(path))
    header_at, mapping, written = _find_header(rows)
    result = PolicyImportResult(dry_run=dry_run)
    data_rows: list[_Row] = []
    for index in range(header_at + 1, len(rows)):
        raw = rows[index]
        values = {f: raw[j] if j < len(raw) else None for j, f in mapping.items()}
        if all(cell_text(v) == "" for v in values.values()):
            continue
        data_rows.append(_Row(index + 1, values))
    result.rows = len(data_rows)

    def column(f: str) -> str:
        return written.get(f, header_label(f))

    with db.uow(actor, write=True) as uow:
        s = uow.session
        branch = actor.branch_id
        today = branch_today(s, branch)
        insurers: dict[str, uuid.UUID] = {}
        for i in s.scalars(select(Insurer)):
            for alias in (i.code, i.name, i.short_name):
                if alias:
                    insurers[_norm(alias)] = i.id
        seen: dict[str, int] = {}
        for n, r in enumerate(data_rows):
            progress.step(n, len(data_rows), _("Importing policies"))
            errors: list[RowError] = []

            def err(
                f: str, message: str, errors: list[RowError] = errors, row: int = r.row
            ) -> None:
                errors.append(RowError(row, column(f) if f else "", message))

            v = r.values
            got: dict[str, Any] = {}
            for f in ("start_date", "end_date", "issued_on"):
                try:
                    got[f] = cell_date(v.get(f))
                except ValueError:
                    err(f, _("Not a date: {value} (e.g. 2026-05-06, 2026/5/6)").format(value=v[f]))
            try:
                got["premium"] = cell_money(v.get("premium"))
                if got["premium"] is None:
                    err("premium", _("The premium is missing."))
            except ValueError:
                err("premium", _("Not an amount of money: {value}").format(value=v["premium"]))
            try:
                got["commission"] = cell_money(v.get("commission"))
            except ValueError:
                err(
                    "commission", _("Not an amount of money: {value}").format(value=v["commission"])
                )
            try:
                got["rate"] = cell_rate(v.get("commission_rate"))
            except ValueError:
                err(
                    "commission_rate",
                    _("Not a rate between 0% and 100%: {value}").format(
                        value=v.get("commission_rate")
                    ),
                )
            try:
                got["kind"] = _choice(_KINDS, v.get("kind"))
            except ValueError:
                err(
                    "kind",
                    _("The kind is 交强险/compulsory or 商业险/commercial, not {value}").format(
                        value=cell_text(v.get("kind")) or "-"
                    ),
                )
            try:
                got["coverages"] = cell_coverages(v.get("coverages"))
            except ValueError as exc:
                err("coverages", _("Unknown coverage: {name}").format(name=str(exc)))
            try:
                got["business"] = _choice(_BUSINESS, v.get("business"))
            except ValueError:
                err(
                    "business",
                    _("Give 新保/new or 续保/renewal, not {value}").format(value=v["business"]),
                )
            try:
                got["payment"] = _choice(_PAYMENT, v.get("payment"))
            except ValueError:
                err(
                    "payment",
                    _("Give 未付/unpaid, 已付/paid or 已退/refunded, not {value}").format(
                        value=v["payment"]
                    ),
                )
            insurer_text = cell_text(v.get("insurer"))
            insurer_id = insurers.get(_norm(insurer_text))
            if not insurer_text:
                err("insurer", _("The insurer is missing."))
            elif insurer_id is None:
                err(
                    "insurer",
                    _("Unknown insurer: {name} (not in the insurers' list)").format(
                        name=insurer_text
                    ),
                )
            vehicle = _find_vehicle(s, branch, cell_text(v.get("vin")), cell_text(v.get("plate")))
            if vehicle is None:
                f = "vin" if cell_text(v.get("vin")) else "plate"
                err(
                    f,
                    _("No vehicle with this plate or VIN in the archive: {value}").format(
                        value=cell_text(v.get(f)) or "-"
                    ),
                )
            customer_no = cell_text(v.get("customer_no"))
            if vehicle is not None and customer_no:
                owner_no = s.scalar(
                    select(Customer.customer_no).where(Customer.id == vehicle.customer_id)
                )
                if owner_no != customer_no:
                    err(
                        "customer_no",
                        _("The vehicle belongs to customer {owner}, not {no}.").format(
                            owner=owner_no, no=customer_no
                        ),
                    )
            no = "".join(cell_text(v.get("policy_no")).split()).upper()
            if no in seen:
                err(
                    "policy_no",
                    _("Policy no. {no} is also in row {row}.").format(no=no, row=seen[no]),
                )
            if errors:
                result.errors.extend(errors)
                continue
            start = got["start_date"]
            end = got["end_date"] or (one_year_end(start) if start else None)
            data = PolicyInput(
                policy_no=no,
                insurer_id=insurer_id,
                vehicle_id=vehicle.id,
                kind=got["kind"],
                premium_minor=got["premium"],
                start_date=start,
                end_date=end,
                coverages=got["coverages"],
                commission_rate_bp=got["rate"] or 0,
                commission_minor=got["commission"],
                issued_on=got["issued_on"],
                salesperson=cell_text(v.get("salesperson")),
                business=got["business"],
                payment=got["payment"],
                note=cell_text(v.get("note")),
            )
            try:
                clean = clean_policy(data)
                existing = s.scalars(
                    select(Policy).where(Policy.branch_id == branch, Policy.policy_no == no)
                ).first()
                customer_id = check_policy_rules(
                    s, branch, clean, own_id=existing.id if existing else None
                )
            except (ValidationError, RefusedError) as exc:
                field = getattr(exc, "field", None) or ""
                err(_ERROR_COLUMNS.get(field, ""), exc.message)
                result.errors.extend(errors)
                continue
            seen[no] = r.row
            if existing is None:
                policy = Policy(branch_id=branch, **policy_columns(clean, customer_id, today))
                s.add(policy)
                s.flush()
                link_renewal(s, policy)
                result.policies_added += 1
            else:
                values = policy_columns(clean, customer_id, existing.issued_on)
                if clean.issued_on is None:
                    values["issued_on"] = existing.issued_on
                changed = {k: val for k, val in values.items() if getattr(existing, k) != val}
                if changed:
                    for k, val in changed.items():
                        setattr(existing, k, val)
                    s.flush()
                    result.policies_updated += 1
                else:
                    result.policies_unchanged += 1
        progress.step(len(data_rows), len(data_rows), _("Importing policies"))
        if not dry_run:
            audit.record(
                s,
                "import",
                "policies",
                note=f"{Path(path).name}: +{result.policies_added} "
                f"~{result.policies_updated} ={result.policies_unchanged} "
                f"!{result.rejected_rows}",
            )
            uow.commit()
    return result


def _find_vehicle(s, branch: uuid.UUID | None, vin: str, plate: str) -> Vehicle | None:
    vin = vin.strip().upper()
    if vin:
        found = s.scalars(
            select(Vehicle).where(Vehicle.branch_id == branch, Vehicle.vin == vin).limit(1)
        ).first()
        if found is not None:
            return found
    plate = normalize_plate(plate)
    if plate:
        return s.scalars(
            select(Vehicle).where(Vehicle.branch_id == branch, Vehicle.plate == plate).limit(1)
        ).first()
    return None


# --- export --------------------------------------------------------------------------------------
def export_policies(db: Database, actor: Actor, out: Path, progress: Progress = NO_PROGRESS) -> int:
    """Every policy of the branch as a workbook ``import policies`` reads back unchanged."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    zh = current_language() == "zh_CN"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Policies")[:31])
    fields = [f for f, *_rest in POLICY_COLUMNS]

    header = []
    for f in fields:
        c = WriteOnlyCell(ws, header_label(f))
        c.font = Font(bold=True)
        header.append(c)
    ws.append(header)
    n = 0
    with db.uow(actor) as uow:
        s = uow.session
        total = s.scalar(select(func.count()).where(Policy.branch_id == actor.branch_id))
        q = (
            policy_query()
            .add_columns(Insurer.name)
            .where(Policy.branch_id == actor.branch_id)
            .order_by(Policy.issued_on, Policy.id)
            .execution_options(yield_per=1000)
        )
        for r in s.execute(q):
            codes = [c for c in r.coverages.split(",") if c]
            row = {
                "policy_no": r.policy_no,
                "insurer": r[-1],
                "kind": KIND_ZH[r.kind] if zh else r.kind,
                "coverages": ("、" if zh else ", ").join(
                    COVERAGES[c][1] if zh else COVERAGES[c][0] for c in codes
                ),
                "plate": r.plate,
                "vin": r.vin,
                "customer_no": r.customer_no,
                "customer_name": r.name,
                "premium": Decimal(r.premium_minor) / MINOR_PER_UNIT,
                "commission_rate": rate_text(r.commission_rate_bp),
                "commission": Decimal(r.commission_minor) / MINOR_PER_UNIT,
                "start_date": r.start_date,
                "end_date": r.end_date,
                "issued_on": r.issued_on,
                "salesperson": r.salesperson,
                "business": BUSINESS_ZH[r.business] if zh else r.business,
                "payment": PAYMENT_ZH[r.payment] if zh else r.payment,
                "note": r.note,
            }
            ws.append([row[f] for f in fields])
            n += 1
            if n % 1000 == 0:
                progress.step(n, total, _("Exporting policies"))
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    with db.uow(actor, write=True) as uow:
        audit.record(uow.session, "export", "policies", note=f"{out.name}: {n}")
        uow.commit()
    progress.step(n, n, _("Exporting policies"))
    return n
