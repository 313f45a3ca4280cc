"""``import KIND FILE``: the one runner in commands/transfer.py with each kind's own summary and
exit rules (see ../shared/CONTRACT.md) — the paths the per-area CLI tests do not walk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from aftersales_desk.cli import main
from tests.integration.test_counts_sheets import counting  # noqa: F401  (a fixture)


@pytest.fixture
def run(capsys):
    def call(*args):
        capsys.readouterr()
        rc = main([*args, "--lang", "en"])
        out, err = capsys.readouterr()
        return rc, out, err

    return call


def _sheet(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def test_unknown_kind_and_missing_file_are_usage_errors(run, db_path, tmp_path):
    rc, out, err = run("import", "nothing", str(tmp_path / "x.xlsx"), "--db", str(db_path))
    assert rc == 2 and out == ""
    assert err.strip().endswith("known kinds: customers, parts, policies, stock-count")
    for kind in ("customers", "parts", "policies", "stock-count"):
        rc, out, err = run("import", kind, str(tmp_path / "gone.xlsx"), "--db", str(db_path))
        assert (rc, out) == (2, "") and "gone.xlsx does not exist" in err


def test_customers_without_data_rows_say_so_and_exit_2(run, db_path, tmp_path):
    path = _sheet(tmp_path / "c.xlsx", [["Name", "Mobile phone", "Plate"]])
    rc, out, err = run("import", "customers", str(path), "--db", str(db_path), "--json")
    assert rc == 2 and "no data rows" in err
    assert json.loads(out) == {
        "rows": 0,
        "customers_added": 0,
        "customers_updated": 0,
        "vehicles_added": 0,
        "vehicles_updated": 0,
        "rejected_rows": 0,
        "errors": [],
        "warnings": [],
        "dry_run": False,
    }


def test_parts_follow_the_contracts_exit_rule(run, db_path, tmp_path):
    # CONTRACT: nothing done (no data rows, or every row rejected) is 2, like every other import
    empty = _sheet(tmp_path / "empty.xlsx", [["Part no.", "Name"]])
    rc, _out, err = run("import", "parts", str(empty), "--db", str(db_path))
    assert rc == 2 and "no data rows" in err
    bad = _sheet(tmp_path / "bad.xlsx", [["Part no.", "Name"], ["NP-1", ""], ["NP-2", ""]])
    rc, out, err = run("import", "parts", str(bad), "--db", str(db_path), "--dry-run")
    assert rc == 2
    assert out == "Dry run, nothing changed: 0 new, 0 updated, 0 unchanged, 2 rows rejected.\n"
    assert err.splitlines() == [
        "row 2, column Name: The part needs a name.",
        "row 3, column Name: The part needs a name.",
    ]


def test_a_refused_count_sheet_says_so_on_stderr(run, db_path, tmp_path, counting):  # noqa: F811
    _shop, number = counting
    path = _sheet(
        tmp_path / "count.xlsx",
        [
            ["盘点单号", "货位", "零件号", "实盘数"],
            [number, "A-01", "P0001", 9],
            [number, "A-01", "P0002", "x"],
        ],
    )
    rc, out, err = run("import", "stock-count", str(path), "--db", str(db_path))
    assert (rc, out) == (2, "")
    assert err.splitlines()[-1] == (
        "The count sheet was not imported: 1 rows are wrong. Nothing changed."
    )
    assert err.splitlines()[0].startswith("row 3, column 实盘数: ")
