"""Stock count paper and Excel: count sheets (PDF by bin; Excel to fill in elsewhere),
``import stock-count`` of a filled-in sheet, and the printed result of a count with signatures.

A sheet's "Counted" cell is that line's count in the current pass: the difference to what is
already entered goes in as one entry from the sheet, so a sheet exported and imported back
unchanged changes nothing. A sheet is all or nothing: any row with an unknown part or bin or a bad
quantity is reported (row and column) and nothing is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aftersales_desk.data.models.counts import CountEntry, CountLine
from aftersales_desk.data.models.parts import Bin, Part
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError
from aftersales_desk.i18n import _, current_language
from aftersales_desk.reports.counts import CountPaper, write_paper
from aftersales_desk.services.auth import require
from aftersales_desk.services.counts import (
    MAX_ENTRY,
    STATUS_LABELS,
    StockCounts,
    _session,
)
from aftersales_desk.services.progress import NO_PROGRESS, Progress
from aftersales_desk.services.settings import SettingsService
from aftersales_desk.services.xlsx_io import ImportResult, RowError, cell_text

# field → (English header, Chinese header)
SHEET_COLUMNS: list[tuple[str, str, str]] = [
    ("count_no", "Count no.", "盘点单号"),
    ("line_no", "Line", "行号"),
    ("bin", "Bin", "货位"),
    ("part_no", "Part no.", "零件号"),
    ("name", "Name", "名称"),
    ("unit", "Unit", "单位"),
    ("expected", "Expected", "账面数"),
    ("counted", "Counted", "实盘数"),
    ("counter", "Counter", "盘点人"),
]
SYNONYMS = {
    "盘点单": "count_no",
    "单号": "count_no",
    "库位": "bin",
    "配件号": "part_no",
    "配件编号": "part_no",
    "零件编号": "part_no",
    "part number": "part_no",
    "配件名称": "name",
    "零件名称": "name",
    "实盘数量": "counted",
    "盘点数": "counted",
    "实存数": "counted",
    "qty counted": "counted",
    "quantity": "counted",
    "账面数量": "expected",
    "盘点员": "counter",
}


def _norm(header: Any) -> str:
    return "".join(str(header or "").split()).lower().rstrip(".:：")


HEADERS: dict[str, str] = {
    **{_norm(k): v for k, v in SYNONYMS.items()},
    **{_norm(en): key for key, en, _zh in SHEET_COLUMNS},
    **{_norm(zh): key for key, _en, zh in SHEET_COLUMNS},
    **{_norm(key): key for key, _en, _zh in SHEET_COLUMNS},
}


def _header(key: str) -> str:
    for k, en, zh in SHEET_COLUMNS:
        if k == key:
            return zh if current_language() == "zh_CN" else _(en)
    return key


@dataclass
class CountImportResult(ImportResult):
    """What ``import stock-count`` did (the shared import result plus the count's figures)."""

    number: str = ""
    lines_counted: int = 0
    lines_added: int = 0

    def summary(self) -> list[tuple[str, Any]]:
        return [
            (_("Stock count"), self.number),
            (_("Rows read"), self.rows),
            (_("Lines counted"), self.lines_counted),
            (_("Lines added (found in another bin)"), self.lines_added),
            (_("Rows rejected"), self.rejected_rows),
            (_("Dry run (nothing saved)"), _("yes") if self.dry_run else _("no")),
        ]


def _load(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    if not path.exists():
        raise UsageError(_("The file {file} does not exist.").format(file=path))
    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        return [list(r) for r in sheet.to_python(skip_empty_area=False)]
    except Exception:
        raise UsageError(
            _("{file} is not an Excel workbook (.xlsx) that can be read.").format(file=path)
        ) from None


def _whole(value: Any) -> int | None:
    """A counted cell: None when empty; raises ValueError unless a whole number ≥ 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        value = int(value)
    if isinstance(value, int):
        n = value
    else:
        text = cell_text(value).replace(",", "").replace("，", "")
        if not text.lstrip("-").isdigit():
            raise ValueError(text)
        n = int(text)
    if n < 0 or n > MAX_ENTRY:
        raise ValueError(n)
    return n


def import_sheet(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> CountImportResult:
    """Read a filled-in count sheet; all rows good → the counts go in (one transaction), else
    nothing changes and every bad row is in ``errors``."""
    require(actor, Permission.POST_STOCK)
    rows = _load(Path(path))
    header_at, cols, written = -1, {}, {}
    for i, row in enumerate(rows[:20]):
        found = {j: HEADERS[_norm(v)] for j, v in enumerate(row) if _norm(v) in HEADERS}
        if {"part_no", "counted"} <= set(found.values()):
            header_at, cols = i, found
            written = {f: str(row[j]).strip() for j, f in found.items()}
            break
    if header_at < 0:
        raise UsageError(
            _(
                "No header row found: a count sheet needs the columns 零件号 (Part no.) and "
                "实盘数 (Counted), and 货位 (Bin) when a part is in several bins."
            )
        )
    result = CountImportResult(dry_run=dry_run)
    parsed: list[tuple[int, str, str, str, int, str]] = []  # row, count no., part, bin, qty, who
    numbers: set[str] = set()
    for i, raw in enumerate(rows[header_at + 1 :], start=header_at + 2):
        values = {f: raw[j] if j < len(raw) else None for j, f in cols.items()}
        if all(cell_text(v) == "" for v in values.values()):
            continue
        result.rows += 1
        part_no = cell_text(values.get("part_no")).upper()
        if not part_no:
            result.errors.append(RowError(i, written["part_no"], _("The part number is missing.")))
            continue
        try:
            qty = _whole(values.get("counted"))
        except ValueError:
            result.errors.append(
                RowError(
                    i,
                    written["counted"],
                    _("“{value}” is not a counted quantity (a whole number from 0).").format(
                        value=cell_text(values.get("counted"))
                    ),
                )
            )
            continue
        if qty is None:
            continue  # not counted on paper
        number = cell_text(values.get("count_no")).upper()
        if number:
            numbers.add(number)
        parsed.append(
            (
                i,
                number,
                part_no,
                cell_text(values.get("bin")).upper(),
                qty,
                cell_text(values.get("counter")),
            )
        )
    progress.step(1, 3)
    if not numbers and not result.errors:
        raise UsageError(
            _(
                "The sheet does not say which stock count it belongs to (column 盘点单号 / Count no.)."
            )
        )
    if len(numbers) > 1:
        raise UsageError(
            _("The sheet mixes stock counts: {numbers}.").format(numbers=", ".join(sorted(numbers)))
        )
    number = next(iter(numbers)) if numbers else ""
    result.number = number
    counts = StockCounts(db, actor)
    with db.uow(actor, write=True) as uow:
        s = uow.session
        cs = _session(s, actor, number) if number else None
        if cs is None:
            return result
        if cs.status != "open":
            raise RefusedError(
                _("Stock count {number} is {status}; this cannot be done now.").format(
                    number=cs.number, status=_(STATUS_LABELS[cs.status])
                )
            )
        parts = (
            {
                p.part_no: p.id
                for p in s.execute(
                    select(Part.part_no, Part.id).where(
                        Part.part_no.in_({p for _r, _n, p, _b, _q, _w in parsed})
                    )
                )
            }
            if len(parsed) <= 500
            else dict(s.execute(select(Part.part_no, Part.id)).all())
        )
        bins = dict(
            s.execute(select(Bin.code, Bin.id).where(Bin.branch_id == actor.branch_id)).all()
        )
        lines: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
        by_part: dict[uuid.UUID, list[uuid.UUID]] = {}
        for lid, pid, bid in s.execute(
            select(CountLine.id, CountLine.part_id, CountLine.bin_id).where(
                CountLine.session_id == cs.id
            )
        ):
            lines[(pid, bid)] = lid
            by_part.setdefault(pid, []).append(lid)
        resolved: list[tuple[uuid.UUID | None, uuid.UUID, uuid.UUID | None, int, str]] = []
        for row, _n, part_no, bin_code, qty, who in parsed:
            pid = parts.get(part_no)
            if pid is None:
                result.errors.append(
                    RowError(
                        row,
                        written["part_no"],
                        _("No part with the number {part}.").format(part=part_no),
                    )
                )
                continue
            bid = None
            if bin_code:
                bid = bins.get(bin_code)
                if bid is None:
                    result.errors.append(
                        RowError(
                            row,
                            written.get("bin", _header("bin")),
                            _("No bin {bin}.").format(bin=bin_code),
                        )
                    )
                    continue
                lid = lines.get((pid, bid))  # None: found in a bin the count did not list
            else:
                found = by_part.get(pid, [])
                if len(found) != 1:
                    result.errors.append(
                        RowError(
                            row,
                            written.get("bin", _header("bin")),
                            _("Part {code} is in several bins: choose the bin first.").format(
                                code=part_no
                            )
                            if found
                            else _(
                                "Part {code} is not in this count: choose the bin it was found in."
                            ).format(code=part_no),
                        )
                    )
                    continue
                lid = found[0]
            resolved.append((lid, pid, bid, qty, who))
        progress.step(2, 3)
        result.lines_added = len({(p, b) for lid, p, b, _q, _w in resolved if lid is None})
        result.lines_counted = len(
            {(p, b) if lid is None else lid for lid, p, b, _q, _w in resolved}
        )
        if result.errors or dry_run:
            return result  # the unit of work ends without commit: nothing changed
        totals: dict[uuid.UUID, int] = {}
        counters: dict[uuid.UUID, str] = {}
        for lid, pid, bid, qty, who in resolved:
            if lid is None:
                assert bid is not None
                lid = lines.get((pid, bid)) or counts._add_line(s, cs, pid, bid)
                lines[(pid, bid)] = lid
            totals[lid] = totals.get(lid, 0) + qty  # the same line twice on a sheet: summed
            if who:
                counters[lid] = who
        by_who: dict[str, dict[uuid.UUID, int]] = {}
        for lid, qty in totals.items():
            by_who.setdefault(counters.get(lid, ""), {})[lid] = qty
        for who, qtys in by_who.items():
            counts._enter(s, cs, qtys, "sheet", who, replace=True)
        uow.commit()
    progress.step(3, 3)
    return result


def export_sheet(db: Database, actor: Actor, number: str | None, out: Path) -> int:
    """An Excel count sheet to fill in (the newest open count when ``number`` is None); returns
    the number of lines written."""
    from openpyxl import Workbook

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(_("Write a .xlsx file, not {name}.").format(name=out.name))
    counts = StockCounts(db, actor)
    if number is None:
        open_rows = counts.page(None, 1, status="open").rows
        if not open_rows:
            raise UsageError(_("There is no open stock count to export."))
        number = open_rows[0].number
    view = counts.view(number)
    show = counts.may_see_expected(view.blind, view.status)
    keys = [k for k, _en, _zh in SHEET_COLUMNS if k != "expected" or show]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Count sheet")[:31])
    ws.append([_header(k) for k in keys])
    n = 0
    cursor = None
    while True:
        page = counts.lines(number, cursor, 5000)
        for r in page.rows:
            values = {
                "count_no": view.number,
                "line_no": r.line_no,
                "bin": r.bin,
                "part_no": r.part_no,
                "name": r.name,
                "unit": r.unit,
                "expected": r.expected,
                "counted": r.counted_qty if r.counted else None,
                "counter": "",
            }
            ws.append([values[k] for k in keys])
            n += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)
    return n


def _facts(view: Any) -> list[tuple[str, str]]:
    return [
        (_("Scope"), view.scope),
        (_("Frozen at"), view.frozen_at.astimezone().strftime("%Y-%m-%d %H:%M")),
        (_("Blind count"), _("yes") if view.blind else _("no")),
        (_("Status"), view.status_label),
        (_("Lines"), str(view.lines)),
    ]


def sheet_paper(db: Database, actor: Actor, number: str) -> CountPaper:
    """The count sheets: every line by bin, a box for the counted quantity; no expected
    quantity on a blind count."""
    counts = StockCounts(db, actor)
    view = counts.view(number)
    show = counts.may_see_expected(view.blind, view.status) and not view.blind
    columns = [_("No."), _("Bin"), _("Part no."), _("Part name"), _("Unit")]
    widths = [5, 8, 14, 26, 5]
    if show:
        columns.append(_("Expected"))
        widths.append(7)
    columns += [_("Counted"), _("Note")]
    widths += [10, 14]
    rows = []
    cursor = None
    while True:
        page = counts.lines(number, cursor, 5000)
        for r in page.rows:
            row: list[Any] = [r.line_no, r.bin, r.part_no, r.name, r.unit]
            if show:
                row.append(r.expected)
            row += ["", ""]
            rows.append(row)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    branch = SettingsService(db, actor).branch().name
    return CountPaper(
        title=_("Stock count sheet"),
        number=view.number,
        branch=branch,
        facts=_facts(view),
        columns=columns,
        rows=rows,
        widths=widths,
        group_col=1,
        signatures=[(_("Counted by"), ""), (_("Checked by"), "")],
    )


def result_paper(db: Database, actor: Actor, number: str) -> CountPaper:
    """The result of a count (submitted, approved or posted): variance lines with reasons and
    values, totals per reason, and the signatures of who counted, posted and approved."""
    counts = StockCounts(db, actor)
    view = counts.view(number)
    if view.status == "open":
        raise RefusedError(
            _(
                "Stock count {number} is still being counted: print the count sheets instead."
            ).format(number=view.number)
        )
    report = counts.variance_report(number)
    rows = [
        [
            r.bin,
            r.part_no,
            r.name,
            r.unit,
            r.expected,
            r.counted_qty,
            r.variance,
            r.reason_label,
            r.value,
        ]
        for r in report.rows
    ]
    totals = [
        ["", "", _(label), "", "", "", qty, "", value]
        for label, qty, value in (
            ("Surplus", report.surplus_qty, report.surplus_value),
            ("Shortage", report.shortage_qty, report.shortage_value),
            ("Damaged / spoiled", report.damaged_qty, report.damaged_value),
        )
    ]
    net_qty = report.surplus_qty + report.shortage_qty + report.damaged_qty
    net_value = report.surplus_value + report.shortage_value + report.damaged_value
    totals.append(["", "", _("Net"), "", "", "", net_qty, "", net_value])
    facts = _facts(view)
    if view.document:
        facts.append((_("Adjustment note"), view.document))
    with db.uow(actor) as uow:
        cs = _session(uow.session, actor, number)
        counters = sorted(
            uow.session.scalars(
                select(CountEntry.counter).where(CountEntry.session_id == cs.id).distinct()
            )
        )
        started_by = cs.started_by
    branch = SettingsService(db, actor).branch().name
    return CountPaper(
        title=_("Stock count result"),
        number=view.number,
        branch=branch,
        facts=facts,
        columns=[
            _("Bin"),
            _("Part no."),
            _("Part name"),
            _("Unit"),
            _("Expected"),
            _("Counted"),
            _("Variance"),
            _("Reason"),
            _("Value"),
        ],
        rows=rows,
        widths=[7, 13, 20, 4, 8, 8, 8, 9, 10],
        money_cols={8},
        totals=totals,
        signatures=[
            (_("Counted by"), "、".join(counters[:4]) or started_by),
            (_("Warehouse keeper"), view.posted_by or started_by),
            (_("Approved by (after-sales manager)"), view.approved_by),
        ],
    )


def print_count(db: Database, actor: Actor, number: str, out: Path, *, what: str = "sheet") -> Path:
    """Write the count sheets (``sheet``, PDF or Excel) or the result (``result``)."""
    paper = sheet_paper(db, actor, number) if what == "sheet" else result_paper(db, actor, number)
    write_paper(paper, Path(out))
    return Path(out)
