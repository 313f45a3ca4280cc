"""Work orders and quick-handling forms are numbered by their desk's device series (issue 9):
two desks of one branch working offline never issue the same number, a crash or a rollback
does not skip one, and the gapless check covers them next to rows numbered the old way."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import event, select

from aftersales_desk.data.models import Device
from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.data.models.callbacks import QuickForm
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.errors import DatabaseError
from aftersales_desk.services.archive import ArchiveService, CustomerInput, VehicleInput, VisitInput
from aftersales_desk.services.archive_work_orders import WorkOrderService
from aftersales_desk.services.bootstrap import local_actor, open_database
from aftersales_desk.services.callbacks import CallbackService, FormInput
from aftersales_desk.services.integrity import run_checks
from aftersales_desk.services.numbering import check_gapless
from tests.integration.forked import run_forked

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True, scope="module")
def _every_check() -> None:
    """Every module's integrity checks are registered, whatever other tests imported first."""
    import importlib
    import pkgutil

    import aftersales_desk.services as services

    for found in pkgutil.walk_packages(services.__path__, "aftersales_desk.services."):
        importlib.import_module(found.name)


def _customer(db: Database, actor: Actor, name: str = "张伟") -> uuid.UUID:
    return ArchiveService(db, actor).create_customer(CustomerInput(name=name)).id


def _second_desk(template: Path, path: Path, code: str) -> Database:
    """A second desk file of the same branch: the branch's records with its own local device
    (what ``sync join`` leaves behind: the other desk's device row is no longer local)."""
    shutil.copyfile(template, path)
    db = open_database(path)
    with db.uow(write=True) as uow:
        s = uow.session
        first = s.scalars(select(Device).where(Device.is_local.is_(True))).one()
        first.is_local = False
        s.flush()
        s.add(Device(branch_id=first.branch_id, code=code, name=code, is_local=True))
        uow.commit()
    return db


def test_two_desk_files_of_one_branch_issue_different_work_order_numbers(template_db, tmp_path):
    a_db = open_database(shutil.copyfile(template_db, tmp_path / "a.sqlite"))
    b_db = _second_desk(template_db, tmp_path / "b.sqlite", "B")
    try:
        a, b = local_actor(a_db, "admin"), local_actor(b_db, "admin")
        assert a.branch_id == b.branch_id
        on_a = [
            WorkOrderService(a_db, a).open(_customer(a_db, a), fault="更换机油").number
            for _i in range(2)
        ]
        on_b = [
            WorkOrderService(b_db, b).open(_customer(b_db, b), fault="空调不制冷").number
            for _i in range(2)
        ]
        assert on_a == ["BJ01-A-WO000001", "BJ01-A-WO000002"]
        assert on_b == ["BJ01-B-WO000001", "BJ01-B-WO000002"]
        assert not set(on_a) & set(on_b)
        assert run_checks(a_db).ok and run_checks(b_db).ok
    finally:
        a_db.dispose()
        b_db.dispose()


def test_two_devices_in_one_file_take_their_own_series(db, admin):
    """Two device rows of one branch (a shared file, or a file that holds the other desk's
    rows after a sync): each actor numbers from its own device's series."""
    with db.uow(write=True) as uow:
        device_b = Device(branch_id=admin.branch_id, code="B", name="B", is_local=False)
        uow.session.add(device_b)
        uow.commit()
        b_id = device_b.id
    desk_b = dataclasses.replace(admin, device_id=b_id)
    cid = _customer(db, admin)
    first = WorkOrderService(db, admin).open(cid, fault="保养")
    other = WorkOrderService(db, desk_b).open(cid, fault="保养")
    again = WorkOrderService(db, admin).open(cid, fault="补胎")
    assert (first.number, other.number, again.number) == (
        "BJ01-A-WO000001",
        "BJ01-B-WO000001",
        "BJ01-A-WO000002",
    )
    with db.uow() as uow:
        assert check_gapless(uow.session) == []


def _problem_call(db: Database, admin: Actor) -> tuple[CallbackService, uuid.UUID, str]:
    archive = ArchiveService(db, admin)
    saved = archive.create_customer(
        CustomerInput(name="张伟", phone="13812345678"),
        VehicleInput(plate="京A12345", model="速腾", purchase_date=date(2025, 3, 1)),
    )
    vid = archive.card(saved.id).vehicles[0].id
    archive.add_visit(
        saved.id,
        VisitInput(visit_date=date(2026, 11, 17), kind="repair", vehicle_id=vid, advisor="王磊"),
    )
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 11, 20))
    with db.uow() as uow:
        from aftersales_desk.data.models.callbacks import Callback

        cb = uow.session.scalars(select(Callback.id)).one()
    answers = {
        "reception_speed": 5, "completion_speed": 5, "checkout_speed": 4, "parts_price": 4,
        "labour_charge": 4, "staff_service": 5, "quoted_before": True, "explained_after": True,
        "repair_quality": 2, "cleanliness": 5, "arrival": "自驾到店", "overall": 3,
    }  # fmt: skip
    result = svc.record_call(cb, "reached", answers=answers, comment="异响未修好")
    assert result.problem
    return svc, cb, result.problem_text


def test_a_rolled_back_quick_form_does_not_use_up_its_number(db, admin):
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=TZ), tick=False):
        svc, cb, problem = _problem_call(db, admin)
        form = FormInput("机修车间", "陈师傅", date(2026, 11, 24), problem, "重新检查底盘")

        def fail_on_insert(conn, cursor, statement, params, context, executemany):
            if statement.lstrip().upper().startswith("INSERT INTO CALLBACK_FORMS"):
                raise sqlite3.OperationalError("disk I/O error")

        event.listen(db.engine, "before_cursor_execute", fail_on_insert)
        try:
            with pytest.raises(DatabaseError, match="nothing was changed"):
                svc.open_form(cb, form)
        finally:
            event.remove(db.engine, "before_cursor_execute", fail_on_insert)
        with db.uow() as uow:
            assert uow.session.scalars(select(QuickForm.number)).all() == []
        opened = svc.open_form(cb, form)
    assert opened.number == "BJ01-A-KS000001"
    with db.uow() as uow:
        assert check_gapless(uow.session) == []


# --- a work order's posting killed at every statement of its transaction --------------------


def _open_and_die(path: Path, customer_id: uuid.UUID, crash_at: int) -> None:
    """In a forked child: open one work order; ``os._exit`` just before statement ``crash_at``
    of the transaction (0: never), as in a power cut: no rollback, no cleanup."""
    db = Database(path)
    admin = local_actor(db, "admin")
    count = 0

    def on_statement(conn, cursor, statement, params, context, executemany):
        nonlocal count
        count += 1
        if count == crash_at:
            os._exit(17)

    def on_commit(conn):
        nonlocal in_transaction
        in_transaction = count  # the statements before the commit (reads after it don't count)

    in_transaction = 0
    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(db.engine, "commit", on_commit)
    WorkOrderService(db, admin).open(customer_id, fault="crash")
    os.write(3, str(in_transaction).encode())
    os._exit(0)


def _child(path: Path, customer_id: uuid.UUID, crash_at: int) -> tuple[int, int]:
    return run_forked(_open_and_die, path, customer_id, crash_at)


def _numbers(path: Path) -> tuple[list[str], int]:
    conn = sqlite3.connect(path)
    try:
        numbers = [r[0] for r in conn.execute("SELECT number FROM work_orders ORDER BY number")]
        last = conn.execute(
            "SELECT COALESCE(MAX(last_seq), 0) FROM number_series WHERE kind = 'work_order'"
        ).fetchone()[0]
        return numbers, last
    finally:
        conn.close()


def test_work_order_numbers_stay_gapless_when_killed_at_every_statement(db, admin, db_path):
    cid = _customer(db, admin)
    WorkOrderService(db, admin).open(cid, fault="first")
    db.dispose()
    rc, total = _child(db_path, cid, 0)
    assert rc == 0
    assert total > 3  # BEGIN, number series, work order, audit
    expected = [f"BJ01-A-WO{n:06d}" for n in (1, 2)]
    for n in range(1, total + 1):
        rc, _count = _child(db_path, cid, n)
        assert rc == 17, n
        assert _numbers(db_path) == (expected, 2), n
    assert _child(db_path, cid, 0)[0] == 0
    assert _numbers(db_path) == ([*expected, "BJ01-A-WO000003"], 3)
    again = Database(db_path)
    try:
        report = run_checks(again)
        assert report.ok, report.problems
    finally:
        again.dispose()


# --- the gapless check with old-style and device-series numbers mixed -----------------------


def test_check_passes_with_old_and_new_numbers_mixed_and_catches_a_gap(db, admin, db_path):
    cid = _customer(db, admin)
    with db.uow(admin, write=True) as uow:  # rows numbered before the device series
        for n in (1, 2, 7):
            uow.session.add(
                WorkOrder(
                    branch_id=admin.branch_id,
                    number=f"WO{n:07d}",
                    customer_id=cid,
                    kind="repair",
                    fault="旧工单",
                    advisor="王磊",
                    mileage_km=0,
                    status="cancelled",
                    cancel_reason="客户取消",
                    opened_at=datetime(2026, 1, n, 2),
                )
            )
        uow.commit()
    orders = WorkOrderService(db, admin)
    new = [orders.open(cid, fault="保养").number for _i in range(3)]
    assert new == ["BJ01-A-WO000001", "BJ01-A-WO000002", "BJ01-A-WO000003"]
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=TZ), tick=False):
        svc, cb, problem = _problem_call(db, admin)
        form = svc.open_form(cb, FormInput("机修车间", "陈师傅", date(2026, 11, 24), problem))
        with db.uow(admin, write=True) as uow:  # an old per-day form number next to the new one
            from aftersales_desk.data.models.callbacks import Callback

            call = uow.session.get(Callback, cb)
            assert call is not None
            uow.session.add(
                QuickForm(
                    branch_id=admin.branch_id,
                    number="KS20261119-001",
                    callback_id=call.id,
                    customer_id=call.customer_id,
                    opened_on=date(2026, 11, 19),
                    department="前台接待",
                    responsible="刘洋",
                    deadline=date(2026, 11, 21),
                    problem="旧表",
                    actions="",
                )
            )
            uow.commit()
    assert form.number == "BJ01-A-KS000001"
    report = run_checks(db)
    assert report.ok, report.problems
    # a device-series number that went missing is reported (the old ones never are)
    db.dispose()
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE work_orders SET number = 'WO0000099' WHERE number = 'BJ01-A-WO000002'")
    conn.commit()
    conn.close()
    again = Database(db_path)
    try:
        problems = run_checks(again).problems
    finally:
        again.dispose()
    assert any("BJ01-A-WO" in p and "not gapless" in p for p in problems), problems
