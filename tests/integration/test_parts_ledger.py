"""The stock ledger and its documents against a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import select

from aftersales_desk.data.models.parts import StockMovement
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.counter_sales import CounterSales, SaleLine
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.integrity import run_checks
from aftersales_desk.services.parts_catalog import PartsCatalog
from aftersales_desk.services.settings import SettingsService
from tests.parts_helpers import make_shop


@pytest.fixture
def shop(db, admin):
    return make_shop(db, admin)


def test_receive_issue_moving_average_and_void(db, admin, shop):
    docs = DocumentService(db, admin)
    p, a = shop.parts["P0001"], shop.bins["A-01"]
    r1 = docs.receive([LineInput(p, a, 10, 1000)], supplier="一汽配件")
    r2 = docs.receive([LineInput(p, a, 10, 2000)])
    assert r1 == "BJ01-A-RK000001" and r2 == "BJ01-A-RK000002"
    row = PartsCatalog(db, admin).get(p)
    assert (row.on_hand, row.avg_cost, row.value) == (20, 1500, 30000)
    slip = docs.issue([LineInput(p, a, 4)], technician="李师傅")
    assert slip == "BJ01-A-000001"
    row = PartsCatalog(db, admin).get(p)
    assert (row.on_hand, row.value) == (16, 24000)
    docs.void(slip, "开错了")
    row = PartsCatalog(db, admin).get(p)
    assert (row.on_hand, row.value) == (20, 30000)
    page = docs.page(kinds=("issue",))
    assert [(d.number, d.status, d.void_reason) for d in page.rows] == [(slip, "void", "开错了")]
    moves = docs.movements_of(slip)
    assert moves == [("P0001", "A-01", -4, -6000, False), ("P0001", "A-01", 4, 6000, True)]
    with pytest.raises(RefusedError):
        docs.void(slip, "again")
    assert docs.issue([LineInput(p, a, 1)], technician="李师傅") == "BJ01-A-000002"
    assert run_checks(db).ok, run_checks(db).problems


def test_negative_stock_refused_unless_allowed(db, admin, shop):
    docs = DocumentService(db, admin)
    p, a = shop.parts["P0002"], shop.bins["A-01"]
    docs.receive([LineInput(p, a, 2, 500)])
    with pytest.raises(RefusedError, match="Not enough stock"):
        docs.issue([LineInput(p, a, 3)], technician="王")
    # the refused posting took no number
    assert docs.issue([LineInput(p, a, 2)], technician="王") == "BJ01-A-000001"
    SettingsService(db, admin).update({"parts_allow_negative_stock": True})
    docs.issue([LineInput(p, a, 1)], technician="王")
    assert PartsCatalog(db, admin).get(p).on_hand == -1
    assert run_checks(db).ok


def test_void_refused_when_it_would_go_negative(db, admin, shop):
    docs = DocumentService(db, admin)
    p, a = shop.parts["P0001"], shop.bins["A-01"]
    rk = docs.receive([LineInput(p, a, 3, 100)])
    docs.issue([LineInput(p, a, 2)], technician="赵")
    with pytest.raises(RefusedError):
        docs.void(rk, "供应商发错")


def test_transfer_moves_between_bins(db, admin, shop):
    docs = DocumentService(db, admin)
    p, a, b = shop.parts["P0001"], shop.bins["A-01"], shop.bins["B-02"]
    docs.receive([LineInput(p, a, 5, 100)])
    docs.transfer([LineInput(p, a, 5, to_bin_id=b)])
    with pytest.raises(RefusedError):
        docs.issue([LineInput(p, a, 1)], technician="x")
    docs.issue([LineInput(p, b, 5)], technician="x")
    assert run_checks(db).ok


def test_movements_are_append_only_in_the_database(db, admin, shop, db_path):
    DocumentService(db, admin).receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 1, 1)])
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE stock_movements SET qty = 100")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM stock_movements")
    finally:
        conn.close()


def test_check_finds_a_tampered_cache(db, admin, shop, db_path):
    DocumentService(db, admin).receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 3, 1)])
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE stock_balances SET qty = 7")
    conn.execute("UPDATE number_series SET last_seq = 5")
    conn.commit()
    conn.close()
    problems = run_checks(db).problems
    assert any("cache 7, ledger 3" in p for p in problems)
    assert any("not gapless" in p for p in problems)


def test_reprints_are_counted_and_marked_copy(db, admin, shop):
    docs = DocumentService(db, admin)
    docs.receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 3, 1)])
    slip = docs.issue([LineInput(shop.parts["P0001"], shop.bins["A-01"], 1)], technician="t")
    first, second = docs.for_print(slip), docs.for_print(slip)
    assert (first.copy, second.copy) == (False, True)
    assert docs.page(kinds=("issue",)).rows[0].print_count == 2


def test_issue_needs_a_recipient_and_permission(db, admin, shop, make_actor):
    docs = DocumentService(db, admin)
    with pytest.raises(ValidationError):
        docs.issue([LineInput(shop.parts["P0001"], shop.bins["A-01"], 1)])
    clerk = make_actor(Role.CLERK)
    with pytest.raises(PermissionDenied):
        DocumentService(db, clerk).receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 1)])


def test_counter_sale_return_and_cash_up(db, admin, shop, make_actor):
    docs = DocumentService(db, admin)
    p, a = shop.parts["P0001"], shop.bins["A-01"]
    docs.receive([LineInput(p, a, 10, 1000)])
    keeper = make_actor(Role.WAREHOUSE)
    sales = CounterSales(db, keeper)
    ls = sales.sell(
        [SaleLine(p, a, 2, discount=300)],
        payment_method="wechat",
        customer_name="张先生",
        customer_phone="13800138000",
    )
    assert ls == "BJ01-A-LS000001"
    with pytest.raises(RefusedError, match="approval"):
        sales.sell([SaleLine(p, a, 1, discount=1000)], payment_method="cash")
    assert sales.sell([SaleLine(p, a, 1)], payment_method="cash") == "BJ01-A-LS000002"
    th = sales.return_sale(ls, {1: 1}, reason="装不上")
    assert th == "BJ01-A-TH000001"
    with pytest.raises(ValidationError):
        sales.return_sale(ls, {1: 2}, reason="再退")
    assert PartsCatalog(db, admin).get(p).on_hand == 8
    rows = {r.method: r for r in CounterSales(db, admin).cash_up(date.today())}
    assert (rows["wechat"].takings, rows["wechat"].refunds, rows["wechat"].net) == (
        2700,
        1350,
        1350,
    )
    assert rows["cash"].net == 1500 and rows["alipay"].net == 0
    with pytest.raises(PermissionDenied):
        sales.cash_up(date.today())
    assert run_checks(db).ok


def test_scan_finds_part_by_barcode_or_number(db, admin, shop):
    cat = PartsCatalog(db, admin)
    assert cat.find_by_code("6900000000002").part_no == "P0002"
    assert cat.find_by_code("p0003").part_no == "P0003"
    assert cat.find_by_code("nothing") is None


def test_movements_are_written_with_seq_and_user(db, admin, shop):
    DocumentService(db, admin).receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 1, 1)])
    with db.uow(admin) as uow:
        mv = uow.session.scalars(select(StockMovement)).one()
        assert (mv.seq, mv.username, mv.kind) == (1, "admin", "receipt")


def test_parts_settings_are_checked_and_saved(db, admin, make_actor):
    from aftersales_desk.services.parts_settings import parts_settings, save_parts_settings

    save_parts_settings(db, admin, {"parts_slow_moving_days": 90, "parts_allow_negative_stock": 1})
    values = parts_settings(db, admin)
    assert values["parts_slow_moving_days"] == 90 and values["parts_allow_negative_stock"] is True
    with pytest.raises(ValidationError):
        save_parts_settings(db, admin, {"parts_discount_limit_percent": 101})
    with pytest.raises(PermissionDenied):
        save_parts_settings(db, make_actor(Role.WAREHOUSE), {"tool_loan_days": 3})
