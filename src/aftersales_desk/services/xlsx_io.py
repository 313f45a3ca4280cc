"""What every Excel import shares: reading a workbook's first sheet (merged cells filled in),
finding the header row by column names in Chinese or English, reading cells as text, dates,
whole numbers and yes/no, and the report of rejected rows.

An import module keeps only its own columns and rules:

    rows = load_rows(path)
    header = find_header(rows, {"name": ["客户名称", "Name", "姓名"], ...}, required=("name",))
    for index in range(header.index + 1, len(rows)):
        values = row_values(rows[index], header)
        ...                      # cell_text / cell_date / cell_int / cell_bool, RowError(...)
    write_import_report(result, out)

Row numbers are the spreadsheet's (1-based, as Excel shows them); a column is named by its
header as written in the file, so the person who made the file finds the cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import _

__all__ = [
    "HeaderRow",
    "ImportResult",
    "RowError",
    "cell_bool",
    "cell_date",
    "cell_int",
    "cell_text",
    "find_header",
    "is_empty",
    "load_rows",
    "norm_header",
    "row_values",
    "write_import_report",
]


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem in one cell (or, with ``column == ""``, the whole row)."""

    row: int  # the spreadsheet's row number (1-based, as Excel shows it)
    column: str  # the header as written in the file ("" for the whole row)
    message: str

    @property
    def reason(self) -> str:
        """The parts counter's older name of ``message``."""
        return self.message


@dataclass
class ImportResult:
    """What an import did; modules subclass it with their own counters and ``summary``."""

    rows: int = 0  # non-empty data rows read
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})

    def summary(self) -> list[tuple[str, Any]]:
        """(label, value) lines for the report's summary sheet; subclasses add their counts."""
        return [
            (_("Rows read"), self.rows),
            (_("Rows rejected"), self.rejected_rows),
            (_("Dry run (nothing saved)"), _("yes") if self.dry_run else _("no")),
        ]


# --- cells ---------------------------------------------------------------------------------------
def cell_text(value: Any) -> str:
    """A cell as text: 13812345678.0 → "13812345678", dates as ISO, None → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


_TIME_TAIL = re.compile(r"\s.*$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def cell_date(value: Any) -> date | None:
    """Excel dates, Excel serial day numbers and the common text forms (2023-05-06, 2023/5/6,
    2023.5.6, 2023年5月6日, 20230506, with or without a time after them); None for an empty
    cell; ValueError for anything else, including impossible dates such as 2023-13-45."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial day number (1954…2118)
            return date(1899, 12, 30) + timedelta(days=int(value))
        value = cell_text(value)
    text = _TIME_TAIL.sub("", str(value).strip())  # "2023/5/6 0:00:00"
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(text)


_NUMBER_SPACES = re.compile(r"[,，\s]")
_UNITS = re.compile(r"(km|公里|千米|件|个|pcs)$")


def cell_int(value: Any, *, negative: bool = False) -> int:
    """A whole number: 12000, 12000.0, "12,000", "12 000 km", "12000公里"; 0 for an empty cell.
    ValueError for a fraction, text, or (unless ``negative``) a number below zero."""
    if value is None or isinstance(value, bool):
        if value is None:
            return 0
        raise ValueError(str(value))
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _NUMBER_SPACES.sub("", str(value).lower())
        text = _UNITS.sub("", text)
        if text == "":
            return 0
        try:
            number = float(text)
        except ValueError:
            raise ValueError(str(value)) from None
    if not number.is_integer() or (number < 0 and not negative):
        raise ValueError(cell_text(value))
    return int(number)


TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "x", "有"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "", "无", "×"})


def cell_bool(value: Any, *, true: Iterable[str] = (), false: Iterable[str] = ()) -> bool:
    """是/否, yes/no, y/n, 1/0, √ and Excel's TRUE/FALSE; ``true``/``false`` add a module's own
    words (启用/停用, 会员 …); an empty cell is no. ValueError for anything else."""
    if value is True or value is False:
        return value
    text = cell_text(value).lower()
    if text in TRUE_WORDS or text in {t.lower() for t in true}:
        return True
    if text in FALSE_WORDS or text in {f.lower() for f in false}:
        return False
    raise ValueError(text)


# --- the workbook --------------------------------------------------------------------------------
def load_rows(path: Path) -> list[list[Any]]:
    """The first sheet's cells, row by row from A1; every cell of a merged range reads its
    top-left value. python-calamine reads a 50k-row file in about a second (openpyxl needs over a
    minute). UsageError (exit 2) for a missing file or one that is not a readable workbook."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    if not path.is_file():
        raise UsageError(_("The file {file} does not exist.").format(file=path))
    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            sheet = wb.get_sheet_by_index(0)
            rows = [list(r) for r in sheet.to_python(skip_empty_area=False)]
            merged = sheet.merged_cell_ranges or []
    except Exception:
        raise UsageError(
            _("{file} is not an Excel workbook (.xlsx) that can be read.").format(file=path)
        ) from None
    for (r0, c0), (r1, c1) in merged:
        if r0 >= len(rows):
            continue
        top = rows[r0][c0] if c0 < len(rows[r0]) else None
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            while len(row) <= c1:
                row.append(None)
            for c in range(c0, c1 + 1):
                row[c] = top
    return rows


def norm_header(value: Any) -> str:
    """A header reduced for matching: case, spaces, punctuation and brackets do not count
    ("Customer no." = "customer_no" = "CUSTOMER NO", "手机（必填）*" ≠ "手机" but "手机*" = "手机")."""
    text = str(value or "").strip().lower()
    return re.sub(r"[\s\*＊:：()（）._\-/]", "", text)


class HeaderRow(NamedTuple):
    index: int  # 0-based index of the header row in ``load_rows``'s list
    columns: dict[int, str]  # column index → field
    written: dict[str, str]  # field → the header as written in the file


def find_header(
    rows: Sequence[Sequence[Any]],
    aliases: Mapping[str, Sequence[str]],
    *,
    required: Sequence[str] = (),
    min_known: int = 1,
    scan: int = 20,
) -> HeaderRow:
    """The first of the top ``scan`` rows that names every ``required`` field and at least
    ``min_known`` known ones (title rows above it are skipped). ``aliases`` maps a field to the
    headers that mean it, the first two being how the file's maker knows it (Chinese, English);
    the field's own name always matches too. A field named twice keeps its first column."""
    lookup: dict[str, str] = {}
    for f, names in aliases.items():
        for name in (*names, f):
            lookup.setdefault(norm_header(name), f)
    for i, row in enumerate(rows[:scan]):
        columns: dict[int, str] = {}
        written: dict[str, str] = {}
        for j, value in enumerate(row):
            f = lookup.get(norm_header(value))
            if f and f not in written:
                columns[j] = f
                written[f] = cell_text(value)
        if all(f in written for f in required) and len(columns) >= max(min_known, 1):
            return HeaderRow(i, columns, written)
    names = ", ".join("/".join(aliases[f][:2]) for f in required) or "—"
    raise UsageError(
        _(
            "No header row in the first {n} rows: it needs the columns {columns} and at least "
            "{k} known columns; nothing was imported."
        ).format(n=scan, columns=names, k=max(min_known, len(required), 1))
    )


def row_values(raw: Sequence[Any], header: HeaderRow) -> dict[str, Any]:
    """field → cell of one row (None for a cell beyond the row's end)."""
    return {f: raw[j] if j < len(raw) else None for j, f in header.columns.items()}


def is_empty(values: Iterable[Any]) -> bool:
    return all(cell_text(v) == "" for v in values)


# --- the report ----------------------------------------------------------------------------------
def write_import_report(result: ImportResult, out: Path) -> None:
    """The report of an import as .xlsx: rejected cells (row, column, reason) on the first sheet,
    warnings on the second, the result's summary on the third."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    wb = Workbook()
    sheets = (
        (wb.active, _("Rejected rows"), result.errors),
        (wb.create_sheet(), _("Warnings"), result.warnings),
    )
    for ws, title, problems in sheets:
        ws.title = title[:31]
        ws.append([_("Row"), _("Column"), _("Reason")])
        for cell in ws[1]:
            cell.font = bold
        for e in problems:
            ws.append([e.row, e.column, e.message])
        ws.column_dimensions["A"].width = 8
        ws.column_dimensions["B"].width = 18
        ws.column_dimensions["C"].width = 90
        ws.freeze_panes = "A2"
    summary = wb.create_sheet(_("Summary")[:31])
    for label, value in result.summary():
        summary.append([label, value])
    summary.column_dimensions["A"].width = 28
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)
