"""bench.audit_one_writer: its ratios are against `one`, cell by cell, and a paused way's pauses
are not counted as time in flight (no timings asserted beyond that)."""

from __future__ import annotations

import asyncio

import pytest

from bench import audit_one_writer as one_writer
from bench.audit_appends import EVENTS_PER_CALL, Counters
from bench.audit_one_writer import ONE, ONE_AGAIN, PAUSED, TWO, WayRun, ratios, render


def cell(one: float, again: float, two: float, paused: float) -> dict[str, WayRun]:
    """Ways of 100 events: events/s as given (seconds follow), CPU per event proportional to it."""
    return {
        way: WayRun(events=100, seconds=100 / rate, cpu_seconds=rate / 1000, median_call_ms=1.0)
        for way, rate in ((ONE, one), (ONE_AGAIN, again), (TWO, two), (PAUSED, paused))
    }


def test_ratios_are_each_way_over_one_in_the_same_cell() -> None:
    got = ratios([cell(100, 110, 90, 50), cell(200, 180, 220, 100)])
    assert set(got) == {ONE_AGAIN, TWO, PAUSED}
    assert got[ONE_AGAIN][0] == pytest.approx([1.1, 0.9])
    assert got[TWO][0] == pytest.approx([0.9, 1.1])
    assert got[PAUSED][1] == pytest.approx([0.5, 0.5])  # CPU per event, as built above


def test_render_states_every_cell_and_the_spread() -> None:
    lines = render([cell(100, 110, 90, 50), cell(200, 180, 220, 100)], 7)
    assert sum(line.startswith("| 0 |") for line in lines) == 4
    assert "| two | 0.90×–1.10× (median 1.00×) | 0.90×–1.10× (median 1.00×) |" in lines


class SlowTarget:
    """Answers each call after `seconds`; counts the events it was given."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.events = seconds, 0

    def prepare(self, writers: int, calls: int):  # type: ignore[no-untyped-def]
        async def append(w: int, c: int) -> None:
            await asyncio.sleep(self.seconds)
            self.events += EVENTS_PER_CALL

        return append

    def counters(self) -> Counters:
        return Counters(self.events, 1, None)


def test_a_paused_run_counts_only_the_time_calls_are_in_flight() -> None:
    events, seconds, per_call = asyncio.run(one_writer._run(SlowTarget(0.0), 3, pause=0.2))  # type: ignore[arg-type]
    assert events == 3 * EVENTS_PER_CALL and len(per_call) == 3
    assert seconds == pytest.approx(sum(per_call) / 1e9)
    assert seconds < 0.6  # the pauses (3 x 0.2 s) are not in it


def test_a_run_that_stores_less_than_it_was_given_is_refused() -> None:
    class Losing(SlowTarget):
        def counters(self) -> Counters:
            return Counters(0, 1, None)

    with pytest.raises(RuntimeError, match="stored 0 events"):
        asyncio.run(one_writer._run(Losing(0.0), 3, pause=0.0))  # type: ignore[arg-type]
