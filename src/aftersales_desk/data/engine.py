"""Opening a branch database: SQLite with WAL, foreign keys, FULL sync and a busy timeout.

Every failure to open — no file, not a database, corrupt, read-only — becomes a
``DatabaseError`` with a translated message instead of a traceback.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import NullPool

from aftersales_desk.errors import DatabaseError, RefusedError
from aftersales_desk.i18n import _

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == SQLITE_HEADER
    except OSError:
        return False


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any, *, readonly: bool) -> None:
    # Let SQLAlchemy's "begin" event own transactions (pysqlite's implicit ones are unreliable).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
    cur.close()


def _on_begin(conn: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads and then writes
    # can fail with SQLITE_BUSY when another writer got in between.
    if conn.get_execution_options().get("sqlite_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(path: Path, *, readonly: bool = False, pool: bool = True) -> Engine:
    """A SQLAlchemy engine on ``path`` with the pragmas above applied to every connection."""
    if readonly:
        # A read-only file (or folder) cannot get WAL's -shm file, and nobody can change it under
        # us: open it as immutable.
        url = f"sqlite:///file:{path.as_posix()}?mode=ro&immutable=1&uri=true"
    else:
        url = f"sqlite:///{path.as_posix()}"
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if not pool:
        kwargs["poolclass"] = NullPool
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", lambda c, r: _on_connect(c, r, readonly=readonly))
    event.listen(engine, "begin", _on_begin)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, but transactions start with ``BEGIN IMMEDIATE``."""
    return engine.execution_options(sqlite_immediate=True)


def check_openable(path: Path, *, write: bool) -> bool:
    """Raise a clear ``DatabaseError`` unless ``path`` is a database we can open.

    Returns whether it must be opened read-only (file or folder not writable and ``write`` false).
    """
    if not path.exists():
        raise DatabaseError(
            _("No database at {path}. Create one with 'init' or 'demo'.").format(path=path)
        )
    if not path.is_file():
        raise DatabaseError(_("{path} is not a database file.").format(path=path))
    if not os.access(path, os.R_OK):
        raise DatabaseError(
            _("The database file {path} cannot be read (permissions).").format(path=path)
        )
    if path.stat().st_size and not is_sqlite_file(path):
        raise DatabaseError(
            _("{path} is not an aftersales-desk database (not SQLite, or damaged).").format(
                path=path
            )
        )
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    if not writable and write:
        raise RefusedError(
            _(
                "The database file {path} is read-only; nothing was changed. "
                "Check the file's permissions or copy it to a writable folder."
            ).format(path=path)
        )
    return not writable


def translate_error(exc: BaseException, path: Path | None = None) -> Exception:
    """Map a driver error to a user-facing one (or return it unchanged when it is a bug)."""
    text = str(getattr(exc, "orig", exc)).lower()
    where = str(path) if path else ""
    if isinstance(exc, sa_exc.DBAPIError | sqlite3.DatabaseError):
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            return DatabaseError(
                _(
                    "The database {path} is damaged. Restore it from a backup (see 'restore')."
                ).format(path=where)
            )
        if "readonly" in text or "read-only" in text:
            return RefusedError(
                _("The database file {path} is read-only; nothing was changed.").format(path=where)
            )
        if "locked" in text or "busy" in text:
            return RefusedError(
                _("The database is busy (another program is writing to it); try again.")
            )
        if "unable to open" in text:
            return DatabaseError(_("The database {path} cannot be opened.").format(path=where))
        if "disk i/o" in text or "full" in text:
            return DatabaseError(
                _("The database could not be written (disk full or failing); nothing was changed.")
            )
    return exc  # type: ignore[return-value]
