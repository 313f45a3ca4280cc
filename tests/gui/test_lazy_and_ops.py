"""The lazy table model (checked by Qt's own model tester) and the operations helper."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from aftersales_desk.errors import Cancelled, ValidationError
from aftersales_desk.i18n import N_
from aftersales_desk.services.pages import Page
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    amount: int


ROWS = [Row(i, f"客户{i}", i * 100) for i in range(1, 1001)]


def fetch(cursor, limit):
    start = 0 if cursor is None else cursor
    rows = ROWS[start : start + limit]
    nxt = start + limit if start + limit < len(ROWS) else None
    return Page(rows, nxt)


def make_model(page_size=100):
    calls = []

    def counting(cursor, limit):
        calls.append(cursor)
        return fetch(cursor, limit)

    model = LazyTableModel(
        [Column("name", N_("Name")), Column("amount", N_("Amount"), fmt=str, align_right=True)],
        counting,
        page_size=page_size,
    )
    return model, calls


def test_pages_are_fetched_as_needed(qapp):
    model, calls = make_model()
    model.reload()
    assert model.rowCount() == 100 and calls == [None]
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 200 and calls == [None, 100]
    for _ in range(20):
        if model.canFetchMore():
            model.fetchMore()
    assert model.rowCount() == 1000 and not model.canFetchMore()
    assert model.data(model.index(999, 0)) == "客户1000"
    assert (
        model.headerData(0, __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal) == "Name"
    )


def test_model_passes_qt_model_tester(qtmodeltester):
    model, _calls = make_model(page_size=50)
    model.reload()
    model.fetchMore()
    qtmodeltester.check(model, force_py=True)  # it fetches more itself and watches the inserts
    assert model.rowCount() >= 100


def test_view_scrolling_fetches_lazily(qtbot):
    from PySide6.QtWidgets import QTableView

    model, calls = make_model()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(400, 300)
    view.show()
    qtbot.waitUntil(lambda: model.rowCount() >= 100)
    assert model.rowCount() < 1000  # not the whole table
    view.scrollToBottom()
    qtbot.waitUntil(lambda: len(calls) >= 2)


def test_operation_success_runs_off_the_ui_thread_and_announces_changes(qtbot, ctx):
    main = threading.get_ident()
    seen = {}
    with qtbot.waitSignal(ctx.ops.sig_changes_applied, timeout=5000) as changed:
        ctx.ops.run(
            lambda p: seen.setdefault("thread", threading.get_ident()) and 42,
            on_success=lambda r: seen.setdefault("result", r),
            changes={"users"},
        )
    assert changed.args == [frozenset({"users"})]
    assert seen["thread"] != main
    assert seen["result"] == 42


def test_operation_user_error_is_shown_as_a_warning(qtbot, ctx, message_boxes):
    def fail(progress):
        raise ValidationError("Der Kunde braucht einen Namen.")

    op = ctx.ops.run(fail)
    with qtbot.waitSignal(op.sig_finished, timeout=5000) as done:
        pass
    assert done.args == [False]
    assert message_boxes == [("warning", "Cannot do that", "Der Kunde braucht einen Namen.")]


def test_operation_bug_is_shown_as_unexpected_and_logged(qtbot, ctx, message_boxes):
    op = ctx.ops.run(lambda p: 1 / 0)
    with qtbot.waitSignal(op.sig_finished, timeout=5000):
        pass
    assert message_boxes[0][0] == "critical"
    assert "division by zero" in message_boxes[0][2]


def test_operation_can_be_cancelled(qtbot, ctx, message_boxes):
    started = threading.Event()

    def long_job(progress):
        started.set()
        for i in range(10_000_000):
            progress.step(i, 10_000_000)
        return "finished"

    results = []
    op = ctx.ops.run(long_job, on_success=results.append, label="Working…")
    assert started.wait(5)
    op.progress.cancel()
    with qtbot.waitSignal(op.sig_finished, timeout=5000) as done:
        pass
    assert done.args == [False]
    assert results == [] and message_boxes == []
    assert isinstance(op.error, Cancelled)


@pytest.mark.parametrize("write", [True, False])
def test_writes_are_serialised_on_one_thread(qtbot, ctx, write):
    threads = set()
    ops = [ctx.ops.run(lambda p: threads.add(threading.get_ident()), write=write) for _ in range(6)]
    for op in ops:
        if not op.done:
            with qtbot.waitSignal(op.sig_finished, timeout=5000):
                pass
    if write:
        assert len(threads) == 1


def test_result_for_a_destroyed_owner_is_dropped(qtbot, ctx):
    from PySide6.QtCore import QObject, Signal

    class Owner(QObject):
        sig = Signal(int)

        def show(self, value):
            self.sig.emit(value)

    owner = Owner()
    gate = threading.Event()
    op = ctx.ops.run(lambda p: gate.wait(5) and 7, on_success=owner.show, write=False)
    import shiboken6

    shiboken6.delete(owner)
    gate.set()
    with qtbot.waitSignal(op.sig_finished, timeout=5000):
        pass  # no "Signal source has been deleted" from the callback
