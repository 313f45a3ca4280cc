"""Two desks of one branch (the second joined through central) open work orders and
quick-handling forms offline: each number comes from its desk's device series, so both sync
without anything set aside and every database passes the gapless check (issue 9)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from aftersales_desk.services.archive_work_orders import WorkOrderService
from aftersales_desk.services.callbacks import CallbackService, FormInput
from aftersales_desk.services.integrity import run_checks
from tests.sync.helpers import Desk, central_rows, synced_state

TZ = ZoneInfo("Asia/Shanghai")


def _problem_call(desk: Desk, cid) -> tuple[CallbackService, object, str]:
    """A callback of ``cid`` reached with a complaint (so it needs a quick-handling form)."""
    from sqlalchemy import select

    from aftersales_desk.data.models.callbacks import Callback

    svc = CallbackService(desk.db, desk.actor)
    with desk.db.uow(desk.actor, write=True) as uow:
        cb = Callback(
            branch_id=desk.actor.branch_id,
            customer_id=cid,
            rule="maintenance",
            natural_key=f"test:{cid.hex}",
            department="机修车间",
            first_due_on=date(2026, 11, 20),
            due_on=date(2026, 11, 20),
        )
        uow.session.add(cb)
        uow.commit()
        cb_id = cb.id
    with desk.db.uow() as uow:
        assert uow.session.scalars(select(Callback.id).where(Callback.id == cb_id)).one()
    # a maintenance reminder the customer complains on: a problem without a questionnaire
    result = svc.record_call(cb_id, "reached", comment="上次保养后异响未修好", complaint=True)
    assert result.problem
    return svc, cb_id, result.problem_text


def test_desks_number_work_orders_and_forms_offline_without_collisions(desks, central_url):
    a, b = desks
    ca = a.add_customer("C0001", "张三", "13800000000")
    cb_ = b.add_customer("C0002", "李四", "13900000000")
    # offline: neither desk has seen the other's numbers
    wa = [WorkOrderService(a.db, a.actor).open(ca, fault="更换机油") for _i in range(2)]
    wb = [WorkOrderService(b.db, b.actor).open(cb_, fault="空调不制冷") for _i in range(2)]
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=TZ), tick=False):
        sa, call_a, problem_a = _problem_call(a, ca)
        fa = sa.open_form(call_a, FormInput("机修车间", "陈师傅", date(2026, 11, 24), problem_a))
        sb, call_b, problem_b = _problem_call(b, cb_)
        fb = sb.open_form(call_b, FormInput("前台接待", "刘洋", date(2026, 11, 24), problem_b))
    assert [w.number for w in wa] == ["BJ01-A-WO000001", "BJ01-A-WO000002"]
    assert [w.number for w in wb] == ["BJ01-B-WO000001", "BJ01-B-WO000002"]
    assert (fa.number, fb.number) == ("BJ01-A-KS000001", "BJ01-B-KS000001")
    results = [a.sync(), b.sync(), a.sync()]
    assert [q for r in results for q in r.quarantined] == []
    assert central_rows(central_url, "SELECT count(*) FROM sync_quarantine") == [(0,)]
    assert central_rows(central_url, "SELECT number FROM work_orders ORDER BY number") == [
        ("BJ01-A-WO000001",),
        ("BJ01-A-WO000002",),
        ("BJ01-B-WO000001",),
        ("BJ01-B-WO000002",),
    ]
    assert central_rows(central_url, "SELECT number FROM callback_forms ORDER BY number") == [
        ("BJ01-A-KS000001",),
        ("BJ01-B-KS000001",),
    ]
    assert synced_state(a) == synced_state(b)
    for desk in (a, b):  # each desk also checks the other desk's series it pulled
        assert desk.one("SELECT count(*) FROM number_series WHERE kind = 'work_order'") == 2
        report = run_checks(desk.db)
        assert report.ok, report.problems
