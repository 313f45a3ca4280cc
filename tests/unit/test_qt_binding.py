"""The installed Qt binding must not corrupt the interpreter.

PySide6 6.12.0 on CPython 3.11 drops a reference to ``True`` on every ``Signal.emit()`` from
Python, so a busy window aborts with "bool_dealloc" after a few hundred signals (pyproject pins
PySide6 below 6.12). This test emits enough signals to hit that in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QObject, Signal
class Emitter(QObject):
    fired = Signal(int)
e = Emitter()
e.fired.connect(lambda v: None)
before = sys.getrefcount(True)
for i in range(5000):
    e.fired.emit(i)
print(sys.getrefcount(True) - before)
"""


def test_signal_emission_keeps_reference_counts() -> None:
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-500:]
    assert abs(int(run.stdout.strip())) < 100, run.stdout
