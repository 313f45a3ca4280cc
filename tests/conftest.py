"""Shared fixtures: an initialized branch database per test (copied from one template made per
session), actors of every role, English messages unless a test asks for Chinese."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="asd-home-"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["AFTERSALES_DESK_HOME"] = str(_HOME / "data")
os.environ["AFTERSALES_DESK_CACHE"] = str(_HOME / "cache")
os.environ["XDG_CONFIG_HOME"] = str(_HOME / "config")  # QSettings of the window under test
os.environ.pop("AFTERSALES_CJK_FONT", None)

from aftersales_desk.data.uow import Database  # noqa: E402
from aftersales_desk.domain.actor import Actor  # noqa: E402
from aftersales_desk.domain.roles import Role  # noqa: E402
from aftersales_desk.i18n import set_language  # noqa: E402

ADMIN_PASSWORD = "secret123"
USER_PASSWORD = "password1"
REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "aftersales_desk"]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aftersales_desk.services.bootstrap import initialize

    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    db = initialize(
        path,
        branch_code="BJ01",
        branch_name="北京朝阳4S店",
        device_code="A",
        admin_password=ADMIN_PASSWORD,
    )
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "branch.sqlite"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    from aftersales_desk.services.bootstrap import open_database

    database = open_database(db_path)
    yield database
    database.dispose()


@pytest.fixture
def admin(db: Database) -> Actor:
    from aftersales_desk.services.bootstrap import local_actor

    return local_actor(db, "admin")


@pytest.fixture
def make_actor(db: Database, admin: Actor) -> Callable[[Role], Actor]:
    """``make_actor(Role.CLERK)`` creates (once) a user of that role and returns its actor."""
    from aftersales_desk.services.auth import UserService
    from aftersales_desk.services.bootstrap import local_actor

    made: dict[Role, Actor] = {}

    def make(role: Role) -> Actor:
        if role not in made:
            UserService(db, admin).create(
                f"u_{role.value}", f"{role.value} user", role.value, USER_PASSWORD
            )
            made[role] = local_actor(db, f"u_{role.value}")
        return made[role]

    return make
