"""``demo`` filler of the parts counter: bins, service providers, a catalogue of car parts and
engine oils, receipts, issue slips (one voided), counter sales with a return, old parts on a
return-to-factory list, tools (one overdue); and, on the archive's open work orders, parts
issued to them and work orders waiting for back-ordered parts 待件工单 (one part arrived, one
wait fulfilled). Deterministic for a seed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.data.models.parts import Part, PartWait
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.services import demo
from aftersales_desk.services.counter_sales import CounterSales, SaleLine
from aftersales_desk.services.documents import DocumentService, LineInput, post_document
from aftersales_desk.services.old_parts import OldParts
from aftersales_desk.services.part_waits import PartWaits
from aftersales_desk.services.parts_catalog import PartInput, PartsCatalog
from aftersales_desk.services.tools import ToolRegister

BINS = [(f"{row}-{n:02d}", f"{row}区{n}号货架") for row in "ABCD" for n in range(1, 6)]
PROVIDERS = [
    ("FW001", "朝阳快修服务站", "010-8456 2210"),
    ("FW002", "通州汽修服务商", "010-6952 7781"),
    ("FW003", "顺义钣喷中心", "010-8947 3302"),
]
TECHNICIANS = ["李师傅", "王建军", "赵磊", "孙志强", "周海涛", "吴凯"]
MODELS = ["迈腾", "速腾", "宝来", "高尔夫", "探岳", "CC", "捷达", "全车型"]
# (name, category, unit, purchase price in yuan, markup)
KINDS = [
    ("机油滤清器", "滤清器", "个", 28, 1.6),
    ("空气滤清器", "滤清器", "个", 45, 1.6),
    ("空调滤清器", "滤清器", "个", 38, 1.7),
    ("燃油滤清器", "滤清器", "个", 65, 1.5),
    ("前刹车片", "制动", "套", 260, 1.5),
    ("后刹车片", "制动", "套", 220, 1.5),
    ("刹车盘", "制动", "个", 380, 1.4),
    ("火花塞", "点火", "个", 42, 1.6),
    ("点火线圈", "点火", "个", 310, 1.4),
    ("雨刮片", "附件", "对", 55, 1.8),
    ("蓄电池", "电气", "个", 520, 1.3),
    ("大灯灯泡", "电气", "个", 35, 1.8),
    ("正时皮带", "发动机", "条", 290, 1.5),
    ("水泵", "发动机", "个", 460, 1.4),
    ("节温器", "发动机", "个", 180, 1.5),
    ("前减震器", "底盘", "个", 640, 1.4),
    ("球头", "底盘", "个", 150, 1.5),
    ("全合成机油 5W-40 4L", "油品", "桶", 230, 1.5),
    ("半合成机油 10W-40 4L", "油品", "桶", 150, 1.5),
    ("防冻液 2L", "油品", "瓶", 48, 1.6),
]
TOOLS = [
    ("GJ-001", "扭力扳手 40-200N·m", "良好"),
    ("GJ-002", "汽车诊断仪 VAS6150", "良好"),
    ("GJ-003", "空调冷媒回收机", "良好"),
    ("GJ-004", "举升机遥控器", "外壳有裂纹"),
    ("GJ-005", "正时专用工具套装", "良好"),
    ("GJ-006", "电瓶检测仪", "良好"),
]


@demo.register
def fill_parts(ctx: demo.DemoContext) -> None:
    rng = ctx.rng
    keeper = ctx.users.get("wangqiang", ctx.actor)
    manager = ctx.users.get("lijianguo", ctx.actor)
    with ctx.db.uow(ctx.actor) as uow:
        if uow.session.scalar(select(func.count()).select_from(Part)):
            return  # the catalogue is there: demo was run on this file before
    cat = PartsCatalog(ctx.db, ctx.actor)
    bins = {code: cat.save_bin(code, name) for code, name in BINS}
    providers = [cat.save_provider(code, name, phone) for code, name, phone in PROVIDERS]
    parts: list[tuple] = []
    n = 0
    for name, category, unit, cost, markup in KINDS:
        for model in rng.sample(MODELS, 3 if category != "油品" else 1):
            n += 1
            bin_code = BINS[(n * 7) % len(BINS)][0]
            purchase = cost * 100 + rng.randrange(0, 5) * 100
            part_no = (
                f"{rng.choice(['1K0', '3C0', '5Q0', '06J', 'L5G'])}{rng.randrange(100, 999)}{n:03d}"
            )
            pid = cat.save(
                PartInput(
                    part_no=part_no,
                    name=name,
                    model_fit=model if category != "油品" else "全车型",
                    unit=unit,
                    purchase_price=purchase,
                    sale_price=round(purchase * markup / 100) * 100,
                    default_bin=bin_code,
                    min_qty=rng.choice([2, 4, 5, 10]),
                    max_qty=rng.choice([20, 30, 40]),
                    category=category,
                    barcode=f"69{rng.randrange(10**10, 10**11)}",
                )
            )
            parts.append((pid, bins[bin_code], purchase, name))
    now = utcnow()
    start = now - timedelta(days=200)
    # receipts over the last 200 days, then issues, sales and returns between them
    with ctx.db.uow(keeper, write=True) as uow:
        s = uow.session
        # opening stock of every part, so the issues below never run a bin dry whatever the seed
        post_document(
            s,
            keeper,
            "receipt",
            [LineInput(p, b, rng.randrange(30, 60), c) for p, b, c, _n in parts],
            at=start - timedelta(days=1),
            supplier="期初库存",
        )
        for k in range(12):
            at = start + timedelta(days=k * 16, hours=rng.randrange(1, 8))
            chosen = rng.sample(parts, min(len(parts), rng.randrange(8, 20)))
            post_document(
                s,
                keeper,
                "receipt",
                [LineInput(p, b, rng.randrange(5, 25), c) for p, b, c, _n in chosen],
                at=at,
                supplier=rng.choice(["一汽-大众配件中心", "上汽大众配件库", "壳牌润滑油华北经销"]),
            )
        uow.commit()
    slips: list[str] = []
    docs = DocumentService(ctx.db, keeper)
    with ctx.db.uow(keeper, write=True) as uow:
        s = uow.session
        for k in range(40):
            at = start + timedelta(days=10 + k * 4.5, hours=rng.randrange(1, 9))
            chosen = rng.sample(parts[: len(parts) * 2 // 3], rng.randrange(1, 5))
            header = (
                {"technician": rng.choice(TECHNICIANS)}
                if rng.random() < 0.8
                else {"provider_id": rng.choice(providers)}
            )
            doc = post_document(
                s,
                keeper,
                "issue",
                [LineInput(p, b, rng.randrange(1, 3)) for p, b, _c, _n in chosen],
                at=at,
                **header,
            )
            slips.append(doc.number)
        uow.commit()
    docs.void(slips[-1], "领料人填错，重新开单")
    sales = CounterSales(ctx.db, keeper)
    receipt_numbers = []
    for _k in range(8):
        p, b, _c, _n = parts[rng.randrange(len(parts))]
        receipt_numbers.append(
            sales.sell(
                [SaleLine(p, b, 1, discount=rng.choice([0, 0, 500]))],
                payment_method=rng.choice(["cash", "wechat", "alipay", "card"]),
                customer_name=rng.choice(["张先生", "刘女士", "陈先生", ""]),
                customer_phone=rng.choice(["13811112222", "13966667777", ""]),
            )
        )
    sales.return_sale(receipt_numbers[0], {1: 1}, reason="型号不符")
    olds = OldParts(ctx.db, keeper)
    old_ids = []
    for number in slips[:6]:
        view = docs.view(number)
        line = view.lines[0]
        with ctx.db.uow(keeper) as uow:
            pid = uow.session.scalar(select(Part.id).where(Part.part_no == line.part_no))
        old_ids.append(
            olds.receive(pid, 1, returned_by=view.technician or view.provider, slip_number=number)
        )
    for oid in old_ids[:4]:
        olds.record_test(oid, rng.choice(["faulty", "faulty", "no_fault"]))
    batch = olds.make_batch(old_ids[:3], factory="一汽-大众索赔旧件库")
    olds.set_batch_status(batch, "sent")
    tools = ToolRegister(ctx.db, manager)
    for code, name, condition in TOOLS:
        tools.add(code, name, condition)
    tools.lend("GJ-001", "李师傅", days=3)
    tools.lend("GJ-002", "王建军", days=1, lent_at=now - timedelta(days=4))
    tools.lend("GJ-005", "赵磊")
    _work_orders(ctx, keeper, parts)


# parts that are not kept in stock and are ordered from the factory when a repair needs them
BACK_ORDERED = [
    ("5Q0941005", "左前大灯总成", "电气", "个", 2680),
    ("0AM927769", "双离合变速箱电脑板", "发动机", "个", 5420),
    ("3Q0614517", "ABS泵总成", "制动", "个", 3860),
    ("5G0853651", "前保险杠格栅", "车身", "个", 620),
]


def _work_orders(ctx: demo.DemoContext, keeper, parts: list[tuple]) -> None:
    """Parts issued to the archive's open work orders, old parts back from one of them, and
    orders waiting for back-ordered parts: one part arrived, one wait already fulfilled."""
    rng = ctx.rng
    with ctx.db.uow(keeper) as uow:
        orders = list(
            uow.session.execute(
                select(WorkOrder.id, WorkOrder.number, WorkOrder.status)
                .where(WorkOrder.status.in_(("dispatched", "waiting_parts")))
                .order_by(WorkOrder.number)
            )
        )
    if not orders:
        return  # the archive made no open work orders (demo without customers)
    docs = DocumentService(ctx.db, keeper)
    waits = PartWaits(ctx.db, keeper)
    cat = PartsCatalog(ctx.db, ctx.actor)
    dispatched = [o for o in orders if o.status == "dispatched"]
    first_slip = ""
    for o in dispatched[:4]:
        chosen = rng.sample(parts[: len(parts) * 2 // 3], rng.randrange(1, 3))
        number = docs.issue([LineInput(p, b, 1) for p, b, _c, _n in chosen], work_order_no=o.number)
        first_slip = first_slip or number
    if first_slip:
        view = docs.view(first_slip)
        with ctx.db.uow(keeper) as uow:
            pid = uow.session.scalar(select(Part.id).where(Part.part_no == view.lines[0].part_no))
        OldParts(ctx.db, keeper).receive(
            pid, 1, returned_by=view.technician, work_order_no=dispatched[0].number
        )
    bin_id = parts[0][1]
    back = []
    for part_no, name, category, unit, cost in BACK_ORDERED:
        back.append(
            cat.save(
                PartInput(
                    part_no=part_no,
                    name=name,
                    model_fit=rng.choice(MODELS[:6]),
                    unit=unit,
                    purchase_price=cost * 100,
                    sale_price=round(cost * 1.35) * 100,
                    default_bin=BINS[0][0],
                    category=category,
                    barcode=f"69{rng.randrange(10**10, 10**11)}",
                )
            )
        )
    now = utcnow()
    waiting = [o for o in orders if o.status == "waiting_parts"] + dispatched[4:]
    made = []
    for k, o in enumerate(waiting[: len(BACK_ORDERED) + 2]):
        pid = back[k % len(back)]
        made.append((waits.register(o.number, pid, 1, note="已向厂家订货"), o.number, pid, k))
    # back-date when the waits began (the demo tells a story of the last two weeks)
    with ctx.db.uow(keeper, write=True) as uow:
        for wait_id, _n, _p, k in made:
            w = uow.session.get(PartWait, wait_id)
            w.since = now - timedelta(days=12 - 2 * k, hours=rng.randrange(0, 8))
        uow.commit()
    if not made:
        return
    # the factory delivers the part of the two longest waits: both are flagged as arrived …
    arrived = [(pid, number) for _w, number, pid, _k in made[:2]]
    docs.receive([LineInput(pid, bin_id, 1) for pid, _n in arrived], supplier="一汽-大众配件中心")
    # … and the first of them has been issued to its work order already
    pid, number = arrived[0]
    docs.issue([LineInput(pid, bin_id, 1)], work_order_no=number)
