"""The headless contract: exit codes, one-line translated errors, nothing written on failure."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, CLI


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "LANG": "C.UTF-8", **(env or {})}
    full_env.pop("AFTERSALES_LANG", None)
    return subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, text=True, timeout=120, env=full_env
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_init_then_ls_json(tmp_path: Path):
    db = tmp_path / "b.sqlite"
    r = run(
        "init",
        "--db",
        str(db),
        "--branch",
        "sh02",
        "--branch-name",
        "上海浦东服务中心",
        stdin="s3cret-pw\n",
    )
    assert r.returncode == 0, r.stderr
    r = run("ls", "users", "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    users = json.loads(r.stdout)
    assert [u["username"] for u in users] == ["admin"]
    assert users[0]["role"] == "admin"
    r = run("ls", "branches", "--db", str(db), "--json")
    assert json.loads(r.stdout)[0]["code"] == "SH02"


def test_init_refuses_short_password_and_existing_file(tmp_path: Path, db_path: Path):
    r = run(
        "init",
        "--db",
        str(tmp_path / "x.sqlite"),
        "--branch",
        "A1",
        "--branch-name",
        "x",
        stdin="123\n",
    )
    assert r.returncode == 2
    assert "at least" in one_clear_line(r)
    assert not (tmp_path / "x.sqlite").exists()
    before = digest(db_path)
    r = run(
        "init",
        "--db",
        str(db_path),
        "--branch",
        "A1",
        "--branch-name",
        "x",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert r.returncode == 4
    assert "already exists" in one_clear_line(r)
    assert digest(db_path) == before


def test_missing_database(tmp_path: Path):
    r = run("ls", "users", "--db", str(tmp_path / "nope.sqlite"))
    assert r.returncode == 2
    assert "No database" in one_clear_line(r)
    assert not (tmp_path / "nope.sqlite").exists()


def test_missing_database_in_chinese(tmp_path: Path):
    r = run("ls", "users", "--db", str(tmp_path / "nope.sqlite"), "--lang", "zh_CN")
    assert r.returncode == 2
    assert "没有数据库" in one_clear_line(r)


@pytest.mark.parametrize("garbage", [b"PK\x03\x04 not a database" * 200, b"\x00" * 8192])
def test_corrupted_database_file(tmp_path: Path, garbage: bytes):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(garbage)
    before = digest(bad)
    for args in (("ls", "users"), ("check",), ("gui", "--screenshot", str(tmp_path / "x.png"))):
        r = run(*args, "--db", str(bad))
        assert r.returncode == 2, (args, r.stderr)
        assert "aftersales-desk database" in one_clear_line(r) or "damaged" in r.stderr
    assert digest(bad) == before
    assert not (tmp_path / "x.png").exists()


def test_damaged_database_pages(db_path: Path):
    data = bytearray(db_path.read_bytes())
    for i in range(4096, len(data), 4096):
        data[i : i + 64] = b"\xff" * 64
    db_path.write_bytes(bytes(data))
    r = run("check", "--db", str(db_path))
    assert r.returncode in (2, 4), r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture
def read_only_db(db_path: Path, tmp_path: Path):
    """The branch database on a read-only file: chmod for a normal user; for root (CI), who
    ignores permission bits, a read-only bind mount of its folder."""
    import shutil

    if os.geteuid() != 0:
        db_path.chmod(stat.S_IRUSR | stat.S_IRGRP)
        yield db_path
        db_path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        return
    src, mnt = tmp_path / "rw", tmp_path / "ro"
    src.mkdir()
    mnt.mkdir()
    shutil.copyfile(db_path, src / db_path.name)
    ok = (
        subprocess.run(["mount", "--bind", str(src), str(mnt)], capture_output=True).returncode == 0
    )
    ok = (
        ok
        and subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(mnt)], capture_output=True
        ).returncode
        == 0
    )
    if not ok:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        pytest.skip("cannot make a read-only file here (root without mount rights)")
    try:
        yield mnt / db_path.name
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, check=False)


def test_read_only_database_refuses_writes_but_lists(read_only_db: Path, tmp_path: Path):
    before = digest(read_only_db)
    r = run("demo", "--db", str(read_only_db), "--customers", "1")
    assert r.returncode == 4
    assert "read-only" in one_clear_line(r)
    r = run("demo", "--db", str(read_only_db), "--customers", "1", "--lang", "zh_CN")
    assert "只读" in one_clear_line(r)
    r = run("ls", "users", "--db", str(read_only_db), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["username"] == "admin"
    r = run("check", "--db", str(read_only_db))
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("gui", "--db", str(read_only_db), "--screenshot", str(tmp_path / "ro.png"))
    assert r.returncode == 0, r.stderr
    assert digest(read_only_db) == before


def test_missing_font_is_a_clear_message(tmp_path: Path):
    r = run("fonts", env={"AFTERSALES_CJK_FONT": str(tmp_path / "none.ttf")})
    assert r.returncode == 2
    assert "TrueType" in one_clear_line(r)
    r = run("fonts", "--lang", "zh_CN", env={"AFTERSALES_CJK_FONT": str(tmp_path / "none.ttf")})
    assert "字体" in one_clear_line(r)


def test_font_found():
    r = run("fonts", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["path"].endswith((".ttf", ".ttc"))


def test_unknown_kind_and_bad_filter(db_path: Path):
    r = run("ls", "nothing", "--db", str(db_path))
    assert r.returncode == 2
    assert "Unknown kind" in one_clear_line(r)
    r = run("ls", "users", "--db", str(db_path), "--filter", "role")
    assert r.returncode == 2
    assert "KEY=VALUE" in one_clear_line(r)


def test_unknown_acting_user(db_path: Path):
    r = run("ls", "users", "--db", str(db_path), "--user", "ghost")
    assert r.returncode == 2
    assert "Unknown user" in one_clear_line(r)


def test_check_passes_and_reports_json(db_path: Path):
    r = run("check", "--db", str(db_path), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["problems"] == []


def test_check_fails_when_a_ledger_lost_its_protection(db_path: Path):
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER trg_audit_log_no_delete")
    r = run("check", "--db", str(db_path))
    assert r.returncode == 4
    assert "audit_log" in r.stdout


def test_backup_and_restore_commands(db_path: Path, tmp_path: Path):
    out = tmp_path / "b.sqlite"
    r = run("backup", "--db", str(db_path), "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["backup"] == str(out)
    not_backup = tmp_path / "notes.txt"
    not_backup.write_text("hello")
    before = digest(db_path)
    r = run("restore", str(not_backup), "--db", str(db_path))
    assert r.returncode == 2
    assert "not a valid aftersales-desk backup" in one_clear_line(r)
    assert digest(db_path) == before
    r = run("restore", str(out), "--db", str(db_path))
    assert r.returncode == 0, r.stderr


def test_bad_report_period(db_path: Path, tmp_path: Path):
    r = run(
        "report",
        "anything",
        "--db",
        str(db_path),
        "--month",
        "2026-13",
        "--out",
        str(tmp_path / "r.xlsx"),
    )
    assert r.returncode == 2
    assert "YYYY-MM" in one_clear_line(r)


def test_screenshot_renders_chinese_window(db_path: Path, tmp_path: Path):
    out = tmp_path / "shot.png"
    r = run("gui", "--db", str(db_path), "--screenshot", str(out), "--size", "1280x800")
    assert r.returncode == 0, r.stderr
    from PIL import Image

    with Image.open(out) as img:
        assert img.size == (1280, 800)
        assert len(img.getcolors(1 << 20) or []) > 10  # not a blank surface
    r = run("gui", "--db", str(db_path), "--tab", "nowhere", "--screenshot", str(out))
    assert r.returncode == 2
    assert "nowhere" in one_clear_line(r)
