"""Callback queue use cases (回访): generating the queue from the rules, the queue itself (due
today, overdue, upcoming, done; filters; the next call), recording a call (reached with the
questionnaire's answers, no answer — retried later, attempts counted — or wrong number),
versioned questionnaires per branch (default from the seeds; club members' own script), the
quick-handling form 快速处理表 with its escalation and the second callback, ``ls callbacks``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from aftersales_desk.data.models.archive import Customer, Vehicle, Visit
from aftersales_desk.data.models.callbacks import CallAttempt, Callback, Questionnaire, QuickForm
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import mask_phone
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import listing
from aftersales_desk.services.auth import require
from aftersales_desk.services.callback_questionnaires import (
    MAX_TEXT,
    SCORE_LABELS,
    Question,
    QuestionnaireRow,
    active_questionnaire,
    check_answers,
    check_questions,
    check_script,
    default_row,
    questionnaire_row,
    to_question,
)
from aftersales_desk.services.callback_rules import (
    RULES,
    add_working_days,
    branch_settings,
    refused,
    rule_label,
    second_candidate,
    work_calendar,
)
from aftersales_desk.services.numbering import next_number
from aftersales_desk.services.pages import Page, keyset, page

DONE_STATUSES = ("done", "unreachable", "wrong_number")
SURVEY_RULES = frozenset({"visit", "second"})  # calls after a visit ask the questionnaire


class Bucket(StrEnum):
    TODAY = "today"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"
    DONE = "done"

    @property
    def label(self) -> str:
        return _(BUCKET_LABELS[self])


BUCKET_LABELS = {
    Bucket.TODAY: N_("Due today"),
    Bucket.OVERDUE: N_("Overdue"),
    Bucket.UPCOMING: N_("Upcoming"),
    Bucket.DONE: N_("Done"),
}
STATUS_LABELS = {
    "open": N_("To call"),
    "done": N_("Reached"),
    "unreachable": N_("Unreachable"),
    "wrong_number": N_("Wrong number"),
    "cancelled": N_("Cancelled"),
}
OUTCOME_LABELS = {
    "reached": N_("Reached"),
    "no_answer": N_("No answer"),
    "wrong_number": N_("Wrong number"),
}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


# --- rows -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueueRow:
    id: uuid.UUID
    due_on: date
    first_due_on: date
    rule: str
    customer_id: uuid.UUID
    customer_no: str
    name: str
    phone: str
    club_member: bool
    plate: str
    advisor: str
    department: str
    note: str
    status: str
    attempts: int
    overall: int | None
    problem: bool
    done_on: date | None

    @property
    def rule_text(self) -> str:
        return rule_label(self.rule)

    @property
    def status_text(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True, slots=True)
class Counts:
    today: int
    overdue: int
    upcoming: int
    done: int

    def of(self, bucket: Bucket) -> int:
        return int(getattr(self, bucket.value))


@dataclass(frozen=True, slots=True)
class Filters:
    rule: str = ""
    advisor: str = ""
    department: str = ""


@dataclass(frozen=True, slots=True)
class AttemptRow:
    at: datetime
    by: str
    outcome: str
    note: str


@dataclass(frozen=True, slots=True)
class CallSheet:
    """What the clerk sees while calling: whom, why, the visit, the script, earlier tries."""

    row: QueueRow
    phone: str  # unmasked when the actor may see personal data
    phone2: str
    vehicle: str
    visit_date: date | None
    visit_kind: str
    visit_items: str
    mileage_km: int | None
    next_due_date: date | None
    next_due_km: int | None
    questionnaire: QuestionnaireRow
    attempts: list[AttemptRow]
    answers: dict[str, Any] = field(default_factory=dict)
    comment: str = ""

    @property
    def survey(self) -> bool:
        """Whether the call asks the questionnaire (a reminder or a lost customer's call does
        not: it notes what the customer said)."""
        return self.row.rule in SURVEY_RULES


@dataclass(frozen=True, slots=True)
class CallResult:
    callback_id: uuid.UUID
    status: str
    attempts: int
    problem: bool
    department: str  # where the problem most likely belongs (the lowest-scored question's)
    problem_text: str  # a draft of the form's problem description
    retry_on: date | None = None


@dataclass(frozen=True, slots=True)
class FormInput:
    department: str
    responsible: str
    deadline: date
    problem: str
    actions: str = ""


@dataclass(frozen=True, slots=True)
class FormRow:
    id: uuid.UUID
    number: str
    callback_id: uuid.UUID
    customer_name: str
    plate: str
    opened_on: date
    department: str
    responsible: str
    deadline: date
    problem: str
    actions: str
    status: str
    resolution: str
    confirmed_by: str
    closed_on: date | None
    overdue_days: int  # 0 unless open past its deadline

    @property
    def escalated(self) -> bool:
        return self.overdue_days > 0


@dataclass(frozen=True, slots=True)
class Generated:
    added: dict[str, int]
    cancelled: int  # open calls of customers who have since refused calls

    @property
    def total(self) -> int:
        return sum(self.added.values())


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _customer_phone(actor: Actor, phone: str) -> str:
    return phone if actor.can(Permission.VIEW_PERSONAL_DATA) else mask_phone(phone)


_QUEUE_COLS = (
    Callback.id,
    Callback.due_on,
    Callback.first_due_on,
    Callback.rule,
    Callback.customer_id,
    Customer.customer_no,
    Customer.name,
    Customer.phone,
    Customer.club_member,
    Vehicle.plate,
    Callback.advisor,
    Callback.department,
    Callback.note,
    Callback.status,
    Callback.attempts,
    Callback.overall,
    Callback.problem,
    Callback.done_on,
)


def _apply_call(
    s: Session,
    actor: Actor,
    cb: Callback,
    outcome: str,
    *,
    at: datetime,
    local_day: date,
    answers: dict[str, Any] | None,
    comment: str,
    complaint: bool,
    note: str,
    retry_on: date | None,
    conf: dict[str, Any] | None = None,
    lost_reason: str = "",
) -> CallResult:
    """Record one call on ``cb`` inside the caller's transaction (also used by the demo)."""
    conf = conf or branch_settings(s, actor.branch_id)
    who = actor.display_name or actor.username
    if outcome not in OUTCOME_LABELS:
        raise ValidationError(_("Unknown outcome: {value}").format(value=outcome), field="outcome")
    if cb.status != "open":
        raise RefusedError(
            _("This call was already recorded ({status}, {by}).").format(
                status=status_label(cb.status), by=cb.done_by or "-"
            )
        )
    s.add(
        CallAttempt(
            branch_id=cb.branch_id,
            callback_id=cb.id,
            at=at,
            by=who,
            outcome=outcome,
            note=note.strip()[:400],
        )
    )
    cb.attempts += 1
    cb.outcome = outcome
    problem, department, problem_text, retry = False, cb.department, "", None
    if outcome == "reached" and cb.rule not in SURVEY_RULES:
        # a reminder or a lost customer: what the customer said (and why they stopped coming)
        comment = comment.strip()[:MAX_TEXT]
        if lost_reason:
            from aftersales_desk.data.models.archive import LostReason
            from aftersales_desk.services.archive import LOST_REASONS

            if lost_reason not in LOST_REASONS:
                raise ValidationError(
                    _("Unknown reason: {reason}").format(reason=lost_reason), field="lost_reason"
                )
            if cb.vehicle_id is not None:
                s.add(
                    LostReason(
                        branch_id=cb.branch_id,
                        vehicle_id=cb.vehicle_id,
                        reason=lost_reason,
                        note=comment[:400],
                        noted_on=local_day,
                    )
                )
        problem = complaint
        problem_text = comment
        cb.status, cb.comment, cb.problem = "done", comment, problem
    elif outcome == "reached":
        with s.no_autoflush:  # plain columns: this runs for every call saved
            club = s.scalar(select(Customer.club_member).where(Customer.id == cb.customer_id))
            script = "club" if club else "standard"
            current = s.execute(
                select(Questionnaire.id, Questionnaire.questions)
                .where(Questionnaire.branch_id == actor.branch_id, Questionnaire.script == script)
                .order_by(Questionnaire.version.desc())
                .limit(1)
            ).first()
            if current is None:
                qn = active_questionnaire(s, actor.branch_id, script, create=True)
                assert qn is not None
                current = (qn.id, qn.questions)
        qn_id, qn_questions = current
        questions = tuple(to_question(d) for d in qn_questions)
        clean, _qs = check_answers(questions, dict(answers or {}))
        low = int(conf["callbacks_low_score"])
        scored = [(clean[q.key], q) for q in questions if q.kind == "score" and q.key in clean]
        lows = sorted([(v, q) for v, q in scored if v <= low], key=lambda x: x[0])
        comment = comment.strip()[:MAX_TEXT]
        problem = complaint or bool(lows)
        if lows and lows[0][1].department:
            department = lows[0][1].department
        parts = [f"{q.text}: {_(SCORE_LABELS[v])}" for v, q in lows]
        if comment:
            parts.append(comment)
        problem_text = "; ".join(parts)
        cb.status, cb.questionnaire_id, cb.answers = "done", qn_id, clean
        cb.overall, cb.comment, cb.problem = clean.get("overall"), comment, problem
    elif outcome == "wrong_number":
        cb.status = "wrong_number"
    elif cb.attempts >= int(conf["callbacks_max_attempts"]):
        cb.status = "unreachable"
    else:
        cal = work_calendar(s, actor.branch_id)
        retry = retry_on or add_working_days(cal, local_day, 1)
        if retry <= local_day:
            raise ValidationError(_("Retry on a later day."), field="retry_on")
        cb.due_on = retry
    if cb.status != "open":
        cb.done_at, cb.done_on, cb.done_by = at, local_day, who
    return CallResult(cb.id, cb.status, cb.attempts, problem, department, problem_text, retry)


def _next_form_number(s: Session, actor: Actor) -> str:
    """The next number of the desk's quick-handling form series (``BJ01-A-KS000001``)."""
    return next_number(s, actor, "quick_form").text


def _insert_candidates(
    s: Session, actor: Actor, candidates: list[tuple[str, Any]]
) -> dict[str, int]:
    """Insert the candidates whose natural key is new; customers who refused calls are left
    out. Returns how many each rule added."""
    added: dict[str, int] = {}
    no_calls = refused(s, (c.customer_id for _r, c in candidates))
    keys = [c.key for _r, c in candidates]
    existing: set[str] = set()
    for i in range(0, len(keys), 500):
        existing.update(
            s.scalars(
                select(Callback.natural_key).where(
                    Callback.branch_id == actor.branch_id,
                    Callback.natural_key.in_(keys[i : i + 500]),
                )
            )
        )
    for rule, c in candidates:
        if c.key in existing or c.customer_id in no_calls:
            continue
        existing.add(c.key)
        s.add(
            Callback(
                branch_id=actor.branch_id,
                rule=rule,
                natural_key=c.key,
                customer_id=c.customer_id,
                vehicle_id=c.vehicle_id,
                visit_id=c.visit_id,
                form_id=c.form_id,
                advisor=c.advisor[:60],
                department=c.department[:40],
                note=c.note[:400],
                in_warranty=c.in_warranty,
                first_due_on=c.due_on,
                due_on=c.due_on,
            )
        )
        added[rule] = added.get(rule, 0) + 1
    return added


class CallbackService:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor
        self.branch_id = actor.branch_id

    # --- time ----------------------------------------------------------------------------------
    def today(self) -> date:
        with self.db.uow(self.actor) as uow:
            tz = _zone(str(branch_settings(uow.session, self.branch_id)["schedule_timezone"]))
        return utcnow().astimezone(tz).date()

    def settings(self) -> dict[str, Any]:
        with self.db.uow(self.actor) as uow:
            return branch_settings(uow.session, self.branch_id)

    # --- generation ----------------------------------------------------------------------------
    def generate(self, today: date | None = None) -> Generated:
        """Run every enabled rule for ``today`` and queue what is new (one transaction)."""
        require(self.actor, Permission.WORK_CALLBACKS)
        today = today or self.today()
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            enabled = set(branch_settings(s, self.branch_id)["callbacks_rules"])
            candidates: list[tuple[str, Any]] = []
            for name, rule in RULES.items():
                if name in enabled:
                    candidates.extend((name, c) for c in rule.fn(s, self.branch_id, today))
            added = _insert_candidates(s, self.actor, candidates)
            # a customer who has refused calls since being queued is not called
            stale = list(
                s.scalars(
                    select(Callback)
                    .join(Customer, Customer.id == Callback.customer_id)
                    .where(
                        Callback.branch_id == self.branch_id,
                        Callback.status == "open",
                        Customer.consent_call.is_(False),
                    )
                )
            )
            for cb in stale:
                cb.status = "cancelled"
                cb.note = (cb.note + " " + _("(the customer refuses calls)")).strip()[:400]
            uow.commit()
        return Generated(added, len(stale))

    # --- the queue -----------------------------------------------------------------------------
    def _bucket_where(self, bucket: Bucket, today: date, upcoming_days: int) -> list[Any]:
        w: list[Any] = [Callback.branch_id == self.branch_id]
        if bucket is Bucket.DONE:
            w.append(Callback.status.in_(DONE_STATUSES))
        else:
            w.append(Callback.status == "open")
            if bucket is Bucket.TODAY:
                w.append(Callback.due_on == today)
            elif bucket is Bucket.OVERDUE:
                w.append(Callback.due_on < today)
            else:
                w += [
                    Callback.due_on > today,
                    Callback.due_on <= today + timedelta(days=upcoming_days),
                ]
        return w

    @staticmethod
    def _filter_where(filters: Filters) -> list[Any]:
        w: list[Any] = []
        if filters.rule:
            w.append(Callback.rule == filters.rule)
        if filters.advisor:
            w.append(Callback.advisor == filters.advisor)
        if filters.department:
            w.append(Callback.department == filters.department)
        return w

    def counts(self, today: date | None = None, filters: Filters = Filters()) -> Counts:
        with self.db.uow(self.actor) as uow:
            s = uow.session
            conf = branch_settings(s, self.branch_id)
            today = today or utcnow().astimezone(_zone(conf["schedule_timezone"])).date()
            up = int(conf["callbacks_upcoming_days"])
            extra = self._filter_where(filters)
            n = {
                b: s.scalar(
                    select(func.count())
                    .select_from(Callback)
                    .where(*self._bucket_where(b, today, up), *extra)
                )
                or 0
                for b in Bucket
            }
        return Counts(n[Bucket.TODAY], n[Bucket.OVERDUE], n[Bucket.UPCOMING], n[Bucket.DONE])

    def page(
        self,
        bucket: Bucket,
        cursor: tuple[Any, ...] | None = None,
        limit: int = 200,
        *,
        today: date | None = None,
        filters: Filters = Filters(),
    ) -> Page[QueueRow]:
        """One keyset page of a bucket: open calls by due date (oldest first), done calls by the
        day they were done (newest first)."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            conf = branch_settings(s, self.branch_id)
            today = today or utcnow().astimezone(_zone(conf["schedule_timezone"])).date()
            q = (
                select(*_QUEUE_COLS)
                .join(Customer, Customer.id == Callback.customer_id)
                .outerjoin(Vehicle, Vehicle.id == Callback.vehicle_id)
                .where(
                    *self._bucket_where(bucket, today, int(conf["callbacks_upcoming_days"])),
                    *self._filter_where(filters),
                )
            )
            done = bucket is Bucket.DONE
            key = Callback.done_on if done else Callback.due_on
            q = keyset(q, [key, Callback.id], cursor, limit, newest_first=done)
            found = s.execute(q).all()
        return page(found, limit, lambda r: (r.done_on if done else r.due_on, r.id), self._row)

    def _row(self, r: Any) -> QueueRow:
        values = list(r)
        values[7] = _customer_phone(self.actor, values[7] or "")
        values[9] = values[9] or ""
        return QueueRow(*values)

    def next_call(self, today: date | None = None, filters: Filters = Filters()) -> QueueRow | None:
        """The call to make now: the oldest overdue, else the first due today."""
        for bucket in (Bucket.OVERDUE, Bucket.TODAY):
            page = self.page(bucket, None, 1, today=today, filters=filters)
            if page.rows:
                return page.rows[0]
        return None

    def choices(self) -> tuple[list[str], list[str]]:
        """The advisors and departments the queue's filters offer."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            advisors = [
                a
                for a in s.scalars(
                    select(Callback.advisor)
                    .where(Callback.branch_id == self.branch_id)
                    .distinct()
                    .order_by(Callback.advisor)
                )
                if a
            ]
            departments = list(branch_settings(s, self.branch_id)["callbacks_departments"])
            for d in s.scalars(
                select(Callback.department).where(Callback.branch_id == self.branch_id).distinct()
            ):
                if d and d not in departments:
                    departments.append(d)
        return advisors, departments

    def sheet(self, callback_id: uuid.UUID) -> CallSheet:
        with self.db.uow(self.actor) as uow:
            s = uow.session
            r = s.execute(
                select(
                    *_QUEUE_COLS,
                    Customer.phone,
                    Customer.phone2,
                    Vehicle.model,
                    Callback.visit_id,
                    Callback.questionnaire_id,
                    Callback.answers,
                    Callback.comment,
                )
                .join(Customer, Customer.id == Callback.customer_id)
                .outerjoin(Vehicle, Vehicle.id == Callback.vehicle_id)
                .where(Callback.id == callback_id, Callback.branch_id == self.branch_id)
            ).first()
            if r is None:
                raise RefusedError(_("This callback no longer exists."))
            row = self._row(r[: len(_QUEUE_COLS)])
            phone, phone2, model, visit_id, qn_id, answers, comment = r[len(_QUEUE_COLS) :]
            visit = s.get(Visit, visit_id) if visit_id else None
            qn = s.get(Questionnaire, qn_id) if qn_id else None
            if qn is None:
                qn = active_questionnaire(
                    s, self.branch_id, "club" if row.club_member else "standard", create=False
                )
            questionnaire = (
                questionnaire_row(qn)
                if qn is not None
                else default_row("club" if row.club_member else "standard")
            )
            attempts = [
                AttemptRow(a.at, a.by, a.outcome, a.note)
                for a in s.scalars(
                    select(CallAttempt)
                    .where(CallAttempt.callback_id == callback_id)
                    .order_by(CallAttempt.at)
                )
            ]
        return CallSheet(
            row,
            _customer_phone(self.actor, phone or ""),
            _customer_phone(self.actor, phone2 or ""),
            " ".join(x for x in (row.plate, model or "") if x),
            visit.visit_date if visit else None,
            visit.kind if visit else "",
            visit.items if visit else "",
            visit.mileage_km if visit else None,
            visit.next_due_date if visit else None,
            visit.next_due_km if visit else None,
            questionnaire,
            attempts,
            dict(answers or {}),
            comment or "",
        )

    # --- recording calls -----------------------------------------------------------------------
    def record_call(
        self,
        callback_id: uuid.UUID,
        outcome: str,
        *,
        answers: dict[str, Any] | None = None,
        comment: str = "",
        complaint: bool = False,
        note: str = "",
        retry_on: date | None = None,
        lost_reason: str = "",
    ) -> CallResult:
        """One call: reached (with the answers; a low score or a complaint marks a problem that
        needs a quick-handling form), no answer (retried on the next working day or
        ``retry_on``; unreachable after ``callbacks_max_attempts``) or wrong number."""
        require(self.actor, Permission.WORK_CALLBACKS)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cb = s.get(Callback, callback_id)
            if cb is None or cb.branch_id != self.branch_id:
                raise RefusedError(_("This callback no longer exists."))
            conf = branch_settings(s, self.branch_id)
            now = utcnow()
            local_day = now.astimezone(_zone(conf["schedule_timezone"])).date()
            result = _apply_call(
                s,
                self.actor,
                cb,
                outcome,
                at=now,
                local_day=local_day,
                answers=answers,
                comment=comment,
                complaint=complaint,
                note=note,
                retry_on=retry_on,
                conf=conf,
                lost_reason=lost_reason,
            )
            uow.commit()
        return result

    # --- questionnaires ------------------------------------------------------------------------
    def questionnaire(self, script: str) -> QuestionnaireRow:
        """The current version of ``script`` (the default from the seeds until one is saved)."""
        check_script(script)
        with self.db.uow(self.actor) as uow:
            qn = active_questionnaire(uow.session, self.branch_id, script, create=False)
            return questionnaire_row(qn) if qn is not None else default_row(script)

    def versions(self, script: str) -> list[QuestionnaireRow]:
        check_script(script)
        with self.db.uow(self.actor) as uow:
            return [
                questionnaire_row(qn)
                for qn in uow.session.scalars(
                    select(Questionnaire)
                    .where(
                        Questionnaire.branch_id == self.branch_id, Questionnaire.script == script
                    )
                    .order_by(Questionnaire.version.desc())
                )
            ]

    def save_questionnaire(
        self, script: str, title: str, questions: list[Question]
    ) -> QuestionnaireRow:
        """Store a new version of ``script``; earlier versions — and the answers given to
        them — stay as they were."""
        require(self.actor, Permission.EDIT_BRANCH_SETTINGS)
        check_script(script)
        if not title.strip():
            raise ValidationError(_("The questionnaire needs a title."), field="title")
        clean = check_questions(questions)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            current = active_questionnaire(s, self.branch_id, script, create=True)
            assert current is not None
            current.active = False
            qn = Questionnaire(
                branch_id=self.branch_id,
                script=script,
                version=current.version + 1,
                title=title.strip()[:100],
                questions=[q.as_dict() for q in clean],
                active=True,
            )
            s.add(qn)
            s.flush()
            row = questionnaire_row(qn)
            uow.commit()
        return row

    # --- quick-handling forms ------------------------------------------------------------------
    def open_form(self, callback_id: uuid.UUID, data: FormInput) -> FormRow:
        """快速处理表 for a reached call with a problem (one per call)."""
        require(self.actor, Permission.WORK_CALLBACKS)
        data = _check_form(data)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cb = s.get(Callback, callback_id)
            if cb is None or cb.branch_id != self.branch_id:
                raise RefusedError(_("This callback no longer exists."))
            if s.scalar(select(QuickForm.number).where(QuickForm.callback_id == callback_id)):
                raise RefusedError(_("This call already has a quick-handling form."))
            conf = branch_settings(s, self.branch_id)
            today = utcnow().astimezone(_zone(conf["schedule_timezone"])).date()
            if data.deadline < today:
                raise ValidationError(_("The deadline is in the past."), field="deadline")
            form = QuickForm(
                branch_id=self.branch_id,
                number=_next_form_number(s, self.actor),
                callback_id=cb.id,
                customer_id=cb.customer_id,
                opened_on=today,
                department=data.department,
                responsible=data.responsible,
                deadline=data.deadline,
                problem=data.problem,
                actions=data.actions,
            )
            s.add(form)
            cb.problem = True
            s.flush()
            form_id = form.id
            uow.commit()
        return self.form(form_id)

    def default_deadline(self, start: date | None = None) -> date:
        with self.db.uow(self.actor) as uow:
            s = uow.session
            conf = branch_settings(s, self.branch_id)
            start = start or utcnow().astimezone(_zone(conf["schedule_timezone"])).date()
            return add_working_days(
                work_calendar(s, self.branch_id), start, int(conf["callbacks_form_days"])
            )

    def close_form(self, form_id: uuid.UUID, resolution: str, confirmed_by: str) -> QueueRow | None:
        """The responsible person confirms the resolution; the second callback is queued at
        once (returned; None when the customer refuses calls)."""
        require(self.actor, Permission.WORK_CALLBACKS)
        resolution, confirmed_by = resolution.strip(), confirmed_by.strip()
        if not resolution:
            raise ValidationError(_("Describe how the problem was resolved."), field="resolution")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            form = s.get(QuickForm, form_id)
            if form is None or form.branch_id != self.branch_id:
                raise RefusedError(_("This form no longer exists."))
            if form.status == "closed":
                raise RefusedError(_("This form is already closed."))
            if confirmed_by != form.responsible:
                raise ValidationError(
                    _("The resolution is confirmed by the responsible person, {name}.").format(
                        name=form.responsible
                    ),
                    field="confirmed_by",
                )
            conf = branch_settings(s, self.branch_id)
            now = utcnow()
            form.status = "closed"
            form.resolution = resolution[:MAX_TEXT]
            form.confirmed_by = confirmed_by[:60]
            form.closed_at = now
            form.closed_on = now.astimezone(_zone(conf["schedule_timezone"])).date()
            s.flush()
            cand = second_candidate(
                form, work_calendar(s, self.branch_id), int(conf["callbacks_second_days"])
            )
            added = _insert_candidates(s, self.actor, [("second", cand)])
            uow.commit()
        if not added:
            return None
        with self.db.uow(self.actor) as uow:
            cb_id = uow.session.scalar(
                select(Callback.id).where(
                    Callback.branch_id == self.branch_id, Callback.natural_key == cand.key
                )
            )
        return self.sheet(cb_id).row if cb_id else None

    def form(self, form_id: uuid.UUID) -> FormRow:
        rows = self._forms([QuickForm.id == form_id], None, 1, self.today())
        if not rows:
            raise RefusedError(_("This form no longer exists."))
        return rows[0]

    def form_for_call(self, callback_id: uuid.UUID) -> FormRow | None:
        rows = self._forms([QuickForm.callback_id == callback_id], None, 1, self.today())
        return rows[0] if rows else None

    def forms(
        self,
        cursor: tuple[Any, ...] | None = None,
        limit: int = 200,
        *,
        state: str = "open",
        today: date | None = None,
    ) -> Page[FormRow]:
        """Forms by deadline: ``open`` (overdue first), ``overdue`` or ``closed``."""
        today = today or self.today()
        where: list[Any] = []
        if state == "closed":
            where.append(QuickForm.status == "closed")
        else:
            where.append(QuickForm.status == "open")
            if state == "overdue":
                where.append(QuickForm.deadline < today)
        if cursor is not None:
            where.append(tuple_(QuickForm.deadline, QuickForm.id) > tuple_(*cursor))
        rows = self._forms(where, None, limit + 1, today)
        return page(rows, limit, lambda r: (r.deadline, r.id))

    def overdue_forms(self, today: date | None = None) -> list[FormRow]:
        """Open forms past their deadline: escalated to the manager."""
        return self.forms(None, 500, state="overdue", today=today).rows

    def _forms(self, where: list[Any], _cursor: Any, limit: int, today: date) -> list[FormRow]:
        with self.db.uow(self.actor) as uow:
            q = (
                select(QuickForm, Customer.name, Vehicle.plate)
                .join(Callback, Callback.id == QuickForm.callback_id)
                .join(Customer, Customer.id == QuickForm.customer_id)
                .outerjoin(Vehicle, Vehicle.id == Callback.vehicle_id)
                .where(QuickForm.branch_id == self.branch_id, *where)
                .order_by(QuickForm.deadline, QuickForm.id)
                .limit(limit)
            )
            out = []
            for f, name, plate in uow.session.execute(q):
                overdue = (today - f.deadline).days if f.status == "open" else 0
                out.append(
                    FormRow(
                        f.id,
                        f.number,
                        f.callback_id,
                        name,
                        plate or "",
                        f.opened_on,
                        f.department,
                        f.responsible,
                        f.deadline,
                        f.problem,
                        f.actions,
                        f.status,
                        f.resolution,
                        f.confirmed_by,
                        f.closed_on,
                        max(0, overdue),
                    )
                )
        return out


def _check_form(data: FormInput) -> FormInput:
    if not data.department.strip():
        raise ValidationError(_("Choose the department."), field="department")
    if not data.responsible.strip():
        raise ValidationError(_("Name the responsible person."), field="responsible")
    if not data.problem.strip():
        raise ValidationError(_("Describe the customer's problem."), field="problem")
    return FormInput(
        data.department.strip()[:40],
        data.responsible.strip()[:60],
        data.deadline,
        data.problem.strip()[:MAX_TEXT],
        data.actions.strip()[:MAX_TEXT],
    )


# --- ls callbacks ---------------------------------------------------------------------------------
@listing.register("callbacks")
def _ls_callbacks(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    q = (
        select(Callback, Customer.customer_no, Customer.name, Vehicle.plate)
        .join(Customer, Customer.id == Callback.customer_id)
        .outerjoin(Vehicle, Vehicle.id == Callback.vehicle_id)
        .where(Callback.branch_id == actor.branch_id)
        .order_by(Callback.due_on, Callback.id)
    )
    if "status" in filters:
        q = q.where(Callback.status == filters["status"])
    if "rule" in filters:
        q = q.where(Callback.rule == filters["rule"])
    if "due" in filters:
        try:
            due = date.fromisoformat(filters["due"])
        except ValueError:
            raise ValidationError(
                _("A date is YYYY-MM-DD: {value}").format(value=filters["due"]), field="due"
            ) from None
        q = q.where(Callback.due_on == due)
    return _iter_callbacks(db, actor, q)  # filters checked now, rows streamed when read


def _iter_callbacks(db: Database, actor: Actor, q: Any) -> Iterator[dict[str, Any]]:
    with db.uow(actor) as uow:
        for cb, no, name, plate in uow.session.execute(q.execution_options(yield_per=1000)):
            yield {
                "id": str(cb.id),
                "rule": cb.rule,
                "due_on": cb.due_on.isoformat(),
                "first_due_on": cb.first_due_on.isoformat(),
                "customer_no": no,
                "customer_name": name,
                "plate": plate or "",
                "advisor": cb.advisor,
                "department": cb.department,
                "status": cb.status,
                "outcome": cb.outcome,
                "attempts": cb.attempts,
                "done_at": listing.iso(cb.done_at),
                "done_by": cb.done_by,
                "overall": cb.overall,
                "problem": cb.problem,
                "in_warranty": cb.in_warranty,
                "answers": cb.answers,
                "comment": cb.comment,
                "note": cb.note,
            }


# --- export callbacks -----------------------------------------------------------------------------
EXPORT_COLUMNS = (
    ("due_on", N_("Due")),
    ("first_due_on", N_("First due")),
    ("rule", N_("Reason")),
    ("customer_no", N_("Customer no.")),
    ("customer_name", N_("Customer")),
    ("plate", N_("Plate")),
    ("advisor", N_("Advisor")),
    ("department", N_("Department")),
    ("status", N_("State")),
    ("outcome", N_("Last outcome")),
    ("attempts", N_("Tries")),
    ("done_at", N_("Done at")),
    ("done_by", N_("Done by")),
    ("overall", N_("Overall")),
    ("problem", N_("Problem")),
    ("in_warranty", N_("Within warranty")),
    ("comment", N_("Comment")),
    ("answers", N_("Answers")),
    ("note", N_("Note")),
)


def export_callbacks(db: Database, actor: Actor, out: Any, progress: Any = None) -> int:
    """Every callback of the branch as one sheet (answers as JSON); the export is audited."""
    import json
    import os
    from pathlib import Path

    from openpyxl import Workbook

    from aftersales_desk.data import audit
    from aftersales_desk.errors import UsageError

    require(actor, Permission.WORK_CALLBACKS)
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(_("Write a .xlsx file, not {name}.").format(name=out.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Callbacks")[:31])
    ws.append([_(title) for _key, title in EXPORT_COLUMNS])
    n = 0
    for row in _ls_callbacks(db, actor, {}):
        values = []
        for key, _title in EXPORT_COLUMNS:
            v = row[key]
            if key == "answers":
                v = json.dumps(v, ensure_ascii=False) if v else ""
            elif key == "done_at" and v:
                v = v[:19].replace("T", " ")
            values.append(v)
        ws.append(values)
        n += 1
        if progress is not None and n % 2000 == 0:
            progress.step(n, None, _("Exporting callbacks"))
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    os.replace(tmp, out)
    with db.uow(actor, write=True) as uow:
        audit.record(
            uow.session,
            "export",
            "callbacks",
            note=_("{n} rows to {file}").format(n=n, file=out.name),
        )
        uow.commit()
    return n


# --- the rules' settings --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RuleSettings:
    """What a branch configures about its queue (stored as ``callbacks_*`` branch settings)."""

    enabled: tuple[str, ...]
    visit_days: dict[str, int]  # visit type → working days after the visit; absent: no call
    second_days: int
    maintenance_lead_days: int
    max_attempts: int
    low_score: int
    form_days: int


_RANGES = {
    "second_days": (0, 30),
    "maintenance_lead_days": (0, 60),
    "max_attempts": (1, 10),
    "low_score": (1, 4),
    "form_days": (0, 30),
}


def rule_settings(db: Database, actor: Actor) -> RuleSettings:
    with db.uow(actor) as uow:
        c = branch_settings(uow.session, actor.branch_id)
    return RuleSettings(
        tuple(c["callbacks_rules"]),
        {k: int(v) for k, v in dict(c["callbacks_visit_days"]).items()},
        int(c["callbacks_second_days"]),
        int(c["callbacks_maintenance_lead_days"]),
        int(c["callbacks_max_attempts"]),
        int(c["callbacks_low_score"]),
        int(c["callbacks_form_days"]),
    )


def update_rule_settings(db: Database, actor: Actor, conf: RuleSettings) -> None:
    """Check and store (all or nothing); needs EDIT_BRANCH_SETTINGS."""
    from aftersales_desk.data.models.archive import VISIT_KINDS
    from aftersales_desk.services.settings import SettingsService

    require(actor, Permission.EDIT_BRANCH_SETTINGS)
    for name, (lo, hi) in _RANGES.items():
        value = getattr(conf, name)
        if not lo <= value <= hi:
            raise ValidationError(
                _("{name} is a whole number from {lo} to {hi}.").format(name=name, lo=lo, hi=hi),
                field=name,
            )
    for kind, days in conf.visit_days.items():
        if kind not in VISIT_KINDS or not 0 <= days <= 30:
            raise ValidationError(
                _("Days after a {kind} visit are 0 to 30.").format(kind=kind), field="visit_days"
            )
    SettingsService(db, actor).update(
        {
            "callbacks_rules": list(conf.enabled),
            "callbacks_visit_days": dict(conf.visit_days),
            "callbacks_second_days": conf.second_days,
            "callbacks_maintenance_lead_days": conf.maintenance_lead_days,
            "callbacks_max_attempts": conf.max_attempts,
            "callbacks_low_score": conf.low_score,
            "callbacks_form_days": conf.form_days,
        }
    )
