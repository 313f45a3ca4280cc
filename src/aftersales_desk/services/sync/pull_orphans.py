"""Pulled rows whose parent this desk set aside (docs/sync.md, "Document numbers").

When a pulled row collides with a row only this desk has (two desks used one document number),
the desk keeps its own and sets central's aside. The rows that belong to the set-aside one — the
lines and stock movements of a slip — then point at a row that is not here; inserted anyway, they
would fail the foreign-key check when the page commits and block every later pull. They are set
aside with it instead: the page is applied under a savepoint, and when a change refers to a row
set aside (in this page or earlier), the page is rolled back to the savepoint and applied again
without those changes (ledgers cannot be deleted from, so nothing is removed afterwards).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.i18n import _


def _orphans(page: list[Any], aside: set[str]) -> dict[str, tuple[str, str]]:
    """pk → (parent table, parent pk) for the inserts in ``page`` that refer to a row in
    ``aside`` (directly or through another such insert)."""
    found: dict[str, tuple[str, str]] = {}
    grown = True
    while grown:
        grown = False
        for ch in page:
            if ch.op != "I" or not ch.cols or ch.pk in aside or ch.pk in found:
                continue
            try:
                t = cap.table(ch.tbl)
            except KeyError:
                continue
            for fk in t.foreign_keys:
                value = ch.cols.get(fk.parent.name)
                if value is not None and (value in aside or value in found):
                    found[ch.pk] = (fk.column.table.name, str(value))
                    grown = True
                    break
    return found


def apply_page(cur: Any, page: list[Any], make_applier: Callable[[Any], Any]) -> Any:
    """Apply ``page`` with a new applier (``make_applier(cur)``); changes that belong to a row
    set aside are left out and set aside themselves. Returns the applier that did the work."""
    from aftersales_desk.services.sync.central import Quarantined

    earlier: set[str] = set()
    if cur.execute("SELECT 1 FROM sync_quarantine LIMIT 1").fetchone() is not None:
        earlier = {r[0] for r in cur.execute("SELECT pk FROM sync_quarantine")}
    left_out: dict[str, tuple[str, str]] = {}
    cur.execute("SAVEPOINT sync_page")
    for _attempt in range(len(page) + 1):
        applier = make_applier(cur)
        applier.apply([ch for ch in page if ch.pk not in left_out])
        aside = earlier | {q.pk for q in applier.refused}
        more = _orphans([ch for ch in page if ch.pk not in left_out], aside)
        if not more:
            break
        left_out.update(more)
        cur.execute("ROLLBACK TO sync_page")
    cur.execute("RELEASE sync_page")
    _explain_numbers(applier.refused)
    for ch in page:
        if ch.pk in left_out:
            parent, ppk = left_out[ch.pk]
            applier.refused.append(
                Quarantined(
                    ch.tbl,
                    ch.pk,
                    ch.op,
                    ch.cols,
                    ch.hlc,
                    _(
                        "Not applied on this desk: it belongs to {table} {row}, which was not "
                        "applied here either."
                    ).format(table=parent, row=ppk),
                )
            )
    return applier


def _explain_numbers(refused: list[Any]) -> None:
    """A pulled document whose number a document of this desk has: say so in the reason."""
    from aftersales_desk.services.sync.central_documents import (
        document_name,
        number_column,
        numbered_tables,
    )

    tables = {t.name: t for t in numbered_tables()}
    for q in refused:
        t = tables.get(q.tbl)
        if t is None or q.op != "I" or "UNIQUE" not in q.reason:
            continue
        number = (q.cols or {}).get(number_column(t) or "number")
        if number:
            q.reason = _(
                "Not applied on this desk: the {document} {number} from central has the same "
                "number as a {document} of this desk; void one of them and enter it again under "
                "a new number."
            ).format(document=document_name(t.name), number=number)
