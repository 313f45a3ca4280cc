"""The parts counter's headless commands: print slip (barcode decodes, Chinese extractable),
import/export parts (contract rules), export movements, ls parts/slips, check."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

import pytest
from openpyxl import Workbook, load_workbook

from aftersales_desk.cli import main
from aftersales_desk.services.documents import DocumentService, LineInput
from tests.parts_helpers import make_shop


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys):
    """The command line in-process (a subprocess per call would cost a second of start-up)."""

    def call(*args, check_rc=None):
        capsys.readouterr()
        rc = main([*args, "--lang", "en"] if "--lang" not in args else list(args))
        out, err = capsys.readouterr()
        if check_rc is not None:
            assert rc == check_rc, err
        return Result(rc, out, err)

    return call


@pytest.fixture
def posted(db, admin, db_path):
    shop = make_shop(db, admin)
    docs = DocumentService(db, admin)
    docs.receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 10, 1000)])
    slip = docs.issue([LineInput(shop.parts["P0001"], shop.bins["A-01"], 2)], technician="李师傅")
    db.dispose()
    return slip


@pytest.mark.skipif(not shutil.which("zbarimg"), reason="zbar-tools not installed")
@pytest.mark.parametrize("size", ["A4", "A5", "241x140"])
def test_print_slip_barcode_decodes_and_chinese_is_text(run, db_path, posted, tmp_path, size):
    out = tmp_path / "slip.pdf"
    run(
        "print", "slip", posted, "--db", str(db_path), "--out", str(out), "--size", size, check_rc=0
    )
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(out), str(tmp_path / "page")], check=True)
    png = sorted(tmp_path.glob("page*.png"))[0]
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
    assert posted in decoded.stdout.split()
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "北京朝阳4S店" in text and "机油滤清器" in text and "李师傅" in text
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    font_rows = fonts.splitlines()[2:]
    assert font_rows and all(row.split()[-5] == "yes" for row in font_rows)  # all embedded


def test_print_counts_copies_and_unknown_number(run, db_path, posted, tmp_path):
    out = tmp_path / "s.pdf"
    run("print", "slip", posted, "--db", str(db_path), "--out", str(out), check_rc=0)
    run("print", "slip", posted, "--db", str(db_path), "--out", str(out), check_rc=0)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "COPY 1" in text
    bad = run("print", "slip", "BJ01-A-999999", "--db", str(db_path), "--out", str(out))
    assert bad.returncode == 2 and "No document numbered" in bad.stderr
    rows = json.loads(run("ls", "slips", "--db", str(db_path), "--json", check_rc=0).stdout)
    assert [r["print_count"] for r in rows if r["number"] == posted] == [2]


def _sheet(path, rows):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_import_parts_contract(run, db_path, tmp_path):
    src = tmp_path / "in.xlsx"
    _sheet(
        src,
        [
            ["售价", "名称", "零件号", "Min stock", "条码"],
            ["12.50", "火花塞", "np-1", 2, "6901"],
            ["abc", "坏价格", "NP-2", 1, ""],
            ["8", "", "NP-3", 1, ""],
            ["9", "刹车片", "NP-4", 1.5, ""],
            [10, "雨刮", "NP-5", None, None],
        ],
    )
    report = tmp_path / "report.xlsx"
    dry = run("import", "parts", str(src), "--db", str(db_path), "--dry-run", "--json")
    assert dry.returncode == 3
    assert json.loads(dry.stdout)["created"] == 2
    assert json.loads(run("ls", "parts", "--db", str(db_path), "--json").stdout) == []
    res = run("import", "parts", str(src), "--db", str(db_path), "--report", str(report))
    assert res.returncode == 3
    assert "row 3, column 售价" in res.stderr
    assert "row 4, column 名称" in res.stderr
    assert "row 5, column Min stock" in res.stderr
    rows = load_workbook(report).active
    assert [c.value for c in rows[1]] == ["Row", "Column", "Reason"]
    assert rows.max_row == 4
    parts = json.loads(run("ls", "parts", "--db", str(db_path), "--json").stdout)
    assert [(p["part_no"], p["sale_price"], p["min_qty"]) for p in parts] == [
        ("NP-1", 1250, 2),
        ("NP-5", 1000, 0),
    ]
    # a row with an existing part number updates it; columns not in the file stay
    upd = tmp_path / "upd.xlsx"
    _sheet(upd, [["Part no.", "Name"], ["NP-1", "火花塞(铱金)"]])
    run("import", "parts", str(upd), "--db", str(db_path), check_rc=0)
    parts = json.loads(run("ls", "parts", "--db", str(db_path), "--json").stdout)
    assert (parts[0]["name"], parts[0]["sale_price"], parts[0]["barcode"]) == (
        "火花塞(铱金)",
        1250,
        "6901",
    )
    nohead = tmp_path / "nohead.xlsx"
    _sheet(nohead, [["foo", "bar"], [1, 2]])
    assert run("import", "parts", str(nohead), "--db", str(db_path)).returncode == 2
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_text("not a workbook")
    assert run("import", "parts", str(garbage), "--db", str(db_path)).returncode == 2


def test_export_parts_reads_back_unchanged(run, db_path, posted, tmp_path):
    out = tmp_path / "parts.xlsx"
    run("export", "parts", "--db", str(db_path), "--out", str(out), check_rc=0)
    back = run("import", "parts", str(out), "--db", str(db_path), "--json", check_rc=0)
    doc = json.loads(back.stdout)
    assert (doc["created"], doc["updated"], doc["unchanged"]) == (0, 0, 3)
    zh = tmp_path / "parts_zh.xlsx"
    run("export", "parts", "--db", str(db_path), "--out", str(zh), "--lang", "zh_CN", check_rc=0)
    assert load_workbook(zh).active["A1"].value == "零件号"
    back = run("import", "parts", str(zh), "--db", str(db_path), "--json", check_rc=0)
    assert json.loads(back.stdout)["unchanged"] == 3


def test_export_movements_and_check(run, db_path, posted, tmp_path):
    out = tmp_path / "mv.xlsx"
    res = run("export", "movements", "--db", str(db_path), "--out", str(out), "--json", check_rc=0)
    assert json.loads(res.stdout)["rows"] == 2
    ws = load_workbook(out).active
    assert ws.max_row == 3 and ws["I3"].value == posted
    assert run("check", "--db", str(db_path)).returncode == 0


def test_reports_write_xlsx_and_pdf(run, db_path, posted, tmp_path):
    for name in ("stock-valuation", "slow-moving", "replenishment", "under-stock", "over-stock"):
        for ext in ("xlsx", "pdf"):
            out = tmp_path / f"{name}.{ext}"
            run(
                "report",
                name,
                "--db",
                str(db_path),
                "--date",
                "2030-01-01",
                "--out",
                str(out),
                check_rc=0,
            )
            assert out.stat().st_size > 0
    ws = load_workbook(tmp_path / "stock-valuation.xlsx").active
    assert ws["A5"].value == "P0001" and ws["D5"].value == 8 and ws["F5"].value == 80
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "slow-moving.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "P0001" in text
