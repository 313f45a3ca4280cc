"""All tables. Importing this package registers every model on ``Base.metadata``."""

from aftersales_desk.data.models import (  # noqa: F401
    archive,  # customers, vehicles, visits, work orders, documents
    callbacks,  # callback queue, questionnaires, quick-handling forms
    counts,  # stock counts
    insurance,  # insurance log
    parts,  # parts counter
    sync,  # sync bookkeeping, never synced
)
from aftersales_desk.data.models.core import AuditEntry, Branch, Device, Setting, User
from aftersales_desk.data.models.schedule import CalendarDay, Duty, DutyCheckoff, DutyEvent
from aftersales_desk.data.models.service_clocks import WorkOrderClockEvent

__all__ = [
    "AuditEntry",
    "Branch",
    "CalendarDay",
    "Device",
    "Duty",
    "DutyCheckoff",
    "DutyEvent",
    "Setting",
    "User",
    "WorkOrderClockEvent",
]
