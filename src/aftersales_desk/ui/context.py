"""What every tab and dialog is given: the database, the acting user, the operations runner.
Passed into constructors — there is no global application object."""

from __future__ import annotations

from dataclasses import dataclass, field

from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.ui.status import StatusBoard
from aftersales_desk.ui.tasks import Ops


@dataclass
class AppContext:
    db: Database
    actor: Actor
    ops: Ops
    status: StatusBoard = field(default_factory=StatusBoard)  # messages for the status bar
