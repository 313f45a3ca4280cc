"""Demo data of the archive: realistic Chinese customers with vehicles, visits, ticked documents
and open work orders, deterministic by seed (ids too), honouring ``--customers N``.

Rows go in by bulk inserts in batches (200k customers, 300k vehicles and 1M visits take a few
minutes), not one ORM object per row. The search index is written in the same transactions.
Bulk demo rows skip the per-row audit; one audit entry records the fill.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from aftersales_desk.data import audit
from aftersales_desk.data.models.archive import (
    Customer,
    CustomerDocument,
    SearchEntry,
    SearchKey,
    Vehicle,
    Visit,
    WorkOrder,
)
from aftersales_desk.domain.archive import vin_check_digit
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.services.archive_search import index_texts
from aftersales_desk.services.demo import DemoContext, register
from aftersales_desk.services.numbering import next_number
from aftersales_desk.services.settings import DEFAULTS

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红建国建华志强海燕小红欣怡子涵浩宇"
    "梓萱俊杰宇轩雨桐晨曦佳怡文博思远嘉怡一鸣天宇诗涵雅婷鹏飞子轩"
)
COMPANIES = ("物流有限公司", "建筑工程有限公司", "商贸有限公司", "出租汽车公司", "科技有限公司")
CITIES = (
    ("北京市朝阳区", "朝阳"),
    ("北京市海淀区", "海淀"),
    ("北京市丰台区", "丰台"),
    ("北京市通州区", "通州"),
    ("北京市顺义区", "顺义"),
    ("北京市大兴区", "大兴"),
    ("河北省廊坊市", "廊坊"),
)
STREETS = ("建国路", "望京西路", "中关村大街", "科丰路", "新华大街", "光华路", "京顺路", "金源路")
MODELS = (
    ("别克", "英朗", "LSG"),
    ("别克", "君威", "LSG"),
    ("别克", "昂科威", "LSG"),
    ("大众", "朗逸", "LSV"),
    ("大众", "迈腾", "LFV"),
    ("丰田", "卡罗拉", "LFM"),
    ("本田", "雅阁", "LHG"),
    ("比亚迪", "秦PLUS", "LGX"),
    ("日产", "轩逸", "LGB"),
)
COLOURS = ("白色", "黑色", "银色", "灰色", "红色", "蓝色", "棕色")
ADVISORS = ("刘洋", "张丽", "赵磊", "孙静")
TECHS = ("李师傅", "王师傅", "陈师傅", "周师傅")
PROVIDERS = ("顺义特约服务站", "廊坊宏达维修中心")
ITEMS = {
    "maintenance": ("更换机油、机滤", "常规保养", "更换空气滤芯、空调滤芯"),
    "repair": ("更换刹车片", "发动机异响检修", "空调不制冷维修", "更换蓄电池"),
    "warranty": ("三包更换水泵", "保修更换车窗升降器"),
    "accident": ("前保险杠钣金喷漆", "左前门钣金喷漆"),
    "campaign": ("免费检测活动", "冬季关爱检测"),
    "first_service": ("首次保养",),
}
DECLINED = ("建议更换轮胎", "建议清洗节气门", "建议更换雨刮片", "")
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
BATCH = 5000


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _vin(rng: random.Random, wmi: str, year: int) -> str:
    body = wmi + "".join(rng.choice(LETTERS + "0123456789") for _ in range(5))
    year_code = "ABCDEFGHJKLMNPRSTVWXY123456789"[(year - 2010) % 30]
    serial = year_code + rng.choice(LETTERS) + f"{rng.randrange(10**6):06d}"
    vin = body + "0" + serial
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def _plate(rng: random.Random) -> str:
    if rng.random() < 0.12:  # new-energy plate, 8 characters
        return "京A" + rng.choice("DF") + rng.choice(PLATE_LETTERS) + f"{rng.randrange(10**4):04d}"
    letter = rng.choice("ABCEFGHJKLMNPQ")
    tail = rng.choice(PLATE_LETTERS + "0123456789") + "".join(
        rng.choice("0123456789" * 4 + PLATE_LETTERS[:6]) for _ in range(4)
    )
    return ("京" if rng.random() < 0.85 else "冀") + letter + tail


def _phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "18", "17", "19")) + f"{rng.randrange(10**9):09d}"


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) if rng.random() < 0.4 else rng.choice(GIVEN) + rng.choice(GIVEN)
    return rng.choice(SURNAMES) + given


@register
def fill_archive(ctx: DemoContext) -> None:
    rng = random.Random(ctx.rng.random())
    branch = ctx.actor.branch_id
    today = utcnow().date()
    now = utcnow()
    total = max(0, ctx.customers)
    with ctx.db.uow(ctx.actor) as uow:
        existing = uow.session.scalar(select(func.count()).select_from(Customer)) or 0
    made = 0
    customer_no = existing
    while made < total:
        n = min(BATCH, total - made)
        customers: list[dict[str, Any]] = []
        vehicles: list[dict[str, Any]] = []
        visits: list[dict[str, Any]] = []
        docs: list[dict[str, Any]] = []
        search: list[dict[str, Any]] = []
        keys: list[dict[str, Any]] = []
        for _ in range(n):
            customer_no += 1
            cid = _uuid(rng)
            company = rng.random() < 0.06
            city, region = rng.choice(CITIES)
            name = (
                region + rng.choice(SURNAMES) + "氏" + rng.choice(COMPANIES)
                if company
                else _name(rng)
            )
            phone = _phone(rng)
            phone2 = _phone(rng) if rng.random() < 0.1 else ""
            created = now - timedelta(days=rng.randrange(30, 2500))
            customers.append(
                {
                    "id": cid,
                    "branch_id": branch,
                    "customer_no": f"C{customer_no:07d}",
                    "name": name,
                    "kind": "company" if company else "person",
                    "phone": phone,
                    "phone2": phone2,
                    "address": f"{city}{rng.choice(STREETS)}{rng.randrange(1, 300)}号",
                    "region": region,
                    "id_number": "",
                    "club_member": rng.random() < 0.2,
                    "vip": rng.random() < 0.05,
                    "consent_call": rng.random() < 0.9,
                    "notes": "",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            own: list[tuple[str, str, str]] = []
            for _v in range(1 if rng.random() < 0.5 else 2):
                vid = _uuid(rng)
                brand, model, wmi = rng.choice(MODELS)
                bought = today - timedelta(days=rng.randrange(60, 3000))
                vin = _vin(rng, wmi, bought.year)
                plate = _plate(rng)
                engine = "".join(rng.choice(LETTERS + "0123456789") for _ in range(9))
                own.append((plate, vin, engine))
                mileage = 0
                visit_day = bought + timedelta(days=rng.randrange(20, 90))
                km_per_day = rng.uniform(20, 80)
                # about 3.3 visits per vehicle; some stop coming (lost customers)
                stop = rng.random() < 0.2
                n_visits = rng.choice((2, 3, 4, 4, 5, 5, 6, 6))
                for k in range(n_visits):
                    if visit_day >= today or (stop and k >= 1 and rng.random() < 0.5):
                        break
                    mileage = int((visit_day - bought).days * km_per_day)
                    kind = (
                        "first_service"
                        if k == 0
                        else rng.choice(
                            (
                                "maintenance",
                                "maintenance",
                                "maintenance",
                                "repair",
                                "repair",
                                "warranty",
                                "accident",
                                "campaign",
                            )
                        )
                    )
                    labour = rng.randrange(0, 80) * 1000 if kind != "campaign" else 0
                    parts = rng.randrange(0, 150) * 1000 if kind != "campaign" else 0
                    next_date = visit_day + timedelta(days=180)
                    visits.append(
                        {
                            "id": _uuid(rng),
                            "branch_id": branch,
                            "customer_id": cid,
                            "vehicle_id": vid,
                            "work_order_id": None,
                            "visit_date": visit_day,
                            "mileage_km": mileage,
                            "kind": kind,
                            "free_campaign": kind == "campaign",
                            "items": rng.choice(ITEMS[kind]),
                            "parts": "机油 4L、机油滤芯" if kind == "maintenance" else "",
                            "labour_minor": labour,
                            "parts_minor": parts,
                            "amount_minor": labour + parts,
                            "advisor": rng.choice(ADVISORS),
                            "next_due_date": next_date if kind != "campaign" else None,
                            "next_due_km": mileage + 5000 if kind != "campaign" else None,
                            "declined_advice": rng.choice(DECLINED),
                            "created_at": datetime.combine(visit_day, time(10)),
                            "updated_at": datetime.combine(visit_day, time(10)),
                        }
                    )
                    visit_day += timedelta(days=rng.randrange(90, 300))
                vehicles.append(
                    {
                        "id": vid,
                        "branch_id": branch,
                        "customer_id": cid,
                        "vin": vin,
                        "engine_no": engine,
                        "plate": plate,
                        "brand": brand,
                        "model": model,
                        "colour": rng.choice(COLOURS),
                        "purchase_date": bought,
                        "sale_date": bought,
                        "mileage_km": mileage,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            required = DEFAULTS["archive_documents"]
            for doc in rng.sample(required, rng.randrange(len(required) - 3, len(required) + 1)):
                docs.append(
                    {
                        "id": _uuid(rng),
                        "branch_id": branch,
                        "customer_id": cid,
                        "name": doc,
                        "received": True,
                        "received_on": created.date(),
                        "attachment_id": None,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            body, plates, kk = index_texts(f"C{customer_no:07d}", name, (phone, phone2), own)
            search.append({"customer_id": cid, "body": body, "plates": plates})
            keys += [{"customer_id": cid, "key": k} for k in kk]
        with ctx.db.uow(ctx.actor, write=True) as uow:
            conn = uow.session.connection()
            for model, rows in (
                (Customer, customers),
                (Vehicle, vehicles),
                (Visit, visits),
                (CustomerDocument, docs),
                (SearchEntry, search),
                (SearchKey, keys),
            ):
                if rows:
                    conn.execute(insert(model.__table__), rows)
            uow.commit()
        made += n
        ctx.progress.step(made, total, "archive")
    _open_work_orders(ctx, rng, min(40, max(0, total // 20)))
    with ctx.db.uow(ctx.actor, write=True) as uow:
        audit.record(uow.session, "demo", "customers", note=f"{total} demo customers (bulk)")
        uow.commit()


def _open_work_orders(ctx: DemoContext, rng: random.Random, count: int) -> None:
    if count <= 0:
        return
    now = utcnow()
    with ctx.db.uow(ctx.actor, write=True) as uow:
        s = uow.session
        picks = s.execute(
            select(Vehicle.id, Vehicle.customer_id, Vehicle.mileage_km)
            .order_by(Vehicle.id)
            .limit(count)
        ).all()
        for i, (vid, cid, km) in enumerate(picks):
            status = ("opened", "dispatched", "dispatched", "waiting_parts")[i % 4]
            opened = now - timedelta(hours=rng.randrange(1, 120))
            kind = rng.choice(("repair", "maintenance", "warranty", "accident"))
            provider = rng.random() < 0.2
            s.add(
                WorkOrder(
                    branch_id=ctx.actor.branch_id,
                    number=next_number(s, ctx.actor, "work_order").text,
                    customer_id=cid,
                    vehicle_id=vid,
                    kind=kind,
                    fault=rng.choice(ITEMS[kind]),
                    advisor=rng.choice(ADVISORS),
                    assignee=""
                    if status == "opened"
                    else rng.choice(PROVIDERS if provider else TECHS),
                    assignee_is_provider=provider and status != "opened",
                    mileage_km=km + rng.randrange(500, 5000),
                    status=status,
                    opened_at=opened,
                    dispatched_at=None if status == "opened" else opened + timedelta(minutes=20),
                )
            )
        uow.commit()
