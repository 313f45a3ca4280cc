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


def _probe(destroyed_in: list[str]):
    """A parentless Qt object that records the thread it is destroyed on."""
    from PySide6.QtCore import QObject, Qt

    probe = QObject()
    probe.destroyed.connect(
        lambda *_a: destroyed_in.append(threading.current_thread().name),
        Qt.ConnectionType.DirectConnection,
    )
    return probe


def test_garbage_holding_qt_objects_is_never_collected_on_a_pool_thread(qtbot, ctx):
    """The segfault cancelling a sync: Python's cyclic collector ran on a pool thread (a job
    allocating — keyring's backend scan in the sync round), freed a cycle of a closed window's
    Qt objects there, and the UI thread then crashed in ``QObject::~QObject``. While a job runs
    automatic collection is off and the UI thread collects; this test failed (the probe died on
    the pool thread) before."""
    import gc

    qtbot.waitUntil(gc.isenabled, timeout=5000)  # jobs of earlier tests have ended
    gc.collect()
    destroyed_in: list[str] = []
    for _ in range(20):  # cycles holding parentless Qt objects, unreachable, not yet collected
        cycle: list[object] = [_probe(destroyed_in)]
        cycle.append(cycle)
    del cycle

    def allocate(progress):  # what any job does: allocate, so generations fill up
        junk = [[i] for i in range(200_000)]
        return len(junk)

    op = ctx.ops.run(allocate, write=False)
    with qtbot.waitSignal(op.sig_finished, timeout=10000):
        pass
    qtbot.waitUntil(lambda: gc.isenabled(), timeout=5000)  # back on once no job runs
    gc.collect()
    assert destroyed_in == [threading.main_thread().name] * 20


def test_what_a_job_holds_is_released_on_the_ui_thread(qtbot, ctx):
    """The callable (with the widgets its closure holds) and the outcome are let go on the UI
    thread, never by the pool thread after the call — a Qt object freed there is destroyed on
    the wrong thread."""
    destroyed_in: list[str] = []
    for n in range(30):
        probe = _probe(destroyed_in)
        failing = n % 2 == 1

        def job(progress, probe=probe, failing=failing):
            if failing:
                raise ValueError(probe.objectName())
            return [probe]

        op = ctx.ops.run(job, on_error=lambda exc: True, write=False)
        del probe, job
        with qtbot.waitSignal(op.sig_finished, timeout=5000):
            pass
        del op
        qtbot.waitUntil(lambda n=n: len(destroyed_in) == n + 1, timeout=5000)
    assert set(destroyed_in) == {threading.main_thread().name}
