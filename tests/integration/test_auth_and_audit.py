"""Log-in, lockout, roles enforced by the services, automatic audit and its protection."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from aftersales_desk.data.models import AuditEntry, User
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.i18n import set_language
from aftersales_desk.services.audit import AuditService
from aftersales_desk.services.auth import MAX_FAILED_LOGINS, LoginError, UserService, login
from aftersales_desk.services.settings import SettingsService
from tests.conftest import ADMIN_PASSWORD


def test_login_and_its_audit(db):
    actor = login(db, "admin", ADMIN_PASSWORD)
    assert actor.role is Role.ADMIN and actor.branch_id is not None and actor.device_id is not None
    with db.uow() as uow:
        entry = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "login")).one()
        assert entry.username == "admin"


def test_wrong_password_and_unknown_user_give_the_same_message(db):
    with pytest.raises(LoginError) as wrong:
        login(db, "admin", "not-it")
    with pytest.raises(LoginError) as unknown:
        login(db, "nobody", "whatever")
    assert wrong.value.message == unknown.value.message == "Unknown user name or wrong password."
    set_language("zh_CN")
    with pytest.raises(LoginError, match="用户名不存在或密码错误"):
        login(db, "admin", "not-it")


def test_lockout_after_repeated_failures_and_unlock_by_time(db):
    with time_machine.travel("2026-11-23 09:00:00+00:00", tick=False) as clock:
        for _ in range(MAX_FAILED_LOGINS):
            with pytest.raises(LoginError):
                login(db, "admin", "wrong")
        with pytest.raises(LoginError, match="locked"):
            login(db, "admin", ADMIN_PASSWORD)  # even the right password
        clock.shift(timedelta(minutes=16))
        assert login(db, "admin", ADMIN_PASSWORD).username == "admin"


def test_disabled_account_cannot_log_in(db, admin):
    svc = UserService(db, admin)
    uid = svc.create("liuyang", "刘洋", "clerk", "password1")
    svc.update(uid, active=False)
    with pytest.raises(LoginError, match="disabled"):
        login(db, "liuyang", "password1")


def test_passwords_are_argon2_hashes(db, admin):
    UserService(db, admin).create("zhangli", "张丽", "clerk", "password1")
    with db.uow() as uow:
        h = uow.session.scalars(select(User.password_hash).where(User.username == "zhangli")).one()
    assert h.startswith("$argon2id$") and "password1" not in h


def test_roles_are_enforced_by_services(db, admin, make_actor):
    clerk, manager = make_actor(Role.CLERK), make_actor(Role.MANAGER)
    with pytest.raises(PermissionDenied):
        UserService(db, clerk).create("x1", "x", "clerk", "password1")
    with pytest.raises(PermissionDenied):
        UserService(db, clerk).page()
    with pytest.raises(PermissionDenied):
        AuditService(db, clerk).page()
    with pytest.raises(PermissionDenied):
        SettingsService(db, clerk).update({"paper_size": "A5"})
    with pytest.raises(PermissionDenied, match="administrator"):
        UserService(db, manager).create("boss", "x", "admin", "password1")
    UserService(db, manager).create("newclerk", "新人", "clerk", "password1")  # managers run users
    admin_id = UserService(db, admin).page().rows[0].id
    with pytest.raises(PermissionDenied):
        UserService(db, manager).reset_password(admin_id, "password2")


def test_user_validation(db, admin):
    svc = UserService(db, admin)
    with pytest.raises(ValidationError):
        svc.create("has space", "x", "clerk", "password1")
    with pytest.raises(ValidationError):
        svc.create("ok", "x", "emperor", "password1")
    with pytest.raises(ValidationError):
        svc.create("ok", "x", "clerk", "123")
    svc.create("ok", "x", "clerk", "password1")
    with pytest.raises(ValidationError, match="taken"):
        svc.create("ok", "y", "clerk", "password1")
    with pytest.raises(RefusedError):
        svc.update(admin.user_id, active=False)


def test_every_change_is_audited_with_before_and_after(db, admin):
    svc = UserService(db, admin)
    uid = svc.create("zhangli", "张丽", "clerk", "password1")
    svc.update(uid, display_name="张丽丽", role="manager")
    rows = AuditService(db, admin).page().rows
    update = next(r for r in rows if r.action == "update" and r.entity == "users")
    assert update.before == {"display_name": "张丽", "role": "clerk"}
    assert update.after == {"display_name": "张丽丽", "role": "manager"}
    assert update.username == "admin"
    insert = next(
        r for r in rows if r.action == "insert" and r.entity == "users" and r.entity_id == str(uid)
    )
    assert insert.after["password_hash"] == "***"


def test_audit_log_refuses_update_and_delete(db):
    with db.engine.connect() as conn:
        for sql in ("UPDATE audit_log SET username = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(IntegrityError, match="append-only"):
                conn.execute(text(sql))
            conn.rollback()


def test_audit_pages_are_keyset_and_complete(db, admin):
    svc = UserService(db, admin)
    for i in range(25):
        svc.create(f"user{i:02d}", "x", "clerk", "password1")
    audit = AuditService(db, admin)
    seen, cursor = [], None
    while True:
        page = audit.page(cursor, limit=7)
        seen += [r.id for r in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    with db.uow() as uow:
        total = uow.session.scalar(
            select(__import__("sqlalchemy").func.count()).select_from(AuditEntry)
        )
    assert len(seen) == len(set(seen)) == total


def test_settings_validate_and_update_atomically(db, admin):
    svc = SettingsService(db, admin)
    assert svc.get("paper_size") == "A4"
    with pytest.raises(ValidationError):
        svc.update({"paper_size": "A5", "ui_font_size": 99})
    assert svc.get("paper_size") == "A4"  # nothing half-applied
    svc.update({"paper_size": "A5", "ui_font_size": 12})
    assert svc.all()["paper_size"] == "A5"
    svc.update_branch(name="北京朝阳4S店", address="朝阳区", phone="010-1")
    assert svc.branch().address == "朝阳区"
