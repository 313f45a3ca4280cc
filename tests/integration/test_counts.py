"""Stock counts against a real SQLite file: the variance while the counter keeps working
(property-based), counters summed, blind counts, recounts, roles, posting read-only, scopes."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.counts import CountScope, StockCounts
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.integrity import run_checks
from aftersales_desk.services.parts_catalog import PartsCatalog
from aftersales_desk.services.settings import SettingsService
from tests.parts_helpers import make_shop

LOOSE = {"counts_tolerance": {"*": [100_000, 0]}}  # no recounts: the property is the arithmetic


def _line(counts: StockCounts, number: str, part_no: str, bin_code: str):
    return next(
        r
        for r in counts.lines(number, None, 1000).rows
        if (r.part_no, r.bin) == (part_no, bin_code)
    )


@pytest.fixture
def shop(db, admin):
    return make_shop(db, admin)


@pytest.fixture(scope="module")
def fresh_db(tmp_path_factory, template_db):
    """A new database copy per hypothesis example (function fixtures run once per test)."""
    from aftersales_desk.services.bootstrap import local_actor, open_database

    counter = iter(range(10**6))

    def make():
        path = tmp_path_factory.mktemp("counts") / f"db{next(counter)}.sqlite"
        shutil.copyfile(template_db, path)
        db = open_database(path)
        return db, local_actor(db, "admin")

    return make


STEP = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, 1), st.integers(0, 1), st.integers(1, 9)),
    st.tuples(st.just("issue"), st.integers(0, 1), st.integers(0, 1), st.integers(1, 9)),
    st.tuples(st.just("count"), st.integers(0, 1), st.integers(0, 1), st.integers(1, 3)),
)


@settings(
    max_examples=25,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opening=st.lists(st.integers(1, 12), min_size=4, max_size=4),
    steps=st.lists(STEP, min_size=1, max_size=18),
    hidden=st.lists(st.integers(-5, 5), min_size=4, max_size=4),
)
def test_variance_is_right_while_issues_and_receipts_go_on(fresh_db, opening, steps, hidden):
    """The shelf holds ledger + hidden[k] of each part and bin. Whenever a line is counted —
    before, between or after receipts and issues posted during the count, in one to three pieces
    by different counters — its variance is exactly hidden[k], and posting makes the ledger equal
    to the shelf."""
    db, admin = fresh_db()
    try:
        SettingsService(db, admin).update(LOOSE)
        shop = make_shop(db, admin, n_parts=2)
        parts = list(shop.parts.values())
        bins = list(shop.bins.values())
        docs = DocumentService(db, admin)
        ledger = {}
        for k, qty in enumerate(opening):
            key = (k // 2, k % 2)
            ledger[key] = qty
            if qty:
                docs.receive([LineInput(parts[key[0]], bins[key[1]], qty, 100)])
        counts = StockCounts(db, admin)
        number = counts.start(CountScope(), blind=True)
        idx = counts.scan_index(number)
        lines = {(pi, bi): None for pi in range(2) for bi in range(2)}
        for row in counts.lines(number).rows:
            pi = 0 if row.part_no == "P0001" else 1
            bi = 0 if row.bin == "A-01" else 1
            lines[(pi, bi)] = row.id
        # the shelf never holds less than nothing, and only what is on it can be issued
        shelf_delta = {key: max(hidden[k], -ledger[key]) for k, key in enumerate(sorted(ledger))}
        counted_keys: set = set()
        for op, pi, bi, n in steps:
            key = (pi, bi)
            if op == "receive":
                docs.receive([LineInput(parts[pi], bins[bi], n, 100)])
                ledger[key] += n
            elif op == "issue":
                n = min(n, ledger[key], ledger[key] + shelf_delta[key])
                if n:
                    docs.issue([LineInput(parts[pi], bins[bi], n)], technician="t")
                    ledger[key] -= n
            elif key not in counted_keys:
                shelf = ledger[key] + shelf_delta[key]
                pieces = [shelf // n] * (n - 1)
                pieces.append(shelf - sum(pieces))
                for j, q in enumerate(pieces):
                    if q:
                        counts.add_entry(idx.session_id, lines[key], q, counter=f"counter{j}")
                if shelf == 0:
                    counts.mark_counted(number, [lines[key]])
                counted_keys.add(key)
        # whatever was not counted during the movements is counted now
        for key in sorted(set(lines) - counted_keys):
            shelf = ledger[key] + shelf_delta[key]
            if shelf:
                counts.add_entry(idx.session_id, lines[key], shelf, counter="late")
            else:
                counts.mark_counted(number, [lines[key]])
        live = {(r.part_no, r.bin): r.variance for r in counts.lines(number).rows}
        result = counts.submit(number)
        assert result.submitted and result.recounts == 0
        rows = {(r.part_no, r.bin): r for r in counts.lines(number).rows}
        for (pi, bi), delta in shelf_delta.items():
            key = (f"P000{pi + 1}", ["A-01", "B-02"][bi])
            assert rows[key].variance == delta, (key, rows[key], ledger)
            assert live[key] == delta
        counts.approve(number)
        counts.post(number)
        catalog = PartsCatalog(db, admin)
        for pi in range(2):
            want = sum(ledger[(pi, bi)] + shelf_delta[(pi, bi)] for bi in range(2))
            assert catalog.get(parts[pi]).on_hand == want
        assert run_checks(db).ok, run_checks(db).problems
    finally:
        db.dispose()


def test_two_counters_are_summed_not_overwritten(db, admin, shop, make_actor):
    docs = DocumentService(db, admin)
    docs.receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 12, 100)])
    keeper = make_actor(Role.WAREHOUSE)
    manager = make_actor(Role.MANAGER)
    number = StockCounts(db, keeper).start(CountScope(bins=("A-01",)))
    idx_a = StockCounts(db, keeper).scan_index(number)
    idx_b = StockCounts(db, manager).scan_index(number)
    for _ in range(5):
        StockCounts(db, keeper).scan(idx_a, "6900000000001")
    StockCounts(db, manager).scan(idx_b, "P0001", qty=6, source="keyboard")
    result = StockCounts(db, keeper).scan(idx_a, "6900000000001", bin_code="A-01")
    assert result.counted_qty == 12
    line = _line(StockCounts(db, manager), number, "P0001", "A-01")
    assert (line.counted_qty, line.variance) == (12, 0)
    counters = {c for _p, c, _q, _at, _src in StockCounts(db, manager).entries(line.id)}
    assert counters == {keeper.username, manager.username}


def test_blind_count_hides_expected_from_counters(db, admin, shop, make_actor):
    DocumentService(db, admin).receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 4, 1)])
    keeper = make_actor(Role.WAREHOUSE)
    number = StockCounts(db, keeper).start(CountScope(), blind=True)
    row = _line(StockCounts(db, keeper), number, "P0001", "A-01")
    assert row.expected is None and row.variance is None
    with pytest.raises(PermissionDenied):
        StockCounts(db, keeper).variance_report(number)
    boss = _line(StockCounts(db, make_actor(Role.MANAGER)), number, "P0001", "A-01")
    assert boss.expected == 4
    open_no = StockCounts(db, keeper).start(CountScope(), blind=False)
    assert _line(StockCounts(db, keeper), open_no, "P0001", "A-01").expected == 4


def test_over_tolerance_needs_a_recount_before_approval(db, admin, shop, make_actor):
    SettingsService(db, admin).update({"counts_tolerance": {"*": [1, 0], "滤清器": [0, 10]}})
    docs = DocumentService(db, admin)
    docs.receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 30, 100)])
    docs.receive([LineInput(shop.parts["P0002"], shop.bins["A-01"], 30, 100)])
    keeper, manager = make_actor(Role.WAREHOUSE), make_actor(Role.MANAGER)
    counts = StockCounts(db, keeper)
    number = counts.start(CountScope(bins=("A-01",)))
    idx = counts.scan_index(number)
    counts.scan(idx, "P0001", qty=28)  # -2 of 30: within 10 %
    counts.scan(idx, "P0002", qty=26)  # -4: over
    counts.mark_counted(number)
    result = counts.submit(number)
    assert (result.submitted, result.recounts) == (False, 1)
    with pytest.raises(RefusedError):
        StockCounts(db, manager).approve(number)
    assert [r.part_no for r in counts.lines(number, only="recount").rows] == ["P0002"]
    counts.scan(idx, "P0002", qty=27)  # the recount (second pass) replaces the first count
    result = counts.submit(number)
    assert result.submitted and result.variance_lines == 2
    report = StockCounts(db, manager).variance_report(number)
    assert sorted(r.variance for r in report.rows) == [-3, -2]
    assert report.shortage_qty == -5
    StockCounts(db, manager).request_recount(number, [report.rows[0].id])
    assert StockCounts(db, manager).view(number).status == "open"
    counts.scan(idx, report.rows[0].part_no, qty=report.rows[0].counted_qty)
    assert counts.submit(number).submitted
    StockCounts(db, manager).approve(number)


def test_roles_clerk_cannot_approve_or_count(db, admin, shop, make_actor):
    DocumentService(db, admin).receive([LineInput(shop.parts["P0001"], shop.bins["A-01"], 2, 1)])
    clerk, keeper = make_actor(Role.CLERK), make_actor(Role.WAREHOUSE)
    with pytest.raises(PermissionDenied):
        StockCounts(db, clerk).start(CountScope())
    number = StockCounts(db, keeper).start(CountScope(), blind=False)
    idx = StockCounts(db, keeper).scan_index(number)
    with pytest.raises(PermissionDenied):
        StockCounts(db, clerk).scan(idx, "P0001")
    StockCounts(db, keeper).scan(idx, "P0001", qty=2)
    StockCounts(db, keeper).mark_counted(number)
    assert StockCounts(db, keeper).submit(number).submitted
    for actor in (clerk, keeper):
        with pytest.raises(PermissionDenied):
            StockCounts(db, actor).approve(number)
    assert StockCounts(db, admin).view(number).status == "submitted"
    with pytest.raises(RefusedError):
        StockCounts(db, keeper).post(number)  # not approved


def test_posted_count_is_read_only_and_adjusts_stock(db, admin, shop, make_actor):
    docs = DocumentService(db, admin)
    p1, a = shop.parts["P0001"], shop.bins["A-01"]
    docs.receive([LineInput(p1, a, 10, 250)])
    keeper, manager = make_actor(Role.WAREHOUSE), make_actor(Role.MANAGER)
    SettingsService(db, admin).update(LOOSE)
    counts = StockCounts(db, keeper)
    number = counts.start(CountScope(categories=("滤清器",)))
    idx = counts.scan_index(number)
    counts.scan(idx, "P0001", qty=7)
    counts.mark_counted(number)
    counts.submit(number)
    line = _line(StockCounts(db, manager), number, "P0001", "A-01")
    assert (line.variance, line.reason) == (-3, "shortage")
    with pytest.raises(ValidationError):
        counts.set_reason(number, line.id, "surplus")
    counts.set_reason(number, line.id, "damaged")
    StockCounts(db, manager).approve(number)
    doc = counts.post(number)
    assert doc == "BJ01-A-TZ000001"
    assert PartsCatalog(db, admin).get(p1).on_hand == 7
    moves = docs.movements_of(doc)
    assert moves == [("P0001", "A-01", -3, -750, False)]
    # the adjustment document's slip lists its movements (it has no lines of its own)
    slip = docs.view(doc)
    assert [(ln.part_no, ln.bin, ln.qty, ln.unit_price, ln.amount) for ln in slip.lines] == [
        ("P0001", "A-01", -3, 250, 750)
    ]
    assert slip.total == 750
    # one audit entry for the bulk-written lines: who posted which count, the totals per kind;
    # no per-line entries (the movements ledger is the per-line record)
    from sqlalchemy import select

    from aftersales_desk.data.models import AuditEntry

    with db.uow(admin) as uow:
        assert not uow.session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "stock_document_lines",
                AuditEntry.username == keeper.username,
            )
        ).all()
        entry = uow.session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "stock_documents", AuditEntry.action == "post"
            )
        ).one()
        assert entry.username == keeper.username and entry.note == number
        assert entry.after == {
            "count": number,
            "document": doc,
            "lines": 1,
            "total": 750,
            "surplus": {"lines": 0, "qty": 0, "value": 0},
            "shortage": {"lines": 0, "qty": 0, "value": 0},
            "damaged": {"lines": 1, "qty": -3, "value": -750},
        }
    view = counts.view(number)
    assert (view.status, view.document) == ("posted", doc)
    with pytest.raises(RefusedError):
        counts.add_entry(view.id, line.id, 1)
    with pytest.raises(RefusedError):
        counts.set_reason(number, line.id, "shortage")
    with pytest.raises(RefusedError):
        counts.post(number)
    with pytest.raises(RefusedError):
        counts.cancel(number, "晚了")
    assert run_checks(db).ok, run_checks(db).problems


def test_scopes_and_found_parts(db, admin, shop):
    docs = DocumentService(db, admin)
    p1, p2, p3 = shop.parts.values()
    a, b = shop.bins["A-01"], shop.bins["B-02"]
    docs.receive([LineInput(p1, a, 5, 100), LineInput(p2, b, 5, 100)])
    docs.issue([LineInput(p1, a, 1)], technician="t")
    counts = StockCounts(db, admin)
    # the full count: balances plus active parts at zero in their default bin
    full = counts.start(CountScope(), blind=False)
    rows = [(r.bin, r.part_no) for r in counts.lines(full).rows]
    assert rows == [("A-01", "P0001"), ("A-01", "P0002"), ("A-01", "P0003"), ("B-02", "P0002")]
    only_b = counts.start(CountScope(bins=("b-02",)))
    assert [(r.bin, r.part_no) for r in counts.lines(only_b).rows] == [("B-02", "P0002")]
    moved = counts.start(CountScope(moved_since=date.today()))
    assert {r.part_no for r in counts.lines(moved).rows} == {"P0001", "P0002"}
    a_class = counts.start(CountScope(abc="A"))
    assert [r.part_no for r in counts.lines(a_class).rows] == ["P0001"]
    with pytest.raises(ValidationError):
        counts.start(CountScope(categories=("没有这类",)))
    # a part found where the count did not expect it, after goods moved in since the freeze
    docs.receive([LineInput(p3, b, 4, 100)])
    idx = counts.scan_index(only_b)
    with pytest.raises(ValidationError):
        counts.scan(idx, "P0003")  # which bin?
    found = counts.scan(idx, "6900000000003", bin_code="B-02", qty=4)
    assert found.added and found.counted_qty == 4
    row = _line(counts, only_b, "P0003", "B-02")
    assert (row.expected, row.variance) == (4, 0)
    with pytest.raises(ValidationError):
        counts.scan(idx, "NOPE-1")
