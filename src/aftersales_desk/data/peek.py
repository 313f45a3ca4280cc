"""A glance into a branch database with the standard library only — the branch's name and a few
settings — so the log-in window can appear before the ORM is even imported."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any


def _connect(path: Path) -> sqlite3.Connection:
    uri = f"file:{path.as_posix()}?mode=ro"
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=2)


def peek(path: Path) -> dict[str, Any]:
    """``{"branch_name": …, "settings": {key: value}}``; empty when the file cannot be read (the
    full open that follows reports why, in the user's language)."""
    try:
        with closing(_connect(path)) as conn:
            # the desk's own branch (its device's): a desk that syncs holds every branch's row
            row = conn.execute(
                "SELECT name FROM branches ORDER BY "
                "id NOT IN (SELECT branch_id FROM devices WHERE is_local = 1), created_at LIMIT 1"
            ).fetchone()
            # A JSON column has NUMERIC affinity in SQLite: numbers come back as numbers.
            settings = {
                k: json.loads(v) if isinstance(v, str) else v
                for k, v in conn.execute("SELECT key, value FROM settings")
            }
    except (sqlite3.Error, ValueError, TypeError, OSError):
        return {}
    return {"branch_name": row[0] if row else "", "settings": settings}
