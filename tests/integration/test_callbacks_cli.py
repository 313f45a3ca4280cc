"""The callback queue's headless commands: ``callbacks`` (generate), ``ls callbacks``,
``export callbacks``, ``report`` with the callback reports — exit codes and one-line errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import load_workbook

from aftersales_desk.cli import main

from .test_callbacks import customer, visit


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys):
    def call(*args):
        capsys.readouterr()
        rc = main([*args, "--lang", "en"])
        out, err = capsys.readouterr()
        return Result(rc, out, err)

    return call


def test_generate_list_export_and_report(run, db, admin, db_path, tmp_path):
    from aftersales_desk.services.archive import ArchiveService

    archive = ArchiveService(db, admin)
    cid, vid = customer(archive)
    visit(archive, cid, vid, date(2026, 7, 31))
    r = run("callbacks", "--db", str(db_path), "--date", "2026-08-01", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == {"visit": 1}
    r = run("callbacks", "--db", str(db_path), "--date", "2026-08-01")
    assert r.returncode == 0 and "Queued: 0" in r.stdout
    r = run("callbacks", "--db", str(db_path), "--date", "1 August")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1

    r = run("ls", "callbacks", "--db", str(db_path), "--json")
    [row] = json.loads(r.stdout)
    assert (row["rule"], row["due_on"], row["status"], row["customer_name"]) == (
        "visit",
        "2026-08-05",
        "open",
        "张伟",
    )

    out = tmp_path / "callbacks.xlsx"
    r = run("export", "callbacks", "--db", str(db_path), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Due", "First due", "Reason") and rows[1][0] == "2026-08-05"
    r = run("export", "callbacks", "--db", str(db_path), "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1

    out = tmp_path / "sat.xlsx"
    r = run(
        "report",
        "satisfaction-monthly",
        "--db",
        str(db_path),
        "--month",
        "2026-08",
        "--out",
        str(out),
    )
    assert r.returncode == 0 and out.exists()
    r = run(
        "report", "callbacks-weekly", "--db", str(db_path), "--month", "2026-08", "--out", str(out)
    )
    assert r.returncode == 2 and "--week" in r.stderr


def test_warehouse_keeper_cannot_work_callbacks(run, db, admin, db_path, make_actor):
    from aftersales_desk.domain.roles import Role

    make_actor(Role.WAREHOUSE)
    r = run("callbacks", "--db", str(db_path), "--user", "u_warehouse")
    assert r.returncode == 4 and len(r.stderr.splitlines()) == 1
