"""Stock counts' registrations: ``ls counts``, the ``check`` invariant (every counted line equals
the sum of its pass's entries; a posted count's adjustments are on the ledger) and the ``demo``
filler (a posted count and an open blind count)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, text

import aftersales_desk.services.parts  # noqa: F401  (its demo filler must run before ours)
from aftersales_desk.data.models.counts import CountSession
from aftersales_desk.data.models.parts import Bin, Part
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import demo, integrity
from aftersales_desk.services.counts import CountScope, StockCounts
from aftersales_desk.services.listing import iso, register
from aftersales_desk.services.settings import SettingsService


@register("counts")
def _ls_counts(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Every stock count of the branch, newest first (filter: ``status``)."""
    service = StockCounts(db, actor)
    cursor = None
    while True:
        page = service.page(cursor, 200, status=filters.get("status", ""))
        for r in page.rows:
            yield {
                "id": str(r.id),
                "number": r.number,
                "status": r.status,
                "scope": r.scope,
                "blind": r.blind,
                "frozen_at": iso(r.frozen_at),
                "started_by": r.started_by,
                "lines": r.lines,
                "counted": r.counted,
                "variance_lines": r.variance_lines,
                "recounts": r.recounts,
                "approved_by": r.approved_by,
                "approved_at": iso(r.approved_at),
                "posted_by": r.posted_by,
                "posted_at": iso(r.posted_at),
                "document": r.document,
                "note": r.note,
            }
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@integrity.register(N_("Stock counts equal their entries"))
def check_counts(s: Any) -> list[str]:
    """A counted line's quantity is the sum of its current pass's entries; a posted count with
    variances has its adjustment document."""
    problems = []
    for number, line_no, have, want in s.execute(
        text(
            "SELECT cs.number, l.line_no, l.counted_qty, COALESCE(SUM(e.qty), 0)"
            " FROM stock_count_lines AS l"
            " JOIN stock_count_sessions AS cs ON cs.id = l.session_id"
            " LEFT JOIN stock_count_entries AS e ON e.line_id = l.id AND e.pass_no = l.pass_no"
            " WHERE l.counted GROUP BY l.id HAVING l.counted_qty != COALESCE(SUM(e.qty), 0)"
            " LIMIT 50"
        )
    ):
        problems.append(
            _(
                "Stock count {number}, line {line}: counted {have}, entries add up to {want}."
            ).format(number=number, line=line_no, have=have, want=want)
        )
    for (number,) in s.execute(
        text(
            "SELECT cs.number FROM stock_count_sessions AS cs WHERE cs.status = 'posted'"
            " AND cs.document_id IS NULL AND EXISTS (SELECT 1 FROM stock_count_lines AS l"
            " WHERE l.session_id = cs.id AND l.variance != 0)"
        )
    ):
        problems.append(
            _("Stock count {number} is posted but its adjustments are missing.").format(
                number=number
            )
        )
    return problems


@demo.register
def fill_counts(ctx: demo.DemoContext) -> None:
    """A posted count of shelf row A (one line damaged, one short, one over) and an open blind
    count of row B with a few scans in it."""
    keeper = ctx.users.get("wangqiang", ctx.actor)
    manager = ctx.users.get("lijianguo", ctx.actor)
    with ctx.db.uow(ctx.actor) as uow:
        s = uow.session
        if s.scalar(select(func.count()).select_from(CountSession)):
            return  # demo was run on this file before
        a_bins = list(s.scalars(select(Bin.code).where(Bin.code.like("A-%")).order_by(Bin.code)))
        b_bins = list(s.scalars(select(Bin.code).where(Bin.code.like("B-%")).order_by(Bin.code)))
        has_parts = s.scalar(select(func.count()).select_from(Part))
    if not a_bins or not b_bins or not has_parts:
        return
    SettingsService(ctx.db, ctx.actor).update(
        {"counts_tolerance": {"*": [0, 0], "油品": [1, 5], "紧固件": [5, 10]}}
    )
    rng = ctx.rng
    counts = StockCounts(ctx.db, keeper)
    number = counts.start(
        CountScope(bins=tuple(a_bins)), blind=False, note="月末盘点 A 区货架（演示）"
    )
    idx = counts.scan_index(number)
    lines = counts.lines(number, None, 1000).rows
    off = {
        lines[i].id: d for i, d in zip(rng.sample(range(len(lines)), 3), (-2, -1, 1), strict=True)
    }
    for line in lines:
        qty = max(0, (line.expected or 0) + off.get(line.id, 0))
        if qty:
            counts.scan(
                idx, line.part_no, bin_code=line.bin, qty=qty, source="keyboard", counter="王强"
            )
    counts.mark_counted(number)
    result = counts.submit(number)
    if not result.submitted:
        # the recount confirms the first count (the goods really are missing or extra)
        for line in counts.lines(number, None, 1000, only="recount").rows:
            qty = max(0, (line.expected or 0) + off.get(line.id, 0))
            if qty:
                counts.scan(
                    idx, line.part_no, bin_code=line.bin, qty=qty, source="scanner", counter="刘洋"
                )
        counts.mark_counted(number)
        counts.submit(number)
    damaged = [
        r
        for r in counts.lines(number, None, 1000, only="variance").rows
        if r.variance and r.variance < 0
    ]
    if damaged:
        counts.set_reason(number, damaged[0].id, "damaged")
    StockCounts(ctx.db, manager).approve(number)
    counts.post(number)

    open_no = counts.start(CountScope(bins=tuple(b_bins)), blind=True, note="B 区循环盘点")
    idx = counts.scan_index(open_no)
    for line in counts.lines(open_no, None, 1000).rows[:6]:
        counts.scan(idx, line.part_no, bin_code=line.bin, qty=rng.randrange(1, 20), counter="王强")
