"""Unit of work: one session, one transaction, committed explicitly or rolled back whole.

Services receive a ``Database`` and open ``db.uow(actor)`` (read) or ``db.uow(actor, write=True)``
for each use case; nothing half-written survives an exception or a crash.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import aftersales_desk.data.audit  # noqa: F401  (registers the audit listener)
from aftersales_desk.data.engine import make_engine, translate_error, writer
from aftersales_desk.domain.actor import SYSTEM, Actor


class UnitOfWork:
    def __init__(self, engine: Engine, actor: Actor, *, write: bool, path: Path | None) -> None:
        self._engine = writer(engine) if write else engine
        self.actor = actor
        self.write = write
        self._path = path
        self.session: Session

    def __enter__(self) -> Self:
        self.session = Session(bind=self._engine, expire_on_commit=False, autoflush=True)
        self.session.info["actor"] = self.actor
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the loaded objects without
        # expiring them, so plain values read inside the block stay usable after it.
        self.session.close()
        if exc is not None:
            translated = translate_error(exc, self._path)
            if translated is not exc:
                raise translated from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except Exception as exc:
            translated = translate_error(exc, self._path)
            if translated is not exc:
                raise translated from exc
            raise


class Database:
    """An opened branch database file."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.engine = make_engine(self.path, readonly=readonly)

    def uow(self, actor: Actor = SYSTEM, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, actor, write=write, path=self.path)

    def dispose(self) -> None:
        self.engine.dispose()
