"""Who is acting: carried by every unit of work so that services check roles and the audit log
records the user, branch and device."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aftersales_desk.domain.roles import Permission, Role, allowed


@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    role: Role
    branch_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    display_name: str = ""

    def can(self, permission: Permission) -> bool:
        return allowed(self.role, permission)


SYSTEM = Actor(username="system", role=Role.ADMIN)
