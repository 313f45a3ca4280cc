"""Shared benchmark harness: timing with medians and percentiles, a cache of large databases built
once, and one printed line per figure with its target and its ratio to a baseline measured in the
same run."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("AFTERSALES_BENCH_CACHE", REPO / "bench" / ".cache"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@dataclass
class Timing:
    samples: list[float]  # seconds

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        s = sorted(self.samples)
        return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def measure(fn: Callable[[], object], *, repeat: int = 15, warmup: int = 1) -> Timing:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return Timing(samples)


def report(
    name: str,
    value: float,
    unit: str = "ms",
    *,
    target: float | None = None,
    baseline: float | None = None,
    baseline_name: str = "baseline",
    max_ratio: float | None = None,
    higher_is_better: bool = False,
) -> bool:
    """Print one figure; returns whether it meets its target and ratio bound."""
    ok = True
    parts = [f"{name:<58} {value:>10.1f} {unit}"]
    if target is not None:
        met = value >= target if higher_is_better else value <= target
        ok &= met
        parts.append(
            f"target {'≥' if higher_is_better else '≤'} {target:g} {unit} {'ok' if met else 'MISSED'}"
        )
    if baseline is not None and baseline > 0:
        ratio = value / baseline
        parts.append(f"{ratio:.2f}× {baseline_name} ({baseline:.1f} {unit})")
        if max_ratio is not None:
            met = ratio <= max_ratio
            ok &= met
            parts.append(f"bound {max_ratio:g}× {'ok' if met else 'MISSED'}")
    print(" | ".join(parts), flush=True)
    return ok


def header(title: str) -> None:
    print(
        f"\n== {title} ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]})",
        flush=True,
    )


def cached_db(name: str, build: Callable[[Path], None]) -> Path:
    """A database built once by ``build(path)`` and kept in bench/.cache (delete it to rebuild)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.sqlite"
    if not path.exists():
        tmp = path.with_suffix(".building.sqlite")
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            p.unlink(missing_ok=True)
        t0 = time.perf_counter()
        build(tmp)
        import sqlite3

        with sqlite3.connect(tmp) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tmp.rename(path)
        print(f"(built {path.name} in {time.perf_counter() - t0:.1f} s)", flush=True)
    return path
