"""Insurance log service: policy rules (duplicates, overlaps, end before start), the renewal
pipeline's buckets and the renewal rate against hand-computed values, renewals, daily figures,
accident intakes linked to a work order, oil sales, roles."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from aftersales_desk.data.models.insurance import Policy
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.archive_work_orders import CloseInput, WorkOrderService
from aftersales_desk.services.insurance import (
    InsuranceService,
    bucket_of,
    one_year_end,
    renewals_due,
)
from aftersales_desk.services.insurance_logs import AccidentInput, InsuranceLogs, OilSaleInput
from aftersales_desk.services.integrity import run_checks
from tests.insurance_helpers import add_vehicle, insurer_id, policy_input

TODAY = date(2026, 11, 23)


@pytest.fixture
def svc(db, admin):
    return InsuranceService(db, admin)


@pytest.fixture
def logs(db, admin):
    return InsuranceLogs(db, admin)


def test_one_year_end_is_the_last_day_covered():
    assert one_year_end(date(2025, 3, 1)) == date(2026, 2, 28)
    assert one_year_end(date(2024, 2, 29)) == date(2025, 2, 28)
    assert one_year_end(date(2026, 1, 1)) == date(2026, 12, 31)


def test_compulsory_and_commercial_together_duplicates_and_overlaps_refused(db, admin, svc):
    _c, v = add_vehicle(db, admin, "京A12345")
    _c2, v2 = add_vehicle(db, admin, "京B54321", name="李娜")
    start = date(2026, 1, 10)
    svc.create_policy(policy_input(db, admin, "PDZA2026001", v, start))
    svc.create_policy(policy_input(db, admin, "PDAA2026001", v, start, kind="commercial"))
    both = svc.vehicle_policies(v)
    assert {p.kind for p in both} == {"compulsory", "commercial"}
    assert {p.plate for p in both} == {"京A12345"}

    # the same number again (even for another vehicle, written with spaces/lower case)
    with pytest.raises(RefusedError, match="PDZA2026001 is already recorded") as err:
        svc.create_policy(policy_input(db, admin, "pdza 2026001", v2, start))
    assert "京A12345" in err.value.message
    # an overlapping compulsory policy for the same vehicle
    with pytest.raises(RefusedError, match="overlap") as err:
        svc.create_policy(policy_input(db, admin, "PDZA2026777", v, date(2026, 6, 1)))
    assert "PDZA2026001" in err.value.message and "2026-01-10" in err.value.message
    # one that touches the last covered day overlaps too
    with pytest.raises(RefusedError, match="overlap"):
        svc.create_policy(policy_input(db, admin, "PDZA2027001", v, one_year_end(start)))
    # the day after the end is fine
    svc.create_policy(policy_input(db, admin, "PDZA2027001", v, one_year_end(start) + timedelta(1)))
    with db.uow(admin) as uow:
        assert (
            uow.session.scalar(select(Policy.id).where(Policy.policy_no == "PDZA2026777")) is None
        )
    assert run_checks(db).ok


def test_end_before_start_and_other_bad_input_refused(db, admin, svc):
    _c, v = add_vehicle(db, admin, "京A12345")
    bad = policy_input(db, admin, "P1", v, date(2026, 5, 1), end=date(2026, 4, 30))
    with pytest.raises(ValidationError, match="end date 2026-04-30 is before the start") as err:
        svc.create_policy(bad)
    assert err.value.field == "end_date"
    with pytest.raises(ValidationError, match="no optional coverages"):
        svc.create_policy(
            replace(policy_input(db, admin, "P2", v, date(2026, 5, 1)), coverages=("glass",))
        )
    with pytest.raises(ValidationError, match="premium"):
        svc.create_policy(policy_input(db, admin, "P3", v, date(2026, 5, 1), premium=0))
    with pytest.raises(ValidationError, match="policy number is missing"):
        svc.create_policy(policy_input(db, admin, "  ", v, date(2026, 5, 1)))
    with db.uow(admin) as uow:
        assert uow.session.scalar(select(Policy.id)) is None


def test_commission_from_rate_rounds_half_up(db, admin, svc):
    _c, v = add_vehicle(db, admin, "京A12345")
    pid = svc.create_policy(
        policy_input(
            db, admin, "P1", v, date(2026, 5, 1), kind="commercial", premium=345678,
            commission_rate_bp=1250,
        )
    )  # fmt: skip
    p = svc.policy(pid)
    assert p.commission_minor == 43210  # 3456.78 × 12.5% = 432.0975 → 432.10
    assert p.customer_name == "王建国" and p.issued_on is not None


def test_expiry_buckets_and_pipeline_against_hand_counts(db, admin, svc):
    # end date offsets from TODAY → expected bucket
    offsets = {-31: None, -30: "expired", -1: "expired", 0: "d30", 30: "d30", 31: "d60",
               60: "d60", 61: "d90", 90: "d90", 91: None}  # fmt: skip
    for off, expected in offsets.items():
        assert bucket_of(TODAY + timedelta(off), TODAY) == expected, off
    ids = {}
    for i, off in enumerate(offsets):
        _c, v = add_vehicle(db, admin, f"京A1{i:04d}")
        end = TODAY + timedelta(off)
        ids[off] = svc.create_policy(
            policy_input(db, admin, f"P{i:03d}", v, end - timedelta(days=364), end=end)
        )
    # a lost one and a contacted one in the 30-day bucket
    _c, v = add_vehicle(db, admin, "京C00001")
    lost = svc.create_policy(policy_input(db, admin, "PL", v, TODAY - timedelta(300)))
    svc.set_renewal(lost, "lost", lost_reason="Cheaper elsewhere")
    svc.set_renewal(ids[30], "contacted", note="客户说下周来")

    counts = svc.pipeline_counts(TODAY)
    assert counts == {"expired": 2, "d30": 2, "d60": 2, "d90": 2}
    today, opened_counts, opened = svc.open_pipeline(limit=3)  # the branch's real today
    assert opened_counts == svc.pipeline_counts(today)
    assert [r.id for r in opened.rows] == [r.id for r in svc.pipeline_page(today, None, 3).rows]
    page = svc.pipeline_page(TODAY)
    assert [r.days_left for r in page.rows] == [-30, -1, 0, 30, 31, 60, 61, 90]
    assert page.next_cursor is None
    d60 = svc.pipeline_page(TODAY, bucket="d60").rows
    assert [r.id for r in d60] == [ids[31], ids[60]]
    assert {r.renewal_status for r in svc.pipeline_page(TODAY, bucket="d30").rows} == {
        "open",
        "contacted",
    }
    # paging: two at a time gives the same rows
    seen, cursor = [], None
    while True:
        p = svc.pipeline_page(TODAY, cursor, 2)
        seen += [r.id for r in p.rows]
        cursor = p.next_cursor
        if cursor is None:
            break
    assert seen == [r.id for r in page.rows]
    # the lost one shows with the closed ones
    closed = svc.pipeline_page(TODAY, include_closed=True).rows
    assert lost in {r.id for r in closed}

    # the callback queue's rule: open policies ending today … today + 30
    with db.uow(admin) as uow:
        due = renewals_due(uow.session, admin.branch_id, TODAY, 30)
    assert [d[2] for d in due] == [ids[0], ids[30]]
    assert due[0][3] == TODAY and due[1][3] == TODAY + timedelta(30)


def test_renewal_rate_by_month_of_expiry_against_hand_computed_values(db, admin, svc):
    # March 2026: 5 ending — 3 renewed, 1 lost, 1 open → 60 %; April: 2 ending, none renewed;
    # May: nothing ends; a renewal policy ending in March 2027 does not count for March 2026.
    ends = [date(2026, 3, d) for d in (1, 5, 10, 20, 31)] + [date(2026, 4, 2), date(2026, 4, 30)]
    olds = []
    for i, end in enumerate(ends):
        _c, v = add_vehicle(db, admin, f"京D2{i:04d}")
        olds.append(
            (v, svc.create_policy(
                policy_input(db, admin, f"OLD{i}", v, end - timedelta(364), end=end)
            ))
        )  # fmt: skip
    for v, pid in olds[:3]:
        tpl = svc.renewal_template(pid)
        new = svc.create_policy(replace(tpl, policy_no=f"NEW{pid.hex[:6]}"), renews=pid)
        assert svc.policy(pid).renewed_by_id == new
        assert svc.policy(new).business == "renewal"
        assert svc.policy(new).vehicle_id == v
    svc.set_renewal(olds[3][1], "lost", lost_reason="Vehicle sold or scrapped")
    rates = svc.renewal_rates(date(2026, 3, 1), date(2026, 5, 31))
    assert [(r.month, r.due, r.renewed, r.lost, r.open) for r in rates] == [
        ("2026-03", 5, 3, 1, 1),
        ("2026-04", 2, 0, 0, 2),
        ("2026-05", 0, 0, 0, 0),
    ]
    assert rates[0].rate == pytest.approx(0.6)
    assert rates[1].rate == 0.0
    assert rates[2].rate is None
    assert svc.daily_figures(date(2026, 3, 15)).expiring_month.rate == pytest.approx(0.6)


def test_renewal_steps_and_their_rules(db, admin, svc):
    _c, v = add_vehicle(db, admin, "京A12345")
    old = svc.create_policy(policy_input(db, admin, "OLD", v, date(2025, 12, 1)))
    with pytest.raises(ValidationError, match="quoted premium"):
        svc.set_renewal(old, "quoted")
    svc.set_renewal(old, "quoted", quoted_minor=88000, note="报价 880")
    assert svc.policy(old).quoted_minor == 88000
    tpl = svc.renewal_template(old)
    assert tpl.premium_minor == 88000 and tpl.start_date == date(2026, 12, 1)
    assert tpl.end_date == date(2027, 11, 30) and tpl.business == "renewal"
    with pytest.raises(ValidationError, match="reason"):
        svc.set_renewal(old, "lost")
    # a policy entered for the next year without saying so is linked automatically
    new = svc.create_policy(replace(tpl, policy_no="NEW", business="new"))
    assert svc.policy(old).renewal_status == "renewed"
    assert svc.policy(old).renewed_by_id == new
    assert svc.policy(new).business == "renewal"
    with pytest.raises(RefusedError, match="already renewed"):
        svc.set_renewal(old, "lost", lost_reason="x")
    assert run_checks(db).ok


def test_roles_are_enforced_in_the_service(db, admin, make_actor):
    _c, v = add_vehicle(db, admin, "京A12345")
    warehouse = InsuranceService(db, make_actor(Role.WAREHOUSE))
    with pytest.raises(PermissionDenied):
        warehouse.create_policy(policy_input(db, admin, "P1", v, date(2026, 1, 1)))
    with pytest.raises(PermissionDenied):
        InsuranceLogs(db, make_actor(Role.WAREHOUSE)).create_oil_sale(
            OilSaleInput(TODAY, "美孚1号 5W-30 4L", 1, 45000)
        )
    clerk = InsuranceService(db, make_actor(Role.CLERK))
    pid = clerk.create_policy(policy_input(db, admin, "P1", v, date(2026, 1, 1)))
    clerk.set_renewal(pid, "contacted")
    with pytest.raises(PermissionDenied):
        clerk.add_insurer("ANSHENG", "安盛天平财产保险有限公司")


def test_daily_figures_against_hand_computed_values(db, admin, svc, logs):
    day = date(2026, 11, 20)
    vs = [add_vehicle(db, admin, f"京E3{i:04d}")[1] for i in range(4)]
    # issued today: compulsory 950.00 (rate 4 %) and commercial 3,000.00 (rate 15 %)
    svc.create_policy(policy_input(db, admin, "T1", vs[0], day, issued_on=day,
                                   commission_rate_bp=400))  # fmt: skip
    svc.create_policy(policy_input(db, admin, "T2", vs[0], day, kind="commercial",
                                   premium=300000, issued_on=day, commission_rate_bp=1500))  # fmt: skip
    # earlier this month (a renewal) and last month
    svc.create_policy(policy_input(db, admin, "M1", vs[1], date(2026, 11, 2), premium=120000,
                                   issued_on=date(2026, 11, 2), business="renewal"))  # fmt: skip
    svc.create_policy(policy_input(db, admin, "L1", vs[2], date(2026, 10, 30),
                                   issued_on=date(2026, 10, 30)))  # fmt: skip
    # ending this month: one renewed-by-nothing-yet (open), one lost
    e1 = svc.create_policy(policy_input(db, admin, "E1", vs[3], date(2025, 11, 25),
                                        issued_on=date(2025, 11, 20)))  # fmt: skip
    # ending within 30 days of the day and still open: E1 (2026-11-24)
    logs.create_oil_sale(OilSaleInput(day, "嘉实多极护 5W-40 4L", 2, 76000))
    logs.create_oil_sale(
        OilSaleInput(date(2026, 11, 3), "美孚1号 0W-20 4L", 3, 120000, buyer="散客")
    )
    logs.create_oil_sale(OilSaleInput(date(2026, 10, 31), "美孚1号 0W-20 4L", 9, 999900))
    logs.create_accident(AccidentInput(day, "京E30001", estimate_minor=500000))
    logs.create_accident(AccidentInput(date(2026, 11, 1), "京F99999", estimate_minor=120000))
    f = svc.daily_figures(day)
    assert (f.policies_today, f.premium_today, f.commission_today) == (2, 395000, 3800 + 45000)
    assert (f.compulsory_today, f.commercial_today) == (1, 1)
    assert (f.policies_month, f.premium_month) == (3, 515000)
    assert f.commission_month == 48800
    assert f.renewals_month == 1
    assert (f.expiring_month.due, f.expiring_month.renewed) == (1, 0)
    assert f.due_30 == 1
    assert (f.accidents_today, f.accidents_month, f.estimate_month) == (1, 2, 620000)
    assert (f.oil_qty_today, f.oil_amount_today) == (2, 76000)
    assert (f.oil_qty_month, f.oil_amount_month) == (5, 196000)
    svc.set_renewal(e1, "lost", lost_reason="Cheaper elsewhere")
    assert svc.daily_figures(day).due_30 == 0


def test_accident_intake_links_the_archive_vehicle_work_order_and_visit(db, admin, svc, logs):
    cid, v = add_vehicle(db, admin, "京A12345")
    wos = WorkOrderService(db, admin)
    wo = wos.open(cid, vehicle_id=v, kind="accident", fault="左前门凹陷")
    choices = logs.work_orders_for_plate("京A·12345")
    assert [c.id for c in choices] == [wo.id]
    aid = logs.create_accident(
        AccidentInput(
            TODAY,
            "京a 12345",
            insurer_id=insurer_id(db, admin, "PINGAN"),
            claim_no="RDAA2026110001",
            towed_in=True,
            surveyor="赵查勘",
            estimate_minor=680000,
            work_order_id=wo.id,
        )
    )
    row = next(r for r in logs.accident_page().rows if r.id == aid)
    assert (row.plate, row.customer_name, row.insurer) == ("京A12345", "王建国", "平安产险")
    assert row.work_order_no == wo.number and row.towed_in and row.visit_date is None
    visit_id = wos.close(wo.id, CloseInput(items="左前门钣喷", visit_date=TODAY))
    aid2 = logs.create_accident(AccidentInput(TODAY, "京A12345", work_order_id=wo.id))
    from aftersales_desk.data.models.insurance import AccidentIntake

    with db.uow(admin) as uow:
        assert uow.session.get(AccidentIntake, aid2).visit_id == visit_id
    # a work order of another vehicle is refused
    cid2, v2 = add_vehicle(db, admin, "京B54321", name="李娜")
    other = wos.open(cid2, vehicle_id=v2, kind="accident", fault="后杠")
    with pytest.raises(ValidationError, match="another vehicle"):
        logs.create_accident(AccidentInput(TODAY, "京A12345", work_order_id=other.id))
    with pytest.raises(ValidationError, match="plate"):
        logs.create_accident(AccidentInput(TODAY, " "))


def test_oil_sales_to_customers_and_walk_ins(db, admin, svc, logs):
    cid, _v = add_vehicle(db, admin, "京A12345")
    logs.create_oil_sale(OilSaleInput(TODAY, "壳牌超凡喜力 5W-30 4L", 1, 39800, customer_id=cid))
    logs.create_oil_sale(OilSaleInput(TODAY, "长城金吉星 5W-30 4L", 2, 33600))
    rows = logs.oil_page().rows
    assert sorted(r.who for r in rows) == sorted(["王建国", "Walk-in"])
    with pytest.raises(ValidationError, match="quantity"):
        logs.create_oil_sale(OilSaleInput(TODAY, "长城金吉星", 0, 100))
    with pytest.raises(ValidationError, match="product"):
        logs.create_oil_sale(OilSaleInput(TODAY, " ", 1, 100))


def test_insurers_master_list(db, admin, svc):
    codes = [i.code for i in svc.insurers()]
    assert codes[:3] == ["PICC", "PINGAN", "CPIC"] and len(codes) == 10
    new = svc.add_insurer("ansheng", "安盛天平财产保险有限公司", "安盛天平")
    assert next(i for i in svc.insurers() if i.id == new).code == "ANSHENG"
    with pytest.raises(RefusedError, match="already listed"):
        svc.add_insurer("AXA", "安盛天平财产保险有限公司")
    with pytest.raises(ValidationError):
        svc.add_insurer("", "无名")
