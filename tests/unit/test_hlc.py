"""The hybrid logical clock: sortable stamps, monotonic when the wall clock jumps, skew bound."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from aftersales_desk.domain.hlc import HybridClock, Stamp, clamp

NODE_A = "a" * 32
NODE_B = "b" * 32
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_stamps_sort_as_strings_in_clock_order():
    stamps = [
        Stamp(5, 0, NODE_B),
        Stamp(5, 1, NODE_A),
        Stamp(40, 0, NODE_A),
        Stamp(1000, 2, NODE_A),
    ]
    assert sorted(s.encode() for s in reversed(stamps)) == [s.encode() for s in stamps]
    assert Stamp.decode(stamps[1].encode()) == stamps[1]
    with pytest.raises(ValueError):
        Stamp.decode("12-3-x")


@pytest.mark.parametrize("jump", [timedelta(days=2), timedelta(hours=-1)])
def test_monotonic_when_the_wall_clock_jumps(jump):
    with time_machine.travel(START, tick=False) as traveller:
        clock = HybridClock(NODE_A)
        before = [clock.now() for _ in range(3)]
        traveller.move_to(START + jump)
        after = [clock.now() for _ in range(3)]
        traveller.move_to(START + jump + timedelta(milliseconds=1))
        later = clock.now()
    seq = before + after + [later]
    assert all(x < y for x, y in itertools.pairwise(seq))
    if jump < timedelta(0):
        # the clock went back: stamps keep the last wall time and count up
        assert after[0].wall == before[-1].wall and after[0].counter == before[-1].counter + 1
    else:
        assert after[0].wall == int((START + jump).timestamp() * 1000)


def test_receive_merges_a_stamp_within_the_skew_bound():
    with time_machine.travel(START, tick=False):
        clock = HybridClock(NODE_A, max_skew_ms=60_000)
        now_ms = int(START.timestamp() * 1000)
        remote = Stamp(now_ms + 30_000, 7, NODE_B)
        assert clock.receive(remote) is True
        nxt = clock.now()
    assert nxt > remote and not clock.skew_flagged


def test_a_stamp_beyond_the_skew_bound_is_flagged_and_ignored():
    with time_machine.travel(START, tick=False):
        clock = HybridClock(NODE_A, max_skew_ms=60_000)
        remote = Stamp(int((START + timedelta(days=2)).timestamp() * 1000), 0, NODE_B)
        assert clock.receive(remote) is False
        nxt = clock.now()
    assert clock.skew_flagged
    assert nxt.wall == int(START.timestamp() * 1000)  # not dragged two days ahead
    assert nxt < remote


def test_clamp_pulls_a_fast_stamp_back_to_the_receivers_time():
    now_ms = 1_000_000
    fast = Stamp(now_ms + 2 * 86_400_000, 3, NODE_B)
    eff, skewed = clamp(fast, now_ms, 60_000)
    assert skewed and eff.wall == now_ms and eff.node == NODE_B
    ok = Stamp(now_ms + 1_000, 0, NODE_B)
    assert clamp(ok, now_ms, 60_000) == (ok, False)


def test_witness_never_lets_the_clock_issue_a_lower_stamp():
    with time_machine.travel(START, tick=False):
        clock = HybridClock(NODE_A)
        stored = Stamp(int((START + timedelta(days=2)).timestamp() * 1000), 9, NODE_A)
        clock.witness(stored)
        assert clock.now() > stored
