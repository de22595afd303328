"""Two ways compared round by round: the ratio of each round's pair (measured back to back in
that round, so both saw the same load), their median, and how far that median can be trusted.

The interval is the distribution-free confidence interval of a median from order statistics
(the sign test's): with n ratios sorted, [x(k), x(n+1-k)] holds the true median with probability
1 - 2·P(Binomial(n, ½) < k), for the largest k that keeps that at or above `COVERAGE`. It assumes
only that the rounds are independent draws of the same ratio, not that they are normally
distributed (they are not: a busy neighbour makes long tails). With few rounds even min–max
covers less (4 rounds: 87.5 %), so the coverage is stated with every interval: 8 rounds give
[x(2), x(7)] at 93 %, 12 give [x(3), x(10)] at 96 %.

A verdict is read from the interval, never from the median alone: "faster" when the whole
interval is above 1, "slower" when it is all below 1, and otherwise "as fast within the
spread" (1 lies inside it: no difference shown either way)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

COVERAGE = 0.90


@dataclass(frozen=True)
class RatioSpread:
    """Per-round ratios of one way over another (higher: the first way gives more of it)."""

    ratios: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def interval(self) -> tuple[float, float]:
        """The median's interval at `COVERAGE` or more (min–max, covering less, with too few rounds)."""
        ordered = sorted(self.ratios)
        k = order_statistic(len(ordered))
        return ordered[k - 1], ordered[len(ordered) - k]

    @property
    def coverage(self) -> float:
        """The interval's coverage: 1 - 2·P(Binomial(n, ½) < k)."""
        return interval_coverage(len(self.ratios), order_statistic(len(self.ratios)))

    @property
    def verdict(self) -> str:
        low, high = self.interval
        if low > 1:
            return "faster"
        if high < 1:
            return "slower"
        return "as fast within the spread"


def paired(first: Sequence[float], second: Sequence[float]) -> RatioSpread:
    """first[i] / second[i] for every round i."""
    if len(first) != len(second) or not first:
        raise ValueError("one value of each way per round, and at least one round")
    return RatioSpread(tuple(a / b for a, b in zip(first, second, strict=True)))


def interval_coverage(n: int, k: int) -> float:
    below = sum(math.comb(n, i) for i in range(k)) / 2**n
    return 1 - 2 * below


def order_statistic(n: int) -> int:
    """The largest k (1-based) whose interval [x(k), x(n+1-k)] covers the median at COVERAGE."""
    k = 1
    while k + 1 <= (n + 1) // 2 and interval_coverage(n, k + 1) >= COVERAGE:
        k += 1
    return k
