"""Callback questionnaires (回访问卷): the default scripts from the seeds (standard, and the club
members' own), the questions and their checks, a branch's versions of a script, and the checks of
the answers a call records."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models.callbacks import Questionnaire
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import N_, _

MAX_TEXT = 1000
SCORE_MIN, SCORE_MAX = 1, 5
SATISFIED = 4  # a score of 4 (satisfied) or 5 (very satisfied) counts as satisfied
SCORE_LABELS = {
    5: N_("Very satisfied"),
    4: N_("Satisfied"),
    3: N_("Neutral"),
    2: N_("Dissatisfied"),
    1: N_("Very dissatisfied"),
}


# --- questions -------------------------------------------------------------------------------
QUESTION_KINDS = ("score", "yesno", "choice", "text")


def _q(key: str, text: str, kind: str, department: str = "", **extra: Any) -> dict[str, Any]:
    return {"key": key, "text": text, "kind": kind, "department": department, **extra}


# From the seeds (维修保养过程回访 — 回访内容 1–7): speed at reception, completion and checkout;
# parts price and labour; staff service (quoted first, explained after); repair and paint
# quality, cleanliness; how the customer came; overall rating and comments; next maintenance
# and booking reminders.
STANDARD_QUESTIONS: list[dict[str, Any]] = [
    _q("reception_speed", "维修接待期间的速度", "score", "前台接待"),
    _q("completion_speed", "完工交车的速度", "score", "机修车间"),
    _q("checkout_speed", "结帐的速度", "score", "前台接待"),
    _q("parts_price", "配件价格", "score", "配件部"),
    _q("labour_charge", "工时费", "score", "前台接待"),
    _q("staff_service", "维修人员的服务", "score", "前台接待"),
    _q("quoted_before", "接待时是否主动报价", "yesno", "前台接待"),
    _q("explained_after", "维修完毕后是否逐项讲解维修内容", "yesno", "机修车间"),
    _q("repair_quality", "维修质量", "score", "机修车间"),
    _q("paint_quality", "喷漆质量(未喷漆可不填)", "score", "钣喷车间", optional=True),
    _q("cleanliness", "车辆清洁程度", "score", "洗车美容"),
    _q(
        "arrival",
        "到店情况",
        "choice",
        "",
        options=["自驾到店", "预约到店", "救援拖车", "取送车服务"],
    ),
    _q("overall", "对本次服务过程的总体评价", "score", "", required=True),
    _q("comment", "用户意见", "text"),
    _q("next_maintenance", "已提醒下次保养项目及里程", "yesno"),
    _q("booking", "已提醒本店预约服务", "yesno"),
]
CLUB_QUESTIONS: list[dict[str, Any]] = [
    *STANDARD_QUESTIONS[:13],
    _q("club_care", "会员近况关怀(用车情况、家人出行)", "text"),
    _q("club_events", "是否愿意参加车友俱乐部活动", "yesno"),
    _q("club_ideas", "会员对售后的合理化建议及其它店的长处", "text"),
    *STANDARD_QUESTIONS[13:],
]
DEFAULT_SCRIPTS = {
    "standard": ("维修保养回访问卷", STANDARD_QUESTIONS),
    "club": ("俱乐部会员回访问卷", CLUB_QUESTIONS),
}
SCRIPT_LABELS = {"standard": N_("Standard script"), "club": N_("Club members' script")}


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    text: str
    kind: str
    department: str = ""
    options: tuple[str, ...] = ()
    required: bool = False
    optional: bool = False

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "key": self.key,
            "text": self.text,
            "kind": self.kind,
            "department": self.department,
        }
        if self.options:
            d["options"] = list(self.options)
        if self.required:
            d["required"] = True
        if self.optional:
            d["optional"] = True
        return d


def to_question(d: dict[str, Any]) -> Question:
    return Question(
        str(d["key"]),
        str(d["text"]),
        str(d["kind"]),
        str(d.get("department", "")),
        tuple(d.get("options", ())),
        bool(d.get("required", False)),
        bool(d.get("optional", False)),
    )


@dataclass(frozen=True, slots=True)
class QuestionnaireRow:
    id: uuid.UUID | None  # None: the default, not stored yet
    script: str
    version: int
    title: str
    questions: tuple[Question, ...]
    created_at: datetime | None = None


def check_questions(questions: list[Question]) -> list[Question]:
    if not questions:
        raise ValidationError(_("A questionnaire needs at least one question."), field="questions")
    seen: set[str] = set()
    for i, q in enumerate(questions, start=1):
        where = _("Question {n}").format(n=i)
        key = q.key.strip()
        if not key or not key.replace("_", "").isalnum() or not key.isascii():
            raise ValidationError(
                _("{where}: the key is letters, digits and _ only.").format(where=where),
                field="key",
            )
        if key in seen:
            raise ValidationError(
                _("{where}: the key {key} is used twice.").format(where=where, key=key), field="key"
            )
        seen.add(key)
        if not q.text.strip():
            raise ValidationError(_("{where}: the question has no text.").format(where=where))
        if q.kind not in QUESTION_KINDS:
            raise ValidationError(
                _("{where}: unknown kind {kind}.").format(where=where, kind=q.kind), field="kind"
            )
        if q.kind == "choice" and not [o for o in q.options if o.strip()]:
            raise ValidationError(_("{where}: a choice needs options.").format(where=where))
    if "overall" not in seen:
        raise ValidationError(
            _("A questionnaire needs the overall rating (key overall)."), field="questions"
        )
    return [
        Question(
            q.key.strip(),
            q.text.strip()[:200],
            q.kind,
            q.department.strip()[:40],
            tuple(o.strip() for o in q.options if o.strip()),
            q.required or q.key.strip() == "overall",
            q.optional,
        )
        for q in questions
    ]


def questionnaire_row(qn: Questionnaire) -> QuestionnaireRow:
    return QuestionnaireRow(
        qn.id,
        qn.script,
        qn.version,
        qn.title,
        tuple(to_question(d) for d in qn.questions),
        qn.created_at,
    )


def active_questionnaire(
    s: Session, branch_id: uuid.UUID | None, script: str, *, create: bool
) -> Questionnaire | None:
    """The branch's current version of ``script``; with ``create`` the default is stored as
    version 1 when the branch has none (inside the caller's write transaction)."""
    qn = s.scalars(
        select(Questionnaire)
        .where(Questionnaire.branch_id == branch_id, Questionnaire.script == script)
        .order_by(Questionnaire.version.desc())
        .limit(1)
    ).first()
    if qn is None and create:
        title, questions = DEFAULT_SCRIPTS[script]
        qn = Questionnaire(
            branch_id=branch_id,
            script=script,
            version=1,
            title=title,
            questions=copy.deepcopy(questions),
            active=True,
        )
        s.add(qn)
        s.flush()
    return qn


def check_answers(
    questions: tuple[Question, ...], answers: dict[str, Any]
) -> tuple[dict[str, Any], list[Question]]:
    """Clean ``answers`` against the questions; returns them and the questions answered with a
    low score is decided by the caller. Raises ValidationError naming the question."""
    by_key = {q.key: q for q in questions}
    unknown = [k for k in answers if k not in by_key]
    if unknown:
        raise ValidationError(
            _("Unknown question: {key}").format(key=", ".join(sorted(unknown))), field=unknown[0]
        )
    out: dict[str, Any] = {}
    for q in questions:
        value = answers.get(q.key)
        if value is None or value == "":
            if q.required:
                raise ValidationError(
                    _("Please answer: {question}").format(question=q.text), field=q.key
                )
            continue
        if q.kind == "score":
            if isinstance(value, bool) or not isinstance(value, int):
                try:
                    value = int(str(value))
                except ValueError:
                    value = 0
            if not SCORE_MIN <= value <= SCORE_MAX:
                raise ValidationError(
                    _("{question}: a score is 1 to 5.").format(question=q.text), field=q.key
                )
        elif q.kind == "yesno":
            if not isinstance(value, bool):
                raise ValidationError(
                    _("{question}: answer yes or no.").format(question=q.text), field=q.key
                )
        elif q.kind == "choice":
            if value not in q.options:
                raise ValidationError(
                    _("{question}: choose one of {options}.").format(
                        question=q.text, options=" / ".join(q.options)
                    ),
                    field=q.key,
                )
        else:
            value = str(value).strip()[:MAX_TEXT]
        out[q.key] = value
    return out, list(questions)


def check_script(script: str) -> None:
    if script not in DEFAULT_SCRIPTS:
        raise ValidationError(_("Unknown script: {value}").format(value=script), field="script")


def default_row(script: str) -> QuestionnaireRow:
    title, questions = DEFAULT_SCRIPTS[script]
    return QuestionnaireRow(None, script, 1, title, tuple(to_question(d) for d in questions))
