"""Demo callbacks: the queue generated from the demo archive, the past calls made — most reached
with answers (mostly satisfied, some not), some unanswered or wrong numbers — quick-handling forms
for the unhappy customers, most closed with a second callback, one or two past their deadline.
Deterministic for a seed (the calls are walked by day, then natural key, so the forms' series
numbers follow their dates as on a real desk). Also the ``check`` that a
closed form has its second callback."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models.archive import Customer
from aftersales_desk.data.models.callbacks import Callback, QuickForm
from aftersales_desk.i18n import N_, current_language, set_language
from aftersales_desk.services import integrity
from aftersales_desk.services.callback_questionnaires import active_questionnaire, to_question
from aftersales_desk.services.callback_rules import (
    add_working_days,
    branch_settings,
    second_candidate,
    work_calendar,
)
from aftersales_desk.services.callbacks import (
    SURVEY_RULES,
    CallbackService,
    _apply_call,
    _insert_candidates,
    _next_form_number,
    _zone,
)
from aftersales_desk.services.demo import DemoContext, register

RESPONSIBLE = {
    "前台接待": "刘洋",
    "机修车间": "陈建华",
    "钣喷车间": "赵国栋",
    "配件部": "王强",
    "洗车美容": "孙丽",
    "客户服务": "张丽",
}
COMPLAINTS = [
    "更换机油后仍有异响",
    "等待时间太长",
    "结账时工时费比报价高",
    "车内没有清洁干净",
    "喷漆有色差",
    "接待态度一般",
    "配件价格偏贵",
]
PRAISE = ["服务很好", "师傅讲解很清楚", "速度快", "", "", "", "满意", "下次还来"]
LOST_SAID = [
    ("moved", "已搬到外地"),
    ("sold", "车已经卖了"),
    ("price", "觉得保养价格偏高"),
    ("competitor", "在家附近的修理厂保养"),
    ("distance", "离店太远"),
    ("quality", "上次维修不满意"),
]
ACTIONS = [
    "安排技师复查并免费处理",
    "向客户说明工时标准并致歉",
    "约客户回店重新清洗",
    "返工处理并赠送保养券",
]


def _answers(rng: random.Random, questions: list[Any], unhappy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    bad = (
        rng.choice([q.key for q in questions if q.kind == "score" and q.department])
        if unhappy
        else ""
    )
    for q in questions:
        if q.kind == "score":
            if q.optional and rng.random() < 0.7:
                continue
            score = rng.choices([5, 4, 3], [70, 26, 4])[0]
            if q.key == bad:
                score = rng.choice([1, 2])
            if q.key == "overall" and unhappy:
                score = rng.choice([2, 3])
            out[q.key] = score
        elif q.kind == "yesno":
            out[q.key] = rng.random() < 0.93
        elif q.kind == "choice":
            out[q.key] = rng.choices(q.options, [60, 30, 3, 7][: len(q.options)])[0]
        elif q.key == "comment":
            text = rng.choice(COMPLAINTS) if unhappy else rng.choice(PRAISE)
            if text:
                out[q.key] = text
    return out


@register
def fill_callbacks(ctx: DemoContext) -> None:
    # notes and problem texts are written in the branch's language, as the clerk would
    previous = current_language()
    set_language("zh_CN")
    try:
        _fill(ctx)
    finally:
        set_language(previous)


def _fill(ctx: DemoContext) -> None:
    rng = random.Random(ctx.rng.random())
    clerk = ctx.users.get("zhangli", ctx.actor)
    svc = CallbackService(ctx.db, clerk)
    today = svc.today()
    svc.generate(today - timedelta(days=30))  # a month of history: calls already made
    svc.generate(today)
    with ctx.db.uow(clerk, write=True) as uow:
        s = uow.session
        conf = branch_settings(s, clerk.branch_id)
        tz = _zone(conf["schedule_timezone"])
        cal = work_calendar(s, clerk.branch_id)
        scripts = {
            name: active_questionnaire(s, clerk.branch_id, name, create=True)
            for name in ("standard", "club")
        }
        club = set(s.scalars(select(Customer.id).where(Customer.club_member.is_(True))))
        calls = list(
            s.scalars(
                select(Callback)
                .where(Callback.status == "open", Callback.due_on < today)
                .order_by(Callback.due_on, Callback.natural_key)
            )
        )
        for cb in calls:
            day = cb.due_on
            if rng.random() < 0.12:
                continue  # still waiting: overdue in the queue
            at = datetime.combine(day, time(rng.randrange(9, 17), rng.randrange(60)), tz)
            roll = rng.random()
            if roll < 0.08:
                _apply_call(
                    s,
                    clerk,
                    cb,
                    "no_answer",
                    at=at,
                    local_day=day,
                    answers=None,
                    comment="",
                    complaint=False,
                    note="无人接听",
                    retry_on=None,
                )
                continue
            if roll < 0.12:
                _apply_call(
                    s,
                    clerk,
                    cb,
                    "wrong_number",
                    at=at,
                    local_day=day,
                    answers=None,
                    comment="",
                    complaint=False,
                    note="空号",
                    retry_on=None,
                )
                continue
            if cb.rule not in SURVEY_RULES:  # a reminder or a lost customer: what they said
                reason, said = (
                    rng.choice(LOST_SAID) if cb.rule == "lost" else ("", "好的，下周预约")
                )
                _apply_call(
                    s,
                    clerk,
                    cb,
                    "reached",
                    at=at,
                    local_day=day,
                    answers=None,
                    comment=said,
                    complaint=False,
                    note="",
                    retry_on=None,
                    lost_reason=reason,
                )
                continue
            qn = scripts["club" if cb.customer_id in club else "standard"]
            assert qn is not None
            questions = [to_question(d) for d in qn.questions]
            unhappy = rng.random() < 0.07
            answers = _answers(rng, questions, unhappy)
            result = _apply_call(
                s,
                clerk,
                cb,
                "reached",
                at=at,
                local_day=day,
                answers=answers,
                comment=str(answers.get("comment", "")),
                complaint=False,
                note="",
                retry_on=None,
            )
            if not result.problem:
                continue
            deadline = add_working_days(cal, day, int(conf["callbacks_form_days"]))
            form = QuickForm(
                branch_id=clerk.branch_id,
                number=_next_form_number(s, clerk),
                callback_id=cb.id,
                customer_id=cb.customer_id,
                opened_on=day,
                department=result.department,
                responsible=RESPONSIBLE.get(result.department, "刘洋"),
                deadline=deadline,
                problem=result.problem_text,
                actions=rng.choice(ACTIONS),
            )
            s.add(form)
            s.flush()
            closed_on = add_working_days(cal, day, rng.randrange(1, 4))
            if closed_on < today and rng.random() < 0.8:
                form.status, form.resolution = "closed", "已处理，客户认可"
                form.confirmed_by, form.closed_on = form.responsible, closed_on
                form.closed_at = datetime.combine(closed_on, time(16), tz)
                s.flush()
                cand = second_candidate(form, cal, int(conf["callbacks_second_days"]))
                _insert_candidates(s, clerk, [("second", cand)])
                s.flush()
                second = s.scalars(select(Callback).where(Callback.natural_key == cand.key)).first()
                if second is not None and second.due_on < today:
                    sat = {**_answers(rng, questions, False), "comment": "问题已解决，满意"}
                    _apply_call(
                        s,
                        clerk,
                        second,
                        "reached",
                        at=datetime.combine(second.due_on, time(10), tz),
                        local_day=second.due_on,
                        answers=sat,
                        comment=sat["comment"],
                        complaint=False,
                        note="",
                        retry_on=None,
                    )
        uow.commit()


@integrity.register(N_("Closed quick-handling forms have their second callback"))
def _second_callbacks(s: Session) -> list[str]:
    missing = s.execute(
        select(QuickForm.number)
        .join(Customer, Customer.id == QuickForm.customer_id)
        .outerjoin(
            Callback,
            (Callback.form_id == QuickForm.id) & (Callback.rule == "second"),
        )
        .where(
            QuickForm.status == "closed",
            Customer.consent_call.is_(True),
            Callback.id.is_(None),
        )
        .limit(20)
    ).all()
    return [f"{n}" for (n,) in missing]


__all__ = ["fill_callbacks"]
