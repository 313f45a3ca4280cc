"""Opening a branch database for use, and creating a new one (``init``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from aftersales_desk.data.engine import check_openable
from aftersales_desk.data.migrate import upgrade_database
from aftersales_desk.data.models import Branch, Device, User
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import DatabaseError, RefusedError, UsageError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import hash_password, validate_new_password
from aftersales_desk.services.settings import DEFAULTS


def open_database(
    path: Path, *, write: bool = True, on_backup: Callable[[Path], None] | None = None
) -> Database:
    """Open ``path`` for use: upgraded to the newest schema (after a backup) when writable.

    Read-only files open read-only when ``write`` is false, and are refused otherwise.
    """
    path = Path(path)
    readonly = check_openable(path, write=write)
    if not readonly:
        upgrade_database(path, on_backup=on_backup)
        # sync capture triggers for every synced table (a table rebuilt or added since)
        from aftersales_desk.data.sync_capture import ensure_capture_file

        ensure_capture_file(path)
    db = Database(path, readonly=readonly)
    if readonly:
        from aftersales_desk.data.migrate import current_revision, head_revision

        if current_revision(db.engine) != head_revision():
            db.dispose()
            raise DatabaseError(
                _(
                    "The read-only database {path} is of an older version and cannot be upgraded "
                    "in place; copy it to a writable folder."
                ).format(path=path)
            )
    return db


def local_actor(db: Database, username: str = "system") -> Actor:
    """The acting user of a headless command: the named user of this branch, or ``system``."""
    with db.uow() as uow:
        device = uow.session.scalars(select(Device).where(Device.is_local.is_(True))).first()
        # this desk's branch is its own device's: a desk that syncs also holds the rows of the
        # other branches (master data), in whatever order central sent them
        branch = uow.session.get(Branch, device.branch_id) if device is not None else None
        if branch is None:
            branch = uow.session.scalars(select(Branch).order_by(Branch.created_at)).first()
        if branch is None:
            raise DatabaseError(
                _("The database {path} has no branch; was 'init' run?").format(path=db.path)
            )
        user = uow.session.scalars(
            select(User).where(User.branch_id == branch.id, User.username == username)
        ).first()
        if user is None:
            if username != "system":
                raise UsageError(_("Unknown user: {name}").format(name=username))
            return Actor(
                username="system",
                role=Role.ADMIN,
                branch_id=branch.id,
                device_id=device.id if device else None,
            )
        return Actor(
            username=user.username,
            role=Role(user.role),
            branch_id=branch.id,
            device_id=device.id if device else None,
            user_id=user.id,
            display_name=user.display_name,
        )


def initialize(
    path: Path,
    *,
    branch_code: str,
    branch_name: str,
    device_code: str,
    admin_password: str,
    address: str = "",
    phone: str = "",
) -> Database:
    """Create a new branch database at the newest schema with its branch, device and ``admin``."""
    path = Path(path)
    branch_code = branch_code.strip().upper()
    device_code = device_code.strip().upper()
    if not branch_code or not branch_code.isalnum() or len(branch_code) > 16:
        raise UsageError(_("A branch code is 1 to 16 letters or digits, e.g. BJ01."))
    if not device_code or not device_code.isalnum() or len(device_code) > 8:
        raise UsageError(_("A device code is 1 to 8 letters or digits, e.g. A."))
    if not branch_name.strip():
        raise UsageError(_("The branch needs a name."))
    validate_new_password(admin_password)
    if path.exists() and path.stat().st_size > 0:
        raise RefusedError(_("{path} already exists; nothing was changed.").format(path=path))
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    upgrade_database(path)
    db = Database(path)
    with db.uow(write=True) as uow:
        from aftersales_desk.data.sync_capture import branch_uuid

        branch = Branch(
            id=branch_uuid(branch_code),  # the same id on every device and on central
            code=branch_code,
            name=branch_name.strip(),
            address=address,
            phone=phone,
        )
        uow.session.add(branch)
        uow.session.flush()
        uow.session.add(
            Device(branch_id=branch.id, code=device_code, name=device_code, is_local=True)
        )
        uow.session.add(
            User(
                branch_id=branch.id,
                username="admin",
                display_name=_("Administrator"),
                role=Role.ADMIN.value,
                password_hash=hash_password(admin_password),
            )
        )
        from aftersales_desk.data.models import Setting

        for key, value in DEFAULTS.items():
            uow.session.add(Setting(branch_id=branch.id, key=key, value=value))
        uow.commit()
    return db
