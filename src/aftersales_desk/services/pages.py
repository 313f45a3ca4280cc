"""Keyset pages: how every long list is read, a page at a time, whatever the table size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    next_cursor: Any | None  # pass back to get the following page; None at the end
