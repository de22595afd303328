"""The timing harness every bench uses: each call timed on its own with perf_counter_ns,
over as many passes as a time budget allows (bounded both ways), reported as median and p95
of the single calls.

Operations measured together take turns in rounds: in each round every operation gets an
untimed warm-up pass (its caches, after the others ran) and then its share of the time. A
machine that gets busier halfway (other processes, a slower CPU clock) then slows every
operation alike, so the ratios between them, which is what the reports compare, stay fair."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")
Calls = Sequence[Callable[[], object]]


@dataclass(frozen=True)
class Timing:
    calls: int
    median_ns: float
    p95_ns: float

    def ratio(self, baseline: Timing) -> float:
        return self.median_ns / baseline.median_ns


@dataclass(frozen=True)
class Budget:
    """`seconds` shared equally by the operations and rounds; every operation gets at least
    `min_passes` and at most `max_passes` timed passes in all (a pass: each of its calls once)."""

    seconds: float = 1.0
    rounds: int = 1
    min_passes: int = 5
    max_passes: int = 500


DEFAULT_BUDGET = Budget()


def summarise(samples_ns: Sequence[int]) -> Timing:
    ordered = sorted(samples_ns)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Timing(len(ordered), float(median), float(ordered[math.ceil(0.95 * len(ordered)) - 1]))


def measure_all(operations: Mapping[K, Calls], budget: Budget = DEFAULT_BUDGET) -> dict[K, Timing]:
    """Times every call of every operation, pass by pass; each of an operation's calls
    weighs the same in its median and p95."""
    clock = time.perf_counter_ns
    share_ns = budget.seconds * 1e9 / (budget.rounds * max(len(operations), 1))
    least = math.ceil(budget.min_passes / budget.rounds)
    most = max(budget.max_passes // budget.rounds, least)
    samples: dict[K, list[int]] = {key: [] for key in operations}
    gc.collect()  # start from the same heap every time; collections during the run count
    for _ in range(budget.rounds):
        for key, calls in operations.items():
            for call in calls:  # warm-up
                call()
            timed, passes, deadline = samples[key], 0, clock() + share_ns
            while passes < least or (passes < most and clock() < deadline):
                for call in calls:
                    start = clock()
                    call()
                    timed.append(clock() - start)
                passes += 1
    return {key: summarise(timed) for key, timed in samples.items()}


def measure(calls: Calls, budget: Budget = DEFAULT_BUDGET) -> Timing:
    return measure_all({"": calls}, budget)[""]


def noop(*_args: object) -> None:
    """The baseline: a Python call with the same arguments that does nothing."""
