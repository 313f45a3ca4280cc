"""Callback queue with 50,000 callbacks (issue 6): the queue opening (counts of every bucket and the
first page, ≤ 200 ms — the service call, and the queue page from construction to rows shown),
saving a call with its answers (≤ 50 ms), and ``satisfaction-monthly`` as xlsx (≤ 5 s and within
2× of writing the same cells with bare openpyxl in the same run). Baselines: the same queue SQL
and the same call update through bare sqlite3."""

from __future__ import annotations

import os
import random
import sqlite3
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import Timing, cached_db, header, measure, report

N = int(os.environ.get("BENCH_CALLBACKS", "50000"))
CUSTOMERS = max(100, N // 10)
TZ = ZoneInfo("Asia/Shanghai")
DEPTS = ["机修车间", "钣喷车间", "前台接待", "客户服务"]
ADVISORS = ["王磊", "孙静", "赵磊", "刘洋", "张丽"]


def _today() -> date:
    return datetime.now(TZ).date()


def _answers(rng: random.Random, keys: list[str]) -> dict:
    return {k: rng.choices([5, 4, 3, 2, 1], [60, 30, 6, 3, 1])[0] for k in keys}


def build(path: Path) -> None:
    from sqlalchemy import insert

    from aftersales_desk.data.models.archive import Customer, Vehicle
    from aftersales_desk.data.models.callbacks import Callback
    from aftersales_desk.services.bootstrap import initialize, local_actor
    from aftersales_desk.services.callback_questionnaires import active_questionnaire, to_question

    db = initialize(
        path,
        branch_code="BJ01",
        branch_name="北京朝阳4S店",
        device_code="A",
        admin_password="bench1234",
    )
    actor = local_actor(db, "admin")
    rng = random.Random(6)
    now = datetime.now(UTC)
    today = _today()
    branch = actor.branch_id
    with db.uow(actor, write=True) as uow:
        s = uow.session
        qn = active_questionnaire(s, branch, "standard", create=True)
        qn_id = qn.id
        keys = [q.key for q in map(to_question, qn.questions) if q.kind == "score"]
        customers, vehicles = [], []
        for i in range(CUSTOMERS):
            cid, vid = uuid.uuid4(), uuid.uuid4()
            customers.append(
                {
                    "id": cid,
                    "branch_id": branch,
                    "customer_no": f"C{i + 1:06d}",
                    "name": f"客户{i + 1}",
                    "kind": "person",
                    "phone": f"138{i:08d}",
                    "phone2": "",
                    "address": "",
                    "region": "",
                    "id_number": "",
                    "club_member": i % 9 == 0,
                    "vip": False,
                    "consent_call": True,
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            vehicles.append(
                {
                    "id": vid,
                    "branch_id": branch,
                    "customer_id": cid,
                    "vin": "",
                    "engine_no": "",
                    "plate": f"京A{i:05d}",
                    "brand": "大众",
                    "model": "速腾",
                    "colour": "",
                    "purchase_date": None,
                    "sale_date": None,
                    "mileage_km": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        s.execute(insert(Customer), customers)
        s.execute(insert(Vehicle), vehicles)
        rows = []
        for i in range(N):
            c = rng.randrange(CUSTOMERS)
            roll = rng.random()
            if roll < 0.2:  # open: overdue, today, upcoming
                due = today + timedelta(days=rng.randint(-20, 7))
                status, done_on, answers, overall = "open", None, None, None
            else:
                due = today - timedelta(days=rng.randint(1, 365))  # a year of calls
                done_on = due + timedelta(days=rng.randint(0, 2))
                status = "done" if roll < 0.92 else rng.choice(["unreachable", "wrong_number"])
                answers = _answers(rng, keys) if status == "done" else None
                overall = answers["overall"] if answers else None
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "branch_id": branch,
                    "rule": rng.choice(
                        ["visit", "visit", "visit", "maintenance", "lost", "second"]
                    ),
                    "natural_key": f"bench:{i}",
                    "customer_id": customers[c]["id"],
                    "vehicle_id": vehicles[c]["id"],
                    "visit_id": None,
                    "form_id": None,
                    "advisor": rng.choice(ADVISORS),
                    "department": rng.choice(DEPTS),
                    "note": "",
                    "in_warranty": rng.random() < 0.6,
                    "first_due_on": due,
                    "due_on": due,
                    "status": status,
                    "outcome": "reached" if status == "done" else "",
                    "attempts": 0 if status == "open" else 1,
                    "done_at": datetime.combine(done_on, datetime.min.time(), TZ)
                    if done_on
                    else None,
                    "done_on": done_on,
                    "done_by": "张丽" if done_on else "",
                    "questionnaire_id": qn_id if answers else None,
                    "answers": answers,
                    "overall": overall,
                    "comment": "",
                    "problem": bool(overall and overall <= 2),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(rows) == 5000:
                s.execute(insert(Callback), rows)
                rows = []
        if rows:
            s.execute(insert(Callback), rows)
        uow.commit()
    db.dispose()
    print(f"({N} callbacks, {CUSTOMERS} customers)", flush=True)


def main() -> bool:
    from openpyxl import Workbook
    from PySide6.QtWidgets import QApplication

    from aftersales_desk.services.bootstrap import local_actor, open_database
    from aftersales_desk.services.callback_reports import figures
    from aftersales_desk.services.callbacks import Bucket, CallbackService
    from aftersales_desk.services.progress import NO_PROGRESS
    from aftersales_desk.services.report_registry import parse_period, run_report

    header(f"callbacks ({N} callbacks)")
    path = cached_db(f"callbacks_{N}", build)
    db = open_database(path)
    actor = local_actor(db, "admin")
    svc = CallbackService(db, actor)
    today = _today()
    ok = True

    # --- the queue opening ---------------------------------------------------------------------
    def open_queue() -> None:
        svc.counts(today)
        svc.page(Bucket.OVERDUE, None, 200, today=today)

    t = measure(open_queue, repeat=15)
    raw = sqlite3.connect(path)
    branch = actor.branch_id.hex

    def raw_queue() -> None:
        for where, args in (
            ("status = 'open' AND due_on = ?", (today.isoformat(),)),
            ("status = 'open' AND due_on < ?", (today.isoformat(),)),
            (
                "status = 'open' AND due_on > ? AND due_on <= ?",
                (today.isoformat(), (today + timedelta(days=7)).isoformat()),
            ),
            ("status IN ('done', 'unreachable', 'wrong_number')", ()),
        ):
            raw.execute(
                f"SELECT count(*) FROM callbacks WHERE branch_id = ? AND {where}", (branch, *args)
            ).fetchone()
        raw.execute(
            "SELECT c.id, c.due_on, c.first_due_on, c.rule, c.customer_id, u.customer_no, u.name,"
            " u.phone, u.club_member, v.plate, c.advisor, c.department, c.note, c.status,"
            " c.attempts, c.overall, c.problem, c.done_on FROM callbacks c"
            " JOIN customers u ON u.id = c.customer_id LEFT JOIN vehicles v ON v.id = c.vehicle_id"
            " WHERE c.branch_id = ? AND c.status = 'open' AND c.due_on < ?"
            " ORDER BY c.due_on, c.id LIMIT 201",
            (branch, today.isoformat()),
        ).fetchall()

    b = measure(raw_queue, repeat=15)
    ok &= report(
        "queue opens: bucket counts + first page (service)",
        t.median * 1000,
        target=200,
        baseline=b.median * 1000,
        baseline_name="bare SQL",
    )

    app = QApplication.instance() or QApplication([])
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tabs.callbacks.tab import QueuePage
    from aftersales_desk.ui.tasks import Ops

    ctx = AppContext(db=db, actor=actor, ops=Ops())

    def open_page() -> None:
        page = QueuePage(ctx, svc)
        page.today = today
        page.set_bucket(Bucket.OVERDUE)  # the first page at once, the counts from a reader
        assert page.model.rowCount() > 0
        ctx.ops.wait_idle()
        app.processEvents()  # the counts land on the buttons
        assert "(" in page.buttons[Bucket.DONE].text()
        page.deleteLater()

    t = measure(open_page, repeat=10)
    ok &= report(
        "queue page: built, counts and first page shown",
        t.median * 1000,
        target=200,
        baseline=b.median * 1000,
        baseline_name="bare SQL",
    )

    # --- saving a call --------------------------------------------------------------------------
    open_ids = [r.id for r in svc.page(Bucket.UPCOMING, None, 200, today=today).rows]
    open_ids += [r.id for r in svc.page(Bucket.OVERDUE, None, 200, today=today).rows]
    answers = {
        "reception_speed": 5,
        "completion_speed": 4,
        "checkout_speed": 5,
        "parts_price": 4,
        "labour_charge": 4,
        "staff_service": 5,
        "quoted_before": True,
        "explained_after": True,
        "repair_quality": 5,
        "cleanliness": 5,
        "arrival": "自驾到店",
        "overall": 5,
        "comment": "满意",
    }
    ids = iter(open_ids)
    t = measure(
        lambda: svc.record_call(next(ids), "reached", answers=answers, comment="满意"),
        repeat=min(40, len(open_ids) // 3),
        warmup=2,
    )
    raw_ids = iter(open_ids[60:])
    raw.isolation_level = None

    def raw_save() -> None:
        cid = next(raw_ids).hex
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(
            "INSERT INTO callback_attempts (id, branch_id, callback_id, at, by, outcome, note)"
            " VALUES (?, ?, ?, ?, ?, 'reached', '')",
            (uuid.uuid4().hex, branch, cid, datetime.now(UTC).isoformat(), "admin"),
        )
        raw.execute(
            "UPDATE callbacks SET status = 'done', outcome = 'reached', attempts = attempts + 1,"
            " answers = ?, overall = 5, comment = '满意', done_at = ?, done_on = ? WHERE id = ?",
            ("{}", datetime.now(UTC).isoformat(), today.isoformat(), cid),
        )
        raw.execute("COMMIT")

    b = measure(raw_save, repeat=min(40, len(open_ids) // 3), warmup=2)
    ok &= report(
        "saving a call (reached, 13 answers)",
        t.median * 1000,
        target=50,
        baseline=b.median * 1000,
        baseline_name="bare sqlite3",
    )

    # --- satisfaction-monthly xlsx ----------------------------------------------------------------
    last = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    period = parse_period(month=last)
    out = CACHE_OUT / "satisfaction.xlsx"
    with db.uow(actor) as uow:
        f = figures(uow.session, actor.branch_id, period.start, period.end)
    keys = [q.key for q in f.questions]
    cells = [
        [
            c.done_on.isoformat(),
            c.rule,
            c.customer,
            c.plate,
            c.advisor,
            c.department,
            *(c.answers.get(k) for k in keys),
            c.overall,
            c.comment or None,
            "Yes" if c.problem else None,
        ]
        for c in f.calls
    ]
    summary = [[d.department, d.answers, d.satisfied, d.rate, d.problems] for d in f.departments]
    summary += [[q.text, q.department, q.answers, q.average, q.rate] for q in f.questions]

    def bare() -> None:
        wb = Workbook(write_only=True)  # the same streaming writer, none of the report's shape
        ws = wb.create_sheet("summary")
        ws.append(["title"])
        for row in summary:
            ws.append(row)
        detail = wb.create_sheet("detail")
        for row in cells:
            detail.append(row)
        wb.save(CACHE_OUT / "bare.xlsx")

    def ours() -> None:
        run_report(db, actor, "satisfaction-monthly", period, out, NO_PROGRESS)

    # the two alternate, so that both see the same load on a shared machine
    ours(), bare()
    mine, theirs = [], []
    for _i in range(5):
        t0 = time.perf_counter()
        ours()
        mine.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare()
        theirs.append(time.perf_counter() - t0)
    t, b = Timing(mine), Timing(theirs)
    ok &= report(
        f"satisfaction-monthly xlsx ({len(cells)} calls in {last})",
        t.median,
        "s",
        target=5,
        baseline=b.median,
        baseline_name="bare openpyxl",
        max_ratio=2,
    )
    raw.close()
    db.dispose()
    return ok


CACHE_OUT = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_callbacks_{os.getpid()}"
CACHE_OUT.mkdir(parents=True, exist_ok=True)

if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
