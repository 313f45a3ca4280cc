"""Online backup and verified restore."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from aftersales_desk.data.backup import backup_file, restore_file
from aftersales_desk.errors import DatabaseError
from aftersales_desk.services.auth import UserService


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_restore_of_a_backup_gives_an_identical_database(db, admin, tmp_path: Path):
    UserService(db, admin).create("zhangli", "张丽", "clerk", "password1")
    original = _dump(db.path)
    backup = backup_file(db.path, tmp_path / "b.sqlite")
    UserService(db, admin).create("wangqiang", "王强", "warehouse", "password1")  # diverge
    assert _dump(db.path) != original
    db.dispose()
    saved = restore_file(backup, db.path)
    assert _dump(db.path) == original
    assert saved is not None and "wangqiang" in "".join(_dump(saved))


def test_backup_is_taken_while_the_database_is_in_use(db, admin, tmp_path: Path):
    with db.uow(admin) as uow:  # an open read transaction does not stop the backup
        uow.session.execute(__import__("sqlalchemy").text("SELECT 1"))
        backup = backup_file(db.path, tmp_path / "live.sqlite")
    assert _dump(backup) == _dump(db.path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a database at all" * 100, "not a valid aftersales-desk backup"),
        (b"", "not a valid aftersales-desk backup"),
    ],
)
def test_restore_refuses_a_file_that_is_not_a_backup(
    db_path: Path, tmp_path: Path, content, message
):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(content)
    before = _digest(db_path)
    with pytest.raises(DatabaseError, match=message):
        restore_file(bad, db_path)
    assert _digest(db_path) == before


def test_restore_refuses_another_sqlite_database(db_path: Path, tmp_path: Path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    before = _digest(db_path)
    with pytest.raises(DatabaseError, match="not an aftersales-desk backup"):
        restore_file(other, db_path)
    assert _digest(db_path) == before


def test_restore_refuses_a_damaged_backup(db_path: Path, tmp_path: Path):
    backup = backup_file(db_path, tmp_path / "b.sqlite")
    data = bytearray(backup.read_bytes())
    for i in range(4096, len(data), 4096):  # scribble over the header of every page after the first
        data[i : i + 64] = b"\xff" * 64
    backup.write_bytes(bytes(data))
    before = _digest(db_path)
    with pytest.raises(DatabaseError):
        restore_file(backup, db_path)
    assert _digest(db_path) == before
