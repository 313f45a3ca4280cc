"""The insurance log's headless commands: ``import policies`` (headers in Chinese or English in
any order; bad dates, unknown insurers and rule breaks reported by row and column; valid rows in;
exit 3), an unreadable file changes nothing (exit 2), ``export policies`` reads back unchanged,
``ls policies``, ``renewals``, ``report renewals`` / ``report insurance-daily`` as xlsx and pdf."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from aftersales_desk.cli import main
from aftersales_desk.services.insurance import InsuranceService
from aftersales_desk.services.insurance_io import cell_rate, rate_text
from tests.insurance_helpers import add_vehicle, policy_input


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys):
    def call(*args, check_rc=None):
        capsys.readouterr()
        rc = main([*args, "--lang", "en"] if "--lang" not in args else list(args))
        out, err = capsys.readouterr()
        if check_rc is not None:
            assert rc == check_rc, err
        return Result(rc, out, err)

    return call


@pytest.fixture
def archive(db, admin):
    add_vehicle(db, admin, "京A12345")
    add_vehicle(db, admin, "京B54321", name="李娜")
    return db


def _table(db_path) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT policy_no, kind, coverages, premium_minor, commission_rate_bp, "
            "commission_minor, start_date, end_date, business, payment FROM policies "
            "ORDER BY policy_no"
        ).fetchall()


def test_rates_read_and_written_exactly():
    assert [rate_text(bp) for bp in (0, 400, 1000, 1250, 1205, 10000)] == [
        "0%", "4%", "10%", "12.5%", "12.05%", "100%"
    ]  # fmt: skip
    for bp in (0, 400, 1000, 1250, 1205, 10000):
        assert cell_rate(rate_text(bp)) == bp
    assert cell_rate(0.125) == 1250  # a percent-formatted Excel cell
    assert cell_rate(12.5) == 1250
    with pytest.raises(ValueError):
        cell_rate("120%")


def test_import_reports_bad_rows_keeps_good_ones_and_exits_3(run, archive, db_path, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年保险出单明细"])  # a title row above the header
    # Chinese and English headers, in an order of their own
    ws.append(["车牌号", "Policy no.", "保险公司", "险种", "险别", "Premium", "手续费率",
               "起保日期", "End date", "业务员", "新保续保", "付款状态"])  # fmt: skip
    ws.append(["京A12345", "PDZA2026000001", "人保财险", "交强险", "", 950, "4%",
               date(2026, 3, 1), date(2027, 2, 28), "张丽", "新保", "已付"])  # fmt: skip
    ws.append(["京A12345", "PDAA2026000001", "PICC", "商业险", "车损险、三者险（不计免赔）",
               "4,321.50", 0.125, "2026/3/1", "2027年2月28日", "张丽", "新保", "未付"])  # fmt: skip
    ws.append(
        [
            "京B54321",
            "PDZA2026000002",
            "人保财险",
            "交强险",
            "",
            950,
            "4%",
            "2026-13-45",
            "2027-02-28",
            "刘洋",
            "新保",
            "已付",
        ]
    )  # fmt: skip  (bad date)
    ws.append(
        [
            "京B54321",
            "XH2026000003",
            "火星保险",
            "交强险",
            "",
            950,
            "4%",
            "2026-03-01",
            "2027-02-28",
            "刘洋",
            "新保",
            "已付",
        ]
    )  # fmt: skip  (unknown insurer)
    ws.append(
        [
            "京B54321",
            "PDZA2026000004",
            "平安产险",
            "交强险",
            "",
            950,
            "4%",
            "2026-05-01",
            "2026-04-30",
            "刘洋",
            "新保",
            "已付",
        ]
    )  # fmt: skip  (end < start)
    ws.append(
        [
            "京A12345",
            "PDZA2026000005",
            "平安产险",
            "交强险",
            "",
            950,
            "4%",
            "2026-06-01",
            "2027-05-31",
            "刘洋",
            "新保",
            "已付",
        ]
    )  # fmt: skip  (overlap row 3)
    ws.append(
        [
            "京Z99999",
            "PDZA2026000006",
            "平安产险",
            "交强险",
            "",
            950,
            "4%",
            "2026-06-01",
            "2027-05-31",
            "刘洋",
            "新保",
            "已付",
        ]
    )  # fmt: skip  (no vehicle)
    ws.append(
        [
            "京B54321",
            "PDZA2026000001",
            "人保财险",
            "交强险",
            "",
            950,
            "4%",
            "2026-06-01",
            "2027-05-31",
            "刘洋",
            "新保",
            "已付",
        ]
    )  # fmt: skip  (same no. as row 3)
    ws.append([])
    path = tmp_path / "policies.xlsx"
    wb.save(path)
    r = run("import", "policies", str(path), "--db", str(db_path), "--dry-run")
    assert r.returncode == 3 and "Dry run: nothing was saved." in r.stdout
    assert _table(db_path) == []
    report = tmp_path / "report.xlsx"
    r = run("import", "policies", str(path), "--db", str(db_path), "--report", str(report))
    assert r.returncode == 3, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines == [
        "row 5, column 起保日期: Not a date: 2026-13-45 (e.g. 2026-05-06, 2026/5/6)",
        "row 6, column 保险公司: Unknown insurer: 火星保险 (not in the insurers' list)",
        "row 7, column End date: The end date 2026-04-30 is before the start date 2026-05-01.",
        "row 8, column 起保日期: This vehicle already has a Compulsory (CTPL) policy "
        "PDZA2026000001 covering 2026-03-01 – 2027-02-28; the periods overlap.",
        "row 9, column 车牌号: No vehicle with this plate or VIN in the archive: 京Z99999",
        "row 10, column Policy no.: Policy no. PDZA2026000001 is also in row 3.",
    ]
    assert "8 rows: 2 new policies, 0 updated, 0 unchanged; 6 rows rejected." in r.stdout
    assert _table(db_path) == [
        ("PDAA2026000001", "commercial", "vehicle_damage,third_party", 432150, 1250, 54019,
         "2026-03-01", "2027-02-28", "new", "unpaid"),
        ("PDZA2026000001", "compulsory", "", 95000, 400, 3800, "2026-03-01", "2027-02-28",
         "new", "paid"),
    ]  # fmt: skip
    cells = [
        [c.value for c in row if c.value is not None]
        for ws in load_workbook(report).worksheets
        for row in ws.iter_rows()
    ]
    assert ["Policies added", 2] in cells and ["Rows rejected", 6] in cells
    assert not any("Customers" in str(row) for row in cells)
    assert [5, "起保日期", "Not a date: 2026-13-45 (e.g. 2026-05-06, 2026/5/6)"] in cells

    # the same file again: the good rows are now recorded and unchanged
    r = run("import", "policies", str(path), "--db", str(db_path), "--json")
    assert r.returncode == 3
    doc = json.loads(r.stdout)
    assert (doc["policies_added"], doc["policies_unchanged"], doc["rejected_rows"]) == (0, 2, 6)


def test_unreadable_or_headerless_file_changes_nothing(run, archive, db_path, tmp_path):
    bad = tmp_path / "policies.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not really a workbook")
    r = run("import", "policies", str(bad), "--db", str(db_path))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    wb = Workbook()
    wb.active.append(["名字", "电话"])
    wb.active.append(["王", "138"])
    wb.save(tmp_path / "other.xlsx")
    r = run("import", "policies", str(tmp_path / "other.xlsx"), "--db", str(db_path))
    assert r.returncode == 2 and "No header row found" in r.stderr
    r = run("import", "policies", str(tmp_path / "missing.xlsx"), "--db", str(db_path))
    assert r.returncode == 2
    assert _table(db_path) == []
    # nothing written at all (the audit log included)
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        assert (
            conn.execute("SELECT count(*) FROM audit_log WHERE entity='policies'").fetchone()[0]
            == 0
        )


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_export_reads_back_unchanged(run, db, admin, db_path, tmp_path, lang):
    svc = InsuranceService(db, admin)
    _c, v = add_vehicle(db, admin, "京A12345")
    svc.create_policy(policy_input(db, admin, "P1", v, date(2026, 1, 1), commission_rate_bp=1000))
    svc.create_policy(
        policy_input(db, admin, "P2", v, date(2026, 1, 1), kind="commercial", premium=345678,
                     commission_rate_bp=1205, salesperson="张丽", payment="paid")
    )  # fmt: skip
    db.dispose()
    before = _table(db_path)
    out = tmp_path / "export.xlsx"
    run("export", "policies", "--db", str(db_path), "--out", str(out), "--lang", lang, check_rc=0)
    r = run("import", "policies", str(out), "--db", str(db_path), "--json", "--lang", lang)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["policies_added"], doc["policies_updated"], doc["policies_unchanged"]) == (0, 0, 2)
    assert _table(db_path) == before


def test_ls_renewals_and_reports(run, db, admin, db_path, tmp_path):
    svc = InsuranceService(db, admin)
    _c, v = add_vehicle(db, admin, "京A12345")
    today = svc.today()
    start = date(today.year - 1, today.month, 1) if today.day > 1 else today
    pid = svc.create_policy(policy_input(db, admin, "P1", v, start, issued_on=today))
    end = svc.policy(pid).end_date
    db.dispose()
    r = run("ls", "policies", "--db", str(db_path), "--json", check_rc=0)
    (doc,) = json.loads(r.stdout)
    assert doc["policy_no"] == "P1" and doc["plate"] == "京A12345" and doc["insurer"] == "PICC"
    assert doc["end_date"] == end.isoformat() and doc["renewal_status"] == "open"
    r = run("renewals", "--db", str(db_path), "--within", "90", "--json", check_rc=0)
    assert [x["policy_no"] for x in json.loads(r.stdout)] == (
        ["P1"] if 0 <= (end - today).days <= 90 else []
    )
    month = f"{end.year:04d}-{end.month:02d}"
    for suffix in ("xlsx", "pdf"):
        out = tmp_path / f"renewals.{suffix}"
        run("report", "renewals", "--db", str(db_path), "--month", month, "--out", str(out),
            "--lang", "zh_CN", check_rc=0)  # fmt: skip
        out2 = tmp_path / f"daily.{suffix}"
        run("report", "insurance-daily", "--db", str(db_path), "--date", today.isoformat(),
            "--out", str(out2), "--lang", "zh_CN", check_rc=0)  # fmt: skip
    cells = [c.value for row in load_workbook(tmp_path / "renewals.xlsx").active.iter_rows()
             for c in row]  # fmt: skip
    assert "P1" in cells and "交强险" in cells
    daily = [c.value for row in load_workbook(tmp_path / "daily.xlsx").active.iter_rows()
             for c in row]  # fmt: skip
    assert "出单数" in daily and "续保率（本月到期保单）" in daily
    text = subprocess.run(["pdftotext", str(tmp_path / "renewals.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "P1" in text and "京A12345" in text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "daily.pdf")], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert "yes" in fonts.splitlines()[-1]  # the CJK font is embedded
