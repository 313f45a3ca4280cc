"""Work-order service clocks on real work orders (the archive's ``work_orders``): the chain of
deadlines, pauses for parts (through ``mark_waiting_for_parts``, as the parts counter calls it)
and for the customer, working hours with China's holidays and swapped working days, escalation of
orders open over three days, roles, ``ls clocks`` and the append-only ledger. Time travels with
time-machine; nothing sleeps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from aftersales_desk.data.models import WorkOrderClockEvent
from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.domain.roles import Role
from aftersales_desk.domain.sla import PauseReason, Stage, StageState
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.archive import ArchiveService, CustomerInput, VehicleInput
from aftersales_desk.services.archive_work_orders import (
    CloseInput,
    WorkOrderService,
    mark_waiting_for_parts,
)
from aftersales_desk.services.service_clocks import ServiceClockService
from aftersales_desk.services.settings import SettingsService

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def travel(when: datetime):
    return time_machine.travel(when, tick=False)


@pytest.fixture
def customer(db, admin):
    with travel(at(2026, 1, 5, 9)):
        return (
            ArchiveService(db, admin)
            .create_customer(
                CustomerInput(name="李四", phone="13912345678"),
                VehicleInput(vin="LSGJA52U7BS123456", plate="京B·66666", brand="别克"),
            )
            .id
        )


@pytest.fixture
def clerk(make_actor):
    return make_actor(Role.CLERK)


def _open(db, actor, customer, when: datetime, fault="空调不制冷"):
    with travel(when):
        return WorkOrderService(db, actor).open(customer, fault=fault)


def _dispatch(db, actor, wo_id, when: datetime):
    with travel(when):
        return WorkOrderService(db, actor).dispatch(wo_id, "王师傅")


def test_chain_with_pauses_round_the_clock(db, clerk, customer):
    clocks = ServiceClockService(db, clerk)
    wo = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))  # Monday 09:00
    with travel(at(2026, 11, 23, 9, 20)):
        row = clocks.get(wo.id)
        assert row.stage is Stage.DISPATCH and row.state is StageState.RUNNING
        assert row.remaining == timedelta(minutes=10)
        assert row.deadline == at(2026, 11, 23, 9, 30)
    with travel(at(2026, 11, 23, 9, 40)):
        row = clocks.get(wo.id)
        assert row.overdue and row.remaining == timedelta(minutes=-10)
        with pytest.raises(RefusedError):  # contacted before it is dispatched
            clocks.mark(wo.id, Stage.CONTACT)
    _dispatch(db, clerk, wo.id, at(2026, 11, 23, 9, 45))
    with travel(at(2026, 11, 23, 10, 30)):
        row = clocks.mark(wo.id, Stage.CONTACT, "已电话联系客户，约明早上门")
        assert row.stage is Stage.ON_SITE and row.deadline == at(2026, 11, 24, 9, 0)
        assert row.late_steps == 1  # dispatched after 45 minutes
        with pytest.raises(RefusedError):  # follow-up before on site
            clocks.mark(wo.id, Stage.FOLLOW_UP)
        with pytest.raises(RefusedError):  # marked twice
            clocks.mark(wo.id, Stage.CONTACT)
    with travel(at(2026, 11, 23, 12, 0)):
        clocks.pause(wo.id, PauseReason.CUSTOMER_UNAVAILABLE, "客户出差，周二回")
    with travel(at(2026, 11, 23, 20, 0)):
        row = clocks.get(wo.id)
        assert row.paused and row.state is StageState.PAUSED and row.deadline is None
        assert row.pause_reason is PauseReason.CUSTOMER_UNAVAILABLE
        assert row.paused_since == at(2026, 11, 23, 12, 0)
        assert row.remaining == timedelta(hours=21)  # 3 h ran before the pause
        with pytest.raises(RefusedError):  # already paused
            clocks.pause(wo.id, PauseReason.CUSTOMER_UNAVAILABLE)
        with pytest.raises(RefusedError):
            clocks.mark(wo.id, Stage.ON_SITE)
    with travel(at(2026, 11, 24, 8, 0)):
        row = clocks.resume(wo.id, "客户已回")
        assert not row.paused and row.deadline == at(2026, 11, 25, 5, 0)  # 20 h later
    # the parts counter's 待件 (through the archive's service) pauses the clock too
    with travel(at(2026, 11, 24, 10, 0)):
        WorkOrderService(db, clerk).set_waiting_for_parts(wo.id, True)
        row = clocks.get(wo.id)
        assert row.status == "waiting_parts" and row.pause_reason is PauseReason.WAITING_FOR_PARTS
    with travel(at(2026, 11, 24, 14, 0)):
        row = clocks.resume(wo.id, "配件已到")
        assert row.status == "dispatched" and not row.paused
        assert row.deadline == at(2026, 11, 25, 9, 0)  # 4 h more
        with pytest.raises(RefusedError):
            clocks.resume(wo.id)
    with travel(at(2026, 11, 25, 8, 0)):
        clocks.mark(wo.id, Stage.ON_SITE, "已上门检测")
    detail = clocks.detail(wo.id)
    assert [(p.reason, p.start, p.end) for p in detail.pauses] == [
        (PauseReason.CUSTOMER_UNAVAILABLE, at(2026, 11, 23, 12), at(2026, 11, 24, 8)),
        (PauseReason.WAITING_FOR_PARTS, at(2026, 11, 24, 10), at(2026, 11, 24, 14)),
    ]
    assert [e.kind for e in detail.events] == [
        "contacted", "pause", "resume", "pause", "resume", "on_site",
    ]  # fmt: skip
    assert all(e.by == "clerk user" for e in detail.events)
    assert detail.events[0].note == "已电话联系客户，约明早上门"
    assert detail.events[4].note == "配件已到"
    states = {s.stage: s.state for s in detail.stages}
    assert states[Stage.DISPATCH] is StageState.LATE
    assert states[Stage.CONTACT] is StageState.MET and states[Stage.ON_SITE] is StageState.MET
    # closing (the archive's) takes it off the page
    with travel(at(2026, 11, 25, 9, 0)):
        WorkOrderService(db, clerk).close(wo.id, CloseInput(labour_minor=8000))
        assert clocks.page().rows == []
        assert clocks.detail(wo.id).row.stage is None
        with pytest.raises(RefusedError):
            clocks.mark(wo.id, Stage.FOLLOW_UP)


def test_working_hours_holidays_and_a_swapped_working_day(db, admin, clerk, customer):
    SettingsService(db, admin).update(
        {
            "schedule_sla_working_hours": True,
            "schedule_work_start": "09:00",
            "schedule_work_end": "17:00",
        }
    )
    clocks = ServiceClockService(db, clerk)
    # Wednesday before the National Day holiday (1–7 Oct 2026; Sat 10 Oct is a working day)
    wo = _open(db, clerk, customer, at(2026, 9, 30, 16, 0))
    _dispatch(db, clerk, wo.id, at(2026, 9, 30, 16, 10))
    with travel(at(2026, 10, 3, 12, 0)):
        row = clocks.get(wo.id)
        assert row.stage is Stage.CONTACT
        assert row.deadline == at(2026, 10, 8, 10, 0)  # 1 h on Wed + 1 h on Thu 8 Oct
        assert row.remaining == timedelta(hours=1)  # the holiday does not count
    with travel(at(2026, 10, 8, 9, 30)):
        clocks.mark(wo.id, Stage.CONTACT)
        row = clocks.get(wo.id)
        # 24 working hours: Wed 1 + Thu 8 + Fri 8 + the swapped Saturday 7
        assert row.deadline == at(2026, 10, 10, 16, 0)
    with travel(at(2026, 10, 9, 9, 0)):
        clocks.pause(wo.id, PauseReason.CUSTOMER_UNAVAILABLE)
    with travel(at(2026, 10, 9, 13, 0)):  # 4 working hours paused
        row = clocks.resume(wo.id)
        # Fri 4 h + Sat 8 h, the last 3 h on Monday morning
        assert row.deadline == at(2026, 10, 12, 12, 0)
    with travel(at(2026, 10, 12, 12, 30)):
        row = clocks.get(wo.id)
        assert row.overdue and row.remaining == timedelta(minutes=-30)


def test_escalation_after_three_days_needs_a_reason(db, admin, clerk, customer):
    clocks = ServiceClockService(db, clerk)
    old = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))
    _dispatch(db, clerk, old.id, at(2026, 11, 23, 9, 10))
    young = _open(db, clerk, customer, at(2026, 11, 25, 9, 0), fault="异响")
    with travel(at(2026, 11, 26, 8, 59)):
        assert not clocks.get(old.id).escalate
        assert clocks.summary().escalated == 0
        assert clocks.page(escalated_only=True).rows == []
    with travel(at(2026, 11, 26, 9, 1)):
        row = clocks.get(old.id)
        assert row.escalate and row.needs_reason
        manager = ServiceClockService(db, admin)
        summary = manager.summary()
        assert (summary.open, summary.escalated, summary.without_reason) == (2, 1, 1)
        assert summary.overdue == 2  # neither contacted nor dispatched in time
        assert [r.id for r in summary.escalated_rows] == [old.id]
        assert [r.id for r in manager.page(escalated_only=True).rows] == [old.id]
        assert [r.id for r in manager.page().rows] == [old.id, young.id]  # oldest first
        with pytest.raises(ValidationError):
            clocks.escalate(old.id, "   ")
        row = clocks.escalate(old.id, "等待厂家技术支持，已上报区域经理")
        assert row.escalate and not row.needs_reason
        assert row.escalation_reason == "等待厂家技术支持，已上报区域经理"
        assert manager.summary().without_reason == 0


def test_roles(db, make_actor, clerk, customer):
    wo = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))
    _dispatch(db, clerk, wo.id, at(2026, 11, 23, 9, 10))
    keeper = ServiceClockService(db, make_actor(Role.WAREHOUSE))
    with travel(at(2026, 11, 23, 9, 30)):
        assert keeper.get(wo.id).stage is Stage.CONTACT  # may look
        with pytest.raises(PermissionDenied):
            keeper.mark(wo.id, Stage.CONTACT)
        with pytest.raises(PermissionDenied):
            keeper.pause(wo.id, PauseReason.WAITING_FOR_PARTS)
        with pytest.raises(PermissionDenied):
            keeper.escalate(wo.id, "原因")
        ServiceClockService(db, clerk).pause(wo.id, PauseReason.CUSTOMER_UNAVAILABLE)
        with pytest.raises(PermissionDenied):
            keeper.resume(wo.id)
        assert ServiceClockService(db, make_actor(Role.MANAGER)).resume(wo.id).paused is False
    with db.uow() as uow:
        assert uow.session.scalar(select(WorkOrderClockEvent.kind).limit(1)) == "pause"


def test_mark_waiting_for_parts_in_the_callers_session(db, clerk, customer):
    clocks = ServiceClockService(db, clerk)
    wo = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))
    with travel(at(2026, 11, 23, 9, 5)), db.uow(clerk, write=True) as uow:
        order = uow.session.get(WorkOrder, wo.id)
        with pytest.raises(RefusedError):  # not dispatched yet
            mark_waiting_for_parts(uow.session, order, True)
    _dispatch(db, clerk, wo.id, at(2026, 11, 23, 9, 10))
    with travel(at(2026, 11, 23, 10, 0)):
        clocks.pause(wo.id, PauseReason.CUSTOMER_UNAVAILABLE)
    with travel(at(2026, 11, 23, 11, 0)):
        with db.uow(clerk, write=True) as uow:  # as the parts counter's 待件 does it
            order = uow.session.get(WorkOrder, wo.id)
            mark_waiting_for_parts(uow.session, order, True)
            mark_waiting_for_parts(uow.session, order, True)  # already: nothing more
            uow.commit()
        row = clocks.get(wo.id)
        assert row.status == "waiting_parts" and row.pause_reason is PauseReason.WAITING_FOR_PARTS
    with travel(at(2026, 11, 23, 15, 0)):
        with db.uow(clerk, write=True) as uow:
            order = uow.session.get(WorkOrder, wo.id)
            mark_waiting_for_parts(uow.session, order, False)
            # no commit: the caller decides, nothing is written
        assert clocks.get(wo.id).status == "waiting_parts"
        with db.uow(clerk, write=True) as uow:
            order = uow.session.get(WorkOrder, wo.id)
            mark_waiting_for_parts(uow.session, order, False)
            uow.commit()
        row = clocks.get(wo.id)
        assert row.status == "dispatched" and not row.paused
    pauses = clocks.detail(wo.id).pauses
    assert [(p.reason, p.start, p.end) for p in pauses] == [
        (PauseReason.CUSTOMER_UNAVAILABLE, at(2026, 11, 23, 10), at(2026, 11, 23, 11)),
        (PauseReason.WAITING_FOR_PARTS, at(2026, 11, 23, 11), at(2026, 11, 23, 15)),
    ]
    assert all(e.by == "clerk user" for e in clocks.detail(wo.id).events)


def test_ledger_is_append_only_and_limits_come_from_the_settings(db, admin, clerk, customer):
    wo = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))
    _dispatch(db, clerk, wo.id, at(2026, 11, 23, 9, 10))
    clocks = ServiceClockService(db, clerk)
    with travel(at(2026, 11, 23, 9, 30)):
        clocks.mark(wo.id, Stage.CONTACT)
    for sql in (
        "UPDATE work_order_clock_events SET note = 'x'",
        "DELETE FROM work_order_clock_events",
    ):
        with pytest.raises(IntegrityError), db.uow(admin, write=True) as uow:
            uow.session.execute(text(sql))
    settings = SettingsService(db, admin)
    settings.update({"schedule_sla_minutes": [15, 60, 240, 480, 1440]})
    with travel(at(2026, 11, 23, 9, 30)):
        assert clocks.get(wo.id).deadline == at(2026, 11, 23, 13, 0)  # on site within 4 h
    settings.update({"schedule_sla_minutes": [30, 20, 240, 480, 1440]})
    with pytest.raises(ValidationError):
        clocks.get(wo.id)
    settings.update({"schedule_sla_minutes": [30, 120, 1440, 2880, 4320]})
    settings.update({"schedule_escalate_days": 0})
    with pytest.raises(ValidationError):
        clocks.page()


def test_cli_ls_clocks(db, db_path, clerk, customer, capsys):
    from aftersales_desk.cli import main

    wo = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))
    _dispatch(db, clerk, wo.id, at(2026, 11, 23, 9, 10))
    with travel(at(2026, 11, 23, 10, 0)):
        assert main(["ls", "clocks", "--db", str(db_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["number"] == wo.number
    assert rows[0]["step"] == "contact" and rows[0]["minutes_left"] == 60  # 2 h from opening
    assert rows[0]["state"] == "running" and rows[0]["paused"] is None


def test_upgrade_pauses_orders_already_waiting_for_parts(db, db_path, clerk, customer):
    from alembic import command

    from aftersales_desk.data.migrate import alembic_config

    wo = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))
    _dispatch(db, clerk, wo.id, at(2026, 11, 23, 9, 10))
    with travel(at(2026, 11, 23, 10, 0)):
        WorkOrderService(db, clerk).set_waiting_for_parts(wo.id, True)
    db.dispose()
    cfg = alembic_config(url=f"sqlite:///{db_path}")
    command.downgrade(cfg, "0004_schedule")  # a branch database from before the clocks
    command.upgrade(cfg, "head")
    with travel(at(2026, 11, 23, 12, 0)):
        row = ServiceClockService(db, clerk).get(wo.id)
        assert row.pause_reason is PauseReason.WAITING_FOR_PARTS
        assert row.paused_since == at(2026, 11, 23, 10, 0)
        assert row.remaining == timedelta(minutes=60)  # contact: 2 h from 9:00, stopped at 10:00
        row = ServiceClockService(db, clerk).resume(wo.id)
        assert row.status == "dispatched" and not row.paused


def test_schedule_settings_carry_the_clock_limits(db, admin, make_actor):
    from dataclasses import replace

    from aftersales_desk.services.schedule import ScheduleService

    svc = ScheduleService(db, admin)
    conf = svc.settings()
    assert conf.sla_minutes == (30, 120, 1440, 2880, 4320) and conf.escalate_days == 3
    svc.update_settings(replace(conf, sla_minutes=(15, 60, 480, 1440, 2880), escalate_days=2))
    assert ServiceClockService(db, admin).rules().escalate_after == timedelta(days=2)
    assert svc.settings().sla_minutes == (15, 60, 480, 1440, 2880)
    with pytest.raises(ValidationError):  # not growing
        svc.update_settings(replace(conf, sla_minutes=(30, 20, 480, 1440, 2880)))
    with pytest.raises(ValidationError):
        svc.update_settings(replace(conf, escalate_days=0))
    with pytest.raises(PermissionDenied):
        ScheduleService(db, make_actor(Role.CLERK)).update_settings(conf)
    assert svc.settings().escalate_days == 2  # nothing half-written


def test_the_kept_count_follows_time_events_and_settings(db, admin, clerk, customer):
    """``summary`` keeps each order's brief between calls; it must agree with reading every
    order's clock afresh after time passes, after events and after a change of the rules."""
    clocks = ServiceClockService(db, clerk)  # one object, as the status bar keeps it

    def fresh():
        rows = ServiceClockService(db, clerk).page(None, 1000).rows
        return (
            sorted(r.number for r in rows if r.overdue),
            sorted(r.number for r in rows if r.escalate),
            sum(1 for r in rows if r.needs_reason),
        )

    def kept():
        s = clocks.summary()
        assert s.overdue == len(s.overdue_rows) and s.escalated == len(s.escalated_rows)
        return (
            sorted(r.number for r in s.overdue_rows),
            sorted(r.number for r in s.escalated_rows),
            s.without_reason,
        )

    a = _open(db, clerk, customer, at(2026, 11, 23, 9, 0))
    b = _open(db, clerk, customer, at(2026, 11, 23, 9, 5), fault="异响")
    c = _open(db, clerk, customer, at(2026, 11, 24, 10, 0), fault="漏水")
    _dispatch(db, clerk, a.id, at(2026, 11, 23, 9, 10))
    _dispatch(db, clerk, b.id, at(2026, 11, 23, 9, 20))
    steps = [
        (at(2026, 11, 23, 10, 0), None),
        (at(2026, 11, 23, 11, 1), None),  # a's contact due 11:00
        (at(2026, 11, 23, 11, 2), lambda: clocks.mark(a.id, Stage.CONTACT)),
        (at(2026, 11, 23, 11, 3), lambda: clocks.pause(b.id, PauseReason.CUSTOMER_UNAVAILABLE)),
        (at(2026, 11, 24, 10, 1), lambda: _dispatch(db, clerk, c.id, at(2026, 11, 24, 10, 1))),
        (at(2026, 11, 24, 12, 0), lambda: clocks.resume(b.id)),
        (at(2026, 11, 26, 9, 30), None),  # a and b open over three days
        (at(2026, 11, 26, 9, 31), lambda: clocks.escalate(a.id, "等厂家配件")),
        (
            at(2026, 11, 26, 9, 32),
            lambda: SettingsService(db, admin).update({"schedule_sla_working_hours": True}),
        ),
        (at(2026, 11, 27, 9, 32), None),
    ]
    for when, act in steps:
        with travel(when):
            if act is not None:
                act()
            assert kept() == fresh(), when
