"""Log-in and users: argon2 password hashes, lockout after repeated failures, role checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from aftersales_desk.data import audit
from aftersales_desk.data.models import Device, User
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission, Role
from aftersales_desk.errors import PermissionDenied, RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.pages import Page, keyset, page

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 6

_hasher = PasswordHasher()


class LoginError(RefusedError):
    """Wrong user name or password, locked or inactive account."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def validate_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _("A password needs at least {n} characters.").format(n=MIN_PASSWORD_LENGTH),
            field="password",
        )


def require(actor: Actor, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless ``actor``'s role allows ``permission``."""
    if not actor.can(permission):
        raise PermissionDenied(
            _("Your role ({role}) may not do this.").format(role=actor.role.label)
        )


@dataclass(frozen=True, slots=True)
class UserRow:
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    active: bool
    locked: bool
    last_login_at: datetime | None


def login(db: Database, username: str, password: str) -> Actor:
    """Check ``username``/``password`` and return the acting user.

    Unknown users and wrong passwords get the same message (no hint which one was wrong); after
    ``MAX_FAILED_LOGINS`` failures the account is locked for ``LOCKOUT``.
    """
    username = username.strip()
    bad = LoginError(_("Unknown user name or wrong password."))
    with db.uow(write=True) as uow:
        s = uow.session
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            _hasher.hash(password)  # same work as a real check: timing says nothing
            raise bad
        now = utcnow()
        if not user.active:
            raise LoginError(_("This account is disabled; ask the manager."))
        if user.locked_until is not None and user.locked_until > now:
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            raise LoginError(
                _("Too many wrong passwords: the account is locked for {n} more minutes.").format(
                    n=minutes
                )
            )
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
            uow.commit()
            raise bad from None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        device = s.scalars(select(Device).where(Device.is_local.is_(True))).first()
        actor = Actor(
            username=user.username,
            role=Role(user.role),
            branch_id=user.branch_id,
            device_id=device.id if device else None,
            user_id=user.id,
            display_name=user.display_name,
        )
        s.info["actor"] = actor
        audit.record(s, "login", "users", str(user.id))
        uow.commit()
        return actor


class UserService:
    """Managing the branch's users: managers and admins only; only an admin makes admins."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def page(self, cursor: str | None = None, limit: int = 200) -> Page[UserRow]:
        require(self.actor, Permission.MANAGE_USERS)
        now = utcnow()
        with self.db.uow(self.actor) as uow:
            q = select(User).where(User.branch_id == self.actor.branch_id)
            users = list(uow.session.scalars(keyset(q, [User.username], cursor, limit)))
        return page(
            users,
            limit,
            lambda r: r.username,
            lambda u: UserRow(
                u.id,
                u.username,
                u.display_name,
                u.role,
                u.active,
                u.locked_until is not None and u.locked_until > now,
                u.last_login_at,
            ),
        )

    def _check_role(self, role: str) -> Role:
        try:
            r = Role(role)
        except ValueError:
            raise ValidationError(
                _("Unknown role: {role}").format(role=role), field="role"
            ) from None
        if r is Role.ADMIN and self.actor.role is not Role.ADMIN:
            raise PermissionDenied(_("Only an administrator can give the administrator role."))
        return r

    def create(self, username: str, display_name: str, role: str, password: str) -> uuid.UUID:
        require(self.actor, Permission.MANAGE_USERS)
        username = username.strip()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise ValidationError(
                _("A user name is 1 to 64 characters without spaces."), field="username"
            )
        r = self._check_role(role)
        validate_new_password(password)
        with self.db.uow(self.actor, write=True) as uow:
            exists = uow.session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.branch_id == self.actor.branch_id, User.username == username)
            )
            if exists:
                raise ValidationError(
                    _("The user name {name} is taken.").format(name=username), field="username"
                )
            user = User(
                branch_id=self.actor.branch_id,
                username=username,
                display_name=display_name.strip(),
                role=r.value,
                password_hash=hash_password(password),
            )
            uow.session.add(user)
            uow.commit()
            return user.id

    def _get(self, uow, user_id: uuid.UUID) -> User:
        user = uow.session.get(User, user_id)
        if user is None or user.branch_id != self.actor.branch_id:
            raise UsageError(_("No such user."))
        return user

    def update(
        self,
        user_id: uuid.UUID,
        *,
        display_name: str | None = None,
        role: str | None = None,
        active: bool | None = None,
    ) -> None:
        require(self.actor, Permission.MANAGE_USERS)
        with self.db.uow(self.actor, write=True) as uow:
            user = self._get(uow, user_id)
            if user.role == Role.ADMIN and self.actor.role is not Role.ADMIN:
                raise PermissionDenied(_("Only an administrator can change an administrator."))
            if display_name is not None:
                user.display_name = display_name.strip()
            if role is not None:
                user.role = self._check_role(role).value
            if active is not None:
                if not active and user.id == self.actor.user_id:
                    raise RefusedError(_("You cannot disable your own account."))
                user.active = active
            uow.commit()

    def reset_password(self, user_id: uuid.UUID, password: str) -> None:
        require(self.actor, Permission.MANAGE_USERS)
        validate_new_password(password)
        with self.db.uow(self.actor, write=True) as uow:
            user = self._get(uow, user_id)
            if user.role == Role.ADMIN and self.actor.role is not Role.ADMIN:
                raise PermissionDenied(_("Only an administrator can change an administrator."))
            user.password_hash = hash_password(password)
            user.failed_logins = 0
            user.locked_until = None
            uow.commit()

    def set_own_language(self, language: str) -> None:
        """Anyone may choose the language the program speaks to them."""
        from aftersales_desk.i18n import LANGUAGES

        if language not in LANGUAGES:
            raise ValidationError(
                _("Unknown language: {value}").format(value=language), field="language"
            )
        if self.actor.user_id is None:
            return
        with self.db.uow(self.actor, write=True) as uow:
            self._get(uow, self.actor.user_id).language = language
            uow.commit()

    def own_language(self) -> str | None:
        if self.actor.user_id is None:
            return None
        with self.db.uow(self.actor) as uow:
            return self._get(uow, self.actor.user_id).language

    def change_own_password(self, old: str, new: str) -> None:
        validate_new_password(new)
        with self.db.uow(self.actor, write=True) as uow:
            user = self._get(uow, self.actor.user_id)  # type: ignore[arg-type]
            try:
                _hasher.verify(user.password_hash, old)
            except (VerificationError, InvalidHashError):
                raise LoginError(_("The current password is wrong.")) from None
            user.password_hash = hash_password(new)
            uow.commit()
