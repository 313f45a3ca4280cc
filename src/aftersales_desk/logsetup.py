"""Logging to a rotating file in the user's data folder: tracebacks go there, never to the user."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from aftersales_desk.paths import user_data_dir

_configured: Path | None = None


def log_path() -> Path:
    return user_data_dir() / "logs" / "aftersales-desk.log"


def setup_logging() -> Path | None:
    """Send log records to the log file; returns its path (None when it cannot be written)."""
    global _configured
    if _configured is not None:
        return _configured
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    _configured = path
    return path
