"""A guard against a reference-count bug of PySide6 6.12.0 on CPython 3.11.

PySide6 6.12.0 returns ``True`` from ``SignalInstance.emit()`` and ``None`` from many void
methods (``setEnabled``, ``setText``, ``QTimer.start`` …) without taking a reference, so each call
from Python takes one reference away from those singletons. After a few hundred signals (or some
thousands of void calls) the count reaches zero and the interpreter aborts with
"bool_dealloc: deallocating True or False" — at the latest when it shuts down. CPython 3.12 made
these objects immortal (PEP 683); on 3.11 we give them a reserve of references so large that no
session can use it up. They are static objects that are never freed, so the reserve costs nothing.
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40


def _needs_guard() -> bool:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # immortal there, or no ob_refcnt to speak of
    return True


def immortalize_singletons() -> None:
    if not _needs_guard():
        return
    for obj in (True, False, None):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))  # PyObject.ob_refcnt is the first field
        if refcnt.value < _RESERVE:
            refcnt.value += _RESERVE


immortalize_singletons()
