"""Run a writer in a forked child that may crash on purpose (``os._exit`` at a chosen statement):
the crash tests of gapless numbers, count posting and the parts ledger share it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def run_forked(fn: Callable[..., Any], *args: Any) -> tuple[int, int]:
    """``fn(*args)`` in a forked child whose file descriptor 3 is a pipe to this process (the
    child writes a number there, e.g. how many statements it ran, and ends itself with
    ``os._exit``). Returns the child's exit code (99 when ``fn`` returned or raised) and the
    number it wrote (0 when none)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(r)
            os.dup2(w, 3)
            fn(*args)
        finally:
            os._exit(99)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), int(out or 0)
