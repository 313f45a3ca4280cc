"""The shared Excel import helpers: cells, header matching, merged cells, the report."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from aftersales_desk.errors import UsageError
from aftersales_desk.services.xlsx_io import (
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
    write_import_report,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (13812345678.0, "13812345678"),  # a phone Excel holds as a number
        (13812345678, "13812345678"),
        (1.5, "1.5"),
        ("  京A12345 ", "京A12345"),
        (datetime(2023, 5, 6, 8, 0), "2023-05-06"),
        (True, "1"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2023, 5, 6, 12, 0), date(2023, 5, 6)),
        (date(2023, 5, 6), date(2023, 5, 6)),
        ("2023/5/6", date(2023, 5, 6)),
        ("2023-05-06", date(2023, 5, 6)),
        ("2023.5.6", date(2023, 5, 6)),
        ("2023年5月6日", date(2023, 5, 6)),
        ("2023年5月6", date(2023, 5, 6)),
        ("20230506", date(2023, 5, 6)),
        ("2023/5/6 0:00:00", date(2023, 5, 6)),
        (45000, date(2023, 3, 15)),  # Excel serial day number
        (45000.0, date(2023, 3, 15)),
        ("", None),
        (None, None),
    ],
)
def test_cell_date_good(value, expected):
    assert cell_date(value) == expected


@pytest.mark.parametrize("value", ["2023-13-45", "2023/2/30", "明天", "6/5/2023", 12, "23-5-6"])
def test_cell_date_bad(value):
    with pytest.raises(ValueError):
        cell_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        ("", 0),
        (12000, 12000),
        (12000.0, 12000),
        ("12,000", 12000),
        ("12 000 km", 12000),
        ("12000公里", 12000),
        ("8件", 8),
    ],
)
def test_cell_int_good(value, expected):
    assert cell_int(value) == expected


@pytest.mark.parametrize("value", [1.5, "1.5", "abc", -3, "-3", True])
def test_cell_int_bad(value):
    with pytest.raises(ValueError):
        cell_int(value)


def test_cell_int_negative_when_allowed():
    assert cell_int("-3", negative=True) == -3


def test_cell_bool():
    for yes in ("是", "Yes", "Y", "1", 1.0, "√", True):
        assert cell_bool(yes) is True
    for no in ("否", "no", "N", "0", "", None, False):
        assert cell_bool(no) is False
    assert cell_bool("启用", true=("启用",)) is True
    assert cell_bool("停用", false=("停用",)) is False
    with pytest.raises(ValueError):
        cell_bool("也许")
    with pytest.raises(ValueError):
        cell_bool("启用")  # not a word of this import


ALIASES = {"name": ["客户名称", "Name", "姓名"], "phone": ["手机", "Mobile phone", "电话"]}


def test_find_header_skips_title_rows_and_matches_loosely():
    rows = [
        ["2024年客户档案", None, None],
        [None, None, None],
        ["备注", " 手机 * ", "Name"],
        ["x", "138", "张三"],
    ]
    header = find_header(rows, ALIASES, required=("name",), min_known=2)
    assert header.index == 2
    assert header.columns == {1: "phone", 2: "name"}
    assert header.written == {"phone": "手机 *", "name": "Name"}
    assert row_values(rows[3], header) == {"phone": "138", "name": "张三"}
    assert row_values(["only one"], header) == {"phone": None, "name": None}


def test_find_header_needs_the_required_columns():
    with pytest.raises(UsageError) as caught:
        find_header([["Mobile phone", "foo"], ["1", "2"]], ALIASES, required=("name",))
    assert "客户名称/Name" in caught.value.message


def test_load_rows_fills_merged_cells_and_rejects_non_workbooks(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["标题"])
    ws.merge_cells("A1:C1")
    ws.append(["a", "b", "c"])
    ws.append(["合并", None, "z"])
    ws.merge_cells("A3:B3")
    path = tmp_path / "m.xlsx"
    wb.save(path)
    rows = load_rows(path)
    assert rows[0][:3] == ["标题", "标题", "标题"]
    assert rows[2][:3] == ["合并", "合并", "z"]
    assert is_empty(["", None, "  "]) and not is_empty(["", 0])
    (tmp_path / "x.xlsx").write_text("no")
    with pytest.raises(UsageError):
        load_rows(tmp_path / "x.xlsx")
    with pytest.raises(UsageError):
        load_rows(tmp_path / "missing.xlsx")


def test_report_lists_rejected_rows_warnings_and_summary(tmp_path):
    result = ImportResult(
        rows=3,
        errors=[RowError(4, "手机", "bad phone"), RowError(4, "", "same as row 3")],
        warnings=[RowError(5, "车架号", "check digit")],
        dry_run=True,
    )
    assert result.rejected_rows == 1 and result.errors[0].reason == "bad phone"
    out = tmp_path / "sub" / "r.xlsx"
    write_import_report(result, out)
    book = load_workbook(out)
    rejected, warnings, summary = book.worksheets
    assert [c.value for c in rejected[1]] == ["Row", "Column", "Reason"]
    assert [tuple(c.value for c in r) for r in rejected.iter_rows(min_row=2)] == [
        (4, "手机", "bad phone"),
        (4, None, "same as row 3"),
    ]
    assert warnings.max_row == 2 and warnings["C2"].value == "check digit"
    assert {r[0].value: r[1].value for r in summary.iter_rows()}["Rows rejected"] == 1
