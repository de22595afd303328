"""The bench report renders every bench's rows from results (synthetic numbers, no timing)."""

from __future__ import annotations

from bench.cedar_policies import CedarSize
from bench.consent_decisions import SIZES, DecisionBench
from bench.gateway_cache import DecisionStep, GatewayBench, GatewayRun, StepTiming
from bench.report import Machine, render
from bench.timing import Timing

MACHINE = Machine("2026-03-01 12:00 UTC", "CPython 3.11.7", "Linux x86_64", 2, "Test CPU", "4.12.2")


def t(median_us: float) -> Timing:
    return Timing(100, median_us * 1000, median_us * 1500)


def results():
    decisions = DecisionBench(
        t(0.1),
        {size: t(size) for size in SIZES},
        {size: t(3 * size) for size in SIZES},
        {size: t(20 * size) for size in SIZES},
    )
    cedar = {
        size: CedarSize(size + 4, t(40 * size), t(30 * size), t(15), t(5 * size), 2.0 * size, 25.0 * size)
        for size in SIZES
    }
    step = DecisionStep(StepTiming(t(10), 12_000), StepTiming(t(1_500), 900_000))
    gateway = GatewayBench(t(8), GatewayRun(False, t(16_000), 0, 0), GatewayRun(True, t(8_000), 600, 0), step)
    return decisions, cedar, gateway


def test_the_report_shows_each_size_side_by_side_with_ratios():
    decisions, cedar, gateway = results()
    text = render(MACHINE, decisions, cedar, gateway)
    assert "2 CPUs (Test CPU)" in text and "CPython 3.11.7" in text
    # 100 rules: decide 100 µs = 1,000× the 0.1 µs baseline; the reference 300 µs = 3×; Cedar pre-parsed
    # 500 µs = 5×; per call 4,000 µs = 40×.
    assert (
        "| 100 | 104 | 100.0 (150.0) | 1,000× | 300.0 (450.0) | 3.00× | 500.0 (750.0) | 5.00× | 4,000 (6,000) "
        "| 40× | 3,000 (4,500) |"
    ) in text
    assert "1 rules 20.0 (30.0), 10 rules 200.0 (300.0), 100 rules 2,000 (3,000)." in text
    # Derived: 4,000 − 3,000 − 15 µs; engine's own numbers as cedarpy reported them.
    assert "| 100 | 985.0 | 500.0 | 15.0 | 200 | 2,500 |" in text
    assert "| off | 100 | 16.00 | 24.00 | 1.00× | 2,000× | 0 / 0 |" in text
    assert "| on | 100 | 8.00 | 12.00 | 0.50× | 1,000× | 600 / 0 |" in text
    # The decision step: a miss 1,500 µs = 150× a hit's 10 µs; CPU 900 µs = 75× a hit's 12 µs.
    assert "| cache hit | 10.0 | 15.0 | 12.0 | 1.00× | 1.00× |" in text
    assert "| cache miss | 1,500 | 2,250 | 900.0 | 150× | 75× |" in text


def test_the_report_leaves_out_the_gateway_when_it_was_not_run():
    decisions, cedar, _ = results()
    assert "gateway" not in render(MACHINE, decisions, cedar, None).lower()


def test_one_pass_of_the_in_process_benches_fills_every_row():
    from bench import cedar_policies, consent_decisions
    from bench.timing import Budget, measure_all

    operations = {**consent_decisions.operations(), **cedar_policies.operations()}
    timings = measure_all(operations, Budget(seconds=0, min_passes=1, max_passes=1))
    decisions, cedar = consent_decisions.result(timings), cedar_policies.result(timings)
    requests = len(consent_decisions.REQUESTS)
    assert decisions.baseline.calls == requests
    for timings_by_size in (decisions.decide, decisions.reference, decisions.compile):
        assert {size: t.calls for size, t in timings_by_size.items()} == {size: requests for size in SIZES}
    assert {size: c.policies for size, c in cedar.items()} == {1: 6, 10: 15, 100: 105}
    assert all(c.evaluate.calls == c.per_call.calls == requests for c in cedar.values())
    assert "| 100 | 105 |" in render(MACHINE, decisions, cedar, None)
