"""Roles and what each may do. Services check permissions here; the UI only hides what fails."""

from __future__ import annotations

from enum import StrEnum

from aftersales_desk.i18n import N_, _


class Role(StrEnum):
    CLERK = "clerk"
    WAREHOUSE = "warehouse"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return _(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.CLERK: N_("Front-desk clerk"),
    Role.WAREHOUSE: N_("Warehouse keeper"),
    Role.MANAGER: N_("After-sales manager"),
    Role.ADMIN: N_("Administrator"),
}


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    EDIT_BRANCH_SETTINGS = "edit_branch_settings"
    VIEW_AUDIT = "view_audit"
    VIEW_PERSONAL_DATA = "view_personal_data"  # unmasked phone and ID numbers
    EXPORT_PERSONAL_DATA = "export_personal_data"
    BACKUP = "backup"
    EDIT_CUSTOMERS = "edit_customers"
    EDIT_PARTS = "edit_parts"
    POST_STOCK = "post_stock"
    APPROVE = "approve"  # stock count variances, complaint handling, discounts over the limit
    WORK_CALLBACKS = "work_callbacks"
    EDIT_POLICIES = "edit_policies"
    EDIT_SCHEDULE = "edit_schedule"
    SYNC = "sync"  # run a sync round with the central database
    REVIEW_SYNC = "review_sync"  # resolve sync conflicts, dismiss or resend set-aside changes


_ALL = frozenset(Permission)
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset(
        {
            Permission.VIEW_PERSONAL_DATA,
            Permission.EDIT_CUSTOMERS,
            Permission.WORK_CALLBACKS,
            Permission.EDIT_POLICIES,
            Permission.EDIT_SCHEDULE,
            Permission.BACKUP,
            Permission.SYNC,
        }
    ),
    Role.WAREHOUSE: frozenset(
        {Permission.EDIT_PARTS, Permission.POST_STOCK, Permission.BACKUP, Permission.SYNC}
    ),
    Role.MANAGER: _ALL,  # the manager runs the branch, users included (not admin accounts)
    Role.ADMIN: _ALL,
}


def allowed(role: str | Role, permission: Permission) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False
