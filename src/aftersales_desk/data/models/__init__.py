"""All tables. Importing this package registers every model on ``Base.metadata``."""

import aftersales_desk.data.models.archive  # noqa: F401
from aftersales_desk.data.models import (
    insurance,  # noqa: F401  (insurance log tables)
    parts,  # noqa: F401  (parts counter tables)
)
from aftersales_desk.data.models.core import AuditEntry, Branch, Device, Setting, User
from aftersales_desk.data.models.schedule import CalendarDay, Duty, DutyCheckoff, DutyEvent

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
]
