"""The callback queue's reports (Excel and PDF), registered for ``report NAME``:

- ``callbacks-daily`` (``--date``): the day's problem customers by department 每日问题客户;
- ``callbacks-weekly`` (``--week``, due Mondays): satisfaction of the week and only the customers
  with a problem, with how it was resolved 每周客户回访报表;
- ``satisfaction-monthly`` (``--month``, due by the 3rd): 月客户满意度回访表 — satisfaction per
  department and per question, the callback rate within warranty against its 100 % target,
  satisfaction against ≥ 98 %, and every reached call with its answers;
- ``complaints-monthly``: the month's quick-handling forms 客户投诉问题解决情况表;
- ``churn-monthly``: churn rate 客户流失率, reasons and what the lost-customer calls found.

Definitions (the figures the tests check by hand):
- *due*: callbacks first due in the period, not cancelled; *callback rate* = reached / due;
- *within warranty*: follow-up calls after a visit while the vehicle was within warranty;
- *satisfaction* = reached calls done in the period with an overall rating of 4 or 5, over all
  reached calls done in the period with an overall rating;
- per department and per question: score answers of 4 or 5 over all score answers given to the
  questions of that department (the questionnaire version the call used says which).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import Branch
from aftersales_desk.data.models.archive import Customer, LostReason, Vehicle
from aftersales_desk.data.models.callbacks import Callback, Questionnaire, QuickForm
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.reports.sections import Chart, Section, SectionedReport, write_sections
from aftersales_desk.services.archive import LOST_REASONS
from aftersales_desk.services.archive_lost import LostCustomers
from aftersales_desk.services.auth import require
from aftersales_desk.services.callback_questionnaires import SATISFIED, Question, to_question
from aftersales_desk.services.callback_rules import rule_label
from aftersales_desk.services.callbacks import status_label
from aftersales_desk.services.progress import Progress
from aftersales_desk.services.report_registry import Period, ReportSpec, register

CALLBACK_RATE_TARGET = 1.0
SATISFACTION_TARGET = 0.98


@dataclass(frozen=True, slots=True)
class DeptFigure:
    department: str
    answers: int
    satisfied: int
    problems: int

    @property
    def rate(self) -> float | None:
        return self.satisfied / self.answers if self.answers else None


@dataclass(frozen=True, slots=True)
class QuestionFigure:
    key: str
    text: str
    department: str
    answers: int
    total: int  # sum of the scores
    satisfied: int

    @property
    def average(self) -> float | None:
        return self.total / self.answers if self.answers else None

    @property
    def rate(self) -> float | None:
        return self.satisfied / self.answers if self.answers else None


@dataclass(frozen=True, slots=True)
class ReachedCall:
    done_on: date
    rule: str
    customer: str
    plate: str
    advisor: str
    department: str
    overall: int | None
    answers: dict[str, Any]
    comment: str
    problem: bool


@dataclass(frozen=True, slots=True)
class Figures:
    due: int
    reached: int
    still_open: int
    unreachable: int
    wrong_number: int
    warranty_due: int
    warranty_reached: int
    rated: int
    satisfied: int
    departments: list[DeptFigure]
    questions: list[QuestionFigure]
    calls: list[ReachedCall]

    @property
    def callback_rate(self) -> float | None:
        return self.reached / self.due if self.due else None

    @property
    def warranty_rate(self) -> float | None:
        return self.warranty_reached / self.warranty_due if self.warranty_due else None

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def _questions(s: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, list[Question]]:
    out: dict[uuid.UUID, list[Question]] = {}
    for qid, questions in s.execute(
        select(Questionnaire.id, Questionnaire.questions).where(Questionnaire.id.in_(list(ids)))
    ):
        out[qid] = [to_question(d) for d in questions]
    return out


def figures(s: Session, branch_id: uuid.UUID | None, start: date, end: date) -> Figures:
    """Everything the satisfaction reports show for the days ``start`` ≤ d < ``end``."""
    due_rows = s.execute(
        select(Callback.status, Callback.rule, Callback.in_warranty).where(
            Callback.branch_id == branch_id,
            Callback.first_due_on >= start,
            Callback.first_due_on < end,
            Callback.status != "cancelled",
        )
    ).all()
    by_status: dict[str, int] = defaultdict(int)
    w_due = w_reached = 0
    for status, rule, warranty in due_rows:
        by_status[status] += 1
        if rule == "visit" and warranty:
            w_due += 1
            w_reached += status == "done"
    reached_rows = s.execute(
        select(
            Callback.done_on,
            Callback.rule,
            Customer.name,
            Vehicle.plate,
            Callback.advisor,
            Callback.department,
            Callback.overall,
            Callback.answers,
            Callback.comment,
            Callback.problem,
            Callback.questionnaire_id,
        )
        .join(Customer, Customer.id == Callback.customer_id)
        .outerjoin(Vehicle, Vehicle.id == Callback.vehicle_id)
        .where(
            Callback.branch_id == branch_id,
            Callback.status == "done",
            Callback.done_on >= start,
            Callback.done_on < end,
        )
        .order_by(Callback.done_on, Callback.id)
    ).all()
    qmap = _questions(s, {r[10] for r in reached_rows if r[10] is not None})
    rated = satisfied = 0
    dept_n: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    q_n: dict[str, list[Any]] = {}
    calls: list[ReachedCall] = []
    for (
        done_on,
        rule,
        name,
        plate,
        advisor,
        dept,
        overall,
        answers,
        comment,
        problem,
        qid,
    ) in reached_rows:
        answers = answers or {}
        if overall is not None:
            rated += 1
            satisfied += overall >= SATISFIED
        for q in qmap.get(qid, []):
            value = answers.get(q.key)
            if q.kind != "score" or not isinstance(value, int):
                continue
            entry = q_n.setdefault(q.key, [q.text, q.department, 0, 0, 0])
            entry[0], entry[1] = q.text, q.department  # the latest wording
            entry[2] += 1
            entry[3] += value
            entry[4] += value >= SATISFIED
            if q.department:
                dept_n[q.department][0] += 1
                dept_n[q.department][1] += value >= SATISFIED
        calls.append(
            ReachedCall(
                done_on, rule, name, plate or "", advisor, dept, overall, answers, comment, problem
            )
        )
    problems: dict[str, int] = defaultdict(int)
    for dept, n in s.execute(
        select(QuickForm.department, func.count())
        .where(
            QuickForm.branch_id == branch_id,
            QuickForm.opened_on >= start,
            QuickForm.opened_on < end,
        )
        .group_by(QuickForm.department)
    ):
        problems[dept] = n
    departments = [
        DeptFigure(
            d,
            dept_n[d][0] if d in dept_n else 0,
            dept_n[d][1] if d in dept_n else 0,
            problems.get(d, 0),
        )
        for d in sorted(set(dept_n) | set(problems))
    ]
    questions = [QuestionFigure(k, *v) for k, v in q_n.items()]
    return Figures(
        len(due_rows),
        by_status["done"],
        by_status["open"],
        by_status["unreachable"],
        by_status["wrong_number"],
        w_due,
        w_reached,
        rated,
        satisfied,
        departments,
        questions,
        calls,
    )


@dataclass(frozen=True, slots=True)
class ProblemRow:
    done_on: date | None
    department: str
    customer: str
    phone: str
    plate: str
    overall: int | None
    problem: str
    number: str
    responsible: str
    deadline: date | None
    status: str
    resolution: str
    second_overall: int | None  # the customer's rating on the second callback


def problems(s: Session, branch_id: uuid.UUID | None, start: date, end: date) -> list[ProblemRow]:
    """Reached calls with a problem done in the period, with their form and second callback."""
    rows = s.execute(
        select(
            Callback.id,
            Callback.done_on,
            Callback.department,
            Customer.name,
            Customer.phone,
            Vehicle.plate,
            Callback.overall,
            Callback.comment,
        )
        .join(Customer, Customer.id == Callback.customer_id)
        .outerjoin(Vehicle, Vehicle.id == Callback.vehicle_id)
        .where(
            Callback.branch_id == branch_id,
            Callback.problem.is_(True),
            Callback.done_on >= start,
            Callback.done_on < end,
        )
        .order_by(Callback.department, Callback.done_on, Callback.id)
    ).all()
    ids = [r[0] for r in rows]
    forms = {
        f.callback_id: f for f in s.scalars(select(QuickForm).where(QuickForm.callback_id.in_(ids)))
    }
    seconds = {
        form_id: overall
        for form_id, overall in s.execute(
            select(Callback.form_id, Callback.overall).where(
                Callback.form_id.in_([f.id for f in forms.values()])
            )
        )
    }
    from aftersales_desk.domain.archive import mask_phone

    out = []
    for cid, done_on, dept, name, phone, plate, overall, comment in rows:
        f = forms.get(cid)
        out.append(
            ProblemRow(
                done_on,
                f.department if f else dept,
                name,
                mask_phone(phone or ""),
                plate or "",
                overall,
                f.problem if f else comment,
                f.number if f else "",
                f.responsible if f else "",
                f.deadline if f else None,
                (_("Resolved") if f.status == "closed" else _("Being handled"))
                if f
                else _("No form yet"),
                f.resolution if f else "",
                seconds.get(f.id) if f else None,
            )
        )
    out.sort(key=lambda r: (r.department, r.done_on or date.min))
    return out


# --- the reports ----------------------------------------------------------------------------------
def _branch(s: Session, branch_id: uuid.UUID | None) -> str:
    b = s.get(Branch, branch_id)
    return b.name if b else ""


def _kpi_section(f: Figures) -> Section:
    def row(label: str, value: float | None, target: float | None, n: str) -> list[Any]:
        met = "" if value is None or target is None else (_("Yes") if value >= target else _("No"))
        return [label, value, target, n, met]

    return Section(
        _("Key figures"),
        [_("Figure"), _("Result"), _("Target"), _("Count"), _("Target met")],
        [
            row(_("Callback rate"), f.callback_rate, None, f"{f.reached}/{f.due}"),
            row(
                _("Callback rate within warranty"),
                f.warranty_rate,
                CALLBACK_RATE_TARGET,
                f"{f.warranty_reached}/{f.warranty_due}",
            ),
            row(
                _("Customer satisfaction"),
                f.satisfaction,
                SATISFACTION_TARGET,
                f"{f.satisfied}/{f.rated}",
            ),
        ],
        percent_cols={1, 2},
    )


def _calls_section(f: Figures) -> Section:
    return Section(
        _("Calls"),
        [_("Due"), _("Reached"), _("Still open"), _("Unreachable"), _("Wrong number")],
        [[f.due, f.reached, f.still_open, f.unreachable, f.wrong_number]],
    )


def _dept_section(f: Figures) -> Section:
    return Section(
        _("Satisfaction by department"),
        [_("Department"), _("Answers"), _("Satisfied"), _("Satisfaction"), _("Problem customers")],
        [[d.department, d.answers, d.satisfied, d.rate, d.problems] for d in f.departments],
        percent_cols={3},
        chart=Chart(_("Satisfaction by department"), 0, [3], percent=True),
    )


def _question_section(f: Figures) -> Section:
    return Section(
        _("Satisfaction by question"),
        [_("Question"), _("Department"), _("Answers"), _("Average score"), _("Satisfaction")],
        [
            [
                q.text,
                q.department,
                q.answers,
                round(q.average, 2) if q.average is not None else None,
                q.rate,
            ]
            for q in f.questions
        ],
        percent_cols={4},
        chart=Chart(_("Satisfaction by question"), 0, [4], percent=True),
    )


def _problem_section(rows: list[ProblemRow], heading: str) -> Section:
    return Section(
        heading,
        [
            _("Department"),
            _("Called on"),
            _("Customer"),
            _("Phone"),
            _("Plate"),
            _("Overall"),
            _("Problem"),
            _("Form"),
            _("Responsible"),
            _("Deadline"),
            _("State"),
            _("Resolution"),
            _("Second callback"),
        ],
        [
            [
                r.department,
                r.done_on.isoformat() if r.done_on else "",
                r.customer,
                r.phone,
                r.plate,
                r.overall,
                r.problem,
                r.number,
                r.responsible,
                r.deadline.isoformat() if r.deadline else "",
                r.status,
                r.resolution,
                r.second_overall,
            ]
            for r in rows
        ],
    )


def _detail_section(f: Figures) -> Section:
    keys: dict[str, str] = {}
    for q in f.questions:
        keys.setdefault(q.key, q.text)
    cols = [_("Called on"), _("Reason"), _("Customer"), _("Plate"), _("Advisor"), _("Department")]
    cols += [*list(keys.values()), _("Overall"), _("Comment"), _("Problem")]
    rows = []
    for c in f.calls:
        rows.append(
            [
                c.done_on.isoformat(),
                rule_label(c.rule),
                c.customer,
                c.plate,
                c.advisor,
                c.department,
                *(c.answers.get(k) for k in keys),
                c.overall,
                c.comment or None,  # an empty cell is not written at all
                _("Yes") if c.problem else None,
            ]
        )
    return Section(_("Every reached call"), cols, rows, own_sheet=True)


def _check(actor: Actor) -> None:
    require(actor, Permission.WORK_CALLBACKS)


def write_daily(db: Database, actor: Actor, period: Period, out: Path, progress: Progress) -> None:
    _check(actor)
    with db.uow(actor) as uow:
        s = uow.session
        f = figures(s, actor.branch_id, period.start, period.end)
        probs = problems(s, actor.branch_id, period.start, period.end)
        branch = _branch(s, actor.branch_id)
    progress.step(1, 2)
    report = SectionedReport(
        _("Problem customers of the day {day}").format(day=period.label),
        branch,
        [
            _problem_section(probs, _("Problem customers by department")),
            _dept_section(f),
            _calls_section(f),
        ],
    )
    write_sections(report, out)


def write_weekly(db: Database, actor: Actor, period: Period, out: Path, progress: Progress) -> None:
    _check(actor)
    with db.uow(actor) as uow:
        s = uow.session
        f = figures(s, actor.branch_id, period.start, period.end)
        probs = problems(s, actor.branch_id, period.start, period.end)
        branch = _branch(s, actor.branch_id)
    progress.step(1, 2)
    last = date.fromordinal(period.end.toordinal() - 1)
    report = SectionedReport(
        _("Weekly callback report {week}").format(week=period.label),
        f"{branch} · {period.start.isoformat()} – {last.isoformat()}",
        [
            _kpi_section(f),
            _calls_section(f),
            _dept_section(f),
            _problem_section(probs, _("Customers with a problem and how it was resolved")),
        ],
    )
    write_sections(report, out)


def write_satisfaction(
    db: Database, actor: Actor, period: Period, out: Path, progress: Progress
) -> None:
    _check(actor)
    with db.uow(actor) as uow:
        s = uow.session
        f = figures(s, actor.branch_id, period.start, period.end)
        branch = _branch(s, actor.branch_id)
    progress.step(1, 2)
    report = SectionedReport(
        _("Monthly customer satisfaction {month}").format(month=period.label),
        branch,
        [
            _kpi_section(f),
            _calls_section(f),
            _dept_section(f),
            _question_section(f),
            _detail_section(f),
        ],
    )
    write_sections(report, out)


@dataclass(frozen=True, slots=True)
class ComplaintFigures:
    opened: int
    closed: int
    closed_on_time: int
    open_overdue: int  # still open past the deadline at the period's end
    by_department: list[tuple[str, int, int]]  # department, opened, closed


def complaint_rows(s: Session, branch_id: uuid.UUID | None, start: date, end: date) -> list[Any]:
    return s.execute(
        select(QuickForm, Customer.name)
        .join(Customer, Customer.id == QuickForm.customer_id)
        .where(
            QuickForm.branch_id == branch_id,
            QuickForm.opened_on >= start,
            QuickForm.opened_on < end,
        )
        .order_by(QuickForm.number)
    ).all()


def complaint_figures(rows: list[Any], end: date) -> ComplaintFigures:
    closed = [f for f, _n in rows if f.status == "closed"]
    by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f, _n in rows:
        by[f.department][0] += 1
        by[f.department][1] += f.status == "closed"
    return ComplaintFigures(
        len(rows),
        len(closed),
        sum(1 for f in closed if f.closed_on is not None and f.closed_on <= f.deadline),
        sum(1 for f, _n in rows if f.status == "open" and f.deadline < end),
        [(d, v[0], v[1]) for d, v in sorted(by.items())],
    )


def write_complaints(
    db: Database, actor: Actor, period: Period, out: Path, progress: Progress
) -> None:
    _check(actor)
    with db.uow(actor) as uow:
        s = uow.session
        rows = complaint_rows(s, actor.branch_id, period.start, period.end)
        seconds = {
            form_id: (status, overall, comment)
            for form_id, status, overall, comment in s.execute(
                select(Callback.form_id, Callback.status, Callback.overall, Callback.comment).where(
                    Callback.form_id.in_([f.id for f, _n in rows])
                )
            )
        }
        branch = _branch(s, actor.branch_id)
    progress.step(1, 2)
    cf = complaint_figures(rows, period.end)
    detail = []
    for f, name in rows:
        st, overall, comment = seconds.get(f.id, ("", None, ""))
        reaction = (
            (f"{overall} {comment}".strip() if st == "done" else status_label(st)) if st else ""
        )
        detail.append(
            [
                f.number,
                f.opened_on.isoformat(),
                name,
                f.department,
                f.problem,
                f.responsible,
                f.deadline.isoformat(),
                f.actions,
                _("Resolved") if f.status == "closed" else _("Being handled"),
                f.closed_on.isoformat() if f.closed_on else "",
                f.resolution,
                reaction,
            ]
        )
    report = SectionedReport(
        _("Complaint resolution {month}").format(month=period.label),
        branch,
        [
            Section(
                _("Key figures"),
                [
                    _("Forms opened"),
                    _("Resolved"),
                    _("Resolved by the deadline"),
                    _("Still open past the deadline"),
                ],
                [[cf.opened, cf.closed, cf.closed_on_time, cf.open_overdue]],
            ),
            Section(
                _("Forms by department"),
                [_("Department"), _("Forms opened"), _("Resolved")],
                [list(r) for r in cf.by_department],
                chart=Chart(_("Forms by department"), 0, [1, 2]),
            ),
            Section(
                _("Quick-handling forms"),
                [
                    _("Form"),
                    _("Opened on"),
                    _("Customer"),
                    _("Department"),
                    _("Problem"),
                    _("Responsible"),
                    _("Deadline"),
                    _("Actions"),
                    _("State"),
                    _("Closed on"),
                    _("Resolution"),
                    _("Customer's reaction"),
                ],
                detail,
            ),
        ],
    )
    write_sections(report, out)


def write_churn(db: Database, actor: Actor, period: Period, out: Path, progress: Progress) -> None:
    _check(actor)
    # the month and the eleven before it: vehicles active at each month's start, lost in it
    y, m = period.start.year, period.start.month
    months = []
    for _i in range(12):
        months.append((y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    trend = LostCustomers(db, actor).churn(months[::-1])
    active, lost, rate = trend[-1].active, trend[-1].lost, trend[-1].rate
    with db.uow(actor) as uow:
        s = uow.session
        reasons = s.execute(
            select(LostReason.reason, func.count())
            .where(
                LostReason.branch_id == actor.branch_id,
                LostReason.noted_on >= period.start,
                LostReason.noted_on < period.end,
            )
            .group_by(LostReason.reason)
            .order_by(func.count().desc())
        ).all()
        calls = s.execute(
            select(
                Callback.first_due_on,
                Customer.name,
                Vehicle.plate,
                Callback.note,
                Callback.status,
                Callback.attempts,
                Callback.comment,
            )
            .join(Customer, Customer.id == Callback.customer_id)
            .outerjoin(Vehicle, Vehicle.id == Callback.vehicle_id)
            .where(
                Callback.branch_id == actor.branch_id,
                Callback.rule == "lost",
                Callback.first_due_on >= period.start,
                Callback.first_due_on < period.end,
            )
            .order_by(Callback.first_due_on, Callback.id)
        ).all()
        branch = _branch(s, actor.branch_id)
    progress.step(1, 2)
    reached = sum(1 for c in calls if c[4] == "done")
    report = SectionedReport(
        _("Customer churn {month}").format(month=period.label),
        branch,
        [
            Section(
                _("Key figures"),
                [
                    _("Active vehicles"),
                    _("Lost"),
                    _("Churn rate"),
                    _("Lost-customer calls"),
                    _("Reached"),
                ],
                [[active, lost, rate, len(calls), reached]],
                percent_cols={2},
            ),
            Section(
                _("The last twelve months"),
                [_("Month"), _("Active at the start"), _("Lost in the month"), _("Churn rate")],
                [[c.label, c.active, c.lost, c.rate] for c in trend],
                percent_cols={3},
                chart=Chart(_("Churn rate"), 0, [3], percent=True),
            ),
            Section(
                _("Reasons found out"),
                [_("Reason"), _("Vehicles")],
                [[_(LOST_REASONS.get(r, r)), n] for r, n in reasons],
                chart=Chart(_("Reasons found out"), 0, [1]),
            ),
            Section(
                _("Lost-customer calls"),
                [
                    _("Due"),
                    _("Customer"),
                    _("Plate"),
                    _("Note"),
                    _("State"),
                    _("Attempts"),
                    _("What the customer said"),
                ],
                [
                    [d.isoformat(), n, p or "", note, status_label(st), a, c]
                    for d, n, p, note, st, a, c in calls
                ],
            ),
        ],
    )
    write_sections(report, out)


for _name, _title, _periods, _fn in (
    ("callbacks-daily", N_("Problem customers of the day"), ("date",), write_daily),
    ("callbacks-weekly", N_("Weekly callback report"), ("week",), write_weekly),
    ("satisfaction-monthly", N_("Monthly customer satisfaction"), ("month",), write_satisfaction),
    ("complaints-monthly", N_("Monthly complaint resolution"), ("month",), write_complaints),
    ("churn-monthly", N_("Monthly customer churn"), ("month",), write_churn),
):
    register(ReportSpec(_name, _title, ("xlsx", "pdf"), _periods, _fn))
