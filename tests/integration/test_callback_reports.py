"""Callback reports on a small fixed month, against figures computed by hand; the workbooks read
back with openpyxl show the same numbers; the PDFs are written with the CJK font embedded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from aftersales_desk.services.callback_reports import figures
from aftersales_desk.services.callbacks import Bucket, CallbackService, FormInput
from aftersales_desk.services.progress import NO_PROGRESS
from aftersales_desk.services.report_registry import parse_period, run_report

from .test_callbacks import GOOD, at, customer, visit


@pytest.fixture
def month(db, admin):
    """November 2026: four follow-up calls and one second callback.

    C1 (in warranty)  due 5 Nov, reached, overall 5
    C2 (in warranty)  due 6 Nov, reached, repair quality 2, overall 3 → form (机修车间), closed
                      9 Nov → second callback due 11 Nov, reached, overall 4
    C3 (bought 2020)  accident, due 9 Nov, reached, paint 3, overall 4
    C4 (in warranty)  due 10 Nov, wrong number
    """
    from aftersales_desk.services.archive import ArchiveService

    archive = ArchiveService(db, admin)
    ids = {}
    for name, kind, day, bought in (
        ("陈一", "repair", date(2026, 11, 2), date(2025, 3, 1)),
        ("陈二", "maintenance", date(2026, 11, 3), date(2025, 3, 1)),
        ("陈三", "accident", date(2026, 11, 4), date(2020, 3, 1)),
        ("陈四", "repair", date(2026, 11, 5), date(2025, 3, 1)),
    ):
        cid, vid = customer(archive, name, bought=bought)
        visit(archive, cid, vid, day, kind)
        ids[name] = cid
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 11, 30))
    calls = {r.name: r for r in svc.page(Bucket.OVERDUE, None, 50, today=date(2026, 12, 1)).rows}
    with at(2026, 11, 5):
        svc.record_call(calls["陈一"].id, "reached", answers=GOOD)
    with at(2026, 11, 6):
        r = svc.record_call(
            calls["陈二"].id,
            "reached",
            answers={**GOOD, "repair_quality": 2, "overall": 3},
            comment="刹车异响",
        )
        form = svc.open_form(
            calls["陈二"].id, FormInput(r.department, "陈师傅", date(2026, 11, 10), r.problem_text)
        )
    with at(2026, 11, 9):
        svc.record_call(
            calls["陈三"].id, "reached", answers={**GOOD, "paint_quality": 3, "overall": 4}
        )
        second = svc.close_form(form.id, "更换刹车片", "陈师傅")
    with at(2026, 11, 10):
        svc.record_call(calls["陈四"].id, "wrong_number")
    with at(2026, 11, 11):
        svc.record_call(second.id, "reached", answers={**GOOD, "overall": 4}, comment="满意")
    return form


def test_figures_by_hand(db, admin, month):
    with db.uow(admin) as uow:
        f = figures(uow.session, admin.branch_id, date(2026, 11, 1), date(2026, 12, 1))
    assert (f.due, f.reached, f.wrong_number, f.still_open) == (5, 4, 1, 0)
    assert f.callback_rate == pytest.approx(0.8)
    assert (f.warranty_due, f.warranty_reached) == (3, 2)
    assert (f.rated, f.satisfied) == (4, 3)
    depts = {d.department: (d.answers, d.satisfied, d.problems) for d in f.departments}
    assert depts == {
        "前台接待": (16, 16, 0),
        "机修车间": (8, 7, 1),
        "配件部": (4, 4, 0),
        "钣喷车间": (1, 0, 0),
        "洗车美容": (4, 4, 0),
    }
    qs = {q.key: (q.answers, q.average, q.rate) for q in f.questions}
    assert qs["repair_quality"] == (4, 4.25, 0.75)
    assert qs["paint_quality"] == (1, 3.0, 0.0)
    assert qs["overall"] == (4, 4.0, 0.75)


def _rows(path: Path, sheet: int = 0) -> dict[str, list]:
    wb = load_workbook(path)
    ws = wb.worksheets[sheet]
    out: dict[str, list] = {}
    for r in ws.iter_rows(values_only=True):
        if r and r[0] is not None:
            out.setdefault(str(r[0]), list(r))  # the first table a label appears in
    return out


def _all(path: Path) -> list[list]:
    return [list(r) for r in load_workbook(path).worksheets[0].iter_rows(values_only=True)]


def test_satisfaction_monthly_xlsx_reads_back(db, admin, month, tmp_path):
    out = tmp_path / "sat.xlsx"
    run_report(db, admin, "satisfaction-monthly", parse_period(month="2026-11"), out, NO_PROGRESS)
    rows = _rows(out)
    assert rows["Callback rate"][1:4] == [pytest.approx(0.8), None, "4/5"]
    assert rows["Callback rate within warranty"][1:5] == [pytest.approx(2 / 3), 1, "2/3", "No"]
    assert rows["Customer satisfaction"][1:5] == [pytest.approx(0.75), 0.98, "3/4", "No"]
    assert rows["机修车间"][:5] == ["机修车间", 8, 7, 0.875, 1]
    assert rows["钣喷车间"][:5] == ["钣喷车间", 1, 0, 0, 0]
    assert rows["维修质量"][:5] == ["维修质量", "机修车间", 4, 4.25, 0.75]
    wb = load_workbook(out)
    assert len(wb.worksheets[0]._charts) == 2  # by department, by question
    detail = list(wb.worksheets[1].iter_rows(values_only=True))
    header = detail[1]
    assert "Overall" in header and "维修质量" in header
    body = detail[2:]
    assert len(body) == 4
    overall = header.index("Overall")
    assert sorted(r[overall] for r in body) == [3, 4, 4, 5]


def test_weekly_daily_complaints_and_churn(db, admin, month, tmp_path):
    week = tmp_path / "week.xlsx"
    run_report(db, admin, "callbacks-weekly", parse_period(week="2026-W45"), week, NO_PROGRESS)
    rows = _rows(week)  # 2–8 November: C1, C2 due and reached (C3 is due on the 9th)
    assert rows["Customer satisfaction"][1] == pytest.approx(0.5)
    assert rows["机修车间"][:5] == ["机修车间", 4, 3, 0.75, 1]
    problem = next(r for r in _all(week) if len(r) > 12 and r[2] == "陈二")
    assert problem[7] == month.number and problem[10] == "Resolved" and problem[12] == 4
    day = tmp_path / "day.xlsx"
    run_report(db, admin, "callbacks-daily", parse_period(day="2026-11-06"), day, NO_PROGRESS)
    rows = _rows(day)
    assert rows["机修车间"][2] == "陈二" and "维修质量" in rows["机修车间"][6]
    comp = tmp_path / "comp.xlsx"
    run_report(db, admin, "complaints-monthly", parse_period(month="2026-11"), comp, NO_PROGRESS)
    rows = _rows(comp)
    assert rows[month.number][8:12] == ["Resolved", "2026-11-09", "更换刹车片", "4 满意"]
    figures_row = next(r for r in rows.values() if r[0] == 1 and len(r) > 3)
    assert figures_row[:4] == [1, 1, 1, 0]
    churn = tmp_path / "churn.xlsx"
    run_report(db, admin, "churn-monthly", parse_period(month="2026-11"), churn, NO_PROGRESS)
    from aftersales_desk.services.archive_lost import LostCustomers

    active, lost, rate = LostCustomers(db, admin).churn_rate(2026, 11)
    wb = load_workbook(churn)
    values = [r for r in wb.worksheets[0].iter_rows(values_only=True) if r and r[0] == active]
    assert values and values[0][:3] == (active, lost, rate)


@pytest.mark.parametrize(
    ("name", "period"),
    [("satisfaction-monthly", {"month": "2026-11"}), ("callbacks-weekly", {"week": "2026-W45"}),
     ("complaints-monthly", {"month": "2026-11"}), ("churn-monthly", {"month": "2026-11"}),
     ("callbacks-daily", {"day": "2026-11-06"})],
)  # fmt: skip
def test_pdfs_embed_the_cjk_font(db, admin, month, tmp_path, name, period):
    out = tmp_path / f"{name}.pdf"
    run_report(db, admin, name, parse_period(**period), out, NO_PROGRESS)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"FontFile2" in data
