"""``demo`` for the insurance log: two years of policies for the archive's vehicles (compulsory
every year, commercial for most), renewed, lost or still being worked as a branch's are; accident
vehicles received over the last two months linked to accident work orders; engine-oil sales.

``policy_rows`` is also what the benchmark uses to make 100k policies."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from aftersales_desk.data import audit
from aftersales_desk.data.models.archive import Vehicle, Visit, WorkOrder
from aftersales_desk.data.models.insurance import AccidentIntake, Insurer, OilSale, Policy
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.services import demo
from aftersales_desk.services.insurance import OPEN_STATES, branch_today, one_year_end

SALESPEOPLE = ("张丽", "刘洋", "孙静", "赵磊")
COMPULSORY_PREMIUMS = (95000, 85500, 76000, 66500, 114000)  # 950 元 and its no-claim steps
LOST_REASONS = ("别家报价更便宜", "在其他店续保", "车辆已卖出或报废", "联系不上客户")
LOST_NOTES = ("其他公司报价便宜300元", "在保险代理处续保", "车辆已过户", "电话多次未接通")
COVERAGE_SETS = (
    "vehicle_damage,third_party",
    "vehicle_damage,third_party,driver,passengers",
    "vehicle_damage,third_party,driver,passengers,glass",
    "vehicle_damage,third_party,driver,scratch",
    "third_party",
    "vehicle_damage,third_party,medical",
)
OILS = (
    ("美孚1号 0W-20 4L", 45800),
    ("嘉实多极护 5W-40 4L", 39800),
    ("壳牌超凡喜力 5W-30 4L", 42800),
    ("长城金吉星 5W-30 4L", 16800),
    ("原厂机油 5W-30 4L", 36000),
    ("美孚速霸2000 5W-30 4L", 22800),
)
SURVEYORS = ("赵查勘", "钱定损", "孙查勘", "李定损", "周查勘")
BUYERS = ("散客", "过路客户", "")


def policy_rows(
    rng: random.Random,
    vehicles: Iterable[tuple[uuid.UUID, uuid.UUID]],
    insurers: list[tuple[uuid.UUID, str]],
    branch_id: uuid.UUID | None,
    today: date,
    *,
    share: float = 0.6,
    years: int = 2,
    numbers_from: int = 1,
) -> list[dict[str, Any]]:
    """Rows for ``insert(Policy)``: for ``share`` of the vehicles a series of yearly policies
    starting up to ``years`` years ago, linked renewal to renewal, until one is lost or the
    series reaches today. Deterministic for a given generator."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    seq = numbers_from
    for vehicle_id, customer_id in vehicles:
        if rng.random() >= share:
            continue
        insurer_id, code = insurers[min(int(rng.expovariate(0.7)), len(insurers) - 1)]
        start = today - timedelta(days=365 * years - rng.randrange(0, 365))
        kinds = ("compulsory", "commercial") if rng.random() < 0.8 else ("compulsory",)
        sales = rng.choice(SALESPEOPLE)
        commercial = rng.randrange(2500, 6500) * 100
        prev: dict[str, dict[str, Any]] = {}
        while start <= today + timedelta(days=20):
            end = one_year_end(start)
            issued = min(today, start - timedelta(days=rng.randrange(0, 12)))
            for kind in kinds:
                seq += 1
                prefix = (
                    ("PDZA" if kind == "compulsory" else "PDAA") if code == "PICC" else code[:4]
                )
                row = {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "branch_id": branch_id,
                    "policy_no": f"{prefix}{start.year}{seq:010d}",
                    "insurer_id": insurer_id,
                    "customer_id": customer_id,
                    "vehicle_id": vehicle_id,
                    "kind": kind,
                    "coverages": "" if kind == "compulsory" else rng.choice(COVERAGE_SETS),
                    "premium_minor": rng.choice(COMPULSORY_PREMIUMS)
                    if kind == "compulsory"
                    else commercial,
                    "commission_rate_bp": 400
                    if kind == "compulsory"
                    else rng.choice((1000, 1250, 1500, 2000, 2500)),
                    "commission_minor": 0,
                    "start_date": start,
                    "end_date": end,
                    "issued_on": issued,
                    "salesperson": sales,
                    "business": "renewal" if kind in prev else "new",
                    "payment": "paid"
                    if issued < today - timedelta(days=3) or rng.random() < 0.7
                    else "unpaid",
                    "note": "",
                    "renewal_status": "open",
                    "renewal_note": "",
                    "quoted_minor": None,
                    "lost_reason": "",
                    "renewal_updated_on": None,
                    "renewed_by_id": None,
                    "created_at": now,
                    "updated_at": now,
                }
                rate = row["commission_rate_bp"]
                row["commission_minor"] = (row["premium_minor"] * rate + 5000) // 10000
                if kind in prev:
                    old = prev[kind]
                    old["renewal_status"] = "renewed"
                    old["renewed_by_id"] = row["id"]
                    old["renewal_updated_on"] = issued
                rows.append(row)
                prev[kind] = row
            commercial = int(commercial * rng.uniform(0.9, 1.05)) // 100 * 100
            next_start = end + timedelta(days=1)
            if next_start > today:
                break  # the current policies: still being worked (below)
            if (today - end).days <= 30 and rng.random() < 0.35:
                break  # ended lately, not renewed yet: the customer is still being chased
            if rng.random() < 0.22:  # lost at this renewal
                for row in prev.values():
                    i = rng.randrange(len(LOST_REASONS))
                    row["renewal_status"] = "lost"
                    row["lost_reason"] = LOST_REASONS[i]
                    row["renewal_note"] = LOST_NOTES[i]
                    row["renewal_updated_on"] = row["end_date"] - timedelta(
                        days=rng.randrange(3, 30)
                    )
                break
            start = next_start
        for row in prev.values():  # the newest policy: how far its renewal got
            left = (row["end_date"] - today).days
            if row["renewal_status"] in OPEN_STATES and -30 <= left <= 60:
                state = rng.choice(("open", "contacted", "contacted", "quoted"))
                row["renewal_status"] = state
                row["renewal_updated_on"] = today - timedelta(days=rng.randrange(0, 10))
                if state == "contacted":
                    row["renewal_note"] = rng.choice(("客户考虑中", "客户要求发报价", "下周到店"))
                if state == "quoted":
                    row["quoted_minor"] = row["premium_minor"] * rng.choice((95, 100, 103)) // 100
                    row["renewal_note"] = "已发报价短信"
    # a renewal before the policy it renews: the link's foreign key is checked row by row
    rows.sort(key=lambda r: r["start_date"], reverse=True)
    return rows


@demo.register
def _demo_insurance(ctx: demo.DemoContext) -> None:
    rng = ctx.rng
    branch = ctx.actor.branch_id
    with ctx.db.uow(ctx.actor) as uow:
        s = uow.session
        if s.scalar(select(func.count()).select_from(Policy).where(Policy.branch_id == branch)):
            return  # the branch has its policies already
        today = branch_today(s, branch)
        vehicles = s.execute(
            select(Vehicle.id, Vehicle.customer_id)
            .where(Vehicle.branch_id == branch)
            .order_by(Vehicle.id)
        ).all()
        insurers = [
            (i.id, i.code)
            for i in s.scalars(select(Insurer).order_by(Insurer.sort_order, Insurer.code))
        ]
        accident_orders = s.execute(
            select(WorkOrder.id, WorkOrder.vehicle_id, WorkOrder.customer_id, WorkOrder.opened_at)
            .where(WorkOrder.branch_id == branch, WorkOrder.kind == "accident")
            .order_by(WorkOrder.opened_at.desc())
            .limit(40)
        ).all()
        accident_visits = s.execute(
            select(Visit.id, Visit.vehicle_id, Visit.customer_id, Visit.visit_date)
            .where(
                Visit.branch_id == branch,
                Visit.kind == "accident",
                Visit.visit_date >= today - timedelta(days=60),
            )
            .order_by(Visit.visit_date.desc())
            .limit(40)
        ).all()
        plates = dict(s.execute(select(Vehicle.id, Vehicle.plate)).all())
    rows = policy_rows(rng, vehicles, insurers, branch, today)
    now = utcnow()
    accidents: list[dict[str, Any]] = []
    for wo_id, vid, cid, opened in accident_orders:
        accidents.append(_accident(rng, branch, opened.date(), plates.get(vid, ""), vid, cid,
                                   insurers, now, work_order_id=wo_id))  # fmt: skip
    for visit_id, vid, cid, day in accident_visits:
        accidents.append(_accident(rng, branch, day, plates.get(vid, ""), vid, cid, insurers, now,
                                   visit_id=visit_id))  # fmt: skip
    accidents = [a for a in accidents if a["plate"]]
    oil: list[dict[str, Any]] = []
    customers = [c for _v, c in vehicles]
    for back in range(60):
        day = today - timedelta(days=back)
        for _i in range(rng.choice((0, 1, 2, 2, 3, 4))):
            product, price = rng.choice(OILS)
            qty = rng.choice((1, 1, 1, 2, 2, 3))
            walk_in = not customers or rng.random() < 0.4
            oil.append({
                "id": uuid.UUID(int=rng.getrandbits(128), version=4), "branch_id": branch,
                "sold_on": day, "product": product, "quantity": qty, "amount_minor": qty * price,
                "customer_id": None if walk_in else rng.choice(customers),
                "buyer": rng.choice(BUYERS) if walk_in else "",
                "salesperson": rng.choice(SALESPEOPLE), "note": "",
                "created_at": now, "updated_at": now,
            })  # fmt: skip
    with ctx.db.uow(ctx.actor, write=True) as uow:
        conn = uow.session.connection()
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Policy.__table__), rows[i : i + 5000])
        if accidents:
            conn.execute(insert(AccidentIntake.__table__), accidents)
        if oil:
            conn.execute(insert(OilSale.__table__), oil)
        audit.record(
            uow.session,
            "demo",
            "policies",
            note=f"{len(rows)} demo policies, {len(accidents)} accident vehicles, "
            f"{len(oil)} oil sales (bulk)",
        )
        uow.commit()
    ctx.progress.step(1, 1, "insurance")


def _accident(rng, branch, day, plate, vid, cid, insurers, now, *, work_order_id=None,
              visit_id=None) -> dict[str, Any]:  # fmt: skip
    insurer_id, code = rng.choice(insurers)
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "branch_id": branch,
        "intake_date": day,
        "plate": plate,
        "vehicle_id": vid,
        "customer_id": cid,
        "insurer_id": insurer_id,
        "claim_no": f"R{code[:3]}{day:%Y%m%d}{rng.randrange(10000, 99999)}",
        "towed_in": rng.random() < 0.3,
        "surveyor": rng.choice(SURVEYORS),
        "estimate_minor": rng.randrange(8, 400) * 10000,
        "work_order_id": work_order_id,
        "visit_id": visit_id,
        "note": rng.choice(("追尾，前杠受损", "刮擦，左侧车门", "单方事故，右前大灯", "")),
        "created_at": now,
        "updated_at": now,
    }
