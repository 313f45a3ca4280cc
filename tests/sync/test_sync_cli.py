"""The headless sync commands of CONTRACT.md: central init, central add-branch, sync."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from tests.integration.test_cli import one_clear_line, run
from tests.sync.conftest import Cluster


def test_central_init_add_branch_and_sync_from_the_command_line(
    pg_cluster: Cluster, desk_template: Path, tmp_path: Path
):
    name = "cli_" + uuid.uuid4().hex[:8]
    pg_cluster.admin_sql(f"CREATE DATABASE {name}")
    url = pg_cluster.url(db=name)
    r = run("central", "init", "--url", url, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert "customers" in doc["created_tables"] and doc["synced_tables"] >= 20
    r = run("central", "add-branch", "--url", url, "--branch", "bj01", "--json")
    assert r.returncode == 0, r.stderr
    creds = json.loads(r.stdout)
    assert set(creds) == {"branch", "role", "password"} and creds["branch"] == "BJ01"
    branch_url = pg_cluster.url(user=creds["role"], password=creds["password"], db=name)

    desk = tmp_path / "a.sqlite"
    shutil.copy(desk_template, desk)
    r = run("sync", "--db", str(desk), "--url", branch_url, "--json")
    assert r.returncode == 0, r.stderr
    moved = json.loads(r.stdout)
    assert moved["pushed"] > 0 and moved["conflicts"] == [] and moved["quarantined"] == []
    second = tmp_path / "b.sqlite"
    r = run("sync", "--db", str(second), "--url", branch_url, "--join", "B")
    assert r.returncode == 0, r.stderr
    assert "received" in r.stdout
    import sqlite3

    with sqlite3.connect(second) as conn:
        assert conn.execute("SELECT code, is_local FROM devices ORDER BY code").fetchall() == [
            ("A", 0),
            ("B", 1),
        ]
    r = run("ls", "conflicts", "--db", str(second), "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = run("check", "--db", str(second))
    assert r.returncode == 0, r.stdout + r.stderr
    pg_cluster.admin_sql(f"DROP DATABASE {name} WITH (FORCE)")


def test_sync_failures_are_one_clear_line(
    pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path
):
    desk = tmp_path / "a.sqlite"
    shutil.copy(desk_template, desk)
    bad = pg_cluster.url(user="nobody", password="wrong")
    r = run("sync", "--db", str(desk), "--url", bad, "--lang", "en")
    assert r.returncode == 2
    assert one_clear_line(r).startswith("Cannot connect to the central database")
    # the superuser is not a branch login: refused, nothing done
    r = run("sync", "--db", str(desk), "--url", pg_cluster.url(), "--lang", "en")
    assert r.returncode == 2
    assert "run 'central init'" in one_clear_line(r)
    r = run("sync", "--db", str(desk), "--url", central_url, "--lang", "en")
    assert r.returncode == 4
    assert "not mapped to a branch" in one_clear_line(r)
