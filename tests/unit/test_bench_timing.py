"""The bench's timing harness counts and summarises as it says (no timings asserted)."""

from __future__ import annotations

from bench.timing import Budget, Timing, measure, measure_all, summarise


def test_summarise_takes_the_median_and_the_nearest_rank_p95():
    assert summarise([5, 1, 3]) == Timing(3, 3.0, 5.0)
    assert summarise([4, 1, 3, 2]) == Timing(4, 2.5, 4.0)
    hundred = summarise(list(range(1, 101)))
    assert (hundred.median_ns, hundred.p95_ns) == (50.5, 95.0)


def test_each_round_warms_up_then_times_every_call_of_each_pass():
    made: list[str] = []
    calls = [lambda: made.append("a"), lambda: made.append("b")]
    timing = measure(calls, Budget(seconds=60, rounds=2, min_passes=4, max_passes=4))
    assert timing.calls == 8  # two rounds of two timed passes of two calls ...
    assert made == ["a", "b"] * 6  # ... each round after a warm-up pass


def test_measure_stops_at_the_minimum_once_the_budget_is_spent():
    timing = measure([lambda: None], Budget(seconds=0, min_passes=4, max_passes=1000))
    assert timing.calls == 4


def test_operations_measured_together_take_turns_round_by_round():
    made: list[str] = []
    operations = {"a": [lambda: made.append("a1"), lambda: made.append("a2")], "b": [lambda: made.append("b")]}
    timings = measure_all(operations, Budget(seconds=60, rounds=2, min_passes=2, max_passes=2))
    assert made == (["a1", "a2"] * 2 + ["b"] * 2) * 2  # per round: a's warm-up and pass, then b's
    assert {key: t.calls for key, t in timings.items()} == {"a": 4, "b": 2}


def test_a_ratio_is_of_the_medians():
    assert Timing(1, 30.0, 90.0).ratio(Timing(1, 10.0, 11.0)) == 3.0
