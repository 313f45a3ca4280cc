"""Bring a database to the newest schema at start, after an automatic backup.

A failed upgrade puts the pre-upgrade backup back and raises ``MigrationError``: the database is
exactly as it was, and the user is told so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from aftersales_desk.data.backup import backup_file, restore_file, timestamped_backup_path
from aftersales_desk.data.engine import make_engine
from aftersales_desk.errors import DatabaseError
from aftersales_desk.i18n import _
from aftersales_desk.paths import migrations_dir


class MigrationError(DatabaseError):
    """The upgrade failed; the database was restored from the backup taken just before."""


def alembic_config(script_location: Path | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or migrations_dir()))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision(script_location: Path | None = None) -> str:
    head = ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()
    assert head is not None
    return head


def known_revisions(script_location: Path | None = None) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(script_location))
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _upgrade(engine: Engine, script_location: Path | None) -> None:
    cfg = alembic_config(script_location)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def upgrade_database(
    path: Path,
    *,
    script_location: Path | None = None,
    on_backup: Callable[[Path], None] | None = None,
) -> Path | None:
    """Upgrade ``path`` to head. Returns the backup taken (None when nothing was to do or the
    database was new). Raises ``MigrationError`` after restoring the backup on failure."""
    engine = make_engine(path, pool=False)
    try:
        current = current_revision(engine)
        head = head_revision(script_location)
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
