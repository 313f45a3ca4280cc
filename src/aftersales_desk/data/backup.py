"""Online backup and verified restore, through SQLite's backup API (consistent while in use)."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from aftersales_desk.data.engine import BUSY_TIMEOUT_MS, is_sqlite_file
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.errors import DatabaseError, RefusedError
from aftersales_desk.i18n import _

REQUIRED_TABLES = ("alembic_version", "branches", "users", "audit_log")


def timestamped_backup_path(db_path: Path, label: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    folder = db_path.parent / "backups"
    return folder / f"{db_path.stem}.{label}.{stamp}.sqlite"


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path.as_posix()}?mode={'ro' if readonly else 'rwc'}"
    if readonly and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        uri += "&immutable=1"  # a read-only file cannot get WAL's -shm; nobody can change it
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    return conn


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_file(source: Path, target: Path) -> Path:
    """Copy the live database ``source`` to ``target`` (a single file, no WAL), verified."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    with (
        closing(_connect(source, readonly=True)) as src,
        closing(_connect(tmp, readonly=False)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    verify_backup(tmp)
    _fsync(tmp)
    os.replace(tmp, target)
    return target


def verify_backup(path: Path) -> None:
    """Raise ``DatabaseError`` unless ``path`` is a whole aftersales-desk database."""
    if not path.is_file() or not is_sqlite_file(path):
        raise DatabaseError(
            _("{path} is not a valid aftersales-desk backup (not an SQLite database).").format(
                path=path
            )
        )
    try:
        with closing(_connect(path, readonly=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                raise DatabaseError(
                    _("{path} is damaged and cannot be used as a backup.").format(path=path)
                )
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            missing = [t for t in REQUIRED_TABLES if t not in tables]
            if missing or conn.execute("SELECT count(*) FROM branches").fetchone()[0] == 0:
                raise DatabaseError(
                    _("{path} is an SQLite file but not an aftersales-desk backup.").format(
                        path=path
                    )
                )
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(
            _("{path} is not a valid aftersales-desk backup ({reason}).").format(
                path=path, reason=exc
            )
        ) from exc


def restore_file(backup: Path, db_path: Path, *, keep_copy: bool = True) -> Path | None:
    """Replace the contents of ``db_path`` with ``backup`` after verifying it.

    The current database is first copied aside (returned) when ``keep_copy``; the copy-in happens
    in one SQLite write transaction, so a crash leaves either the old or the new contents.
    """
    verify_backup(backup)
    if db_path.exists() and not os.access(db_path, os.W_OK):
        raise RefusedError(
            _("The database file {path} is read-only; nothing was changed.").format(path=db_path)
        )
    saved: Path | None = None
    if keep_copy and db_path.exists() and is_sqlite_file(db_path):
        saved = backup_file(db_path, timestamped_backup_path(db_path, "before-restore"))
    with (
        closing(_connect(backup, readonly=True)) as src,
        closing(_connect(db_path, readonly=False)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = WAL")
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return saved
