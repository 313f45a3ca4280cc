"""All tables. Importing this package registers every model on ``Base.metadata``."""

import aftersales_desk.data.models.archive  # noqa: F401
from aftersales_desk.data.models import (
    counts,  # noqa: F401  (stock counts)
    parts,  # noqa: F401  (parts counter tables)
)
import aftersales_desk.data.models.archive
import aftersales_desk.data.models.callbacks  # noqa: F401  (callback queue tables)
from aftersales_desk.data.models import parts  # noqa: F401  (parts counter tables)
    insurance,  # noqa: F401  (insurance log tables)
    sync,  # noqa: F401  (sync bookkeeping, never synced)
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
