"""Keyset pages: how every long list is read, a page at a time, whatever the table size.

A page is read as the rows after the previous page's last key, in key order, one row more than
asked for: the extra row only says that another page follows. ``keyset`` shapes the query,
``page`` cuts the result and takes the next cursor from the last row kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import literal, tuple_

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    next_cursor: Any | None  # pass back to get the following page; None at the end


def keyset(
    q: Any, keys: Sequence[Any], cursor: Any | None, limit: int, *, newest_first=False
) -> Any:
    """``q`` from just after ``cursor`` (the key values of the last row of the page before, a
    single value for a single key) in the order of ``keys``, descending when ``newest_first``,
    one row more than ``limit``."""
    if cursor is not None:
        if len(keys) == 1:
            key, at = keys[0], cursor
        else:
            # each value bound with its column's type (a time stored as UTC text, a UUID)
            key = tuple_(*keys)
            at = tuple_(*(literal(v, k.type) for k, v in zip(keys, cursor, strict=True)))
        q = q.where(key < at if newest_first else key > at)
    order = [k.desc() for k in keys] if newest_first else list(keys)
    return q.order_by(*order).limit(limit + 1)


def page(
    found: Sequence[Any],
    limit: int,
    cursor_of: Callable[[T], Any],
    row: Callable[[Any], T] | None = None,
) -> Page[T]:
    """The first ``limit`` of ``found`` (read with ``keyset``, so one row longer when more
    follow), made into rows by ``row``, and the cursor of the last one when more follow."""
    kept = found[:limit]
    rows: list[T] = [row(f) for f in kept] if row is not None else list(kept)
    return Page(rows, cursor_of(rows[-1]) if len(found) > limit and rows else None)
