"""The callback queue: each rule's due dates (weekends, holidays, month ends), idempotent
generation, refused customers, call outcomes and attempts, questionnaire versions, quick-handling
forms with escalation and the second callback, permissions."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, text

from aftersales_desk.data.models.callbacks import Callback
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.archive import (
    ArchiveService,
    CustomerInput,
    VehicleInput,
    VisitInput,
)
from aftersales_desk.services.callback_questionnaires import Question
from aftersales_desk.services.callback_rules import RULES, Candidate, register_rule
from aftersales_desk.services.callbacks import Bucket, CallbackService, FormInput

TZ = ZoneInfo("Asia/Shanghai")
GOOD = {
    "reception_speed": 5, "completion_speed": 5, "checkout_speed": 4, "parts_price": 4,
    "labour_charge": 4, "staff_service": 5, "quoted_before": True, "explained_after": True,
    "repair_quality": 5, "cleanliness": 5, "arrival": "自驾到店", "overall": 5,
}  # fmt: skip


def at(y: int, m: int, d: int, h: int = 10):
    return time_machine.travel(datetime(y, m, d, h, tzinfo=TZ), tick=False)


@pytest.fixture
def archive(db, admin):
    return ArchiveService(db, admin)


def customer(archive, name="张伟", *, bought=date(2025, 3, 1), **kw):
    saved = archive.create_customer(
        CustomerInput(name=name, phone="13812345678", **kw),
        VehicleInput(plate="京A12345", model="速腾", purchase_date=bought),
    )
    card = archive.card(saved.id)
    return saved.id, card.vehicles[0].id


def visit(archive, cid, vid, day, kind="repair", km=0, **kw):
    return archive.add_visit(
        cid,
        VisitInput(visit_date=day, kind=kind, vehicle_id=vid, mileage_km=km, advisor="王磊", **kw),
    ).id


def queued(db, admin, rule=None):
    with db.uow(admin) as uow:
        q = select(Callback).order_by(Callback.first_due_on)
        if rule:
            q = q.where(Callback.rule == rule)
        return list(uow.session.scalars(q))


@pytest.mark.parametrize(
    ("visit_day", "today", "due"),
    [
        (date(2026, 7, 31), date(2026, 8, 1), date(2026, 8, 5)),  # Fri, month end → Wed
        (date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 10)),  # National Day; Sat works
        (date(2026, 2, 26), date(2026, 2, 27), date(2026, 3, 2)),  # Sat 28 Feb is a working day
        (date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 5)),  # year end
    ],
)
def test_visit_follow_up_counts_working_days(db, admin, archive, visit_day, today, due):
    cid, vid = customer(archive)
    v = visit(archive, cid, vid, visit_day)
    svc = CallbackService(db, admin)
    assert svc.generate(today).added == {"visit": 1}
    [cb] = queued(db, admin)
    assert (cb.rule, cb.natural_key, cb.due_on, cb.first_due_on) == (
        "visit",
        f"visit:{v}",
        due,
        due,
    )
    assert cb.department == "机修车间" and cb.advisor == "王磊" and cb.in_warranty
    assert svc.generate(today).total == 0  # idempotent
    assert len(queued(db, admin)) == 1


def test_visit_days_per_type_and_refusing_customers(db, admin, archive):
    from aftersales_desk.services.settings import SettingsService

    SettingsService(db, admin).update(
        {"callbacks_visit_days": {"repair": 1, "accident": 5}, "schedule_public_holidays": False}
    )
    cid, vid = customer(archive, bought=date(2020, 1, 1))
    visit(archive, cid, vid, date(2026, 3, 27), "repair")  # Fri → Mon
    visit(archive, cid, vid, date(2026, 3, 27), "accident")  # Fri → Fri
    visit(archive, cid, vid, date(2026, 3, 27), "maintenance")  # not configured: no call
    no_id, no_v = customer(archive, "李娜", consent_call=False)
    visit(archive, no_id, no_v, date(2026, 3, 27), "repair")
    CallbackService(db, admin).generate(date(2026, 3, 28))
    rows = [(c.customer_id, c.due_on, c.department, c.in_warranty) for c in queued(db, admin)]
    assert sorted(rows, key=lambda r: r[1]) == [
        (cid, date(2026, 3, 30), "机修车间", False),
        (cid, date(2026, 4, 3), "钣喷车间", False),
    ]
    # a customer who refuses calls after being queued is taken out of the queue
    card = archive.card(cid)
    archive.update_customer(
        cid, CustomerInput(name=card.name, phone="13812345678", consent_call=False)
    )
    assert CallbackService(db, admin).generate(date(2026, 3, 28)).cancelled == 2
    assert {c.status for c in queued(db, admin)} == {"cancelled"}


def test_maintenance_due_by_date_or_mileage_whichever_first(db, admin, archive):
    a_id, a_v = customer(archive, "张伟")
    visit(archive, a_id, a_v, date(2026, 1, 2), "maintenance", 5000)
    # 3,000 km in 59 days: 50.8 km/day; 13,000 km in 98 more days (8 June) before 31 August
    visit(archive, a_id, a_v, date(2026, 3, 2), "maintenance", 8000,
          next_due_date=date(2026, 8, 31), next_due_km=13000)  # fmt: skip
    b_id, b_v = customer(archive, "李娜")
    # one visit: the default 40 km/day reaches 30,000 km on 8 August; the date comes first
    visit(archive, b_id, b_v, date(2025, 12, 1), "maintenance", 20000,
          next_due_date=date(2026, 5, 31), next_due_km=30000)  # fmt: skip
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 5, 16))
    assert queued(db, admin, "maintenance") == []  # reminders on 24 May and 1 June: not yet
    svc.generate(date(2026, 5, 25))
    got = {c.customer_id: c.due_on for c in queued(db, admin, "maintenance")}
    assert got == {a_id: date(2026, 6, 1), b_id: date(2026, 5, 24)}
    assert svc.generate(date(2026, 5, 26)).added.get("maintenance", 0) == 0


def test_lost_customer_after_interval_and_margin(db, admin, archive):
    cid, vid = customer(archive)
    visit(archive, cid, vid, date(2025, 6, 30), "repair")  # expected back 180 days later
    visit(archive, cid, vid, date(2026, 1, 10), "campaign", free_campaign=True)  # no return
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 1, 26))  # 30 days past 27 December: within the margin
    assert queued(db, admin, "lost") == []
    svc.generate(date(2026, 1, 31))
    [cb] = queued(db, admin, "lost")
    assert cb.due_on == date(2026, 1, 31) and "2025-12-27" in cb.note
    svc.generate(date(2026, 2, 28))
    assert len(queued(db, admin, "lost")) == 1


def test_a_rule_is_one_register_call(db, admin, archive):
    cid, _vid = customer(archive)

    def renewal(s, branch_id, today):
        return [Candidate(key=f"ins:{cid}:2026", customer_id=cid, due_on=today, note="续保")]

    built_in = RULES.get("insurance")  # the insurance module's rule, put back afterwards
    register_rule("insurance", "Insurance renewal", renewal)
    try:
        assert CallbackService(db, admin).generate(date(2026, 6, 1)).added == {"insurance": 1}
        assert CallbackService(db, admin).generate(date(2026, 6, 2)).total == 0
    finally:
        RULES.pop("insurance")
        if built_in is not None:
            RULES["insurance"] = built_in


def test_outcomes_attempts_and_retries(db, admin, archive, make_actor):
    clerk = make_actor(Role.CLERK)
    cid, vid = customer(archive)
    visit(archive, cid, vid, date(2026, 11, 17), "repair")  # Tue → due Fri 20th
    svc = CallbackService(db, clerk)
    svc.generate(date(2026, 11, 20))
    with at(2026, 11, 20):
        assert svc.counts().today == 1
        row = svc.next_call()
        assert row is not None and row.due_on == date(2026, 11, 20)
        r = svc.record_call(row.id, "no_answer", note="无人接听")
        assert (r.status, r.attempts, r.retry_on) == ("open", 1, date(2026, 11, 23))
        assert svc.next_call() is None
        assert svc.counts().upcoming == 1
    with at(2026, 11, 23):
        r = svc.record_call(row.id, "no_answer")
        assert r.retry_on == date(2026, 11, 24)
    with at(2026, 11, 24):
        r = svc.record_call(row.id, "no_answer")
        assert (r.status, r.attempts) == ("unreachable", 3)
        assert svc.counts().done == 1
        with pytest.raises(RefusedError):
            svc.record_call(row.id, "reached", answers=GOOD)
    sheet = svc.sheet(row.id)
    assert [a.outcome for a in sheet.attempts] == ["no_answer"] * 3
    assert sheet.attempts[0].note == "无人接听"
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE callback_attempts SET outcome = 'reached'"))
    with pytest.raises(PermissionDenied):
        CallbackService(db, make_actor(Role.WAREHOUSE)).record_call(row.id, "reached")


def test_questionnaire_versions_keep_past_answers(db, admin, archive, make_actor):
    cid, vid = customer(archive)
    club_id, club_v = customer(archive, "赵敏", club_member=True)
    visit(archive, cid, vid, date(2026, 11, 17))
    visit(archive, cid, vid, date(2026, 11, 18))
    visit(archive, club_id, club_v, date(2026, 11, 18))
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 11, 23))
    first, second, club = sorted(queued(db, admin), key=lambda c: (c.due_on, c.customer_id != cid))
    with at(2026, 11, 23):
        svc.record_call(first.id, "reached", answers=GOOD, comment="很好")
    v1 = svc.questionnaire("standard")
    assert v1.version == 1 and v1.id is not None
    qs = [q for q in v1.questions if q.key != "paint_quality"]
    qs.insert(1, Question("waiting_area", "休息区环境", "score", "前台接待"))
    with pytest.raises(PermissionDenied):
        CallbackService(db, make_actor(Role.CLERK)).save_questionnaire("standard", "新问卷", qs)
    with pytest.raises(ValidationError, match="overall"):
        svc.save_questionnaire("standard", "新问卷", [q for q in qs if q.key != "overall"])
    v2 = svc.save_questionnaire("standard", "维修保养回访问卷(2026版)", qs)
    assert v2.version == 2 and [v.version for v in svc.versions("standard")] == [2, 1]
    with at(2026, 11, 23):
        with pytest.raises(ValidationError, match="Unknown question"):
            svc.record_call(second.id, "reached", answers={**GOOD, "paint_quality": 5})
        svc.record_call(second.id, "reached", answers={**GOOD, "waiting_area": 3})
        # club members get their own script
        assert svc.sheet(club.id).questionnaire.script == "club"
        svc.record_call(club.id, "reached", answers={**GOOD, "club_events": True})
    old = svc.sheet(first.id)
    assert old.questionnaire.version == 1 and old.answers["overall"] == 5
    assert "paint_quality" in [q.key for q in old.questionnaire.questions]
    assert old.comment == "很好"
    assert svc.sheet(second.id).questionnaire.version == 2
    assert svc.sheet(second.id).answers["waiting_area"] == 3
    with at(2026, 11, 23), pytest.raises(ValidationError, match="1 to 5"):
        cid2, vid2 = customer(archive, "钱多")
        visit(archive, cid2, vid2, date(2026, 11, 18))
        svc.generate(date(2026, 11, 23))
        svc.record_call(queued(db, admin)[-1].id, "reached", answers={**GOOD, "overall": 6})


def test_problem_form_escalates_and_closing_queues_the_second_callback(db, admin, archive):
    cid, vid = customer(archive)
    visit(archive, cid, vid, date(2026, 11, 17))
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 11, 20))
    [cb] = queued(db, admin)
    with at(2026, 11, 20):
        r = svc.record_call(
            cb.id,
            "reached",
            answers={**GOOD, "repair_quality": 2, "overall": 3},
            comment="异响未修好",
        )
        assert r.problem and r.department == "机修车间"
        assert "维修质量" in r.problem_text and "异响未修好" in r.problem_text
        assert svc.default_deadline() == date(2026, 11, 24)  # two working days after Friday
        with pytest.raises(ValidationError):
            svc.open_form(cb.id, FormInput("机修车间", "", date(2026, 11, 24), r.problem_text))
        form = svc.open_form(
            cb.id,
            FormInput("机修车间", "陈师傅", date(2026, 11, 24), r.problem_text, "重新检查底盘"),
        )
        assert form.number == "BJ01-A-KS000001" and form.status == "open"
        with pytest.raises(RefusedError):
            svc.open_form(cb.id, FormInput("机修车间", "陈师傅", date(2026, 11, 24), "x"))
    with at(2026, 11, 24):
        assert svc.overdue_forms() == []
    with at(2026, 11, 25):
        [late] = svc.overdue_forms()
        assert late.id == form.id and late.escalated and late.overdue_days == 1
        with pytest.raises(ValidationError, match="陈师傅"):
            svc.close_form(form.id, "已更换减震器", "王磊")
        second = svc.close_form(form.id, "已更换减震器，客户试车满意", "陈师傅")
        assert svc.overdue_forms() == []
    assert second is not None and second.rule == "second"
    assert second.due_on == date(2026, 11, 27)  # two working days after Wednesday
    assert svc.form(form.id).closed_on == date(2026, 11, 25)
    assert svc.generate(date(2026, 11, 26)).added.get("second", 0) == 0
    with at(2026, 11, 27):
        assert svc.next_call().id == second.id


def test_queue_buckets_filters_and_keyset_pages(db, admin, archive):
    cid, vid = customer(archive)
    for day in (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5),
                date(2026, 11, 19), date(2026, 11, 20)):  # fmt: skip
        visit(archive, cid, vid, day, "repair")
    visit(archive, cid, vid, date(2026, 11, 17), "accident")
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 11, 20))
    today = date(2026, 11, 20)
    counts = svc.counts(today)
    assert (counts.overdue, counts.today, counts.upcoming, counts.done) == (4, 1, 2, 0)
    ids = []
    cursor = None
    while True:
        page = svc.page(Bucket.OVERDUE, cursor, 3, today=today)
        ids += [r.id for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == 4
    from aftersales_desk.services.callbacks import Filters

    only = Filters(department="钣喷车间")
    assert svc.counts(today, only).today == 1 and svc.counts(today, only).overdue == 0
    assert svc.page(Bucket.TODAY, None, 10, today=today, filters=only).rows[0].rule == "visit"


def test_rules_are_configurable(db, admin, archive, make_actor):
    from dataclasses import replace

    from aftersales_desk.services.callbacks import rule_settings, update_rule_settings

    conf = rule_settings(db, admin)
    assert conf.visit_days["repair"] == 3 and "lost" in conf.enabled
    with pytest.raises(PermissionDenied):
        update_rule_settings(db, make_actor(Role.CLERK), conf)
    with pytest.raises(ValidationError):
        update_rule_settings(db, admin, replace(conf, max_attempts=0))
    update_rule_settings(db, admin, replace(conf, enabled=("visit",), visit_days={"repair": 1}))
    cid, vid = customer(archive)
    visit(archive, cid, vid, date(2026, 11, 20), "repair")  # Fri → Mon
    visit(archive, cid, vid, date(2025, 1, 2), "repair")  # lost, but the rule is off
    assert CallbackService(db, admin).generate(date(2026, 11, 21)).added == {"visit": 1}
    assert queued(db, admin)[0].due_on == date(2026, 11, 23)


def test_reminder_and_lost_calls_note_what_was_said_without_the_questionnaire(db, admin, archive):
    from aftersales_desk.data.models.archive import LostReason

    cid, vid = customer(archive)
    visit(archive, cid, vid, date(2025, 6, 30), "repair")
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 1, 31))
    [cb] = queued(db, admin, "lost")
    assert not svc.sheet(cb.id).survey
    with at(2026, 1, 31):
        with pytest.raises(ValidationError, match="Unknown reason"):
            svc.record_call(cb.id, "reached", comment="搬家了", lost_reason="aliens")
        r = svc.record_call(cb.id, "reached", comment="搬到天津了", lost_reason="moved")
    assert r.status == "done" and not r.problem
    with db.uow(admin) as uow:
        reasons = [
            (x.vehicle_id, x.reason, x.note) for x in uow.session.scalars(select(LostReason))
        ]
        done = uow.session.get(Callback, cb.id)
        assert (done.overall, done.answers, done.comment) == (None, None, "搬到天津了")
    assert reasons == [(vid, "moved", "搬到天津了")]


def test_bad_input_is_a_clear_validation_error(db, admin, archive):
    cid, vid = customer(archive)
    visit(archive, cid, vid, date(2026, 11, 17))
    svc = CallbackService(db, admin)
    svc.generate(date(2026, 11, 20))
    [cb] = queued(db, admin)
    with pytest.raises(ValidationError) as err:
        svc.record_call(cb.id, "hung_up")
    assert err.value.field == "outcome"
    bad = [Question("a b", "x", "score"), Question("overall", "总体", "score")]
    with pytest.raises(ValidationError) as err:
        svc.save_questionnaire("standard", "t", bad)
    assert err.value.field == "key"
    with pytest.raises(ValidationError) as err:
        svc.save_questionnaire("standard", "t", [Question("overall", "总体", "stars")])
    assert err.value.field == "kind"
    with at(2026, 11, 20):
        svc.record_call(cb.id, "reached", answers={**GOOD, "overall": 1})
        form = svc.open_form(cb.id, FormInput("前台接待", "刘经理", date(2026, 11, 24), "差"))
        with pytest.raises(ValidationError) as err:
            svc.close_form(form.id, "  ", "刘经理")
    assert err.value.field == "resolution"
