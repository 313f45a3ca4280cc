"""All tables. Importing this package registers every model on ``Base.metadata``."""

from aftersales_desk.data.models import parts  # noqa: F401  (parts counter tables)
from aftersales_desk.data.models.core import AuditEntry, Branch, Device, Setting, User

__all__ = ["AuditEntry", "Branch", "Device", "Setting", "User"]
