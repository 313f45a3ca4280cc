"""The tool register: workshop tools lent out and returned (who, when, condition), and the
overdue list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select

from aftersales_desk.data.models.parts import Tool, ToolLoan
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.settings import SettingsService


@dataclass(frozen=True, slots=True)
class ToolRow:
    id: uuid.UUID
    code: str
    name: str
    condition: str
    borrower: str  # empty when in the store
    lent_at: datetime | None
    due_at: datetime | None
    overdue: bool


class ToolRegister:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def add(self, code: str, name: str, condition: str = "") -> uuid.UUID:
        require(self.actor, Permission.EDIT_PARTS)
        code = code.strip().upper()
        if not code or len(code) > 20:
            raise ValidationError(_("A tool code is 1 to 20 characters."), field="code")
        if not name.strip():
            raise ValidationError(_("The tool needs a name."), field="name")
        with self.db.uow(self.actor, write=True) as uow:
            exists = uow.session.scalars(
                select(Tool).where(Tool.branch_id == self.actor.branch_id, Tool.code == code)
            ).first()
            if exists is not None:
                raise ValidationError(
                    _("The tool code {code} is taken.").format(code=code), field="code"
                )
            tool = Tool(
                branch_id=self.actor.branch_id,
                code=code,
                name=name.strip()[:100],
                condition=condition.strip()[:100],
            )
            uow.session.add(tool)
            uow.commit()
            return tool.id

    def _tool(self, s, code: str) -> Tool:
        tool = s.scalars(
            select(Tool).where(
                Tool.branch_id == self.actor.branch_id, Tool.code == code.strip().upper()
            )
        ).first()
        if tool is None:
            raise UsageError(_("No tool with the code {code}.").format(code=code))
        return tool

    def _open_loan(self, s, tool_id: uuid.UUID) -> ToolLoan | None:
        return s.scalars(
            select(ToolLoan).where(ToolLoan.tool_id == tool_id, ToolLoan.returned_at.is_(None))
        ).first()

    def lend(
        self,
        code: str,
        borrower: str,
        *,
        days: int | None = None,
        note: str = "",
        lent_at: datetime | None = None,
    ) -> None:
        """Lend tool ``code`` for ``days`` (branch default); ``lent_at`` records a loan made
        earlier on paper."""
        require(self.actor, Permission.POST_STOCK)
        if not borrower.strip():
            raise ValidationError(_("Who borrows the tool?"), field="borrower")
        if days is None:
            days = int(SettingsService(self.db, self.actor).get("tool_loan_days"))
        if days <= 0:
            raise ValidationError(_("The loan needs at least one day."), field="days")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            tool = self._tool(s, code)
            if not tool.active:
                raise RefusedError(_("The tool {code} is retired.").format(code=tool.code))
            loan = self._open_loan(s, tool.id)
            if loan is not None:
                raise RefusedError(
                    _("The tool {code} is lent to {who} already.").format(
                        code=tool.code, who=loan.borrower
                    )
                )
            now = lent_at or utcnow()
            s.add(
                ToolLoan(
                    branch_id=self.actor.branch_id,
                    tool_id=tool.id,
                    borrower=borrower.strip()[:100],
                    lent_at=now,
                    due_at=now + timedelta(days=days),
                    condition_out=tool.condition,
                    note=note[:400],
                )
            )
            uow.commit()

    def take_back(self, code: str, *, condition: str = "") -> None:
        require(self.actor, Permission.POST_STOCK)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            tool = self._tool(s, code)
            loan = self._open_loan(s, tool.id)
            if loan is None:
                raise RefusedError(_("The tool {code} is not lent out.").format(code=tool.code))
            loan.returned_at = utcnow()
            loan.condition_in = condition.strip()[:100] or tool.condition
            tool.condition = loan.condition_in
            uow.commit()

    def list(self, *, overdue_only: bool = False) -> list[ToolRow]:
        """Every tool with its open loan (a branch has tens of tools, not thousands)."""
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            q = (
                select(Tool, ToolLoan)
                .outerjoin(
                    ToolLoan, and_(ToolLoan.tool_id == Tool.id, ToolLoan.returned_at.is_(None))
                )
                .where(Tool.branch_id == self.actor.branch_id, Tool.active.is_(True))
                .order_by(Tool.code)
            )
            if overdue_only:
                q = q.where(ToolLoan.due_at < now)
            return [
                ToolRow(
                    t.id,
                    t.code,
                    t.name,
                    t.condition,
                    loan.borrower if loan else "",
                    loan.lent_at if loan else None,
                    loan.due_at if loan else None,
                    bool(loan and loan.due_at < now),
                )
                for t, loan in uow.session.execute(q)
            ]
