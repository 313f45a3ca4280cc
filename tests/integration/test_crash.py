"""Killing the program (SIGKILL) in the middle of writes leaves the database whole."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CLI

WRITER = Path(__file__).with_name("crash_writer.py")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("delay", [0.15, 0.4, 0.7, 1.1])
def test_sigkill_during_writes_leaves_check_passing(db_path: Path, delay: float):
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    with sqlite3.connect(db_path) as conn:
        written = conn.execute(
            "SELECT count(*) FROM users WHERE username LIKE 'crash%'"
        ).fetchone()[0]
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE entity = 'users' AND action = 'insert'"
            " AND json_extract(after, '$.username') LIKE 'crash%'"
        ).fetchone()[0]
    assert written > 0, "the writer never committed: raise the delay"
    assert written % 3 == 0, "a transaction was half-written"
    assert audited == written, "a change without its audit entry (or the reverse)"

    result = subprocess.run(
        [*CLI, "check", "--db", str(db_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
