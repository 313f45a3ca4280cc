"""Alembic environment: runs on a connection handed in by ``aftersales_desk.data.migrate``
(or on the URL in the config), batch mode for SQLite's limited ALTER TABLE."""

from __future__ import annotations

import re

from alembic import context
from sqlalchemy import create_engine

import aftersales_desk.data.models  # noqa: F401  (registers every table)
from aftersales_desk.data.base import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj, autogen_context):
    # Migrations are frozen snapshots: render our column types as plain SQLAlchemy types so a
    # migration never imports application code that may later change.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_name(name, type_, parent_names) -> bool:
    # FTS5 virtual tables and their shadow tables (``*_fts``, ``*_fts_data`` …) are made by
    # raw SQL in the migrations; they have no model, so autogenerate must not drop them.
    return not (type_ == "table" and name is not None and re.search(r"_fts($|_)", name))


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_include_name,
        render_as_batch=True,
        render_item=_render_item,
        compare_type=True,
        transaction_per_migration=False,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
