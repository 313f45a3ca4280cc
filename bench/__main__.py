"""Runs every benchmark module (bench/bench_*.py), each printing its figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    ok = True
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    only = sys.argv[1:]
    for name in names:
        if only and name.removeprefix("bench_") not in only:
            continue
        module = importlib.import_module(f"bench.{name}")
        ok &= bool(module.main())
    print("\nall targets met" if ok else "\nsome targets MISSED (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
