"""GUI fixtures: an AppContext over the test database; message boxes captured, never shown."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox


@pytest.fixture
def ctx(qapp, db, admin):
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.tasks import Ops

    ops = Ops()
    context = AppContext(db=db, actor=admin, ops=ops)
    yield context
    ops.wait_idle()


@pytest.fixture
def message_boxes(monkeypatch):
    """Every QMessageBox.warning/critical/information call, as (kind, title, text)."""
    shown: list[tuple[str, str, str]] = []
    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(
            QMessageBox,
            kind,
            staticmethod(
                lambda parent, title, text, *a, _k=kind, **kw: shown.append((_k, title, text))
            ),
        )
    return shown
