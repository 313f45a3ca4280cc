"""Hybrid logical clock: (wall milliseconds, counter, node) stamps that order changes across devices.

A stamp encodes as ``"0001795430101123-000000-<node>"``: fixed-width wall milliseconds, a counter
and the node (device id, 32 hex digits), so comparing the strings compares the stamps. The clock
never goes backwards: when the wall clock jumps back, the counter carries on from the last stamp.
``receive`` merges a stamp seen from elsewhere, but a stamp more than ``max_skew_ms`` ahead of our
wall clock is *flagged* and does not drag the clock into the future (a device whose clock is two
days fast must not make every later edit elsewhere look older than its own).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

WALL_DIGITS = 16
COUNTER_DIGITS = 9
MAX_COUNTER = 10**COUNTER_DIGITS - 1
DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000  # five minutes


def wall_ms() -> int:
    """Wall-clock milliseconds since the epoch (``time.time``, which time-machine can move)."""
    return int(time.time() * 1000)


@dataclass(frozen=True, order=True)
class Stamp:
    wall: int
    counter: int
    node: str

    def encode(self) -> str:
        return f"{self.wall:0{WALL_DIGITS}d}-{self.counter:0{COUNTER_DIGITS}d}-{self.node}"

    @classmethod
    def decode(cls, text: str) -> Stamp:
        try:
            wall, counter, node = text.split("-", 2)
            if len(wall) != WALL_DIGITS or len(counter) != COUNTER_DIGITS:
                raise ValueError(text)
            return cls(int(wall), int(counter), node)
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"not a clock stamp: {text!r}") from exc

    def __str__(self) -> str:
        return self.encode()


class SkewError(ValueError):
    """A stamp from a clock further ahead of ours than the allowed skew."""


class HybridClock:
    """A thread-safe hybrid logical clock for one node."""

    def __init__(
        self,
        node: str,
        *,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
        now: Callable[[], int] = wall_ms,
        last: Stamp | None = None,
    ) -> None:
        self.node = node
        self.max_skew_ms = max_skew_ms
        self._now = now
        self._wall = last.wall if last else 0
        self._counter = last.counter if last else 0
        self._lock = threading.Lock()
        self.skew_flagged = False  # set when a remote stamp was too far ahead

    @property
    def last(self) -> Stamp:
        return Stamp(self._wall, self._counter, self.node)

    def _advance(self, wall: int, counter: int) -> None:
        if counter > MAX_COUNTER:
            # Overflow of the counter within one millisecond: borrow the next millisecond.
            wall, counter = wall + 1, 0
        self._wall, self._counter = wall, counter

    def now(self) -> Stamp:
        """A new stamp, greater than every stamp this clock issued or accepted before."""
        with self._lock:
            pt = self._now()
            if pt > self._wall:
                self._advance(pt, 0)
            else:
                self._advance(self._wall, self._counter + 1)
            return Stamp(self._wall, self._counter, self.node)

    def witness(self, stamp: Stamp) -> None:
        """Never issue a stamp at or below ``stamp`` again (used when reopening a database:
        the stamps already stored there are ours, so no skew check)."""
        with self._lock:
            if (stamp.wall, stamp.counter) > (self._wall, self._counter):
                self._wall, self._counter = stamp.wall, stamp.counter

    def receive(self, remote: Stamp) -> bool:
        """Merge a stamp seen from another node. Returns False (and flags the skew) when the
        remote stamp is more than ``max_skew_ms`` ahead of our wall clock: the clock then does
        not move towards it."""
        with self._lock:
            pt = self._now()
            if remote.wall - pt > self.max_skew_ms:
                self.skew_flagged = True
                return False
            wall = max(pt, self._wall, remote.wall)
            if wall == self._wall == remote.wall:
                counter = max(self._counter, remote.counter) + 1
            elif wall == self._wall:
                counter = self._counter + 1
            elif wall == remote.wall:
                counter = remote.counter + 1
            else:
                counter = 0
            self._advance(wall, counter)
            return True


def clamp(stamp: Stamp, reference_ms: int, max_skew_ms: int) -> tuple[Stamp, bool]:
    """The stamp as the receiver will rank it: a stamp from beyond ``reference_ms`` plus the
    allowed skew is pulled back to ``reference_ms`` (and reported as skewed), so a device with a
    clock running days ahead cannot win every last-writer-wins decision."""
    if stamp.wall - reference_ms > max_skew_ms:
        return Stamp(reference_ms, stamp.counter, stamp.node), True
    return stamp, False
