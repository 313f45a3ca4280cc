"""Where things are: the default database, migrations, resources — in a source tree, an installed
wheel, or a PyInstaller bundle alike."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from aftersales_desk import APP_NAME

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_roots() -> list[Path]:
    roots: list[Path] = []
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        roots.append(Path(sys._MEIPASS))  # PyInstaller bundle
    roots.append(_PACKAGE_DIR / "_data")  # installed wheel (see pyproject force-include)
    roots.append(_PACKAGE_DIR.parent.parent)  # source tree: src/aftersales_desk -> repo root
    return roots


@cache
def _find(name: str) -> Path:
    for root in _data_roots():
        candidate = root / name
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name} directory not found in {[str(r) for r in _data_roots()]}")


def migrations_dir() -> Path:
    return _find("migrations")


def resources_dir() -> Path:
    return _find("resources")


def user_data_dir() -> Path:
    from platformdirs import user_data_dir as _udd

    return Path(os.environ.get("AFTERSALES_DESK_HOME") or _udd(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return user_data_dir() / "aftersales.sqlite"


def user_cache_dir() -> Path:
    from platformdirs import user_cache_dir as _ucd

    return Path(os.environ.get("AFTERSALES_DESK_CACHE") or _ucd(APP_NAME, appauthor=False))
