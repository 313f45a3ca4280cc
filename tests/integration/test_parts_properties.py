"""Properties of the stock ledger: for any sequence of postings the balance caches equal the sums
of movements and no bin goes negative unless allowed; numbers stay gapless (1..n) even when the
posting process is killed at any statement of its transaction."""

from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aftersales_desk.errors import RefusedError
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.integrity import run_checks
from aftersales_desk.services.parts_catalog import PartsCatalog
from aftersales_desk.services.settings import SettingsService
from aftersales_desk.services.stock import check_balances
from tests.integration.forked import run_forked
from tests.parts_helpers import make_shop

OPS = st.lists(
    st.tuples(
        st.sampled_from(["receive", "issue", "scrap", "return", "transfer", "void"]),
        st.integers(0, 1),  # part
        st.integers(0, 1),  # bin
        st.integers(1, 6),  # qty
        st.integers(0, 3000),  # cost
    ),
    min_size=1,
    max_size=20,
)


@pytest.fixture(scope="module")
def fresh_db(tmp_path_factory, template_db):
    """A callable giving a new database copy per hypothesis example (fixtures run once)."""
    import shutil

    from aftersales_desk.services.bootstrap import local_actor, open_database

    counter = iter(range(10**6))

    def make(allow_negative: bool):
        path = tmp_path_factory.mktemp("prop") / f"db{next(counter)}.sqlite"
        shutil.copyfile(template_db, path)
        db = open_database(path)
        admin = local_actor(db, "admin")
        if allow_negative:
            SettingsService(db, admin).update({"parts_allow_negative_stock": True})
        return db, admin

    return make


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS, allow_negative=st.booleans())
# a receipt lifting negative stock above zero once left the pieces with a negative value
@example(
    ops=[
        ("receive", 0, 0, 1, 0),
        ("receive", 0, 0, 2, 2880),
        ("issue", 0, 0, 4, 0),
        ("transfer", 0, 0, 1, 0),
        ("receive", 0, 0, 1, 0),
        ("receive", 0, 0, 1, 0),
    ],
    allow_negative=True,
)
# ... and so did voiding a receipt after the average had moved
@example(
    ops=[
        ("receive", 0, 0, 1, 0),
        ("void", 0, 0, 1, 0),
        ("receive", 1, 0, 1, 0),
        ("issue", 0, 0, 4, 0),
        ("receive", 0, 0, 5, 356),
        ("scrap", 0, 0, 1, 0),
        ("scrap", 0, 0, 1, 0),
        ("void", 0, 0, 2, 0),
    ],
    allow_negative=True,
)
def test_balance_cache_equals_ledger_and_never_negative(fresh_db, ops, allow_negative):
    db, admin = fresh_db(allow_negative)
    try:
        shop = make_shop(db, admin, n_parts=2)
        parts = list(shop.parts.values())
        bins = list(shop.bins.values())
        docs = DocumentService(db, admin)
        posted: list[str] = []
        for op, pi, bi, qty, cost in ops:
            line = LineInput(parts[pi], bins[bi], qty, cost)
            try:
                if op == "receive":
                    posted.append(docs.receive([line]))
                elif op == "issue":
                    posted.append(docs.issue([LineInput(parts[pi], bins[bi], qty)], technician="t"))
                elif op == "scrap":
                    posted.append(docs.scrap([LineInput(parts[pi], bins[bi], qty)], note="坏"))
                elif op == "return":
                    posted.append(
                        docs.return_to_stock([LineInput(parts[pi], bins[bi], qty)], technician="t")
                    )
                elif op == "transfer":
                    posted.append(
                        docs.transfer([LineInput(parts[pi], bins[bi], qty, to_bin_id=bins[1 - bi])])
                    )
                elif posted:
                    docs.void(posted[qty % len(posted)], "test")
            except RefusedError:
                assert not allow_negative or op == "void"
        with db.uow(admin) as uow:
            assert check_balances(uow.session) == []
            if not allow_negative:
                rows = uow.session.execute(
                    __import__("sqlalchemy").text(
                        "SELECT part_id, bin_id, SUM(qty) FROM stock_movements "
                        "GROUP BY part_id, bin_id HAVING SUM(qty) < 0"
                    )
                ).all()
                assert rows == []
        cat = PartsCatalog(db, admin)
        for pid in parts:
            row = cat.get(pid)
            if row.on_hand > 0:
                assert row.value >= 0
        assert run_checks(db).ok, run_checks(db).problems
    finally:
        db.dispose()


def _post_and_die(path, crash_at: int) -> None:
    """In a forked child: post one issue slip; ``os._exit`` just before statement ``crash_at`` of
    the posting transaction (0: never). The process dies as in a power cut: no rollback, no
    cleanup, no Python shutdown."""
    from sqlalchemy import event, select

    from aftersales_desk.data.models.parts import Bin, Part
    from aftersales_desk.data.uow import Database
    from aftersales_desk.services.bootstrap import local_actor

    db = Database(path)
    admin = local_actor(db, "admin")
    with db.uow(admin) as uow:
        parts = list(uow.session.scalars(select(Part.id).order_by(Part.part_no)))
        bin_id = uow.session.scalars(select(Bin.id).order_by(Bin.code)).first()
    count = 0

    def on_statement(conn, cursor, statement, params, context, executemany):
        nonlocal count
        count += 1
        if count == crash_at:
            os._exit(17)

    event.listen(db.engine, "before_cursor_execute", on_statement)
    DocumentService(db, admin).issue([LineInput(p, bin_id, 1) for p in parts], technician="crash")
    os.write(3, str(count).encode())
    os._exit(0)


def _child(path, crash_at: int) -> tuple[int, int]:
    return run_forked(_post_and_die, path, crash_at)


def _numbers(path):
    conn = sqlite3.connect(path)
    try:
        seqs = [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM stock_documents WHERE kind = 'issue' ORDER BY seq"
            )
        ]
        last = conn.execute(
            "SELECT COALESCE(MAX(last_seq), 0) FROM number_series WHERE kind = 'issue'"
        ).fetchone()[0]
        return seqs, last
    finally:
        conn.close()


def test_numbering_gapless_when_killed_at_every_statement(db, admin, db_path, tmp_path):
    shop = make_shop(db, admin, n_parts=3)
    docs = DocumentService(db, admin)
    for pid in shop.parts.values():
        docs.receive([LineInput(pid, shop.bins["A-01"], 100, 100)])
    docs.issue([LineInput(shop.parts["P0001"], shop.bins["A-01"], 1)], technician="first")
    db.dispose()
    # a clean run counts the statements of the posting transaction
    rc, total = _child(db_path, 0)
    assert rc == 0
    assert total > 10  # BEGIN, number, document, lines, movements, caches, audit
    expected = 2  # "first" and the clean run
    for n in range(1, total + 1):
        rc, _count = _child(db_path, n)
        assert rc == 17, n
        seqs, last = _numbers(db_path)
        assert seqs == list(range(1, expected + 1)), (n, seqs)
        assert last == expected
    assert _child(db_path, 0)[0] == 0
    seqs, last = _numbers(db_path)
    assert seqs == list(range(1, expected + 2)) and last == expected + 1
    from aftersales_desk.data.uow import Database

    again = Database(db_path)
    try:
        assert run_checks(again).ok, run_checks(again).problems
    finally:
        again.dispose()
