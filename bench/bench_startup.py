"""Start-up: process start → main window usable, against a bare PySide6 window started the same
way in the same run; idle memory. Database: the demo branch filled by every installed module's
demo filler with 200k customers, plus 1M audit entries (or BENCH_STARTUP_DB, a demo database
whose admin password is the demo one) (issue 2: ≤ 1.5 s median, ≤ 3× bare,
≤ 250 MB idle)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import cached_db, header, report

PROBE = Path(__file__).with_name("startup_probe.py")
RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "7"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "200000"))
AUDIT_ROWS = 1_000_000


def build(path: Path) -> None:
    import json
    import sqlite3
    import uuid

    import aftersales_desk.services.modules  # noqa: F401  (every module's demo filler)
    from aftersales_desk.services.demo import fill_demo

    fill_demo(path, customers=CUSTOMERS, seed=7).dispose()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO audit_log (id, at, username, action, entity, entity_id, after, note) "
            "VALUES (?, ?, 'zhangli', 'update', 'customers', ?, ?, '')",
            (
                (
                    uuid.uuid4().hex,
                    f"2025-{1 + i % 12:02d}-{1 + i % 28:02d} 08:{i % 60:02d}:00.000000",
                    uuid.uuid4().hex,
                    json.dumps({"phone": "13800138000"}),
                )
                for i in range(AUDIT_ROWS)
            ),
        )


def probe(mode: str, db: Path) -> dict[str, float]:
    """Milliseconds from process start to each mark the probe prints; ``rss`` in MB."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, str(PROBE), mode, str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    marks = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    out = {k: (float(v) - t0) * 1000 for k, v in marks.items() if k != "rss"}
    out["rss"] = float(marks["rss"])
    return out


def main() -> bool:
    from aftersales_desk.data.migrate import head_revision

    header("start-up")
    given = os.environ.get("BENCH_STARTUP_DB")  # e.g. a copy of the archive benchmark's database
    db = Path(given) if given else cached_db(f"startup-{head_revision()}-{CUSTOMERS}", build)
    print(f"database {db.name}: {db.stat().st_size / 1e6:.0f} MB", flush=True)
    probe("app", db)  # warm the OS file cache once, as a second start of the day would be
    login_ms, main_ms, bare_ms, rss = [], [], [], []
    for _ in range(RUNS):  # alternate so both see the same machine state
        bare_ms.append(probe("bare", db)["usable"])
        marks = probe("app", db)
        login_ms.append(marks["login"])
        main_ms.append(marks["usable"])
        rss.append(marks["rss"])
    bare = statistics.median(bare_ms)
    ok = report(
        "log-in window usable after process start (median)",
        statistics.median(login_ms),
        "ms",
        target=1500,
        baseline=bare,
        baseline_name="bare PySide6 window",
        max_ratio=3,
    )
    ok &= report(
        "main window usable, log-in without typing (median)",
        statistics.median(main_ms),
        "ms",
        target=1500,
        baseline=bare,
        baseline_name="bare PySide6 window",
    )
    ok &= report("idle resident memory (median)", statistics.median(rss), "MB", target=250)
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
