"""Parts against the shared work order: issue slips and returns naming a work order, its parts
with cost, old parts received against its issue line; work orders waiting for parts 待件工单:
wait → receipt flags it → issuing fulfils it → the order goes back to dispatched."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import aftersales_desk.services.modules  # noqa: F401  (ls kinds)
from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, UsageError, ValidationError
from aftersales_desk.services.archive_work_orders import WorkOrderService, mark_waiting_for_parts
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.integrity import run_checks
from aftersales_desk.services.listing import LISTINGS
from aftersales_desk.services.old_parts import OldParts
from aftersales_desk.services.part_waits import PartWaits
from tests.parts_helpers import make_shop, make_work_order


def status_of(db, admin, wo_id) -> str:
    return WorkOrderService(db, admin).get(wo_id).status


def test_wait_receipt_flags_issue_fulfils_and_order_goes_back(db, admin):
    shop = make_shop(db, admin)
    p, a = shop.parts["P0001"], shop.bins["A-01"]
    wo = make_work_order(db, admin)
    other = make_work_order(db, admin, name="李四", dispatch="王建军")
    waits = PartWaits(db, admin)
    w1 = waits.register(wo.number, p, 2, note="前刹车片缺货")
    w2 = waits.register(other.number.lower(), p, 3)  # numbers are matched whatever the case
    assert status_of(db, admin, wo.id) == "waiting_parts"
    assert status_of(db, admin, other.id) == "waiting_parts"
    rows = waits.page().rows
    assert [(r.id, r.status, r.arrived, r.days_waiting) for r in rows] == [
        (w1, "waiting", False, 0),
        (w2, "waiting", False, 0),
    ]
    assert rows[0].work_order_no == wo.number and rows[0].requested_by == "admin"
    assert waits.arrived() == (0, [])

    docs = DocumentService(db, admin)
    # 4 pieces arrive: they cover the older wait (2) whole but not the newer one (3)
    receipt = docs.receive([LineInput(p, a, 4, 1000)], supplier="一汽-大众配件中心")
    by_id = {r.id: r for r in waits.page().rows}
    assert by_id[w1].arrived and by_id[w1].arrival_document == receipt
    assert by_id[w1].arrived_at is not None
    assert not by_id[w2].arrived
    n, arrived = waits.arrived()
    assert n == 1 and arrived[0].id == w1

    # issuing one piece to the order is not enough; the second fulfils the wait
    docs.issue([LineInput(p, a, 1)], work_order_no=wo.number)
    assert {r.id: r.issued_qty for r in waits.page().rows}[w1] == 1
    assert status_of(db, admin, wo.id) == "waiting_parts"
    slip = docs.issue([LineInput(p, a, 1)], work_order_no=wo.number)
    assert [r.id for r in waits.page().rows] == [w2]
    assert status_of(db, admin, wo.id) == "dispatched"
    assert status_of(db, admin, other.id) == "waiting_parts"
    (done,) = [r for r in waits.page(open_only=False).rows if r.id == w1]
    assert (done.status, done.issued_qty) == ("fulfilled", 2)

    # voiding the slip that fulfilled it puts the order back to waiting, the part arrived
    docs.void(slip, "开错工单")
    (back,) = [r for r in waits.page().rows if r.id == w1]
    assert (back.status, back.issued_qty) == ("arrived", 1)
    assert status_of(db, admin, wo.id) == "waiting_parts"

    # a second receipt of 3 flags the other order's wait; voiding that receipt takes it back
    second = docs.receive([LineInput(p, a, 3, 1000)])
    assert {r.id: r.arrived for r in waits.page().rows}[w2]
    docs.void(second, "供应商送错货")
    assert not {r.id: r.arrived for r in waits.page().rows}[w2]

    # cancelling the last wait of the other order sends it back to dispatched
    waits.cancel(w2, "客户改用副厂件")
    assert status_of(db, admin, other.id) == "dispatched"
    with pytest.raises(RefusedError):
        waits.cancel(w2, "again")
    assert run_checks(db).ok, run_checks(db).problems


def test_wait_rules(db, admin):
    shop = make_shop(db, admin)
    p, a = shop.parts["P0001"], shop.bins["A-01"]
    waits = PartWaits(db, admin)
    fresh = make_work_order(db, admin, dispatch="")
    with pytest.raises(RefusedError, match="Dispatch work order"):
        waits.register(fresh.number, p, 1)
    with pytest.raises(ValidationError, match="No work order numbered"):
        waits.register("WO9999999", p, 1)
    wo = make_work_order(db, admin, name="王五")
    with pytest.raises(ValidationError):
        waits.register(wo.number, p, 0)
    DocumentService(db, admin).receive([LineInput(p, a, 2, 1000)])
    with pytest.raises(RefusedError, match="in stock"):
        waits.register(wo.number, p, 2)  # issue it instead
    waits.register(wo.number, p, 3)  # more than there is: it waits
    with pytest.raises(RefusedError, match="already waits"):
        waits.register(wo.number, p, 1)
    WorkOrderService(db, admin).cancel(wo.id, "客户取消维修")
    # a cancelled order's wait is no longer open, and a receipt does not flag it
    assert waits.page().rows == []
    DocumentService(db, admin).receive([LineInput(p, a, 5, 1000)])
    assert waits.arrived() == (0, [])


def test_issue_to_work_order_parts_with_cost_returns_and_old_parts(db, admin):
    shop = make_shop(db, admin)
    p1, p2, a = shop.parts["P0001"], shop.parts["P0002"], shop.bins["A-01"]
    docs = DocumentService(db, admin)
    docs.receive([LineInput(p1, a, 10, 1000), LineInput(p2, a, 10, 2000)])
    wo = make_work_order(db, admin)
    # the order's technician takes the parts when nobody else is named
    slip = docs.issue([LineInput(p1, a, 2), LineInput(p2, a, 1)], work_order_no=wo.number)
    view = docs.view(slip)
    assert (view.technician, view.work_order) == ("李师傅", wo.number)  # printed on the slip
    parts = PartWaits(db, admin).work_order_parts(wo.id)
    assert [(x.part_no, x.qty, x.cost, x.amount) for x in parts.lines] == [
        ("P0001", 2, 2000, 3000),
        ("P0002", 1, 2000, 3000),
    ]
    assert (parts.cost, parts.amount) == (4000, 6000)

    listed = list(LISTINGS["work-order-parts"](db, admin, {"work_order": wo.number.lower()}))
    assert [(r["document"], r["part_no"], r["qty"], r["cost"]) for r in listed] == [
        (slip, "P0001", 2, 2000),
        (slip, "P0002", 1, 2000),
    ]
    with pytest.raises(UsageError):
        list(LISTINGS["work-order-parts"](db, admin, {}))

    # a return from the order reduces it; no more can come back than went out
    with pytest.raises(ValidationError, match="cannot come back"):
        docs.return_to_stock([LineInput(p2, a, 2)], work_order_no=wo.number)
    ret = docs.return_to_stock([LineInput(p1, a, 1)], work_order_no=wo.number)
    parts = PartWaits(db, admin).work_order_parts(wo.id)
    assert parts.lines[-1].document == ret and parts.lines[-1].qty == -1
    assert (parts.cost, parts.amount) == (3000, 4500)
    # the issue slip cannot be voided while the return against it stands
    with pytest.raises(RefusedError, match="void those returns first"):
        docs.void(slip, "x")

    # old parts are received against the order's issue line
    olds = OldParts(db, admin)
    olds.receive(p1, 1, returned_by="李师傅", work_order_no=wo.number)
    with pytest.raises(ValidationError, match="Only 2 were issued"):
        olds.receive(p1, 2, returned_by="李师傅", work_order_no=wo.number)
    with pytest.raises(ValidationError, match="issued no"):
        olds.receive(shop.parts["P0003"], 1, returned_by="李师傅", work_order_no=wo.number)
    (row,) = olds.page().rows
    assert (row.slip, row.work_order) == (slip, wo.number)
    listed = list(LISTINGS["old-parts"](db, admin, {}))
    assert listed[0]["work_order"] == wo.number

    # parts go only to open orders; only issues and returns name one
    WorkOrderService(db, admin).cancel(wo.id, "客户取消")
    with pytest.raises(RefusedError, match="open orders"):
        docs.issue([LineInput(p1, a, 1)], work_order_no=wo.number)
    with pytest.raises(ValidationError, match="Only issue slips"):
        docs.scrap([LineInput(p1, a, 1, work_order_id=wo.id)], note="损坏")
    # but what is left of it can still come back to stock
    docs.return_to_stock([LineInput(p2, a, 1)], work_order_no=wo.number)
    assert PartWaits(db, admin).work_order_parts(wo.id).cost == 1000
    assert run_checks(db).ok, run_checks(db).problems


def test_roles(db, admin, make_actor):
    shop = make_shop(db, admin)
    p = shop.parts["P0001"]
    wo = make_work_order(db, admin)
    clerk = make_actor(Role.CLERK)
    keeper = make_actor(Role.WAREHOUSE)
    with pytest.raises(PermissionDenied):
        PartWaits(db, clerk).register(wo.number, p, 1)
    wait = PartWaits(db, keeper).register(wo.number, p, 1)
    with pytest.raises(PermissionDenied):
        PartWaits(db, clerk).cancel(wait, "不需要了")
    with pytest.raises(PermissionDenied):
        DocumentService(db, clerk).issue(
            [LineInput(p, shop.bins["A-01"], 1)], work_order_no=wo.number
        )
    # everyone sees the list
    assert [r.id for r in PartWaits(db, clerk).page().rows] == [wait]
    PartWaits(db, keeper).cancel(wait, "不需要了")


def test_mark_waiting_for_parts_refuses_wrong_status(db, admin):
    wo = make_work_order(db, admin, dispatch="")
    with db.uow(admin, write=True) as uow:
        row = uow.session.scalars(select(WorkOrder).where(WorkOrder.id == wo.id)).one()
        with pytest.raises(RefusedError):
            mark_waiting_for_parts(uow.session, row, True)


def test_ls_part_waits(db, admin):
    shop = make_shop(db, admin)
    wo = make_work_order(db, admin)
    PartWaits(db, admin).register(wo.number, shop.parts["P0002"], 2)
    (row,) = LISTINGS["part-waits"](db, admin, {})
    assert row["work_order"] == wo.number and row["part_no"] == "P0002"
    assert row["qty"] == 2 and row["status"] == "waiting" and row["arrived"] is False
    assert row["since"].endswith("+00:00")


def test_check_finds_a_wait_out_of_step(db, admin):
    from aftersales_desk.data.models.parts import PartWait

    shop = make_shop(db, admin)
    wo = make_work_order(db, admin)
    wait_id = PartWaits(db, admin).register(wo.number, shop.parts["P0001"], 2)
    assert run_checks(db).ok
    with db.uow(admin, write=True) as uow:
        uow.session.get(PartWait, wait_id).status = "fulfilled"  # but nothing was issued
        uow.commit()
    result = run_checks(db)
    assert not result.ok and any(wo.number in p for p in result.problems)
