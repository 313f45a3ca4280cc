"""Bring a database to the newest schema at start, after an automatic backup.

A failed upgrade puts the pre-upgrade backup back and raises ``MigrationError``: the database is
exactly as it was, and the user is told so.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect

from aftersales_desk.data.backup import backup_file, restore_file, timestamped_backup_path
from aftersales_desk.data.engine import make_engine
from aftersales_desk.errors import DatabaseError
from aftersales_desk.i18n import _
from aftersales_desk.paths import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config


class MigrationError(DatabaseError):
    """The upgrade failed; the database was restored from the backup taken just before."""


def alembic_config(script_location: Path | None = None, url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or migrations_dir()))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


_REVISION = re.compile(r"^revision(?:: str)? = [\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = (.+)$", re.MULTILINE)


@cache
def head_revision(script_location: Path | None = None) -> str:
    """The newest revision, read from the version files without importing alembic (start-up
    stays fast when there is nothing to upgrade); ``tests`` compare it with alembic's answer."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (script_location or migrations_dir()).joinpath("versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(text), _DOWN.search(text)
        if rev:
            revisions.add(rev.group(1))
        if down:
            parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - parents
    if len(heads) != 1:
        raise DatabaseError(f"migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def known_revisions(script_location: Path | None = None) -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(script_location))
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _peek_revision(path: Path) -> str | None:
    with closing(sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None


def _upgrade(engine: Engine, script_location: Path | None) -> None:
    from alembic import command

    cfg = alembic_config(script_location)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        # Sync capture follows the schema: tables added or rebuilt by later migrations get
        # their triggers in the same transaction (see data/sync_capture.py).
        from aftersales_desk.data.sync_capture import ensure_capture

        ensure_capture(conn.connection.dbapi_connection)


def upgrade_database(
    path: Path,
    *,
    script_location: Path | None = None,
    on_backup: Callable[[Path], None] | None = None,
) -> Path | None:
    """Upgrade ``path`` to head. Returns the backup taken (None when nothing was to do or the
    database was new). Raises ``MigrationError`` after restoring the backup on failure."""
    head = head_revision(script_location)
    try:
        if path.exists() and path.stat().st_size and _peek_revision(path) == head:
            return None  # the usual start: nothing to do, no engine, no alembic
    except sqlite3.DatabaseError:
        pass  # let the engine below report it in the user's terms
    engine = make_engine(path, pool=False)
    try:
        current = current_revision(engine)
        if current == head:
            return None
        if current is not None and current not in known_revisions(script_location):
            raise DatabaseError(
                _(
                    "The database {path} was written by a newer version of aftersales-desk "
                    "(schema {rev}); install the newer version to open it."
                ).format(path=path, rev=current)
            )
        is_empty = current is None and not inspect(engine).get_table_names()
        if current is None and not is_empty:
            raise DatabaseError(
                _("{path} is an SQLite database, but not one of aftersales-desk.").format(path=path)
            )
        backup: Path | None = None
        if not is_empty:
            backup = timestamped_backup_path(path, f"pre-upgrade-{current}")
            backup_file(path, backup)
            if on_backup:
                on_backup(backup)
        try:
            _upgrade(engine, script_location)
        except Exception as exc:
            engine.dispose()
            if backup is not None:
                restore_file(backup, path, keep_copy=False)
                raise MigrationError(
                    _(
                        "Upgrading the database failed; it was restored from the backup taken "
                        "just before ({backup}), nothing is lost. Reason: {reason}"
                    ).format(backup=backup, reason=exc)
                ) from exc
            raise MigrationError(
                _("Creating the database failed: {reason}").format(reason=exc)
            ) from exc
        return backup
    finally:
        engine.dispose()
