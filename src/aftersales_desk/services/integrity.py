"""``check``: is the database whole? SQLite's own check, foreign keys, schema version, ledger
triggers, and every module's invariants (registered in ``CHECKS``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from aftersales_desk.data.migrate import current_revision, head_revision
from aftersales_desk.data.models.core import APPEND_ONLY_TABLES
from aftersales_desk.data.uow import Database
from aftersales_desk.i18n import N_, _


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# name (translatable) → function(session) returning a list of problems (translated text).
CHECKS: list[tuple[str, Callable[[Session], list[str]]]] = []


def register(
    name: str,
) -> Callable[[Callable[[Session], list[str]]], Callable[[Session], list[str]]]:
    def deco(fn: Callable[[Session], list[str]]) -> Callable[[Session], list[str]]:
        CHECKS.append((name, fn))
        return fn

    return deco


@register(N_("SQLite integrity"))
def _sqlite_integrity(s: Session) -> list[str]:
    rows = [r[0] for r in s.execute(text("PRAGMA integrity_check")).all()]
    return (
        []
        if rows == ["ok"]
        else [_("SQLite reports: {detail}").format(detail=r) for r in rows[:20]]
    )


@register(N_("Foreign keys"))
def _foreign_keys(s: Session) -> list[str]:
    rows = s.execute(text("PRAGMA foreign_key_check")).all()
    return [
        _("Row {rowid} of {table} points to a missing row of {parent}.").format(
            rowid=r[1], table=r[0], parent=r[2]
        )
        for r in rows[:20]
    ]


@register(N_("Ledgers are append-only"))
def _append_only(s: Session) -> list[str]:
    names = {r[0] for r in s.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))}
    problems = []
    for table in APPEND_ONLY_TABLES:
        for op in ("update", "delete"):
            if f"trg_{table}_no_{op}" not in names:
                problems.append(
                    _("The protection of {table} against {op} is missing.").format(
                        table=table, op=op.upper()
                    )
                )
    return problems


def run_checks(db: Database) -> CheckResult:
    result = CheckResult()
    current, head = current_revision(db.engine), head_revision()
    result.checked.append(_("Schema version"))
    if current != head:
        result.problems.append(
            _("The schema is at {current}, the program expects {head}.").format(
                current=current, head=head
            )
        )
    with db.uow() as uow:
        for name, fn in CHECKS:
            result.checked.append(_(name))
            result.problems.extend(fn(uow.session))
    return result
