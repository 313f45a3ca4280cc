"""A real PostgreSQL for the sync tests: one temporary cluster per session (Debian's server
binaries), one database per test. Missing binaries fail the tests; nothing is skipped.

PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` user
(``runuser``); otherwise to the current user. fsync is off; the cluster listens on 127.0.0.1 on a
port of its own with password (scram) authentication, and on a socket folder of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.sync.helpers import Desk, first_desk, join_desk

SUPER_PASSWORD = "super-secret-pw"


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb") or shutil.which("pg_ctl")
    if which:
        return Path(which).parent
    pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    port: int
    sockdir: Path

    def url(self, user: str = "postgres", password: str = SUPER_PASSWORD, db: str = "postgres"):
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def admin_sql(self, sql: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db=db), autocommit=True) as conn:
            conn.execute(sql)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    bindir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="asd-pg-"))
    data, sockdir = root / "data", root / "sock"
    sockdir.mkdir()
    pwfile = root / "pw"
    pwfile.write_text(SUPER_PASSWORD + "\n")
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockdir, "postgres")
        shutil.chown(pwfile, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    user = "postgres"
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "--pwfile",
            str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    opts = (
        f"-F -p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c max_connections=60 "
        "-c shared_buffers=32MB -c full_page_writes=off -c synchronous_commit=off"
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-l",
            str(root / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield Cluster(port=port, sockdir=sockdir)
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def central_url(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh database with the central schema (superuser URL)."""
    from aftersales_desk.services.sync import central

    name = "c_" + uuid.uuid4().hex[:12]
    pg_cluster.admin_sql(f"CREATE DATABASE {name}")
    url = pg_cluster.url(db=name)
    central.init(url)
    yield url
    pg_cluster.admin_sql(f"DROP DATABASE {name} WITH (FORCE)")


@dataclass
class BranchLogin:
    code: str
    url: str


def branch_login(pg_cluster: Cluster, central_url: str, code: str) -> BranchLogin:
    from aftersales_desk.services.sync import central

    creds = central.add_branch(central_url, code)
    db = central_url.rsplit("/", 1)[1].split("?")[0]
    return BranchLogin(code, pg_cluster.url(user=creds.role, password=creds.password, db=db))


@pytest.fixture(scope="session")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized database of branch BJ01, device A (copied for each desk)."""
    from aftersales_desk.services.bootstrap import initialize

    path = tmp_path_factory.mktemp("desk") / "desk.sqlite"
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
def desks(
    pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path
) -> Iterator[tuple[Desk, Desk]]:
    """Two desks A and B of branch BJ01, both synced: A first, B joined from central."""
    login = branch_login(pg_cluster, central_url, "BJ01")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    a.sync()
    b = join_desk(tmp_path, login.url, "B")
    b.sync()
    a.sync()
    yield a, b
    a.close()
    b.close()
