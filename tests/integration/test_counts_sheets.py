"""Count sheets on paper and in Excel: ``import stock-count`` all or nothing (each bad row
reported with row and column, exit 2), export → import unchanged, PDFs of sheets and results."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import RefusedError
from aftersales_desk.services.counts import CountScope, StockCounts
from aftersales_desk.services.counts_io import export_sheet, import_sheet, print_count
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.settings import SettingsService
from tests.conftest import CLI
from tests.parts_helpers import make_shop


@pytest.fixture
def counting(db, admin):
    shop = make_shop(db, admin)
    docs = DocumentService(db, admin)
    docs.receive(
        [
            LineInput(shop.parts["P0001"], shop.bins["A-01"], 10, 100),
            LineInput(shop.parts["P0002"], shop.bins["A-01"], 6, 200),
            LineInput(shop.parts["P0003"], shop.bins["B-02"], 3, 300),
        ]
    )
    SettingsService(db, admin).update({"counts_tolerance": {"*": [100, 0]}})
    number = StockCounts(db, admin).start(CountScope(), blind=True)
    return shop, number


def _sheet(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["盘点表"])  # a title row above the header, as sheets filled in by hand have
    ws.append(["盘点单号", "货位", "零件号", "名称", "实盘数", "盘点人"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def _state(db, admin, number):
    return [
        (r.part_no, r.bin, r.counted, r.counted_qty)
        for r in StockCounts(db, admin).lines(number).rows
    ]


def test_bad_sheet_reports_each_row_and_changes_nothing(db, admin, counting, tmp_path, db_path):
    _shop, number = counting
    before = _state(db, admin, number)
    path = _sheet(
        tmp_path / "bad.xlsx",
        [
            [number, "A-01", "P0001", "", 9, "王强"],
            [number, "A-01", "NOPE-9", "", 1, "王强"],  # row 4: unknown part
            [number, "A-01", "P0002", "", "五", "王强"],  # row 5: not a number
            [number, "A-01", "P0002", "", 2.5, "王强"],  # row 6: not whole
            [number, "A-01", "P0002", "", -1, "王强"],  # row 7: negative
            [number, "Z-99", "P0003", "", 3, "王强"],  # row 8: unknown bin
            [number, "B-02", "P0003", "", 3, "王强"],
        ],
    )
    result = import_sheet(db, admin, path)
    got = [(e.row, e.column) for e in result.errors]
    assert got == [(5, "实盘数"), (6, "实盘数"), (7, "实盘数"), (4, "零件号"), (8, "货位")]
    assert _state(db, admin, number) == before
    # the command says the same, one line per row, and exits 2: nothing done
    run = subprocess.run(
        [*CLI, "import", "stock-count", str(path), "--db", str(db_path), "--json", "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    doc = json.loads(run.stdout)
    assert sorted(e["row"] for e in doc["rejected"]) == [4, 5, 6, 7, 8]
    assert doc["lines_counted"] == 0
    assert "row 4, column 零件号" in run.stderr and "Traceback" not in run.stderr
    assert _state(db, admin, number) == before


def test_good_sheet_counts_and_roundtrip_is_unchanged(db, admin, counting, tmp_path, make_actor):
    _shop, number = counting
    keeper = make_actor(Role.WAREHOUSE)
    idx = StockCounts(db, keeper).scan_index(number)
    StockCounts(db, keeper).scan(idx, "P0001", qty=4)  # scanned before the sheet comes back
    path = _sheet(
        tmp_path / "good.xlsx",
        [
            [number, "A-01", "P0001", "", 9, "王强"],
            [number, "A-01", "P0002", "", 5, "刘洋"],
            [number, "", "P0002", "", None, ""],  # not counted on paper: skipped
            [number, "B-02", "P0002", "", 1, "刘洋"],  # found in another bin
            [number, "B-02", "P0003", "", 3, "刘洋"],
        ],
    )
    dry = import_sheet(db, keeper, path, dry_run=True)
    assert not dry.errors and dry.lines_counted == 4 and dry.lines_added == 1
    assert StockCounts(db, admin).lines(number).rows[0].counted_qty == 4
    result = import_sheet(db, keeper, path)
    assert (result.lines_counted, result.lines_added, result.errors) == (4, 1, [])
    state = {(p, b): q for p, b, c, q in _state(db, admin, number) if c}
    assert state == {
        ("P0001", "A-01"): 9,
        ("P0002", "A-01"): 5,
        ("P0002", "B-02"): 1,
        ("P0003", "B-02"): 3,
    }
    sources = {
        s
        for *_x, s in StockCounts(db, admin).entries(
            StockCounts(db, admin).lines(number).rows[0].id
        )
    }
    assert sources == {"Scanner", "Count sheet"}
    # export, import back unchanged: nothing moves
    out = tmp_path / "export.xlsx"
    assert export_sheet(db, keeper, number, out) == 5
    header = [c.value for c in next(load_workbook(out).active.iter_rows(max_row=1))]
    assert "Expected" not in header and "账面数" not in header  # blind
    again = import_sheet(db, keeper, out)
    assert not again.errors
    assert {(p, b): q for p, b, c, q in _state(db, admin, number) if c} == state


def test_sheet_for_a_posted_count_is_refused(db, admin, counting, tmp_path):
    _shop, number = counting
    counts = StockCounts(db, admin)
    counts.mark_counted(number)
    counts.submit(number)
    counts.approve(number)
    counts.post(number)
    path = _sheet(tmp_path / "late.xlsx", [[number, "A-01", "P0001", "", 9, "王强"]])
    with pytest.raises(RefusedError):
        import_sheet(db, admin, path)


def test_sheets_and_result_print(db, admin, counting, tmp_path):
    _shop, number = counting
    sheet = print_count(db, admin, number, tmp_path / "sheet.pdf")
    assert sheet.read_bytes().startswith(b"%PDF") and sheet.stat().st_size > 5000
    counts = StockCounts(db, admin)
    idx = counts.scan_index(number)
    counts.scan(idx, "P0001", qty=8)
    counts.mark_counted(number)
    counts.submit(number)
    with pytest.raises(RefusedError):
        print_count(
            db, admin, "BJ01-A-PD000001", tmp_path / "x.pdf", what="result"
        ) if False else None
        counts.post(number)  # not approved yet
    counts.approve(number)
    counts.post(number)
    pdf = print_count(db, admin, number, tmp_path / "result.pdf", what="result")
    assert pdf.read_bytes().startswith(b"%PDF")
    xlsx = print_count(db, admin, number, tmp_path / "result.xlsx", what="result")
    ws = load_workbook(xlsx).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    flat = [v for row in values for v in row if v is not None]
    assert "P0001" in flat and -2 in flat
    assert "Approved by (after-sales manager)" in flat


def test_ls_counts_and_export_command(db, admin, counting, tmp_path, db_path):
    _shop, number = counting
    run = subprocess.run(
        [*CLI, "ls", "counts", "--db", str(db_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["number"], r["status"], r["blind"], r["lines"]) for r in rows] == [
        (number, "open", True, 4)
    ]
    out = tmp_path / "sheet.xlsx"
    run = subprocess.run(
        [*CLI, "export", "stock-count", "--db", str(db_path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    first = [c.value for c in next(load_workbook(out).active.iter_rows(min_row=2, max_row=2))]
    assert first[0] == number
