"""All tables. Importing this package registers every model on ``Base.metadata``."""

import aftersales_desk.data.models.archive  # noqa: F401
from aftersales_desk.data.models.core import AuditEntry, Branch, Device, Setting, User

__all__ = ["AuditEntry", "Branch", "Device", "Setting", "User"]
