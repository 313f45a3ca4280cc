"""The schedule service against a real branch database: defaults, agenda, check-off with an
attachment and who did it, permissions, the working calendar, the .ics export (parsed with
icalendar and expanded to the same occurrences), the duties report, ``ls duties``, migrations."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.rrule import rruleset, rrulestr

from aftersales_desk.domain.roles import Role
from aftersales_desk.domain.workcal import Shift
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.schedule import (
    DEFAULT_DUTIES,
    AgendaState,
    DutySpec,
    ScheduleService,
    attachments_dir,
    build_ics,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def svc(db, admin) -> ScheduleService:
    s = ScheduleService(db, admin)
    assert s.install_defaults() == len(DEFAULT_DUTIES)
    assert s.install_defaults() == 0  # idempotent
    return s


def _codes(items) -> list[str]:
    return [i.code for i in items]


def test_agenda_check_off_with_note_attachment_and_who(svc, db, make_actor, tmp_path):
    clerk = ScheduleService(db, make_actor(Role.CLERK))
    with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):  # a Tuesday morning
        agenda = clerk.agenda()
        assert agenda.day == date(2026, 11, 24)
        today = [i for i in agenda.items if i.due_on == agenda.day]
        assert set(_codes(today)) == {"D-MORNING", "D-ARRIVALS", "W2-MEETING"}
        assert all(i.state is AgendaState.DUE for i in today)
        # yesterday's duties were never done: overdue, listed first
        overdue = [i for i in agenda.items if i.state is AgendaState.OVERDUE]
        assert {"W1-CASES", "D-MORNING"} <= set(_codes(overdue))
        assert agenda.items[0].state is AgendaState.OVERDUE
        scan = tmp_path / "早会纪要.pdf"
        scan.write_bytes(b"%PDF-1.4 minutes")
        morning = next(i for i in today if i.code == "D-MORNING")
        item = clerk.check_off(
            morning.duty_id, morning.nominal_on, note="已邮件发送厂家", attachment=scan
        )
        assert item.state is AgendaState.DONE and item.done_by == "clerk user"
        sha = hashlib.sha256(scan.read_bytes()).hexdigest()
        stored = attachments_dir(db.path) / sha[:2] / sha
        assert stored.read_bytes() == scan.read_bytes()
        assert clerk.attachment_path(sha) == stored
        with pytest.raises(RefusedError):
            clerk.check_off(morning.duty_id, morning.nominal_on)
        with pytest.raises(ValidationError):  # not an occurrence of that duty
            clerk.check_off(morning.duty_id, date(2026, 11, 22))
    with time_machine.travel(at(2026, 11, 24, 17, 30), tick=False):
        agenda = clerk.agenda()
        by_code = {i.code: i for i in agenda.items if i.due_on == agenda.day}
        assert by_code["D-MORNING"].state is AgendaState.DONE
        assert by_code["D-MORNING"].note == "已邮件发送厂家"
        assert by_code["D-MORNING"].attachment_name == "早会纪要.pdf"
        assert by_code["W2-MEETING"].state is AgendaState.OVERDUE  # 17:00 passed
        late = clerk.check_off(by_code["W2-MEETING"].duty_id, by_code["W2-MEETING"].nominal_on)
        assert late.state is AgendaState.LATE
        clerk.undo_check_off(late.duty_id, late.nominal_on)
        assert {i.code for i in clerk.overdue()} >= {"W2-MEETING", "W1-CASES"}


def test_warehouse_keeper_may_not_check_off_or_edit(svc, db, make_actor):
    keeper = ScheduleService(db, make_actor(Role.WAREHOUSE))
    item = keeper.agenda(date(2026, 11, 24)).items[0]
    with pytest.raises(PermissionDenied):
        keeper.check_off(item.duty_id, item.nominal_on)
    with pytest.raises(PermissionDenied):
        keeper.install_defaults()
    with pytest.raises(PermissionDenied):
        keeper.set_day(date(2027, 1, 1), working=False)


def test_editing_duties_validates_and_keeps_codes_unique(svc):
    spec = DutySpec(
        "x-report", "每周三交周报", "FREQ=WEEKLY;BYDAY=WE", date(2026, 1, 1), time(16), Shift.BEFORE
    )
    duty_id = svc.create_duty(spec)
    row = next(r for r in svc.duties() if r.id == duty_id)
    assert row.code == "X-REPORT" and row.when_text.startswith("Weekly on Wed")
    with pytest.raises(ValidationError) as err:
        svc.create_duty(spec)
    assert err.value.field == "code"
    with pytest.raises(ValidationError) as err:
        svc.update_duty(
            duty_id, DutySpec("X-REPORT", "t", "FREQ=SECONDLY", date(2026, 1, 1), time(16))
        )
    assert err.value.field == "rrule"
    svc.update_duty(
        duty_id, DutySpec("X-REPORT", "t", "", date(2026, 1, 1), time(16), offset_days=2)
    )
    svc.add_event(duty_id, "新车发布会", date(2026, 11, 20))
    with pytest.raises(ValidationError):
        svc.add_event(duty_id, "新车发布会", date(2026, 11, 20))
    days = [
        o.due_on
        for d, o in svc.occurrences(date(2026, 11, 1), date(2026, 12, 1))
        if d.id == duty_id
    ]
    assert days == [date(2026, 11, 22)]  # 11-20 + 2 days = Sunday, kept (the rule is KEEP)


def test_branch_days_move_deadlines(svc):
    # the branch closes on Friday 2026-12-04: the 5th-of-month deadline (Sat 12-05) moves
    # before to Thu 12-03 instead of Fri 12-04
    before = [
        o.due_on
        for d, o in svc.occurrences(date(2026, 12, 1), date(2026, 12, 10))
        if d.code == "M05-CSI"
    ]
    assert before == [date(2026, 12, 4)]
    svc.set_day(date(2026, 12, 4), working=False, note="店庆停业")
    after = [
        o.due_on
        for d, o in svc.occurrences(date(2026, 12, 1), date(2026, 12, 10))
        if d.code == "M05-CSI"
    ]
    assert after == [date(2026, 12, 3)]
    assert [r.day for r in svc.calendar_days()] == [date(2026, 12, 4)]
    assert svc.calendar_day_page(None, 10).rows[0].note == "店庆停业"
    svc.clear_day(date(2026, 12, 4))
    assert svc.calendar_days() == []


def _expand(ics: bytes) -> dict[str, list[datetime]]:
    import icalendar

    cal = icalendar.Calendar.from_ical(ics)
    out: dict[str, list[datetime]] = {}
    for ev in cal.walk("VEVENT"):
        start = ev.decoded("dtstart")
        rs = rruleset()
        if ev.get("rrule"):
            rs.rrule(rrulestr(ev["rrule"].to_ical().decode(), dtstart=start))
        else:
            rs.rdate(start)
        for key, add in (("rdate", rs.rdate), ("exdate", rs.exdate)):
            values = ev.get(key) or []
            for v in values if isinstance(values, list) else [values]:
                for d in v.dts:
                    add(d.dt)
        out[str(ev["summary"])] = list(rs)
    return out


def test_ics_parses_and_expands_to_the_program_occurrences(svc):
    duty = next(r for r in svc.duties() if r.code == "E-CAMPAIGN")
    svc.add_event(duty.id, "金秋服务节", date(2026, 9, 29))
    svc.add_event(duty.id, "春季保养月", date(2026, 3, 31))
    svc.set_day(date(2027, 10, 1), working=False, note="国庆节 2027")
    start, end = date(2026, 1, 1), date(2028, 1, 1)
    expanded = _expand(build_ics(svc.db, svc.actor, start, end))
    program: dict[str, list[datetime]] = {}
    for d, o in svc.occurrences(start, end):
        program.setdefault(d.title, []).append(o.due_at)
    assert set(expanded) == set(program)
    for title, dates in program.items():
        assert sorted(expanded[title]) == sorted(dates), title
    assert datetime(2026, 9, 30, 17, 0, tzinfo=TZ) in expanded[duty.title]


def test_duties_report_xlsx_and_pdf(svc, db, admin, tmp_path):
    from openpyxl import load_workbook

    from aftersales_desk.services.progress import NO_PROGRESS
    from aftersales_desk.services.report_registry import parse_period, run_report

    with time_machine.travel(at(2026, 11, 3, 18, 0), tick=False):
        first = next(
            i
            for i in svc.agenda(date(2026, 11, 2)).items
            if i.code == "W1-CASES" and i.due_on == date(2026, 11, 2)
        )
        svc.check_off(first.duty_id, first.nominal_on, note="已督促")
        period = parse_period(month="2026-11")
        run_report(db, admin, "duties", period, tmp_path / "d.xlsx", NO_PROGRESS)
        run_report(db, admin, "duties", period, tmp_path / "d.pdf", NO_PROGRESS)
    ws = load_workbook(tmp_path / "d.xlsx").active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][0] == "Duties of 2026-11"
    header = rows.index(["Due", "Code", "Duty", "State", "Done at", "Done by", "Note"])
    body = rows[header + 1 :]
    assert any(r[1] == "W1-CASES" and r[3] == "Done late" and r[6] == "已督促" for r in body)
    assert any(r[3] == "Overdue" for r in body)
    assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")


def test_cli_ls_duties_calendar_and_agenda(svc, db_path, tmp_path, capsys):
    from aftersales_desk.cli import main

    assert main(["ls", "duties", "--db", str(db_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in rows][:2] == ["D-MORNING", "D-ARRIVALS"]
    assert rows[0]["due_time"] == "12:00" and rows[0]["shift"] == "skip"
    out = tmp_path / "duties.ics"
    assert main(["calendar", "--db", str(db_path), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["duties"] == len(DEFAULT_DUTIES) - 2  # no events yet
    assert out.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert main(["calendar", "--db", str(db_path), "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["agenda", "--db", str(db_path), "--date", "2026-11-24", "--json"]) == 0
    agenda = json.loads(capsys.readouterr().out)
    assert "W2-MEETING" in [r["code"] for r in agenda]


def test_demo_history_and_check(tmp_path):
    from aftersales_desk.services.bootstrap import local_actor
    from aftersales_desk.services.demo import fill_demo
    from aftersales_desk.services.integrity import run_checks

    with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):
        db = fill_demo(tmp_path / "demo.sqlite", customers=0)
        try:
            svc = ScheduleService(db, local_actor(db, "admin"))
            month = svc.month(date(2026, 6, 1), date(2026, 7, 1))
            done = [i for i in month if i.done_at is not None]
            assert len(done) > 0.85 * len(month)
            assert {i.done_by for i in done} <= {"张丽", "刘洋", "李建国"}
            assert run_checks(db).ok
        finally:
            db.dispose()


def test_models_match_the_migrations(tmp_path):
    from alembic import command

    import aftersales_desk.data.models  # noqa: F401
    from aftersales_desk.data.migrate import alembic_config

    cfg = alembic_config(url=f"sqlite:///{tmp_path / 'm.sqlite'}")
    command.upgrade(cfg, "head")
    command.check(cfg)
    command.downgrade(cfg, "0001_core")


def test_service_clock_follows_the_branch_settings(svc, db, admin):
    from aftersales_desk.domain.sla import Stage
    from aftersales_desk.services.settings import SettingsService

    opened = at(2026, 11, 20, 16, 0)  # a Friday afternoon
    clock = svc.service_clock(opened)
    assert clock.deadline(timedelta(hours=2)) == at(2026, 11, 20, 18, 0)  # round the clock
    SettingsService(db, admin).update(
        {
            "schedule_sla_working_hours": True,
            "schedule_work_start": "09:00",
            "schedule_work_end": "17:00",
        }
    )
    clock = svc.service_clock(opened)
    status = {s.stage: s for s in clock.status(opened)}
    assert status[Stage.CONTACT].deadline == at(2026, 11, 23, 10, 0)  # 1 h Fri + 1 h Mon
    svc.set_day(date(2026, 11, 23), working=False, note="停电")
    assert svc.service_clock(opened).deadline(timedelta(hours=2)) == at(2026, 11, 24, 10, 0)
    SettingsService(db, admin).update({"schedule_work_end": "8:61"})
    with pytest.raises(ValidationError):
        svc.service_clock(opened)


def test_check_finds_a_damaged_attachment(svc, db, tmp_path):
    from aftersales_desk.services.integrity import run_checks

    with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):
        item = next(
            i
            for i in svc.agenda().items
            if i.code == "D-MORNING" and i.due_on == date(2026, 11, 24)
        )
        f = tmp_path / "回执.jpg"
        f.write_bytes(b"\xff\xd8 receipt")
        svc.check_off(item.duty_id, item.nominal_on, attachment=f)
    assert run_checks(db).ok
    sha = hashlib.sha256(b"\xff\xd8 receipt").hexdigest()
    (attachments_dir(db.path) / sha[:2] / sha).write_bytes(b"tampered")
    result = run_checks(db)
    assert not result.ok and any("回执.jpg" in p for p in result.problems)


def test_cli_report_duties(svc, db_path, tmp_path):
    from aftersales_desk.cli import main

    assert (
        main(
            [
                "report",
                "duties",
                "--db",
                str(db_path),
                "--month",
                "2026-10",
                "--out",
                str(tmp_path / "r.pdf"),
            ]
        )
        == 0
    )
    assert (tmp_path / "r.pdf").stat().st_size > 1000
    assert (
        main(
            [
                "report",
                "duties",
                "--db",
                str(db_path),
                "--week",
                "2026-W40",
                "--out",
                str(tmp_path / "r.xlsx"),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "report",
                "duties",
                "--db",
                str(db_path),
                "--month",
                "2026-10",
                "--out",
                str(tmp_path / "r.csv"),
            ]
        )
        == 2
    )


def test_schedule_settings_are_validated_and_need_the_manager(svc, db, make_actor):
    from dataclasses import replace

    conf = svc.settings()
    assert conf.timezone == "Asia/Shanghai" and conf.overdue_days == 31
    assert not conf.sla_working_hours and conf.work_start == time(8, 30)
    svc.update_settings(replace(conf, overdue_days=7, sla_working_hours=True, work_end=time(18)))
    assert svc.settings().overdue_days == 7 and svc.settings().work_end == time(18)
    for bad in (
        replace(conf, timezone="Mars/Olympus"),
        replace(conf, overdue_days=0),
        replace(conf, work_start=time(18), work_end=time(9)),
    ):
        with pytest.raises(ValidationError):
            svc.update_settings(bad)
    with pytest.raises(PermissionDenied):
        ScheduleService(db, make_actor(Role.CLERK)).update_settings(conf)
    # a shorter window: older undone duties leave the agenda
    with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):
        agenda = svc.agenda()
    assert min(i.due_on for i in agenda.items) >= date(2026, 11, 17)


def test_duty_descriptions():
    from aftersales_desk.services.schedule import describe

    assert describe("FREQ=DAILY", time(12), 0) == "Daily, 12:00"
    assert describe("FREQ=WEEKLY;BYDAY=TU,TH", time(17), 0) == "Weekly on Tue/Thu, 17:00"
    assert describe("FREQ=MONTHLY;BYMONTHDAY=5", time(17), 0) == "Monthly on day 5, 17:00"
    assert describe("FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1", time(17), 0) == "Quarterly, 17:00"
    assert describe("", time(17), 3) == "3 days after each event, 17:00"
    assert describe("FREQ=MONTHLY;BYDAY=1MO", time(9), 0) == "By rule, 09:00"


def test_duty_changes_are_audited_with_their_due_time(svc, db, admin):
    from sqlalchemy import select

    from aftersales_desk.data.models import AuditEntry

    with db.uow(admin) as uow:
        entry = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "schedule_duties").limit(1)
        ).one()
        assert entry.after["due_time"] in ("12:00:00", "17:00:00", "17:30:00")


def test_check_off_many_is_all_or_none(svc, db):
    from sqlalchemy import func, select

    from aftersales_desk.data.models import DutyCheckoff

    day = date(2026, 11, 24)
    with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):
        items = [i for i in svc.agenda(day).items if i.due_on == day]
        keys = [(i.duty_id, i.nominal_on) for i in items]
        with pytest.raises(RefusedError):  # the same occurrence twice: nothing is written
            svc.check_off_many([*keys, keys[0]], note="一起完成")
        with db.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(DutyCheckoff)) == 0
        done = svc.check_off_many(keys, note="一起完成")
    assert [d.state for d in done] == [AgendaState.DONE] * len(keys)
    assert all(d.note == "一起完成" for d in done)
